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
             "change-detector": "change detector"}


@dataclass(frozen=True)
class Comparison:
    run: str                       # the comparison run (a variant, an ablation, or a floor)
    reference: str = "tgdfer"      # Δ = run minus reference, paired on (fold, seed)


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    metric: str
    direction: int                 # the sign of Δ the paper predicts (-1: the run scores below its reference)
    comparisons: tuple[Comparison, ...]
    about: str = ""


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
        if c["direction"] not in (-1, 1) or not c["comparisons"]:
            raise ValueError(f"{path}: claim {c['id']!r} needs direction -1 or +1 and at least one comparison")
        comps = tuple(Comparison(k["run"], k.get("reference", "tgdfer")) for k in c["comparisons"])
        claims.append(Claim(c["id"], c["claim"], c["metric"], int(c["direction"]), comps, c.get("about", "")))
    return AnalysisPlan(tuple(claims), float(raw["alpha"]), float(raw["margin"]), raw["correction"], raw)


def plan_markdown(plan: AnalysisPlan) -> str:
    """The plan as the README prints it: one row a claim, then the rules."""
    names = {"uar": "UAR", "frame_auc_contrastive": "frame AUC (contrastive)", "frame_auc_score": "frame AUC (score)",
             "war_dfew": "WAR (DFEW frequencies)"}
    lines = ["| claim of the paper | primary metric | primary comparisons (run vs reference) | paper predicts |",
             "|---|---|---|---|"]
    for c in plan.claims:
        comps = "; ".join(f"{RUN_NAMES.get(k.run, k.run)} vs {RUN_NAMES.get(k.reference, k.reference)} (`{k.run}`)"
                          for k in c.comparisons)
        pred = "run below reference" if c.direction < 0 else "run above reference"
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
