"""The analysis plan as data: the claims of the paper, one primary metric a claim, the primary comparisons, the margin,
the correction. Written and committed before the evaluation draw was run (`paper/analysis_plan.json`); the claims
table (`claims.py`) reads its verdicts from it and nothing else.

In: the plan file. Out: an `AnalysisPlan`, checked (known metric, direction -1 or +1, at least one comparison a
claim, the correction the code implements) so that a typo fails loudly instead of silently dropping a claim.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tgdfer.paths import repo_root

PLAN = "paper/analysis_plan.json"
METRICS = ("uar", "frame_auc_contrastive", "frame_auc_score", "war_dfew")
CORRECTIONS = ("holm",)
RUN_NAMES = {"tgdfer": "TG-DFER", "tgdfer+text=none": "no text", "tgdfer+text=classname": "class names only",
             "tgdfer+text=learnable": "learnable context only",
             "tgdfer+text=descriptions": "descriptions without learnable context",
             "tgdfer+descriptions=facs-permuted": "descriptions permuted across classes",
             "tgdfer+descriptions=au": "answer-key (action-unit) descriptions",
             "tgdfer+visual_prompt=false": "no visual prompt", "tgdfer+temporal=none": "no temporal network",
             "tgdfer+temporal=short": "short-term branch only", "tgdfer+temporal=long": "long-range branch only",
             "mil-only": "MIL-only", "position-prior": "position prior", "random-scores": "random scores",
             "change-detector": "change detector",
             "tgdfer+descriptions=study_tgdfer_study_descriptions_dose_all.json": "dose: all cues rendered",
             "tgdfer+descriptions=study_tgdfer_study_descriptions_dose_half.json": "dose: about half",
             "tgdfer+descriptions=study_tgdfer_study_descriptions_dose_none.json": "dose: none",
             **{f"tgdfer+descriptions=facs-deranged:{k}": f"derangement {k} of the sentences" for k in range(1, 9)}}


@dataclass(frozen=True)
class Comparison:
    run: str                       # the comparison run (a variant, an ablation, or a floor); a composite's label
    reference: str = "tgdfer"      # Δ = run minus reference, paired on (fold, seed); '' for a trend
    weights: tuple = ()            # a composite: ((run, weight), ...) summed on each (fold, seed) instead of run - ref

    @property
    def runs(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.weights) if self.weights else (self.run, self.reference)


def _comparison(k: dict, path) -> Comparison:
    """A plan's comparison: {run, reference}; {runs: [...], reference} (the runs' mean minus the reference); or
    {trend: [{run, level}, ...]} (the least-squares slope of the runs' scores on their levels, per unit of level)."""
    if "trend" in k:
        levels = [float(t["level"]) for t in k["trend"]]
        mean = sum(levels) / len(levels)
        ss = sum((a - mean) ** 2 for a in levels)
        if len(levels) < 2 or ss == 0:
            raise ValueError(f"{path}: a trend needs at least two runs at different levels")
        w = tuple((t["run"], (float(t["level"]) - mean) / ss) for t in k["trend"])
        return Comparison(k.get("label", "trend over " + ", ".join(t["run"] for t in k["trend"])), "", w)
    if "runs" in k:
        ref = k.get("reference", "tgdfer")
        w = tuple((r, 1 / len(k["runs"])) for r in k["runs"]) + ((ref, -1.0),)
        return Comparison(k.get("label", "mean of " + ", ".join(k["runs"])), ref, w)
    return Comparison(k["run"], k.get("reference", "tgdfer"))


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    metric: str
    direction: int                 # the sign of Δ the paper predicts (-1: the run scores below its reference; 0: no
                                   # effect, decided by the equivalence test)
    comparisons: tuple[Comparison, ...]
    about: str = ""
    no_gain: bool = False          # direction 0 read one-sided (the plan's "test": "no gain"): supports where the 90%
                                   # interval's upper end lies below +margin, contradicts on a significant gain


@dataclass(frozen=True)
class AnalysisPlan:
    claims: tuple[Claim, ...]
    alpha: float
    margin: float                  # in the records' units (fractions: 0.03 is 3 points)
    correction: str
    raw: dict

    @property
    def primary(self) -> list[tuple[Claim, Comparison]]:
        return [(c, k) for c in self.claims for k in c.comparisons]


def load_plan(path: str | Path | None = None) -> AnalysisPlan:
    """The committed plan (default `paper/analysis_plan.json` of the repository), checked."""
    path = Path(path) if path else repo_root() / PLAN
    if not path.is_file():
        raise FileNotFoundError(f"no analysis plan at {path}: the claims are decided only by a committed plan")
    raw = json.loads(path.read_text())
    if raw.get("correction") not in CORRECTIONS:
        raise ValueError(f"{path}: correction must be one of {CORRECTIONS} (got {raw.get('correction')!r})")
    claims = []
    for c in raw["claims"]:
        if c["metric"] not in METRICS:
            raise ValueError(f"{path}: claim {c['id']!r} has metric {c['metric']!r}; known: {', '.join(METRICS)}")
        if c["direction"] not in (-1, 0, 1) or not c["comparisons"]:
            raise ValueError(f"{path}: claim {c['id']!r} needs direction -1, 0 or +1 and at least one comparison")
        if c.get("test", "two-sided") not in ("two-sided", "no gain") or (c.get("test") == "no gain" and c["direction"]):
            raise ValueError(f"{path}: claim {c['id']!r}: test must be 'two-sided' or, with direction 0, 'no gain'")
        comps = tuple(_comparison(k, path) for k in c["comparisons"])
        claims.append(Claim(c["id"], c["claim"], c["metric"], int(c["direction"]), comps, c.get("about", ""),
                            c.get("test") == "no gain"))
    return AnalysisPlan(tuple(claims), float(raw["alpha"]), float(raw["margin"]), raw["correction"], raw)


def describe(k: Comparison, code: bool = True) -> str:
    """How a table names a comparison (`code`: with the run's name in the records)."""
    if k.weights and not k.reference:
        return f"{k.run} (slope per unit of level" + (": " + ", ".join(f"`{n}`" for n, _ in k.weights) if code else "") + ")"
    if k.weights:
        return f"{k.run} vs {RUN_NAMES.get(k.reference, k.reference)}"
    return f"{RUN_NAMES.get(k.run, k.run)} vs {RUN_NAMES.get(k.reference, k.reference)}" + (f" (`{k.run}`)" if code else "")


def plan_markdown(plan: AnalysisPlan) -> str:
    """The plan as the README prints it: one row a claim, then the rules."""
    names = {"uar": "UAR", "frame_auc_contrastive": "frame AUC (contrastive)", "frame_auc_score": "frame AUC (score)",
             "war_dfew": "WAR (DFEW frequencies)"}
    lines = ["| claim of the paper | primary metric | primary comparisons (run vs reference) | paper predicts |",
             "|---|---|---|---|"]
    for c in plan.claims:
        comps = "; ".join(describe(k) for k in c.comparisons)
        pred = {-1: "run below reference", 1: "run above reference", 0: "no effect (inside the margin)"}[c.direction]
        pred = "no gain over the reference (below +margin)" if c.no_gain else pred
        lines.append(f"| {c.claim} | {names[c.metric]} | {comps} | {pred} |")
    r = plan.raw
    lines += ["", f"- Written: {r['written']}.", f"- Unit: {r['unit']}",
              f"- Correction: {r['correction_about']}", f"- Margin: {100 * plan.margin:g} points ({r['margin_about']}).",
              f"- Equivalence: {r['equivalence']}.", f"- Minimum detectable effect: {r['mde']}.",
              f"- Floor rule: {r['floor_rule']}", f"- Verdict of a comparison: {r['verdicts']['comparison']}.",
              f"- Verdict of a claim: {r['verdicts']['claim']}.", f"- Secondary (no vote): {r['secondary']['about']} "
              f"Metrics: {r['secondary']['metrics']}; comparisons: {r['secondary']['comparisons']}.",
              f"- Training-size curve (secondary): {r['secondary']['training_size']}.",
              f"- Floors: {r['secondary']['floors']}.", f"- Tuning: {r['tuning']}.", f"- Runs: {r['runs']}"]
    return "\n".join(lines) + "\n"


__all__ = ["RUN_NAMES", "AnalysisPlan", "Claim", "Comparison", "load_plan", "plan_markdown", "PLAN"]
