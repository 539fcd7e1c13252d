"""One source for the sweep: the demo's plan and the real-data script list the same variants and ablation axes;
the evaluation draw stays sealed until the analysis plan exists."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tgdfer.config import load_config, load_variants
from tgdfer.sweep.plan import axes, baselines, plan_runs
from tgdfer_study.protocol import PROTOCOL, SealedDrawError, load_protocol

ROOT = Path(__file__).resolve().parents[2]


def _demo_plan():
    return plan_runs(PROTOCOL.config, PROTOCOL.folds, PROTOCOL.seeds, True, PROTOCOL.ablation_folds,
                     PROTOCOL.ablation_seeds, primary=PROTOCOL.primary, primary_baselines=PROTOCOL.primary_baselines,
                     primary_seeds=PROTOCOL.primary_seeds)


def test_the_real_data_sweep_and_the_demo_list_the_same_variants_and_axes():
    demo, real = axes(_demo_plan()), axes(plan_runs("tgdfer-b16", (1, 2, 3, 4, 5), (0,), True))
    assert demo.keys() == real.keys()                      # the same variants and ablation keys
    assert demo["variant"] == real["variant"] == {"tgdfer", *baselines()}
    spec = {s["key"]: s["values"] for s in load_variants()["ablations"].values()}
    tiny, b16 = load_config(PROTOCOL.config).model, load_config("tgdfer-b16").model
    for key in spec:
        field = key.split(".")[-1]
        values = {str(v).lower() if isinstance(v, bool) else str(v) for v in spec[key]}
        assert demo[key] | real[key] <= values
        # each sweep runs every value but its config's default: they differ only where the defaults do
        assert demo[key] ^ real[key] <= {str(getattr(tiny, field)).lower(), str(getattr(b16, field)).lower()}


def test_run_all_sh_sweeps_exactly_the_planned_runs(tmp_path):
    from tgdfer.sweep.launch import sweep_runs

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", DRY_RUN="1",
               DFEW=str(tmp_path / "DFEW"), FERV39K=str(tmp_path / "FERV39k"), RUNS=str(tmp_path / "runs"))
    r = subprocess.run(["bash", str(ROOT / "paper" / "run_all.sh")], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    listed = [ln.strip() for ln in r.stdout.splitlines() if ln.startswith("  ")]
    dfew = sweep_runs(plan_runs("tgdfer-b16", (1, 2, 3, 4, 5), (0,), True), "dfew", tmp_path / "DFEW", "tgdfer-b16",
                      tmp_path / "runs")
    ferv = sweep_runs(plan_runs("tgdfer-b16", (1,), (0,), True, only="main,baselines"), "ferv39k",
                      tmp_path / "FERV39k", "tgdfer-b16", tmp_path / "runs")
    assert listed == [str(x.folder) for x in dfew + ferv]
    assert f"sweep: {len(dfew)} planned run(s), 0 already finished, {len(dfew)} to train" in r.stdout
    assert len(ferv) == 1 + len(baselines())                            # no ablations on FERV39k
    assert any("prompt_residual=" in f for f in listed)          # every axis of variants.json, this one too
    assert len({f for f in listed}) == len(listed)                      # no two runs share a folder


def test_plan_orders_expensive_runs_first_and_pairs_ablations_with_tgdfer():
    plan = _demo_plan()
    kinds = [r.kind for r in plan]
    assert kinds == sorted(kinds, key=["main", "ablation", "baseline"].index)
    ref = {(r.fold, r.seed) for r in plan if r.kind == "main"}
    assert {(r.fold, r.seed) for r in plan if r.kind == "ablation"} <= ref
    with pytest.raises(ValueError, match="comma-separated"):
        plan_runs("tgdfer-tiny", (1,), (0,), True, only="mian")


def test_the_evaluation_draw_is_sealed_until_the_analysis_plan_exists(tmp_path):
    p = load_protocol()
    assert p.draws["development"].seed != p.draws["evaluation"].seed and not p.draws["development"].sealed
    # the tables' test splits: held out, at least 50 clips of every class, folds drawn independently
    assert p.test_per_class >= 50 and p.independent and p.expressions == "distribution"
    if not (ROOT / p.analysis_plan).is_file():
        with pytest.raises(SealedDrawError, match="sealed until the analysis plan"):
            p.benchmark("evaluation")
    with pytest.raises(ValueError, match="unknown benchmark draw"):
        p.draw("final")


def test_primary_ablations_run_on_the_main_folds_and_seeds():
    """A primary comparison gets TG-DFER's folds and seeds; the other ablations the smaller set."""
    primary = ({"model.text": "none"},)
    plan = plan_runs("tgdfer-tiny", (1, 2, 3), (0, 1), True, (1,), (0,), primary=primary)
    none = {(r.fold, r.seed) for r in plan if r.overrides == {"model.text": "none"}}
    other = {(r.fold, r.seed) for r in plan if r.overrides == {"model.text": "classname"}}
    assert none == {(f, s) for f in (1, 2, 3) for s in (0, 1)} and other == {(1, 0)}
    for ov in PROTOCOL.primary:                 # the protocol's primary comparisons are ablations of its config
        assert any(r.overrides == ov for r in _demo_plan())


def test_primary_comparisons_get_more_seeds_in_the_full_regeneration_only():
    kw = dict(primary=({"model.text": "none"},), primary_baselines=("mil-only",), primary_seeds=(0, 1, 2))
    full = plan_runs("tgdfer-tiny", (1, 2), (0,), True, (1,), (0,), **kw)
    demo = plan_runs("tgdfer-tiny", (1, 2), (0,), False, **kw)
    seeds = lambda plan, v, ov: {r.seed for r in plan if r.variant == v and r.overrides == ov}  # noqa: E731
    assert seeds(full, "tgdfer", {}) == seeds(full, "mil-only", {}) == seeds(full, "tgdfer", {"model.text": "none"}) == {0, 1, 2}
    assert seeds(full, "clip-meanpool", {}) == {0} and seeds(demo, "tgdfer", {}) == seeds(demo, "mil-only", {}) == {0}


def test_training_size_curve_runs_are_named_by_their_share_and_pair_with_the_full_runs():
    from tgdfer.paths import folder_name, run_name

    curve = ({"train.train_fraction": 0.1}, {"model.text": "none", "train.train_fraction": 0.1})
    full = plan_runs("tgdfer-tiny", (1, 2), (0, 1, 2), True, (1,), (0,), curve=curve, curve_seeds=(0, 1))
    runs = [r for r in full if r.kind == "curve"]
    assert {run_name(r.variant, r.overrides) for r in runs} == {"tgdfer+train_fraction=0.1",
                                                                  "tgdfer+text=none+train_fraction=0.1"}
    assert {(r.fold, r.seed) for r in runs} == {(f, s) for f in (1, 2) for s in (0, 1)}
    assert run_name("tgdfer", {"train.epochs": 4}) == "tgdfer"          # other train.* settings name no model
    assert folder_name("tgdfer", {"train.epochs": 4, "model.text": "none"}) == "tgdfer+text=none+epochs=4"   # folders do
    assert folder_name("tgdfer", {"train.workers": 4, "train.batch_size": 8, "train.grad_accum": 2}) == "tgdfer"
    assert not [r for r in plan_runs("tgdfer-tiny", (1,), (0,), False, curve=curve) if r.kind == "curve"]
    assert all(f < 1 for ov in PROTOCOL.curve for f in [ov["train.train_fraction"]])
