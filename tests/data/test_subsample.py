"""A share of a fold's training clips for the training-size curve: stratified, fixed by the fold."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tgdfer.config import load_config
from tgdfer.data.validation import subsample


def _table(n=400):
    rng = np.random.default_rng(0)
    labels = rng.choice(7, size=n, p=[0.2, 0.16, 0.23, 0.19, 0.12, 0.02, 0.08])
    return pd.DataFrame({"clip_id": [f"{i:05d}" for i in range(n)], "label": labels})


def test_stratified_fixed_by_fold():
    t = _table()
    a, b, c = subsample(t, 0.25, 1), subsample(t, 0.25, 1), subsample(t, 0.25, 2)
    assert a.equals(b) and not a.equals(c)
    assert abs(len(a) - 100) <= 7
    share = a.label.value_counts(normalize=True).sort_index()
    full = t.label.value_counts(normalize=True).sort_index()
    assert np.abs(share - full).max() < 0.03 and a.label.nunique() == 7
    assert set(subsample(t, 0.1, 1).clip_id) <= set(t.clip_id)
    assert subsample(t, 1.0, 3) is t


def test_fraction_checked_and_configurable():
    with pytest.raises(ValueError, match=r"train_fraction must be in \(0, 1\]"):
        subsample(_table(), 0.0, 1)
    assert load_config("tgdfer-tiny", overrides={"train.train_fraction": 0.1}).train.train_fraction == 0.1


def test_a_run_written_before_the_switch_still_resumes():
    """resume compares identities; a saved one without train.train_fraction gets the default filled in."""
    from tgdfer.engine.run import with_new_defaults

    cfg = load_config("tgdfer-tiny").to_dict()
    current = {"fold": 1, "seed": 0, "config": cfg}
    old = {"fold": 1, "seed": 0, "config": {**cfg, "train": {k: v for k, v in cfg["train"].items() if k != "train_fraction"}}}
    assert old != current and with_new_defaults(old) == current
    other = {"fold": 1, "seed": 0, "config": {**cfg, "train": {**cfg["train"], "train_fraction": 0.5}}}
    assert with_new_defaults(other) != current
