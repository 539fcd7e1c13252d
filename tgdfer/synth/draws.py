"""Which clips a draw of the generated benchmark holds, before any is rendered: the generator's settings
(`GenerateConfig`), the classes, lengths, identities and folds of every clip (DFEW-style folds of one pool, held-out
test splits, independent training draws a fold, or a replica of real split lists).

In: a `GenerateConfig`. Out: a plan, one row a clip (video name, label, identity, length, folds). `generate.py`
renders it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from ..classes import class_names, dfew_frequencies
from ..data.layouts import read_annotation


FORMAT_VERSION = 2  # of the default set; bump when the rendering changes (2: expression centre uniform over the clip)
FORMAT_DISTRIBUTION = 3  # expressions drawn from assets/expressions.json (GenerateConfig.expressions)


@dataclass(frozen=True)
class GenerateConfig:
    clips: int = 700            # number of clips (with `replica`: how many of its clips to render)
    size: int = 112             # frame side in pixels (even, for the mp4)
    seed: int = 0
    balanced: bool = False      # equal class frequencies instead of DFEW's
    identities: int = 0         # number of distinct people; 0: clips // 4
    scene: bool = False         # small face inside a larger moving scene (for face detection)
    videos: bool = True         # write Clip/original/*.mp4
    replica: str = ""           # folder of DFER-CLIP split lists: real ids, lengths, labels, folds
    placement: str = "centre"   # where the expression sits: centre uniform over the clip | legacy (format 1)
    min_per_class: int = 0      # at least this many clips a class (e.g. 30: about 6 a test fold for disgust)
    expressions: str = "prototype"  # prototype: the EMFACS prototype a class (formats 1-2) | distribution (format 3)
    test_per_class: int = 0     # >0: each fold's test split is rendered apart, this many clips a class, from
                                # identities used nowhere else; the `clips` form the training pool (see _plan_heldout)
    independent: bool = False   # with test_per_class: each fold trains on its own draw of `clips` clips from its own
                                # people, so folds share no training clip (see _plan_independent)
    folds: tuple = ()           # with independent: render only these folds (the same clips, to the byte, as the whole
                                # set renders for them; only their split lists are written); (): all five


def format_version(cfg: GenerateConfig) -> int:
    """The benchmark format a config renders: 3 with drawn expressions, else FORMAT_VERSION."""
    return FORMAT_DISTRIBUTION if cfg.expressions == "distribution" else FORMAT_VERSION


# ----------------------------------------------------------------------------- planning

def clip_lengths(rng: np.random.Generator, n: int) -> np.ndarray:
    """[n] frame counts: log-normal around 36 frames, clipped to 10..96."""
    return np.clip(np.round(rng.lognormal(np.log(36), 0.4, size=n)), 10, 96).astype(int)


def class_counts(cfg: GenerateConfig) -> np.ndarray:
    """[7] clips a class among `cfg.clips`: DFEW's class frequencies (or equal ones), at least `min_per_class`."""
    names = class_names("dfew")
    freqs = np.full(len(names), 1 / len(names)) if cfg.balanced else \
        np.array([dfew_frequencies()[c] for c in names])
    counts = np.floor(freqs * cfg.clips).astype(int)
    counts = np.maximum(counts, 2 if cfg.clips >= 2 * len(names) else 0)
    counts = np.maximum(counts, min(cfg.min_per_class, cfg.clips // len(names)))
    while counts.sum() < cfg.clips:                                   # largest remainders first
        counts[np.argmax(freqs * cfg.clips - counts)] += 1
    while counts.sum() > cfg.clips:
        counts[np.argmax(counts)] -= 1
    return counts


def _plan_synthetic(cfg: GenerateConfig) -> pd.DataFrame:

    rng = np.random.default_rng([cfg.seed, 7])
    names = class_names("dfew")
    labels = rng.permutation(np.repeat(np.arange(len(names)), class_counts(cfg)))
    n_id = cfg.identities or max(5, cfg.clips // 4)
    identity = rng.integers(0, n_id, size=cfg.clips)
    lengths = clip_lengths(rng, cfg.clips)
    fold = np.zeros(cfg.clips, dtype=int)
    if cfg.clips >= 10:
        n_splits = min(5, max(2, int(np.bincount(labels).max())))
        sgkf = StratifiedGroupKFold(n_splits=5 if cfg.clips >= 25 else n_splits, shuffle=True,
                                    random_state=cfg.seed)
        with warnings.catch_warnings():   # rare classes (disgust) have fewer clips than folds in small sets
            warnings.simplefilter("ignore", UserWarning)
            for k, (_, test) in enumerate(sgkf.split(np.zeros(cfg.clips), labels, identity)):
                fold[test] = k + 1
    else:
        fold[:] = np.arange(cfg.clips) % 5 + 1
    return pd.DataFrame({"video_name": np.arange(1, cfg.clips + 1), "label": labels + 1,
                         "identity": identity, "num_frames": lengths, "fold": fold})


def _plan_heldout(cfg: GenerateConfig) -> pd.DataFrame:
    """The training pool of `_plan_synthetic` (DFEW's class frequencies, 5 identity groups) and, for each fold k, a
    test split of `test_per_class` clips of every class from people who appear nowhere else.

    Fold k trains on the pool minus its group k (as DFEW's folds) and tests on its own balanced split, so no test clip
    is ever in a training split, a tuning validation split carved from one, or another fold's test split. Column
    `role`: 'pool' or 'test'; `fold`: the pool clip's identity group, or the test clip's fold.
    """
    pool = _plan_independent(cfg) if cfg.independent else _plan_synthetic(cfg)
    if not cfg.independent:
        pool["role"] = "pool"
    rng = np.random.default_rng([cfg.seed, 8])
    names = class_names("dfew")
    n_test = cfg.test_per_class * len(names)
    per_id = max(1, len(pool) // max(1, int(pool["identity"].nunique())))         # clips a person, as in the pool
    first_id, first_vid = int(pool["identity"].max()) + 1, int(pool["video_name"].max()) + 1
    parts = []
    for k in range(1, 6):
        n_id = max(len(names), n_test // per_id)
        parts.append(pd.DataFrame({
            "label": rng.permutation(np.repeat(np.arange(len(names)), cfg.test_per_class)) + 1,
            "identity": first_id + (k - 1) * n_id + rng.integers(0, n_id, size=n_test),
            "num_frames": clip_lengths(rng, n_test),
            "fold": k, "role": "test"}))
    test = pd.concat(parts, ignore_index=True)
    test.insert(0, "video_name", np.arange(first_vid, first_vid + len(test)))
    return pd.concat([pool, test], ignore_index=True)


def _plan_independent(cfg: GenerateConfig) -> pd.DataFrame:
    """Five training draws (role 'train', `fold` k: fold k's training split), each of `cfg.clips` clips with the class
    counts of `class_counts` and about 4 clips a person, from people of its own: no two folds share a training clip
    or a person, so the five folds' scores are independent draws of the benchmark (training and test alike)."""
    rng = np.random.default_rng([cfg.seed, 9])
    names = class_names("dfew")
    n_id = cfg.identities or max(5, cfg.clips // 4)
    parts = [pd.DataFrame({"label": rng.permutation(np.repeat(np.arange(len(names)), class_counts(cfg))) + 1,
                           "identity": (k - 1) * n_id + rng.integers(0, n_id, size=cfg.clips),
                           "num_frames": clip_lengths(rng, cfg.clips), "fold": k, "role": "train"})
             for k in range(1, 6)]
    plan = pd.concat(parts, ignore_index=True)
    plan.insert(0, "video_name", np.arange(1, len(plan) + 1))
    return plan


def _split_masks(plan: pd.DataFrame, k: int) -> tuple[pd.Series, pd.Series]:
    """(train, test) rows of fold k: DFEW's folds, the held-out test splits of `_plan_heldout`, or the independent
    training draws of `_plan_independent`."""
    if "role" not in plan:
        return plan["fold"] != k, plan["fold"] == k
    test = (plan["role"] == "test") & (plan["fold"] == k)
    if (plan["role"] == "train").any():
        return (plan["role"] == "train") & (plan["fold"] == k), test
    return (plan["role"] == "pool") & (plan["fold"] != k), test


def _plan_replica(cfg: GenerateConfig) -> pd.DataFrame:

    src = Path(cfg.replica)
    rows = {}
    for k in range(1, 6):
        test = read_annotation(src / f"DFEW_set_{k}_test.txt")
        for r in test.itertuples():
            rows[int(r.clip_id)] = (int(r.label) + 1, int(r.num_frames), k)
    plan = pd.DataFrame([(vid, lab, n, k) for vid, (lab, n, k) in sorted(rows.items())],
                        columns=["video_name", "label", "num_frames", "fold"])
    if cfg.clips and cfg.clips < len(plan):
        plan = plan.sample(n=cfg.clips, random_state=cfg.seed).sort_values("video_name")
    plan["identity"] = plan["video_name"] % max(5, len(plan) // 4)
    return plan.reset_index(drop=True)[["video_name", "label", "identity", "num_frames", "fold"]]


# ----------------------------------------------------------------------------- rendering
