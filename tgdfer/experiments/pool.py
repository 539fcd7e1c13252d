"""Running many runs: the frozen backbone's feature cache warmed once, then a pool of worker processes.

In: `PlannedRun`s of a plan and the data they read. Out: one result a run (its last-epoch metrics, or the one-line
reason it failed). A run folder whose checkpoint cannot be read (truncated by a full disk or an interrupted copy)
is moved aside under `runs/_damaged/` and trained again, said in the output; any other failure is reported in one
line naming the run, and the other runs go on. The tuning runners' runs (no run folders) go through `map_stored`,
which keeps each finished run's scores on disk so an interrupted call resumes.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import Callable

from .. import runfolder as rf
from ..config import load_config
from ..io import atomic_write_text
from ..engine.run import run_folder, run_spec
from ..runspec import RunSpec
from ..report.frames import has_frame_evidence
from ..safe_load import UnreadableFileError
from ..sweep.plan import PlannedRun


def warm_cache(layout: str, root, config: str, cache: Path, *, seeds=None, folds=None, runs=None,
               processes: int | None = None) -> None:
    """Encode every clip's training and test views once, before runs read the cache in parallel. Test views: with
    `runs` (the planned runs) only for the test splits and the validation splits those runs carve, each with its own
    settings (a training-size run carves its validation split from its share of the fold); with `seeds`, those of
    `config`'s runs of those seeds; with neither, for every clip. A run whose validation clips are missing encodes them
    itself, on its one core. `folds`: the DFEW layout's folds whose clips to encode (default all five; the demo's set
    has only its own). `processes` (default one a core) share the clips out, each decoding and encoding its chunks on
    one thread (`ShardedEncoder`): the same features to the bit as one process, in about a quarter less time on 2
    cores."""
    import os

    import pandas as pd

    from ..data.layouts import load_split
    from ..engine.feature_cache import train_views

    cfg = load_config(config)
    tc = cfg.train
    fc, autocast = _open_encoder(cfg, cache)
    kw = dict(batch_size=64, workers=tc.workers, autocast=autocast)
    # Every fold's splits (with held-out test splits or independent training draws, fold 1's do not hold every clip,
    # and a clip missing here is encoded inside each run of its fold, on one core). Training views only for clips of
    # some training split (validation splits are carved from them and read test views).
    folds = (1,) if layout == "ferv39k" else tuple(folds or range(1, 6))
    train = pd.concat([load_split(layout, root, k, "train") for k in folds]).drop_duplicates(subset="path")
    n = processes or os.cpu_count() or 1
    with ShardedEncoder(config, cache, n, partial(fc.encode_table, **kw)) if n > 1 else nullcontext() as encode:
        if encode is not None and fc.missing(train, "train") > encode.CHUNK:
            encode.start()                     # the workers start up while this process reads the splits on
        if runs is None and seeds is not None:
            runs = [PlannedRun(cfg.variant, {}, k, s) for k in folds for s in seeds]
        every = test_view_clips(layout, root, config, folds, runs) if runs is not None else \
            pd.concat([train] + [load_split(layout, root, k, "test") for k in folds]).drop_duplicates(subset="path")
        fc.get(train.reset_index(drop=True), "train", views=train_views(tc.epochs, tc.cache_views), encode=encode, **kw)
        fc.get(every.reset_index(drop=True), "test", tc.test_views, tc.test_crops, encode=encode, **kw)


class ShardedEncoder:
    """`encode` for `FeatureCache.get`: a cache file's missing clips in chunks over `n` worker processes.

    One process whose DataLoader worker decodes while its two threads encode keeps 2 cores less busy than two
    processes that each decode and encode their chunks on one thread (fold 1 of the development draw, 2,802
    clip-views, Intel Xeon with AMX: 36-39 s against 26-28 s). The features are bit-identical to one process's: a
    clip's randomness is keyed by its clip id and its features do not depend on its batch
    (tests/experiments/test_sharded_cache.py). Chunks come back in order, so a cache file holds its clips in the
    order one process writes them."""

    CHUNK = 256                                                    # clips a task: four batches of the warm-up

    def __init__(self, config: str, cache: Path, n: int, local):
        """`local(missing, kind, v, views, crops)` encodes in this process: what a file missing one chunk or less
        gets (starting the workers takes seconds; they start at `start` or at the first larger call)."""
        self.config, self.cache, self.n, self.local, self.pool = config, Path(cache), n, local, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        return False

    def start(self) -> None:
        """Start the `n` workers (each imports torch and builds the model, a few seconds) unless they run."""
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.n, mp_context=mp.get_context("spawn"), initializer=_init_encoder,
                                            initargs=(self.config, str(self.cache)))
            for _ in range(self.n):
                self.pool.submit(int)          # a task each: the pool starts a process a waiting task

    def __call__(self, missing, kind: str, v: int, views: int, crops: int) -> dict:
        import torch

        from ..progress import progress

        if len(missing) <= self.CHUNK:
            return self.local(missing, kind, v, views, crops)
        self.start()
        chunks = [missing.iloc[i:i + self.CHUNK] for i in range(0, len(missing), self.CHUNK)]
        results = self.pool.map(_encode_chunk, chunks, [kind] * len(chunks), [v] * len(chunks),
                                [views] * len(chunks), [crops] * len(chunks))
        out = {}
        for paths, feats, idx in progress(results, desc=f"cache {kind} view {v} ({self.n} processes)",
                                          total=len(chunks)):             # in submission order: the file's clip order
            for j, p in enumerate(paths):
                out[p] = (torch.from_numpy(feats[j]).clone(), torch.from_numpy(idx[j]).clone())
        return out


_ENCODER: tuple | None = None                                      # (FeatureCache, autocast) of a worker process


def _init_encoder(config: str, cache: str) -> None:
    import os

    import torch

    global _ENCODER
    os.environ["TGDFER_PROGRESS"] = "0"                           # the parent shows one bar for all the chunks
    torch.set_num_threads(1)
    _ENCODER = _open_encoder(load_config(config), cache)


def _open_encoder(cfg, cache):
    """(FeatureCache, autocast) of `cfg`'s frozen image tower on the CPU: one recipe for the warm-up and its workers,
    so that both write under the same cache key."""
    import torch

    from ..engine.run import cache_autocast, open_cache
    from ..model import create_model

    dev = torch.device("cpu")
    return open_cache(cache, create_model(cfg), cfg, dev), cache_autocast(cfg.train, dev)


def _encode_chunk(table, kind: str, v: int, views: int, crops: int):
    """Paths, features [n, T, D] float16 and frame indices [n, T] of one chunk, as arrays: one buffer each to send
    back, not two tensors a clip."""
    import numpy as np

    fc, autocast = _ENCODER
    enc = fc.encode_table(table, kind, v, views, crops, batch_size=64, autocast=autocast)
    paths = list(enc)
    return paths, np.stack([enc[p][0].numpy() for p in paths]), np.stack([enc[p][1].numpy() for p in paths])


def test_view_clips(layout: str, root, config: str, folds, runs):
    """The clips whose test views `runs` (planned runs) on `folds` read: each run's validation split (as `load_tables`
    carves it from the run's settings and seed) and each fold's test split."""
    import pandas as pd

    from ..data.layouts import load_split
    from ..engine.run import load_tables

    tables, seen = [load_split(layout, root, k, "test") for k in folds], set()
    for r in runs:
        if r.fold not in folds:
            continue
        tc = load_config(config, r.variant, r.overrides).train
        key = (r.fold, r.seed, tc.train_fraction, tc.val_fraction, tc.select_on)
        if key not in seen:
            seen.add(key)
            val = load_tables(layout, root, r.fold, "frames", 1, tc, r.seed).val_t
            tables += [] if val is None else [val]
    return pd.concat(tables).drop_duplicates(subset="path")


def spec_of(r: PlannedRun, layout: str, root, config: str, runs_dir, cache) -> RunSpec:
    return RunSpec(layout, str(root), r.fold, config, r.variant, r.overrides, seed=r.seed, runs_dir=str(runs_dir),
                   resume=True, cache_dir=str(cache))


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def run_one(spec: RunSpec) -> dict:
    """Train (or reuse) one run; never raises: a failure comes back as {'error': one line}."""
    label = f"fold {spec.fold} seed {spec.seed} {spec.name}"
    note = ""
    try:
        try:
            res = run_spec(spec, verbose=False)
        except UnreadableFileError as e:
            folder = run_folder(spec)
            if e.path is None or Path(e.path).parent.resolve() != folder.resolve():
                raise
            moved = rf.move_aside(folder, spec.runs_dir)
            note = f"{e.path.name} of {folder} could not be read: moved the folder to {moved} and trained again"
            res = run_spec(spec, verbose=False)
    except Exception as e:                                          # reported, the other runs go on
        first = (str(e).splitlines() or [""])[0]
        return {"label": label, "folder": str(run_folder(spec)), "error": f"{type(e).__name__}: {first}", "note": note}
    params = json.loads((res.run_dir / rf.PARAMS).read_text())
    return {"label": label, "folder": str(res.run_dir), "note": note, "frame_evidence": has_frame_evidence(params),
            "seconds": res.metrics.get("seconds", {}), **res.metrics["last"]}


def validation_run(layout: str, root, cache, fold: int, seed: int, *, config: str, variant: str, overrides: dict) -> dict:
    """Train one run on the fold's training split minus its validation split (`train.val_fraction` in `overrides`) and
    score the validation split at the last epoch; nothing is kept and no test split is read (the tuning runners)."""
    import tempfile

    import numpy as np
    import torch

    from ..engine.run import build_run, evaluate_epoch, train_epoch

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


def time_split(results: list[dict]) -> str:
    """One line: the runs' seconds by phase, summed over runs (the processes' own time, not the wall clock)."""
    total: dict[str, float] = {}
    for m in results:
        for k, v in (m.get("seconds") or {}).items():
            total[k] = total.get(k, 0.0) + v
    if not total:
        return "no timing in these runs (trained before it was recorded)"
    return f"{len(results)} runs, summed: " + ", ".join(f"{k} {v:.0f} s" for k, v in total.items())


def progress_line(i: int, n: int, m: dict, seconds: float) -> str:
    head = f"[{seconds:5.0f}s] {i:3d}/{n} {m['label']:42s}"
    if "error" in m:
        return f"{head} FAILED: {m['error']}"
    auc = f"{100 * m['loc_auc']:5.1f}" if m.get("frame_evidence") and "loc_auc" in m else "    -"
    return f"{head} UAR {100 * m['uar']:5.1f}  WAR {100 * m['war']:5.1f}  frame AUC {auc}"


def run_pool(specs: list[RunSpec], workers: int | None, say, t0: float) -> list[dict]:
    """Every spec in worker processes (one a core), in order; returns one result a spec, failures included."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    n = workers or os.cpu_count() or 1
    out = []
    with ProcessPoolExecutor(n, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=(max(1, (os.cpu_count() or 1) // n),)) as pool:
        futures = [pool.submit(run_one, s) for s in specs]
        for i, fut in enumerate(as_completed(futures), 1):
            m = fut.result()
            if m.get("note"):
                say(f"[{time.time() - t0:5.0f}s] note: {m['note']}")
            say(progress_line(i, len(specs), m, time.time() - t0))
            out.append(m)
    return out


class RunsFailed(RuntimeError):
    """Some runs of a plan failed; the message lists them, one a line."""


def check_failures(results: list[dict]) -> None:
    failed = [m for m in results if "error" in m]
    if failed:
        raise RunsFailed(f"{len(failed)} of {len(results)} runs failed (the others are finished and will be reused):\n"
                         + "\n".join(f"  {m['folder']}: {m['error']}" for m in failed)
                         + "\nfix what the line says (or delete that run folder), then run the same command again")


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
    from ..progress import progress

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
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing as mp

    args = [(fn, jobs[i], paths[i]) for i in todo]
    with (nullcontext() if workers == 0 else
          ProcessPoolExecutor(workers or os.cpu_count() or 1, mp_context=mp.get_context("spawn"))) as pool:
        done = map(_call, args) if pool is None else pool.map(_call, args)
        for i, row in zip(todo, progress(done, total=len(todo), desc=desc)):
            rows[i] = row
    return rows, reused
