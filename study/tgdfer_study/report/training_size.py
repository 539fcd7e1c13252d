"""The training-size curve: where text priors could matter most. TG-DFER, no text and the permuted descriptions
trained on a share of each fold's training draw (`train.train_fraction`), UAR against the share with intervals, and
the paired differences TG-DFER minus each control at each share.

In: the records (run names '<run>+train_fraction=<f>'; the share 1.0 is the run without the suffix, on the curve's
seeds only, so every point rests on the same folds and seeds). Out: a markdown table and a figure. Secondary in the
analysis plan: reported with unadjusted 95% intervals, no vote.
"""
from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tgdfer.report import stats


SUFFIX = re.compile(r"\+train_fraction=([0-9.]+)$")
CURVE_RUNS = {"tgdfer": "TG-DFER", "tgdfer+text=none": "no text",
              "tgdfer+descriptions=facs-permuted": "descriptions permuted across classes"}


def curve_values(rec: pd.DataFrame, metric: str = "uar", dataset: str = "synth") -> pd.DataFrame:
    """Long table: run (the variant without the share), fraction, fold, seed, value."""
    r = rec[(rec.dataset == dataset) & (rec.metric == metric) & (rec.which == "last")]
    parts = []
    for name, g in r.groupby("run_name"):
        m = SUFFIX.search(name)
        base, frac = (name[:m.start()], float(m.group(1))) if m else (name, 1.0)
        if base in CURVE_RUNS:
            parts.append(g[["fold", "seed", "value"]].assign(run=base, fraction=frac))
    if not parts:
        return pd.DataFrame(columns=["run", "fraction", "fold", "seed", "value"])
    out = pd.concat(parts, ignore_index=True)
    small = out[out.fraction < 1]
    if small.empty:
        return small
    pairs = small[["fold", "seed"]].drop_duplicates()       # the share 1.0 on the curve's folds and seeds only
    return pd.concat([small, out[out.fraction == 1].merge(pairs, on=["fold", "seed"])], ignore_index=True)


def curve_table(rec: pd.DataFrame, metric: str = "uar", dataset: str = "synth") -> pd.DataFrame:
    """One row a share: each run's mean [95% CI], and TG-DFER minus each control (paired by fold and seed)."""
    v = curve_values(rec, metric, dataset)
    rows = []
    for frac, g in v.groupby("fraction"):
        row = {"share of training draw": f"{frac:.0%}", "folds x seeds":
               f"{g.fold.nunique()} x {g.seed.nunique()}"}
        ref = g[g.run == "tgdfer"]
        for run, label in CURVE_RUNS.items():
            row[label] = stats.pct(stats.clustered(g[g.run == run]))
        for run, label in list(CURVE_RUNS.items())[1:]:
            e = stats.paired(ref, g[g.run == run])
            row[f"TG-DFER minus {label}"] = stats.pct(e, sign=True) + ("*" if e.excludes_zero else "")
        rows.append(row)
    return pd.DataFrame(rows)


def curve_figure(rec: pd.DataFrame, metric: str = "uar", dataset: str = "synth", clips: int | None = None):
    """UAR against the share of the training draw, mean and 95% interval a point, one line a run."""
    v = curve_values(rec, metric, dataset)
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for i, (run, label) in enumerate(CURVE_RUNS.items()):
        pts = [(f, stats.clustered(g)) for f, g in v[v.run == run].groupby("fraction")]
        if not pts:
            continue
        x = np.array([f for f, _ in pts]) * (1 + 0.03 * (i - 1))        # a small offset keeps the bars apart
        m = np.array([100 * e.mean for _, e in pts])
        err = np.array([[100 * (e.mean - e.lo), 100 * (e.hi - e.mean)] for _, e in pts]).T
        ax.errorbar(x, m, yerr=np.nan_to_num(err), marker="o", capsize=3, label=label)
    ax.set_xscale("log")
    fr = sorted(v.fraction.unique())
    ax.set_xticks(fr, [f"{f:.0%}" + (f"\n({round(f * clips)} clips)" if clips else "") for f in fr])
    ax.minorticks_off()
    ax.set_xlabel("share of each fold's training draw")
    ax.set_ylabel(f"{metric.upper()} (%)")
    ax.set_title("Training-size curve (generated benchmark; mean, 95% CI over folds)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


__all__ = ["curve_values", "curve_table", "curve_figure", "CURVE_RUNS"]
