"""How a run's clips reach the model: the batch plan, one shuffled order shared out over the ranks, evaluation in
shares, and the frozen backbone's feature cache encoded in shares.

In: the train config (global batch, per-GPU batch, accumulation), the world size and rank, a run's three splits.
Out: `BatchPlan` (per-GPU batch x GPUs x accumulation = the global batch, or a clear error), `EpochSampler` (the
epoch's permutation, drawn from the seed and epoch alone; rank r takes positions r, r + w, ..., so the global batch
k of w processes holds the clips of batch k of one process with a w times larger batch), `ShardedBatches` (rank r
evaluates batches r, r + w, ... of the one-process order: the same batches, so the same numbers), `RunData`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..data.dataset import ClipDataset
from .distributed import gather
from .feature_cache import CachedClips, FeatureCache, train_views


@dataclass(frozen=True)
class BatchPlan:
    per_gpu: int = 1                    # clips a process takes at once (--batch-size)
    accum: int = 1                      # micro-batches an optimiser step (--grad-accum)
    world: int = 1                      # processes (GPUs)

    @property
    def global_batch(self) -> int:
        return self.per_gpu * self.accum * self.world

    def to_dict(self) -> dict:
        return {"world_size": self.world, "per_gpu_batch": self.per_gpu, "grad_accum": self.accum,
                "global_batch": self.global_batch}


def plan_batches(tc, world: int = 1, config: str = "") -> BatchPlan:
    """The config's global batch (`train.global_batch`, the recipe's) split over `world` processes: per-GPU batch x
    GPUs x accumulation. A per-GPU batch or an accumulation that is set decides the other; one that cannot keep the
    global batch is refused, never shrunk."""
    G, b, a = int(tc.global_batch), int(tc.batch_size), int(tc.grad_accum)
    name = f"config {config}'s " if config else ""
    if G < 1 or b < 0 or a < 0:
        raise ValueError(f"batch settings must be positive (global_batch {G}, batch_size {b}, grad_accum {a})")
    if b and a:
        if b * world * a != G:
            raise ValueError(f"--batch-size {b} x {world} GPU(s) x --grad-accum {a} = {b * world * a} clips a step, "
                             f"not the global batch {G} ({name}train.global_batch): set --global-batch {b * world * a} "
                             "to train with that batch, or leave --grad-accum out to have it derived")
        return BatchPlan(b, a, world)
    if b:
        if G % (b * world):
            hint = f"a per-GPU batch that divides {G // world}" if G % world == 0 else f"a number of GPUs that divides {G}"
            raise ValueError(f"the global batch {G} ({name}train.global_batch) is not a multiple of --batch-size {b} x "
                             f"{world} GPU(s): choose {hint}, or set --global-batch "
                             f"{b * world * max(1, round(G / (b * world)))} to train with another batch")
        return BatchPlan(b, G // (b * world), world)
    a = a or 1
    if G % (world * a):
        per = max(1, round(G / (world * a)))
        raise ValueError(f"the global batch {G} ({name}train.global_batch) cannot be split over {world} GPU(s) x "
                         f"{a} accumulation step(s) ({G}/{world * a} is not whole): set --global-batch "
                         f"{per * world * a} ({per} a GPU) or --batch-size with --grad-accum, or run on a number of GPUs "
                         f"that divides {G}")
    return BatchPlan(G // (world * a), a, world)


class EpochSampler(Sampler):
    """This rank's share of an epoch's order, as (index, epoch) pairs (the epoch reaches persistent workers).

    The order is `torch.randperm` after one 64-bit draw from a generator seeded seed x 1000 + epoch: the order one
    process drew before (a shuffling DataLoader with that generator), so one-process runs keep their numbers. With at
    least two global batches of clips, the leftover clips that fill no whole global batch are left out (a different
    few each epoch: `leftover`); with fewer, every clip is used, padded to a multiple of the ranks."""

    def __init__(self, n: int, plan: BatchPlan, rank: int = 0, seed: int = 0):
        self.n, self.plan, self.rank, self.seed, self.epoch = n, plan, rank, seed, 0
        G, w = plan.global_batch, plan.world
        self.used = (n // G) * G if n >= 2 * G else n + (-n) % w           # clips an epoch, over every rank
        self.leftover = max(0, n - self.used)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def order(self) -> list[int]:
        g = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        torch.empty((), dtype=torch.int64).random_(generator=g)              # the DataLoader's base-seed draw
        perm = torch.randperm(self.n, generator=g).tolist()
        return (perm + perm)[: self.used] if self.used > self.n else perm[: self.used]

    def __iter__(self):
        yield from ((i, self.epoch) for i in self.order()[self.rank::self.plan.world])

    def __len__(self) -> int:
        return self.used // self.plan.world

    @property
    def micro_batches(self) -> int:
        return math.ceil(len(self) / self.plan.per_gpu)

    @property
    def steps(self) -> int:
        """Optimiser steps an epoch (a last step of fewer micro-batches when the clips do not fill it)."""
        return max(1, math.ceil(self.micro_batches / self.plan.accum))


class ShardedBatches(Sampler):
    """Batches of `batch_size` consecutive items, the one-process order; this rank takes batches rank, rank + w, ..."""

    def __init__(self, n: int, batch_size: int, rank: int = 0, world: int = 1, limit: int = 0):
        k = math.ceil(n / batch_size)
        self.batches = [list(range(i * batch_size, min(n, (i + 1) * batch_size))) for i in range(min(k, limit or k))]
        self.rank, self.world = rank, world

    def __iter__(self):
        yield from self.batches[self.rank::self.world]

    def __len__(self) -> int:
        return len(self.batches[self.rank::self.world])


@dataclass
class RunData:
    """The splits of one run and how batches are drawn from them."""
    train_t: pd.DataFrame
    val_t: pd.DataFrame | None
    test_t: pd.DataFrame
    select_split: str                  # 'val' or 'test': where the best epoch is chosen
    ds_train: Dataset = None
    ds_val: Dataset | None = None
    ds_test: Dataset = None
    inputs_key: str = "video"          # 'features' when the frozen backbone's features are cached
    workers: int = 0
    plan: BatchPlan = field(default_factory=BatchPlan)
    rank: int = 0
    seed: int = 0
    pin: bool = False                  # page-locked host memory (GPU runs)
    sampler: EpochSampler | None = None
    gen: torch.Generator = field(default_factory=torch.Generator)
    loaders: dict = field(default_factory=dict)

    def _loader(self, ds, **kw) -> DataLoader:
        return DataLoader(ds, num_workers=self.workers, pin_memory=self.pin,
                          persistent_workers=self.workers > 0, **kw)

    def train_loader(self, epoch: int) -> DataLoader:
        """The training loader (built once: its workers live across epochs), set to `epoch`."""
        self.sampler.set_epoch(epoch)
        self.gen.manual_seed(self.seed * 1000 + epoch)          # seeds the workers' base seeds as before
        if "train" not in self.loaders:
            self.loaders["train"] = self._loader(self.ds_train, batch_size=self.plan.per_gpu, sampler=self.sampler,
                                                 generator=self.gen)
        return self.loaders["train"]

    def eval_loader(self, split: str, limit: int = 0) -> DataLoader:
        """Batches of twice the per-GPU batch of the `split` ('val' or 'test') dataset, this rank's share."""
        key = (split, limit)
        if key not in self.loaders:
            ds = self.ds_val if split == "val" else self.ds_test
            batches = ShardedBatches(len(ds), self.plan.per_gpu * 2, self.rank, self.plan.world, limit)
            self.loaders[key] = self._loader(ds, batch_sampler=batches)
        return self.loaders[key]

    @property
    def normalize(self):
        return getattr(self.ds_train, "normalize", None)


