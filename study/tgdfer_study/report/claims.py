"""The paper's claims against the records, decided by the committed analysis plan (`paper/analysis_plan.json`).

In: the records (`results/records.csv`) and the plan (`plan.py`). Out: a markdown table (`paper/tables/claims.md`, and
the README's claims block): one row a primary comparison, with its paired difference and unadjusted 95% interval, the
90% interval of the equivalence test, Holm's adjusted p over every primary comparison of every claim, the minimum
detectable effect, the comparison's verdict (`decide.py`), and the claim's verdict (the plan's 'all' rule). Only the
plan's primary metric of a claim votes; a comparison whose run or reference scores below its random floor on that
metric is not counted.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tgdfer.report import stats
from .decide import decide, holm, p_value
from .plan import PLAN, RUN_NAMES, AnalysisPlan, load_plan

METRIC_NAMES = {"uar": "UAR", "war": "WAR", "war_dfew": "WAR (DFEW freq.)", "frame_auc_score": "frame AUC (score)",
                "frame_auc_contrastive": "frame AUC (contrastive)"}
BELOW = "below its floor: not counted"


def floor_of(metric: str, n_classes: int = 7) -> float:
    """The random floor of a metric: chance UAR 1/C; random frame scores 0.5."""
    return 1 / n_classes if metric in ("uar", "war", "war_dfew") else 0.5


def _values(rec, name, metric, ds):
    return stats.run_values(rec, name, metric, ds).dropna()


def comparisons(rec: pd.DataFrame, plan: AnalysisPlan, dataset: str = "synth") -> list[dict]:
    """Every primary comparison of the plan: its Estimate, p, and whether a side sits below its floor."""
    out = []
    for claim, comp in plan.primary:
        run, ref = _values(rec, comp.run, claim.metric, dataset), _values(rec, comp.reference, claim.metric, dataset)
        row = {"claim": claim, "comp": comp, "e": stats.NONE, "p": float("nan"), "below": False}
        if not run.empty and not ref.empty:
            e = stats.paired(run, ref)
            f = floor_of(claim.metric)
            below = [RUN_NAMES.get(n, n) for n, v in ((comp.run, run), (comp.reference, ref)) if v.value.mean() < f]
            # every comparison with an interval over folds counts in Holm's family, a below-floor one included (only its
            # verdict is withheld); one without (a single fold) or not run counts with p = 1
            row.update(e=e, p=p_value(e) if e.unit == "folds" else 1.0, below=", ".join(below))
        else:
            row["p"] = 1.0
        out.append(row)
    return out


def claim_verdict(words: list[str]) -> str:
    """The plan's 'all' rule over a claim's comparison verdicts."""
    if "contradicts" in words:
        return "**contradicts**"
    if not words or "not run" in words:
        return "not run"
    if "no effect larger than the margin" in words:
        return "no effect larger than the margin"
    if all(w == "supports" for w in words):
        return "**supports**"
    return "cannot tell"


def claims_table(rec: pd.DataFrame, dataset: str = "synth", plan: AnalysisPlan | None = None) -> pd.DataFrame:
    """One row a primary comparison (module docstring); the claim's verdict on its first row."""
    plan = plan or load_plan()
    rows = comparisons(rec, plan, dataset)
    adjusted = holm([r["p"] for r in rows])
    m = len(rows)                                          # the plan's family: every primary comparison
    out, words, current = [], {}, None
    for r, p_adj in zip(rows, adjusted):
        c, k, e = r["claim"], r["comp"], r["e"]
        if e.unit == "none":
            word, d, p_adj = "not run", None, float("nan")
        else:
            d = decide(e, c.direction, p_adj, plan.margin, plan.alpha, comparisons=m)
            word = "cannot tell" if r["below"] else d.verdict
        words.setdefault(c.id, []).append(word)
        fmt = (lambda x: "-" if x is None or np.isnan(x) else f"{100 * x:+.1f}")
        out.append({"claim of the paper": c.claim if c is not current else "",
                    "metric": METRIC_NAMES[c.metric] if c is not current else "",
                    "comparison (Δ = run minus reference)": f"{RUN_NAMES.get(k.run, k.run)} vs {RUN_NAMES.get(k.reference, k.reference)}",
                    "Δ [95% CI, unadjusted]": stats.pct(e, sign=True),
                    "90% CI (equivalence)": "-" if d is None or np.isnan(d.equivalence[0]) else
                    f"[{fmt(d.equivalence[0])}, {fmt(d.equivalence[1])}]",
                    "p (Holm)": "-" if np.isnan(p_adj) else f"{p_adj:.3g}",
                    "MDE (80%)": "-" if d is None else fmt(d.mde).lstrip("+"),
                    "comparison verdict": f"{word} ({BELOW}: {r['below']})" if r["below"] else word,
                    "_claim": c.id})
        current = c
    for row in out:
        row["claim verdict"] = claim_verdict(words[row["_claim"]]) if row["claim of the paper"] else ""
    return pd.DataFrame(out).drop(columns="_claim")


def rule(plan: AnalysisPlan | None = None, path: str = PLAN, draw: str = "evaluation",
         records: str = "results/records.csv", printed: str = "the README", folds: int = 5) -> str:
    plan = plan or load_plan()
    n = len(plan.primary)
    return (f"Decided by the analysis plan committed before the {draw} draw was run (`{path}`, "
            f"printed in {printed}): one primary metric a claim; Δ = the comparison run minus its reference on the "
            f"same fold and seed, 95% interval over the {folds} independent fold means, unadjusted; p: the paired t-test of 0, "
            f"Holm-adjusted over the {n} primary comparisons of all claims; 'supports' / 'contradicts': adjusted p < "
            f"{plan.alpha:g} in / against the direction the paper predicts; 'no effect larger than the margin': the 90% "
            f"interval (two one-sided tests) inside ±{100 * plan.margin:g} points; 'cannot tell' otherwise, with the "
            f"minimum detectable effect (80% power of the two-sided t-test at {plan.alpha:g}/{n}, noncentral t, at the "
            "comparison's standard error); a comparison with a side below its random floor on the metric keeps its "
            "place in Holm's family but is not counted (a comparison not run enters it with p = 1). The standard "
            "error is the interval's: the fold means' variance floored at the seed noise. A claim is supported only where all its comparisons support it. "
            "Secondary metrics and comparisons are in the other tables and do not vote. Generated by "
            f"`python -m tgdfer paper` from {records} (`tgdfer/report/claims.py`).")


__all__ = ["claims_table", "comparisons", "claim_verdict", "floor_of", "rule", "RUN_NAMES", "METRIC_NAMES"]
