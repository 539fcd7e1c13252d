"""`make demo` and the full regeneration: the embedded pipeline on the generated benchmark, on a CPU.

The protocol (`configs/protocol.json`, `PROTOCOL`): the development draw of the benchmark (format 3: each of 5 folds
trains on its own draw of 1,000 clips from its own people and tests on 100 held-out clips of every class), TG-DFER and
the baselines on folds 1-4 with one seed each in the demo (the protocol's 'demo' runs; only those folds are rendered,
unless the whole draw already is; the seed sets initialisation, data order and which cached augmented view each clip
shows in each epoch); with `full=True` (all 5 folds, the protocol's 'main' seeds) also the ablations along the
paper's axes: the primary ones on the primary seeds, the others on one seed a fold, each paired with TG-DFER's run
of the same fold and seed. The plan of runs comes from `plan.plan_runs` (variants.json). Every run carves a
validation split from its training fold (grouped by identity), picks its best epoch there, and is reported
at its last epoch; the test split is read once, after training.

Where the outputs go: the demo writes its records, tables, figures and `summary.md` into its own folder
(`build/demo/`), never over the committed artefacts; the full regeneration (`full=True`, `make regenerate`)
rewrites the committed `results/`, `paper/` and the README's generated blocks, all of them together. Runs go to
worker processes, one per core, longest first; both reuse finished runs under `runs/`.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..paths import default_runs_dir, repo_root
from ..report.collect import collect
from ..report.paper import build_paper
from ..sweep.plan import plan_runs
from .pool import check_failures, run_pool, spec_of, time_split, warm_cache
from .protocol import PROTOCOL


def demo_dir() -> Path:
    """Where `make demo` writes: build/demo/ in the checkout (ignored by git)."""
    return repo_root() / "build" / "demo"


def run_demo(clips: int = PROTOCOL.clips, size: int = PROTOCOL.size, seed: int | None = None, folds=None,
             seeds=None, full: bool = False, min_per_class: int = PROTOCOL.min_per_class,
             *, config: str = PROTOCOL.config, out: str | Path | None = None, runs_dir: str | Path | None = None,
             workers: int | None = None, draw: str = "development", verbose: bool = True,
             test_per_class: int = PROTOCOL.test_per_class) -> dict:
    """Benchmark, cache, runs, records, tables and figures. `out`: where results/, tables and figures go (default:
    build/demo/ for the demo, the repository itself for the full regeneration)."""
    t0 = time.time()
    say = print if verbose else (lambda *a, **k: None)
    seeds = tuple(seeds) if seeds else (PROTOCOL.seeds if full else PROTOCOL.demo_seeds)
    own = PROTOCOL.draw(draw)                              # refuses a sealed draw whose plan is not committed
    folds = tuple(folds) if folds else (PROTOCOL.folds if (full or own.runs or own.parts) else PROTOCOL.demo_folds)
    committed = out is None and full
    home = Path(out) if out else (repo_root() if full else demo_dir())
    # another draw's runs go to their own folder: a run folder is named by dataset label, fold, run name and seed,
    # which two draws of the benchmark share
    runs = Path(runs_dir) if runs_dir else default_runs_dir() / ("" if draw == "development" else f"draw-{draw}")
    results, paper = home / "results", (home / "paper" if committed else home)
    if own.parts:                      # several draws pooled (the precision draws): each rendered, cached and run
        given = dict(clips=clips, size=size, min_per_class=min_per_class, test_per_class=test_per_class)
        protocol = dict(clips=PROTOCOL.clips, size=PROTOCOL.size, min_per_class=PROTOCOL.min_per_class,
                        test_per_class=PROTOCOL.test_per_class)
        if given != protocol or seed is not None:
            raise ValueError(f"the {draw} draw renders its parts with the protocol's settings ({protocol}, generator "
                             f"seeds {list(own.parts)}); drop the other settings given ({given}, seed {seed})")
        return _run_parts(own, folds, config=config, runs=runs, paper=paper, home=home, committed=committed,
                          workers=workers, say=say, t0=t0)
    from .source import resolve_dataset

    seed = own.seed if seed is None else seed
    layout, root = resolve_dataset("synth", "", clips=clips, size=size, seed=seed, min_per_class=min_per_class,
                                   videos=PROTOCOL.videos, expressions=PROTOCOL.expressions,
                                   test_per_class=test_per_class,
                                   independent=PROTOCOL.independent and test_per_class > 0,
                                   folds=folds)                 # the demo's folds only, unless the whole draw is there
    say(f"[{time.time() - t0:5.0f}s] benchmark at {root}")
    cache = runs / "synth" / "cache"
    if own.runs:                       # a draw with its own design (the replication draw): its runs, its records
        plan = own.planned_runs(folds)
    else:
        a_seeds = tuple(s for s in PROTOCOL.ablation_seeds if s in seeds) or seeds[:1]
        p_seeds = PROTOCOL.primary_seeds if seeds == PROTOCOL.seeds else seeds     # the protocol's, unless told otherwise
        plan = plan_runs(config, folds, seeds, full, [f for f in PROTOCOL.ablation_folds if f in folds] or folds,
                         a_seeds, primary=PROTOCOL.primary, primary_baselines=PROTOCOL.primary_baselines,
                         primary_seeds=p_seeds, curve=PROTOCOL.curve,
                         curve_seeds=tuple(s for s in PROTOCOL.curve_seeds if s in p_seeds) or None)
    warm_cache(layout, root, config, cache, folds=folds, runs=plan)   # test views: the planned runs' clips only
    say(f"[{time.time() - t0:5.0f}s] frame features cached under {cache}")
    if own.runs:
        return _run_own_design(own, folds, spec=dict(layout=layout, root=root, config=config, runs_dir=runs, cache=cache),
                               paper=paper, home=home, committed=committed, workers=workers, say=say, t0=t0)
    _train([spec_of(r, layout, root, config, runs, cache) for r in plan], workers, say, t0)
    collect(runs, results)
    published = repo_root() / "results" / "published.csv"             # the papers' numbers, beside the records
    if (results / "published.csv").resolve() != published.resolve():
        shutil.copyfile(published, results / "published.csv")
    files = build_paper(results, paper, repo_root() / "README.md" if committed else None)
    _contact_sheet(root, paper / "figures" / "benchmark_contact_sheet.png")
    summary = None if committed else write_summary(home, paper, time.time() - t0)
    say(f"[{time.time() - t0:5.0f}s] records in {results}, tables in {paper / 'tables'}, figures in {paper / 'figures'}"
        + ("; README blocks updated" if committed else f"; summary in {summary}"))
    if summary is not None:
        say("\n" + summary.read_text())
    return {"runs": runs, "results": results, "paper": paper, "files": files, "summary": summary,
            "seconds": time.time() - t0}


def _train(specs, workers, say, t0: float, what: str = "") -> None:
    """Train (or reuse) every run, stop on failures (the finished runs stay), say where the runs' time went."""
    done = run_pool(specs, workers, say, t0)
    check_failures(done)
    say(f"[{time.time() - t0:5.0f}s] {what}where the runs' time went: {time_split(done)}")


