"""On balanced test splits WAR equals UAR: the tables show WAR under DFEW's class frequencies instead."""
import pandas as pd
import pytest

from tgdfer.classes import dfew_frequencies
from tgdfer.report.collect import _war_dfew
from tgdfer.report.stats import war_key
from tgdfer.report.tables import chance


def _rec(uar, war, war_dfew=None):
    rows = []
    for fold in (1, 2):
        base = dict(dataset="synth", fold=fold, run_name="tgdfer", seed=0, which="last")
        rows += [dict(base, metric="uar", value=uar), dict(base, metric="war", value=war)]
        if war_dfew is not None:
            rows.append(dict(base, metric="war_dfew", value=war_dfew))
    return pd.DataFrame(rows)


def test_war_under_dfew_frequencies():
    f = dfew_frequencies()
    recall = {c: (1.0 if c == "happiness" else 0.0) for c in f}
    assert _war_dfew(recall) == pytest.approx(f["happiness"])
    assert _war_dfew({**recall, "sadness": None}) is None and _war_dfew({"a": 1.0}) is None


def test_the_tables_switch_only_where_the_test_splits_are_balanced():
    assert war_key(_rec(0.5, 0.5, 0.6), "synth") == "war_dfew"
    assert war_key(_rec(0.5, 0.55, 0.6), "synth") == "war"           # DFEW-style folds: WAR says something
    assert war_key(_rec(0.5, 0.5), "synth") == "war"                  # older records: nothing to switch to
    uar, war = chance(_rec(0.5, 0.5, 0.6), pd.DataFrame(), "synth")
    assert uar == "14.3" and war == f"{100 * max(dfew_frequencies().values()):.1f}"
