"""Frame transforms: uint8 frames [T, H, W, 3] -> normalised float [T, 3, S, S], in two halves.

One set of random parameters per clip (every frame gets the same crop, flip and jitter).
`ClipTransform.geometry` (in the DataLoader's workers, on uint8): training takes a random resized crop and a
horizontal flip and draws a brightness/contrast jitter (as DFER-CLIP); testing resizes the short side, then takes
a centre crop or one of the fixed crops of a multi-crop view. `Normalize` (where the model runs: on the GPU, so
clips travel there as uint8, a quarter of the bytes) applies the jitter and CLIP's mean and std (DFER-CLIP skipped
this). `ClipTransform(...)` does both in one call; both paths compute the same float32 values to the bit.
"""
from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
NO_JITTER = (1.0, 0.0)                  # (contrast, brightness) of a clip without jitter


class Normalize:
    """uint8 [..., 3, S, S] (+ per-clip jitter (contrast, brightness) [..., 2]) -> normalised float32, on x's device:
    x * contrast / 255 + brightness, clamped to [0, 1], then (x - mean) / std; without jitter x / 255 straight to
    (x - mean) / std. In-place arithmetic, no temporaries."""

    def __init__(self, mean=CLIP_MEAN, std=CLIP_STD):
        self.inv_std = 1.0 / torch.tensor(std).view(1, 3, 1, 1)                       # (x - mean) / std
        self.shift = -torch.tensor(mean).view(1, 3, 1, 1) * self.inv_std              #  = x * inv_std + shift

    def __call__(self, x: torch.Tensor, jitter: torch.Tensor | None = None) -> torch.Tensor:
        inv_std, shift = self.inv_std.to(x.device), self.shift.to(x.device)
        jitter = None if jitter is None else torch.as_tensor(jitter, dtype=torch.float64)
        on = None if jitter is None else (jitter[..., 0] != 1.0) | (jitter[..., 1] != 0.0)     # [...] clips jittered
        if on is None or not bool(on.any()):
            return x.float().mul_(inv_std / 255.0).add_(shift)                        # [..., T, 3, S, S]
        lead = tuple(jitter.shape[:-1]) + (1,) * (x.dim() - jitter.dim() + 1)         # one value a clip
        contrast = (jitter[..., 0] / 255.0).float().to(x.device).reshape(lead)
        brightness = jitter[..., 1].float().to(x.device).reshape(lead)
        y = x.float().mul_(contrast).add_(brightness).clamp_(0.0, 1.0).mul_(inv_std).add_(shift)
        if bool(on.all()):
            return y
        plain = x.float().mul_(inv_std / 255.0).add_(shift)
        return torch.where(on.to(x.device).reshape(lead), y, plain)


class ClipTransform:
    """Callable: (frames uint8 [T, H, W, 3], generator, crop) -> float [T, 3, size, size]; `geometry` is its first
    half (uint8 [T, 3, size, size] and the clip's jitter), `normalize` its second."""

    def __init__(self, size: int, train: bool, mean=CLIP_MEAN, std=CLIP_STD, augment: bool = True,
                 crops: int = 1):
        if crops not in (1, 2, 3):
            raise ValueError(f"crops must be 1, 2 or 3 (centre; centre + flip; three crops), got {crops}")
        self.size, self.train, self.augment, self.crops = size, train, augment, crops
        self.normalize = Normalize(mean, std)

    def geometry(self, frames: np.ndarray, rng: np.random.Generator | None = None,
                 crop: int = 0) -> tuple[torch.Tensor, tuple[float, float]]:
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)    # [T, H, W, 3] -> [T, 3, H, W]
        S = self.size
        jitter = NO_JITTER
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
            jitter = (float(rng.uniform(0.8, 1.2)), float(rng.uniform(-0.08, 0.08)))  # (contrast, brightness)
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
        return x.contiguous(), jitter                                                # uint8 [T, 3, S, S]

    def __call__(self, frames: np.ndarray, rng: np.random.Generator | None = None, crop: int = 0) -> torch.Tensor:
        x, jitter = self.geometry(frames, rng, crop)
        return self.normalize(x, torch.tensor(jitter, dtype=torch.float64))         # [T, 3, S, S]


def denormalize(x: torch.Tensor, mean=CLIP_MEAN, std=CLIP_STD) -> torch.Tensor:
    """Inverse of the normalisation, for showing frames: [..., 3, H, W] -> values in [0, 1]."""
    m = torch.tensor(mean, dtype=x.dtype).view(3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(3, 1, 1)
    return (x * s + m).clamp(0, 1)


__all__ = ["ClipTransform", "Normalize", "denormalize", "CLIP_MEAN", "CLIP_STD"]
