"""The frozen image tower's feature cache, warmed once before runs read it in parallel: every clip's training and
test views (the test views only of the clips the planned runs read: each run's test split and the validation split
the engine carves for it, `tgdfer.engine.run.run_tables`), shared out over one process a core.

In: a dataset, the protocol's config, a cache folder, the planned runs. Out: the cache files, the same features to the
bit as one process would write.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tgdfer.config import load_config
from tgdfer.data.layouts import load_split
from tgdfer.engine.feature_cache import cache_autocast, open_cache, train_views
from tgdfer.engine.run import run_tables
from tgdfer.model import create_model
from tgdfer.progress import progress
from tgdfer.runspec import RunSpec
from tgdfer.sweep.plan import PlannedRun


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
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.n, mp_context=mp.get_context("spawn"), initializer=_init_encoder,
                                            initargs=(self.config, str(self.cache)))
            for _ in range(self.n):
                self.pool.submit(int)          # a task each: the pool starts a process a waiting task

    def __call__(self, missing, kind: str, v: int, views: int, crops: int) -> dict:

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

    global _ENCODER
    os.environ["TGDFER_PROGRESS"] = "0"                           # the parent shows one bar for all the chunks
    torch.set_num_threads(1)
    _ENCODER = _open_encoder(load_config(config), cache)


def _open_encoder(cfg, cache):
    """(FeatureCache, autocast) of `cfg`'s frozen image tower on the CPU: one recipe for the warm-up and its workers,
    so that both write under the same cache key."""
    dev = torch.device("cpu")
    return open_cache(cache, create_model(cfg), cfg, dev), cache_autocast(cfg.train, dev)


def _encode_chunk(table, kind: str, v: int, views: int, crops: int):
    """Paths, features [n, T, D] float16 and frame indices [n, T] of one chunk, as arrays: one buffer each to send
    back, not two tensors a clip."""
    fc, autocast = _ENCODER
    enc = fc.encode_table(table, kind, v, views, crops, batch_size=64, autocast=autocast)
    paths = list(enc)
    return paths, np.stack([enc[p][0].numpy() for p in paths]), np.stack([enc[p][1].numpy() for p in paths])


def test_view_clips(layout: str, root, config: str, folds, runs):
    """The clips whose test views `runs` (planned runs) on `folds` read: each fold's test split and each run's
    validation split, as the engine carves it for that run (`run_tables`: one place computes it)."""
    tables, seen = [load_split(layout, root, k, "test") for k in folds], set()
    for r in runs:
        if r.fold not in folds:
            continue
        spec = RunSpec(layout, str(root), r.fold, config, r.variant, r.overrides, seed=r.seed)
        tc = spec.resolve_config().train
        key = (r.fold, r.seed, tc.train_fraction, tc.val_fraction, tc.select_on)
        if key not in seen:
            seen.add(key)
            val = run_tables(spec).val_t
            tables += [] if val is None else [val]
    return pd.concat(tables).drop_duplicates(subset="path")
