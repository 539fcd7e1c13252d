"""The paper's tables and figures, regenerated from records only (showyourwork style).

In: `results/records.csv`, `confusion.csv`, `history.csv`, `examples.npz` (from `collect`) and
`results/published.csv` (published numbers with their sources). Out: `paper/tables/*.md`,
`paper/figures/*.png`, and the README's results block. Nothing under `paper/` is written by hand;
a snapshot test regenerates the tables and compares them with the committed ones.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_write_text

DATASET_NAMES = {"dfew": "DFEW", "ferv39k": "FERV39k", "mafw": "MAFW", "synth": "generated benchmark"}
PUBLISHED_NAMES = {"DFEW": "dfew", "FERV39k": "ferv39k"}
BASELINES = {"clip-meanpool": "CLIP mean-pool (baseline)", "dfer-clip-like": "DFER-CLIP-like (baseline)",
             "mil-only": "MIL only, no text (baseline)"}
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def _fmt(values: pd.Series) -> str:
    """'66.6' for one fold, '66.6 ± 2.1' (mean ± std over folds) for several, '-' for none."""
    v = 100 * values.dropna().to_numpy(float)
    if len(v) == 0:
        return "-"
    return f"{v.mean():.1f}" if len(v) == 1 else f"{v.mean():.1f} ± {v.std(ddof=1):.1f}"


def _folds_note(dataset: str, folds: int) -> str:
    name = DATASET_NAMES.get(dataset, dataset)
    if dataset == "ferv39k":
        return name
    return f"{name}, {folds} fold{'s' if folds != 1 else ''}" + (" (of 5)" if dataset in ("dfew", "synth") and folds < 5 else "")


def _metric(rec: pd.DataFrame, run_name: str, metric: str, dataset: str, which: str = "last") -> pd.Series:
    sel = rec[(rec.run_name == run_name) & (rec.metric == metric) & (rec.dataset == dataset) & (rec.which == which)]
    return sel.groupby("fold")["value"].mean()          # one value a fold (seeds averaged)


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def main_table(rec: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Published rows (reported) beside this project's reproductions; the dataset named on every row."""
    rows = []
    for r in published.itertuples():
        ds = PUBLISHED_NAMES.get(r.dataset, r.dataset.lower())
        rows.append({"method": f"{r.method} ({r.venue})", "backbone / paradigm": r.paradigm, "dataset": r.dataset,
                     "UAR reported": f"{r.uar:.2f}", "WAR reported": f"{r.war:.2f}",
                     "UAR reproduced": "-", "WAR reproduced": "-", "source": r.source, "_ds": ds})
    datasets = ["dfew", "ferv39k"] + sorted(set(rec.dataset) - {"dfew", "ferv39k"})
    for ds in datasets:
        for run_name, label in [("tgdfer", "TG-DFER (this implementation)")] + list(BASELINES.items()):
            uar, war = _metric(rec, run_name, "uar", ds), _metric(rec, run_name, "war", ds)
            if run_name != "tgdfer" and uar.empty:
                continue
            configs = sorted(set(rec[(rec.run_name == run_name) & (rec.dataset == ds)].config))
            rows.append({"method": label, "backbone / paradigm": ", ".join(configs) or "-",
                         "dataset": _folds_note(ds, len(uar)) if len(uar) else DATASET_NAMES.get(ds, ds),
                         "UAR reported": "-", "WAR reported": "-", "UAR reproduced": _fmt(uar), "WAR reproduced": _fmt(war),
                         "source": "TG-DFER's tables are not available to this project" if run_name == "tgdfer" and ds in ("dfew", "ferv39k")
                         else ("results/records.csv" if len(uar) else "-"), "_ds": ds})
    df = pd.DataFrame(rows)
    order = {d: i for i, d in enumerate(datasets)}
    df["_o"] = df["_ds"].map(order).fillna(99)
    return df.sort_values("_o", kind="stable").drop(columns=["_o", "_ds"]).reset_index(drop=True)


