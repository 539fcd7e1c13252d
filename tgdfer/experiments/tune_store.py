"""Finished tuning runs kept on disk, so an interrupted `tune` resumes where it stopped instead of starting over.

The tuning runners (`tune`, `tune --equal`) train runs that keep no run folder (their validation scores are all
they need). `map_stored` writes each run's row atomically as JSON the moment it finishes, under a store folder
(`runs/synth/tune/<grid>/`), named by a hash of everything that decides the run (the runner, the draw's folder,
the variant's resolved config with its setting, fold, seed): a changed config or draw never reuses a stale row.
Rows are read with `json` (data only, nothing executed); one that cannot be read is trained again.

In: a top-level function `fn(job) -> dict` (it runs in worker processes), the jobs, `describe(job) -> dict` (what
the key hashes). Out: one row a job, in the jobs' order.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

from ..io import atomic_write_json


def row_key(description: dict) -> str:
    """16 hex digits of the SHA-1 of the description's canonical JSON."""
    return hashlib.sha1(json.dumps(description, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _plain(v):
    return v.item() if hasattr(v, "item") else v               # numpy scalars -> Python numbers (JSON round-trips)


def load_row(path: Path) -> dict | None:
    """The stored row, or None when there is none or it cannot be read (then the run is trained again)."""
    try:
        row = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):                                 # truncated, corrupt or not UTF-8
        return None
    return row if isinstance(row, dict) else None


def _call(args) -> dict:
    fn, job, path = args
    row = {k: _plain(v) for k, v in fn(job).items()}
    atomic_write_json(path, row)
    return row


def map_stored(fn: Callable[[dict], dict], jobs: list[dict], describe: Callable[[dict], dict], store,
               *, workers: int | None = None, desc: str = "tuning", say=print) -> tuple[list[dict], int]:
    """(`[fn(job) for job in jobs]`, how many rows were reused): the rows stored under `store` are reused and each new
    one is stored as it finishes. `workers`: processes (default one a core; 0 runs in this process)."""
    from ..progress import progress

    store = Path(store)
    paths = [store / f"{row_key(describe(j))}.json" for j in jobs]
    rows = [load_row(p) for p in paths]
    todo = [i for i, r in enumerate(rows) if r is None]
    if len(todo) < len(jobs):
        say(f"{desc}: reusing {len(jobs) - len(todo)} of {len(jobs)} finished runs stored in {store} "
            f"(delete that folder to train them again)")
    reused = len(jobs) - len(todo)
    if not todo:
        return rows, reused
    args = [(fn, jobs[i], paths[i]) for i in todo]
    if workers == 0:
        done = map(_call, args)
        for i, row in zip(todo, progress(done, total=len(todo), desc=desc)):
            rows[i] = row
        return rows, reused
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing as mp

    with ProcessPoolExecutor(workers or os.cpu_count() or 1, mp_context=mp.get_context("spawn")) as pool:
        for i, row in zip(todo, progress(pool.map(_call, args), total=len(todo), desc=desc)):
            rows[i] = row
    return rows, reused
