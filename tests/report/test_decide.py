"""Verdicts of the analysis plan: Holm, two one-sided tests, minimum detectable effect."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from tgdfer_study.report.decide import decide, equivalence_interval, holm, min_detectable, p_value, standard_error
from tgdfer.report.stats import clustered


def _estimate(values):
    df = pd.DataFrame({"fold": range(1, len(values) + 1), "seed": 0, "value": values})
    return clustered(df, cv_ratio=0.0, seed_floor=False)


def test_p_value_matches_scipy_one_sample_t():
    v = [-2.0, -3.5, -1.0, -4.0, -2.5]
    e = _estimate(v)
    assert np.isclose(p_value(e), st.ttest_1samp(v, 0).pvalue)
    se, df = standard_error(e)
    assert df == 4 and np.isclose(se, np.std(v, ddof=1) / np.sqrt(5))


def test_holm():
    assert np.allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    out = holm([0.2, float("nan"), 0.01])
    assert np.isnan(out[1]) and np.allclose([out[0], out[2]], [0.2, 0.02])


def test_four_verdicts():
    lower = _estimate([-5.0, -6.0, -4.5, -5.5, -6.5])
    d = decide(lower, -1, p_adjusted=p_value(lower), margin=3)
    assert d.verdict == "supports"
    assert decide(lower, +1, p_value(lower), 3).verdict == "contradicts"
    flat = _estimate([0.3, -0.2, 0.1, -0.1, 0.2])
    d = decide(flat, -1, p_value(flat), 3)
    assert d.verdict == "no effect larger than the margin" and -3 < d.equivalence[0] < d.equivalence[1] < 3
    noisy = _estimate([4.0, -6.0, 2.0, -5.0, 1.0])
    d = decide(noisy, -1, p_value(noisy), 3)
    assert d.verdict == "cannot tell" and d.mde > 3
    # after the correction a nominally significant small effect is no longer a support: here it is inside the margin
    weak = _estimate([-1.0, -2.5, -0.5, -2.0, -1.5])
    p_adj = holm([p_value(weak), 0.04, 0.045, 0.9, 0.5])[0]
    assert p_value(weak) < 0.05 < p_adj
    assert decide(weak, -1, p_adj, 3).verdict == "no effect larger than the margin"


def test_standard_error_is_the_corrected_one_the_tables_use():
    """An Estimate from `clustered` with its defaults (overlap correction, seed floor): the se behind it."""
    df = pd.DataFrame({"fold": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5], "seed": [0, 1] * 5,
                       "value": [0.01, 0.03, -0.02, 0.0, 0.04, 0.02, 0.01, -0.01, 0.03, 0.05]})
    e = clustered(df)
    means = df.groupby("fold")["value"].mean()
    seed_floor = df.groupby("fold")["value"].var(ddof=1).mean() / 2
    expected = np.sqrt((1 / 5 + 1 / 3.6) * max(means.var(ddof=1), seed_floor))
    se, dof = standard_error(e)
    assert dof == 4 and np.isclose(se, expected)


def test_only_intervals_over_folds_are_decided_and_small_real_effects_are_flagged():
    one_fold = clustered(pd.DataFrame({"fold": 1, "seed": range(5), "value": [-5.0, -6, -4.5, -5.5, -6.5]}))
    assert one_fold.unit == "seeds" and decide(one_fold, -1, 0.001, 3).verdict == "cannot tell"
    tight = _estimate([-1.0, -1.1, -0.9, -1.05, -0.95])
    d = decide(tight, -1, p_value(tight), 3)
    assert d.verdict == "supports" and d.within_margin
    assert decide(tight, -1, p_value(tight), 3, comparisons=5).mde > d.mde


def test_equivalence_interval_is_the_90_percent_t_interval_and_mde_exceeds_it():
    e = _estimate([1.0, 2.0, 0.0, 1.5, 0.5])
    lo, hi = equivalence_interval(e)
    se, df = standard_error(e)
    assert np.isclose(hi - lo, 2 * st.t.ppf(0.95, df) * se)
    assert min_detectable(e) > st.t.ppf(0.975, df) * se
    # at the MDE the two-sided t-test has 80% power (noncentral t), at alpha / 12 too
    for alpha in (0.05, 0.05 / 12):
        d, c = min_detectable(e, alpha) / se, st.t.ppf(1 - alpha / 2, df)
        assert np.isclose(st.nct.sf(c, df, d) + st.nct.cdf(-c, df, d), 0.8, atol=1e-6)
