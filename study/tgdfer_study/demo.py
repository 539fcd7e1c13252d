"""`make demo` and `make regenerate`: the embedded pipeline on the generated benchmark, on a CPU, in three kinds.

- `run_demo`: the development draw (benchmark format 3: each of 5 folds trains on its own draw of 1,000 clips from its
  own people and tests on 100 held-out clips of every class); TG-DFER and the baselines on the protocol's demo folds
  and seeds; records, tables, figures and `summary.md` into build/demo/, never over the committed artefacts.
- `regenerate(draw)`: one sealed draw, written into the committed `results/` and `paper/` (and the README's one
  generated block, the main results table): the evaluation draw's whole plan (TG-DFER, baselines, ablations, the
  training-size curve: `run_plan`), a draw with its own design (the replication draw: `run_own_design`), or a draw
  of several parts pooled as more folds (the precision draws: `run_parts`).
Every run carves a validation split from its training fold (grouped by identity), picks its best epoch there, and is
reported at its last epoch; the test split is read once, after training. Runs go to worker processes, one a core,
longest first; finished runs under `runs/` are reused.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt

from tgdfer.io import atomic_write_text
from tgdfer.paths import default_runs_dir, repo_root
from tgdfer.report.collect import collect
from tgdfer.report.figures import contact_sheet
from tgdfer.sweep.plan import plan_runs
from tgdfer.synth.source import resolve_dataset

from .cache_service import warm_cache
from .protocol import PROTOCOL, Draw
from .report.paper import build_paper
from .report.parts import merge_parts
from .report.replication import SETS, write_replication_tables
from .run_pool import check_failures, run_pool, spec_of, time_split


@dataclass
class Where:
    """Where a demo or a regeneration writes, and how it reports."""
    home: Path                          # results/ go here (the checkout for a committed regeneration)
    runs: Path                          # run folders
    committed: bool                     # the committed artefacts (and the README's block) are written
    workers: int | None = None
    say: Callable = print
    t0: float = 0.0

    @property
    def paper(self) -> Path:
        return self.home / "paper" if self.committed else self.home

    def log(self, text: str) -> None:
        self.say(f"[{time.time() - self.t0:5.0f}s] {text}")


def demo_dir() -> Path:
    """Where `make demo` writes: build/demo/ in the checkout (ignored by git)."""
    return repo_root() / "build" / "demo"


def _where(draw: str, out, runs_dir, workers, verbose: bool, committed: bool) -> Where:
    home = Path(out) if out else (repo_root() if committed else demo_dir())
    # another draw's runs go to their own folder: a run folder is named by dataset, config, fold, run name and seed,
    # which two draws of the benchmark share
    runs = Path(runs_dir) if runs_dir else default_runs_dir() / ("" if draw == "development" else f"draw-{draw}")
    return Where(home, runs, committed and out is None, workers, print if verbose else (lambda *a, **k: None),
                 time.time())


def run_demo(*, folds=None, seeds=None, out=None, runs_dir=None, workers: int | None = None, verbose: bool = True,
             **benchmark) -> dict:
    """`make demo`: TG-DFER and the baselines on the development draw's demo folds and seeds (`benchmark`: the
    generator's settings for a smaller draw, e.g. clips=60, size=48: tests), everything under build/demo/."""
    w = _where("development", out, runs_dir, workers, verbose, committed=False)
    folds, seeds = tuple(folds or PROTOCOL.demo_folds), tuple(seeds or PROTOCOL.demo_seeds)
    plan = plan_runs(PROTOCOL.config, folds, seeds, False)
    return run_plan(PROTOCOL.draw("development"), plan, folds, w, **benchmark)


