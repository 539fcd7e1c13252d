"""Readers for the datasets' own split files, all returning one table of clips.

In: a dataset name, its root folder as the authors ship it, a fold and a split. Out: a pandas
DataFrame with one row a clip and the columns `clip_id` (str), `path` (frame folder or video file),
`label` (0-based, in the dataset's class order), `num_frames` (-1 when not yet counted), `split`,
`group` ('' when unknown). Formats and pitfalls: ../shared/DATA.md. Every problem raises `DataError`
naming the file and the fix; nothing is silently shifted, dropped or re-ordered.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..classes import LAYOUTS, canonical_name, class_names
from ..io import atomic_write_text
from .errors import DataError


COLUMNS = ["clip_id", "path", "label", "num_frames", "split", "group"]
DATASETS = LAYOUTS                            # (declared in classes.py, shared with the run spec)
DFEW_MEDIA = {"frames": "clip_224x224", "frames16": "clip_224x224_16f", "video": "original"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv")


def natural_key(name: str) -> list:
    """Sort key that puts '2.jpg' before '10.jpg' (lexicographic order would not)."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(name))]


def list_frames(folder: str | Path) -> list[Path]:
    """Image files of a frame folder in natural order; raises DataError when missing or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "frame folder not found",
                        "check --root and the media type; the split file lists this clip")
    frames = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                    key=lambda p: natural_key(p.name))
    if not frames:
        raise DataError(folder, "frame folder holds no images (.jpg, .png, .bmp)",
                        "re-extract the clip's frames or remove the clip from the split")
    return frames


def _table(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.astype({"clip_id": str, "path": str, "label": int, "num_frames": int, "split": str, "group": str})


def _check_split(split: str, allowed=("train", "test")) -> str:
    if split not in allowed:
        raise ValueError(f"split must be one of {allowed}, got {split!r}")
    return split


def _check_fold(fold: int, n: int, what: str) -> int:
    if not 1 <= int(fold) <= n:
        raise ValueError(f"fold must be 1..{n} for {what}, got {fold}")
    return int(fold)


# ----------------------------------------------------------------------------- DFEW

def dfew_media_dir(root: Path, media: str) -> Path:
    if media not in DFEW_MEDIA:
        raise ValueError(f"DFEW media must be one of {sorted(DFEW_MEDIA)}, got {media!r}")
    return Path(root) / "Clip" / DFEW_MEDIA[media]


def read_dfew_csv(path: Path, label_base: int = 1, n_classes: int = 7) -> pd.DataFrame:
    """Read one official split CSV (`video_name,label`, 1-based labels). Returns video_name, label0."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "split file not found",
                        "point --root at the DFEW folder that holds EmoLabel_DataSplit/ (as downloaded)")
    try:
        df = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except Exception as e:  # noqa: BLE001 - any parse failure is a bad file
        raise DataError(path, f"not readable as CSV ({e})", "restore the file from the DFEW release") from None
    cols = [c.strip().lower() for c in df.columns]
    if cols != ["video_name", "label"]:
        raise DataError(path, f"header is {','.join(df.columns)!s}; expected 'video_name,label'",
                        "restore the official header line 'video_name,label' (the file may have lost it or be another format)")
    df.columns = cols
    bad_id = df.index[~df["video_name"].str.strip().str.fullmatch(r"\d+")].tolist()
    bad_lab = df.index[~df["label"].str.strip().str.fullmatch(r"-?\d+")].tolist()
    if bad_id or bad_lab:
        line = (bad_id or bad_lab)[0] + 2
        raise DataError(path, f"line {line}: video_name and label must be integers "
                              f"({len(bad_id) + len(bad_lab)} bad values)", "fix or remove those lines")
    ids = df["video_name"].astype(int)
    labels = df["label"].astype(int)
    if label_base == 1 and (labels == 0).any():
        n0 = int((labels == 0).sum())
        raise DataError(path, f"{n0} labels are 0, but official DFEW split files are 1-based (1 Happy .. 7 Fear): "
                              "this file looks 0-based, as some public repositories ship under the official names",
                        "use the official CSV from the DFEW release, or pass --label-base 0 if the file is 0-based on purpose")
    lo, hi = label_base, label_base + n_classes - 1
    out = labels[(labels < lo) | (labels > hi)]
    if len(out):
        raise DataError(path, f"line {out.index[0] + 2}: label {out.iloc[0]} is outside {lo}..{hi} "
                              f"({len(out)} such lines)", "fix those labels; DFEW has 7 classes")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise DataError(path, f"clip {dup.iloc[0]} is listed {int((ids == dup.iloc[0]).sum())} times "
                              f"({len(dup)} duplicates)", "remove the duplicate lines")
    return pd.DataFrame({"video_name": ids, "label": labels - label_base})


