"""Render docs/performance.md from the measurements under benchmarks/results/ (JSON): the machine each was made on
beside every number, nothing retyped. `python benchmarks/render_docs.py` rewrites the page; tests/test_docs.py checks
that the committed page is what the JSON gives.

    python benchmarks/render_docs.py [--check]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGE = ROOT / "docs" / "performance.md"


def _machine(m: dict) -> str:
    return f"{m.get('cpu_model') or m.get('processor') or 'unknown CPU'}, {m.get('cpus')} cores, {m.get('cpu_capability', '')}, torch {m.get('torch', '')}"


def _table(head: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"] + \
        ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]


def commands() -> list[str]:
    d = json.loads((RESULTS / "commands.json").read_text())
    rows = [[f"`{m['command']}`", f"{m['minutes']:.1f}", m["machine"], m["date"], m.get("note", "")]
            for m in d["measurements"]]
    return ["## Commands", "", d["about"], ""] + _table(["command", "minutes", "machine", "date", "note"], rows) + [""]


def models(name: str) -> list[str]:
    d = json.loads((RESULTS / f"{name}.json").read_text())
    if not d.get("models"):
        return []
    rows = [[m["config"], m["precision"], m["batch"], f"{m['train_clips_per_s']:.3g}", f"{m['infer_clips_per_s']:.3g}",
             f"{100 * m['heads_overhead']:.1f}%", f"{m['backbone_fwd_gflop_per_s']:.0f}",
             f"{100 * m['backbone_fwd_share_of_peak']:.0f}%", f"{m['peak_mem_mb'] / 1024:.1f}"] for m in d["models"]]
    return [f"### `{name}.json`: {d.get('label', '')}", "", f"Machine: {_machine(d['machine'])}; device {d['device']}.", ""] + \
        _table(["config", "precision", "batch", "train clips/s", "inference clips/s", "heads' share of the step",
                "backbone forward GFLOP/s", "share of the matmul peak", "peak memory (GB)"], rows) + [""]


def data(name: str) -> list[str]:
    d = json.loads((RESULTS / f"{name}.json").read_text())
    if not d.get("data"):
        return []
    rows = {}
    for r in d["data"]:
        key = (r["stage"], r.get("transport") or "-", r["source"], r["clip_frames"])
        rows.setdefault(key, {})[r["workers"]] = r["clips_per_s"]
    workers = sorted({r["workers"] for r in d["data"]})
    out = [[*k, *(f"{v.get(w, float('nan')):.0f}" for w in workers)] for k, v in rows.items()]
    return [f"### `{name}.json` (data pipeline): {d.get('label', '')}", "", f"Machine: {_machine(d['machine'])}.", "",
            "Clips a second, 16 frames sampled at 224 px, by loader workers; `uint8`: what the loader hands the device "
            "(normalised there, timed apart), `float`: normalised in the workers.", ""] + \
        _table(["stage", "transport", "source", "clip frames", *(f"{w} workers" for w in workers)], out) + [""]


def render() -> str:
    lines = ["# Performance: measured, with the machine beside every number", "",
             "For a reader who wants to know what runs how fast where. Rendered from the JSON under "
             "`benchmarks/results/` by `python benchmarks/render_docs.py`: add a measurement there, never here. "
             "`python -m tgdfer bench` measures the engine's own training step, the data pipeline and a feature-cache "
             "epoch (`--configs` alone: the data pipeline only); `python -m tgdfer_study bench-protocol` the "
             "protocol's runs per hour. No test times anything. No GPU was available to this project: every number "
             "is a CPU's.", ""]
    lines += commands()
    lines += ["## Engine and data pipeline", ""]
    for f in sorted(RESULTS.glob("*.json")):
        if f.stem in ("commands", "protocol-cpu"):
            continue
        lines += models(f.stem) + data(f.stem)
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/performance.md is not what the JSON gives")
    a = ap.parse_args()
    text = render()
    if a.check:
        return 0 if PAGE.read_text() == text else 1
    PAGE.write_text(text)
    print(f"written: {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