def _run_parts(own, folds, *, config: str, runs: Path, paper: Path, home: Path, committed: bool, workers, say,
               t0) -> dict:
    """A draw of several parts: each part (a whole benchmark from its own generator seed) rendered, its cache warmed
    and its runs of the draw's design trained under runs/draw-<name>/seed<generator seed>/; then every part's records
    pooled under results/<draw>/ (its fold f of part k becomes fold 5k + f: `report/parts.py`) and the draw's tables."""
    from ..report.parts import merge_parts
    from ..report.replication import SETS, update_readme_block, write_replication_tables

    which = next((s for s in SETS if s.draw == own.name), None)
    if which is None:
        raise ValueError(f"the {own.name} draw has parts but no tables of its own (report/replication.py SETS)")
    done_parts = []
    for k, gseed in enumerate(own.parts):
        layout, root = PROTOCOL.benchmark(own.name, workers=workers, seed=gseed)
        say(f"[{time.time() - t0:5.0f}s] part {k + 1} of {len(own.parts)} (generator seed {gseed}): benchmark at {root}")
        part_runs = runs / f"seed{gseed}"
        cache = part_runs / "synth" / "cache"
        plan = own.planned_runs(folds)
        warm_cache(layout, root, config, cache, folds=folds, runs=plan)
        say(f"[{time.time() - t0:5.0f}s] frame features cached under {cache}")
        _train([spec_of(r, layout, root, config, part_runs, cache) for r in plan], workers, say, t0, f"part {k + 1}: ")
        done_parts.append((gseed, part_runs))
    results = home / "results" / own.name
    merge_parts(done_parts, results, folds_a_part=len(PROTOCOL.folds))
    tables = paper / "tables"
    files = write_replication_tables(results, tables, repo_root() / which.plan_file, which)
    if committed:
        update_readme_block(repo_root() / "README.md", tables, which)
    say(f"[{time.time() - t0:5.0f}s] records in {results}, tables in {tables}" + ("; README block updated" if committed else ""))
    return {"runs": runs, "results": results, "paper": paper, "files": files, "summary": None, "seconds": time.time() - t0}


