"""Collect: run folders -> small long-form records that every table and figure reads.

In: a runs folder (`runs/<dataset>/fold<k>/<run name>/seed<s>/`). Out, under `results/`:
- `records.csv`: one metric a line (dataset, fold, run_name, variant, config, seed, git_sha,
  which = last | best, metric, value);
- `confusion.csv`: confusion-matrix counts (dataset, fold, run_name, seed, true, pred, count);
- `history.csv`: per-epoch training history in long form;
- `examples.npz`: the sampled frames and relevance of a few test clips of each dataset's main run,
  so that Figure 4 needs no dataset on disk.
Published numbers (`results/published.csv`, each with its source) live beside them.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_write_bytes, atomic_write_text
from .runs import find_runs, load_run

MAIN_RUN = "tgdfer"


def _records(run) -> list[dict]:
    m, p = run.metrics, run.params
    base = dict(dataset=m["dataset"], fold=m["fold"], run_name=m["run_name"], variant=m["variant"],
                config=m["config"], seed=m["seed"], git_sha=p["environment"].get("git_sha", "")[:12])
    rows = []
    for which in ("last", "best"):
        res = m[which]
        vals = {"uar": res["uar"], "war": res["war"], "n_test": res["n"]}
        vals.update({f"recall_{c}": r for c, r in res["recall"].items() if r is not None})
        vals.update({k: v for k, v in res.items() if k.startswith("loc_")})
        if which == "best":
            vals["best_epoch"] = m["best_epoch"]
        for k, v in vals.items():
            rows.append({**base, "which": which, "metric": k, "value": float(v)})
    return rows


def _examples(run, n: int = 4) -> dict:
    """Frames and relevance of n test clips: the first correct and wrong ones, most confident first."""
    pred = run.predictions.copy()
    pred["conf"] = pred[[c for c in pred.columns if c.startswith("p_")]].max(axis=1)
    right = pred[pred.label == pred.pred].sort_values("conf", ascending=False)
    wrong = pred[pred.label != pred.pred].sort_values("conf", ascending=False)
    picks = list(right.clip_id[: n - n // 2]) + list(wrong.clip_id[: n // 2])
    out = {"clip_ids": [], "frames": [], "relevance": [], "labels": [], "preds": [], "truth": [], "frame_index": []}
    for cid in picks:
        i = run.clip_index(cid)
        frames = run.frames(cid)
        truth = run.truth(cid)
        out["clip_ids"].append(cid)
        out["frames"].append(_thumb(frames))
        out["relevance"].append(run.relevance["relevance"][i])
        out["labels"].append(int(run.relevance["labels"][i]))
        out["preds"].append(int(run.relevance["probs"][i].argmax()))
        out["truth"].append(truth if truth is not None else np.full(len(frames), np.nan))
        out["frame_index"].append(run.relevance["frame_index"][i])
    return {k: np.asarray(v) for k, v in out.items()}


def _thumb(frames: np.ndarray, side: int = 64) -> np.ndarray:
    import cv2

    return np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in frames])


def collect(runs_dir: str | Path, out: str | Path) -> dict[str, Path]:
    """Write the records of every finished run under `runs_dir` into `out`; returns the files written."""
    runs = [load_run(p) for p in find_runs(runs_dir)]
    if not runs:
        raise FileNotFoundError(f"no finished run under {runs_dir}: train first (`python -m tgdfer train` or `make demo`)")
    out = Path(out)
    records = pd.DataFrame([r for run in runs for r in _records(run)])
    records = records.sort_values(["dataset", "run_name", "fold", "seed", "which", "metric"]).reset_index(drop=True)
    conf = []
    for run in runs:
        m = run.metrics
        cm = np.asarray(m["last"]["confusion"])
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                conf.append(dict(dataset=m["dataset"], fold=m["fold"], run_name=m["run_name"], seed=m["seed"],
                                 true=run.class_names[i], pred=run.class_names[j], count=int(cm[i, j])))
    hist = []
    for run in runs:
        m = run.metrics
        h = run.history.drop(columns=[c for c in run.history.columns if c.endswith("_seconds")])
        long = h.melt(id_vars=["epoch"], var_name="metric", value_name="value")
        long.insert(0, "seed", m["seed"]), long.insert(0, "run_name", m["run_name"])
        long.insert(0, "fold", m["fold"]), long.insert(0, "dataset", m["dataset"])
        hist.append(long)
    files = {
        "records": atomic_write_text(out / "records.csv", records.to_csv(index=False, float_format="%.6g")),
        "confusion": atomic_write_text(out / "confusion.csv", pd.DataFrame(conf).to_csv(index=False)),
        "history": atomic_write_text(out / "history.csv", pd.concat(hist).to_csv(index=False, float_format="%.6g")),
    }
    examples = {}
    for run in runs:
        m = run.metrics
        key = f"{m['dataset']}"
        if m["run_name"] == MAIN_RUN and m["fold"] == 1 and key not in examples:
            examples[key] = (_examples(run), run.class_names)
    if examples:
        buf = io.BytesIO()
        arrays = {}
        for ds, (ex, names) in examples.items():
            arrays.update({f"{ds}__{k}": v for k, v in ex.items()})
            arrays[f"{ds}__class_names"] = np.asarray(names)
        np.savez_compressed(buf, **arrays)
        files["examples"] = atomic_write_bytes(out / "examples.npz", buf.getvalue())
    return files
