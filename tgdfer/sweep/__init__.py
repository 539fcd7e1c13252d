"""The sweep: the plan of runs (TG-DFER, the baselines, the ablations) and its execution over GPUs or a cluster."""
