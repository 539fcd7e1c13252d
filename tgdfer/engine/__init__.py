"""Engine layer: a training run in parts (build, resume, epoch, evaluate, save), evaluation, feature cache, pretraining."""
