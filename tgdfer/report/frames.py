"""Frame evidence: how well a run's per-frame class scores find the expressive frames, beside two floors.

In: a run (relevance.npz, params.json) and the generated benchmark's ground truth. Out: per-clip scores
(ROC-AUC against the expressive sampled frames, top-1 hit = pointing game, top-4 precision and its
chance) and their run-level summary, for two definitions of frame evidence: `score` = S[:, y], the
labelled class's per-frame score, and `contrastive` = S[:, y] - mean over c != y of S[:, c]. S is
`instance_scores` [N, T, C]; runs written before it was stored give log(relevance), which ranks the
frames of a clip identically under both definitions. Floors: a position prior from the training split
of the fold, random scores (seeded by fold and run seed), and a class-agnostic change detector (each frame's
cosine distance from the clip's first sampled frame in the frozen backbone's features, no training; stored by
runs as `frame_change`), on the same test clips.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.ground_truth import expressive_by_clip
from ..data.layouts import load_split
from ..data.sampling import segment_indices
from ..metrics import auc_rows


DEFINITIONS = ("score", "contrastive")
K = 4
PRIOR, RANDOM, CHANGE = "position-prior", "random-scores", "change-detector"
FLOOR_NAMES = {PRIOR: "position prior (training split)", RANDOM: "random scores",
               CHANGE: "change detector (distance from the first frame, no training)"}
RANDOM_SALT = 20251111


def has_frame_evidence(params: dict) -> bool:
    """True when the clip prediction or the loss uses the per-frame class scores S.

    Decided by the run's resolved config: `model.mil_lambda > 0` (the clip logit mixes in the MIL
    pooling of S) or `loss.w_inst > 0` (the top-k instance loss trains S).
    """
    cfg = params.get("config", {})
    return float(cfg.get("model", {}).get("mil_lambda", 0)) > 0 or float(cfg.get("loss", {}).get("w_inst", 0)) > 0


def frame_evidence(rel: dict, definition: str) -> np.ndarray:
    """[N, T] frame evidence of each test clip's labelled class (`definition`: score | contrastive)."""
    if "instance_scores" in rel:
        S = np.asarray(rel["instance_scores"], float)                          # [N, T, C]
    else:
        S = np.log(np.maximum(np.asarray(rel["relevance"], float), 1e-30))    # same frame ranking per class
    y = np.asarray(rel["labels"], int)
    own = S[np.arange(len(y)), :, y]                                           # [N, T, C] -> [N, T]
    if definition == "score":
        return own
    if definition == "contrastive":
        return own - (S.sum(-1) - own) / (S.shape[-1] - 1)                    # minus the other classes' mean
    raise ValueError(f"unknown frame-evidence definition {definition!r}; choose one of {DEFINITIONS}")


def sampled_truth(root, clip_ids, frame_index) -> np.ndarray | None:
    """[N, T] bool: is each sampled frame expressive (None when `root` has no ground truth)."""
    by_clip = expressive_by_clip(root)
    if by_clip is None:
        return None
    rows = []
    for cid, idx in zip(clip_ids, np.asarray(frame_index)):
        truth = by_clip.get(str(cid))
        if truth is None:
            return None
        rows.append(truth[np.minimum(idx, len(truth) - 1)])
    return np.stack(rows) if rows else None


def topk_rows(scores: np.ndarray, truth: np.ndarray, k: int) -> np.ndarray:
    """[N] share of expressive frames among the k highest scores of each row, ties broken at random
    (their expected value); nan for rows with no expressive frame. k = 1 is the pointing game."""
    k = min(k, scores.shape[1])
    kth = -np.sort(-scores, axis=1)[:, k - 1:k]                                # [N, 1] k-th highest score
    above, tied = scores > kth, scores == kth
    hits = (truth & above).sum(1) + (k - above.sum(1)) * (truth & tied).sum(1) / tied.sum(1)
    return np.where(truth.any(1), hits / k, np.nan)


