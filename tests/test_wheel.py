"""The package a user installs works outside the checkout. tgdfer is built from a copy of its own files (package,
pyproject, README, licence) and installed with `--no-deps` into a fresh environment that sees this environment's
packages (torch is not fetched again) but not the checkout; from a folder outside the checkout it trains, evaluates
and predicts, and never imports the study."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    shutil.copytree(ROOT / "tgdfer", src / "tgdfer", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for f in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copyfile(ROOT / f, src / f)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # this environment's packages, read as plain folders: its .pth files (the checkout's editable installs) stay off
    Path(site, "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                        "--disable-pip-version-check", "-w", str(tmp / "dist"), str(src)], capture_output=True,
                       text=True, timeout=300)                      # built with this environment's setuptools
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = next((tmp / "dist").glob("tgdfer-*.whl"))
    r = subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
                        str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(TGDFER_PROGRESS="0", TGDFER_HOME=str(tmp / "home"), OMP_NUM_THREADS="1")
    work = tmp / "work"
    work.mkdir()
    return py, env, work, Path(site)


def _run(installed, *args, timeout=600):
    py, env, work, _ = installed
    return subprocess.run([str(py), *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_installed_package_is_not_the_checkout(installed):
    _, _, _, site = installed
    r = _run(installed, "-c", "import sys, tgdfer, tgdfer.cli; print(tgdfer.__file__); "
                             "print(any(m.startswith('tgdfer_study') for m in sys.modules))")
    assert r.returncode == 0, r.stderr[-2000:]
    where, study = r.stdout.split()
    assert Path(where).is_relative_to(site) and not Path(where).is_relative_to(ROOT) and study == "False"
    assert _run(installed, "-c", "import tgdfer_study").returncode != 0          # the study is not installed


def test_the_installed_package_trains_evaluates_and_predicts(installed, synth_root):
    _, _, work, _ = installed
    r = _run(installed, "-m", "tgdfer", "train", "--root", str(synth_root), "--max-steps", "2", "--workers", "0",
             "--device", "cpu", "--runs-dir", str(work / "runs"))
    assert r.returncode == 0, r.stderr[-3000:]
    run = next((work / "runs").rglob("metrics.json")).parent
    assert json.loads((run / "metrics.json").read_text())["steps"] == 2
    r = _run(installed, "-m", "tgdfer", "evaluate", "--checkpoint", str(run / "last.pt"), "--root", str(synth_root),
             "--workers", "0", "--device", "cpu", "--out", str(work / "eval"))
    assert r.returncode == 0 and "UAR" in r.stdout, r.stderr[-3000:]
    clip = next((synth_root / "Clip" / "clip_224x224").iterdir())
    r = _run(installed, "-m", "tgdfer", "predict", str(clip), "--checkpoint", str(run / "last.pt"), "--no-face-crop",
             "--device", "cpu", "--out", str(work / "relevance.png"))
    assert r.returncode == 0 and (work / "relevance.png").is_file(), r.stderr[-3000:]