def _run_own_design(own, folds, *, spec: dict, paper: Path, home: Path, committed: bool, workers, say, t0) -> dict:
    """The runs of a draw's own design, its records under results/<draw>/ and its tables (`report/replication.py`).
    `spec`: what `spec_of` takes besides the planned run (layout, root, config, runs_dir, cache)."""
    from ..report.replication import update_readme_block, write_replication_tables

    runs = spec["runs_dir"]
    _train([spec_of(r, **spec) for r in own.planned_runs(folds)], workers, say, t0)
    results = home / "results" / own.name
    collect(runs, results)
    tables = paper / "tables"
    files = write_replication_tables(results, tables, repo_root() / (own.analysis_plan or PROTOCOL.analysis_plan))
    if committed:
        update_readme_block(repo_root() / "README.md", tables)
    say(f"[{time.time() - t0:5.0f}s] records in {results}, tables in {tables}" + ("; README block updated" if committed else ""))
    return {"runs": runs, "results": results, "paper": paper, "files": files, "summary": None, "seconds": time.time() - t0}


def write_summary(home: Path, paper: Path, seconds: float) -> Path:
    """`summary.md`: what the demo ran, the rows it reproduced (the main table's other rows are published numbers),
    and where everything is."""
    from ..io import atomic_write_text

    lines = [line for line in (paper / "tables" / "main_results.md").read_text().splitlines() if line.startswith("|")]
    rows = [line for line in lines[2:] if "generated benchmark" in line]
    text = (f"# tgdfer demo ({seconds / 60:.1f} min)\n\nGenerated benchmark (drawn faces, not DFEW), development draw, "
            f"`{PROTOCOL.config}`, last epoch, mean [95% CI] over folds x seeds (the caption of tables/main_results.md states the method). "
            f"Written by `make demo` into {home}; the committed records, tables and README are not touched "
            "(`make regenerate` rewrites those).\n\n" + "\n".join(lines[:2] + rows) +
            f"\n\nRecords: {home / 'results'}; tables: {paper / 'tables'}; figures: {paper / 'figures'}.\n")
    return atomic_write_text(home / "summary.md", text)


def _contact_sheet(root, path: Path) -> None:
    import matplotlib.pyplot as plt

    from ..report.figures import contact_sheet

    path.parent.mkdir(parents=True, exist_ok=True)
    fig = contact_sheet(root)
    fig.savefig(path, dpi=72)
    plt.close(fig)
