"""Frozen-backbone feature cache: each clip's frames are encoded once per view and reused.

In: a model whose image tower is frozen, a clip table and a view spec. Out: features
[N, V, T, D] (float16) and the sampled frame indices [N, V, T]. Training with a frozen image tower
then reads the cache (in each epoch, a clip shows one of its V augmented views, drawn from the run's
seed), which is the same model and the same meaning of every metric, only much faster. The pool of
views is encoded once (seed 0) and shared by every run and seed that reads it. Files live under the run folder (never next to the
dataset, which may be read-only), keyed by everything that changes a feature.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from ..data.dataset import ClipDataset, model_input
from ..io import atomic_torch_save, atomic_write_json
from .device import autocast_factory, resolve_precision
from ..progress import progress
from ..safe_load import safe_torch_load


def backbone_key(model) -> str:
    """Identity of the image tower's weights: the weight file's SHA256, or a hash of the tensors."""
    info = model.backbone.info
    if info.get("weights_sha256"):
        return info["weights_sha256"][:16]
    h = hashlib.sha256()
    for k, v in sorted(model.backbone.visual.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def train_views(epochs: int, pool: int = 4) -> int:
    """Augmented training views cached per clip: no more than there are epochs, at most `pool`."""
    return max(1, min(epochs, pool))


class FeatureCache:
    """A folder of per-view feature files: `<kind>-v<view>.pt` = {clip path: (features [T, D], frames [T])}."""

    def __init__(self, folder: str | Path, model, frames: int, size: int, short: str = "pad-last", seed: int = 0,
                 augment: bool = True, *, precision: str = "fp32"):
        spec = {"backbone": backbone_key(model), "clip_model": model.cfg.clip_model, "frames": frames, "size": size,
                "short": short, "seed": seed, "augment": augment, "mean": list(model.backbone.mean),
                "std": list(model.backbone.std), "version": 1}
        if precision != "fp32":
            spec["precision"] = precision
        self.spec = spec
        self.key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
        self.folder = Path(folder) / self.key
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.folder / "spec.json", spec)
        self.model, self.frames, self.size, self.short, self.seed, self.augment = model, frames, size, short, seed, augment

    def _file(self, kind: str, view: int) -> Path:
        return self.folder / f"{kind}-v{view}.pt"

    @torch.no_grad()
    def get(self, table: pd.DataFrame, kind: str, views: int = 1, crops: int = 1, batch_size: int = 32,
            workers: int = 0, device: str | torch.device = "cpu", *, autocast=None,
            encode=None, write: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Features [N, V, T, D] and frame indices [N, V, T] for `table`; V = views (train) or views * crops (test).
        `encode(missing, kind, view, views, crops)`, when given, encodes the clips a file lacks in place of this
        process (the experiments' warm-up shares them out over processes, a run of several processes over its ranks:
        an `encode` marked `collective` is called on every rank, even one that lacks no clip) and returns what
        `encode_table` does. `write=False`: keep what was encoded in memory only (every rank but the first)."""
        n_views = views if kind == "train" else views * crops
        per_view = []
        for v in range(n_views):
            store = _read_store(self._file(kind, v))
            missing = table[~table["path"].isin(store)]
            if len(missing) or getattr(encode, "collective", False):
                new = encode(missing, kind, v, views, crops) if encode is not None else \
                    self.encode_table(missing, kind, v, views, crops, batch_size=batch_size, workers=workers,
                                      device=device, autocast=autocast)
                if new:
                    store = {**store, **new}
                    if write:
                        atomic_torch_save(self._file(kind, v), store)
                        _remember(self._file(kind, v), store)
            per_view.append(store)
        feats = torch.stack([torch.stack([pv[p][0] for p in table["path"]]) for pv in per_view], dim=1)  # [N, V, T, D]
        idx = torch.stack([torch.stack([pv[p][1] for p in table["path"]]) for pv in per_view], dim=1)    # [N, V, T]
        return feats, idx

    def missing(self, table: pd.DataFrame, kind: str, view: int = 0) -> int:
        """How many of `table`'s clips the file of `kind` view `view` lacks."""
        return int((~table["path"].isin(_read_store(self._file(kind, view)))).sum())

    def encode_table(self, table, kind, v, views, crops, *, batch_size: int = 32, workers: int = 0,
                     device: str | torch.device = "cpu", autocast=None) -> dict:
        """{clip path: (features [T, D] float16, frame indices [T])} of view `v` of every clip of `table`. A clip's
        features do not depend on which clips share its batch or table (its randomness is keyed by its clip id)."""
        train = kind == "train"
        ds = ClipDataset(table, self.frames, self.size, train=train, mean=self.model.backbone.mean,
                         std=self.model.backbone.std, augment=self.augment, views=views, crops=crops,
                         short=self.short, seed=self.seed, raw=True)
        if train:
            ds.set_epoch(v)
            sub = ds
        else:
            sub = torch.utils.data.Subset(ds, [i * views * crops + v for i in range(len(table))])
        loader = DataLoader(sub, batch_size=batch_size, num_workers=workers, shuffle=False,
                            pin_memory=torch.device(device).type == "cuda")
        out = {}
        paths = list(table["path"])
        visual = self.model.backbone
        was = visual.training
        visual.eval()
        i = 0
        for batch in progress(loader, desc=f"cache {kind} view {v}", total=len(loader)):
            video = model_input(batch, "video", device, ds.normalize)              # uint8 -> float there
            with autocast() if autocast else _null():
                f = visual.encode_frames(video)                                      # [B, T, D]
            for j in range(f.shape[0]):
                out[paths[i]] = (f[j].to("cpu", torch.float16), batch["frame_index"][j].clone())
                i += 1
        visual.train(was)
        return out


