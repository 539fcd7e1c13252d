"""Power arithmetic: variance components recovered from simulated paired runs, and the half-width formula."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from tgdfer.report.power import (Components, auc_test_variance, components, design_grid, halfwidth, mde,
                                 uar_test_variance)


def test_uar_test_variance_matches_simulation():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(7), 50)
    p_a, p_b = np.linspace(0.3, 0.9, 7), np.linspace(0.35, 0.8, 7)
    diffs, vars_ = [], []
    for _ in range(2000):
        a = rng.random(len(labels)) < p_a[labels]
        b = rng.random(len(labels)) < p_b[labels]
        diffs.append(np.mean([a[labels == c].mean() - b[labels == c].mean() for c in range(7)]))
        vars_.append(uar_test_variance(labels, a, b, 7)[0])
    assert abs(np.mean(vars_) / np.var(diffs) - 1) < 0.1
    assert np.isclose(uar_test_variance(labels, a, b, 7)[1], 50)


def test_auc_test_variance():
    v, n = auc_test_variance([0.5, 0.7, np.nan, 0.9], [0.4, 0.7, 0.3, 0.6])
    assert n == 3 and np.isclose(v, np.var([0.1, 0.0, 0.3], ddof=1) / 3)


def test_components_recovered_and_halfwidth_covers():
    """Simulate the model of the module docstring; the estimates come back and the predicted half-width gives
    95% coverage."""
    rng = np.random.default_rng(1)
    true = Components(fold=4.0, seed=9.0, test=400.0, folds=0, seeds=0)
    J, S, n = 10, 3, 100
    est, covered = [], 0
    for rep in range(600):
        rows = []
        for f in range(J):
            a, e = rng.normal(0, 2.0), rng.normal(0, np.sqrt(400 / n))
            for s in range(S):
                rows.append(dict(fold=f, seed=s, diff=1.0 + a + e + rng.normal(0, 3.0), test_var=400 / n, test_n=n))
        df = pd.DataFrame(rows)
        est.append(components(df))
        means = df.groupby("fold")["diff"].mean()
        hw = stats.t.ppf(0.975, J - 1) * means.std(ddof=1) / np.sqrt(J)
        covered += abs(means.mean() - 1.0) <= hw
    assert abs(np.mean([c.seed for c in est]) - 9.0) < 0.5
    assert abs(np.mean([c.test for c in est]) - 400.0) < 1e-6
    assert abs(np.mean([c.fold for c in est]) - 4.0) < 1.0
    assert 0.93 < covered / 600 < 0.97
    expected = stats.t.ppf(0.975, J - 1) * np.sqrt((4 + 9 / S + 400 / n) / J)
    assert np.isclose(halfwidth(true, J, S, n), expected)
    assert mde(true, J, S, n) > halfwidth(true, J, S, n)
    assert halfwidth(true, J, S, n, ratio=1 / 3.6) > halfwidth(true, J, S, n)


def test_design_grid_shrinks_with_runs_and_clips():
    c = Components(fold=2.0, seed=10.0, test=300.0, folds=5, seeds=3)
    g = design_grid(c)
    assert g.loc[(g.folds == 10) & (g.seeds == 3) & (g.test_per_class == 200), "halfwidth"].item() \
        < g.loc[(g.folds == 3) & (g.seeds == 1) & (g.test_per_class == 50), "halfwidth"].item()
