"""Wall time of a fixed set of protocol runs through the run pool, and where the runs' time went.

    python benchmarks/pool_runs.py --out /tmp/pool-a            # fold 1 of the development draw, 10 runs
    PYTHONPATH=/path/to/other/checkout python benchmarks/pool_runs.py --out /tmp/pool-b

Trains TG-DFER (seeds 0-3), no text, MIL-only and the permuted descriptions (seeds 0-1 each) on fold 1 of the
development draw, two processes at a time as `make demo` and `make regenerate` do, from a warm feature cache (fold 1
is rendered into data/ and every view the runs read is cached into --cache first, untimed; both are reused by later
calls).
Prints the wall time and the runs' seconds by phase (set-up, training steps, validation, checkpoints, test), summed
over runs.
Point PYTHONPATH at another checkout to time its code on the same runs; compare the two run folders'
`metrics.json` to check that a change kept the numbers.
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

if __name__ == "__main__":
    import tgdfer
    from tgdfer.engine.device import machine
    from tgdfer.sweep.plan import PlannedRun
    from tgdfer_study.run_pool import run_pool, spec_of
    from tgdfer_study.cache_service import warm_cache
    from tgdfer_study.protocol import PROTOCOL
    from tgdfer.synth.source import resolve_dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="run folders go here (emptied first)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", default="build/bench-pool-cache", help="the feature cache (kept between calls)")
    args = ap.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    P = PROTOCOL
    layout, root = resolve_dataset("synth", "", clips=P.clips, size=P.size, seed=P.draw("development").seed,
                                   min_per_class=P.min_per_class, videos=P.videos, expressions=P.expressions,
                                   test_per_class=P.test_per_class, independent=P.independent, folds=(1,))
    cache = Path(args.cache)
    warm_cache(layout, root, P.config, cache, seeds=[0, 1, 2, 3], folds=[1])         # every run's views, untimed
    plan = ([PlannedRun("tgdfer", {}, 1, s) for s in range(4)]
            + [PlannedRun("tgdfer", {"model.text": "none"}, 1, s) for s in range(2)]
            + [PlannedRun("mil-only", {}, 1, s) for s in range(2)]
            + [PlannedRun("tgdfer", {"model.descriptions": "facs-permuted"}, 1, s) for s in range(2)])
    specs = [spec_of(r, layout, root, P.config, out, cache) for r in plan]
    t0 = time.time()
    results = run_pool(specs, args.workers, lambda line: None, t0)
    wall = time.time() - t0
    failed = [m for m in results if "error" in m]
    if failed:
        raise SystemExit(f"{len(failed)} runs failed: {failed[0]['error']}")
    phases: dict[str, float] = {}
    for m in results:
        for k, v in m["seconds"].items():
            phases[k] = phases.get(k, 0.0) + v
    print(f"tgdfer from {Path(tgdfer.__file__).parent}; {machine()}")
    print(f"{len(results)} runs, {args.workers} at a time: {wall:.1f} s wall; summed over runs: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))
