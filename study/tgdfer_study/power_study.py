"""The power study of the protocol: how many folds, seeds and test clips the primary comparisons need.

On the development draw only: TG-DFER and each comparison variant on the same folds and seeds; each pair's
difference in UAR and in frame AUC, with the share of its variance that its test clips alone give
(`report/power.py`), gives the variance components; from them, the predicted half-width of the 95% interval
and the minimum detectable effect of every design in a grid. Out: `results/power.json` and `results/power.md`.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tgdfer.engine.run import run_folder
from tgdfer.io import atomic_write_json, atomic_write_text
from tgdfer.paths import repo_root
from tgdfer.report.frames import has_frame_evidence, run_clips, sampled_truth
from tgdfer.report.runs import load_run
from tgdfer.sweep.plan import PlannedRun

from .cache_service import warm_cache
from .report import power
from .report.class_difficulty import class_recall, class_recall_markdown
from .run_pool import check_failures, run_pool, spec_of


# The primary comparisons of the analysis plan (paper/analysis_plan.json) that pair TG-DFER with a trained variant:
# no text and the permuted descriptions (text), no visual prompt, no temporal network, MIL-only. The plan's floors
# (position prior, change detector) need no training: they are scored on the trained run's own clips, so the
# variance of MIL-only (or TG-DFER) against a floor is at most that of MIL-only against TG-DFER.
COMPARISONS = {"no text": ("tgdfer", {"model.text": "none"}),
               "permuted descriptions": ("tgdfer", {"model.descriptions": "facs-permuted"}),
               "no visual prompt": ("tgdfer", {"model.visual_prompt": False}),
               "no temporal network": ("tgdfer", {"model.temporal": "none"}),
               "MIL-only": ("mil-only", {})}
# The dose of meaning (docs/evidence.md): descriptions at three levels of agreement with what the generator renders,
# seeded derangements of the dataset's own classes' sentences, and no text, each against TG-DFER's own descriptions.
DOSES = "study/tgdfer_study/descriptions"
MEANING = {"no text": ("tgdfer", {"model.text": "none"}),
           "dose: all": ("tgdfer", {"model.descriptions": f"{DOSES}/dose_all.json"}),
           "dose: half": ("tgdfer", {"model.descriptions": f"{DOSES}/dose_half.json"}),
           "dose: none": ("tgdfer", {"model.descriptions": f"{DOSES}/dose_none.json"}),
           "deranged 1": ("tgdfer", {"model.descriptions": "facs-deranged:1"}),
           "deranged 2": ("tgdfer", {"model.descriptions": "facs-deranged:2"})}
# The tuning rule (results/tuning_rule.md): the mil_lambda the clip-label-only rule picks against the config's 0.75.
RULE = {"mil_lambda 0.5": ("tgdfer", {"model.mil_lambda": 0.5})}
STUDIES = {"primary": COMPARISONS, "meaning": MEANING, "rule": RULE}


def clip_differences(ref: Path, other: Path) -> dict:
    """Per-clip paired differences (other - ref) of one fold and seed, on the same test clips in the same order:
    {'uar': (labels, correct_other - correct_ref, ΔUAR in points), 'frame_auc': (ones, Δ per scored clip, Δ mean
    frame AUC in points)}; frame AUC only where `other` has frame evidence, on the clips both score."""
    a, b = load_run(other), load_run(ref)
    if not np.array_equal(a.relevance["clip_ids"], b.relevance["clip_ids"]) or \
            not np.array_equal(a.relevance["frame_index"], b.relevance["frame_index"]):
        raise ValueError(f"{other} and {ref} were not evaluated on the same clips and frames: not a pair")
    pb = b.predictions.set_index("clip_id").loc[a.predictions["clip_id"]]
    labels = a.predictions["label"].to_numpy()
    d = (a.predictions["pred"].to_numpy() == labels).astype(float) - (pb["pred"].to_numpy() == labels).astype(float)
    out = {"uar": (labels, d, 100 * (a.metrics["last"]["uar"] - b.metrics["last"]["uar"]))}
    if has_frame_evidence(a.params):
        truth = sampled_truth(b.spec.root, b.relevance["clip_ids"], b.relevance["frame_index"])
        da = run_clips(a.relevance, truth)["auc_contrastive"].to_numpy() - run_clips(b.relevance, truth)["auc_contrastive"].to_numpy()
        da = da[~np.isnan(da)]
        out["frame_auc"] = (np.zeros(len(da), int), da, 100 * float(da.mean()))
    return out


def fold_rows(name: str, fold: int, seeds, per_seed: list[dict]) -> list[dict]:
    """One row a (metric, seed) of a comparison's fold: Δ, its test-sampling variance and the part its seeds share."""
    rows = []
    for metric in per_seed[0]:
        groups, _, _ = per_seed[0][metric]
        n_groups = 7 if metric == "uar" else 1
        n = power.units_per_class(groups, n_groups) if metric == "uar" else float(len(groups))
        same = all(len(p[metric][1]) == len(groups) for p in per_seed)
        shared = power.shared_sampling_variance(np.stack([p[metric][1] for p in per_seed]), groups, n_groups) \
            if same and len(per_seed) > 1 else float("nan")
        for s, p in zip(seeds, per_seed):
            g, d, diff = p[metric]
            rows.append(dict(comparison=name, metric=metric, fold=fold, seed=s, diff=diff,
                             test_var=1e4 * power.sampling_variance(d, g, n_groups), test_shared_var=1e4 * shared,
                             test_n=n))
    return rows


