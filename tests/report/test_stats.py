"""Table statistics on hand-computed numbers: clustered mean and 95% CI, paired differences."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from tgdfer.report.stats import CV_RATIO, clustered, paired, t_interval

T975_DF1 = 12.706204736174694      # Student t quantile 0.975, 1 degree of freedom (tables)
T975_DF2 = 4.302652729749462       # ... 2 degrees of freedom


def runs(values: dict[tuple[int, int], float]) -> pd.DataFrame:
    return pd.DataFrame([{"fold": f, "seed": s, "value": v} for (f, s), v in values.items()])


def test_t_interval_by_hand():
    m, lo, hi = t_interval([0.6, 0.7, 0.8])            # sd 0.1, se 0.1 / sqrt(3)
    half = T975_DF2 * 0.1 / math.sqrt(3)                # 0.248414
    assert m == pytest.approx(0.7) and lo == pytest.approx(0.7 - half) and hi == pytest.approx(0.7 + half)
    assert lo == pytest.approx(0.451586, abs=1e-6)
    m, lo, hi = t_interval([0.4])
    assert m == 0.4 and math.isnan(lo) and math.isnan(hi)


def test_seeds_are_averaged_within_a_fold_and_the_interval_is_over_folds():
    # fold means 0.6, 0.7, 0.8 (fold 2 has one seed): mean 0.7, the interval of the three fold means
    e = clustered(runs({(1, 0): 0.5, (1, 1): 0.7, (2, 0): 0.7, (3, 0): 0.9, (3, 1): 0.7}), cv_ratio=0.0, seed_floor=False)
    assert (e.unit, e.n) == ("folds", 3)
    assert e.mean == pytest.approx(0.7)
    assert (e.lo, e.hi) == (pytest.approx(0.451586, abs=1e-6), pytest.approx(0.948414, abs=1e-6))
    # not the naive interval over the 5 runs (mean 0.7 too, but 4 degrees of freedom and a different sd)
    assert e.hi - e.lo == pytest.approx(2 * T975_DF2 * 0.1 / math.sqrt(3))


def test_one_fold_falls_back_to_its_seeds_and_one_run_has_no_interval():
    e = clustered(runs({(2, 0): 0.6, (2, 1): 0.8, (2, 2): 0.7}))
    assert (e.unit, e.n) == ("seeds", 3)
    assert (e.lo, e.hi) == (pytest.approx(0.451586, abs=1e-6), pytest.approx(0.948414, abs=1e-6))
    one = clustered(runs({(1, 0): 0.55}))
    assert (one.unit, one.n, one.mean) == ("run", 1, 0.55)
    assert math.isnan(one.lo) and math.isnan(one.hi) and not one.excludes_zero
    empty = clustered(runs({(1, 0): float("nan")}))
    assert empty.unit == "none" and math.isnan(empty.mean)


def test_paired_difference_matches_fold_and_seed_and_ignores_unpaired_runs():
    ref = runs({(1, 0): 0.5, (1, 1): 0.6, (2, 0): 0.7, (2, 1): 0.8})
    var = runs({(1, 0): 0.6, (1, 1): 0.8, (2, 0): 0.8, (2, 1): 0.9, (2, 2): 0.1})   # seed 2 has no partner
    e = paired(var, ref, cv_ratio=0.0, seed_floor=False)
    # differences: fold 1 (0.1, 0.2) -> 0.15, fold 2 (0.1, 0.1) -> 0.1; mean 0.125, sd 0.0353553, se 0.025
    half = T975_DF1 * 0.025
    assert (e.unit, e.n) == ("folds", 2)
    assert e.mean == pytest.approx(0.125)
    assert (e.lo, e.hi) == (pytest.approx(0.125 - half), pytest.approx(0.125 + half))
    assert (round(e.lo, 6), round(e.hi, 6)) == (-0.192655, 0.442655)
    assert not e.excludes_zero


def test_a_difference_whose_interval_excludes_zero_is_flagged():
    ref = runs({(1, 0): 0.5, (2, 0): 0.5, (3, 0): 0.5})
    up = runs({(1, 0): 0.60, (2, 0): 0.62, (3, 0): 0.64})       # +0.10, +0.12, +0.14: [0.0703, 0.1697]
    e = paired(up, ref, cv_ratio=0.0, seed_floor=False)
    assert e.excludes_zero and e.lo == pytest.approx(0.12 - T975_DF2 * 0.02 / math.sqrt(3))
    down = paired(ref, up)
    assert down.excludes_zero and down.hi < 0
    wide = paired(runs({(1, 0): 0.6, (2, 0): 0.4, (3, 0): 0.55}), ref)
    assert not wide.excludes_zero


def test_fold_means_get_the_nadeau_bengio_correction_and_seeds_of_one_fold_do_not():
    # fold means 0.6, 0.7, 0.8: s = 0.1; corrected se sqrt((1/3 + 1/3.6) * 0.01) (not 0.1 / sqrt(3))
    e = clustered(runs({(1, 0): 0.6, (2, 0): 0.7, (3, 0): 0.8}))
    half = T975_DF2 * math.sqrt((1 / 3 + 1 / 3.6) * 0.01)
    assert CV_RATIO == pytest.approx(0.277778, abs=1e-6) and half == pytest.approx(0.336354, abs=1e-6)
    assert (e.lo, e.hi) == (pytest.approx(0.7 - half), pytest.approx(0.7 + half))
    seeds = clustered(runs({(2, 0): 0.6, (2, 1): 0.8, (2, 2): 0.7}))
    assert (seeds.lo, seeds.hi) == (pytest.approx(0.451586, abs=1e-6), pytest.approx(0.948414, abs=1e-6))
    d = paired(runs({(1, 0): 0.60, (2, 0): 0.62, (3, 0): 0.64}), runs({(1, 0): 0.5, (2, 0): 0.5, (3, 0): 0.5}))
    assert d.lo == pytest.approx(0.12 - T975_DF2 * math.sqrt((1 / 3 + CV_RATIO) * 0.0004))


def test_fold_means_that_agree_by_chance_cannot_beat_the_seed_noise():
    # every fold's seeds spread 0.5 .. 0.9 (variance 0.04, 3 seeds: a fold mean carries 0.04 / 3 of seed noise),
    # but the fold means are 0.70, 0.70, 0.71: their own s^2 (3.3e-5) is far below what the seeds allow
    vals = {(f, s): v + (0.01 if f == 3 else 0.0) for f in (1, 2, 3) for s, v in enumerate((0.5, 0.7, 0.9))}
    e = clustered(runs(vals))
    half = T975_DF2 * math.sqrt((1 / 3 + CV_RATIO) * 0.04 / 3)
    assert (e.lo, e.hi) == (pytest.approx(e.mean - half), pytest.approx(e.mean + half))
    plain = clustered(runs(vals), cv_ratio=0.0, seed_floor=False)
    assert plain.hi - plain.lo < 0.1 * (e.hi - e.lo)


def test_independent_folds_take_no_overlap_correction(tmp_path):
    """Folds drawn independently (results/design.json): plain t over fold means, and the caption says so."""
    import json


    from tgdfer.report import stats
    from tgdfer.report.tables import load_records

    vals = runs({(1, 0): 0.6, (2, 0): 0.7, (3, 0): 0.8})
    pooled = clustered(vals)
    (tmp_path / "records.csv").write_text("dataset,fold,run_name,seed,which,metric,value\n")
    (tmp_path / "design.json").write_text(json.dumps({"independent_folds": True}))
    load_records(tmp_path)
    plain = clustered(vals)
    assert plain.hi - plain.lo < pooled.hi - pooled.lo
    assert plain.hi == pytest.approx(clustered(vals, cv_ratio=0.0).hi) and "no overlap correction" in stats.method()
    (tmp_path / "design.json").unlink()
    load_records(tmp_path)
    assert clustered(vals).hi == pytest.approx(pooled.hi) and stats.method() == stats.METHOD
