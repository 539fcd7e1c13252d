"""`make demo` and the full regeneration: the embedded pipeline on the generated benchmark, on a CPU.

The protocol (`PROTOCOL`): the benchmark with 2,000 clips at 112 px (about 400 test clips and at least 6
disgust clips a fold), TG-DFER and the three baselines on its 5 folds with 3 seeds each (the seed sets
initialisation, data order and which cached augmented view each clip shows in each epoch); with
`full=True` also the ablations along the paper's axes (folds 1-3 x 3 seeds each, paired with TG-DFER's runs
of the same fold and seed: 5 folds would not fit the 30-minute budget on 2 cores). Every run carves a
validation split from its training fold (grouped by identity), picks its best epoch there, and is
reported at its last epoch; the test fold is read once, after training. The config's epochs and tau_r
were chosen on validation splits by `python -m tgdfer tune`. Then it collects the records and
regenerates the paper's tables and figures and the README's results block. Runs go to worker
processes, one per core, longest first; re-running reuses finished runs.
"""
from __future__ import annotations

import time
from pathlib import Path

from .report.collect import collect
from .config import load_config, load_variants
from .synth.source import resolve_dataset
from .report.paper import build_paper
from .paths import repo_root
from .engine.run import train

BASELINE_VARIANTS = ("clip-meanpool", "dfer-clip-like", "mil-only")
PROTOCOL = {"clips": 2000, "size": 112, "min_per_class": 30, "folds": (1, 2, 3, 4, 5), "seeds": (0, 1, 2),
            "ablation_folds": (1, 2, 3)}


def ablation_overrides(config: str = "tgdfer-tiny") -> list[dict]:
    """One override per non-default value of each ablation axis of configs/variants.json."""
    default = load_config(config).model
    out = []
    for spec in load_variants()["ablations"].values():
        key = spec["key"]
        for value in spec["values"]:
            if getattr(default, key.split(".")[-1]) != value:
                out.append({key: value})
    return out


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _run_one(job: dict) -> dict:
    res = train(job["layout"], job["root"], job["fold"], job["config"], job["variant"], job["overrides"],
                seed=job["seed"], runs_dir=job["runs"], resume=True, cache_dir=job["cache"], verbose=False)
    return {"fold": job["fold"], "seed": job["seed"], "name": res.run_dir.parent.name, **res.metrics["last"]}


def warm_cache(layout: str, root, config: str, cache: Path) -> None:
    """Encode every clip's training and test views once, before runs read the cache in parallel."""
    import pandas as pd

    from .data.layouts import load_split
    import torch

    from .engine.feature_cache import train_views
    from .engine.run import cache_autocast, open_cache
    from .model import create_model

    cfg = load_config(config)
    model = create_model(cfg)
    dev, tc = torch.device("cpu"), cfg.train
    table = pd.concat([load_split(layout, root, 1, s) for s in ("train", "test")]).reset_index(drop=True)
    fc = open_cache(cache, model, cfg, dev)
    kw = dict(batch_size=64, workers=tc.workers, autocast=cache_autocast(tc, dev))
    fc.get(table, "train", views=train_views(tc.epochs, tc.cache_views), **kw)
    fc.get(table, "test", tc.test_views, tc.test_crops, **kw)


def plan_runs(config: str, folds, seeds, full: bool, ablation_folds=PROTOCOL["ablation_folds"]) -> list[tuple]:
    """(variant, overrides, fold, seed) of every run, the most expensive first (TG-DFER and ablations)."""
    plan = [("tgdfer", {}, f, s) for f in folds for s in seeds]
    if full:
        plan += [("tgdfer", ov, f, s) for ov in ablation_overrides(config) for f in ablation_folds for s in seeds]
    plan += [(v, {}, f, s) for v in BASELINE_VARIANTS for f in folds for s in seeds]
    return plan


def run_demo(clips: int = PROTOCOL["clips"], size: int = PROTOCOL["size"], seed: int = 0,
             folds=PROTOCOL["folds"], seeds=PROTOCOL["seeds"], full: bool = False,
             min_per_class: int = PROTOCOL["min_per_class"], config: str = "tgdfer-tiny",
             home: str | Path | None = None, workers: int | None = None, verbose: bool = True) -> dict:
    home = Path(home) if home else repo_root()
    runs, results, paper = home / "runs", home / "results", home / "paper"
    t0 = time.time()
    say = print if verbose else (lambda *a, **k: None)
    layout, root = resolve_dataset("synth", "", clips=clips, size=size, seed=seed, min_per_class=min_per_class,
                                   videos=False)
    say(f"[{time.time() - t0:5.0f}s] benchmark at {root}")
    cache = runs / "synth" / "cache"
    warm_cache(layout, root, config, cache)
    say(f"[{time.time() - t0:5.0f}s] frame features cached under {cache}")
    jobs = [dict(layout=layout, root=str(root), fold=f, seed=s, config=config, variant=v, overrides=ov,
                 runs=str(runs), cache=str(cache)) for v, ov, f, s in plan_runs(config, folds, seeds, full)]
    _run_pool(jobs, workers, say, t0)
    collect(runs, results)
    files = build_paper(results, paper, home / "README.md")
    say(f"[{time.time() - t0:5.0f}s] records in {results}, tables in {paper / 'tables'}, figures in {paper / 'figures'}; "
        "README results block updated")
    _contact_sheet(root, paper / "figures" / "benchmark_contact_sheet.png")
    return {"runs": runs, "results": results, "paper": paper, "files": files, "seconds": time.time() - t0}


def _run_pool(jobs: list[dict], workers: int | None, say, t0: float) -> None:
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    n = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(n, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=(max(1, (os.cpu_count() or 1) // n),)) as pool:
        futures = [pool.submit(_run_one, j) for j in jobs]
        for i, fut in enumerate(as_completed(futures), 1):
            m = fut.result()
            say(f"[{time.time() - t0:5.0f}s] {i:3d}/{len(jobs)} fold {m['fold']} seed {m['seed']} {m['name']:30s} "
                f"UAR {100 * m['uar']:5.1f}  WAR {100 * m['war']:5.1f}  frame AUC {100 * m.get('loc_auc', float('nan')):5.1f}")


def _contact_sheet(root, path: Path) -> None:
    import matplotlib.pyplot as plt

    from .report.figures import contact_sheet

    fig = contact_sheet(root)
    fig.savefig(path, dpi=72)
    plt.close(fig)
