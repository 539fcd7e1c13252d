"""Figures: contact sheet, class distributions, frame strips with relevance, confusion matrices, curves,
face crops before/after.

In: arrays and tables from the data layer, evaluation results and run records. Out: matplotlib
figures (the caller saves them). Every figure names the dataset it shows, so the generated
benchmark is never mistaken for DFEW.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.cbook import get_sample_data
from matplotlib.patches import Rectangle

from ..classes import class_names as dataset_classes
from ..data.decode import ClipReader
from ..data.faces import HaarDetector, align_crop, track_faces
from ..data.ground_truth import clip_table, intensity
from ..synth.generate import GenerateConfig, render_clip


def contact_sheet(root, n_frames: int = 8, seed: int = 0, dataset_name: str = "generated benchmark"):
    """One row per class, frames across time of one clip, its ground-truth intensity under each frame."""
    clips = clip_table(root)
    names = dataset_classes("dfew")
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(names), n_frames, figsize=(n_frames * 1.1, len(names) * 1.25))
    for r, name in enumerate(names):
        pool = clips[(clips.label_name == name) & (clips.num_frames >= n_frames)]
        row = pool.iloc[int(rng.integers(len(pool)))]
        reader = ClipReader(Path(root) / "Clip" / "clip_224x224" / row.clip_id)
        idx = np.linspace(0, reader.num_frames - 1, n_frames).round().astype(int)
        frames = reader.read(idx)
        inten = intensity(root, row.clip_id)
        for c in range(n_frames):
            ax = axes[r, c]
            ax.imshow(frames[c])
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_xlabel(f"{inten[idx[c]]:.2f}", fontsize=7, labelpad=1)
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
    fig.suptitle(f"{dataset_name}: one clip per class, frames across time (ground-truth intensity below)", fontsize=9)
    fig.tight_layout(pad=0.3, rect=(0, 0, 1, 0.97))
    return fig


def class_distribution(counts: pd.DataFrame, dataset_name: str):
    """Bar chart of clips per class for each fold's train and test split (`prepare`'s counts)."""
    names = [n for n in dataset_classes("dfew") if n in set(counts["class_name"])] or sorted(set(counts["class_name"]))
    folds = sorted(counts["fold"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=False)
    width = 0.8 / len(folds)
    for ax, split in zip(axes, ("train", "test")):
        sub = counts[counts.split == split]
        for i, k in enumerate(folds):
            vals = [int(sub[(sub.fold == k) & (sub.class_name == n)]["clips"].sum()) for n in names]
            ax.bar(np.arange(len(names)) + i * width, vals, width, label=f"fold {k}")
        ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=30, fontsize=8)
        ax.set_title(f"{dataset_name}: {split} clips per class", fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def frame_strip(frames: np.ndarray, relevance: np.ndarray, class_names: list[str], label: int | None = None,
                pred: int | None = None, truth: np.ndarray | None = None, title: str = "", *, frame_index=None):
    """Sampled frames [T, H, W, 3] on top; relevance [T, C] of the predicted (and true) class below.

    `truth` [T] (optional): ground-truth expression intensity at the sampled frames, shaded.
    """
    T = len(frames)
    fig = plt.figure(figsize=(max(8, T * 0.75), 3.6))
    gs = fig.add_gridspec(2, T, height_ratios=[1, 1.3], hspace=0.08, wspace=0.04)
    for t in range(T):
        ax = fig.add_subplot(gs[0, t])
        ax.imshow(frames[t])
        ax.set_xticks([]), ax.set_yticks([])
        if frame_index is not None:
            ax.set_title(str(int(frame_index[t]) + 1), fontsize=6, pad=1)
    ax = fig.add_subplot(gs[1, :])
    x = np.arange(T)
    if truth is not None:
        ax.fill_between(x, 0, np.asarray(truth) * relevance.max(), color="0.85", step="mid",
                        label="ground-truth intensity (scaled)")
    shown = [c for c in dict.fromkeys([pred, label]) if c is not None]
    for c in shown:
        style = "-" if c == pred else "--"
        who = "predicted" if c == pred else "true"
        ax.plot(x, relevance[:, c], style, marker="o", ms=3, label=f"{who}: {class_names[c]}")
    ax.set_xlim(-0.5, T - 0.5)
    ax.set_xticks(x, [str(i + 1) for i in x], fontsize=7)
    ax.set_xlabel("sampled frame")
    ax.set_ylabel("frame relevance")
    ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=9)
    return fig


def recall_bars(recall: dict, title: str = ""):
    """Per-class recall as bars (in %; a class absent from the split has no bar)."""
    names = list(recall)
    values = [np.nan if v is None else 100 * v for v in recall.values()]
    fig, ax = plt.subplots(figsize=(6, 2.5))
    ax.bar(names, values)
    ax.set_ylabel("recall (%)")
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="x", rotation=30)
    return fig


def confusion_panels(panels: list[tuple[np.ndarray, str]], class_names: list[str]):
    """Row-normalised confusion matrices, one panel each: [(matrix [C, C], title), ...].

    Rows and columns carry the full class names: on the left of the first column, under the lowest
    panel of each column (rotated), so the figure stays readable when shown at page width.
    """
    n = len(panels)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    side = max(3.3, 0.42 * len(class_names))                                   # inches a panel: 7 or 11 classes
    fig, axes = plt.subplots(rows, cols, figsize=(side * cols + 1.0, side * rows + 0.9), squeeze=False)
    ticks = range(len(class_names))
    for ax in axes.flat[n:]:
        ax.axis("off")
    for k, (ax, (cm, title)) in enumerate(zip(axes.flat, panels)):
        cm = np.asarray(cm, float)
        norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)                    # [C, C] rows sum to 1
        ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        for i in range(len(cm)):
            for j in range(len(cm)):
                if cm[i].sum():
                    ax.text(j, i, f"{100 * norm[i, j]:.0f}", ha="center", va="center", fontsize=9,
                            color="white" if norm[i, j] > 0.5 else "black")
        left, lowest = k % cols == 0, k + cols >= n                            # no panel below this one
        ax.set_yticks(ticks, class_names if left else [], fontsize=10)
        ax.set_xticks(ticks, class_names if lowest else [], fontsize=10, rotation=40, ha="right",
                      rotation_mode="anchor")
        if left:
            ax.set_ylabel("true", fontsize=10)
        if lowest:
            ax.set_xlabel("predicted", fontsize=10)
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def training_curves(history: pd.DataFrame, title: str = ""):
    """Loss and UAR/WAR per epoch from a run's history.csv."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3))
    for col in [c for c in history.columns if c.startswith("train_") and c != "train_seconds"]:
        a.plot(history["epoch"], history[col], marker=".", label=col[6:])
    a.set_xlabel("epoch"), a.set_ylabel("loss"), a.legend(fontsize=7)
    for col in [c for c in history.columns if c.endswith("_uar") or c.endswith("_war")]:
        b.plot(history["epoch"], 100 * history[col], marker=".", label=col)
    b.set_xlabel("epoch"), b.set_ylabel("%"), b.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def clip_preview(frames: np.ndarray, frame_index, intensity: np.ndarray | None, title: str = ""):
    """Sampled frames of a clip on top; the ground-truth intensity over the whole clip below (if known)."""
    T = len(frames)
    fig = plt.figure(figsize=(max(8, T * 0.75), 3.2 if intensity is not None else 1.4))
    rows = 2 if intensity is not None else 1
    gs = fig.add_gridspec(rows, T, height_ratios=[1, 1.1][:rows], hspace=0.25, wspace=0.04)
    for t in range(T):
        ax = fig.add_subplot(gs[0, t])
        ax.imshow(frames[t])
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(str(int(frame_index[t]) + 1), fontsize=6, pad=1)
    if intensity is not None:
        ax = fig.add_subplot(gs[1, :])
        ax.plot(np.arange(1, len(intensity) + 1), intensity, color="0.3", label="ground-truth intensity")
        ax.plot(np.asarray(frame_index) + 1, intensity[np.asarray(frame_index)], "o", ms=4, label="sampled frames")
        ax.set_xlabel("frame"), ax.set_ylabel("intensity"), ax.set_ylim(-0.05, 1.05)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(title, fontsize=9)
    return fig


