"""Records of a draw of several parts (the precision draws): each part's runs collected, their folds pooled.

In: the parts in order, each (its generator seed, its runs folder), and how many folds a part has. Out, under `out`
(`results/precision/`): `records.csv`, `confusion.csv`, `history.csv` and `frame_clips.csv` of every part together,
part k's fold f (k from 0) renumbered 5k + f so that every fold of the set is an independent fold of one table
(each part is a whole benchmark of independent folds: its own identities, clips and training draws); `design.json`
(independent folds where every part's are); `examples.npz` from the first part; `parts.json`, which fold came from
which part. Every table is built before any file is replaced, and a file this set no longer has is removed, so the
folder never mixes two pooling runs.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd

from tgdfer.io import atomic_write_bytes, atomic_write_text
from tgdfer.report.collect import collect

SORT = {"records": ["dataset", "run_name", "fold", "seed", "which", "metric"],
        "confusion": ["dataset", "run_name", "fold", "seed"],
        "history": ["dataset", "run_name", "fold", "seed"],
        "frame_clips": ["dataset", "run_name", "fold", "seed", "clip_id"]}
TEXT = ("dataset", "run_name", "variant", "config", "git_sha", "which", "metric", "clip_id", "true", "pred")
FLOAT_FORMAT = {"records": "%.6g", "history": "%.6g", "frame_clips": "%.6g", "confusion": None}
OUTPUTS = tuple(f"{k}.csv" for k in SORT) + ("design.json", "examples.npz", "parts.json")


def _read(path: Path) -> pd.DataFrame:
    """A table `collect` wrote, its text columns kept as text (a git sha of digits stays a string)."""
    cols = pd.read_csv(path, nrows=0).columns
    return pd.read_csv(path, dtype={c: str for c in TEXT if c in cols})


def merge_parts(parts: list[tuple[int, str | Path]], out: str | Path, folds_a_part: int = 5) -> dict[str, Path]:
    """Collect each part's runs and write them as one set of records (module docstring); returns the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[pd.DataFrame]] = {k: [] for k in SORT}
    independent, index, examples = [], [], None
    with tempfile.TemporaryDirectory(prefix="tgdfer-parts-") as tmp:
        for k, (gseed, runs) in enumerate(parts):
            part = Path(tmp) / f"part{k}"
            files = collect(runs, part)
            independent.append("design" in files)
            folds = set()
            for name in SORT:
                f = part / f"{name}.csv"
                if not f.is_file():
                    continue
                t = _read(f)
                local = sorted(int(x) for x in t["fold"].unique())
                if local and (local[0] < 1 or local[-1] > folds_a_part):
                    raise ValueError(f"part {k} (generator seed {gseed}, {runs}) has folds {local}: a part has "
                                     f"folds 1-{folds_a_part}")
                folds.update(local)
                t["fold"] = t["fold"] + folds_a_part * k
                tables[name].append(t)
            index += [{"fold": folds_a_part * k + f, "generator_seed": int(gseed), "fold_in_part": f}
                      for f in sorted(folds)]
            if k == 0 and (part / "examples.npz").is_file():
                examples = (part / "examples.npz").read_bytes()
    text = {}
    for name, ts in tables.items():
        if ts:
            t = pd.concat(ts, ignore_index=True).sort_values(SORT[name], kind="stable").reset_index(drop=True)
            text[f"{name}.csv"] = t.to_csv(index=False, float_format=FLOAT_FORMAT[name])
    if independent and all(independent):
        text["design.json"] = json.dumps({
            "independent_folds": True,
            "about": f"{len(parts)} independent draws of the generated benchmark, each of independent folds (training "
                     "draws with held-out test splits, by its manifest's config.independent), pooled: the tables' "
                     "intervals take no overlap correction"}, indent=1) + "\n"
    text["parts.json"] = json.dumps(
        {"about": f"which draw each fold of these records came from: part k's fold f (k from 0) is fold "
                  f"{folds_a_part}k + f", "folds": index}, indent=1) + "\n"
    for name in OUTPUTS:                                     # nothing of an earlier pooling stays beside these
        if name not in text and not (name == "examples.npz" and examples is not None):
            (out / name).unlink(missing_ok=True)
    written = {name.split(".")[0]: atomic_write_text(out / name, body) for name, body in text.items()}
    if examples is not None:
        written["examples"] = atomic_write_bytes(out / "examples.npz", examples)
    return written


__all__ = ["merge_parts"]
