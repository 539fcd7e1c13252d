"""An interrupted tuning call resumes: finished runs' rows are stored as they finish and reused, keyed by what decides
them; an unreadable row is trained again; the tuning runners key by the resolved config."""
import json

import numpy as np
import pytest

from tgdfer_study.tuning_store import map_stored, row_key, row_path

CALLS = []


def square(job):
    CALLS.append(job["x"])
    if job["x"] == job.get("fail_at"):
        raise RuntimeError("interrupted")
    return {"x": np.int64(job["x"]), "y": np.float64(job["x"]) ** 2 / 3, "z": np.float32(job["x"]) / 3,
            "auc": float("nan")}


def describe(job):
    return {"x": job["x"], "version": job.get("version", 1)}


def test_rows_are_stored_and_reused_after_an_interruption(tmp_path):
    jobs = [{"x": i, "fail_at": 3} for i in range(5)]
    CALLS.clear()
    with pytest.raises(RuntimeError, match="interrupted"):
        map_stored(square, jobs, describe, tmp_path, workers=0)
    assert CALLS == [0, 1, 2, 3] and len(list(tmp_path.glob("*.json"))) == 3      # 0-2 kept, 3 failed, 4 never ran

    CALLS.clear()
    said = []
    rows, reused = map_stored(square, [{"x": i} for i in range(5)], describe, tmp_path, workers=0, say=said.append)
    assert CALLS == [3, 4] and reused == 3 and "reusing 3 of 5" in said[0] and str(tmp_path) in said[0]
    assert [r["x"] for r in rows] == list(range(5))
    assert [r["y"] for r in rows] == [i ** 2 / 3 for i in range(5)]             # exact through JSON
    assert [r["z"] for r in rows] == [float(np.float32(i) / 3) for i in range(5)]
    assert all(type(r["x"]) is int and type(r["z"]) is float for r in rows)    # numbers, reused or not, never strings
    assert all(np.isnan(r["auc"]) for r in rows)

    CALLS.clear()
    again, reused = map_stored(square, [{"x": i} for i in range(5)], describe, tmp_path, workers=0)
    assert CALLS == [] and reused == 5
    assert [(r["x"], r["y"]) for r in again] == [(r["x"], r["y"]) for r in rows]


def test_a_changed_description_or_an_unreadable_row_trains_again(tmp_path):
    map_stored(square, [{"x": 1}, {"x": 2}], describe, tmp_path, workers=0)
    row_path(tmp_path, describe({"x": 2})).write_text('{"x": 2, "y":')        # truncated
    CALLS.clear()
    rows, reused = map_stored(square, [{"x": 1}, {"x": 2}, {"x": 1, "version": 2}], describe, tmp_path, workers=0)
    assert CALLS == [2, 1] and reused == 1
    assert json.loads(row_path(tmp_path, describe({"x": 2})).read_text())["y"] == pytest.approx(4 / 3)


def nested(job):
    return {"x": job["x"], "per_class": [np.float32(0.5)]}


def test_worker_processes_store_rows_and_a_value_json_cannot_hold_is_refused(tmp_path):
    jobs = [{"x": i} for i in range(3)]
    rows, reused = map_stored(dict, jobs, describe, tmp_path, workers=1)        # the process-pool path
    assert rows == jobs and reused == 0 and len(list(tmp_path.glob("*.json"))) == 3
    assert map_stored(dict, jobs, describe, tmp_path, workers=1, say=lambda _: None) == (jobs, 3)
    with pytest.raises(TypeError):                                              # not stored as the string '0.5'
        map_stored(nested, [{"x": 9}], describe, tmp_path / "other", workers=0)
    assert not list((tmp_path / "other").glob("*.json"))


def test_tuning_runners_key_by_the_resolved_config():
    from tgdfer_study import tune
    from tgdfer_study import tune_equal

    job = dict(layout="dfew", root="/a/synth-x", cache="/c", config="tgdfer-tiny-f3", variant="tgdfer", overrides={},
               fold=1, seed=0, setting={"train.lr": 1e-3, "train.epochs": 8}, val_fraction=0.2)
    key = row_key(tune_equal.describe(job))
    assert not {"name", "source"} & set(tune_equal.describe(job)["config"])   # prose: editing it trains nothing
    assert row_key(tune_equal.describe(dict(job, cache="/elsewhere", root="/b/synth-x"))) == key   # same draw folder
    for other in (dict(job, setting={"train.lr": 3e-3, "train.epochs": 8}), dict(job, fold=2), dict(job, seed=1),
                  dict(job, root="/a/synth-y"), dict(job, overrides={"model.text": "none"}),
                  dict(job, val_fraction=0.1), dict(job, config="tgdfer-tiny")):
        assert row_key(tune_equal.describe(other)) != key
    old = dict(root="/a/synth-x", cache="/c", fold=1, seed=0, setting={"train.epochs": 4, "model.tau_r": 1.0},
               val_fraction=0.2)
    assert row_key(tune.describe(old)) != row_key(tune.describe(dict(old, setting={"train.epochs": 6,
                                                                                   "model.tau_r": 1.0})))


def test_make_tune_runs_the_design_of_the_committed_record(monkeypatch):
    """`make tune` (`tune --equal`) trains the seeds results/tuning_equal.md records (seed 0), the other grids 2."""
    import pandas as pd

    from tgdfer_study import cli, tune, tune_equal
    from tgdfer.paths import repo_root

    seen = {}
    monkeypatch.setattr(tune_equal, "tune_equal", lambda folds, seeds: seen.update(equal=seeds) or pd.DataFrame())
    monkeypatch.setattr(tune, "tune", lambda kind, folds, seeds: seen.update(grid=seeds) or (pd.DataFrame(), "x"))
    assert cli.main(["tune", "--equal"]) == 0 and cli.main(["tune"]) == 0
    assert seen == {"equal": (0,), "grid": 2}
    assert "seed(s) 0;" in (repo_root() / "results" / "tuning_equal.md").read_text()
    assert cli.main(["tune", "--equal", "--seeds", "2"]) == 0 and seen["equal"] == (0, 1)