def read_dfew(root, fold: int = 1, split: str = "train", media: str = "frames", label_base: int = 1) -> pd.DataFrame:
    """DFEW official layout: `EmoLabel_DataSplit/{split}(single-labeled)/set_{fold}.csv` + `Clip/<media>/`."""
    root = Path(root)
    _check_fold(fold, 5, "DFEW"), _check_split(split)
    df = read_dfew_csv(root / "EmoLabel_DataSplit" / f"{split}(single-labeled)" / f"set_{fold}.csv", label_base)
    mdir = dfew_media_dir(root, media)
    rows = []
    for vid, lab in zip(df["video_name"], df["label"]):
        cid = f"{vid:05d}"
        path = mdir / (f"{cid}.mp4" if media == "video" else cid)
        rows.append(dict(clip_id=cid, path=str(path), label=int(lab), num_frames=-1, split=split, group=""))
    return _table(rows)


# ----------------------------------------------------------------------------- FERV39k

def read_ferv39k(root, split: str = "train") -> pd.DataFrame:
    """FERV39k: `4_setups/All_scenes/{split}_All.csv` (no header, `Scene/Emotion/id EmotionName`)."""
    root = Path(root)
    _check_split(split)
    path = root / "4_setups" / "All_scenes" / f"{split}_All.csv"
    if not path.is_file():
        raise DataError(path, "split file not found",
                        "point --root at the FERV39k folder that holds 4_setups/ and 2_ClipsforFaceCrop/")
    names = class_names("ferv39k")
    rows = []
    for i, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise DataError(path, f"line {i}: expected '<Scene>/<Emotion>/<id> <EmotionName>', got {line!r}",
                            "the official file is space-separated with two fields and no header")
        rel, emo = parts
        name = canonical_name(emo)
        if name is None or name not in names:
            hint = "remove the header line: the official file has none" if i == 1 else "fix the emotion name"
            raise DataError(path, f"line {i}: unknown emotion {emo!r} (expected one of Happy, Sad, Neutral, "
                                  "Angry, Surprise, Disgust, Fear)", hint)
        parts_rel = rel.split("/")
        if len(parts_rel) != 3:
            raise DataError(path, f"line {i}: clip path {rel!r} is not '<Scene>/<Emotion>/<id>'",
                            "use the official split file")
        rows.append(dict(clip_id=rel, path=str(root / "2_ClipsforFaceCrop" / rel), label=names.index(name),
                         num_frames=-1, split=split, group=parts_rel[0]))
    if not rows:
        raise DataError(path, "split file is empty", "restore it from the FERV39k release")
    return _table(rows)


# ----------------------------------------------------------------------------- MAFW

def _mafw_split_dir(root: Path) -> Path:
    for cand in ("split/single/no_caption", "Train & Test Set/single/no_caption"):
        if (root / cand).is_dir():
            return root / cand
    raise DataError(root / "split/single/no_caption", "MAFW single-label split folder not found",
                    "point --root at the MAFW folder that holds split/single/no_caption/set_1..5 "
                    "(or 'Train & Test Set/single/no_caption')")


