"""Where things go: the repository root, the runs folder, run names. Never the working directory
(papermill starts kernels where it is called, nbval in the notebook's folder)."""
from __future__ import annotations

import os
import re
from pathlib import Path


def repo_root() -> Path:
    """The checkout holding this package (editable installs), else $TGDFER_HOME, else the home folder."""
    here = Path(__file__).resolve().parents[1]
    if (here / "pyproject.toml").is_file() and (here / "tgdfer").is_dir():
        return here
    return Path(os.environ.get("TGDFER_HOME", Path.home() / "tgdfer"))


def default_runs_dir() -> Path:
    return Path(os.environ.get("TGDFER_RUNS", repo_root() / "runs"))


def default_data_dir() -> Path:
    return Path(os.environ.get("TGDFER_DATA", repo_root() / "data"))


def resolve(path: str | os.PathLike) -> Path:
    """A relative path is taken from the repository root, an absolute one as is."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else repo_root() / p


NAMED_TRAIN = ("train.train_fraction",)     # train.* settings that change the data a run learns from


def run_name(variant: str, overrides: dict | None = None) -> str:
    """'tgdfer', or 'tgdfer+text=none+pool=max' for a variant with model/loss overrides (folder-safe).

    Training-length settings (train.*) do not name a different model, so they stay out of the name, except
    `train.train_fraction` (a training-size curve: other training data), which names it ('+train_fraction=0.1').
    """
    parts = [variant]
    for k, v in sorted((overrides or {}).items()):
        if k.startswith("train.") and k not in NAMED_TRAIN:
            continue
        parts.append(f"{k.split('.')[-1]}={str(v).lower() if isinstance(v, bool) else v}")
    return re.sub(r"[^A-Za-z0-9_.=+:-]", "_", "+".join(parts))
