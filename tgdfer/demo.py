"""`make demo`: the whole embedded pipeline on the generated benchmark, on a CPU.

Generates the benchmark (700 clips, 112 px), trains and evaluates TG-DFER, the three baseline
variants and the ablations along the paper's axes on its 5 folds (tiny config: frozen, pretrained
image tower whose features are encoded once into the cache), then collects the records and
regenerates the paper's tables and figures and the README's results block. Runs go to worker
processes, one per core (these small models are bound by per-operation overhead, not arithmetic);
re-running it reuses finished runs. About 10 minutes on 2 CPU cores.
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
    res = train(job["layout"], job["root"], job["fold"], job["config"], job["variant"], job["overrides"], seed=0,
                runs_dir=job["runs"], resume=True, cache_dir=job["cache"], verbose=False)
    return {"fold": job["fold"], "name": res.run_dir.parent.name, **res.metrics["last"]}


def warm_cache(layout: str, root, config: str, cache: Path) -> None:
    """Encode every clip's training and test views once, before runs read the cache in parallel."""
    import pandas as pd

    from .data.layouts import load_split
    from .engine.feature_cache import FeatureCache, train_views
    from .model import create_model

    cfg = load_config(config)
    model = create_model(cfg)
    table = pd.concat([load_split(layout, root, 1, s) for s in ("train", "test")]).reset_index(drop=True)
    fc = FeatureCache(cache, model, cfg.model.frames, model.backbone.image_size, seed=0, augment=cfg.train.augment)
    fc.get(table, "train", views=train_views(cfg.train.epochs), batch_size=64, workers=cfg.train.workers)
    fc.get(table, "test", cfg.train.test_views, cfg.train.test_crops, batch_size=64, workers=cfg.train.workers)


def run_demo(clips: int = 700, size: int = 112, seed: int = 0, folds=(1, 2, 3, 4, 5), ablation_folds=(1, 2, 3, 4, 5),
             config: str = "tgdfer-tiny", home: str | Path | None = None, workers: int | None = None,
             verbose: bool = True) -> dict:
    home = Path(home) if home else repo_root()
    runs, results, paper = home / "runs", home / "results", home / "paper"
    t0 = time.time()
    say = print if verbose else (lambda *a, **k: None)
    layout, root = resolve_dataset("synth", "", clips=clips, size=size, seed=seed)
    say(f"[{time.time() - t0:5.0f}s] benchmark at {root}")
    cache = runs / "synth" / "cache"
    warm_cache(layout, root, config, cache)
    say(f"[{time.time() - t0:5.0f}s] frame features cached under {cache}")
    plan = [("tgdfer", {}, f) for f in folds]
    plan += [(v, {}, f) for v in BASELINE_VARIANTS for f in folds]
    plan += [("tgdfer", ov, f) for ov in ablation_overrides(config) for f in ablation_folds]
    jobs = [dict(layout=layout, root=str(root), fold=f, config=config, variant=v, overrides=ov, runs=str(runs),
                 cache=str(cache)) for v, ov, f in plan]
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    n = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(n, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=(max(1, (os.cpu_count() or 1) // n),)) as pool:
        futures = [pool.submit(_run_one, j) for j in jobs]
        for i, fut in enumerate(as_completed(futures), 1):
            m = fut.result()
            say(f"[{time.time() - t0:5.0f}s] {i:2d}/{len(jobs)} fold {m['fold']} {m['name']:32s} "
                f"UAR {100 * m['uar']:5.1f}  WAR {100 * m['war']:5.1f}  frame AUC {100 * m.get('loc_auc', float('nan')):5.1f}")
    collect(runs, results)
    files = build_paper(results, paper, home / "README.md")
    say(f"[{time.time() - t0:5.0f}s] records in {results}, tables in {paper / 'tables'}, figures in {paper / 'figures'}; "
        "README results block updated")
    _contact_sheet(root, paper / "figures" / "benchmark_contact_sheet.png")
    return {"runs": runs, "results": results, "paper": paper, "files": files, "seconds": time.time() - t0}


def _contact_sheet(root, path: Path) -> None:
    import matplotlib.pyplot as plt

    from .report.figures import contact_sheet

    fig = contact_sheet(root)
    fig.savefig(path, dpi=72)
    plt.close(fig)
