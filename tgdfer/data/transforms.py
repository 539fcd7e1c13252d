"""Frame transforms: uint8 frames [T, H, W, 3] -> normalised float [T, 3, S, S].

One set of random parameters per clip (every frame gets the same crop, flip and jitter).
Training: random resized crop, horizontal flip, brightness/contrast jitter (as DFER-CLIP).
Testing: resize the short side, then a centre crop, or one of the fixed crops of a multi-crop view.
Normalised with the backbone's mean and std (CLIP's by default; DFER-CLIP skipped this).
"""
from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipTransform:
    """Callable: (frames uint8 [T, H, W, 3], generator, crop) -> float [T, 3, size, size]."""

    def __init__(self, size: int, train: bool, mean=CLIP_MEAN, std=CLIP_STD, augment: bool = True,
                 crops: int = 1):
        if crops not in (1, 2, 3):
            raise ValueError(f"crops must be 1, 2 or 3 (centre; centre + flip; three crops), got {crops}")
        self.size, self.train, self.augment, self.crops = size, train, augment, crops
        self.inv_std = 1.0 / torch.tensor(std).view(1, 3, 1, 1)                       # (x - mean) / std
        self.shift = -torch.tensor(mean).view(1, 3, 1, 1) * self.inv_std              #  = x * inv_std + shift

    def __call__(self, frames: np.ndarray, rng: np.random.Generator | None = None, crop: int = 0) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)    # [T, H, W, 3] -> [T, 3, H, W]
        S = self.size
        contrast, brightness = 1.0, 0.0
        if self.train and self.augment:
            if rng is None:
                raise ValueError("training transform needs a random generator")
            H, W = x.shape[-2:]
            area = H * W * rng.uniform(0.7, 1.0)
            ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
            h = int(min(H, round(np.sqrt(area / ratio))))
            w = int(min(W, round(np.sqrt(area * ratio))))
            top, left = int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1))
            x = F.resized_crop(x, top, left, h, w, [S, S], antialias=True)        # on uint8: the fast kernel
            if rng.random() < 0.5:
                x = F.horizontal_flip(x)
            contrast, brightness = rng.uniform(0.8, 1.2), rng.uniform(-0.08, 0.08)
        elif self.crops == 3:
            x = F.resize(x, [round(S * 1.15)], antialias=True)
            H, W = x.shape[-2:]
            offs = [((H - S) // 2, (W - S) // 2), (0, 0), (H - S, W - S)][crop]
            x = F.crop(x, offs[0], offs[1], S, S)
        else:
            if x.shape[-2:] != (S, S):
                x = F.center_crop(F.resize(x, [S], antialias=True), [S, S])
            if self.crops == 2 and crop == 1:
                x = F.horizontal_flip(x)
        # in-place arithmetic, no temporaries: [0, 255] -> (contrast, brightness, clamp) -> normalised
        if brightness or contrast != 1.0:
            x = x.float().mul_(contrast / 255.0).add_(brightness).clamp_(0.0, 1.0)
            return x.mul_(self.inv_std).add_(self.shift)                              # [T, 3, S, S]
        return x.float().mul_(self.inv_std / 255.0).add_(self.shift)                  # [T, 3, S, S]


def denormalize(x: torch.Tensor, mean=CLIP_MEAN, std=CLIP_STD) -> torch.Tensor:
    """Inverse of the normalisation, for showing frames: [..., 3, H, W] -> values in [0, 1]."""
    m = torch.tensor(mean, dtype=x.dtype).view(3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(3, 1, 1)
    return (x * s + m).clamp(0, 1)


__all__ = ["ClipTransform", "denormalize", "CLIP_MEAN", "CLIP_STD"]