def read_mafw(root, fold: int = 1, split: str = "train", media: str = "frames") -> pd.DataFrame:
    """MAFW single-label: `set_{fold}/{split}.txt` lines `00025.mp4 anger`; media `data/frames/<id>/` or `data/clips/`."""
    root = Path(root)
    _check_fold(fold, 5, "MAFW"), _check_split(split)
    path = _mafw_split_dir(root) / f"set_{fold}" / f"{split}.txt"
    if not path.is_file():
        raise DataError(path, "split file not found", "the MAFW release has set_1..set_5 with train.txt and test.txt")
    names = class_names("mafw")
    rows = []
    for i, raw in enumerate(path.read_text().splitlines(), start=1):
        parts = raw.split()
        if not parts:
            continue
        if len(parts) != 2 or canonical_name(parts[1]) not in names:
            raise DataError(path, f"line {i}: expected '<clip>.mp4 <emotion>' with one of {', '.join(names)}; "
                                  f"got {raw.strip()!r}", "use the official single-label split file")
        name, emo = parts
        stem = Path(name).stem
        path_media = root / "data" / ("clips" if media == "video" else "frames") / (name if media == "video" else stem)
        rows.append(dict(clip_id=stem, path=str(path_media), label=names.index(canonical_name(emo)),
                         num_frames=-1, split=split, group=""))
    return _table(rows)


# ----------------------------------------------------------------------------- DFER-CLIP annotation

