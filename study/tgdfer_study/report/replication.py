"""The tables of a sealed draw with its own design (the replication draw; the precision draws, four independent draws
pooled as 20 folds): its claims, decided by its own committed plan, and the precision its design bought.

In: the draw's records (`results/replication/`, from `collect`; `results/precision/`, from `parts.merge_parts`) and its
plan (`paper/analysis_plan_replication.json`, `paper/analysis_plan_precision.json`, each committed before its draw was
run). Out, under `paper/tables/` (for the precision draws `precision_*.md`):
- `replication_scores.md`: each run's UAR and frame AUC with the floors beside them (chance, random scores, position
  prior, change detector);
- `replication_claims.md`: the claims table of `claims.py` under that plan (its own Holm family);
- `replication_precision.md`: every TG-DFER pair of the draw on UAR, WAR under DFEW's frequencies and both frame-AUC
  definitions: Δ [95% CI], the observed half-width, and (primary metrics) the half-width the plan predicted;
- `replication_plan.md`: the plan as the README prints it.
docs/evidence.md links them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tgdfer.io import atomic_write_text
from tgdfer.report import stats
from tgdfer.report.tables import markdown_table, use_design_of

from .claims import METRIC_NAMES, claims_table, floor_of, rule
from .plan import RUN_NAMES, load_plan, plan_markdown


PLAN_FILE = "paper/analysis_plan_replication.json"
RECORDS = "results/replication"
PAIRS = ("tgdfer+text=none", "tgdfer+descriptions=facs-permuted", "mil-only", "position-prior", "change-detector")
METRICS = ("uar", "war_dfew", "frame_auc_contrastive", "frame_auc_score")


@dataclass(frozen=True)
class SealedSet:
    """A sealed draw with its own design and plan, and where its records and tables live."""
    draw: str               # the protocol's draw
    plan_file: str          # its analysis plan, relative to the repository
    whose: str              # how the tables name it, possessive ("the replication draw's")
    scored: tuple           # the trained runs its scores table lists besides TG-DFER
    pairs: tuple = PAIRS    # the runs its precision table pairs with TG-DFER

    @property
    def records(self) -> str:
        return f"results/{self.draw}"


REPLICATION = SealedSet("replication", PLAN_FILE, "the replication draw's", PAIRS[:3])
PRECISION = SealedSet("precision", "paper/analysis_plan_precision.json",
                      "the precision draws' (four independent five-fold draws, pooled as 20 folds)",
                      ("tgdfer+descriptions=facs-permuted",))
DOSE_RUNS = tuple(f"tgdfer+descriptions=study_tgdfer_study_descriptions_dose_{k}.json" for k in ("all", "half", "none"))
DERANGED_RUNS = tuple(f"tgdfer+descriptions=facs-deranged:{k}" for k in range(1, 5))
MEANING_RUNS = ("tgdfer+text=none",) + DOSE_RUNS + DERANGED_RUNS + ("tgdfer+temporal=none", "tgdfer+visual_prompt=false",
                                                                   "mil-only")
MEANING = SealedSet("meaning", "paper/analysis_plan_meaning.json",
                    "the meaning draws' (three independent five-fold draws, pooled as 15 folds)", MEANING_RUNS,
                    MEANING_RUNS + ("position-prior", "change-detector"))
SETS = (REPLICATION, PRECISION, MEANING)


def scores_table(rec: pd.DataFrame, dataset: str = "synth", scored: tuple = PAIRS[:3]) -> pd.DataFrame:
    """Each run's own scores (UAR, contrastive frame AUC: mean [95% CI] over its folds x seeds) with the floors beside
    them: chance UAR (1/C), random frame scores, the position prior and the change detector ('-': not applicable)."""
    rows = []
    for run in ("tgdfer",) + tuple(scored) + ("random-scores", "position-prior", "change-detector"):
        cells = {}
        for metric in ("uar", "frame_auc_contrastive"):
            v = stats.run_values(rec, run, metric, dataset).dropna()
            cells[METRIC_NAMES[metric]] = stats.pct(stats.clustered(v)) if len(v) else "-"
        n = len(stats.run_values(rec, run, "frame_auc_contrastive", dataset).dropna()) or \
            len(stats.run_values(rec, run, "uar", dataset).dropna())
        rows.append({"run": RUN_NAMES.get(run, run), "runs (fold x seed)": n, **cells})
    rows.append({"run": "chance (UAR 1/C) / random frame scores in expectation", "runs (fold x seed)": "-",
                 METRIC_NAMES["uar"]: f"{100 * floor_of('uar'):.1f}",
                 METRIC_NAMES["frame_auc_contrastive"]: f"{100 * floor_of('frame_auc_contrastive'):.1f}"})
    return pd.DataFrame(rows)


def predicted(plan_raw: dict, run: str, metric: str) -> str:
    """The plan's predicted half-width of TG-DFER against `run` on `metric` ('-' where it predicted none)."""
    p = plan_raw.get("predicted_halfwidths", {})
    entry = p.get(RUN_NAMES.get(run, run))
    if not isinstance(entry, dict) or metric not in entry:
        return "-"
    return str(entry[metric]).split(":")[0]


