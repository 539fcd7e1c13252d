"""Class orders and per-class facts, read from `assets/classes.json` (data, with its source).

DFEW and FERV39k share the community order happiness, sadness, neutral, anger, surprise, disgust,
fear (DFEW ids 1..7); MAFW uses the DFEW-first order of its 11 classes.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

LAYOUTS = ("dfew", "ferv39k", "mafw", "annotation", "csv")     # the dataset layouts `load_split` reads


@lru_cache(maxsize=None)
def _data() -> dict:
    return json.loads(resources.files("tgdfer.assets").joinpath("classes.json").read_text())


def class_names(dataset: str = "dfew") -> list[str]:
    """Class names in label-index order for `dataset` (dfew, ferv39k, mafw; anything else: dfew)."""
    return list(_data()["datasets"].get(dataset.lower(), _data()["datasets"]["dfew"]))


def canonical_name(name: str) -> str | None:
    """'Happy', 'angry', 'Surprise' -> the canonical class name, or None when unknown."""
    return _data()["aliases"].get(str(name).strip().lower())


def emfacs_prototypes() -> dict[str, list[int]]:
    """Action units of each DFEW class's EMFACS prototype (neutral: none)."""
    return {k: list(v) for k, v in _data()["emfacs"].items()}


def dfew_frequencies() -> dict[str, float]:
    """Share of each class among DFEW's single-labelled clips."""
    counts = _data()["dfew_clip_counts"]
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()}


def published_sizes(dataset: str) -> dict:
    """Published split sizes: DFEW {fold: (train, test)}, FERV39k {split: n}."""
    if dataset == "dfew":
        return {int(k): tuple(v) for k, v in _data()["dfew_fold_sizes"].items()}
    if dataset == "ferv39k":
        return dict(_data()["ferv39k_split_sizes"])
    return {}