def shared_encoder(fc: FeatureCache, table: pd.DataFrame, rank: int, world: int, kw: dict):
    """`encode` for `FeatureCache.get` in a run of several processes: the clips any rank lacks, in the table's
    order, shared out (rank r encodes every w-th), gathered whole on every rank."""
    def encode(missing, kind, v, views, crops) -> dict:
        wanted = set().union(*gather(list(missing["path"])))
        todo = table[table["path"].isin(wanted)].drop_duplicates(subset="path").reset_index(drop=True)
        mine = todo.iloc[rank::world]
        part = fc.encode_table(mine, kind, v, views, crops, **kw) if len(mine) else {}
        out = {}
        for p in gather(part):
            out.update(p)
        return out
    encode.collective = True                     # called on every rank, whether or not this rank misses a clip
    return encode


def attach_datasets(d: RunData, model, cfg, cache: FeatureCache | None, dev, plan: BatchPlan, *, rank: int = 0,
                    autocast=None) -> RunData:
    """Datasets of the three splits: cached frame features (frozen backbone) or decoded clips (uint8)."""
    tc, mc = cfg.train, cfg.model
    d.plan, d.rank, d.pin = plan, rank, dev.type == "cuda"
    if cache is not None:
        kw = dict(batch_size=max(8, plan.per_gpu), workers=tc.workers, device=dev, autocast=autocast)
        views = (tc.test_views, tc.test_crops)

        def get(t, kind, *v):
            enc = shared_encoder(cache, t, rank, plan.world, {k: kw[k] for k in ("batch_size", "workers", "device",
                                                                                  "autocast")}) \
                if plan.world > 1 else None
            return cache.get(t, kind, *v, encode=enc, write=rank == 0, **kw)
        d.ds_train = CachedClips(*get(d.train_t, "train", train_views(tc.epochs, tc.cache_views)), d.train_t,
                                 train=True, seed=d.seed)
        d.ds_test = CachedClips(*get(d.test_t, "test", *views), d.test_t, train=False)
        d.ds_val = CachedClips(*get(d.val_t, "test", *views), d.val_t, train=False) if d.val_t is not None else None
        d.inputs_key, d.workers = "features", 0
    else:
        def clip_ds(t, is_train):
            return ClipDataset(t, mc.frames, model.backbone.image_size, train=is_train, mean=model.backbone.mean,
                               std=model.backbone.std, augment=tc.augment, views=tc.test_views, crops=tc.test_crops,
                               seed=d.seed, raw=True)
        d.ds_train, d.ds_test = clip_ds(d.train_t, True), clip_ds(d.test_t, False)
        d.ds_val = clip_ds(d.val_t, False) if d.val_t is not None else None
        d.inputs_key, d.workers = "video", tc.workers
    d.sampler = EpochSampler(len(d.ds_train), plan, rank, d.seed)
    d.gen = torch.Generator().manual_seed(d.seed)
    return d