def ablation_table(rec: pd.DataFrame, variants: dict) -> tuple[pd.DataFrame, str]:
    """Ablations along the paper's axes plus the baselines, on the dataset and fold(s) that have them."""
    abl = [r for r in set(rec.run_name) if r.startswith("tgdfer+")]
    if not abl:
        return pd.DataFrame(), ""
    ds = rec[rec.run_name.isin(abl)].dataset.mode().iloc[0]
    folds = sorted(set(rec[(rec.run_name.isin(abl)) & (rec.dataset == ds)].fold))
    sub = rec[(rec.dataset == ds) & (rec.fold.isin(folds)) & (rec.which == "last")]
    from ..config import load_config

    default = load_config("tgdfer-tiny").model
    rows = []

    def row(axis, setting, run_name):
        vals = {m: _fmt(sub[(sub.run_name == run_name) & (sub.metric == m)].groupby("fold")["value"].mean())
                for m in ("uar", "war", "loc_auc", "loc_topk_precision")}
        rows.append({"axis": axis, "setting": setting, "run": run_name, "UAR": vals["uar"], "WAR": vals["war"],
                     "frame AUC": vals["loc_auc"], "top-4 precision": vals["loc_topk_precision"]})

    for axis, spec in variants["ablations"].items():
        key = spec["key"].split(".")[-1]
        for value in spec["values"]:
            is_default = getattr(default, key) == value
            name = "tgdfer" if is_default else f"tgdfer+{key}={str(value).lower() if isinstance(value, bool) else value}"
            if name in set(sub.run_name):
                row(axis, f"{str(value).lower() if isinstance(value, bool) else value}" + (" (TG-DFER)" if is_default else ""), name)
    for name, label in BASELINES.items():
        if name in set(sub.run_name):
            row("baseline", label, name)
    note = f"{DATASET_NAMES.get(ds, ds)}, fold{'s' if len(folds) > 1 else ''} {', '.join(map(str, folds))}, last epoch"
    return pd.DataFrame(rows), note


def per_class_table(rec: pd.DataFrame, class_names: list[str]) -> pd.DataFrame:
    rows = []
    for ds in sorted(set(rec.dataset)):
        uar = _metric(rec, "tgdfer", "uar", ds)
        if uar.empty:
            continue
        r = {"dataset": _folds_note(ds, len(uar))}
        for c in class_names:
            r[c] = _fmt(_metric(rec, "tgdfer", f"recall_{c}", ds))
        r["UAR"], r["WAR"] = _fmt(uar), _fmt(_metric(rec, "tgdfer", "war", ds))
        r["frame AUC"] = _fmt(_metric(rec, "tgdfer", "loc_auc", ds))
        r["top-4 precision"] = _fmt(_metric(rec, "tgdfer", "loc_topk_precision", ds))
        r["top-4 chance"] = _fmt(_metric(rec, "tgdfer", "loc_topk_chance", ds))
        rows.append(r)
    return pd.DataFrame(rows)


def load_records(results: str | Path) -> dict:
    results = Path(results)
    out = {"records": pd.read_csv(results / "records.csv"), "published": pd.read_csv(results / "published.csv")}
    for name in ("confusion", "history"):
        p = results / f"{name}.csv"
        out[name] = pd.read_csv(p) if p.is_file() else pd.DataFrame()
    ex = results / "examples.npz"
    out["examples"] = dict(np.load(ex, allow_pickle=False)) if ex.is_file() else {}
    return out


def write_tables(results: str | Path, out: str | Path) -> dict[str, Path]:
    """Regenerate the markdown tables under `out` (paper/tables) from the records in `results`."""
    from ..classes import class_names
    from ..config import load_variants

    r = load_records(results)
    out = Path(out)
    files = {}
    main = main_table(r["records"], r["published"])
    files["main"] = atomic_write_text(out / "main_results.md", _md(main))
    abl, note = ablation_table(r["records"], load_variants())
    if len(abl):
        files["ablations"] = atomic_write_text(out / "ablations.md", f"Ablations ({note}); UAR/WAR/frame scores in %.\n\n" + _md(abl))
    pc = per_class_table(r["records"], class_names("dfew"))
    files["per_class"] = atomic_write_text(out / "per_class.md", "TG-DFER per-class recall (last epoch, mean ± std over folds), "
                                           "and frame localisation where ground truth exists; in %.\n\n" + _md(pc))
    return files


