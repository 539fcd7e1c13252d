"""A run's parameters as one typed value: built once (from a notebook's parameters, the command line or the
protocol's plan), passed whole to the engine, written to `params.json` (key "spec") and read back by the report.

In: a dataset layout and root, a fold, a config (name, path or `Config`), a variant and overrides, a seed, where the
run folder goes. Out: the run's name, its folder (given the dataset's label: `synth` for the generated benchmark,
decided by the data layer) and its resolved `Config`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from . import runfolder as rf
from .classes import LAYOUTS
from .config import Config, load_config
from .params import param
from .paths import default_runs_dir, folder_name, run_name, safe_name


DATASET = param("dfew", "dataset layout (the generated benchmark is in the DFEW layout)", choices=LAYOUTS)
ROOT = param("", "dataset folder as downloaded (csv: the CSV file)", required=True)
FOLD = param(1, "fold (DFEW/MAFW 1-5; FERV39k 1)")
DEVICE = param("auto", "auto | cpu | cuda | cuda:N")
MEDIA = param("frames", "DFEW/MAFW media to read", choices=("frames", "frames16", "video"))
LABEL_BASE = param(1, "DFEW CSV label base; the official files are 1-based", choices=(0, 1))


@dataclass
class RunSpec:
    """One run. Its fields are the `train` command's options and the training notebook's run parameters."""
    dataset: str = DATASET
    root: str | os.PathLike = ROOT
    fold: int = FOLD
    config: str | Config = param("tgdfer-tiny", "tgdfer-tiny | tgdfer-tiny-f3 | tgdfer-b32 | tgdfer-b16 | a JSON path")
    variant: str = param("tgdfer", "a named variant of configs/variants.json: tgdfer | clip-meanpool | dfer-clip-like "
                                   "| mil-only")
    overrides: dict = param({}, "config fields on top: {'model.text': 'none'}", cli=False)
    seed: int = param(0, "initialisation, data order and which cached view a clip shows in an epoch")
    device: str = DEVICE
    run_dir: str | os.PathLike | None = param(None, "run folder (default runs/<dataset>/<config>/fold<k>/"
                                                    "<variant+settings>/seed<s>)", type=str)
    runs_dir: str | os.PathLike | None = param(None, "parent of run folders (default: the repository's runs/)", type=str)
    resume: bool = param(False, "continue from the run folder's last checkpoint (same settings only)")
    media: str = MEDIA
    label_base: int = LABEL_BASE
    deterministic: bool = param(False, "deterministic kernels (slower on GPU)")
    cache_dir: str | os.PathLike | None = param(None, "the frozen image tower's feature cache (default: in the run "
                                                      "folder; a shared one saves encoding)", type=str)

    def __post_init__(self):
        self.overrides = dict(self.overrides or {})

    @property
    def name(self) -> str:
        return run_name(self.variant, self.overrides)

    def folder(self, dataset_label: str) -> Path:
        """`run_dir`, or runs/<dataset label>/<config>/fold<k>/<run name>/seed<s>."""
        if self.run_dir:
            return Path(self.run_dir)
        return rf.run_path(self.runs_dir or default_runs_dir(), dataset_label, self.fold,
                           folder_name(self.variant, self.overrides), self.seed, safe_name(self.resolve_config().name))

    def resolve_config(self) -> Config:
        if isinstance(self.config, Config):
            return self.config
        return load_config(self.config, self.variant, self.overrides)

    def to_dict(self) -> dict:
        """Plain values for params.json."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["config"] = self.config.name if isinstance(self.config, Config) else str(self.config)
        for k in ("root", "run_dir", "runs_dir", "cache_dir"):
            out[k] = None if out[k] is None else str(out[k])
        return out

    @classmethod
    def from_params(cls, params: dict) -> "RunSpec":
        """The spec of a finished run folder's params.json (older folders: from its flat keys)."""
        if "spec" in params:
            names = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in params["spec"].items() if k in names})
        cfg = params.get("config", {})
        return cls(dataset=params["dataset"], root=params["root"], fold=params["fold"],
                   config=cfg.get("name", ""), variant=cfg.get("variant", "tgdfer"),
                   overrides=params.get("overrides", {}), seed=params.get("seed", 0),
                   media=params.get("media", "frames"), label_base=params.get("label_base", 1))


@dataclass
class EvalSpec:
    """One evaluation of a checkpoint: the `evaluate` command's options."""
    checkpoint: str | os.PathLike = param("", "a run folder's last.pt or best.pt", required=True)
    dataset: str = DATASET
    root: str | os.PathLike = ROOT
    fold: int = FOLD
    split: str = param("test", "split to evaluate", choices=("train", "test"))
    out: str | os.PathLike | None = param(None, "output folder (default: beside the checkpoint)", type=str)
    views: int = param(1, "temporal views a clip")
    crops: int = param(1, "spatial crops a clip (1 centre, 2 + flip, 3 crops)", choices=(1, 2, 3))
    batch_size: int = param(32, "clips a batch (a process: under torchrun the batches are shared out)")
    workers: int = param(2, "DataLoader workers")
    device: str = DEVICE
    media: str = MEDIA
    label_base: int = LABEL_BASE
