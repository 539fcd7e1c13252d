"""Metrics, all from scikit-learn: UAR, WAR, per-class recall, confusion matrix, frame localisation.

In: true and predicted labels (clips), or per-frame relevance and ground truth (frames).
Out: plain dicts / arrays. UAR = mean per-class recall over the classes present in the test set
(balanced accuracy); WAR = accuracy. Localisation (generated benchmark only): ROC-AUC of the
true class's relevance against the ground-truth expressive frames, per clip then averaged, and the
share of the k most relevant frames that are truly expressive, beside its chance level.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, recall_score, roc_auc_score


def clip_metrics(y_true, y_pred, n_classes: int) -> dict:
    """{'uar', 'war', 'recall' [C] (nan for classes absent from y_true), 'confusion' [C, C], 'n'}."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = list(range(n_classes))
    present = np.isin(labels, y_true)
    rec = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0.0).astype(float)
    rec[~present] = np.nan
    with warnings.catch_warnings():          # a prediction of a class absent from y_true is legitimate
        warnings.simplefilter("ignore", UserWarning)
        uar = float(balanced_accuracy_score(y_true, y_pred)) if len(y_true) else float("nan")
    return {
        "uar": uar,
        "war": float(accuracy_score(y_true, y_pred)) if len(y_true) else float("nan"),
        "recall": rec,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels),
        "n": int(len(y_true)),
    }


def clip_aucs(scored: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """ROC-AUC of each clip's (scores [T], truth [T] with both classes), in order. Clips of one length go to
    scikit-learn in one call (each clip a column of a multilabel problem, average=None): the same per-column
    computation as one call a clip, about twice as fast."""
    if len(scored) > 1 and len({len(r) for r, _ in scored}) == 1:
        truth = np.stack([e for _, e in scored], axis=1).astype(int)                  # [T, N]
        return np.asarray(roc_auc_score(truth, np.stack([r for r, _ in scored], axis=1), average=None), float)
    return np.array([roc_auc_score(e, r) for r, e in scored], float)


def localisation(relevance: list[np.ndarray], expressive: list[np.ndarray], k: int = 4) -> dict:
    """Frame localisation over clips.

    relevance: per clip [T] relevance of the clip's true class at the sampled frames;
    expressive: per clip [T] bool, the ground truth at the same frames.
    Clips whose sampled frames are all expressive or all not (AUC undefined) count only in top-k.
    """
    scored, hits, chance = [], [], []
    for r, e in zip(relevance, expressive):
        r, e = np.asarray(r, float), np.asarray(e, bool)
        if not e.any():
            continue
        if not e.all():
            scored.append((r, e))
        kk = min(k, len(r))
        top = np.argsort(-r, kind="stable")[:kk]
        hits.append(e[top].mean())
        chance.append(e.mean())
    aucs = clip_aucs(scored)
    return {
        "loc_auc": float(np.mean(aucs)) if len(aucs) else float("nan"),
        "loc_topk_precision": float(np.mean(hits)) if hits else float("nan"),
        "loc_topk_chance": float(np.mean(chance)) if chance else float("nan"),
        "loc_clips": len(aucs),
        "loc_k": k,
    }
