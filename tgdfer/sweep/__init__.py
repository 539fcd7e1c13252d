"""The sweep: the plan of runs and its execution over the GPUs of a machine or a SLURM job array."""
