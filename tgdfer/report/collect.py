"""Collect: run folders -> small long-form records that every table and figure reads.

In: a runs folder (`runs/<dataset>/fold<k>/<run name>/seed<s>/`). Out, under `results/`:
- `records.csv`: one metric a line (dataset, fold, run_name, variant, config, seed, git_sha,
  which = last | best, metric, value);
- `confusion.csv`: confusion-matrix counts (dataset, fold, run_name, seed, true, pred, count);
- `history.csv`: per-epoch training history in long form;
- `frame_clips.csv`: per-clip frame-evidence scores (see `frames.py`) of every run whose prediction or
  loss uses per-frame class scores, and of the floors (position prior, random scores), where the
  dataset has frame-level ground truth; their run-level summaries are `frame_*` records;
- `examples.npz`: the sampled frames and relevance of a few test clips of each dataset's main run,
  so that Figure 4 needs no dataset on disk.
Published numbers, each with its source, are package data (`assets/published.csv`); `report/tables.py` reads them.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..classes import dfew_frequencies
from ..io import atomic_write_bytes, atomic_write_text
from . import frames as fr
from .runs import find_runs, load_run


MAIN_RUN = "tgdfer"


def _base(run, run_name: str | None = None) -> dict:
    m, p = run.metrics, run.params
    return dict(dataset=m["dataset"], fold=m["fold"], run_name=run_name or m["run_name"],
                variant=run_name or m["variant"], config=m["config"], seed=m["seed"],
                git_sha=p["environment"].get("git_sha", "")[:12])


def _records(run) -> list[dict]:
    m, base = run.metrics, _base(run)
    rows = []
    for which in ("last", "best"):
        res = m[which]
        vals = {"uar": res["uar"], "war": res["war"], "n_test": res["n"]}
        vals.update({f"recall_{c}": r for c, r in res["recall"].items() if r is not None})
        war_dfew = _war_dfew(res["recall"])
        if war_dfew is not None:
            vals["war_dfew"] = war_dfew
        vals.update({k: v for k, v in res.items() if k.startswith("loc_")})
        if which == "best":
            vals["best_epoch"] = m["best_epoch"]
        for k, v in vals.items():
            rows.append({**base, "which": which, "metric": k, "value": float(v)})
    return rows


def _independent_folds(runs) -> bool:
    """True when every run read a generated benchmark drawn with independent folds (its manifest says so)."""
    def independent(run) -> bool:
        m = Path(str(run.params.get("root", ""))) / "manifest.json"
        return m.is_file() and bool(json.loads(m.read_text()).get("config", {}).get("independent", False))
    return bool(runs) and all(independent(r) for r in runs)


def _war_dfew(recall: dict) -> float | None:
    """WAR under DFEW's class frequencies, from per-class recalls: sum_c f_c recall_c (f: DFEW's class shares);
    None unless every class is one of DFEW's and has a recall. On balanced test splits WAR equals UAR, so this is the
    WAR that stays comparable with DFEW's."""
    f = dfew_frequencies()
    if not recall or set(recall) != set(f) or any(r is None for r in recall.values()):
        return None
    return float(sum(f[c] * r for c, r in recall.items()))


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

    return np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in frames])


def _frame_records(runs) -> tuple[list[dict], pd.DataFrame]:
    """`frame_*` records (which = last: relevance.npz holds the last epoch) and the per-clip table, for
    every run with frame evidence and, once per (dataset, fold, seed), for the floors."""
    rows, clips, floors_done = [], [], set()
    main_first = sorted(runs, key=lambda r: r.metrics["run_name"] != MAIN_RUN)
    for run in main_first:
        base = {**_base(run), "which": "last"}
        evidence = fr.has_frame_evidence(run.params)
        rows.append({**base, "metric": "frame_evidence", "value": float(evidence)})
        rel = run.relevance
        truth = fr.sampled_truth(run.params.get("root"), rel["clip_ids"], rel["frame_index"])
        if truth is None:
            continue
        tables = {run.metrics["run_name"]: fr.run_clips(rel, truth)} if evidence else {}
        key = (run.metrics["dataset"], run.metrics["fold"], run.metrics["seed"])
        if key not in floors_done:
            floors_done.add(key)
            tables.update(fr.floor_clips(run.params, rel, truth, run.metrics["seed"]))
        for name, table in tables.items():
            b = {**_base(run, None if name == run.metrics["run_name"] else name), "which": "last"}
            rows += [{**b, "metric": k, "value": v} for k, v in fr.summary(table).items()]
            ids = {k: b[k] for k in ("dataset", "fold", "run_name", "seed")}
            clips.append(table.assign(**ids)[list(ids) + list(table.columns)])
    return rows, (pd.concat(clips, ignore_index=True) if clips else pd.DataFrame())


