"""The claims table decides from the analysis plan: Holm over every primary comparison, four verdicts, the floor rule."""
import json

import numpy as np
import pandas as pd
import pytest

from tgdfer.report import stats
from tgdfer_study.report.claims import claims_table
from tgdfer_study.report.plan import load_plan


@pytest.fixture(autouse=True)
def independent_folds():
    stats.use_design(True)           # the evaluation draw's design: folds are independent draws
    yield


def _plan(tmp_path, claims, margin=0.03):
    raw = {"alpha": 0.05, "margin": margin, "correction": "holm", "claims": claims}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(raw))
    return load_plan(path)


def _records(values: dict[str, list[float]], metric="uar") -> pd.DataFrame:
    """values: run name -> one value a fold (5 folds, seed 0)."""
    rows = [dict(dataset="synth", run_name=name, fold=f + 1, seed=0, metric=metric, which="last", value=v)
            for name, vs in values.items() for f, v in enumerate(vs)]
    return pd.DataFrame(rows)


def _claim(cid, run, metric="uar", reference="tgdfer"):
    return {"id": cid, "claim": cid, "metric": metric, "direction": -1,
            "comparisons": [{"run": run, "reference": reference}]}


def test_four_verdicts_from_the_plan(tmp_path):
    ref = np.array([0.50, 0.52, 0.48, 0.51, 0.49])
    wobble = np.array([0.004, -0.003, 0.002, -0.004, 0.001])
    rec = _records({"tgdfer": ref, "lower": ref - 0.06 + wobble, "higher": ref + 0.06 + wobble,
                    "same": ref + wobble, "noisy": ref + np.array([0.1, -0.12, 0.08, -0.09, 0.02])})
    plan = _plan(tmp_path, [_claim(n, n) for n in ("lower", "higher", "same", "noisy", "absent")])
    t = claims_table(rec, plan=plan).set_index("claim of the paper")
    assert t.loc["lower", "claim verdict"] == "**supports**"
    assert t.loc["higher", "claim verdict"] == "**contradicts**"
    assert t.loc["same", "claim verdict"] == "no effect larger than the margin"
    assert t.loc["noisy", "claim verdict"] == "cannot tell" and float(t.loc["noisy", "MDE (80%)"]) > 10
    assert t.loc["absent", "claim verdict"] == "not run"


def test_holm_counts_every_primary_comparison(tmp_path):
    ref = np.array([0.50, 0.52, 0.48, 0.51, 0.49])
    rec = _records({"tgdfer": ref, "a": ref - 0.02 + np.array([0.004, -0.006, 0.001, 0.008, -0.007])})
    alone = claims_table(rec, plan=_plan(tmp_path, [_claim("a", "a")]))
    many = claims_table(rec, plan=_plan(tmp_path, [_claim("a", "a")] + [_claim(f"x{i}", "a") for i in range(5)]))
    assert float(many["p (Holm)"][0]) > float(alone["p (Holm)"][0])


def test_a_below_floor_or_missing_comparison_keeps_its_place_in_holms_family(tmp_path):
    ref = np.array([0.50, 0.52, 0.48, 0.51, 0.49])
    rec = _records({"tgdfer": ref, "a": ref - 0.02 + np.array([0.004, -0.006, 0.001, 0.008, -0.007])})
    with_missing = claims_table(rec, plan=_plan(tmp_path, [_claim("a", "a"), _claim("b", "absent")]))
    alone = claims_table(rec, plan=_plan(tmp_path, [_claim("a", "a")]))
    assert float(with_missing["p (Holm)"][0]) == pytest.approx(2 * float(alone["p (Holm)"][0]))
    assert float(with_missing["MDE (80%)"][0]) > float(alone["MDE (80%)"][0])


def test_a_comparison_below_its_floor_is_not_counted(tmp_path):
    ref = np.array([0.80, 0.82, 0.78, 0.81, 0.79])
    rec = _records({"tgdfer": ref, "broken": ref - 0.4 + np.array([0.01, -0.01, 0.0, 0.02, -0.02])},
                   metric="frame_auc_contrastive")
    t = claims_table(rec, plan=_plan(tmp_path, [_claim("f", "broken", "frame_auc_contrastive")]))
    assert t["claim verdict"][0] == "cannot tell" and "below its floor" in t["comparison verdict"][0]


def test_plan_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="metric"):
        _plan(tmp_path, [_claim("c", "r", metric="accuracy")])
    with pytest.raises(FileNotFoundError, match="analysis plan"):
        load_plan(tmp_path / "missing.json")


def test_the_committed_plan_names_runs_the_protocol_makes():
    from tgdfer.sweep.plan import plan_runs
    from tgdfer_study.protocol import PROTOCOL as P
    from tgdfer.paths import run_name
    from tgdfer.report.frames import FLOOR_NAMES

    plan = load_plan()
    made = {run_name(r.variant, r.overrides) for r in plan_runs(
        P.config, P.folds, P.seeds, True, P.ablation_folds, P.ablation_seeds, primary=P.primary,
        primary_baselines=P.primary_baselines, primary_seeds=P.primary_seeds)
        if r.seed in P.primary_seeds and r.fold in P.folds}
    seeds = {}
    for r in plan_runs(P.config, P.folds, P.seeds, True, P.ablation_folds, P.ablation_seeds, primary=P.primary,
                       primary_baselines=P.primary_baselines, primary_seeds=P.primary_seeds):
        seeds.setdefault(run_name(r.variant, r.overrides), set()).add(r.seed)
    for _, comp in plan.primary:
        for name in (comp.run, comp.reference):
            assert name in made or name in FLOOR_NAMES, name
            if name not in FLOOR_NAMES:           # a primary comparison runs on every primary seed
                assert seeds[name] == set(P.primary_seeds), name