def read_annotation(path, root: str | Path | None = None, split: str = "", n_classes: int | None = None) -> pd.DataFrame:
    """DFER-CLIP annotation txt: `<frame_dir> <num_frames> <label0>` a line.

    `root` re-bases the paths: each clip's folder becomes `root/<last component>` (public copies
    hold their authors' absolute paths).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "annotation file not found", "check the path (files are named like DFEW_set_1_train.txt)")
    rows = []
    for i, raw in enumerate(path.read_text().splitlines(), start=1):
        parts = raw.split()
        if not parts:
            continue
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].lstrip("-").isdigit():
            raise DataError(path, f"line {i}: expected '<frame_dir> <num_frames> <label>', got {raw.strip()!r}",
                            "this reader takes the DFER-CLIP annotation format")
        fdir, n, lab = parts[0], int(parts[1]), int(parts[2])
        if lab < 0 or (n_classes is not None and lab >= n_classes):
            raise DataError(path, f"line {i}: label {lab} outside 0..{(n_classes or 1) - 1} (labels here are 0-based)",
                            "fix the label, or convert 1-based labels by subtracting 1")
        cid = Path(fdir).name
        p = Path(root) / cid if root is not None else Path(fdir)
        rows.append(dict(clip_id=cid, path=str(p), label=lab, num_frames=n, split=split, group=""))
    return _table(rows)


def write_annotation(table: pd.DataFrame, path) -> Path:
    """Write a table as DFER-CLIP annotation txt (absolute paths, 0-based labels), atomically."""
    bad = table[table["num_frames"] < 1]
    if len(bad):
        raise ValueError(f"{len(bad)} clips have no frame count (e.g. {bad['clip_id'].iloc[0]}): count frames first")
    lines = [f"{Path(p).resolve()} {int(n)} {int(lab)}" for p, n, lab in zip(table["path"], table["num_frames"], table["label"])]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def read_annotation_dir(root, fold: int = 1, split: str = "train") -> pd.DataFrame:
    """A folder of annotation files as `prepare` writes them: `<NAME>_set_<k>_<split>.txt` or `<NAME>_<split>.txt`."""
    root = Path(root)
    _check_split(split, ("train", "test", "val"))
    cands = sorted(root.glob(f"*_set_{fold}_{split}.txt")) or sorted(root.glob(f"*_{split}.txt"))
    cands = [c for c in cands if "_set_" not in c.name or c.name.endswith(f"_set_{fold}_{split}.txt")]
    if not cands:
        raise DataError(root, f"no annotation file for fold {fold}, split {split!r}",
                        f"expected a file named like DFEW_set_{fold}_{split}.txt (run `python -m tgdfer prepare`)")
    if len(cands) > 1:
        raise DataError(root, f"several annotation files match fold {fold}, {split}: {[c.name for c in cands]}",
                        "keep one dataset's annotation files a folder")
    df = read_annotation(cands[0], split=split)
    return df


# ----------------------------------------------------------------------------- generic CSV

def read_csv_table(path, split: str | None = None, classes: list[str] | None = None) -> pd.DataFrame:
    """Generic CSV `path,label[,split,group]`: video files or frame folders, relative to the CSV.

    `label` is a class name or a 0-based index into `classes` (default: the DFEW order).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "clips.csv"
    if not path.is_file():
        raise DataError(path, "CSV not found", "pass --root path/to/your.csv (columns path,label[,split,group])")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as e:  # noqa: BLE001
        raise DataError(path, f"not readable as CSV ({e})", "write it as comma-separated with a header line") from None
    cols = [c.strip().lower() for c in df.columns]
    df.columns = cols
    if "path" not in cols or "label" not in cols:
        raise DataError(path, f"header is {','.join(cols)}; it needs the columns path,label (split, group optional)",
                        "add a header line 'path,label,split,group'")
    extra = set(cols) - {"path", "label", "split", "group"}
    if extra:
        raise DataError(path, f"unknown columns {sorted(extra)}", "keep path,label,split,group only")
    classes = classes or class_names("dfew")
    labels = []
    is_int = df["label"].str.strip().str.fullmatch(r"-?\d+")
    ints = df.loc[is_int, "label"].astype(int)
    for i, (v, as_int) in enumerate(zip(df["label"].str.strip(), is_int), start=2):
        if as_int:
            lab = int(v)
            if not 0 <= lab < len(classes):
                hint = (" (labels look 1-based: there is no 0)" if ints.min() >= 1 and ints.max() == len(classes) else "")
                raise DataError(path, f"line {i}: label {lab} outside 0..{len(classes) - 1}{hint}",
                                "integer labels are 0-based indices into the class list; use class names to avoid doubt")
        else:
            name = canonical_name(v) or v.lower()
            if name not in classes:
                raise DataError(path, f"line {i}: unknown class {v!r}", f"use one of {', '.join(classes)}")
            lab = classes.index(name)
        labels.append(lab)
    rows = []
    for (_, r), lab in zip(df.iterrows(), labels):
        p = Path(r["path"])
        p = p if p.is_absolute() else path.parent / p
        rows.append(dict(clip_id=Path(r["path"]).stem if p.suffix else Path(r["path"]).name, path=str(p), label=lab,
                         num_frames=-1, split=(r.get("split", "") or "").strip().lower(),
                         group=str(r.get("group", "") or "")))
    out = _table(rows)
    if split is not None:
        if "split" not in cols:
            raise DataError(path, f"asked for split {split!r} but the CSV has no split column",
                            "add a split column with train / test (/ val) per clip")
        out = out[out["split"] == split].reset_index(drop=True)
        if out.empty:
            raise DataError(path, f"no clip has split == {split!r}", "check the split column's values")
    return out


# ----------------------------------------------------------------------------- one entry

def load_split(dataset: str, root, fold: int = 1, split: str = "train", media: str = "frames",
               label_base: int = 1) -> pd.DataFrame:
    """The clips of one fold and split of a dataset, in its official layout (see module docstring).

    Clip paths are absolute whatever the root given (`data/x` or `/work/data/x`): the feature cache is keyed by
    them, so the same clip reached through two spellings of its root is encoded once."""
    dataset = dataset.lower()
    root = Path(root).expanduser().resolve() if str(root) else root
    if dataset == "dfew":
        return read_dfew(root, fold, split, media, label_base)
    if dataset == "ferv39k":
        if int(fold) != 1:
            raise ValueError(f"FERV39k has one fixed train/test split: use fold 1 (got {fold})")
        return read_ferv39k(root, split)
    if dataset == "mafw":
        return read_mafw(root, fold, split, media)
    if dataset == "annotation":
        return read_annotation_dir(root, fold, split)
    if dataset == "csv":
        return read_csv_table(root, split)
    raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")


def folds_of(dataset: str) -> list[int]:
    """The folds a dataset defines (FERV39k and CSV: one)."""
    return [1, 2, 3, 4, 5] if dataset.lower() in ("dfew", "mafw") else [1]