def precision_table(rec: pd.DataFrame, plan_raw: dict, dataset: str = "synth", pairs: tuple = PAIRS) -> pd.DataFrame:
    """One row a TG-DFER pair and metric: runs, Δ [95% CI], observed half-width, predicted half-width."""
    rows = []
    for run in pairs:
        for metric in METRICS:
            a, b = stats.run_values(rec, run, metric, dataset).dropna(), stats.run_values(rec, "tgdfer", metric, dataset).dropna()
            if a.empty or b.empty:
                continue
            e = stats.paired(a, b)
            pairs = len(a.merge(b, on=["fold", "seed"]))
            half = (e.hi - e.lo) / 2 if e.unit == "folds" else float("nan")
            rows.append({"comparison (Δ = run minus TG-DFER)": f"{RUN_NAMES.get(run, run)} vs TG-DFER",
                         "metric": METRIC_NAMES.get(metric, metric), "pairs (fold x seed)": pairs,
                         "Δ [95% CI, unadjusted]": stats.pct(e, sign=True),
                         "half-width observed": "-" if np.isnan(half) else f"{100 * half:.1f}",
                         "half-width predicted: expected (80%)": predicted(plan_raw, run, metric)})
    return pd.DataFrame(rows)


def write_replication_tables(results: str | Path, out: str | Path, plan_path: str | Path,
                             which: SealedSet = REPLICATION, held: dict[str, str] | None = None) -> dict[str, Path]:
    """The tables of the module docstring from the records in `results` (those of `which`, the replication draw's
    by default), named `<draw>_scores.md` and so on."""
    rec = pd.read_csv(Path(results) / "records.csv")
    use_design_of(results)                                        # the intervals' design (independent folds)
    plan, out, name = load_plan(plan_path), Path(out), which.draw
    folds = int(rec.loc[rec["run_name"] == "tgdfer", "fold"].nunique())      # the reference's: every pair's folds
    note = rule(plan, which.plan_file, name, f"{which.records}/records.csv", f"`paper/tables/{name}_plan.md`", folds)
    prec = (f"Precision of {which.whose} design: each TG-DFER pair's paired difference (last epoch, in points; "
            f"{stats.method()}), the observed half-width of its unadjusted 95% interval, and the half-width the plan "
            "predicted from the development draw's variance components before the draw was run (expected, and in "
            "brackets not exceeded with 80% probability; '-' where the power study made no prediction: the floors and "
            "the secondary metrics). The floors (position prior, change detector) have no seed of their own: their "
            "pairs are TG-DFER's runs.\n\n")
    scores = (f"Scores of {which.whose} runs with their floors (last epoch, in %; "
              f"{stats.method()}). The floors score the same test clips without training (random scores: seeded by "
              "fold and run seed; position prior: from the fold's training clips; change detector: distance from the "
              "clip's first sampled frame in the frozen backbone's features).\n\n")
    return {f"{name}_scores": atomic_write_text(out / f"{name}_scores.md", scores + markdown_table(scores_table(rec, scored=which.scored))),
            f"{name}_claims": atomic_write_text(out / f"{name}_claims.md",
                                                note + "\n\n" + markdown_table(claims_table(rec, plan=plan, held=held))),
            f"{name}_precision": atomic_write_text(out / f"{name}_precision.md",
                                                   prec + markdown_table(precision_table(rec, plan.raw, pairs=which.pairs))),
            f"{name}_plan": atomic_write_text(out / f"{name}_plan.md", plan_markdown(plan))}


__all__ = ["write_replication_tables", "precision_table", "SealedSet", "REPLICATION", "PRECISION",
           "MEANING", "SETS", "PLAN_FILE", "RECORDS"]
