"""The power study of the protocol: how many folds, seeds and test clips the primary comparisons need.

On the development draw only: TG-DFER and each comparison variant on the same folds and seeds; each pair's
difference in UAR and in frame AUC, with the share of its variance that its test clips alone give
(`report/power.py`), gives the variance components; from them, the predicted half-width of the 95% interval
and the minimum detectable effect of every design in a grid. Out: `results/power.json` and `results/power.md`.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_write_json, atomic_write_text
from ..report import power
from ..report.frames import run_clips, sampled_truth
from ..report.runs import load_run
from .plan import PlannedRun
from .pool import check_failures, run_pool, spec_of, warm_cache

# The primary comparisons until the analysis plan fixes them (issue: TG-DFER against no text, no visual prompt,
# no temporal network and MIL-only; the position prior needs no training and is scored on TG-DFER's own clips).
COMPARISONS = {"no text": ("tgdfer", {"model.text": "none"}),
               "no visual prompt": ("tgdfer", {"model.visual_prompt": False}),
               "no temporal network": ("tgdfer", {"model.temporal": "none"}),
               "MIL-only": ("mil-only", {})}


def pair_rows(ref: Path, other: Path, n_classes: int = 7) -> dict:
    """Paired differences (other - ref) of one fold and seed, with their test-sampling variances."""
    a, b = load_run(other), load_run(ref)
    pa, pb = a.predictions.set_index("clip_id"), b.predictions.set_index("clip_id").loc[a.predictions.clip_id]
    labels = pa["label"].to_numpy()
    ca, cb = (pa["pred"] == pa["label"]).to_numpy(), (pb["pred"] == pb["label"]).to_numpy()
    uar_var, uar_n = power.uar_test_variance(labels, ca, cb, n_classes)
    rows = {"uar": dict(diff=100 * (a.metrics["last"]["uar"] - b.metrics["last"]["uar"]), test_var=1e4 * uar_var,
                        test_n=uar_n)}
    truth = sampled_truth(b.spec.root, b.relevance["clip_ids"], b.relevance["frame_index"])
    auc_b = run_clips(b.relevance, truth)["auc_contrastive"].to_numpy()
    if "instance_scores" in a.relevance or a.params.get("config", {}).get("model", {}).get("mil_lambda", 0) > 0:
        auc_a = run_clips(a.relevance, truth)["auc_contrastive"].to_numpy()
        v, n = power.auc_test_variance(auc_a, auc_b)
        rows["frame_auc"] = dict(diff=100 * float(np.nanmean(auc_a) - np.nanmean(auc_b)), test_var=1e4 * v, test_n=n)
    return rows


def run_power_study(layout: str, root, config: str, runs_dir: Path, folds, seeds, out: Path,
                    workers: int | None = None, say=print) -> dict:
    """Train the pairs (reusing finished runs), then write power.json, power_pairs.csv and power.md into `out`."""
    from ..engine.run import run_folder

    t0 = time.time()
    cache = Path(runs_dir) / "synth" / "cache"
    warm_cache(layout, root, config, cache)
    plan = [PlannedRun(v, ov, f, s, "power") for v, ov in [("tgdfer", {})] + list(COMPARISONS.values())
            for f in folds for s in seeds]
    check_failures(run_pool([spec_of(r, layout, root, config, runs_dir, cache) for r in plan], workers, say, t0))

    def folder(variant, ov, f, s):
        return run_folder(spec_of(PlannedRun(variant, ov, f, s), layout, root, config, runs_dir, cache))

    rows = []
    for name, (variant, ov) in COMPARISONS.items():
        for f in folds:
            for s in seeds:
                for metric, row in pair_rows(folder("tgdfer", {}, f, s), folder(variant, ov, f, s)).items():
                    rows.append(dict(comparison=name, metric=metric, fold=f, seed=s, **row))
    pairs = pd.DataFrame(rows)
    result = summarise(pairs)
    result.update(folds=list(folds), seeds=list(seeds), root=str(root), config=config,
                  seconds=round(time.time() - t0, 1))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "power.json", result)
    atomic_write_text(out / "power_pairs.csv", pairs.to_csv(index=False))
    atomic_write_text(out / "power.md", power_markdown(result))
    return result


GRID = dict(folds=(3, 5, 8, 10), seeds=(1, 2, 3), n=(50, 100, 200))
SCORED_PER_CLASS = 6        # frame AUC is scored on the expressive classes' clips: 6 of 7 classes


def summarise(pairs: pd.DataFrame) -> dict:
    """Per comparison and metric: the observed mean difference, the variance components and the design grid."""
    out = {"comparisons": {}}
    for (name, metric), df in pairs.groupby(["comparison", "metric"], sort=False):
        c = power.components(df)
        scale = 1.0 if metric == "uar" else SCORED_PER_CLASS
        grid = power.design_grid(c, GRID["folds"], GRID["seeds"], GRID["n"], scale=scale)
        out["comparisons"].setdefault(name, {})[metric] = {
            "mean_diff": round(float(df["diff"].mean()), 2), "pairs": int(len(df)),
            "components": {"fold": round(c.fold, 3), "seed": round(c.seed, 3), "test": round(c.test, 2),
                           "test_n_dev": round(float(df["test_n"].mean()), 1)},
            "grid": grid.round(2).to_dict("records")}
    return out


def power_markdown(result: dict) -> str:
    """The design table: for each design, the largest predicted half-width over the primary comparisons."""
    lines = [f"# Power study (development draw; folds {result['folds']}, seeds {result['seeds']})", "",
             "Variance components of each paired difference (points squared; `test` is per test unit: clips a class "
             "for UAR, scored clips for frame AUC), from `tgdfer/report/power.py`.", "",
             "| comparison | metric | mean Δ | fold | seed | test | test units (dev) |", "|---|---|---|---|---|---|---|"]
    worst = {}
    for name, metrics in result["comparisons"].items():
        for metric, r in metrics.items():
            c = r["components"]
            lines.append(f"| {name} | {metric} | {r['mean_diff']:+.1f} | {c['fold']:.2f} | {c['seed']:.2f} | "
                         f"{c['test']:.0f} | {c['test_n_dev']:.0f} |")
            for g in r["grid"]:
                key = (g["folds"], g["seeds"], g["test_per_class"], metric)
                worst[key] = max(worst.get(key, 0.0), g["halfwidth"])
    lines += ["", "Largest predicted half-width of the 95% interval over the comparisons (independent training sets "
              "a fold; frame AUC scored on 6 classes' clips):", "",
              "| folds | seeds | runs a variant | test clips a class | UAR | frame AUC |", "|---|---|---|---|---|---|"]
    for (J, S, m, metric), hw in worst.items():
        if metric == "uar":
            auc = worst.get((J, S, m, "frame_auc"), float("nan"))
            lines.append(f"| {J} | {S} | {J * S} | {m} | {hw:.1f} | {auc:.1f} |")
    return "\n".join(lines) + "\n"
