"""A run folder's layout, owned here: the engine writes through these names, the report reads through them.

    runs/<dataset>/<config>/fold<k>/<run name>/seed<s>/   params.json  history.csv  metrics.json  predictions.csv
                                                          relevance.npz  last.pt  best.pt
The folder's name carries the variant and every setting that changes the run (`paths.folder_name`), the config its
own level, so sweeps of other configs or settings never meet in one folder.
A run folder that could not be read (a damaged checkpoint) is moved under `runs/_damaged/`, which
`find_runs` never lists.
"""
from __future__ import annotations

import time
from pathlib import Path

PARAMS = "params.json"          # resolved parameters, the run spec, data sizes, weights, environment
HISTORY = "history.csv"         # one row an epoch
METRICS = "metrics.json"        # last and best epoch on the test split; written last: a run is finished when it exists
PREDICTIONS = "predictions.csv"  # one row a test clip
RELEVANCE = "relevance.npz"     # per-frame relevance and class scores of every test clip
LAST = "last.pt"                # everything resume needs
BEST = "best.pt"                # the epoch the selecting split chose
FILES = (PARAMS, HISTORY, METRICS, PREDICTIONS, RELEVANCE, LAST, BEST)
DAMAGED = "_damaged"


def run_path(runs_dir: str | Path, dataset_label: str, fold: int, name: str, seed: int, config: str) -> Path:
    return Path(runs_dir) / dataset_label / config / f"fold{fold}" / name / f"seed{seed}"


def is_finished(path: str | Path) -> bool:
    return (Path(path) / METRICS).is_file() and (Path(path) / PARAMS).is_file()


def find_runs(root: str | Path) -> list[Path]:
    """Every finished run folder under `root` (folders moved aside as damaged are not listed)."""
    return sorted(p.parent for p in Path(root).rglob(METRICS)
                  if is_finished(p.parent) and DAMAGED not in p.relative_to(root).parts)


def move_aside(run_dir: str | Path, runs_dir: str | Path) -> Path:
    """Move a damaged run folder to `<runs_dir>/_damaged/<its path>-<time>` (nothing is deleted); returns where."""
    run_dir, runs_dir = Path(run_dir), Path(runs_dir)
    try:
        rel = run_dir.resolve().relative_to(runs_dir.resolve())
    except ValueError:
        rel = Path(run_dir.name)
    dest = runs_dir / DAMAGED / f"{rel}-{time.strftime('%Y%m%d-%H%M%S')}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    run_dir.rename(dest)
    return dest
