"""Loading a checkpoint or a cache can at worst fail, never run code: the safe loader on crafted files,
format-1 checkpoints (earlier versions), damaged files, and what tgdfer writes."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tgdfer.engine.checkpoint import FORMAT, load_model, read_checkpoint
from tgdfer.engine.run import train
from tgdfer.safe_load import DamagedFileError, UnsafeFileError, safe_torch_load

QUICK = {"train.epochs": 2, "train.batch_size": 8, "train.workers": 0}


class _Payload:
    """Unpickling this runs a shell command that creates a file (what a malicious checkpoint would do)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture(scope="module")
def trained(synth_root, tmp_path_factory):
    """A real run folder written by `train` (last.pt with resume state, best.pt)."""
    run_dir = tmp_path_factory.mktemp("run") / "r"
    train("dfew", synth_root, 1, "tgdfer-tiny", overrides=QUICK, run_dir=run_dir, verbose=False)
    return run_dir


def _crafted(trained, tmp_path):
    ck = read_checkpoint(trained / "last.pt")
    marker = tmp_path / "pwned"
    ck["extra"] = _Payload(marker)
    path = tmp_path / "shared_model.pt"
    torch.save(ck, path)                                      # pickles the payload, as an attacker would
    return path, marker


def test_what_tgdfer_writes_loads_through_the_strict_safe_loader(trained):
    for name in ("last.pt", "best.pt"):
        ck = safe_torch_load(trained / name)                  # no NumPy allowance needed either
        assert ck["format"] == FORMAT
    rng = safe_torch_load(trained / "last.pt")["rng"]
    assert isinstance(rng["numpy"], dict) and rng["numpy"]["keys"].dtype == torch.int64
    caches = list((trained / "cache").rglob("*.pt"))
    assert caches and all(isinstance(safe_torch_load(p), dict) for p in caches)


def test_a_crafted_checkpoint_is_refused_and_its_payload_never_runs(trained, tmp_path):
    path, marker = _crafted(trained, tmp_path)
    with pytest.raises(UnsafeFileError, match="will not execute") as e:
        load_model(path)
    assert str(path) in str(e.value) and "system" in str(e.value)          # names the file and the object
    assert not marker.exists()
    with pytest.raises(UnsafeFileError):
        safe_torch_load(path, numpy_arrays=True)                          # the NumPy allowance admits no more
    assert not marker.exists()


def test_predict_refuses_a_crafted_checkpoint_with_one_clear_line(trained, tmp_path, synth_root):
    path, marker = _crafted(trained, tmp_path)
    clip = next((synth_root / "Clip" / "clip_224x224").iterdir())
    r = subprocess.run([sys.executable, "-m", "tgdfer", "predict", str(clip), "--checkpoint", str(path),
                        "--out", str(tmp_path / "fig.png")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and not marker.exists()
    assert r.stderr.startswith("error: ") and str(path) in r.stderr and "will not execute" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "fig.png").exists()


def test_resume_refuses_a_crafted_last_checkpoint(trained, synth_root, tmp_path):
    import shutil

    run_dir = tmp_path / "r"
    shutil.copytree(trained, run_dir)
    (run_dir / "metrics.json").unlink()
    path, marker = _crafted(trained, tmp_path)
    shutil.copy(path, run_dir / "last.pt")
    with pytest.raises(UnsafeFileError):
        train("dfew", synth_root, 1, "tgdfer-tiny", overrides=QUICK, run_dir=run_dir, resume=True, verbose=False)
    assert not marker.exists()


def _as_format_1(ck: dict) -> dict:
    """What the first checkpoint format held: NumPy's raw random state and NumPy scalars in the history."""
    from tgdfer.safe_load import set_numpy_rng_state

    old = dict(ck, format="tgdfer-checkpoint-1")
    if "rng" in old:
        set_numpy_rng_state(ck["rng"]["numpy"])
        old["rng"] = {"torch": ck["rng"]["torch"], "numpy": np.random.get_state()}        # a tuple with an array
        old["history"] = [{k: (np.float64(v) if isinstance(v, float) else v) for k, v in row.items()}
                          for row in ck["history"]]
    return old


class Killed(Exception):
    pass


def test_format_1_checkpoints_load_safely_and_resume_to_the_same_run(trained, synth_root, tmp_path):
    def die_after_first_epoch(row):
        if row["epoch"] == 1:
            raise Killed()

    run_dir = tmp_path / "old"
    with pytest.raises(Killed):
        train("dfew", synth_root, 1, "tgdfer-tiny", overrides=QUICK, run_dir=run_dir, callback=die_after_first_epoch,
              verbose=False)
    for name in ("last.pt", "best.pt"):
        torch.save(_as_format_1(read_checkpoint(run_dir / name)), run_dir / name)
    with pytest.raises(UnsafeFileError):
        safe_torch_load(run_dir / "last.pt")                      # NumPy inside: the strict loader says no
    load_model(run_dir / "best.pt")                               # loads through the NumPy allowance
    res = train("dfew", synth_root, 1, "tgdfer-tiny", overrides=QUICK, run_dir=run_dir, resume=True, verbose=False)
    import json

    full = json.loads((trained / "metrics.json").read_text())
    assert res.metrics["last"] == full["last"] and res.metrics["steps"] == full["steps"]
    assert read_checkpoint(run_dir / "last.pt")["format"] == FORMAT          # rewritten in the new format


def test_a_truncated_checkpoint_names_the_file(trained, tmp_path):
    path = tmp_path / "last.pt"
    path.write_bytes((trained / "last.pt").read_bytes()[:5000])
    with pytest.raises(DamagedFileError, match="truncated or damaged") as e:
        read_checkpoint(path)
    assert str(path) in str(e.value)


def test_no_unsafe_unpickling_in_the_package():
    from pathlib import Path

    import tgdfer

    for p in Path(tgdfer.__file__).parent.rglob("*.py"):
        text = p.read_text()
        for bad in ("weights_only=False", "allow_pickle=True", "pickle.load", "import dill"):
            assert bad not in text, f"{p}: {bad}"
