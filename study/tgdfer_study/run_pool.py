"""Running many runs: a pool of worker processes, one a core, longest first.

In: `RunSpec`s. Out: one result a run (its last-epoch metrics, or the one-line reason it failed). A run folder whose
checkpoint cannot be read (truncated by a full disk or an interrupted copy) is moved aside under `runs/_damaged/` and
trained again, said in the output; any other failure is reported in one line naming the run, and the other runs go on.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import torch

from tgdfer import runfolder as rf
from tgdfer.engine.run import run_folder, run_spec
from tgdfer.report.frames import has_frame_evidence
from tgdfer.runspec import RunSpec
from tgdfer.safe_load import UnreadableFileError
from tgdfer.sweep.plan import PlannedRun


def spec_of(r: PlannedRun, layout: str, root, config: str, runs_dir, cache) -> RunSpec:
    return RunSpec(layout, str(root), r.fold, config, r.variant, r.overrides, seed=r.seed, runs_dir=str(runs_dir),
                   resume=True, cache_dir=str(cache))


def _init_worker(threads: int) -> None:

    torch.set_num_threads(threads)


def run_one(spec: RunSpec) -> dict:
    """Train (or reuse) one run; never raises: a failure comes back as {'error': one line}."""
    label = f"fold {spec.fold} seed {spec.seed} {spec.name}"
    note = ""
    try:
        try:
            res = run_spec(spec, verbose=False)
        except UnreadableFileError as e:
            folder = run_folder(spec)
            if e.path is None or Path(e.path).parent.resolve() != folder.resolve():
                raise
            moved = rf.move_aside(folder, spec.runs_dir)
            note = f"{e.path.name} of {folder} could not be read: moved the folder to {moved} and trained again"
            res = run_spec(spec, verbose=False)
    except Exception as e:                                          # reported, the other runs go on
        first = (str(e).splitlines() or [""])[0]
        return {"label": label, "folder": str(run_folder(spec)), "error": f"{type(e).__name__}: {first}", "note": note}
    params = json.loads((res.run_dir / rf.PARAMS).read_text())
    return {"label": label, "folder": str(res.run_dir), "note": note, "frame_evidence": has_frame_evidence(params),
            "seconds": res.metrics.get("seconds", {}), **res.metrics["last"]}


def time_split(results: list[dict]) -> str:
    """One line: the runs' seconds by phase, summed over runs (the processes' own time, not the wall clock)."""
    total: dict[str, float] = {}
    for m in results:
        for k, v in (m.get("seconds") or {}).items():
            total[k] = total.get(k, 0.0) + v
    if not total:
        return "no timing in these runs (trained before it was recorded)"
    return f"{len(results)} runs, summed: " + ", ".join(f"{k} {v:.0f} s" for k, v in total.items())


def progress_line(i: int, n: int, m: dict, seconds: float) -> str:
    head = f"[{seconds:5.0f}s] {i:3d}/{n} {m['label']:42s}"
    if "error" in m:
        return f"{head} FAILED: {m['error']}"
    auc = f"{100 * m['loc_auc']:5.1f}" if m.get("frame_evidence") and "loc_auc" in m else "    -"
    return f"{head} UAR {100 * m['uar']:5.1f}  WAR {100 * m['war']:5.1f}  frame AUC {auc}"


def run_pool(specs: list[RunSpec], workers: int | None, say, t0: float) -> list[dict]:
    """Every spec in worker processes (one a core), in order; returns one result a spec, failures included."""

    n = workers or os.cpu_count() or 1
    out = []
    with ProcessPoolExecutor(n, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=(max(1, (os.cpu_count() or 1) // n),)) as pool:
        futures = [pool.submit(run_one, s) for s in specs]
        for i, fut in enumerate(as_completed(futures), 1):
            m = fut.result()
            if m.get("note"):
                say(f"[{time.time() - t0:5.0f}s] note: {m['note']}")
            say(progress_line(i, len(specs), m, time.time() - t0))
            out.append(m)
    return out


class RunsFailed(RuntimeError):
    """Some runs of a plan failed; the message lists them, one a line."""

def check_failures(results: list[dict]) -> None:
    failed = [m for m in results if "error" in m]
    if failed:
        raise RunsFailed(f"{len(failed)} of {len(results)} runs failed (the others are finished and will be reused):\n"
                         + "\n".join(f"  {m['folder']}: {m['error']}" for m in failed)
                         + "\nfix what the line says (or delete that run folder), then run the same command again")


