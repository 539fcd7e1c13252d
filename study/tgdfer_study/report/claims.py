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
from .decide import Decision, decide, equivalence_interval, holm, p_value
from .plan import PLAN, RUN_NAMES, AnalysisPlan, describe, load_plan

METRIC_NAMES = {"uar": "UAR", "war": "WAR", "war_dfew": "WAR (DFEW freq.)", "frame_auc_score": "frame AUC (score)",
                "frame_auc_contrastive": "frame AUC (contrastive)"}
BELOW = "below its floor: not counted"


def floor_of(metric: str, n_classes: int = 7) -> float:
    """The random floor of a metric: chance UAR 1/C; random frame scores 0.5."""
    return 1 / n_classes if metric in ("uar", "war", "war_dfew") else 0.5


def _values(rec, name, metric, ds):
    return stats.run_values(rec, name, metric, ds).dropna()


def combined(rec: pd.DataFrame, comp, metric: str, dataset: str) -> pd.DataFrame:
    """A composite comparison's value a (fold, seed): the weighted sum of its runs' values on that fold and seed
    (only where every run has one)."""
    parts = None
    for name, w in comp.weights:
        v = _values(rec, name, metric, dataset)[["fold", "seed", "value"]].assign(value=lambda d, w=w: w * d["value"])
        parts = v if parts is None else parts.merge(v, on=["fold", "seed"], suffixes=("", "_x")).assign(
            value=lambda d: d["value"] + d["value_x"]).drop(columns="value_x")
    return parts


def estimate(rec: pd.DataFrame, comp, metric: str, dataset: str, seed_floor: bool = True):
    """(Estimate of the comparison, the runs' values by name): paired run - reference, or a composite's sum."""
    values = {n: _values(rec, n, metric, dataset) for n in comp.runs if n}
    if any(v.empty for v in values.values()):
        return stats.NONE, values
    if comp.weights:
        return stats.clustered(combined(rec, comp, metric, dataset), seed_floor=seed_floor), values
    return stats.paired(values[comp.run], values[comp.reference], seed_floor=seed_floor), values


def comparisons(rec: pd.DataFrame, plan: AnalysisPlan, dataset: str = "synth", seed_floor: bool = True) -> list[dict]:
    """Every primary comparison of the plan: its Estimate, p, and whether a side sits below its floor.
    `seed_floor=False`: the plain paired t-test (a sensitivity analysis, not the plan's)."""
    out = []
    for claim, comp in plan.primary:
        e, values = estimate(rec, comp, claim.metric, dataset, seed_floor)
        row = {"claim": claim, "comp": comp, "e": stats.NONE, "p": 1.0, "below": False}
        if e.unit != "none":
            f = floor_of(claim.metric)
            exempt = set(plan.raw.get("floor_exempt", {}).get("runs", []))    # controls the plan expects below it
            below = [RUN_NAMES.get(n, n) for n, v in values.items() if v.value.mean() < f and n not in exempt]
            # every comparison with an interval over folds counts in Holm's family, a below-floor one included (only its
            # verdict is withheld); one without (a single fold) or not run counts with p = 1
            row.update(e=e, p=p_value(e) if e.unit == "folds" else 1.0, below=", ".join(below))
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


def _verdict(e, claim, p_adj, plan: AnalysisPlan, m: int, below, equivalence_level: float | None = None) -> tuple:
    """(word, Decision) of one comparison; direction 0 (no effect predicted): supports where the equivalence interval
    lies inside the margin, contradicts where the difference is significant, cannot tell otherwise; read one-sided
    (`claim.no_gain`): supports where the interval's upper end lies below +margin, contradicts on a significant
    gain."""
    if e.unit == "none":
        return "not run", None
    d = decide(e, claim.direction or 1, p_adj, plan.margin, plan.alpha, comparisons=m)
    if equivalence_level is not None:                  # sensitivity: the equivalence test at Holm's level
        lo, hi = equivalence_interval(e, equivalence_level)
        inside = bool(-plan.margin < lo and hi < plan.margin)
        word = d.verdict if d.verdict in ("supports", "contradicts") else \
            ("no effect larger than the margin" if inside else "cannot tell")
        d = Decision(word, d.p, d.p_adjusted, (lo, hi), d.mde, inside)
    word = d.verdict
    significant = not np.isnan(p_adj) and p_adj < plan.alpha
    if claim.direction == 0 and claim.no_gain:        # one-sided: only a gain contradicts
        word = "contradicts" if significant and e.mean > 0 else \
            ("supports" if d.equivalence[1] < plan.margin else "cannot tell")
    elif claim.direction == 0:
        word = "contradicts" if significant else \
            ("supports" if d.within_margin or word == "no effect larger than the margin" else "cannot tell")
    return ("cannot tell" if below else word), d


