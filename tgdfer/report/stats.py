"""Statistics for the tables: mean and 95% confidence interval over fold x seed runs, paired differences.

In: values with their fold and seed (a DataFrame with columns fold, seed, value). Out: `Estimate`s.
Runs of one fold share their test clips, so a fold is a cluster: seeds are averaged within a fold and
a t-interval (scipy's t quantiles) is taken over the J fold means with J - 1 degrees of freedom. The folds'
training sets overlap (in 5-fold cross-validation any two share 3 of their 4 folds), so fold means are
not independent and s^2 / J understates the variance of their mean; the tables use the correction of
Nadeau and Bengio (2003, "Inference for the generalization error"), (1/J + n_test/n_train) s^2 with
n_test/n_train = 1/4 for 5 folds (`CV_RATIO`), which widens a 5-fold interval by 1.5x and a 3-fold one by
1.3x. With one fold the interval is over its seeds (no correction: the seeds share one training set);
with one run there is none. A difference to the reference run is paired on (fold, seed) and summarised
the same way; it is marked where its interval excludes 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95
CV_RATIO = 0.25           # n_test / n_train of one fold of 5-fold cross-validation (Nadeau-Bengio correction)
METHOD = ("mean [95% CI] over the fold x seed runs: seeds averaged within a fold, t-interval over the J fold means "
          "(J - 1 degrees of freedom) with the variance corrected for the folds' overlapping training sets "
          "(Nadeau & Bengio 2003: (1/J + 1/4) s² in place of s²/J); with one fold, t-interval over its seeds; "
          "one run: no interval; intervals are not clipped to [0, 100]")
PAIRED = ("Δ [95% CI]: the row minus TG-DFER on the same fold and seed (runs without a partner left out), "
          "interval as above; * where the interval excludes 0")


@dataclass(frozen=True)
class Estimate:
    mean: float
    lo: float                 # nan when there is no interval
    hi: float
    n: int                    # how many values the interval is over (fold means, or seeds of the one fold)
    unit: str                 # "folds" | "seeds" | "run" | "none"

    @property
    def excludes_zero(self) -> bool:
        return bool(self.lo > 0 or self.hi < 0)          # False when there is no interval (nan)


NONE = Estimate(float("nan"), float("nan"), float("nan"), 0, "none")


def t_interval(values, level: float = LEVEL, ratio: float = 0.0) -> tuple[float, float, float]:
    """(mean, lo, hi) of a t-interval with len - 1 degrees of freedom; lo = hi = nan for one value.
    `ratio` > 0: the standard error is sqrt((1/n + ratio) s^2) (Nadeau-Bengio) instead of sqrt(s^2 / n)."""
    v = np.asarray(values, float)
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    se = float(np.sqrt((1 / len(v) + ratio) * v.var(ddof=1)))
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * se)
    return m, m - half, m + half


def clustered(df: pd.DataFrame, value: str = "value", level: float = LEVEL, cv_ratio: float = CV_RATIO) -> Estimate:
    """Mean and interval of `value` over runs (columns fold, seed), folds as clusters (module docstring);
    `cv_ratio` = 0 gives the uncorrected interval over fold means."""
    df = df.dropna(subset=[value])
    if df.empty:
        return NONE
    folds = df.groupby("fold")[value].mean()
    if len(folds) > 1:
        values, unit = folds.to_numpy(), "folds"
    else:
        values, unit = df[value].to_numpy(), ("seeds" if len(df) > 1 else "run")
    m, lo, hi = t_interval(values, level, cv_ratio if unit == "folds" else 0.0)
    return Estimate(m, lo, hi, len(values), unit)


def paired(df: pd.DataFrame, ref: pd.DataFrame, value: str = "value", level: float = LEVEL,
           cv_ratio: float = CV_RATIO) -> Estimate:
    """`df - ref` matched on (fold, seed), then `clustered`; runs without a partner are left out."""
    both = df[["fold", "seed", value]].merge(ref[["fold", "seed", value]], on=["fold", "seed"], suffixes=("", "_ref"))
    return clustered(both.assign(diff=both[value] - both[f"{value}_ref"]), "diff", level, cv_ratio)


def pct(e: Estimate, sign: bool = False) -> str:
    """'67.7 [64.3, 71.1]' (in %), '67.7' without an interval, '-' for no value. A bound that would print as
    0.0 gets two decimals, so the side of 0 it lies on (what '*' and the claims' verdicts read) stays visible."""
    if e.unit == "none" or np.isnan(e.mean):
        return "-"
    f = "{:+.1f}" if sign else "{:.1f}"

    def bound(x: float) -> str:
        return (f.replace(".1f", ".2f") if 0 < abs(100 * x) < 0.05 else f).format(100 * x)
    out = f.format(100 * e.mean)
    return out if np.isnan(e.lo) else f"{out} [{bound(e.lo)}, {bound(e.hi)}]"


__all__ = ["Estimate", "pct", "t_interval", "clustered", "paired", "METHOD", "PAIRED", "LEVEL", "CV_RATIO"]
