"""The paper's claims against the records: each claim, its paired comparisons, and a verdict from the intervals.

In: the records (`results/records.csv`). Out: a markdown table (`paper/tables/claims.md`, and the README's
claims block). Why generated: a verdict written by hand goes stale with every regeneration; here it is a
rule applied to the 95% intervals of the paired differences (`stats.paired`: the comparison run minus
TG-DFER on the same fold and seed, clustered by fold), so a reader can check it against the tables.

Each claim predicts the sign of its comparisons: removing what the paper adds (a run of the ablation or
baseline) should *lower* the score, so the paper predicts Δ < 0. A comparison supports the claim where its
interval lies below 0, contradicts it where above 0, and cannot tell where it holds 0. No correction for
multiple comparisons is made, so the verdict counts comparisons instead of merging them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import stats

REF = "tgdfer"
METRIC_NAMES = {"uar": "UAR", "war": "WAR", "frame_auc_score": "frame AUC", "frame_auc_contrastive": "contrastive frame AUC"}
RUN_NAMES = {"tgdfer+text=none": "no text", "tgdfer+text=classname": "class names only",
             "tgdfer+text=learnable": "learnable context only", "tgdfer+text=descriptions": "descriptions without learnable context",
             "tgdfer+visual_prompt=false": "no visual prompt", "tgdfer+temporal=none": "no temporal network",
             "tgdfer+temporal=short": "short-term branch only", "tgdfer+temporal=long": "long-range branch only",
             "position-prior": "position prior", "random-scores": "random scores"}

# (claim of the paper, [(comparison run, metric), ...]); the paper predicts every Δ (run minus TG-DFER) < 0.
# Counted: ablations of the claim's own part (text branch, visual prompt, temporal network), not the baselines,
# which change several parts at once (MIL-only also changes the pooling, the visual prompt and mil_lambda);
# for the MIL claim, the floors. Frame claims use both definitions of frame evidence.
WEAKER_TEXT = ("tgdfer+text=none", "tgdfer+text=classname", "tgdfer+text=learnable")
FRAME = ("frame_auc_score", "frame_auc_contrastive")
CLAIMS = [
    ("text guidance (descriptions of facial cues with learnable context) improves recognition",
     [(r, m) for r in WEAKER_TEXT for m in ("uar", "war")]),
    ("text guidance (descriptions of facial cues with learnable context) improves frame-level relevance",
     [(r, m) for r in WEAKER_TEXT for m in FRAME]),
    ("learnable text prompts add to the descriptions",
     [("tgdfer+text=descriptions", m) for m in ("uar", "war") + FRAME]),
    ("the visual prompt (cross-modal alignment) improves recognition",
     [("tgdfer+visual_prompt=false", m) for m in ("uar", "war")]),
    ("the visual prompt (cross-modal alignment) improves frame-level relevance",
     [("tgdfer+visual_prompt=false", m) for m in FRAME]),
    ("multi-grained temporal modelling improves recognition",
     [(f"tgdfer+temporal={t}", m) for t in ("none", "short", "long") for m in ("uar", "war")]),
    ("MIL from clip labels only gives frame-level relevance beyond where expressions tend to be",
     [(f, m) for m in FRAME for f in ("position-prior", "random-scores")]),
]


def outcome(e: stats.Estimate) -> str:
    """'supports' (interval below 0), 'contradicts' (above 0), 'cannot tell' (holds 0 or no interval)."""
    if np.isnan(e.lo):
        return "cannot tell"
    return "supports" if e.hi < 0 else "contradicts" if e.lo > 0 else "cannot tell"


def verdict(outcomes: list[str]) -> str:
    n, s, c = len(outcomes), outcomes.count("supports"), outcomes.count("contradicts")
    if n == 0:
        return "not run"
    if s and c:
        return f"mixed ({s} support, {c} contradict, of {n})"
    for k, word in ((s, "supports"), (c, "contradicts")):
        if k:                                   # a minority of deciding comparisons is weak evidence
            return f"**{word}** ({k} of {n} comparisons)" if 2 * k >= n else f"weakly {word} ({k} of {n} comparisons)"
    return f"cannot tell (0 of {n} comparisons decide)"


def claims_table(rec: pd.DataFrame, dataset: str = "synth") -> pd.DataFrame:
    """One row a claim: its comparisons (Δ [95% CI], the outcome's mark) and the verdict."""
    rows = []
    for claim, comparisons in CLAIMS:
        parts, outcomes = [], []
        for run, metric in comparisons:
            key = stats.war_key(rec, dataset) if metric == "war" else metric      # balanced tests: WAR under DFEW's
            ref, other = (stats.run_values(rec, r, key, dataset).dropna() for r in (REF, run))
            if ref.empty or other.empty:
                parts.append(f"{RUN_NAMES[run]} Δ {METRIC_NAMES[metric]}: not run")
                continue
            e = stats.paired(other, ref)
            outcomes.append(outcome(e))
            mark = {"supports": " (supports)", "contradicts": " (contradicts)"}.get(outcomes[-1], "")
            parts.append(f"{RUN_NAMES[run]} Δ {METRIC_NAMES[metric]} {stats.pct(e, sign=True)}{mark}")
        rows.append({"claim of the paper": claim, "comparisons (Δ: the comparison minus TG-DFER, 95% CI)": "; ".join(parts),
                     "verdict on this benchmark": verdict(outcomes)})
    return pd.DataFrame(rows)


RULE = ("Each comparison is a paired difference (the ablation run minus TG-DFER on the same fold and seed; "
        "95% CI over folds, as in the tables); the paper predicts it below 0. Counted are the ablations of the "
        "claim's own part (text branch, visual prompt, temporal network), not the baselines, which change several "
        "parts at once; for the MIL claim, the floors (they have no class scores: one ranking meets both "
        "definitions, so its 4 comparisons are 2 floors); comparisons not run are left out of the count. A "
        "comparison supports the claim where its interval lies below 0, contradicts it where it lies above 0, and "
        "cannot tell otherwise; the verdict counts them: 'supports' (or 'contradicts') where at least half decide "
        "that way and none the other, 'weakly' where fewer than half do, 'mixed' where both occur (no correction "
        "for multiple comparisons). Generated by `python -m tgdfer paper` from results/records.csv "
        "(`tgdfer/report/claims.py`).")

__all__ = ["CLAIMS", "claims_table", "outcome", "verdict", "RULE"]