def regenerate(draw: str, *, out=None, runs_dir=None, workers: int | None = None, verbose: bool = True) -> dict:
    """`make regenerate`'s part for one sealed draw (refused until its analysis plan is committed): the committed
    records, tables and figures of that draw (`out`: elsewhere instead)."""
    own = PROTOCOL.draw(draw)
    w = _where(draw, out, runs_dir, workers, verbose, committed=True)
    folds = PROTOCOL.folds
    if own.parts:
        return run_parts(own, folds, w)
    if own.runs:
        return run_own_design(own, folds, w)
    seeds = PROTOCOL.seeds
    plan = plan_runs(PROTOCOL.config, folds, seeds, True, PROTOCOL.ablation_folds, PROTOCOL.ablation_seeds,
                     primary=PROTOCOL.primary, primary_baselines=PROTOCOL.primary_baselines,
                     primary_seeds=PROTOCOL.primary_seeds, curve=PROTOCOL.curve, curve_seeds=PROTOCOL.curve_seeds)
    return run_plan(own, plan, folds, w)


def tables_of_every_draw(out=None, verbose: bool = True) -> dict:
    """What `make regenerate` ends with, after its draws: every table and figure from every draw's records together
    (`report/paper.build_paper`: each claims table says whether its verdicts held on every sealed draw, the meaning
    draws' dose of meaning, the cross-draw table), and the README's block when the committed artefacts are written.
    Needs the evaluation draw's records; without them the draws' own tables stand."""
    w = _where("evaluation", out, None, None, verbose, committed=True)
    results = w.home / "results"
    if not (results / "records.csv").is_file():
        w.say(f"no evaluation-draw records in {results}: each draw's own tables only (the cross-draw tables need it)")
        return {}
    return build_paper(results, w.paper, repo_root() / "README.md" if w.committed else None)


def _benchmark(own: Draw, folds, w: Where, seed: int | None = None, **benchmark):
    """(layout, root) of the draw (its demo folds only, unless the whole draw is there), and its cache folder."""
    b = {"clips": PROTOCOL.clips, "size": PROTOCOL.size, "min_per_class": PROTOCOL.min_per_class,
         "test_per_class": PROTOCOL.test_per_class, **benchmark}
    layout, root = resolve_dataset("synth", "", seed=own.seed if seed is None else seed, videos=PROTOCOL.videos,
                                   expressions=PROTOCOL.expressions,
                                   independent=PROTOCOL.independent and b["test_per_class"] > 0, folds=folds, **b)
    w.log(f"benchmark at {root}")
    return layout, root


def own_runs(w: Where) -> Path:
    """The folder of this draw's runs (`<runs>/synth/<config>/`): other draws' and studies' runs may sit beside it under
    the same runs folder (the development draw's is `runs/` itself), and are never collected with it."""
    return w.runs / "synth" / PROTOCOL.config


def _train(specs, w: Where, what: str = "") -> None:
    """Train (or reuse) every run, stop on failures (the finished runs stay), say where the runs' time went."""
    done = run_pool(specs, w.workers, w.say, w.t0)
    check_failures(done)
    w.log(f"{what}where the runs' time went: {time_split(done)}")


def run_plan(own: Draw, plan, folds, w: Where, **benchmark) -> dict:
    """The runs of `plan` on one draw: benchmark, cache, runs, records, tables, figures (and the README's block when
    committed; the demo's summary otherwise)."""
    layout, root = _benchmark(own, folds, w, **benchmark)
    cache = w.runs / "synth" / "cache"
    warm_cache(layout, root, PROTOCOL.config, cache, folds=folds, runs=plan)   # test views: the planned runs' clips
    w.log(f"frame features cached under {cache}")
    _train([spec_of(r, layout, root, PROTOCOL.config, w.runs, cache) for r in plan], w)
    results = w.home / "results"
    collect(own_runs(w), results)
    files = build_paper(results, w.paper, repo_root() / "README.md" if w.committed else None)
    _contact_sheet(root, w.paper / "figures" / "benchmark_contact_sheet.png")
    summary = None if w.committed else write_summary(w.home, w.paper, time.time() - w.t0)
    w.log(f"records in {results}, tables in {w.paper / 'tables'}, figures in {w.paper / 'figures'}"
          + ("; the README's results block updated" if w.committed else f"; summary in {summary}"))
    if summary is not None:
        w.say("\n" + summary.read_text())
    return {"runs": w.runs, "results": results, "paper": w.paper, "files": files, "summary": summary,
            "seconds": time.time() - w.t0}


