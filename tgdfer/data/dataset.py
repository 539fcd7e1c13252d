"""The torch Dataset of clips: one item = T sampled, transformed frames of one clip (one view).

In: a clip table from `layouts.load_split`. Out per item, a dict: `video` float [T, 3, S, S] (with `raw=True`:
uint8 [T, 3, S, S] and `jitter` float64 [2], normalised where the model runs by `ds.normalize`, which the engine
does on the GPU), `label` (int), `clip_id` (str), `frame_index` long [T] (0-based indices of the sampled frames),
`view` (int: which test view). An index may be `(i, epoch)`: a training sampler that names the epoch reaches
DataLoader workers that persist across epochs. Randomness is a pure function of (seed, epoch, clip id), so runs are
reproducible with any number of DataLoader workers, a resumed run sees the same samples, a clip gets
the same samples whichever fold lists it, and nothing depends on where the dataset lives on disk.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from .decode import ClipReader
from .sampling import segment_indices
from .transforms import CLIP_MEAN, CLIP_STD, ClipTransform


class ClipDataset(Dataset):
    """Clips of a table; at test time `views` temporal x `crops` spatial views per clip."""

    def __init__(self, table: pd.DataFrame, num_frames: int = 16, size: int = 224, train: bool = False,
                 mean=CLIP_MEAN, std=CLIP_STD, augment: bool = True, *, views: int = 1, crops: int = 1,
                 short: str = "pad-last", seed: int = 0, raw: bool = False):
        self.table = table.reset_index(drop=True)
        self.T, self.train, self.seed, self.epoch = num_frames, train, seed, 0
        self.views, self.crops = (1, 1) if train else (views, crops)
        self.short = short
        self.transform = ClipTransform(size, train, mean, std, augment, crops=self.crops)
        self.normalize = self.transform.normalize          # uint8 [B, T, 3, S, S] + jitter [B, 2] -> float
        self.size, self.raw = size, raw

    def set_epoch(self, epoch: int) -> None:
        """Training samples differ per epoch; call before each epoch (the trainer does)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.table) * self.views * self.crops

    def __getitem__(self, i) -> dict:
        i, epoch = i if isinstance(i, tuple) else (i, self.epoch)
        clip, rest = divmod(int(i), self.views * self.crops)
        view, crop = divmod(rest, self.crops)
        row = self.table.iloc[clip]
        reader = ClipReader(row["path"], draft_size=self.size)
        rng = np.random.default_rng([self.seed, int(epoch), zlib.crc32(str(row["clip_id"]).encode())]) \
            if self.train else None
        idx = segment_indices(reader.num_frames, self.T, train=self.train, rng=rng, view=view, views=self.views,
                              short=self.short)                                  # [T]
        video, jitter = self.transform.geometry(reader.read(idx), rng, crop)    # uint8 [T, 3, S, S], (c, b)
        item = {"label": int(row["label"]), "clip_id": str(row["clip_id"]), "frame_index": torch.from_numpy(idx),
                "view": view * self.crops + crop}
        jitter = torch.tensor(jitter, dtype=torch.float64)                        # [2] contrast, brightness
        if self.raw:
            return {"video": video, "jitter": jitter, **item}
        return {"video": self.normalize(video, jitter), **item}                   # float [T, 3, S, S]


def model_input(batch: dict, key: str, device, normalize=None) -> torch.Tensor:
    """A batch's clips on `device`: uint8 clips (`raw=True`) travel as they are and are normalised there by
    `normalize` (the dataset's); float clips and cached features as they are."""
    x = batch[key].to(device, non_blocking=True)
    if x.dtype == torch.uint8:
        x = normalize(x, batch["jitter"])                                    # [B, T, 3, S, S] float
    return x