def run_power_study(layout: str, root, config: str, runs_dir: Path, folds, seeds, out: Path, *,
                    workers: int | None = None, say=print, draw: str = "", comparisons: dict | None = None) -> dict:
    """Train the pairs (reusing finished runs), then write power.json, power_pairs.csv and power.md into `out`.
    `draw`: the protocol's name of the development draw at `root`, kept in the JSON and in a pairs column, so that
    studies of several draws can be pooled (`resummarise`)."""
    t0 = time.time()
    comparisons = comparisons or COMPARISONS
    cache = Path(runs_dir) / "synth" / "cache"
    warm_cache(layout, root, config, cache)
    plan = [PlannedRun(v, ov, f, s, "power") for v, ov in [("tgdfer", {})] + list(comparisons.values())
            for f in folds for s in seeds]
    check_failures(run_pool([spec_of(r, layout, root, config, runs_dir, cache) for r in plan], workers, say, t0))

    def folder(variant, ov, f, s):
        return run_folder(spec_of(PlannedRun(variant, ov, f, s), layout, root, config, runs_dir, cache))

    rows = []
    for name, (variant, ov) in comparisons.items():
        for f in folds:
            per_seed = [clip_differences(folder("tgdfer", {}, f, s), folder(variant, ov, f, s)) for s in seeds]
            rows += fold_rows(name, f, seeds, per_seed)
    pairs = pd.DataFrame(rows)
    if draw:
        pairs.insert(0, "draw", draw)
    result = summarise(pairs)
    if draw:
        result["draw"] = draw
    result.update(folds=list(folds), seeds=list(seeds), root=str(root), config=config,
                  class_recall=class_recall([folder("tgdfer", {}, f, s) for f in folds for s in seeds]),
                  seconds=round(time.time() - t0, 1))
    return write_study(out, result, pairs)


def resummarise(pairs_csv, out: Path, grid_folds=None) -> dict:
    """A power study's result recomputed from its pairs CSV (no training): new components and grid, the rest (folds,
    seeds, root, class recall, ...) from the JSON beside the CSV; written as power.json, power_pairs.csv, power.md.

    Several CSVs (studies of different development draws, each with the JSON beside it): their pairs pooled, a fold
    being a (draw, fold) pair (the folds of the generated benchmark are independent draws, so the folds of two draws
    are simply more folds); the draw of a CSV without a draw column is its JSON's `draw`, else 'development'. The
    result names its studies and each draw's folds; class recall pooled over every study's runs where each has it
    (`pool_class_recall`; the means are rounded to 0.1 in each study's JSON).
    `grid_folds`: the fold counts of the design grid (default `GRID`'s)."""
    paths = [Path(p) for p in ([pairs_csv] if isinstance(pairs_csv, (str, Path)) else pairs_csv)]
    if not paths:
        raise ValueError("resummarise needs at least one pairs CSV")
    bases, frames = [], []
    for p in paths:
        base = p.with_name(p.name.replace("power_pairs", "power")).with_suffix(".json")
        if not base.is_file():
            raise FileNotFoundError(f"{base} not found: --from-pairs needs the power study's JSON beside its pairs CSV")
        bases.append(json.loads(base.read_text()))
        frames.append(pd.read_csv(p))
    grid = dict(GRID, folds=tuple(grid_folds)) if grid_folds else GRID
    if len(paths) == 1:
        return write_study(out, {**bases[0], **summarise(frames[0], grid)}, frames[0])
    if len({b.get("config") for b in bases}) > 1:
        raise ValueError(f"{', '.join(map(str, paths))}: studies of different configs cannot be pooled")
    for b, df in zip(bases, frames):
        if "draw" not in df:
            df.insert(0, "draw", b.get("draw", "development"))
    pairs = pd.concat(frames, ignore_index=True)
    keys = pairs[["draw", "fold"]].drop_duplicates()
    if len(pairs[["draw", "fold", "seed", "comparison", "metric"]].drop_duplicates()) != len(pairs):
        raise ValueError(f"{', '.join(map(str, paths))}: the same draw, fold, seed and comparison twice; pool studies "
                         "of different draws (or different folds of one)")

    inside = [p.resolve() for p in paths]                        # named relative to the repository where inside it
    result = {"studies": [str(p.relative_to(repo_root())) if p.is_relative_to(repo_root()) else str(p) for p in inside],
              "draws": {d: sorted(int(f) for f in g["fold"]) for d, g in keys.groupby("draw", sort=False)},
              "folds": int(len(keys)), "seeds": sorted({int(s) for s in pairs["seed"]}),
              "config": bases[0].get("config"), **summarise(pairs, grid)}
    if all(b.get("class_recall") for b in bases):
        from .report.class_difficulty import pool_class_recall

        result["class_recall"] = pool_class_recall([b["class_recall"] for b in bases])
    return write_study(out, result, pairs)


