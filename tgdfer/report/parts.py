"""Records of a draw of several parts (the precision draws): each part's runs collected, their folds pooled.

In: the parts in order, each (its generator seed, its runs folder), and how many folds a part has. Out, under `out`
(`results/precision/`): `records.csv`, `confusion.csv`, `history.csv` and `frame_clips.csv.gz` of every part
together, part k's fold f (k from 0) renumbered 5k + f so that every fold of the set is an independent fold of one
table (each part is a whole benchmark of independent folds: its own identities, clips and training draws);
`design.json` (independent folds where every part's are); `examples.npz` from the first part; `parts.json`, which
fold came from which part.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from ..io import atomic_write_text
from .collect import collect

SORT = {"records": ["dataset", "run_name", "fold", "seed", "which", "metric"],
        "confusion": ["dataset", "run_name", "fold", "seed"],
        "history": ["dataset", "run_name", "fold", "seed"],
        "frame_clips": ["dataset", "run_name", "fold", "seed", "clip_id"]}


def merge_parts(parts: list[tuple[int, str | Path]], out: str | Path, folds_a_part: int = 5) -> dict[str, Path]:
    """Collect each part's runs and write them as one set of records (module docstring); returns the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[pd.DataFrame]] = {k: [] for k in SORT}
    independent, index = [], []
    with tempfile.TemporaryDirectory(dir=out, prefix=".parts-") as tmp:
        for k, (gseed, runs) in enumerate(parts):
            part = Path(tmp) / f"part{k}"
            files = collect(runs, part)
            independent.append("design" in files)
            for name in SORT:
                f = part / f"{name}.csv"
                if not f.is_file():
                    continue
                t = pd.read_csv(f, dtype={"clip_id": str} if name == "frame_clips" else None)
                local = sorted(t["fold"].unique())
                if local and (min(local) < 1 or max(local) > folds_a_part):
                    raise ValueError(f"part {k} (generator seed {gseed}, {runs}) has folds {local}: a part has "
                                     f"folds 1-{folds_a_part}")
                t["fold"] = t["fold"] + folds_a_part * k
                tables[name].append(t)
            index += [{"fold": folds_a_part * k + f, "generator_seed": int(gseed), "fold_in_part": f}
                      for f in range(1, folds_a_part + 1)]
            if k == 0 and (part / "examples.npz").is_file():
                shutil.copyfile(part / "examples.npz", out / "examples.npz.tmp")
    written = {}
    for name, ts in tables.items():
        if not ts:
            continue
        t = pd.concat(ts, ignore_index=True).sort_values(SORT[name], kind="stable").reset_index(drop=True)
        path = out / (f"{name}.csv.gz" if name == "frame_clips" else f"{name}.csv")
        fmt = "%.6g" if name in ("records", "history", "frame_clips") else None
        if name == "frame_clips":
            tmp_gz = path.with_name(path.name + ".tmp")
            t.to_csv(tmp_gz, index=False, float_format=fmt, compression={"method": "gzip", "mtime": 0})
            tmp_gz.replace(path)
            written[name] = path
        else:
            written[name] = atomic_write_text(path, t.to_csv(index=False, float_format=fmt))
    design = out / "design.json"
    design.unlink(missing_ok=True)
    if independent and all(independent):
        written["design"] = atomic_write_text(design, json.dumps({
            "independent_folds": True,
            "about": f"{len(parts)} independent draws of the generated benchmark, each of independent folds (training "
                     "draws with held-out test splits, by its manifest's config.independent), pooled: the tables' "
                     "intervals take no overlap correction"}, indent=1) + "\n")
    if (out / "examples.npz.tmp").is_file():
        (out / "examples.npz.tmp").replace(out / "examples.npz")
        written["examples"] = out / "examples.npz"
    written["parts"] = atomic_write_text(out / "parts.json", json.dumps(
        {"about": f"which draw each fold of these records came from: part k's fold f (k from 0) is fold {folds_a_part}k + f",
         "folds": index}, indent=1) + "\n")
    return written


__all__ = ["merge_parts"]
