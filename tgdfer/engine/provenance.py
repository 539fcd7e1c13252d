"""What a run folder says about itself: `params.json` (the resolved parameters, the batch plan, the data sizes, the
weights and the environment), and the parts of `metrics.json` beside the scores (selection, epochs, where the time went).

In: a `run.Run` (built, possibly resumed). Out: `params.json` written by the first rank; the metrics' provenance dict.
"""
from __future__ import annotations

import json
import time

from .. import runfolder as rf
from ..io import atomic_write_json
from .device import environment
from .distributed import launcher


def write_params(run) -> None:
    """`params.json`: the resolved parameters, the data sizes, the weights and the environment."""
    s, d = run.spec, run.data
    params = {"dataset": s.dataset, "dataset_label": run.label, "root": str(s.root), "fold": s.fold,
              "media": s.media, "label_base": s.label_base, "config": run.cfg.to_dict(),
              "overrides": s.overrides, "run_name": s.name, "seed": s.seed,
              "deterministic": s.deterministic, "world_size": run.world, "batch": run.data.plan.to_dict(),
              "clips_left_out_an_epoch": run.data.sampler.leftover, "not_built": run.model.unbuilt,
              "launcher": launcher().launcher, "feature_cache": run.use_cache,
              "precision": str(run.amp).replace("torch.", "") if run.amp else "fp32",
              "selection_split": d.select_split,
              "clips": {"train": len(d.train_t), "val": 0 if d.val_t is None else len(d.val_t), "test": len(d.test_t)},
              "backbone": run.model.backbone.info, "environment": environment(run.dev), "spec": s.to_dict()}
    params.update(_first_environment(run, params["environment"]))
    if run.main:
        run.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run.run_dir / rf.PARAMS, params)
    n_val = 0 if d.val_t is None else len(d.val_t)
    b = d.plan
    run.log(f"run {run.run_dir}: {len(d.train_t)} train / {n_val} val / {len(d.test_t)} test clips, "
            f"{run.epochs} epochs x {run.steps_per_epoch} steps, device {run.dev}"
            + (", feature cache" if run.use_cache else ""))
    run.log(f"batch: global {b.global_batch} = {b.per_gpu} a process x {b.world} process(es) x {b.accum} "
            f"accumulation step(s)" + (f"; {d.sampler.leftover} clips that fill no whole global batch are left out of "
                                       "each epoch (a different few each epoch)" if d.sampler.leftover else ""))
    for part, why in run.model.unbuilt.items():
        run.log(f"not built: {part} ({why})")


def _first_environment(run, now: dict) -> dict:
    """A resumed run (a finished one reused, or one continued after an interruption) keeps the environment it began
    in, which the records cite (`git_sha`); where it went on in another, `resumed_in` lists those."""
    if run.start_epoch == 0 or not (run.run_dir / rf.PARAMS).is_file():
        return {}
    try:
        before = json.loads((run.run_dir / rf.PARAMS).read_text())
        first = before["environment"]
    except (ValueError, KeyError, TypeError):
        return {}                                                  # unreadable: this environment is all there is
    later = before.get("resumed_in", [])
    if now != first and now not in later:
        later = later + [now]
    return {"environment": first, **({"resumed_in": later} if later else {})}


def run_metrics(run, last: dict, best: dict) -> dict:
    s, tc, sel = run.spec, run.cfg.train, run.data.select_split
    return {"dataset": run.label, "fold": s.fold, "run_name": s.name, "variant": run.cfg.variant,
            "config": run.cfg.name, "seed": s.seed, "reported": "last", "selection_split": sel,
            "selection_note": ("best epoch chosen on a validation split carved from the training fold"
                               if sel == "val" else
                               "best epoch chosen on the test fold (as public DFER code does): optimistic"),
            "epochs": len(run.history), "steps": run.step, "best_epoch": run.best["epoch"], "last": last, "best": best,
            "test_views": tc.test_views, "test_crops": tc.test_crops,
            "wall_seconds": round(time.time() - run.t_start, 1), "seconds": run_seconds(run)}


def run_seconds(run) -> dict:
    """Where this process's time on the run went: set-up (model, data tables, cache read, resume), training steps,
    per-epoch validation, checkpoint and history writes, the test evaluation (predictions and relevance written)."""
    h = run.history
    return {"setup": round(run.timing.get("setup", 0.0), 2),
            "train": round(sum(r.get("train_seconds", 0.0) or 0.0 for r in h), 2),
            "validation": round(sum(r.get("eval_seconds", 0.0) or 0.0 for r in h), 2),
            "checkpoints": round(run.timing.get("checkpoints", 0.0), 2),
            "test": round(run.timing.get("test", 0.0), 2)}
