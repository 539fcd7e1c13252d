"""Verdicts on a claim's primary comparison, as an analysis plan states them: a directional test corrected for
multiple comparisons (Holm), an equivalence test (two one-sided tests), and the smallest effect the design could
have detected.

In: a paired difference's `stats.Estimate` (variant minus TG-DFER, with its 95% t-interval over J fold means or
seeds), the direction the paper predicts (-1: the variant scores lower), the plan's margin and its alpha. Out: one
of four verdicts, with the numbers behind it:
- supports / contradicts: the two-sided test of 0 rejects after Holm's correction over the plan's primary
  comparisons, and the difference lies in / against the predicted direction;
- "no effect larger than the margin": not rejected, and the 90% interval (two one-sided tests at 5% each) lies
  inside (-margin, +margin);
- cannot tell: neither; printed with the minimum detectable effect at 80% power.
A significant difference whose 90% interval also lies inside the margin keeps its directional verdict and is
flagged `within_margin` (real, but smaller than the margin). Only an interval over fold means (unit 'folds') is
decided: one fold's seeds share its training set and test clips, so their spread is not the comparison's noise.
Units: the Estimate's (the records hold fractions, so a 3-point margin is 0.03).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as st
from scipy.optimize import brentq

from tgdfer.report.stats import LEVEL, Estimate


VERDICTS = ("supports", "contradicts", "no effect larger than the margin", "cannot tell")


def standard_error(e: Estimate, level: float = LEVEL) -> tuple[float, int]:
    """(standard error, degrees of freedom) behind an Estimate's t-interval; (nan, 0) without one."""
    if e.n < 2 or np.isnan(e.lo):
        return float("nan"), 0
    df = e.n - 1
    return float((e.hi - e.mean) / st.t.ppf(0.5 + level / 2, df)), df


def p_value(e: Estimate) -> float:
    """Two-sided p of the t-test of 0 behind `e` (nan without an interval; 0 or 1 where the se is 0)."""
    se, df = standard_error(e)
    if not df:
        return float("nan")
    if se == 0:
        return 0.0 if e.mean != 0 else 1.0
    return float(2 * st.t.sf(abs(e.mean / se), df))


def holm(p: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (nan stays nan and does not count as a comparison)."""
    p = np.asarray(p, float)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    out = np.full(len(p), np.nan)
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))
        out[j] = running
    return out.tolist()


def equivalence_interval(e: Estimate, level: float = 0.90) -> tuple[float, float]:
    """The (1 - 2 alpha) interval of two one-sided tests at alpha each (90% for alpha = 5%)."""
    se, df = standard_error(e)
    if not df:
        return float("nan"), float("nan")
    half = float(st.t.ppf(0.5 + level / 2, df) * se)
    return e.mean - half, e.mean + half


def min_detectable(e: Estimate, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true difference a two-sided t-test at `alpha` finds with probability `power`, at this standard error:
    the noncentrality d at which the noncentral t (df of the Estimate) exceeds the critical value with probability
    `power`, times the se. (The shortcut (t_{1-alpha/2} + t_power) se gives 73% power, not 80, at df 4 and alpha/12.)"""
    se, df = standard_error(e)
    if not df:
        return float("nan")
    c = st.t.ppf(1 - alpha / 2, df)

    def short(d: float) -> float:          # scipy's nct gives nan deep in a tail: the lower tail is then 0, the upper 1
        upper, lower = st.nct.sf(c, df, d), st.nct.cdf(-c, df, d)
        return float(np.nan_to_num(upper, nan=1.0) + np.nan_to_num(lower, nan=0.0)) - power
    return float(brentq(short, 0.0, 40.0) * se)


@dataclass(frozen=True)
class Decision:
    verdict: str
    p: float
    p_adjusted: float
    equivalence: tuple[float, float]
    mde: float
    within_margin: bool = False


def decide(e: Estimate, direction: int, p_adjusted: float, margin: float, alpha: float = 0.05,
           comparisons: int = 1) -> Decision:
    """The verdict of one primary comparison (module docstring); `direction` -1 or +1 as the paper predicts. The
    minimum detectable effect is taken at alpha / `comparisons` (the level of Holm's first, strictest step)."""
    if e.unit != "folds":
        return Decision("cannot tell", float("nan"), p_adjusted, (float("nan"), float("nan")), float("nan"))
    lo, hi = equivalence_interval(e, 1 - 2 * alpha)
    inside = bool(not np.isnan(lo) and -margin < lo and hi < margin)
    mde = min_detectable(e, alpha / comparisons)
    if not np.isnan(p_adjusted) and p_adjusted < alpha:
        word = "supports" if np.sign(e.mean) == direction else "contradicts"
    elif inside:
        word = "no effect larger than the margin"
    else:
        word = "cannot tell"
    return Decision(word, p_value(e), p_adjusted, (lo, hi), mde, inside)