def test_a_trend_is_the_slope_on_the_levels_and_a_mean_of_runs_is_one_comparison(tmp_path):
    ref = np.array([0.80, 0.82, 0.78, 0.81, 0.79])     # above the random floor (50) at every dose
    wobble = np.array([0.004, -0.003, 0.002, -0.004, 0.001])
    rec = _records({"tgdfer": ref, "lo": ref - 0.20 + wobble, "mid": ref - 0.10 - wobble, "hi": ref + wobble,
                    "w1": ref - 0.05 + wobble, "w2": ref - 0.07 - wobble}, metric="frame_auc_contrastive")
    trend = {"id": "dose", "claim": "dose", "metric": "frame_auc_contrastive", "direction": 1,
             "comparisons": [{"trend": [{"run": "lo", "level": 0.0}, {"run": "mid", "level": 0.5},
                                        {"run": "hi", "level": 1.0}], "label": "levels"}]}
    wrong = {"id": "wrong", "claim": "wrong", "metric": "frame_auc_contrastive", "direction": -1,
             "comparisons": [{"runs": ["w1", "w2"], "reference": "tgdfer", "label": "mean of two"}]}
    t = claims_table(rec, plan=_plan(tmp_path, [trend, wrong])).set_index("claim of the paper")
    assert float(t.loc["dose", "Δ [95% CI, unadjusted]"].split()[0]) == pytest.approx(20.0, abs=0.1)    # 0.2 per unit of level, in points
    assert float(t.loc["wrong", "Δ [95% CI, unadjusted]"].split()[0]) == pytest.approx(-6.0, abs=0.1)
    assert t.loc["dose", "claim verdict"] == "**supports**" and t.loc["wrong", "claim verdict"] == "**supports**"


def test_direction_zero_two_sided_and_no_gain(tmp_path):
    ref = np.array([0.50, 0.52, 0.48, 0.51, 0.49])
    wobble = np.array([0.004, -0.003, 0.002, -0.004, 0.001])
    rec = _records({"tgdfer": ref, "same": ref + wobble, "loss": ref - 0.08 + wobble, "gain": ref + 0.08 + wobble})

    def zero(cid, run, test="two-sided"):
        return {**_claim(cid, run), "direction": 0, "test": test}
    plan = _plan(tmp_path, [zero("same", "same"), zero("loss", "loss"), zero("loss, no gain", "loss", "no gain"),
                            zero("gain, no gain", "gain", "no gain")])
    t = claims_table(rec, plan=plan).set_index("claim of the paper")
    assert t.loc["same", "claim verdict"] == "**supports**"
    assert t.loc["loss", "claim verdict"] == "**contradicts**"          # two-sided: any difference contradicts
    assert t.loc["loss, no gain", "claim verdict"] == "**supports**"    # one-sided: a loss is no gain
    assert t.loc["gain, no gain", "claim verdict"] == "**contradicts**"
    with pytest.raises(ValueError, match="no gain"):
        _plan(tmp_path, [{**_claim("c", "r"), "test": "no gain"}])      # one-sided needs direction 0


def test_sensitivity_is_beside_the_verdict_and_does_not_change_it(tmp_path):
    ref = np.array([0.50, 0.52, 0.48, 0.51, 0.49])
    rec = _records({"tgdfer": ref, "a": ref - 0.02 + np.array([0.004, -0.006, 0.001, 0.008, -0.007])})
    plan = _plan(tmp_path, [_claim("a", "a")])
    with_s, without = claims_table(rec, plan=plan), claims_table(rec, plan=plan, with_sensitivity=False)
    col = [c for c in with_s.columns if c not in without.columns]
    assert len(col) == 1 and "after the draw" in col[0]
    assert "plain t:" in with_s[col[0]][0] and "equivalence at Holm's level" in with_s[col[0]][0]
    assert list(with_s["claim verdict"]) == list(without["claim verdict"])


def test_the_plan_may_exempt_named_controls_from_the_floor_rule(tmp_path):
    ref = np.array([0.80, 0.82, 0.78, 0.81, 0.79])
    wobble = np.array([0.004, -0.003, 0.002, -0.004, 0.001])
    rec = _records({"tgdfer": ref, "wrong": ref - 0.4 + wobble}, metric="frame_auc_contrastive")
    claim = _claim("w", "wrong", "frame_auc_contrastive")
    assert _plan(tmp_path, [claim]).raw and claims_table(rec, plan=_plan(tmp_path, [claim]))["claim verdict"][0] == "cannot tell"
    raw = {"alpha": 0.05, "margin": 0.03, "correction": "holm", "claims": [claim], "floor_exempt": {"runs": ["wrong"]}}
    (tmp_path / "exempt.json").write_text(json.dumps(raw))
    t = claims_table(rec, plan=load_plan(tmp_path / "exempt.json"))
    assert t["claim verdict"][0] == "**supports**"
    rec2 = _records({"tgdfer": ref - 0.4, "wrong": ref - 0.45 + wobble}, metric="frame_auc_contrastive")
    assert "below its floor" in claims_table(rec2, plan=load_plan(tmp_path / "exempt.json"))["comparison verdict"][0]
