"""Validate a dataset on disk and write DFER-CLIP-format annotation files.

In: a dataset name and root (official layout) and an output folder. Out: `<NAME>_set_<k>_<split>.txt`
(or `<NAME>_<split>.txt`) annotation files, `counts.csv` (clips per fold, split and class),
`report.json` and `report.md`. Every problem is collected as a message naming the file and the fix;
clip counts are compared with the published sizes (a warning for a subset).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..classes import class_names, published_sizes
from ..io import atomic_write_json, atomic_write_text
from ..progress import progress
from .decode import count_frames
from .errors import DataError
from .ground_truth import is_generated
from .layouts import folds_of, load_split, write_annotation


ANNOTATION_NAMES = {"dfew": "DFEW", "ferv39k": "FERV39K", "mafw": "MAFW", "csv": "CSV", "annotation": "ANNOT"}


@dataclass
class Report:
    dataset: str
    root: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: pd.DataFrame | None = None
    files: list[str] = field(default_factory=list)
    out: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count_table(self) -> pd.DataFrame:
        """Counts as a table: one row per (fold, split), one column per class, plus the total."""
        c = self.counts
        names = class_names(self.dataset)
        wide = c.pivot_table(index=["fold", "split"], columns="class_name", values="clips", aggfunc="sum",
                             fill_value=0, sort=False)
        wide = wide[[n for n in names if n in wide.columns]]
        wide["total"] = wide.sum(axis=1)
        return wide

    def to_text(self, short_paths: bool = False) -> str:
        """The report as text; `short_paths` writes <root> and <out> for the two folders (stable output)."""
        text = self._text()
        if short_paths:
            text = text.replace(str(Path(self.root).resolve()), "<root>").replace(str(self.root), "<root>")
            if self.out:
                text = text.replace(str(Path(self.out).resolve()), "<out>").replace(str(self.out), "<out>")
        return text

    def _text(self) -> str:
        lines = [f"dataset {self.dataset} at {self.root}: " + ("OK" if self.ok else f"{len(self.errors)} error(s)")]
        lines += [f"ERROR {e}" for e in self.errors] + [f"warning: {w}" for w in self.warnings]
        lines += [f"note: {n}" for n in self.notes]
        if self.counts is not None and len(self.counts):
            lines.append("clips per fold, split and class:")
            lines.append(self.count_table().to_string())
        lines += [f"wrote {f}" for f in self.files]
        return "\n".join(lines)


def _summarise_missing(problems: list[DataError], what: str, split_name: str) -> list[str]:
    """Group per-clip media problems into a few readable lines."""
    by_kind: dict[str, list[DataError]] = {}
    for p in problems:
        by_kind.setdefault(p.problem, []).append(p)
    out = []
    for kind, items in by_kind.items():
        eg = ", ".join(Path(i.path).name for i in items[:5])
        out.append(f"{len(items)} clip(s) of {split_name} ({what}): {kind}, e.g. {eg} "
                   f"(first: {items[0].path})\n  fix: {items[0].fix}")
    return out


def prepare(dataset: str, root, out, media: str = "frames", label_base: int = 1, check_media: bool = True) -> Report:
    """Validate `dataset` at `root` and write annotation files into `out` (see module docstring)."""
    dataset = dataset.lower()
    rep = Report(dataset, str(root), out=str(out))
    names = class_names(dataset)
    out = Path(out)
    frame_counts: dict[str, int] = {}
    tables = {}
    folds = folds_of(dataset)
    splits = ("train", "test")
    if dataset == "csv":
        from .layouts import read_csv_table
        try:
            allrows = read_csv_table(root)
        except DataError as e:
            rep.errors.append(str(e))
            return rep
        splits = tuple(sorted(set(allrows["split"]) - {""})) or ("all",)
    for k in folds:
        for split in splits:
            try:
                if dataset == "csv":
                    t = allrows if split == "all" else allrows[allrows["split"] == split].reset_index(drop=True)
                else:
                    t = load_split(dataset, root, k, split, media=media, label_base=label_base)
            except DataError as e:
                rep.errors.append(str(e))
                continue
            tables[(k, split)] = t
    if not tables:
        return rep

    # media: every clip once, even if several folds list it
    uniq = pd.concat(tables.values()).drop_duplicates("path")
    problems: dict[str, DataError] = {}
    if check_media:
        for path in progress(uniq["path"], total=len(uniq), desc="check media"):
            try:
                frame_counts[path] = count_frames(path)
            except DataError as e:
                problems[path] = e
    rows = []
    for (k, split), t in tables.items():
        split_name = f"fold {k} {split}" if len(folds) > 1 else split
        bad = [problems[p] for p in t["path"] if p in problems]
        rep.errors += _summarise_missing(bad, f"{dataset} media '{media}'", split_name)
        good = t[~t["path"].isin(problems)].copy()
        if check_media:
            good["num_frames"] = [frame_counts[p] for p in good["path"]]
        missing = sorted(set(range(len(names))) - set(good["label"]))
        if missing and len(good) >= 50:
            rep.warnings.append(f"{split_name}: no clip of class {', '.join(names[m] for m in missing)}"
                                + (" (labels may be shifted: check 0- vs 1-based)" if dataset == "dfew" else ""))
        for c, n in good["label"].value_counts().sort_index().items():
            rows.append(dict(fold=k, split=split, label=int(c), class_name=names[int(c)], clips=int(n)))
        if check_media and len(good):
            stem = ANNOTATION_NAMES.get(dataset, dataset.upper())
            fname = f"{stem}_set_{k}_{split}.txt" if len(folds) > 1 else f"{stem}_{split}.txt"
            rep.files.append(str(write_annotation(good, out / fname)))
    if check_media:
        short = sum(1 for n in frame_counts.values() if n < 16)
        if short:
            rep.warnings.append(f"{short} of {len(frame_counts)} clips are shorter than 16 frames "
                                "(sampling repeats their last frame)")
    rep.counts = pd.DataFrame(rows)
    _compare_published(rep, tables, dataset)
    _write_report(rep, out)
    return rep


def _compare_published(rep: Report, tables: dict, dataset: str) -> None:

    pub = published_sizes(dataset)
    if not pub:
        return
    if is_generated(rep.root):
        rep.notes.append("this is tgdfer's generated benchmark in the DFEW layout, not DFEW: "
                         "published DFEW sizes and numbers do not apply")
        return
    if dataset == "dfew":
        have = {k: (len(tables.get((k, "train"), [])), len(tables.get((k, "test"), []))) for k in pub}
        if have == pub:
            return
        lines = [f"fold {k}: {have[k][0]}/{have[k][1]} train/test clips (published {pub[k][0]}/{pub[k][1]})" for k in pub]
        total = sum(sum(v) for v in have.values())
        kind = "a subset of DFEW" if total < sum(sum(v) for v in pub.values()) else "not the published DFEW folds"
        rep.warnings.append(f"split sizes differ from the published ones: this is {kind}; "
                            "results are not comparable with published numbers. " + "; ".join(lines))
    elif dataset == "ferv39k":
        have = {s: len(tables.get((1, s), [])) for s in pub}
        if have != pub:
            rep.warnings.append(f"split sizes {have} differ from the published {pub}: a subset or another version "
                                "of FERV39k; results are not comparable with published numbers")


def _write_report(rep: Report, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if rep.counts is not None and len(rep.counts):
        atomic_write_text(out / "counts.csv", rep.counts.to_csv(index=False))
    atomic_write_json(out / "report.json", {"dataset": rep.dataset, "root": rep.root, "ok": rep.ok,
                                            "errors": rep.errors, "warnings": rep.warnings, "notes": rep.notes,
                                            "files": rep.files})
    atomic_write_text(out / "report.md", "```\n" + rep.to_text() + "\n```\n")
