"""tgdfer: a reproducible implementation of TG-DFER (text-guided weakly supervised DFER).

The public API (each name is documented in the README's "API" section):

    create_model, load_model, model_report     the model factory, a trained checkpoint, its cost
    load_split, ClipDataset, prepare, generate the data layer and the generated benchmark
    train, evaluate, predict                   training runs, evaluation, prediction on your own clip
    collect, build_paper                       records from runs, the paper's tables and figures

Layers (imports only go down): entry points (cli, notebook) -> experiments/ -> engine/, report/
-> model/, data/, synth/ -> shared helpers (config, paths, io, safe_load, runfolder, progress, classes, seeding,
metrics).
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
    "predict": "tgdfer.experiments.prediction", "collect": "tgdfer.report.collect", "build_paper": "tgdfer.report.paper",
}
__all__ = sorted(_API)


def __getattr__(name):  # lazy: `python -m tgdfer --help` does not import torch
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'tgdfer' has no attribute {name!r}")
