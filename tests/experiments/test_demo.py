"""`make demo` writes into its own folder: the committed records, tables and README never change, so `make test`
passes after it; a damaged run folder is moved aside and trained again; a failing run is reported and the rest go on."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from tgdfer_study.run_pool import RunsFailed, check_failures, progress_line, run_one
from tgdfer.runspec import RunSpec

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(clips=60, size=48, folds=(1,), seeds=(0,), min_per_class=4, test_per_class=3)


def _committed() -> dict[str, str]:
    files = [ROOT / "README.md", *sorted((ROOT / "results").rglob("*")), *sorted((ROOT / "paper").rglob("*"))]
    return {str(f.relative_to(ROOT)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory):
    """A tiny demo (1 fold, 1 seed, TG-DFER and the baselines) with its data, runs and outputs in a temporary folder."""
    from tgdfer_study.demo import run_demo

    tmp = tmp_path_factory.mktemp("demo")
    mp = pytest.MonkeyPatch()
    mp.setenv("TGDFER_DATA", str(tmp / "data"))
    before = _committed()
    res = run_demo(**TINY, out=tmp / "out", runs_dir=tmp / "runs", workers=1, verbose=False)
    yield tmp, res, before
    mp.undo()


def test_demo_then_test_the_committed_artefacts_are_untouched(tiny_demo):
    tmp, res, before = tiny_demo
    assert _committed() == before                      # results/, paper/ and README.md as committed
    out = tmp / "out"
    assert (out / "results" / "records.csv").is_file() and (out / "tables" / "main_results.md").is_file()
    assert (out / "figures" / "benchmark_contact_sheet.png").is_file()
    summary = (out / "summary.md").read_text()
    assert "not touched" in summary and "| TG-DFER" in summary
    # what `make test` checks after a demo still holds: the committed tables are what the committed records give
    from tgdfer_study.report.across import held_by_claim
    from tgdfer_study.report.paper import write_tables

    for f in write_tables(ROOT / "results", tmp / "check", held_by_claim(ROOT / "results")).values():
        assert f.read_text() == (ROOT / "paper" / "tables" / f.name).read_text(), f.name


def test_a_damaged_run_folder_is_moved_aside_and_trained_again(tiny_demo, capsys):
    from tgdfer_study.demo import run_demo

    tmp, res, _ = tiny_demo
    records = pd.read_csv(tmp / "out" / "results" / "records.csv")
    run = next((tmp / "runs").rglob("mil-only/seed0"))
    last = run / "last.pt"
    last.write_bytes(last.read_bytes()[:4000])              # a full disk or an interrupted copy
    (run / "metrics.json").unlink()
    run_demo(**TINY, out=tmp / "out", runs_dir=tmp / "runs", workers=1, verbose=True)
    said = capsys.readouterr().out
    assert "could not be read" in said and "trained again" in said and str(run) in said
    assert list((tmp / "runs" / "_damaged").rglob("last.pt"))             # kept, not deleted
    again = pd.read_csv(tmp / "out" / "results" / "records.csv")
    cols = [c for c in records.columns if c != "git_sha"]
    assert again[cols].equals(records[cols])                              # the retrained run gives the same records


def test_a_failing_run_is_reported_in_one_line_and_the_command_fails(tmp_path):
    bad = RunSpec("dfew", str(tmp_path / "missing"), 1, "tgdfer-tiny", runs_dir=str(tmp_path / "runs"))
    m = run_one(bad)
    assert "error" in m and "\n" not in m["error"] and str(tmp_path / "missing") in m["error"]
    line = progress_line(1, 2, m, 3.0)
    assert "FAILED" in line and "fold 1 seed 0 tgdfer" in line
    ok = {"label": "fold 1 seed 0 clip-meanpool", "uar": 0.5, "war": 0.6, "loc_auc": 0.189, "frame_evidence": False}
    assert progress_line(2, 2, ok, 4.0).rstrip().endswith("frame AUC     -")        # no frame evidence: '-'
    assert "frame AUC  18.9" in progress_line(2, 2, {**ok, "frame_evidence": True}, 4.0)
    with pytest.raises(RunsFailed, match="1 of 2 runs failed") as e:
        check_failures([m, ok])
    assert m["folder"] in str(e.value)


def test_where_the_runs_time_went():
    from tgdfer_study.run_pool import time_split

    runs = [{"seconds": {"setup": 1.0, "train": 10.0, "test": 0.5}}, {"seconds": {"setup": 2.0, "train": 11.0, "test": 0.5}}]
    assert time_split(runs) == "2 runs, summed: setup 3 s, train 21 s, test 1 s"
    assert "no timing" in time_split([{"label": "x"}])


def test_a_run_records_its_seconds_by_phase(tiny_demo):
    import json

    tmp, res, _ = tiny_demo
    m = json.loads(next((tmp / "runs").rglob("metrics.json")).read_text())
    assert set(m["seconds"]) == {"setup", "train", "validation", "checkpoints", "test"}
    assert m["seconds"]["train"] > 0 and sum(m["seconds"].values()) <= m["wall_seconds"] + 60


@pytest.mark.parametrize("argv, says", [
    (["--seeds", "0"], "--seeds: 0 is a count here and must be at least 1"),
    (["--folds", "6"], "--folds: 6 is a count here and must be from 1 to 5"),
    (["--folds", "two"], "--folds: 'two' is not a whole number"),
])
def test_demo_refuses_a_count_that_runs_nothing_before_starting(argv, says, capsys):
    from tgdfer_study.cli import main

    with pytest.raises(SystemExit) as e:
        main(["demo", *argv])
    assert e.value.code == 2 and says in capsys.readouterr().err


def test_the_demo_runs_the_protocols_demo_seeds_and_the_full_regeneration_its_main_seeds(monkeypatch):
    """`make demo` (no --seeds) runs the protocol's 'demo' seeds, a subset of the seeds every variant of the full
    regeneration runs, so each demo run is a run of the committed records; `regenerate --draw evaluation` runs 'main'."""
    from tgdfer_study import cli, demo
    from tgdfer_study.protocol import PROTOCOL

    class Stop(Exception):
        pass

    planned, rendered, cached = [], [], []

    def plan_runs(config, folds, seeds, full, *a, **k):
        planned.append((tuple(folds), tuple(seeds)))
        return ["the plan"]

    def warm_cache(*a, **k):
        assert k["runs"] == ["the plan"]                  # test views for the planned runs' clips only
        cached.append(k["folds"])
        raise Stop

    monkeypatch.setattr(demo, "resolve_dataset", lambda *a, **k: rendered.append(k["folds"]) or ("dfew", "nowhere"))
    monkeypatch.setattr(demo, "warm_cache", warm_cache)
    monkeypatch.setattr(demo, "plan_runs", plan_runs)
    for argv in (["demo"], ["regenerate", "--draw", "evaluation", "--out", "unused"], ["demo", "--seeds", "3"],
                 ["demo", "--folds", "5"]):
        with pytest.raises(Stop):
            cli.main(argv)
    demo_f, all_f = PROTOCOL.demo_folds, PROTOCOL.folds
    assert planned == [(demo_f, PROTOCOL.demo_seeds), (all_f, PROTOCOL.seeds), (demo_f, (0, 1, 2)),
                       ((1, 2, 3, 4, 5), PROTOCOL.demo_seeds)]
    assert rendered == cached == [demo_f, all_f, demo_f, all_f]   # the demo renders and encodes only its folds
    assert PROTOCOL.demo_seeds and set(PROTOCOL.demo_seeds) <= set(PROTOCOL.seeds)
    assert demo_f == (1, 2, 3, 4) and set(demo_f) < set(all_f)
