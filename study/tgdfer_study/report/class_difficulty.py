"""Class difficulty of a benchmark: the per-class recall of a method's runs against a published per-class table.

In: run folders (their `metrics.json`, last epoch). Out: mean and range of each class's recall over the runs, the
chance level, the classes whose mean recall is at or below chance, and the Spearman rank correlation of the means
with the reference table (`assets/dfew_per_class.json`: DK-CLIP on DFEW). Used by the power study (`power`), which
trains TG-DFER on the development draw anyway.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr


def reference() -> dict:
    """{'method', 'source', 'recall': {class: %}} of the published per-class table."""
    return json.loads(resources.files("tgdfer.assets").joinpath("dfew_per_class.json").read_text())


def class_recall(run_dirs: list[Path]) -> dict:
    """Mean and [min, max] recall a class (%) over the runs, chance, classes at chance, Spearman with the reference."""
    recalls = [json.loads((Path(d) / "metrics.json").read_text())["last"]["recall"] for d in run_dirs]
    names = list(recalls[0])
    values = np.array([[100 * r[c] for c in names] for r in recalls])            # [runs, classes]
    return _summary(names, values.mean(0), values.min(0), values.max(0), len(recalls))


def pool_class_recall(results: list[dict]) -> dict:
    """`class_recall` of several sets of runs (e.g. the power studies of two development draws) as one: the mean over
    all their runs (weighted by runs), the widest range, chance and Spearman recomputed."""
    names = list(results[0]["mean_recall"])
    runs = np.array([r["runs"] for r in results], float)
    mean = np.array([[r["mean_recall"][c] for c in names] for r in results]).T @ runs / runs.sum()
    lo = np.array([min(r["range"][c][0] for r in results) for c in names])
    hi = np.array([max(r["range"][c][1] for r in results) for c in names])
    return _summary(names, mean, lo, hi, int(runs.sum()))


def _summary(names: list[str], mean, lo, hi, runs: int) -> dict:
    """The `class_recall` dict from per-class mean, min and max recall (%) over `runs` runs."""
    ref = reference()
    rho = spearmanr(mean, [ref["recall"][c] for c in names]).correlation
    chance = 100 / len(names)
    return {"runs": runs, "chance": round(chance, 1),
            "mean_recall": {c: round(float(v), 1) for c, v in zip(names, mean)},
            "range": {c: [round(float(a), 1), round(float(b), 1)] for c, a, b in zip(names, lo, hi)},
            "at_or_below_chance": [c for c, v in zip(names, mean) if v <= chance],
            "reference": ref["method"], "spearman": round(float(rho), 2)}


def class_recall_markdown(r: dict) -> str:
    names = list(r["mean_recall"])
    ref = reference()["recall"]
    return "\n".join([
        f"TG-DFER's recall a class over {r['runs']} runs (mean [min, max], %; chance {r['chance']}), beside "
        f"{r['reference']} on DFEW; Spearman rank correlation {r['spearman']:+.2f}; classes at or below chance: "
        f"{', '.join(r['at_or_below_chance']) or 'none'}.", "",
        "| class | " + " | ".join(names) + " |", "|---|" + "---|" * len(names),
        "| this benchmark | " + " | ".join(f"{r['mean_recall'][c]:.1f} [{r['range'][c][0]:.0f}, {r['range'][c][1]:.0f}]"
                                         for c in names) + " |",
        f"| {r['reference']} (DFEW) | " + " | ".join(f"{ref[c]:.1f}" for c in names) + " |"]) + "\n"