def write_study(out: Path, result: dict, pairs: pd.DataFrame) -> dict:
    """power.json, power_pairs.csv and power.md of a study into `out`; returns `result`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "power.json", result)
    atomic_write_text(out / "power_pairs.csv", pairs.to_csv(index=False))
    atomic_write_text(out / "power.md", power_markdown(result))
    return result


GRID = dict(folds=(3, 5, 8, 10), seeds=(1, 2, 4, 8, 20), n=(50, 100, 200))


def summarise(pairs: pd.DataFrame, grid: dict = GRID) -> dict:
    """Per comparison and metric: the observed mean difference, the variance components and the design grid."""
    out = {"comparisons": {}}
    per_class = {}
    for (name, metric), df in pairs.groupby(["comparison", "metric"], sort=False):
        per_class.setdefault(name, float(pairs[(pairs.comparison == name) & (pairs.metric == "uar")]["test_n"].mean()))
        c = power.components(df)
        scale = 1.0 if metric == "uar" else c.n / per_class[name]        # scored clips a class at the dev draw
        designs = power.design_grid(c, grid["folds"], grid["seeds"], grid["n"], scale=scale)
        out["comparisons"].setdefault(name, {})[metric] = {
            "mean_diff": round(float(df["diff"].mean()), 2), "pairs": int(len(df)),
            "components": {"fold": round(c.fold, 3), "seed": round(c.seed, 3), "shared": round(c.shared, 2),
                           "inter": round(c.inter, 2), "test_n_dev": round(c.n, 1), "units_per_class": round(scale, 3),
                           "folds": c.folds, "fold_upper80": round(power.fold_upper(c, 0.8).fold, 3)},
            "grid": designs.round(2).to_dict("records")}
    return out


def power_markdown(result: dict) -> str:
    """The design table: for each design, the largest predicted half-width over the primary comparisons."""
    if "draws" in result:
        where = (f"development draws {', '.join(f'{d} (folds {f})' for d, f in result['draws'].items())}: "
                 f"{result['folds']} independent folds pooled; seeds {result['seeds']}")
    else:
        where = f"development draw; folds {result['folds']}, seeds {result['seeds']}"
    lines = [f"# Power study ({where})", "",
             "Variance components of each paired difference, in points squared (`tgdfer/report/power.py`): fold "
             "(training data; a lower bound where folds share training clips), seed (training run), shared and clip x "
             "run (test clips; divided by the test units: clips a class for UAR, scored clips for frame AUC). Fold, "
             "80% upper: the fold component at its one-sided 80% upper confidence bound from the folds' means "
             "(folds - 1 degrees of freedom; `power.fold_upper`).", "",
             "| comparison | metric | mean Δ | fold | fold, 80% upper | folds | seed | shared | clip x run | test units (dev) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    worst = {}
    for name, metrics in result["comparisons"].items():
        for metric, r in metrics.items():
            c = r["components"]
            lines.append(f"| {name} | {metric} | {r['mean_diff']:+.1f} | {c['fold']:.2f} | {c['fold_upper80']:.2f} | "
                         f"{c['folds']} | {c['seed']:.2f} | "
                         f"{c['shared']:.0f} | {c['inter']:.0f} | {c['test_n_dev']:.0f} |")
            for g in r["grid"]:
                key = (g["folds"], g["seeds"], g["test_per_class"])
                for col in ("halfwidth_independent", "halfwidth80_independent", "halfwidth_overlapping",
                            "halfwidth_foldupper80_independent"):
                    k = key + (metric, col)
                    worst[k] = max(worst.get(k, 0.0), g.get(col, float("nan")))
    lines += ["", "Largest predicted half-width of the 95% interval over the comparisons: expected, and not exceeded "
              "with 80% probability, for training sets drawn independently a fold; expected for J-fold splits of one "
              "pool (the overlap correction the tables apply); expected with each fold component at its 80% upper "
              "confidence bound (`power.fold_upper`: how far the prediction itself can be off, since the fold "
              "component is estimated from the study's folds - 1 degrees of freedom).", "",
              "| folds | seeds | runs a variant | test clips a class | UAR | UAR (80%) | UAR, J-fold pool | UAR, fold "
              "upper 80% | frame AUC | frame AUC (80%) | frame AUC, J-fold pool | frame AUC, fold upper 80% |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    designs = sorted({k[:3] for k in worst})
    for J, S, m in designs:
        cells = [worst.get((J, S, m, metric, col), float("nan")) for metric in ("uar", "frame_auc")
                 for col in ("halfwidth_independent", "halfwidth80_independent", "halfwidth_overlapping",
                             "halfwidth_foldupper80_independent")]
        lines.append(f"| {J} | {S} | {J * S} | {m} | " + " | ".join(f"{v:.1f}" for v in cells) + " |")
    if "class_recall" in result:
        lines += ["", "## Class difficulty", "", class_recall_markdown(result["class_recall"])]
    return "\n".join(lines) + "\n"
