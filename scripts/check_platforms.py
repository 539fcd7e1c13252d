"""Do tgdfer's dependencies resolve to wheels where GPU users are? x86_64 Linux, aarch64 Linux (GH200 / Grace Hopper
nodes) and macOS on Apple silicon, Python 3.11, nothing installed. Not part of `make test`: it needs the package index.

    python scripts/check_platforms.py                     # pyproject.toml's ranges (+ the dev extra)
    python scripts/check_platforms.py --constraints       # with constraints.txt: the records' exact versions

Two resolvers ask: pip (`pip install --dry-run --only-binary :all: --platform ...`), whose answer is right only for the
machine it runs on, because pip evaluates dependencies' environment markers (`platform_machine == "x86_64"`) for the
running interpreter, not for `--platform` (pypa/pip#4304, #11664): asked from x86_64 about aarch64 it demands torch's
x86_64-only CUDA wheels and fails; and uv (`uv pip compile --python-platform ... --only-binary :all:`), which resolves
for the target's markers, fetched into a temporary folder if it is not on PATH. The optional decord extra is asked for
on its own.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"linux x86_64": ("x86_64-manylinux_2_28", ["manylinux_2_28_x86_64", "manylinux2014_x86_64"]),
           "linux aarch64": ("aarch64-manylinux_2_28", ["manylinux_2_28_aarch64", "manylinux2014_aarch64"]),
           "macOS arm64": ("aarch64-apple-darwin", ["macosx_14_0_arm64", "macosx_11_0_arm64"])}
SHOW = ("torch", "torchvision", "open-clip-torch", "av", "opencv-python-headless", "numpy", "submitit")


def requirements() -> tuple[list[str], dict[str, list[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"], project.get("optional-dependencies", {})


def _why(text: str) -> str:
    said = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(("ERROR", "error", "×", "╰─▶"))]
    return " | ".join(said[:3])[:600] or text.strip().splitlines()[-1][:300]


def _summary(versions: dict[str, str]) -> str:
    return f"{len(versions)} packages; " + ", ".join(f"{k} {versions[k]}" for k in SHOW if k in versions)


def pip_resolve(reqs: list[str], tags: list[str], python: str, constraints: Path | None) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
               "--disable-pip-version-check", "--only-binary", ":all:", "--python-version", python,
               "--implementation", "cp", "--target", tmp, "--report", f"{tmp}/report.json"]
        cmd += [x for t in tags for x in ("--platform", t)] + (["-c", str(constraints)] if constraints else [])
        r = subprocess.run(cmd + reqs, capture_output=True, text=True)
        if r.returncode:
            return False, _why(r.stderr + r.stdout)
        items = json.loads(Path(tmp, "report.json").read_text())["install"]
        return True, _summary({i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"] for i in items})


def uv_binary(tmp: Path) -> str:
    found = shutil.which("uv")
    if found:
        return found
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target",
                    str(tmp / "uv"), "uv"], check=True)
    return str(next(p for p in (tmp / "uv" / "bin").iterdir() if p.stem == "uv"))   # not uvx (which runs tools)


def uv_resolve(uv: str, reqs: list[str], target: str, python: str, constraints: Path | None) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp, "requirements.in")
        req.write_text("\n".join(reqs) + "\n")
        cmd = [uv, "pip", "compile", str(req), "--quiet", "--no-header", "--python-version", python,
               "--python-platform", target, "--only-binary", ":all:"] + (["-c", str(constraints)] if constraints else [])
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            return False, _why(r.stderr + r.stdout)
        pins = [ln.split("==") for ln in r.stdout.splitlines() if "==" in ln and not ln.startswith((" ", "#"))]
        return True, _summary({k.strip().lower(): v.strip() for k, v in pins})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default="3.11")
    ap.add_argument("--constraints", action="store_true", help="also apply constraints.txt")
    a = ap.parse_args()
    deps, extras = requirements()
    reqs = deps + extras.get("dev", [])
    cons = ROOT / "constraints.txt" if a.constraints else None
    host = {"x86_64": "linux x86_64", "aarch64": "linux aarch64", "arm64": "macOS arm64"}.get(platform.machine())
    ok_all = True
    with tempfile.TemporaryDirectory() as tmp:
        uv = uv_binary(Path(tmp))
        for name, (target, tags) in TARGETS.items():
            ok, said = uv_resolve(uv, reqs, target, a.python, cons)
            ok_all &= ok
            print(f"{name:14s} uv : {'resolves' if ok else 'FAILS'}: {said}")
            ok_p, said_p = pip_resolve(reqs, tags, a.python, cons)
            note = "" if name == host else " (markers evaluated for this machine, not the target: not a verdict)"
            print(f"{'':14s} pip: {'resolves' if ok_p else 'fails'}{note}: {said_p}")
            ok_x, said_x = uv_resolve(uv, extras.get("decord", []), target, a.python, None)
            print(f"{'':14s} extra [decord]: {'resolves' if ok_x else 'no wheel'}: {said_x}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
