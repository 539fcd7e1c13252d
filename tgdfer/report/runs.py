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
from ..data.decode import ClipReader
from ..data.ground_truth import intensity
from ..data.layouts import load_split
from ..runspec import RunSpec
from .figures import frame_strip


@dataclass
class FinishedRun:
    path: Path
    params: dict
    metrics: dict
    history: pd.DataFrame
    predictions: pd.DataFrame
    relevance: dict            # arrays of relevance.npz: clip_ids, labels, relevance [N, T, C], frame_index [N, T], ...

    @property
    def spec(self) -> RunSpec:
        """The run's parameters as `train` received them (from params.json)."""
        return RunSpec.from_params(self.params)

    @property
    def class_names(self) -> list[str]:
        return list(self.metrics["last"]["recall"])

    def clip_index(self, clip_id: str) -> int:
        return int(np.flatnonzero(self.relevance["clip_ids"] == clip_id)[0])

    def frames(self, clip_id: str) -> np.ndarray:
        """The sampled frames [T, H, W, 3] of a test clip, read again from the run's dataset."""

        s = self.spec
        table = load_split(s.dataset, s.root, s.fold, "test", media=s.media, label_base=s.label_base)
        row = table[table.clip_id == clip_id].iloc[0]
        return ClipReader(row.path).read(self.relevance["frame_index"][self.clip_index(clip_id)])

    def truth(self, clip_id: str) -> np.ndarray | None:
        """Ground-truth intensity at the sampled frames (generated benchmark only)."""

        full = intensity(self.spec.root, clip_id)
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


def score_table(metrics: dict) -> pd.DataFrame:
    """Last and best epoch of a run's metrics.json: UAR, WAR, per-class recall and (generated benchmark) the frame
    scores, one row an epoch, as fractions."""
    rows = {}
    for k in ("last", "best"):
        e = metrics[k]
        name = f"{k} epoch ({metrics['best_epoch'] if k == 'best' else metrics['epochs']})"
        rows[name] = {"UAR": e["uar"], "WAR": e["war"], **dict(e["recall"]),
                      **({"frame AUC": e["loc_auc"], "top-4 precision": e["loc_topk_precision"],
                          "top-4 chance": e["loc_topk_chance"]} if "loc_auc" in e else {})}
    return pd.DataFrame(rows).T


def example_clips(run: FinishedRun, n: int) -> list[str]:
    """Test clips to show: about half predicted right, half wrong, in the order of predictions.csv."""
    pred = run.predictions
    right, wrong = pred[pred.label == pred.pred], pred[pred.label != pred.pred]
    return list(right.clip_id[: max(1, n - n // 2)]) + list(wrong.clip_id[: n // 2])


def relevance_strips(run: FinishedRun, n: int):
    """One figure a chosen test clip (`example_clips`): its frames, their relevance and the ground truth."""
    m, names = run.metrics, run.class_names
    for cid in example_clips(run, n):
        i = run.clip_index(cid)
        lab, prd = int(run.relevance["labels"][i]), int(run.relevance["probs"][i].argmax())
        yield frame_strip(run.frames(cid), run.relevance["relevance"][i], names, label=lab, pred=prd,
                          truth=run.truth(cid), frame_index=run.relevance["frame_index"][i],
                          title=f"{m['dataset']} clip {cid}: true {names[lab]}, predicted {names[prd]}")