def write_figures(results: str | Path, out: str | Path) -> dict[str, Path]:
    """Figure 3 (confusion matrices), Figure 4 (frame relevance), training curves, from the records."""
    import matplotlib.pyplot as plt

    from .figures import confusion_panels, frame_strip

    r = load_records(results)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    conf = r["confusion"]
    if len(conf):
        main = conf[conf.run_name == "tgdfer"]
        names = list(dict.fromkeys(main["true"]))
        panels = []
        for (ds, fold), g in main.groupby(["dataset", "fold"]):
            cm = g.groupby(["true", "pred"])["count"].sum().unstack().reindex(index=names, columns=names).to_numpy()
            panels.append((cm, f"{DATASET_NAMES.get(ds, ds)}" + ("" if ds == "ferv39k" else f", fold {fold}")))
        fig = confusion_panels(panels, names)
        fig.suptitle("Figure 3: row-normalised confusion matrices of TG-DFER (%)", fontsize=12)
        fig.tight_layout()
        files["confusion"] = out / "fig3_confusion.png"
        fig.savefig(files["confusion"], dpi=110)
        plt.close(fig)
    ex = r["examples"]
    for ds in sorted({k.split("__")[0] for k in ex}):
        names = list(ex[f"{ds}__class_names"])
        n = len(ex[f"{ds}__clip_ids"])
        for i in range(n):
            truth = ex[f"{ds}__truth"][i]
            lab, prd = int(ex[f"{ds}__labels"][i]), int(ex[f"{ds}__preds"][i])
            fig = frame_strip(ex[f"{ds}__frames"][i], ex[f"{ds}__relevance"][i], names, label=lab, pred=prd,
                              truth=None if np.isnan(truth).all() else truth, frame_index=ex[f"{ds}__frame_index"][i],
                              title=f"Figure 4 ({DATASET_NAMES.get(ds, ds)}, clip {ex[f'{ds}__clip_ids'][i]}): "
                                    f"true {names[lab]}, predicted {names[prd]} — "
                                    f"{'correct' if lab == prd else 'wrong'}")
            key = f"relevance_{ds}_{i + 1}"
            files[key] = out / f"fig4_{key}.png"
            fig.savefig(files[key], dpi=100, bbox_inches="tight")
            plt.close(fig)
    hist = r["history"]
    if len(hist):
        h = hist[hist.run_name == "tgdfer"]
        fig, axes = plt.subplots(1, 2, figsize=(9, 3))
        for ds, g in h.groupby("dataset"):
            for metric, ax in (("train_loss", axes[0]), ("test_uar", axes[1])):
                s = g[g.metric == metric].groupby("epoch")["value"]
                mean, std = s.mean(), s.std().fillna(0)
                scale = 100 if metric.endswith("uar") else 1
                ax.plot(mean.index, scale * mean, label=f"{DATASET_NAMES.get(ds, ds)} (mean of {g.fold.nunique()} folds)")
                ax.fill_between(mean.index, scale * (mean - std), scale * (mean + std), alpha=0.2)
                ax.set_xlabel("epoch"), ax.set_ylabel("training loss" if metric == "train_loss" else "test UAR (%)")
        axes[1].legend(fontsize=7)
        fig.suptitle("TG-DFER training curves", fontsize=10)
        fig.tight_layout()
        files["curves"] = out / "training_curves.png"
        fig.savefig(files["curves"], dpi=110)
        plt.close(fig)
    return files


def readme_block(tables: str | Path) -> str:
    main = (Path(tables) / "main_results.md").read_text()
    return (f"{README_START}\n<!-- generated by `python -m tgdfer paper` from results/records.csv: do not edit -->\n\n"
            f"{main}\n{README_END}")


def update_readme(readme: str | Path, tables: str | Path) -> bool:
    """Replace the README's results block with the main table; returns True when it changed."""
    readme = Path(readme)
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no {README_START} ... {README_END} block")
    new = text[:text.index(README_START)] + readme_block(tables) + text[text.index(README_END) + len(README_END):]
    if new != text:
        atomic_write_text(readme, new)
    return new != text


def write_crop_figure(out: str | Path) -> Path:
    """The faces section's before/after crop (not from records: a generated scene frame and a real photo)."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    from ..config import CROP_SCALE
    from .figures import crop_comparison, crop_examples

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


def build_paper(results: str | Path, paper: str | Path, readme: str | Path | None = None) -> dict:
    files = write_tables(results, Path(paper) / "tables")
    files.update(write_figures(results, Path(paper) / "figures"))
    files["face_crops"] = write_crop_figure(Path(paper) / "figures")
    if readme is not None:
        update_readme(readme, Path(paper) / "tables")
    return files


__all__ = ["build_paper", "write_tables", "write_figures", "write_crop_figure", "update_readme", "readme_block", "main_table"]
