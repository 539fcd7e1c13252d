"""Power arithmetic for a paired comparison (variant minus TG-DFER): how wide its interval will be, and what it
could detect, for a design of folds x seeds x test clips, from the variances seen on the development draw.

In: one row a pair of runs (same fold, same seed): the paired difference `diff` and the sampling variance its
test clips alone give it, `test_var` (`uar_test_variance`, `auc_test_variance`), with the test set's size `test_n`
(clips a class for UAR, scored clips for frame AUC). Out: the variance components and predictions.

The model of one paired difference d_{f,s} of fold f and seed s:
    d = mu + a_f + b_{f,s} + e_f,   var a = fold (training data), var b = seed (training run), var e = test / n
where e, the test clips' share, is common to the seeds of a fold (they read the same test clips). So a fold's mean
over S seeds has variance  fold + seed / S + test / n,  and the mean of J folds has that over J (times
(1 + J * ratio) where the folds' training sets overlap: `stats.CV_RATIO`, Nadeau-Bengio; 0 for training sets drawn
independently). The 95% interval's half-width is t_{0.975, J-1} times its square root; the minimum detectable
effect at 80% power is (t_{0.975, J-1} + t_{0.80, J-1}) times it.
Estimates: seed = the mean within-fold variance of d; test = the mean of test_var * test_n; fold = the variance of
the fold means minus what seeds and test clips put into it (floored at 0).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Components:
    fold: float              # between training sets
    seed: float              # between training runs on one training set
    test: float              # per test unit: var(test share of d) = test / n
    folds: int               # how many folds and seeds a fold they were estimated from
    seeds: float

    def fold_mean_var(self, seeds: int, n: float) -> float:
        return self.fold + self.seed / seeds + self.test / n


def uar_test_variance(labels, correct_a, correct_b, n_classes: int) -> tuple[float, float]:
    """(variance of the UAR difference a - b that sampling these test clips gives, clips a class).

    UAR is the mean over classes of recall, so its paired difference is the mean over classes of the mean over
    a class's clips of (correct_a - correct_b): var = sum_c var_c / n_c / C^2. Returns it with the harmonic mean
    of clips a class, so that var * n / m predicts the variance at m clips a class."""
    labels = np.asarray(labels, int)
    d = np.asarray(correct_a, float) - np.asarray(correct_b, float)
    var, counts = 0.0, []
    for c in range(n_classes):
        dc = d[labels == c]
        if len(dc) > 1:
            var += dc.var(ddof=1) / len(dc)
            counts.append(len(dc))
    var /= n_classes ** 2
    n = len(counts) / sum(1 / k for k in counts) if counts else float("nan")
    return float(var), float(n)


def auc_test_variance(auc_a, auc_b) -> tuple[float, float]:
    """(variance of the mean per-clip frame-AUC difference from sampling the clips, clips scored)."""
    d = np.asarray(auc_a, float) - np.asarray(auc_b, float)
    d = d[~np.isnan(d)]
    return (float(d.var(ddof=1) / len(d)), float(len(d))) if len(d) > 1 else (float("nan"), float(len(d)))


def components(df: pd.DataFrame) -> Components:
    """Variance components from paired runs: columns fold, seed, diff, test_var, test_n (module docstring)."""
    df = df.dropna(subset=["diff"])
    g = df.groupby("fold")["diff"]
    within = g.var(ddof=1).dropna()
    seed = float(within.mean()) if len(within) else 0.0
    seeds = float(g.size().mean())
    test = float((df["test_var"] * df["test_n"]).mean())
    n = float(df["test_n"].mean())
    means = g.mean()
    between = float(means.var(ddof=1)) if len(means) > 1 else 0.0
    fold = max(0.0, between - seed / seeds - test / n)
    return Components(fold, seed, test, int(len(means)), seeds)


def halfwidth(c: Components, folds: int, seeds: int, n: float, ratio: float = 0.0, level: float = 0.95) -> float:
    """Predicted half-width of the interval of the mean paired difference over `folds` folds x `seeds` seeds with
    `n` test units a fold (`ratio`: the overlap correction of stats.py; 0 for independent training sets)."""
    if folds < 2:
        return float("inf")
    se = np.sqrt(c.fold_mean_var(seeds, n) * (1 / folds + ratio))
    return float(stats.t.ppf(0.5 + level / 2, folds - 1) * se)


def mde(c: Components, folds: int, seeds: int, n: float, ratio: float = 0.0, level: float = 0.95,
        power: float = 0.8) -> float:
    """Smallest true difference a two-sided test at 1 - `level` finds with probability `power` in this design."""
    if folds < 2:
        return float("inf")
    se = np.sqrt(c.fold_mean_var(seeds, n) * (1 / folds + ratio))
    df = folds - 1
    return float((stats.t.ppf(0.5 + level / 2, df) + stats.t.ppf(power, df)) * se)


def design_grid(c: Components, folds=(3, 5, 8, 10), seeds=(1, 2, 3), n=(50, 100, 200), ratio: float = 0.0,
                scale: float = 1.0) -> pd.DataFrame:
    """Half-width and MDE of every design in the grid; `scale` converts `n` into test units (e.g. 6 scored clips
    a class for frame AUC, where neutral clips have no expressive frame)."""
    rows = [dict(folds=J, seeds=S, runs=J * S, test_per_class=m, halfwidth=halfwidth(c, J, S, m * scale, ratio),
                 mde=mde(c, J, S, m * scale, ratio)) for J in folds for S in seeds for m in n]
    return pd.DataFrame(rows)
