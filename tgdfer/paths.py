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
# train.* settings that do not change what a run computes (how the global batch is split, the loader's processes)
NEUTRAL_TRAIN = ("train.workers", "train.batch_size", "train.grad_accum")


def _part(k: str, v) -> str:
    return f"{k.split('.')[-1]}={str(v).lower() if isinstance(v, bool) else v}"


def run_name(variant: str, overrides: dict | None = None) -> str:
    """The name records and tables know a run by: 'tgdfer', or 'tgdfer+text=none+pool=max' for a variant with
    model/loss overrides (folder-safe). Training-length settings (train.*) do not name a different model, so they stay
    out of it, except `train.train_fraction` (a training-size curve: other training data), which does
    ('+train_fraction=0.1'). The run folder's name adds them (`folder_name`)."""
    parts = [variant] + [_part(k, v) for k, v in sorted((overrides or {}).items())
                         if not k.startswith("train.") or k in NAMED_TRAIN]
    return safe_name("+".join(parts))


def folder_name(variant: str, overrides: dict | None = None) -> str:
    """The run folder's name: `run_name` plus every other setting that changes the run ('tgdfer+epochs=30+lr_head=0.01';
    not those of `NEUTRAL_TRAIN`), so that runs of other settings never share a folder."""
    extra = [_part(k, v) for k, v in sorted((overrides or {}).items())
             if k.startswith("train.") and k not in NAMED_TRAIN and k not in NEUTRAL_TRAIN]
    return safe_name("+".join([run_name(variant, overrides)] + extra))


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=+:-]", "_", text)
