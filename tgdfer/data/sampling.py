"""Which frames of a clip the model sees: T equal segments, one frame from each.

In: a clip length n, the number of frames T, the mode. Out: T frame indices (0-based, sorted).
Training draws a random frame in each segment; testing takes segment centres (deterministic:
a stochastic test sampler makes scores vary between runs, pitfall 4 of ../shared/DATA.md);
several test views shift the position inside each segment. Clips shorter than T repeat frames.
"""
from __future__ import annotations

import numpy as np

SHORT_MODES = ("pad-last", "stretch")


def segment_indices(n: int, T: int = 16, train: bool = False, rng: np.random.Generator | None = None,
                    view: int = 0, views: int = 1, short: str = "pad-last") -> np.ndarray:
    """T frame indices into a clip of n frames.

    - n >= T: the clip is cut into T equal segments [lo, hi); training picks a random frame of
      each (needs `rng`), testing the frame at lo + (view + 0.5) / views * (hi - lo) (the centre
      for one view).
    - n < T: `pad-last` takes every frame once, then repeats the last one (never crashes);
      `stretch` spreads the n frames evenly over T slots, repeating each in turn.
    """
    if n < 1:
        raise ValueError(f"a clip needs at least one frame (got {n})")
    if T < 1:
        raise ValueError(f"T must be positive (got {T})")
    if not 0 <= view < views:
        raise ValueError(f"view {view} outside 0..{views - 1}")
    if n < T:
        if short == "pad-last":
            return np.concatenate([np.arange(n), np.full(T - n, n - 1)]).astype(np.int64)
        if short == "stretch":
            return np.floor(np.arange(T) * n / T).astype(np.int64)
        raise ValueError(f"short must be one of {SHORT_MODES}, got {short!r}")
    edges = np.linspace(0, n, T + 1)                  # [T + 1] segment borders
    lo = np.ceil(edges[:-1] - 1e-9).astype(np.int64)
    hi = np.maximum(np.ceil(edges[1:] - 1e-9).astype(np.int64), lo + 1)
    if train:
        if rng is None:
            raise ValueError("training sampling needs a random generator")
        return rng.integers(lo, hi)                   # high is exclusive
    pos = lo + np.floor((view + 0.5) / views * (hi - lo)).astype(np.int64)
    return np.minimum(pos, hi - 1)
