"""tgdfer: a reproducible implementation of TG-DFER (text-guided weakly supervised DFER).

The public API (each name is documented in the README's "API" section):

    create_model, load_model, model_report     the model factory, a trained checkpoint, its cost
    load_split, ClipDataset, prepare, generate the data layer and the generated benchmark
    train, evaluate, predict                   training runs, evaluation, prediction on your own clip
    sweep_runs                                 the plan of runs of a sweep (TG-DFER, baselines, ablations)
    collect, write_tables                      records from run folders, the tables of your runs

Layers (imports only go down; docs/architecture.md): entry points (cli, notebook) -> sweep/ -> engine/, report/
-> synth/ -> model/, data/ -> shared helpers (config, params, runspec, paths, io, safe_load, runfolder, progress,
classes, seeding, metrics). The study of the generated benchmark (its protocol, tuning, power, claims, regeneration)
is a separate package of the checkout, `tgdfer_study`, which this package never imports.
"""
import warnings
from importlib import import_module


__version__ = "0.1.0"

# open_clip's dependencies import tqdm.auto, which warns in notebooks without ipywidgets; tgdfer uses plain tqdm
warnings.filterwarnings("ignore", message="IProgress not found")

_API = {
    "create_model": "tgdfer.model", "model_report": "tgdfer.model", "load_model": "tgdfer.engine.checkpoint",
    "load_split": "tgdfer.data.layouts", "ClipDataset": "tgdfer.data.dataset", "prepare": "tgdfer.data.prepare",
    "generate": "tgdfer.synth.generate", "train": "tgdfer.engine.run", "evaluate": "tgdfer.engine.evaluate",
    "predict": "tgdfer.inference.predict", "sweep_runs": "tgdfer.sweep.launch", "collect": "tgdfer.report.collect",
    "write_tables": "tgdfer.report.tables",
}
__all__ = sorted(_API)


def __getattr__(name):  # lazy: `python -m tgdfer --help` does not import torch
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'tgdfer' has no attribute {name!r}")
