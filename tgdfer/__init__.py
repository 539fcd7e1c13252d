"""tgdfer: a reproducible implementation of TG-DFER (text-guided weakly supervised DFER).

The public API (each name is documented in the README's "API" section):

    create_model, load_model, model_report     the model factory, a trained checkpoint, its cost
    load_split, ClipDataset, prepare, generate the data layer and the generated benchmark
    train, evaluate, predict                   training runs, evaluation, prediction on your own clip
    collect, build_paper                       records from runs, the paper's tables and figures

Layers (imports only go down): entry points (cli, demo, bench, notebook, prediction) -> engine/, report/
-> model/, data/, synth/ -> shared helpers (config, paths, io, progress, classes, seeding, metrics).
"""
import importlib.abc
import importlib.util
import sys
import warnings
from importlib import import_module

__version__ = "0.1.0"

# open_clip's dependencies import tqdm.auto, which warns in notebooks without ipywidgets; tgdfer uses plain tqdm
warnings.filterwarnings("ignore", message="IProgress not found")

_API = {
    "create_model": "tgdfer.model", "model_report": "tgdfer.model", "load_model": "tgdfer.engine.checkpoint",
    "load_split": "tgdfer.data.layouts", "ClipDataset": "tgdfer.data.dataset", "prepare": "tgdfer.data.prepare",
    "generate": "tgdfer.synth.generate", "train": "tgdfer.engine.run", "evaluate": "tgdfer.engine.evaluate",
    "predict": "tgdfer.prediction", "collect": "tgdfer.report.collect", "build_paper": "tgdfer.report.paper",
}
__all__ = sorted(_API)

# Modules that moved when the package was grouped into layers: old path -> new path.
MOVED = {
    "tgdfer.train": "tgdfer.engine.run", "tgdfer.evaluate": "tgdfer.engine.evaluate",
    "tgdfer.feature_cache": "tgdfer.engine.feature_cache", "tgdfer.synth.pretrain": "tgdfer.engine.pretrain",
    "tgdfer.faces": "tgdfer.data.faces",
    "tgdfer.data.source": "tgdfer.synth.source", "tgdfer.synth.ground_truth": "tgdfer.data.ground_truth",
    "tgdfer.predict": "tgdfer.prediction",
    **{f"tgdfer.{m}": f"tgdfer.model.{m}" for m in
       ("backbone", "fast_attention", "temporal", "text_labels", "visual_prompt", "mil", "losses")},
    **{f"tgdfer.{m}": f"tgdfer.report.{m}" for m in ("runs", "collect", "paper", "figures")},
}


class _MovedModule(importlib.abc.MetaPathFinder):
    """`import tgdfer.train` (an old path) fails at once with the new path in the message."""

    def find_spec(self, name, path=None, target=None):
        if name in MOVED:
            raise ModuleNotFoundError(f"{name} moved to {MOVED[name]} when tgdfer was grouped into layers: "
                                      f"import from {MOVED[name]} (public names stay importable from `tgdfer`)",
                                      name=name)
        return None


if not any(isinstance(f, _MovedModule) for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedModule())


def __getattr__(name):  # lazy: `python -m tgdfer --help` does not import torch
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'tgdfer' has no attribute {name!r}")
