"""Power arithmetic: variance components recovered from simulated paired runs, and predictions that hold."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from tgdfer_study.report import power


def test_sampling_variance_of_a_uar_difference_matches_simulation():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(7), 50)
    p_a, p_b = np.linspace(0.3, 0.9, 7), np.linspace(0.35, 0.8, 7)
    diffs, vars_ = [], []
    for _ in range(2000):
        a = rng.random(len(labels)) < p_a[labels]
        b = rng.random(len(labels)) < p_b[labels]
        diffs.append(np.mean([a[labels == c].mean() - b[labels == c].mean() for c in range(7)]))
        vars_.append(power.sampling_variance(a.astype(float) - b, labels, 7))
    assert abs(np.mean(vars_) / np.var(diffs) - 1) < 0.1
    assert np.isclose(power.units_per_class(labels, 7), 50)


def _simulate(rng, J, S, n, fold=4.0, seed=9.0, shared=400.0, inter=300.0):
    """Per-clip differences with a clip effect shared by a fold's seeds and a clip x run effect; one row a run."""
    rows = []
    for f in range(J):
        a = rng.normal(0, np.sqrt(fold))
        clip = rng.normal(0, np.sqrt(shared), n)                     # which clips the fold drew
        per_seed = []
        for s in range(S):
            d = 1.0 + a + rng.normal(0, np.sqrt(seed)) + clip + rng.normal(0, np.sqrt(inter), n)
            per_seed.append(d)
        sh = power.shared_sampling_variance(np.stack(per_seed), np.zeros(n, int), 1)
        for s, d in enumerate(per_seed):
            rows.append(dict(fold=f, seed=s, diff=d.mean(), test_var=power.sampling_variance(d, np.zeros(n, int), 1),
                             test_shared_var=sh, test_n=n))
    return pd.DataFrame(rows)


def test_components_recovered_and_prediction_holds_at_another_test_size():
    rng = np.random.default_rng(7)
    est = [power.components(_simulate(rng, 8, 3, 100)) for _ in range(300)]
    for name, true, tol in (("seed", 9.0, 1.0), ("shared", 400.0, 25.0), ("inter", 300.0, 25.0)):
        assert abs(np.mean([getattr(c, name) for c in est]) - true) < tol, name
    assert 3.5 < np.mean([c.fold for c in est]) < 6.0        # floored at 0 a draw, so biased upwards a little
    c = power.Components(4.0, 9.0, 400.0, 300.0, 8, 3, 100)
    # the mean of J fold means at 300 clips and 2 seeds: simulated spread against the prediction
    means = [_simulate(rng, 5, 2, 300).groupby("fold")["diff"].mean().mean() for _ in range(400)]
    predicted = c.fold_mean_var(2, 300) / 5
    assert abs(np.var(means) / predicted - 1) < 0.2
    hw = power.halfwidth(c, 5, 2, 300)
    assert np.isclose(hw, stats.t.ppf(0.975, 4) * np.sqrt(predicted))
    assert power.mde(c, 5, 2, 300) > hw
    assert power.halfwidth(c, 5, 2, 300, ratio=power.overlap_ratio(5)) > hw
    assert np.isclose(power.overlap_ratio(5), 1 / 3.6)


def test_one_seed_a_fold_counts_all_test_variance_as_shared():
    df = _simulate(np.random.default_rng(2), 6, 1, 80)
    c = power.components(df)
    assert c.inter == 0 and c.shared > 0


def test_design_grid_shrinks_with_runs_and_clips():
    c = power.Components(2.0, 10.0, 300.0, 200.0, 5, 2, 50)
    g = power.design_grid(c)
    big = g[(g.folds == 10) & (g.seeds == 3) & (g.test_per_class == 200)].iloc[0]
    small = g[(g.folds == 3) & (g.seeds == 1) & (g.test_per_class == 50)].iloc[0]
    assert big.halfwidth_independent < small.halfwidth_independent
    assert big.halfwidth80_independent > big.halfwidth_independent
    assert big.halfwidth_overlapping > big.halfwidth_independent
    assert np.isclose(power.assurance(5), np.sqrt(stats.chi2.ppf(0.8, 4) / 4))


def test_fold_upper_bound_covers_the_true_fold_component_about_as_often_as_it_says():
    rng = np.random.default_rng(11)
    # 5 folds x 4 seeds, as the development draw: the fold component (8) is poorly known from 4 degrees of freedom
    est = [power.components(_simulate(rng, 5, 4, 100, fold=8.0)) for _ in range(400)]
    covered = np.mean([power.fold_upper(c, 0.8).fold >= 8.0 for c in est])
    assert 0.72 < covered < 0.88                                  # about 80% (the other components estimated too)
    assert np.mean([c.fold >= 8.0 for c in est]) < 0.6           # the point estimate alone falls short more often
    c = est[0]
    g = power.design_grid(c, folds=(5,), seeds=(4,), n=(100,)).iloc[0]
    assert g.halfwidth_foldupper80_independent >= g.halfwidth_independent
    assert power.fold_upper(power.Components(1.0, 2.0, 3.0, 4.0, 1, 1, 10), 0.8).fold == 1.0   # one fold: unchanged
