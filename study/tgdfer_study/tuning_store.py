"""The tuning runners' runs: trained on a fold minus its validation split and scored there, no run folder kept, each
finished run's scores stored as one JSON row so that an interrupted `tune` resumes where it stopped.

In: a runner's jobs and how to describe them. Out: one row a job, reused from the store where one exists.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from tgdfer.config import load_config
from tgdfer.engine.run import build_run, evaluate_epoch, train_epoch
from tgdfer.io import atomic_write_text
from tgdfer.progress import progress
from tgdfer.runspec import RunSpec


def validation_run(layout: str, root, cache, fold: int, seed: int, *, config: str, variant: str, overrides: dict) -> dict:
    """Train one run on the fold's training split minus its validation split (`train.val_fraction` in `overrides`) and
    score the validation split at the last epoch; nothing is kept and no test split is read (the tuning runners)."""

    torch.set_num_threads(1)
    cfg = load_config(config, variant, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        spec = RunSpec(layout, str(root), fold, cfg, variant, overrides, seed=seed, device="cpu", run_dir=tmp,
                       cache_dir=str(cache))
        run = build_run(spec, cfg, verbose=False)
        row = {}
        for epoch in range(run.epochs):
            row = train_epoch(run, epoch)
        evaluate_epoch(run, run.epochs - 1, row)
    return {"val_uar": row["val_uar"], "val_war": row["val_war"], "val_frame_auc": row.get("val_frame_auc", np.nan),
            "val_clips": len(run.data.val_t)}




# Finished tuning runs kept on disk, so an interrupted `tune` resumes where it stopped instead of starting over. The
# tuning runners (`tune`, `tune --equal`) train runs that keep no run folder (their validation scores are all they
# need): `map_stored` writes each run's row atomically as JSON the moment it finishes, under a store folder
# (`runs/synth/tune/<grid>/`), named by a hash of everything that decides the run (the runner, the draw's folder, the
# variant's resolved config with its setting, fold, seed), so a changed config or draw never reuses a stale row. Rows
# are read with `json` (data only, nothing executed); one that cannot be read is trained again.


STORE_FORMAT = 1        # part of every key: a change to what a stored row holds bumps it, so old rows are not reused


def row_key(description: dict) -> str:
    """16 hex digits of the SHA-1 of the description's canonical JSON."""
    return hashlib.sha1(json.dumps(description, sort_keys=True, default=str).encode()).hexdigest()[:16]


def row_path(store, description: dict) -> Path:
    """Where the row of the run `description` describes is stored."""
    return Path(store) / f"{row_key({'store': STORE_FORMAT, **description})}.json"


def _plain(v):
    return v.item() if hasattr(v, "item") else v               # numpy scalars -> Python numbers (JSON round-trips)


def load_row(path: Path) -> dict | None:
    """The stored row, or None when there is none or it cannot be read (then the run is trained again)."""
    try:
        row = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):                                 # missing, truncated, corrupt or not UTF-8
        return None
    return row if isinstance(row, dict) else None


def tuning_config(config: str, variant: str, overrides: dict) -> dict:
    """The resolved config a tuning run trains, as a key's part: without its name and citation text (`source`), which
    train nothing, so editing them reuses the stored rows."""
    cfg = load_config(config, variant, overrides).to_dict()
    for prose in ("name", "source"):
        cfg.pop(prose)
    return cfg


def _call(args) -> dict:
    fn, job, path = args
    row = {k: _plain(v) for k, v in fn(job).items()}
    atomic_write_text(path, json.dumps(row) + "\n")              # no default=: a value JSON cannot hold raises here
    return row


def map_stored(fn: Callable[[dict], dict], jobs: list[dict], describe: Callable[[dict], dict], store,
               *, workers: int | None = None, desc: str = "tuning", say=print) -> tuple[list[dict], int]:
    """(`[fn(job) for job in jobs]`, how many rows were reused): the rows stored under `store` are reused and each new
    one is stored as it finishes. `workers`: processes (default one a core; 0 runs in this process)."""

    store = Path(store)
    paths = [row_path(store, describe(j)) for j in jobs]
    rows = [load_row(p) for p in paths]
    todo = [i for i, r in enumerate(rows) if r is None]
    reused = len(jobs) - len(todo)
    if reused:
        say(f"{desc}: reusing {reused} of {len(jobs)} finished runs stored in {store} "
            f"(delete that folder to train them again)")
    if not todo:
        return rows, reused

    args = [(fn, jobs[i], paths[i]) for i in todo]
    with (nullcontext() if workers == 0 else
          ProcessPoolExecutor(workers or os.cpu_count() or 1, mp_context=mp.get_context("spawn"))) as pool:
        done = map(_call, args) if pool is None else pool.map(_call, args)
        for i, row in zip(todo, progress(done, total=len(todo), desc=desc)):
            rows[i] = row
    return rows, reused