def frame_auc_boxes(groups: list[tuple[str, dict[str, np.ndarray], bool]], definitions: list[str], title: str = ""):
    """Per-clip frame AUC as one horizontal box per variant and one panel per definition of frame evidence.

    groups: [(label, {definition: per-clip AUCs}, is_floor), ...], top to bottom; floors are drawn grey.
    Beside each box: the share of clips below 0.5 (the line: a ranking no better than chance).
    """
    n = len(groups)
    fig, axes = plt.subplots(1, len(definitions), figsize=(5.2 * len(definitions), 0.42 * n + 1.3),
                             sharey=True, squeeze=False)
    for ax, d in zip(axes[0], definitions):
        data = [np.asarray(g[1].get(d, []), float) for g in groups]
        data = [v[~np.isnan(v)] for v in data]
        box = ax.boxplot([v if len(v) else [np.nan] for v in data], vert=False, widths=0.6, patch_artist=True,
                         showfliers=True, flierprops={"markersize": 2, "alpha": 0.4})
        for patch, (_, _, floor) in zip(box["boxes"], groups):
            patch.set_facecolor("0.85" if floor else "#9ecae1")
        ax.axvline(0.5, color="firebrick", lw=1, ls="--")
        for i, v in enumerate(data):
            if len(v):
                ax.text(1.02, i + 1, f"{100 * (v < 0.5).mean():.0f}%", va="center", fontsize=8)
        ax.set_xlim(-0.02, 1.12)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_xlabel(f"per-clip frame AUC ({d})", fontsize=9)
        ax.set_title(f"frame evidence: {d}  (right: share of the clips < 0.5)", fontsize=9)
    axes[0, 0].set_yticks(range(1, n + 1), [g[0] for g in groups], fontsize=8)
    axes[0, 0].invert_yaxis()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def head_fill_on_scenes(scales: list[float], clips: int = 15, length: int = 24) -> dict:
    """How much of a face crop the drawn head (crown to chin, known) fills on generated `--scene` clips:
    {scale: median of (head height / crop side) over the frames with a detection}, and 'frames': how many."""
    fill = []
    for v in range(1, clips + 1):
        frames, _, truth = render_clip(v, "happiness", v, length, GenerateConfig(size=320, scene=True))   # truth [T, 4]
        tr = track_faces(frames)
        if tr is not None:
            side = tr.boxes[:, 2] - tr.boxes[:, 0]                                                 # [T] square boxes
            fill.extend(((truth[:, 3] - truth[:, 1]) / side)[tr.found])
    fill = np.asarray(fill)
    return {"frames": len(fill), **{s: float(np.median(fill / s)) for s in scales}}


