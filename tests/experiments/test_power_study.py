"""The power study's summary and table, on simulated pairs (the runs themselves are the engine's, tested there)."""
from __future__ import annotations

import numpy as np
import pytest
import pandas as pd

from tgdfer_study.power_study import COMPARISONS, power_markdown, summarise


def test_summary_and_table_from_pairs():
    rng = np.random.default_rng(0)
    rows = []
    for name in COMPARISONS:
        for metric, n in (("uar", 50.0), ("frame_auc", 300.0)):
            for f in range(1, 6):
                shift = rng.normal(0, 1)
                for s in range(2):
                    rows.append(dict(comparison=name, metric=metric, fold=f, seed=s, diff=-3 + shift + rng.normal(0, 2),
                                     test_var=rng.uniform(300, 500) / n, test_shared_var=200 / n, test_n=n))
    res = summarise(pd.DataFrame(rows))
    res.update(folds=[1, 2, 3, 4, 5], seeds=[0, 1])
    r = res["comparisons"]["no text"]["uar"]
    assert r["pairs"] == 10 and abs(r["components"]["shared"] - 200) < 1e-6 and 100 < r["components"]["inter"] < 300
    assert {"folds", "seeds", "test_per_class", "halfwidth_independent", "halfwidth80_independent",
            "halfwidth_overlapping", "mde_independent"} <= set(r["grid"][0])
    assert res["comparisons"]["no text"]["frame_auc"]["components"]["units_per_class"] == 6.0
    md = power_markdown(res)
    assert "| no text | uar |" in md and "| 10 | 20 | 200 | 200 |" in md and "| permuted descriptions | frame_auc |" in md


def test_warm_cache_encodes_every_folds_clips(tmp_path, monkeypatch):
    """With held-out test splits fold 1's two splits miss the other folds' test clips: the warm-up must encode them,
    or every run of another fold encodes them again on one core."""
    from tgdfer.engine import feature_cache
    from tgdfer_study.cache_service import warm_cache
    from tgdfer.synth.generate import GenerateConfig, generate

    root = generate(tmp_path / "b", GenerateConfig(clips=20, size=32, videos=False, test_per_class=1,
                                                   independent=True), workers=1)
    seen = []
    monkeypatch.setattr(feature_cache.FeatureCache, "get", lambda self, table, kind, *a, **k: seen.append((kind, set(table.path))))
    warm_cache("dfew", root, "tgdfer-tiny", tmp_path / "cache")
    from tgdfer.data.layouts import load_split

    train = {p for k in range(1, 6) for p in load_split("dfew", root, k, "train").path}
    every = train | {p for k in range(1, 6) for p in load_split("dfew", root, k, "test").path}
    assert len(train) == 5 * 20 and len(every) == 5 * 20 + 5 * 7
    assert seen == [("train", train), ("test", every)]


def test_warm_cache_with_seeds_encodes_test_views_of_test_and_those_seeds_validation_clips(tmp_path, monkeypatch):
    """The demo knows its seeds: test views only for the test splits and the validation splits those seeds carve,
    exactly the clips `load_tables` gives its runs (a run of another seed would encode what it misses itself)."""
    from tgdfer.config import load_config
    from tgdfer.engine import feature_cache
    from tgdfer.engine.run import load_tables
    from tgdfer_study.cache_service import warm_cache
    from tgdfer.synth.generate import GenerateConfig, generate

    root = generate(tmp_path / "b", GenerateConfig(clips=40, size=32, videos=False, test_per_class=1,
                                                   independent=True), workers=1)
    seen = []
    monkeypatch.setattr(feature_cache.FeatureCache, "get", lambda self, table, kind, *a, **k: seen.append((kind, set(table.path))))
    warm_cache("dfew", root, "tgdfer-tiny", tmp_path / "cache", seeds=(0, 1))
    tc = load_config("tgdfer-tiny").train
    runs = [load_tables("dfew", root, k, "frames", 1, tc, s) for k in range(1, 6) for s in (0, 1)]
    read = {p for d in runs for t in (d.val_t, d.test_t) for p in t.path}
    train = {p for d in runs for p in d.train_t.path}
    assert seen[1] == ("test", read) and len(read) < len(train | read)       # fewer than every clip
    assert {p for d in runs for p in d.val_t.path} <= read and seen[0][1] >= train