def _confusion(runs) -> pd.DataFrame:
    conf = []
    for run in runs:
        m = run.metrics
        cm = np.asarray(m["last"]["confusion"])
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                conf.append(dict(dataset=m["dataset"], fold=m["fold"], run_name=m["run_name"], seed=m["seed"],
                                 true=run.class_names[i], pred=run.class_names[j], count=int(cm[i, j])))
    return pd.DataFrame(conf)


def _history(runs) -> pd.DataFrame:
    hist = []
    for run in runs:
        m = run.metrics
        h = run.history.drop(columns=[c for c in run.history.columns if c.endswith("_seconds")])
        long = h.melt(id_vars=["epoch"], var_name="metric", value_name="value")
        long.insert(0, "seed", m["seed"]), long.insert(0, "run_name", m["run_name"])
        long.insert(0, "fold", m["fold"]), long.insert(0, "dataset", m["dataset"])
        hist.append(long)
    return pd.concat(hist)


def _write_examples(runs, out: Path) -> Path | None:
    examples = {}
    for run in runs:
        m = run.metrics
        key = f"{m['dataset']}"
        if m["run_name"] == MAIN_RUN and m["fold"] == 1 and key not in examples:
            examples[key] = (_examples(run), run.class_names)
    if not examples:
        return None
    buf = io.BytesIO()
    arrays = {}
    for ds, (ex, names) in examples.items():
        arrays.update({f"{ds}__{k}": v for k, v in ex.items()})
        arrays[f"{ds}__class_names"] = np.asarray(names)
    np.savez_compressed(buf, **arrays)
    return atomic_write_bytes(out / "examples.npz", buf.getvalue())


def _refuse_mixed(runs, runs_dir) -> None:
    """Tables pair runs by (dataset, run name, fold, seed): runs of other configs or training settings under one name
    would be averaged as if they were seeds. Refuse, naming two of them and the fix."""
    seen: dict[tuple, Path] = {}
    for run in runs:
        m = run.metrics
        key = (m["dataset"], m["run_name"], m["fold"], m["seed"])
        if key in seen:
            a, b = seen[key], run.path
            raise ValueError(f"two finished runs of {m['dataset']} {m['run_name']} fold {m['fold']} seed {m['seed']} "
                             f"under {runs_dir}: {a} and {b} (another config or other training settings). Collect one "
                             f"sweep at a time: --runs {a.parents[2]} (one config's runs), or a folder holding one setting's "
                             "runs")
        seen[key] = run.path


def collect(runs_dir: str | Path, out: str | Path) -> dict[str, Path]:
    """Write the records of every finished run under `runs_dir` into `out`; returns the files written."""
    runs = [load_run(p) for p in find_runs(runs_dir)]
    if not runs:
        raise FileNotFoundError(f"no finished run under {runs_dir}: train first (`python -m tgdfer train` or `make demo`)")
    _refuse_mixed(runs, runs_dir)
    out = Path(out)
    frame_rows, clips = _frame_records(runs)
    records = pd.DataFrame([r for run in runs for r in _records(run)] + frame_rows)
    records = records.sort_values(["dataset", "run_name", "fold", "seed", "which", "metric"]).reset_index(drop=True)
    files = {
        "records": atomic_write_text(out / "records.csv", records.to_csv(index=False, float_format="%.6g")),
        "confusion": atomic_write_text(out / "confusion.csv", _confusion(runs).to_csv(index=False)),
        "history": atomic_write_text(out / "history.csv", _history(runs).to_csv(index=False, float_format="%.6g")),
    }
    (out / "frame_clips.csv").unlink(missing_ok=True)        # never leave a stale one beside new records
    if len(clips):
        clips = clips.sort_values(["dataset", "run_name", "fold", "seed", "clip_id"])
        files["frame_clips"] = atomic_write_text(out / "frame_clips.csv", clips.to_csv(index=False, float_format="%.6g"))
    design = out / "design.json"
    design.unlink(missing_ok=True)
    if _independent_folds(runs):
        files["design"] = atomic_write_text(design, json.dumps({
            "independent_folds": True,
            "about": "every run read a generated benchmark whose folds are independent training draws with held-out "
                     "test splits (its manifest's config.independent): the tables' intervals take no overlap "
                     "correction"}, indent=1) + "\n")
    examples = _write_examples(runs, out)
    if examples is not None:
        files["examples"] = examples
    return files
