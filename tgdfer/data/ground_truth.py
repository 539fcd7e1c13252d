"""Reading the generated benchmark's frame-level ground truth (`ground_truth/{clips,frames}.csv`)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd


def is_generated(root) -> bool:
    m = Path(root) / "manifest.json"
    if not m.is_file():
        return False
    try:
        return json.loads(m.read_text()).get("generator") == "tgdfer.synth"
    except (OSError, ValueError):
        return False


def dataset_label(dataset: str, root) -> str:
    """'synth' for the generated benchmark (it is never presented as DFEW), else the dataset name."""
    return "synth" if root and is_generated(root) else dataset.lower()


@lru_cache(maxsize=8)
def _load(root: str):
    gt = Path(root) / "ground_truth"
    clips = pd.read_csv(gt / "clips.csv")
    clips["clip_id"] = clips["video_name"].map(lambda v: f"{int(v):05d}")
    frames = pd.read_csv(gt / "frames.csv")
    by_clip = {f"{int(v):05d}": g.sort_values("frame")["expressive"].to_numpy(bool)
               for v, g in frames.groupby("video_name")}
    inten = {f"{int(v):05d}": g.sort_values("frame")["intensity"].to_numpy(float)
             for v, g in frames.groupby("video_name")}
    return clips, by_clip, inten


def clip_table(root) -> pd.DataFrame | None:
    """One row a clip (clip_id, label, identity, timeline...), or None when `root` is not generated."""
    if not root or not is_generated(root):
        return None
    return _load(str(Path(root).resolve()))[0]


def expressive_frames(root, clip_id: str) -> np.ndarray | None:
    """[L] bool: which frames of the clip show its expression (None when unknown)."""
    by_clip = expressive_by_clip(root)
    return None if by_clip is None else by_clip.get(str(clip_id))


def expressive_by_clip(root) -> dict[str, np.ndarray] | None:
    """{clip id: [L] bool} of every clip (None when `root` is not generated): for loops over many clips, which would
    otherwise read the manifest once a clip."""
    if not root or not is_generated(root):
        return None
    return _load(str(Path(root).resolve()))[1]


def intensity(root, clip_id: str) -> np.ndarray | None:
    """[L] float: the expression's intensity per frame (None when unknown)."""
    if not root or not is_generated(root):
        return None
    return _load(str(Path(root).resolve()))[2].get(str(clip_id))
