"""Statistics for the tables: mean and 95% confidence interval over fold x seed runs, paired differences.

In: values with their fold and seed (a DataFrame with columns fold, seed, value). Out: `Estimate`s.
Runs of one fold share their test clips, so a fold is a cluster: seeds are averaged within a fold and
a t-interval (scipy's t quantiles) is taken over the fold means with folds - 1 degrees of freedom;
with one fold, over its seeds; with one run, no interval. A difference to the reference run is
paired on (fold, seed) and summarised the same way; it is marked where its interval excludes 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95
METHOD = ("mean [95% CI] over the fold x seed runs: seeds averaged within a fold, t-interval over the fold means "
          "(folds - 1 degrees of freedom); with one fold, t-interval over its seeds; one run: no interval; "
          "intervals are not clipped to [0, 100]")
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


def t_interval(values, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, lo, hi) of a t-interval with len - 1 degrees of freedom; lo = hi = nan for one value."""
    v = np.asarray(values, float)
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return m, m - half, m + half


def clustered(df: pd.DataFrame, value: str = "value", level: float = LEVEL) -> Estimate:
    """Mean and interval of `value` over runs (columns fold, seed), folds as clusters (module docstring)."""
    df = df.dropna(subset=[value])
    if df.empty:
        return NONE
    folds = df.groupby("fold")[value].mean()
    if len(folds) > 1:
        values, unit = folds.to_numpy(), "folds"
    else:
        values, unit = df[value].to_numpy(), ("seeds" if len(df) > 1 else "run")
    m, lo, hi = t_interval(values, level)
    return Estimate(m, lo, hi, len(values), unit)


def paired(df: pd.DataFrame, ref: pd.DataFrame, value: str = "value", level: float = LEVEL) -> Estimate:
    """`df - ref` matched on (fold, seed), then `clustered`; runs without a partner are left out."""
    both = df[["fold", "seed", value]].merge(ref[["fold", "seed", value]], on=["fold", "seed"], suffixes=("", "_ref"))
    return clustered(both.assign(diff=both[value] - both[f"{value}_ref"]), "diff", level)


__all__ = ["Estimate", "t_interval", "clustered", "paired", "METHOD", "PAIRED", "LEVEL"]
