"""The dose of meaning, from records: what descriptions at each level of agreement with what the generator renders
give, in frame relevance and recognition, against no text.

In: the records of a draw that ran the dose study (the three dose files, TG-DFER's own descriptions, the seeded
derangements and no text, on the same folds and seeds). Out: `<draw>_dose.md` (each description set's agreement, its
contrastive frame AUC and UAR, their gains over no text paired by fold and seed with 95% intervals, and the slope of
the gain on the agreement of the three dose levels) and `<draw>_dose.png` (the gains against the agreement).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tgdfer.io import atomic_write_text
from tgdfer.paths import safe_name
from tgdfer.report import stats
from tgdfer.report.tables import markdown_table

from ..meaning import agreement, dose_specs

NO_TEXT = "tgdfer+text=none"
METRICS = {"frame_auc_contrastive": "frame AUC (contrastive)", "uar": "UAR"}


def run_of(spec: str) -> str:
    """The record's run name of TG-DFER with these descriptions (TG-DFER itself for facs)."""
    return "tgdfer" if spec == "facs" else safe_name(f"tgdfer+descriptions={spec}")


def _gain(rec, run, metric, ds):
    a, b = stats.run_values(rec, run, metric, ds).dropna(), stats.run_values(rec, NO_TEXT, metric, ds).dropna()
    return (stats.paired(a, b) if len(a) and len(b) else stats.NONE), (stats.clustered(a) if len(a) else stats.NONE)


def slope(rec: pd.DataFrame, metric: str, ds: str = "synth", derangements: int = 4) -> stats.Estimate:
    """Least-squares slope of the three dose levels' scores on their agreement, a (fold, seed), then over folds
    (points per unit of agreement)."""
    levels = {run_of(s): agreement(s)["mean"] for k, s in dose_specs(derangements).items() if k.startswith("dose")}
    mean = np.mean(list(levels.values()))
    ss = sum((a - mean) ** 2 for a in levels.values())
    parts = None
    for run, a in levels.items():
        v = stats.run_values(rec, run, metric, ds).dropna()[["fold", "seed", "value"]]
        v = v.assign(value=v["value"] * (a - mean) / ss)
        parts = v if parts is None else parts.merge(v, on=["fold", "seed"]).assign(
            value=lambda d: d["value_x"] + d["value_y"])[["fold", "seed", "value"]]
    return stats.clustered(parts) if parts is not None and len(parts) else stats.NONE


def dose_table(rec: pd.DataFrame, ds: str = "synth", derangements: int = 4) -> pd.DataFrame:
    rows = []
    for label, spec in [("no text", None)] + list(dose_specs(derangements).items()):
        run = NO_TEXT if spec is None else run_of(spec)
        row = {"descriptions": label, "agreement": "-" if spec is None else f"{agreement(spec)['mean']:.2f}"}
        for metric, name in METRICS.items():
            gain, own = _gain(rec, run, metric, ds)
            row[name] = stats.pct(own)
            row[f"{name} gain over no text"] = "-" if spec is None else stats.pct(gain, sign=True)
        rows.append(row)
    for metric, name in METRICS.items():
        e = slope(rec, metric, ds, derangements)
        rows.append({"descriptions": f"slope of the dose levels on agreement ({name})", "agreement": "per unit",
                     **{f"{n}": "" for n in METRICS.values()}, f"{name} gain over no text": stats.pct(e, sign=True)})
    return pd.DataFrame(rows).fillna("")


def dose_figure(rec: pd.DataFrame, path: Path, ds: str = "synth", derangements: int = 4) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (metric, name) in zip(axes, METRICS.items()):
        for label, spec in dose_specs(derangements).items():
            gain, _ = _gain(rec, run_of(spec), metric, ds)
            if gain.unit == "none":
                continue
            a = agreement(spec)["mean"]
            style = "o" if label.startswith("dose") else ("*" if spec == "facs" else "s")
            color = "C0" if label.startswith("dose") else ("C3" if spec == "facs" else "C1")
            ax.errorbar(a, 100 * gain.mean, yerr=[[100 * (gain.mean - gain.lo)], [100 * (gain.hi - gain.mean)]],
                        fmt=style, color=color, capsize=3, ms=9 if style == "*" else 6)
            ax.annotate("TG-DFER's (facs)" if spec == "facs" else label, (a, 100 * gain.mean), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("agreement of the descriptions with the rendered cues")
        ax.set_ylabel(f"gain over no text, {name} (points)")
        ax.set_xlim(-0.08, 1.15)
    fig.suptitle("Dose of meaning: dose levels (blue), derangements of the dataset's own sentences (orange), TG-DFER's "
                 "descriptions (red); 95% intervals over folds", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_dose(results: str | Path, tables: str | Path, figures: str | Path, draw: str, derangements: int = 4) -> dict:
    rec = pd.read_csv(Path(results) / "records.csv")
    doses = [run_of(s) for k, s in dose_specs(derangements).items() if k.startswith("dose")]
    if any(stats.run_values(rec, r, "uar", "synth").empty for r in [NO_TEXT] + doses):
        return {}                                                      # a draw that did not run the dose study
    text = (f"The dose of meaning on the {draw} draw (last epoch, in %; {stats.method()}): descriptions whose cues agree "
            "with what the generator renders for each class at three controlled levels (`study/tgdfer_study/descriptions/`: "
            "agreement = the share of the units a class's sentences name that the generator renders for it, mean over "
            "the classes that move), TG-DFER's own descriptions, and seeded derangements of the dataset's own classes' "
            "sentences; each gain over no text is paired by fold and seed. If text guidance works through meaning, "
            "the gain falls with the agreement and vanishes at none.\n\n")
    files = {f"{draw}_dose": atomic_write_text(Path(tables) / f"{draw}_dose.md", text + markdown_table(
        dose_table(rec, derangements=derangements)))}
    files[f"{draw}_dose_figure"] = dose_figure(rec, Path(figures) / f"{draw}_dose.png", derangements=derangements)
    return files