def test_resummarise_from_the_committed_pairs_gives_the_committed_study(tmp_path):
    import json

    from tgdfer_study.power_study import resummarise
    from tgdfer.paths import repo_root

    dev = repo_root() / "results" / "development"
    got = resummarise(dev / "power_pairs_format3.csv", tmp_path)
    assert got == json.loads((dev / "power_format3.json").read_text())
    assert (tmp_path / "power.md").read_text() == (dev / "power_format3.md").read_text()


def _study(folder, draw, shift, rng, with_draw_column=True):
    """A power study's pairs CSV and JSON as `run_power_study` writes them, on simulated pairs of one draw."""
    import json

    rows = []
    for name in COMPARISONS:
        for metric, n in (("uar", 100.0), ("frame_auc", 600.0)):
            for f in range(1, 6):
                a = rng.normal(0, 3)
                for s in range(4):
                    rows.append(dict(comparison=name, metric=metric, fold=f, seed=s, diff=shift + a + rng.normal(0, 2),
                                     test_var=400 / n, test_shared_var=200 / n, test_n=n))
    pairs = pd.DataFrame(rows)
    if with_draw_column:
        pairs.insert(0, "draw", draw)
    folder.mkdir()
    pairs.to_csv(folder / "power_pairs.csv", index=False)
    (folder / "power.json").write_text(json.dumps({"draw": draw, "folds": [1, 2, 3, 4, 5], "seeds": [0, 1, 2, 3],
                                                   "config": "tgdfer-tiny-f3", "class_recall": {}}))
    return pairs


def test_studies_of_two_development_draws_pool_their_folds(tmp_path):
    """Fold 1 of one draw and fold 1 of another are two independent folds: pooled, 10 folds (9 degrees of freedom),
    whether the older CSV has a draw column or takes its draw from its JSON."""
    from tgdfer_study.power_study import resummarise
    from tgdfer_study.report import power

    rng = np.random.default_rng(1)
    a = _study(tmp_path / "a", "development", -2.0, rng, with_draw_column=False)
    b = _study(tmp_path / "b", "development-2", -2.0, rng)
    got = resummarise([tmp_path / "a" / "power_pairs.csv", tmp_path / "b" / "power_pairs.csv"], tmp_path / "out",
                      grid_folds=(5, 20))
    c = got["comparisons"]["no text"]["frame_auc"]
    assert got["draws"] == {"development": [1, 2, 3, 4, 5], "development-2": [1, 2, 3, 4, 5]} and got["folds"] == 10
    assert c["components"]["folds"] == 10 and c["pairs"] == 40 and "class_recall" not in got
    assert {g["folds"] for g in c["grid"]} == {5, 20}
    pooled = pd.concat([a.assign(draw="development"), b])
    df = pooled[(pooled.comparison == "no text") & (pooled.metric == "frame_auc")]
    want = power.components(df)
    assert want.folds == 10 and abs(c["components"]["fold"] - round(want.fold, 3)) < 1e-9
    assert power.components(df.drop(columns="draw")).folds == 5          # without the draw, folds would be merged
    assert "development-2 (folds [1, 2, 3, 4, 5]): 10 independent folds pooled" in (tmp_path / "out" / "power.md").read_text()
    with pytest.raises(ValueError, match="twice"):
        resummarise([tmp_path / "b" / "power_pairs.csv", tmp_path / "b" / "power_pairs.csv"], tmp_path / "out2")


def test_power_refuses_a_sealed_draw():
    from tgdfer_study.cli import main

    with pytest.raises(SystemExit, match="sealed"):
        main(["power", "--draw", "evaluation", "--out", "unused"])
    with pytest.raises(SystemExit, match="one of --root"):
        main(["power", "--out", "unused"])


