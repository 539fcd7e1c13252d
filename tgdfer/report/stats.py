"""Statistics for the tables: mean and 95% confidence interval over fold x seed runs, paired differences.

In: values with their fold and seed (a DataFrame with columns fold, seed, value). Out: `Estimate`s.
Runs of one fold share their test clips, so a fold is a cluster: seeds are averaged within a fold and
a t-interval (scipy's t quantiles) is taken over the J fold means with J - 1 degrees of freedom. Two
corrections make it honest about what J = 3 or 5 fold means can show:
- The folds' training sets overlap (in 5-fold cross-validation any two share 3 of their 4 folds), so fold
  means are not independent and s^2 / J understates the variance of their mean. The corrected resampled
  t-test of Nadeau and Bengio (2003), in its k-fold form (Bouckaert and Frank 2004), uses
  (1/J + n_test/n_train) s^2 instead; here n_test/n_train = 1/3.6 (a test fold against the 4 training
  folds less the 10% held out for validation: `CV_RATIO`). Where the folds are independent draws (the generated
  benchmark's format 3 with `independent`: `results/design.json`), no correction applies (`use_design`). It was derived for differences between two
  learners on the same splits (the paired Δ of the tables) and is applied to single means the same way.
  It is a heuristic: no unbiased variance estimate exists for k-fold cross-validation (Bengio and
  Grandvalet 2004). It widens a 5-fold interval by about 1.5x and a 3-fold one by about 1.4x.
- A floor: the fold means' variance is taken as at least the seeds' variance within a fold divided by
  the seeds a fold, since each fold mean carries that much seed noise; three fold means that happen to
  agree cannot give an interval narrower than the seed noise allows.
With one fold the interval is over its seeds (seed noise only: the seeds share one training set and one
test fold); with one run there is none. A difference to the reference run is paired on (fold, seed) and
summarised the same way; it is marked where its interval excludes 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95
CV_RATIO = 1 / 3.6        # n_test / n_train: a test fold against 4 training folds less 10% validation (Nadeau-Bengio)
METHOD = ("mean [95% CI] over the fold x seed runs: seeds averaged within a fold, t-interval over the J fold means "
          "(J - 1 degrees of freedom) with the variance corrected for the folds' overlapping training sets "
          "(Nadeau & Bengio 2003: (1/J + n_test/n_train) s² in place of s²/J, n_test/n_train = 1/3.6) and s² at "
          "least the within-fold seed variance over the seeds a fold; with one fold, t-interval over its seeds; "
          "one run: no interval; intervals are not clipped to [0, 100]")
METHOD_INDEPENDENT = ("mean [95% CI] over the fold x seed runs: seeds averaged within a fold, t-interval over the J "
                      "fold means (J - 1 degrees of freedom; the folds are independent draws of the benchmark, training "
                      "and test clips alike, so no overlap correction) with s² at least the within-fold seed variance "
                      "over the seeds a fold; with one fold, t-interval over its seeds; one run: no interval; intervals "
                      "are not clipped to [0, 100]")
# How the folds of the records at hand were drawn: J-fold splits of one pool (the default: DFEW, FERV39k, the generated
# benchmark's format 2) or independent draws (`results/design.json`, written by `collect`; set by `use_design`).
_DESIGN = {"independent": False}


def use_design(independent: bool) -> None:
    """Intervals for folds drawn independently (plain t over fold means) or as J-fold splits of one pool (corrected)."""
    _DESIGN["independent"] = bool(independent)


def design_cv_ratio() -> float:
    return 0.0 if _DESIGN["independent"] else CV_RATIO


def method() -> str:
    """The caption of the intervals for the design in use."""
    return METHOD_INDEPENDENT if _DESIGN["independent"] else METHOD
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


def t_interval(values, level: float = LEVEL, ratio: float = 0.0, min_var: float = 0.0) -> tuple[float, float, float]:
    """(mean, lo, hi) of a t-interval with len - 1 degrees of freedom; lo = hi = nan for one value.
    `ratio` > 0: the standard error is sqrt((1/n + ratio) s^2) (Nadeau-Bengio) instead of sqrt(s^2 / n);
    `min_var`: s^2 is taken as at least this."""
    v = np.asarray(values, float)
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    se = float(np.sqrt((1 / len(v) + ratio) * max(float(v.var(ddof=1)), min_var)))
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * se)
    return m, m - half, m + half


def seed_noise(df: pd.DataFrame, value: str = "value") -> float:
    """The variance a fold mean carries from its seeds: mean within-fold seed variance / mean seeds a fold
    (0 where no fold has two seeds)."""
    g = df.groupby("fold")[value]
    var = g.var(ddof=1).dropna()
    return float(var.mean() / g.size()[var.index].mean()) if len(var) else 0.0


def clustered(df: pd.DataFrame, value: str = "value", level: float = LEVEL, cv_ratio: float | None = None,
              seed_floor: bool = True) -> Estimate:
    """Mean and interval of `value` over runs (columns fold, seed), folds as clusters (module docstring);
    `cv_ratio` = 0 and `seed_floor` = False give the plain t-interval over fold means; None: the design's."""
    cv_ratio = design_cv_ratio() if cv_ratio is None else cv_ratio
    df = df.dropna(subset=[value])
    if df.empty:
        return NONE
    folds = df.groupby("fold")[value].mean()
    if len(folds) > 1:
        values, unit = folds.to_numpy(), "folds"
    else:
        values, unit = df[value].to_numpy(), ("seeds" if len(df) > 1 else "run")
    if unit == "folds":
        m, lo, hi = t_interval(values, level, cv_ratio, seed_noise(df, value) if seed_floor else 0.0)
    else:
        m, lo, hi = t_interval(values, level)
    return Estimate(m, lo, hi, len(values), unit)


def paired(df: pd.DataFrame, ref: pd.DataFrame, value: str = "value", level: float = LEVEL,
           cv_ratio: float | None = None, seed_floor: bool = True) -> Estimate:
    """`df - ref` matched on (fold, seed), then `clustered`; runs without a partner are left out."""
    both = df[["fold", "seed", value]].merge(ref[["fold", "seed", value]], on=["fold", "seed"], suffixes=("", "_ref"))
    return clustered(both.assign(diff=both[value] - both[f"{value}_ref"]), "diff", level, cv_ratio, seed_floor)


def run_values(rec: pd.DataFrame, run_name: str, metric: str, dataset: str, which: str = "last") -> pd.DataFrame:
    """One value a run from the records (`results/records.csv`): columns fold, seed, value."""
    sel = rec[(rec.run_name == run_name) & (rec.metric == metric) & (rec.dataset == dataset) & (rec.which == which)]
    return sel[["fold", "seed", "value"]]


def war_key(rec: pd.DataFrame, dataset: str) -> str:
    """'war_dfew' where the test splits are balanced (WAR equals UAR in every TG-DFER run, so it adds nothing) and the
    records hold WAR under DFEW's class frequencies; else 'war'."""
    r = rec[(rec.dataset == dataset) & (rec.run_name == "tgdfer") & (rec.which == "last")]
    if "war_dfew" not in set(r.metric):
        return "war"
    v = r.pivot_table(index=["fold", "seed"], columns="metric", values="value")
    return "war_dfew" if len(v) and np.allclose(v["war"], v["uar"], atol=1e-9) else "war"


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


__all__ = ["Estimate", "pct", "run_values", "t_interval", "clustered", "paired", "METHOD", "PAIRED", "LEVEL", "CV_RATIO",
           "use_design", "design_cv_ratio", "method", "war_key"]