# The cache files a process has read, kept while they are unchanged on disk: a worker of the demo reads the same three
# files for every run it trains (several seconds a run on a 2-core CPU), so it reads each once.
_STORES: dict[str, tuple[tuple[int, int], dict]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def _read_store(path: Path) -> dict:
    """The {clip path: (features, frames)} of one cache file ({} if none), read once while it does not change."""
    if not path.is_file():
        return {}
    hit = _STORES.get(str(path))
    if hit is not None and hit[0] == _stamp(path):
        return hit[1]
    store = safe_torch_load(path)
    for other in [k for k in _STORES if Path(k).parent != path.parent]:
        del _STORES[other]               # keep one cache's files, not every cache this process ever read
    _remember(path, store)
    return store


def _remember(path: Path, store: dict) -> None:
    _STORES[str(path)] = (_stamp(path), store)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


class CachedClips(Dataset):
    """Items from cached features: in training, each clip shows one of its V views, drawn per epoch from
    `seed`; testing enumerates all views."""

    def __init__(self, feats: torch.Tensor, frame_index: torch.Tensor, table: pd.DataFrame, train: bool,
                 seed: int = 0):
        self.feats, self.idx, self.table, self.train = feats, frame_index, table.reset_index(drop=True), train
        self.labels = np.asarray(table["label"], dtype=np.int64)
        self.clip_ids = [str(c) for c in self.table["clip_id"]]       # a list: pandas' .iloc costs ~30 us an item
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.views = np.random.default_rng([self.seed, 31, self.epoch]).integers(0, self.feats.shape[1],
                                                                                size=len(self.table))

    def __len__(self) -> int:
        return len(self.table) * (1 if self.train else self.feats.shape[1])

    def __getitem__(self, i) -> dict:
        if isinstance(i, tuple):                 # (index, epoch) from the training sampler
            i, epoch = i
            if self.train and epoch != self.epoch:
                self.set_epoch(epoch)
        V = self.feats.shape[1]
        clip, view = (i, int(self.views[i])) if self.train else divmod(i, V)
        return {"features": self.feats[clip, view].float(), "label": int(self.labels[clip]),
                "clip_id": self.clip_ids[clip], "frame_index": self.idx[clip, view],
                "view": view}


# ----------------------------------------------------------------------------- a run's cache

def cache_autocast(tc, dev):
    """How the frozen image tower encodes the cache: bf16 where it has matrix units for it, else fp32."""
    return autocast_factory(dev, resolve_precision("auto" if tc.cache_precision == "auto" else "fp32", dev))


def cache_precision(tc, dev) -> str:
    dtype = resolve_precision("auto" if tc.cache_precision == "auto" else "fp32", dev)
    return str(dtype).replace("torch.", "") if dtype else "fp32"


def open_cache(folder, model, cfg, dev) -> FeatureCache:
    """The shared pool of cached views (seed 0: every run and seed reads the same pool)."""
    return FeatureCache(folder, model, cfg.model.frames, model.backbone.image_size, seed=0,
                        augment=cfg.train.augment, precision=cache_precision(cfg.train, dev))


def wants_cache(model, tc) -> bool:
    if tc.feature_cache == "on" and not model.backbone.frozen:
        raise ValueError("feature_cache=on needs a frozen image tower (finetune=frozen)")
    return model.backbone.frozen and tc.feature_cache in ("auto", "on")
