"""The paper's figures as files, drawn from records only: Figure 3 (confusion matrices), Figure 4 (frame relevance),
training curves, the per-clip frame AUC, and the faces section's crop figure.

In: the records of `collect` (`results/`). Out: `paper/figures/*.png`. The drawing itself is in `figures.py`.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from tgdfer.config import CROP_SCALE, load_variants
from tgdfer.report.figures import confusion_panels, crop_comparison, crop_examples, frame_auc_boxes, frame_strip
from tgdfer.report.frames import DEFINITIONS, FLOOR_NAMES
from tgdfer.report.tables import DATASET_NAMES, REF, load_records, variant_rows

from .training_size import curve_figure, curve_values


def _save(fig, path: Path, **kw) -> Path:

    fig.savefig(path, **kw)
    plt.close(fig)
    return path


def _confusion_figure(conf: pd.DataFrame, out: Path) -> dict[str, Path]:

    if not len(conf):
        return {}
    main = conf[conf.run_name == REF]
    names = list(dict.fromkeys(main["true"]))
    panels = []
    for (ds, fold), g in main.groupby(["dataset", "fold"]):
        cm = g.groupby(["true", "pred"])["count"].sum().unstack().reindex(index=names, columns=names).to_numpy()
        panels.append((cm, f"{DATASET_NAMES.get(ds, ds)}" + ("" if ds == "ferv39k" else f", fold {fold}")))
    fig = confusion_panels(panels, names)
    fig.suptitle("Figure 3: row-normalised confusion matrices of TG-DFER (%)", fontsize=12)
    fig.tight_layout()
    return {"confusion": _save(fig, out / "fig3_confusion.png", dpi=110)}


def _relevance_figures(ex: dict, out: Path) -> dict[str, Path]:

    files = {}
    for ds in sorted({k.split("__")[0] for k in ex}):
        names = list(ex[f"{ds}__class_names"])
        for i in range(len(ex[f"{ds}__clip_ids"])):
            truth = ex[f"{ds}__truth"][i]
            lab, prd = int(ex[f"{ds}__labels"][i]), int(ex[f"{ds}__preds"][i])
            fig = frame_strip(ex[f"{ds}__frames"][i], ex[f"{ds}__relevance"][i], names, label=lab, pred=prd,
                              truth=None if np.isnan(truth).all() else truth, frame_index=ex[f"{ds}__frame_index"][i],
                              title=f"Figure 4 ({DATASET_NAMES.get(ds, ds)}, clip {ex[f'{ds}__clip_ids'][i]}): "
                                    f"true {names[lab]}, predicted {names[prd]} — "
                                    f"{'correct' if lab == prd else 'wrong'}")
            key = f"relevance_{ds}_{i + 1}"
            files[key] = _save(fig, out / f"fig4_{key}.png", dpi=100, bbox_inches="tight")
    return files


def _curves_figure(hist: pd.DataFrame, out: Path) -> dict[str, Path]:

    if not len(hist):
        return {}
    h = hist[hist.run_name == REF]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    for ds, g in h.groupby("dataset"):
        runs = g.groupby(["fold", "seed"]).ngroups
        split = "val" if (g.metric == "val_uar").any() else "test"      # runs with a validation split never read test
        for metric, ax in (("train_loss", axes[0]), (f"{split}_uar", axes[1])):
            s = g[g.metric == metric].groupby("epoch")["value"]
            mean, std = s.mean(), s.std().fillna(0)
            scale = 100 if metric.endswith("uar") else 1
            ax.plot(mean.index, scale * mean, label=f"{DATASET_NAMES.get(ds, ds)} (mean of {runs} runs, ± std)")
            ax.fill_between(mean.index, scale * (mean - std), scale * (mean + std), alpha=0.2)
            ax.set_xlabel("epoch")
            ax.set_ylabel("training loss" if metric == "train_loss" else
                          ("validation" if split == "val" else "test") + " UAR (%)")
    axes[1].legend(fontsize=7)
    fig.suptitle("TG-DFER training curves", fontsize=10)
    fig.tight_layout()
    return {"curves": _save(fig, out / "training_curves.png", dpi=110)}


def _frame_auc_figure(rec: pd.DataFrame, clips: pd.DataFrame, out: Path) -> dict[str, Path]:
    """Per-clip frame AUC of every variant with frame evidence, the floors below (pooled over folds and seeds)."""
    if not len(clips):
        return {}
    ds = clips.dataset.mode().iloc[0]
    c = clips[clips.dataset == ds]
    _, spec = variant_rows(rec, load_variants(), ds)
    order = [("TG-DFER", REF)] + [(f"{a}: {s}" if a != "baseline" else s, n) for a, s, n in spec if n != REF]
    order = list(dict.fromkeys(order)) + [(label, name) for name, label in FLOOR_NAMES.items()]
    groups = [(label, {d: c[c.run_name == name][f"auc_{d}"].to_numpy() for d in DEFINITIONS}, name in FLOOR_NAMES)
              for label, name in order if (c.run_name == name).any()]
    runs = c[c.run_name == REF].groupby(["fold", "seed"]).ngroups
    fig = frame_auc_boxes(groups, list(DEFINITIONS), f"Frame localisation per clip ({DATASET_NAMES.get(ds, ds)}, "
                          f"test clips of {runs} TG-DFER runs pooled; variants without per-frame class evidence left out)")
    return {"frame_auc": _save(fig, out / "frame_auc_per_clip.png", dpi=110)}


def write_figures(results: str | Path, out: str | Path) -> dict[str, Path]:
    """Figure 3 (confusion matrices), Figure 4 (frame relevance), training curves and the per-clip frame
    AUC, from the records."""
    r = load_records(results)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = _confusion_figure(r["confusion"], out)
    files.update(_relevance_figures(r["examples"], out))
    files.update(_curves_figure(r["history"], out))
    files.update(_frame_auc_figure(r["records"], r["frame_clips"], out))
    files.update(_training_size_figure(r["records"], out))
    return files


def _training_size_figure(rec: pd.DataFrame, out: Path) -> dict[str, Path]:

    if curve_values(rec).empty:
        return {}
    return {"training_size": _save(curve_figure(rec), out / "training_size.png", dpi=110)}


def write_crop_figure(out: str | Path) -> Path:
    """The faces section's before/after crop (not from records: a generated scene frame and a real photo)."""
    fig = crop_comparison(crop_examples(), [(1.4, "crop 1.4 x box: before\n(the old --margin 0.2)"),
                                            (CROP_SCALE, f"crop {CROP_SCALE} x box: the default\n(--crop-scale, DFEW-like)")])
    path = Path(out) / "face_crops.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    image = Image.open(buf).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)   # photos: 256 colours, 1/3 the bytes
    image.save(path, optimize=True)
    return path
