"""Reading run folders back: parameters, history, metrics, predictions, per-frame relevance, frames.

In: a run folder written by `train`. Out: a `FinishedRun` whose fields are the files' contents, plus the
frames a prediction was made on (read again from the dataset the run names).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import runfolder as rf


@dataclass
class FinishedRun:
    path: Path
    params: dict
    metrics: dict
    history: pd.DataFrame
    predictions: pd.DataFrame
    relevance: dict            # arrays of relevance.npz: clip_ids, labels, relevance [N, T, C], frame_index [N, T], ...

    @property
    def class_names(self) -> list[str]:
        return list(self.metrics["last"]["recall"])

    def clip_index(self, clip_id: str) -> int:
        return int(np.flatnonzero(self.relevance["clip_ids"] == clip_id)[0])

    def frames(self, clip_id: str) -> np.ndarray:
        """The sampled frames [T, H, W, 3] of a test clip, read again from the run's dataset."""
        from ..data.decode import ClipReader
        from ..data.layouts import load_split

        p = self.params
        table = load_split(p["dataset"], p["root"], p["fold"], "test", media=p["media"], label_base=p["label_base"])
        row = table[table.clip_id == clip_id].iloc[0]
        return ClipReader(row.path).read(self.relevance["frame_index"][self.clip_index(clip_id)])

    def truth(self, clip_id: str) -> np.ndarray | None:
        """Ground-truth intensity at the sampled frames (generated benchmark only)."""
        from ..data.ground_truth import intensity

        full = intensity(self.params["root"], clip_id)
        if full is None:
            return None
        return full[np.minimum(self.relevance["frame_index"][self.clip_index(clip_id)], len(full) - 1)]


def load_run(path: str | Path) -> FinishedRun:
    path = Path(path)
    if not (path / rf.METRICS).is_file():
        raise FileNotFoundError(f"{path} holds no finished run (no {rf.METRICS}); train it first")
    rel = dict(np.load(path / rf.RELEVANCE, allow_pickle=False))
    return FinishedRun(path, json.loads((path / rf.PARAMS).read_text()), json.loads((path / rf.METRICS).read_text()),
                       pd.read_csv(path / rf.HISTORY), pd.read_csv(path / rf.PREDICTIONS, dtype={"clip_id": str}), rel)


find_runs = rf.find_runs
