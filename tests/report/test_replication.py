"""The replication draw: its own sealed design and plan, and the tables that report what that design bought."""
import json

import numpy as np
import pandas as pd
import pytest

from tgdfer_study.protocol import load_protocol
from tgdfer.paths import repo_root
from tgdfer.report import stats
from tgdfer_study.report.plan import load_plan
from tgdfer_study.report.replication import PLAN_FILE, precision_table, write_replication_tables


def test_the_replication_draw_has_its_own_seed_plan_and_paired_design():
    p = load_protocol()
    d = p.draws["replication"]
    assert d.sealed and len({d.seed, p.draws["development"].seed, p.draws["evaluation"].seed}) == 3
    assert d.analysis_plan == PLAN_FILE and (repo_root() / PLAN_FILE).is_file()
    runs = d.planned_runs(p.folds)
    ref = {(r.fold, r.seed) for r in runs if r.variant == "tgdfer" and not r.overrides}
    assert runs[0].variant == "tgdfer" and not runs[0].overrides                 # the reference trains first
    assert all((r.fold, r.seed) in ref for r in runs)                             # every run has its TG-DFER partner
    seeds = {(r.variant, json.dumps(r.overrides)): max(x.seed for x in runs if x.variant == r.variant
                                                       and x.overrides == r.overrides) + 1 for r in runs}
    assert seeds[("tgdfer", '{"model.text": "none"}')] == 20 and seeds[("mil-only", "{}")] == 8
    # the plan decides only comparisons whose runs the design makes
    made = {"tgdfer", "tgdfer+text=none", "tgdfer+descriptions=facs-permuted", "mil-only", "position-prior",
            "change-detector"}
    plan = load_plan(repo_root() / PLAN_FILE)
    assert {x for _, k in plan.primary for x in (k.run, k.reference)} <= made


def _records(diffs: dict[str, np.ndarray], seeds: int = 4) -> pd.DataFrame:
    """TG-DFER at 0.60 + fold wobble, each run = TG-DFER + its diffs[fold, seed], on UAR and frame AUC."""
    rng = np.random.default_rng(0)
    base = 0.6 + rng.normal(0, 0.01, (5, seeds))
    rows = []
    for name, d in {"tgdfer": np.zeros((5, seeds)), **diffs}.items():
        for f in range(5):
            for s in range(seeds):
                for m in ("uar", "frame_auc_contrastive"):
                    rows.append(dict(dataset="synth", run_name=name, fold=f + 1, seed=s, which="last", metric=m,
                                     value=base[f, s] + d[f, s]))
    return pd.DataFrame(rows)


def test_precision_table_reports_the_interval_half_width_and_the_plan_prediction():
    stats.use_design(True)
    d = np.array([[-0.05, -0.06, -0.04, -0.05]] * 5) + np.linspace(-0.01, 0.01, 5)[:, None]
    rec = _records({"tgdfer+text=none": d})
    raw = {"predicted_halfwidths": {"no text": {"uar": "0.76 (0.93)", "frame_auc_contrastive": "2.95 (3.61)"}}}
    t = precision_table(rec, raw)
    row = t[t.metric == "UAR"].iloc[0]
    e = stats.paired(rec[(rec.run_name == "tgdfer+text=none") & (rec.metric == "uar")][["fold", "seed", "value"]],
                     rec[(rec.run_name == "tgdfer") & (rec.metric == "uar")][["fold", "seed", "value"]])
    assert row["half-width observed"] == f"{100 * (e.hi - e.lo) / 2:.1f}" and row["pairs (fold x seed)"] == 20
    assert row["half-width predicted: expected (80%)"] == "0.76 (0.93)"
    assert row["Δ [95% CI, unadjusted]"].startswith("-5.0")
    assert len(t) == 2                                          # only the metrics the records hold


def test_replication_tables(tmp_path):
    res = tmp_path / "results"
    res.mkdir()
    d = np.full((5, 4), -0.05)
    _records({"tgdfer+text=none": d, "mil-only": d}).to_csv(res / "records.csv", index=False)
    (res / "design.json").write_text(json.dumps({"independent_folds": True}))
    files = write_replication_tables(res, tmp_path / "tables", repo_root() / PLAN_FILE)
    scores = files["replication_scores"].read_text()
    assert "| chance (UAR 1/C) / random frame scores in expectation | - | 14.3 | 50.0 |" in scores
    assert "| TG-DFER | 20 | 59.8 [" in scores and "| no text | 20 | 54.8 [" in scores   # TG-DFER - 5 points
    assert "| descriptions permuted across classes | 0 | - | - |" in scores                                   # not run: '-', not a number
    claims = files["replication_claims"].read_text()
    assert "replication draw" in claims and "analysis_plan_replication.json" in claims and "no text vs TG-DFER" in claims
    assert "half-width observed" in files["replication_precision"].read_text() and "| position prior |" in scores


def test_the_meaning_draw_makes_every_run_its_plan_reads_and_the_plans_agreement_is_the_files():
    from tgdfer.paths import run_name
    from tgdfer_study.meaning import agreement, dose_specs
    from tgdfer_study.report.replication import MEANING

    p = load_protocol()
    d = p.draws["meaning"]
    assert d.sealed and d.analysis_plan == MEANING.plan_file
    runs = d.planned_runs(p.folds)
    made = {run_name(r.variant, r.overrides) for r in runs} | {"position-prior", "change-detector"}
    assert len(runs) == 5 * 12 * 2                                  # a part's folds x variants x seeds
    plan = load_plan(repo_root() / MEANING.plan_file)
    assert len(plan.primary) == 7
    assert {n for _, k in plan.primary for n in k.runs if n} <= made
    assert set(plan.raw["floor_exempt"]["runs"]) <= made and "tgdfer" not in plan.raw["floor_exempt"]["runs"]
    levels = plan.raw["agreement"]["levels"]
    specs = dose_specs(4)
    for k in ("none", "half", "all"):
        key = next(x for x in levels if x.startswith(f"dose: {k if k != 'half' else 'about half'}"))
        assert levels[key] == pytest.approx(agreement(specs[f"dose: {k}"])["mean"], abs=1e-3)
    assert levels["derangements 1-4 of the dataset's own sentences"] == pytest.approx(
        [agreement(f"facs-deranged:{k}")["mean"] for k in range(1, 5)], abs=1e-3)
    trend = next(k for c, k in plan.primary if c.id == "text-frames-dose")
    for name, spec in (("none", "dose_none"), ("all", "dose_all")):
        assert any(spec in n for n, _ in trend.weights)