def run_own_design(own: Draw, folds, w: Where) -> dict:
    """A draw with its own design (the replication draw): its runs, its records under results/<draw>/, its tables
    (`report/replication.py`)."""
    plan = own.planned_runs(folds)
    layout, root = _benchmark(own, folds, w)
    cache = w.runs / "synth" / "cache"
    warm_cache(layout, root, PROTOCOL.config, cache, folds=folds, runs=plan)
    w.log(f"frame features cached under {cache}")
    _train([spec_of(r, layout, root, PROTOCOL.config, w.runs, cache) for r in plan], w)
    results = w.home / "results" / own.name
    collect(own_runs(w), results)
    files = write_replication_tables(results, w.paper / "tables", repo_root() / (own.analysis_plan or
                                                                                  PROTOCOL.analysis_plan))
    w.log(f"records in {results}, tables in {w.paper / 'tables'}")
    return {"runs": w.runs, "results": results, "paper": w.paper, "files": files, "summary": None,
            "seconds": time.time() - w.t0}


def run_parts(own: Draw, folds, w: Where) -> dict:
    """A draw of several parts (the precision draws): each part (a whole benchmark from its own generator seed)
    rendered, its cache warmed and its runs of the draw's design trained under runs/draw-<name>/seed<generator seed>/;
    then every part's records pooled under results/<draw>/ (fold f of part k becomes fold 5k + f: `report/parts.py`)
    and the draw's tables."""
    which = next((s for s in SETS if s.draw == own.name), None)
    if which is None:
        raise ValueError(f"the {own.name} draw has parts but no tables of its own (report/replication.py SETS)")
    done_parts = []
    for k, gseed in enumerate(own.parts):
        layout, root = PROTOCOL.benchmark(own.name, workers=w.workers, seed=gseed)
        w.log(f"part {k + 1} of {len(own.parts)} (generator seed {gseed}): benchmark at {root}")
        part_runs = w.runs / f"seed{gseed}"
        cache = part_runs / "synth" / "cache"
        plan = own.planned_runs(folds)
        warm_cache(layout, root, PROTOCOL.config, cache, folds=folds, runs=plan)
        w.log(f"frame features cached under {cache}")
        _train([spec_of(r, layout, root, PROTOCOL.config, part_runs, cache) for r in plan], w, f"part {k + 1}: ")
        done_parts.append((gseed, part_runs))
    results = w.home / "results" / own.name
    merge_parts(done_parts, results, folds_a_part=len(PROTOCOL.folds))
    files = write_replication_tables(results, w.paper / "tables", repo_root() / which.plan_file, which)
    w.log(f"records in {results}, tables in {w.paper / 'tables'}")
    return {"runs": w.runs, "results": results, "paper": w.paper, "files": files, "summary": None,
            "seconds": time.time() - w.t0}


def write_summary(home: Path, paper: Path, seconds: float) -> Path:
    """`summary.md`: what the demo ran, the rows it reproduced (the main table's other rows are published numbers),
    and where everything is."""
    lines = [line for line in (paper / "tables" / "main_results.md").read_text().splitlines() if line.startswith("|")]
    rows = [line for line in lines[2:] if "generated benchmark" in line]
    text = (f"# tgdfer demo ({seconds / 60:.1f} min)\n\nGenerated benchmark (drawn faces, not DFEW), development draw, "
            f"`{PROTOCOL.config}`, last epoch, mean [95% CI] over folds x seeds (the caption of tables/main_results.md "
            f"states the method). Written by `make demo` into {home}; the committed records, tables and README are not "
            "touched (`make regenerate` rewrites those).\n\n" + "\n".join(lines[:2] + rows) +
            f"\n\nRecords: {home / 'results'}; tables: {paper / 'tables'}; figures: {paper / 'figures'}.\n")
    return atomic_write_text(home / "summary.md", text)


def _contact_sheet(root, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = contact_sheet(root)
    fig.savefig(path, dpi=72)
    plt.close(fig)