def sensitivity(rec: pd.DataFrame, plan: AnalysisPlan, dataset: str = "synth") -> list[str]:
    """A comparison's verdicts under two analyses chosen after the draws were opened (the plan's verdicts stay the
    verdicts): the plain paired t-test (no seed-noise floor on the fold means' variance), and the equivalence test
    at Holm's level (its interval at 1 - 2 alpha / m instead of 90%)."""
    m = len(plan.primary)
    plain = comparisons(rec, plan, dataset, seed_floor=False)
    adj_plain = holm([r["p"] for r in plain])
    rows = comparisons(rec, plan, dataset)
    adj = holm([r["p"] for r in rows])
    out = []
    for r, rp, pa, pp in zip(rows, plain, adj, adj_plain):
        w1, _ = _verdict(rp["e"], rp["claim"], pp, plan, m, rp["below"])
        w2, _ = _verdict(r["e"], r["claim"], pa, plan, m, r["below"], equivalence_level=1 - 2 * plan.alpha / m)
        out.append(f"plain t: {w1} (Holm p {'-' if np.isnan(pp) else f'{pp:.3g}'}); equivalence at Holm's level: {w2}")
    return out


def claims_table(rec: pd.DataFrame, dataset: str = "synth", plan: AnalysisPlan | None = None,
                 with_sensitivity: bool = True, held: dict[str, str] | None = None) -> pd.DataFrame:
    """One row a primary comparison (module docstring); the claim's verdict on its first row; beside it, labelled as
    such, the verdicts of `sensitivity`; with `held` ({claim id: ...}, `across.held_by_claim`), whether the claim's
    verdict held on every sealed draw that carries it."""
    plan = plan or load_plan()
    rows = comparisons(rec, plan, dataset)
    adjusted = holm([r["p"] for r in rows])
    m = len(rows)                                          # the plan's family: every primary comparison
    extra = sensitivity(rec, plan, dataset) if with_sensitivity else [""] * m
    out, words, current = [], {}, None
    for r, p_adj, sens in zip(rows, adjusted, extra):
        c, k, e = r["claim"], r["comp"], r["e"]
        word, d = _verdict(e, c, p_adj, plan, m, r["below"])
        if d is None:
            p_adj = float("nan")
        words.setdefault(c.id, []).append(word)
        fmt = (lambda x: "-" if x is None or np.isnan(x) else f"{100 * x:+.1f}")
        row = {"claim of the paper": c.claim if c is not current else "",
               "metric": METRIC_NAMES[c.metric] if c is not current else "",
               "comparison (Δ = run minus reference)": describe(k, code=False),
               "Δ [95% CI, unadjusted]": stats.pct(e, sign=True),
               "90% CI (equivalence)": "-" if d is None or np.isnan(d.equivalence[0]) else
               f"[{fmt(d.equivalence[0])}, {fmt(d.equivalence[1])}]",
               "p (Holm)": "-" if np.isnan(p_adj) else f"{p_adj:.3g}",
               "MDE (80%)": "-" if d is None else fmt(d.mde).lstrip("+"),
               "comparison verdict": f"{word} ({BELOW}: {r['below']})" if r["below"] else word,
               "_claim": c.id}
        if with_sensitivity:
            row["sensitivity (chosen after the draw was opened; not the verdict)"] = sens
        out.append(row)
        current = c
    for row in out:
        first = bool(row["claim of the paper"])
        row["claim verdict"] = claim_verdict(words[row["_claim"]]) if first else ""
        if held is not None:
            row["held on every sealed draw that carries it"] = held.get(row["_claim"], "-") if first else ""
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
            f"`python -m tgdfer_study paper` from {records} (`tgdfer_study/report/claims.py`).")


__all__ = ["claims_table", "comparisons", "claim_verdict", "floor_of", "rule", "RUN_NAMES", "METRIC_NAMES"]