def test_the_second_development_draw_is_unsealed_with_a_seed_of_its_own():
    from tgdfer_study.protocol import load_protocol

    p = load_protocol()
    d = p.draws["development-2"]
    assert not d.sealed and not d.runs
    assert d.seed not in {v.seed for k, v in p.draws.items() if k != "development-2"}


def test_class_recall_of_two_studies_pools_their_runs():
    from tgdfer_study.report.class_difficulty import pool_class_recall

    names = ["happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear"]
    a = {"runs": 20, "mean_recall": dict(zip(names, [60, 20, 80, 60, 50, 20, 30])),
         "range": {c: [10, 90] for c in names}}
    b = {"runs": 60, "mean_recall": dict(zip(names, [80, 40, 80, 60, 50, 20, 10])),
         "range": {c: [5, 70] for c in names}}
    r = pool_class_recall([a, b])
    assert r["runs"] == 80 and r["mean_recall"]["happiness"] == 75.0 and r["mean_recall"]["fear"] == 15.0
    assert r["range"]["sadness"] == [5, 90] and r["at_or_below_chance"] == [] and -1 <= r["spearman"] <= 1


def test_the_committed_pooled_study_is_what_the_two_development_draws_pairs_give(tmp_path):
    import json

    from tgdfer_study.power_study import resummarise
    from tgdfer.paths import repo_root

    res = repo_root() / "results"
    got = resummarise([res / "development" / "power_pairs_format3.csv", res / "development-2" / "power_pairs.csv"],
                      tmp_path, grid_folds=(5, 10, 15, 20, 30, 40))
    assert got == json.loads((res / "development" / "pooled" / "power.json").read_text())
    assert (tmp_path / "power.md").read_text() == (res / "development" / "pooled" / "power.md").read_text()
    assert got["folds"] == 10 and got["class_recall"]["runs"] == 40


def test_warm_cache_with_runs_encodes_test_views_of_every_planned_runs_validation_clips(tmp_path, monkeypatch):
    """The full regeneration knows its runs: test views for the test splits and each run's own validation split, a
    training-size run's carved from its share of the fold (other clips than a full run's of the same seed)."""
    from tgdfer.config import load_config
    from tgdfer.engine import feature_cache
    from tgdfer.engine.run import load_tables
    from tgdfer.sweep.plan import PlannedRun
    from tgdfer_study.cache_service import warm_cache
    from tgdfer.synth.generate import GenerateConfig, generate

    root = generate(tmp_path / "b", GenerateConfig(clips=60, size=32, videos=False, test_per_class=1,
                                                   independent=True), workers=1)
    seen = []
    monkeypatch.setattr(feature_cache.FeatureCache, "get", lambda self, table, kind, *a, **k: seen.append((kind, set(table.path))))
    share = {"train.train_fraction": 0.5}
    runs = [PlannedRun("tgdfer", {}, 1, 0), PlannedRun("tgdfer", share, 1, 0), PlannedRun("mil-only", {}, 2, 1)]
    warm_cache("dfew", root, "tgdfer-tiny", tmp_path / "cache", runs=runs, processes=1)
    tables = [load_tables("dfew", root, r.fold, "frames", 1, load_config("tgdfer-tiny", r.variant, r.overrides).train,
                          r.seed) for r in runs]
    vals = [{p for p in d.val_t.path} for d in tables]
    assert vals[0] != vals[1] and len(vals[1]) < len(vals[0])               # the share's own validation clips
    tests = {p for k in range(1, 6) for p in load_tables("dfew", root, k, "frames", 1, load_config("tgdfer-tiny").train,
                                                          0).test_t.path}
    assert seen[1] == ("test", tests | vals[0] | vals[1] | vals[2])


def test_the_power_commands_studies_are_the_modules():
    from tgdfer_study.cli import build_parser
    from tgdfer_study.power_study import STUDIES

    action = next(a for a in build_parser()._subparsers._group_actions[0].choices["power"]._actions
                  if a.dest == "comparisons")
    assert list(action.choices) == list(STUDIES)
