"""The sweep: the plan over this machine's slots, and as a job array through submitit's local executor. Three runs, one
forced to fail (fold 3's split file is 0-based): the others finish, the failure is named with a non-zero exit, and a
rerun trains only what is missing."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tgdfer import runfolder as rf

SPLIT = Path("EmoLabel_DataSplit") / "train(single-labeled)" / "set_3.csv"


@pytest.fixture
def broken_root(synth_root, tmp_path):
    """The generated set with fold 3's training split written 0-based (a 0 label): its run fails, the others not."""
    root = tmp_path / "bench"
    shutil.copytree(synth_root, root)
    good = (root / SPLIT).read_text()
    lines = good.splitlines()
    (root / SPLIT).write_text("\n".join([lines[0]] + [f"{ln.split(',')[0]},{int(ln.split(',')[1]) - 1}"
                                                      for ln in lines[1:]]) + "\n")
    return root, good


def sweep(root, runs, *extra, timeout=600):
    cmd = [sys.executable, "-m", "tgdfer", "sweep", "--dataset", "dfew", "--root", str(root), "--config", "tgdfer-tiny",
           "--folds", "1 2 3", "--only", "main", "--set", "train.max_steps=1", "--set", "train.workers=0",
           "--runs-dir", str(runs), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, TGDFER_PROGRESS="0", OMP_NUM_THREADS="1"))


def test_the_sweep_goes_past_a_failed_run_names_it_and_a_rerun_trains_only_what_is_missing(broken_root, tmp_path):
    root, good = broken_root
    runs = tmp_path / "runs"
    r = sweep(root, runs, "--gpus", "none", "--parallel", "2")
    print(f"\n$ tgdfer sweep --gpus none --parallel 2 (exit {r.returncode})\n{r.stdout}")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "3 to train" in r.stdout and "on 2 slot(s)" in r.stdout and "2 trained now, 1 failed" in r.stdout
    failed = [ln for ln in r.stdout.splitlines() if ln.strip().startswith("FAILED")]
    assert len(failed) == 1 and "fold3" in failed[0] and "0-based" in failed[0]
    assert [p.parent.parent.name for p in rf.find_runs(runs)] == ["fold1", "fold2"]
    (root / SPLIT).write_text(good)                                    # the fix; the rerun trains fold 3 alone
    again = sweep(root, runs, "--gpus", "none")
    print(f"\n$ tgdfer sweep --gpus none, again after the fix (exit {again.returncode})\n{again.stdout}")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 already finished, 1 to train" in again.stdout and "1 trained now, 0 failed" in again.stdout
    assert [p.parent.parent.name for p in rf.find_runs(runs)] == ["fold1", "fold2", "fold3"]


def test_the_sweep_as_a_job_array_through_submitit(broken_root, tmp_path):
    root, _ = broken_root
    runs = tmp_path / "runs"
    r = sweep(root, runs, "--cluster", "local", "--time-min", "10")
    print(f"\n$ tgdfer sweep --cluster local (exit {r.returncode})\n{r.stdout}")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "3 job(s) submitted (local)" in r.stdout and "2 trained now, 1 failed" in r.stdout
    failed = [ln for ln in r.stdout.splitlines() if ln.strip().startswith("FAILED")]
    assert len(failed) == 1 and "fold3" in failed[0] and "0-based" in failed[0]
    assert [p.parent.parent.name for p in rf.find_runs(runs)] == ["fold1", "fold2"]