def crop_examples() -> list[dict]:
    """Two frames to show face crops on: a generated `--scene` frame (true head box known) and a real
    photo (Grace Hopper, matplotlib's sample data). Each: {'name', 'frame' [H, W, 3], 'box' [4], 'angle', 'truth'}."""
    frames, _, truth = render_clip(1, "happiness", 1, 24, GenerateConfig(size=320, scene=True))    # [T, S, S, 3]
    tr = track_faces(frames)
    t = 12
    photo = cv2.cvtColor(cv2.imread(str(get_sample_data("grace_hopper.jpg", asfileobj=False))), cv2.COLOR_BGR2RGB)
    boxes = HaarDetector().detect(photo)                                                           # [N, 5]
    box = boxes[np.argmax(boxes[:, 2] - boxes[:, 0]), :4]
    return [{"name": "generated --scene frame", "frame": frames[t], "box": tr.boxes[t], "angle": float(tr.angle[t]),
             "truth": truth[t]},
            {"name": "real photo (matplotlib's Grace Hopper sample)", "frame": photo, "box": box, "angle": 0.0,
             "truth": None}]


def crop_comparison(examples: list[dict], scales: list[tuple[float, str]], size: int = 224):
    """Per example: the frame with the detected box (green) and each crop's square, then the crops
    [size, size, 3] at each (crop_scale, label); where the true head box is known, the share of the crop's
    height it fills, in this frame and over generated scene clips (`head_fill_on_scenes`)."""
    fill = head_fill_on_scenes([s for s, _ in scales]) if any(ex["truth"] is not None for ex in examples) else {}
    fig, axes = plt.subplots(len(examples), 1 + len(scales), figsize=(3.2 * (1 + len(scales)), 3.6 * len(examples)),
                             squeeze=False)
    colours = ["tab:red", "tab:blue", "tab:orange"]
    for row, ex in zip(axes, examples):
        b = ex["box"]
        row[0].imshow(ex["frame"])
        row[0].add_patch(Rectangle(b[:2], b[2] - b[0], b[3] - b[1], fill=False, ec="lime", lw=1.5))
        for (scale, _), c in zip(scales, colours):
            side = max(b[2] - b[0], b[3] - b[1]) * scale
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            row[0].add_patch(Rectangle((cx - side / 2, cy - side / 2), side, side, fill=False, ec=c, lw=1.2, ls="--"))
        row[0].set_title(f"{ex['name']}\ndetected box (green)", fontsize=8)
        for ax, (scale, label), c in zip(row[1:], scales, colours):
            ax.imshow(align_crop(ex["frame"], b, ex["angle"], size, scale))
            note = ""
            if ex["truth"] is not None:
                t = ex["truth"]
                here = (t[3] - t[1]) / (max(b[2] - b[0], b[3] - b[1]) * scale)
                note = (f"\nhead (crown to chin) fills {100 * here:.0f}% of its height here,"
                        f"\n{100 * fill[scale]:.0f}% median over {fill['frames']} scene frames")
            ax.set_title(f"{label}{note}", fontsize=8, color=c)
        for ax in row:
            ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig
