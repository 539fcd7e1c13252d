"""A run's parameters as one typed value: built once (from a notebook's parameters, the command line or the
protocol's plan), passed whole to the engine, written to `params.json` (key "spec") and read back by the report.

In: a dataset layout and root, a fold, a config (name, path or `Config`), a variant and overrides, a seed, where the
run folder goes. Out: the run's name, its folder (given the dataset's label: `synth` for the generated benchmark,
decided by the data layer) and its resolved `Config`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from . import runfolder as rf
from .config import Config, load_config
from .paths import default_runs_dir, folder_name, run_name, safe_name


@dataclass
class RunSpec:
    dataset: str = "dfew"                 # layout read by load_split (the generated benchmark is 'dfew')
    root: str | os.PathLike = ""          # the dataset folder as downloaded
    fold: int = 1
    config: str | Config = "tgdfer-tiny"  # a config name, a JSON path, or a Config
    variant: str = "tgdfer"               # a named variant of configs/variants.json
    overrides: dict = field(default_factory=dict)   # config fields on top: {"model.text": "none"}
    seed: int = 0                         # initialisation, data order, cached views
    device: str = "auto"
    run_dir: str | os.PathLike | None = None        # explicit run folder (else under runs_dir)
    runs_dir: str | os.PathLike | None = None       # parent of run folders (default: the repository's runs/)
    resume: bool = False                  # continue from the run folder's last.pt
    media: str = "frames"                 # frames | video
    label_base: int = 1                   # 1: official 1-based label files
    deterministic: bool = False
    cache_dir: str | os.PathLike | None = None      # the frozen backbone's feature cache (default: in the run folder)

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