def clip_scores(scores: np.ndarray, truth: np.ndarray, k: int = K) -> pd.DataFrame:
    """Per clip: auc, pointing, top-k precision and its chance (share of expressive sampled frames)."""
    truth = np.asarray(truth, bool)
    return pd.DataFrame({"auc": auc_rows(scores, truth), "pointing": topk_rows(scores, truth, 1),
                         f"top{k}": topk_rows(scores, truth, k),
                         f"top{k}_chance": np.where(truth.any(1), truth.mean(1), np.nan)})


def summary(clips: pd.DataFrame, k: int = K) -> dict:
    """Run-level frame metrics from the per-clip table of `run_clips` (names as in records.csv)."""
    out = {}
    for d in DEFINITIONS:
        auc = clips[f"auc_{d}"].dropna()
        out.update({f"frame_auc_{d}": auc.mean(), f"frame_auc_below_half_{d}": (auc < 0.5).mean(),
                    f"frame_pointing_{d}": clips[f"pointing_{d}"].mean(), f"frame_top{k}_{d}": clips[f"top{k}_{d}"].mean()})
    out.update({f"frame_top{k}_chance": clips[f"top{k}_chance"].mean(), "frame_clips_auc": clips["auc_score"].notna().sum(),
                "frame_clips": float(clips[f"top{k}_chance"].notna().sum())})
    return {m: float(v) for m, v in out.items()}


def _table(clip_ids, per_definition: dict[str, pd.DataFrame], k: int = K) -> pd.DataFrame:
    out = pd.DataFrame({"clip_id": [str(c) for c in clip_ids]})
    for d, sc in per_definition.items():
        out[f"auc_{d}"], out[f"pointing_{d}"], out[f"top{k}_{d}"] = sc["auc"], sc["pointing"], sc[f"top{k}"]
    out[f"top{k}_chance"] = next(iter(per_definition.values()))[f"top{k}_chance"].to_numpy()
    return out


def run_clips(rel: dict, truth: np.ndarray, k: int = K) -> pd.DataFrame:
    """Per-clip frame scores of a run under both definitions (columns auc_score, pointing_score, ...)."""
    return _table(rel["clip_ids"], {d: clip_scores(frame_evidence(rel, d), truth, k) for d in DEFINITIONS}, k)


def position_prior(params: dict, T: int) -> np.ndarray | None:
    """[T]: how often sampled position t (segment centres, as at test time) is expressive over the
    training clips of the run's fold; None when the dataset has no frame-level ground truth."""
    p = params
    table = load_split(p["dataset"], p["root"], p["fold"], "train", media=p.get("media", "frames"),
                       label_base=p.get("label_base", 1))
    by_clip = expressive_by_clip(p["root"])
    if by_clip is None:
        return None
    hits = []
    for cid in table.clip_id:
        truth = by_clip.get(str(cid))                   # [L]: one entry per frame of the clip
        if truth is None:
            return None
        hits.append(truth[segment_indices(len(truth), T, train=False)])
    return np.mean(hits, axis=0) if hits else None


def floor_clips(params: dict, rel: dict, truth: np.ndarray, seed: int, k: int = K) -> dict[str, pd.DataFrame]:
    """Per-clip scores of the floors on a run's test clips. A floor ranks frames without class scores,
    so the same ranking is scored under both definitions."""
    N, T = truth.shape
    rng = np.random.default_rng([RANDOM_SALT, int(params["fold"]), int(seed)])
    scores = {RANDOM: rng.random((N, T))}
    prior = position_prior(params, T)
    if prior is not None:
        scores[PRIOR] = np.broadcast_to(prior, (N, T))
    if "frame_change" in rel:
        scores[CHANGE] = np.asarray(rel["frame_change"], float)
    return {name: _table(rel["clip_ids"], {d: clip_scores(s, truth, k) for d in DEFINITIONS}, k)
            for name, s in scores.items()}


__all__ = ["has_frame_evidence", "frame_evidence", "sampled_truth", "auc_rows", "topk_rows", "clip_scores",
           "summary", "run_clips", "position_prior", "floor_clips", "DEFINITIONS", "PRIOR", "RANDOM", "CHANGE", "FLOOR_NAMES"]
