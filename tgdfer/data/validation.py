"""A validation split carved from a training fold: stratified by label, grouped by identity where known.

Model selection (epochs, hyper-parameters, design variants) happens on it, never on a test split.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit

from .ground_truth import clip_table


def split_validation(table: pd.DataFrame, fraction: float, seed: int, groups: pd.Series | None = None):
    """(train, val) tables; val is None when `fraction` is 0."""
    if fraction <= 0:
        return table, None
    if groups is not None and groups.nunique() > 1:
        gss = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        tr, va = next(gss.split(table, table["label"], groups))
    else:
        try:
            sss = StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
            tr, va = next(sss.split(table, table["label"]))
        except ValueError:                    # a class with a single clip cannot be stratified
            rng = np.random.default_rng(seed)
            perm = rng.permutation(len(table))
            n = max(1, int(round(fraction * len(table))))
            va, tr = perm[:n], perm[n:]
    return table.iloc[np.sort(tr)].reset_index(drop=True), table.iloc[np.sort(va)].reset_index(drop=True)


SUBSET_SALT = 20261202


def subsample(table: pd.DataFrame, fraction: float, fold: int) -> pd.DataFrame:
    """A stratified `fraction` of `table` (at least one clip a class), drawn by the fold alone: every variant and
    seed of a fold draws from the same clips (a validation split, if any, is carved from them afterwards), so
    differences along a training-size curve are paired."""
    if not 0 < fraction <= 1:
        raise ValueError(f"train_fraction must be in (0, 1] (got {fraction})")
    if fraction == 1:
        return table
    rng = np.random.default_rng([SUBSET_SALT, int(fold)])
    keep = []
    for _, idx in sorted(table.groupby("label").indices.items()):
        n = max(1, int(round(fraction * len(idx))))
        keep.extend(rng.choice(idx, size=n, replace=False))
    return table.iloc[np.sort(keep)].reset_index(drop=True)


def groups_for(table: pd.DataFrame, root) -> pd.Series | None:
    """The identity of each clip (generated benchmark), else the table's `group` column where filled."""
    gt = clip_table(root)
    if gt is not None:
        m = dict(zip(gt["clip_id"], gt["identity"].astype(str)))
        return table["clip_id"].map(m).fillna("")
    return table["group"] if (table["group"] != "").any() else None
