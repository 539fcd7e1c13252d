"""Power arithmetic for a paired comparison (variant minus TG-DFER): how wide its interval will be, and what it
could detect, for a design of folds x seeds x test clips, from the variances seen on the development draw.

In: one row a pair of runs (same fold, same seed): the paired difference `diff` (points), the variance its test
clips give it, `test_var` (`sampling_variance`), the part of that shared by the seeds of its fold, `test_shared_var`
(`shared_sampling_variance`, from the per-clip differences of the fold's seeds), and the test units `test_n` (clips a
class for UAR, scored clips for frame AUC). Out: the variance components and predictions.

The model of one paired difference d_{f,s} of fold f and seed s, with n test units a fold:
    d = mu + a_f + b_{f,s} + e_f + g_{f,s},   var a = fold, var b = seed, var e = shared / n, var g = inter / n
a: the training data; b: the training run; e: which test clips the fold drew (the same for every seed of the fold);
g: which of them this run happens to get right or wrong (clip x run). A fold's mean over S seeds has variance
    fold + (seed + inter / n) / S + shared / n
and the mean of J folds that over J, times (1 + J * ratio) where the folds' training sets overlap (the correction
the tables apply, `stats.CV_RATIO` at 5 folds; `overlap_ratio(J)` for J-fold splits) and 1 for independent ones.
The half-width of the 95% interval is t_{0.975, J-1} times its square root; `assurance` scales it to the width not
exceeded with 80% probability (sqrt(chi2_{0.8, J-1} / (J-1))); the minimum detectable effect at 80% power is
(t_{0.975, J-1} + t_{0.80, J-1}) times the standard error.
Estimates: inter + shared = mean(test_var * n); shared = mean(test_shared_var * n) (all of it where a fold has one
seed); seed = mean within-fold variance of d minus inter / n; fold = variance of the fold means minus what the
rest puts into it (both floored at 0). Folds whose training sets overlap share training data, so the fold component
they give is a lower bound for independently drawn training sets.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Components:
    fold: float              # between training sets
    seed: float              # between training runs on one training set
    shared: float            # test clips, shared by a fold's seeds: var = shared / n
    inter: float             # clip x run: var = inter / n, averaged over seeds
    folds: int               # how many folds, seeds a fold and test units a fold they were estimated from
    seeds: float
    n: float
    between: float = float("nan")   # the observed variance of the fold means (folds - 1 degrees of freedom)

    def fold_mean_var(self, seeds: int, n: float) -> float:
        return self.fold + (self.seed + self.inter / n) / seeds + self.shared / n


def fold_upper(c: Components, confidence: float = 0.8) -> Components:
    """`c` with its fold component at its one-sided `confidence` upper bound: the fold means' variance, on
    folds - 1 degrees of freedom, raised to (folds - 1) s² / chi2_{1 - confidence, folds - 1}, less what the other
    components put into it. The prediction's own uncertainty: 5 folds say little about how much training draws differ
    (on the replication draw, the fold means of the no-text frame-AUC difference varied by about 6.5 points² more
    than seed noise explains, against a fold component of 0.6 estimated on the development draw; the permuted
    descriptions' varied less than seed noise, against 71). Rough: the other components are taken as known, the bound
    collapses to the point estimate where the fold means vary less than they predict, and a half-width computed
    with it is an expected width, not a bound on an observed one."""
    if c.folds < 2 or np.isnan(c.between):
        return c
    df = c.folds - 1
    upper = c.between * df / stats.chi2.ppf(1 - confidence, df)
    rest = (c.seed + c.inter / c.n) / c.seeds + c.shared / c.n
    return replace(c, fold=max(c.fold, upper - rest))


def sampling_variance(d, groups, n_groups: int) -> float:
    """Variance that sampling the test clips gives the mean over groups of the mean of `d` in a group (UAR: groups
    are classes, d = correct_a - correct_b; frame AUC: one group, d = auc_a - auc_b): sum_g var_g / n_g / G^2."""
    d, groups = np.asarray(d, float), np.asarray(groups, int)
    out = 0.0
    for g in range(n_groups):
        dg = d[groups == g]
        if len(dg) > 1:
            out += dg.var(ddof=1) / len(dg)
    return float(out / n_groups ** 2)


def shared_sampling_variance(d_by_seed, groups, n_groups: int) -> float:
    """The part of `sampling_variance` that the seeds of a fold share: per group, the mean covariance across clips of
    two seeds' per-clip differences ([S, N], S >= 2), over n_g, summed, over G^2; nan with one seed."""
    d, groups = np.asarray(d_by_seed, float), np.asarray(groups, int)
    if d.shape[0] < 2:
        return float("nan")
    out = 0.0
    for g in range(n_groups):
        dg = d[:, groups == g]                                                  # [S, n_g]
        if dg.shape[1] > 1:
            cov = np.cov(dg)                                                    # [S, S]
            out += cov[~np.eye(len(cov), dtype=bool)].mean() / dg.shape[1]
    return float(out / n_groups ** 2)


def units_per_class(labels, n_classes: int) -> float:
    """Clips a class (harmonic mean), the `n` of a UAR difference."""
    counts = np.bincount(np.asarray(labels, int), minlength=n_classes)
    counts = counts[counts > 0]
    return float(len(counts) / np.sum(1 / counts))


def components(df: pd.DataFrame) -> Components:
    """Variance components from paired runs: columns fold, seed, diff, test_var, test_n and, where a fold has two
    seeds or more, test_shared_var (module docstring); with a column draw, a fold is a (draw, fold) pair (the
    independent folds of several draws of the benchmark pooled)."""
    df = df.dropna(subset=["diff"])
    g = df.groupby(["draw", "fold"] if "draw" in df else "fold")["diff"]     # folds of several development draws
    within = g.var(ddof=1).dropna()
    seeds, n = float(g.size().mean()), float(df["test_n"].mean())
    total = float((df["test_var"] * df["test_n"]).mean())
    shared_col = df["test_shared_var"] if "test_shared_var" in df else pd.Series(np.nan, index=df.index)
    shared = float((shared_col * df["test_n"]).mean()) if shared_col.notna().any() else total
    shared = min(max(shared, 0.0), total)
    inter = total - shared
    seed = max(0.0, (float(within.mean()) if len(within) else 0.0) - inter / n)
    means = g.mean()
    between = float(means.var(ddof=1)) if len(means) > 1 else 0.0
    fold = max(0.0, between - (seed + inter / n) / seeds - shared / n)
    return Components(fold, seed, shared, inter, int(len(means)), seeds, n, between)


def overlap_ratio(folds: int, val_fraction: float = 0.1) -> float:
    """n_test / n_train of J-fold splits with a validation share carved from training (1/3.6 at J = 5, 10%)."""
    return 1.0 / ((folds - 1) * (1 - val_fraction))


def assurance(folds: int, probability: float = 0.8) -> float:
    """Factor on an expected half-width for the width not exceeded with `probability` (chi-square on J - 1 df)."""
    df = folds - 1
    return float(np.sqrt(stats.chi2.ppf(probability, df) / df))


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


def design_grid(c: Components, folds=(3, 5, 8, 10), seeds=(1, 2, 3), n=(50, 100, 200),
                scale: float = 1.0) -> pd.DataFrame:
    """Every design of the grid, for independently drawn training sets (`independent`) and for J-fold splits of one
    pool (`overlapping`, with `overlap_ratio`): expected half-width, the half-width at 80% assurance, and the MDE;
    and (independent) the expected half-width with the fold component at its 80% upper confidence bound (`fold_upper`).
    `scale` converts clips a class into test units (frame AUC: the scored clips a class)."""
    rows = []
    for J in folds:
        for S in seeds:
            for m in n:
                row = dict(folds=J, seeds=S, runs=J * S, test_per_class=m)
                for name, ratio in (("independent", 0.0), ("overlapping", overlap_ratio(J))):
                    hw = halfwidth(c, J, S, m * scale, ratio)
                    row.update({f"halfwidth_{name}": hw, f"halfwidth80_{name}": hw * assurance(J),
                                f"mde_{name}": mde(c, J, S, m * scale, ratio)})
                row["halfwidth_foldupper80_independent"] = halfwidth(fold_upper(c, 0.8), J, S, m * scale)
                rows.append(row)
    return pd.DataFrame(rows)
