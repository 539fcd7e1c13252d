"""The tables of a set of runs, built from records only: main results (reported beside reproduced), ablations,
per-class recall, frame localisation (where the data has frame-level ground truth).

In: `records.csv`, `confusion.csv`, `frame_clips.csv` (from `collect`) and the published numbers with their sources
(`assets/published.csv`). Out: `<out>/*.md` (`python -m tgdfer tables`: build/tables by default). The study's paper
adds its claims and plans to these (`tgdfer_study.report.paper`).
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..classes import class_names, dfew_frequencies
from ..config import list_configs, load_config, load_variants
from ..io import atomic_write_text
from . import stats
from .frames import DEFINITIONS, FLOOR_NAMES


def baseline_labels() -> dict[str, str]:
    v = load_variants()
    return {name: v["variants"][name]["label"] for name in v["baselines"]}


DATASET_NAMES = {"dfew": "DFEW", "ferv39k": "FERV39k", "mafw": "MAFW", "synth": "generated benchmark"}
PUBLISHED_NAMES = {"DFEW": "dfew", "FERV39k": "ferv39k"}
BASELINES = baseline_labels()             # {variant: its row label}, from configs/variants.json


REF = "tgdfer"
K = 4


_runs, _pct = stats.run_values, stats.pct


def _cell(rec: pd.DataFrame, run_name: str, metric: str, dataset: str) -> str:
    return _pct(stats.clustered(_runs(rec, run_name, metric, dataset)))


def _delta(rec: pd.DataFrame, run_name: str, metric: str, dataset: str) -> str:
    """Paired difference to TG-DFER (same fold and seed), '*' where its interval excludes 0."""
    if run_name == REF:
        return "-" if _runs(rec, REF, metric, dataset).value.isna().all() else "reference"
    e = stats.paired(_runs(rec, run_name, metric, dataset), _runs(rec, REF, metric, dataset))
    return _pct(e, sign=True) + ("*" if e.excludes_zero else "")


def _ref_cell(rec: pd.DataFrame, run_name: str, metric: str, dataset: str) -> str:
    """TG-DFER on the row's own (fold, seed) runs: the absolute mean its Δ is paired against."""
    own = _runs(rec, run_name, metric, dataset)[["fold", "seed"]]
    return _pct(stats.clustered(_runs(rec, REF, metric, dataset).merge(own, on=["fold", "seed"])))


def _n_folds(rec: pd.DataFrame, run_name: str, dataset: str) -> tuple[int, int]:
    """(folds, seeds) of a run's UAR records."""
    r = _runs(rec, run_name, "uar", dataset)
    return r.fold.nunique(), r.seed.nunique()


def _folds_note(dataset: str, folds: int, seeds: int = 1) -> str:
    name = DATASET_NAMES.get(dataset, dataset)
    runs = f" x {seeds} seeds" if seeds > 1 else ""
    if dataset == "ferv39k":
        return name + (f", {seeds} seeds" if seeds > 1 else "")
    return (f"{name}, {folds} fold{'s' if folds != 1 else ''}" + (" (of 5)" if dataset in ("dfew", "synth") and folds < 5 else "")
            + runs)


def markdown_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def chance(rec: pd.DataFrame, confusion: pd.DataFrame, dataset: str) -> tuple[str, str]:
    """Chance levels: UAR 1/C; WAR the majority-class share of the test split (always predicting the
    most frequent class), from TG-DFER's confusion counts, mean over folds; for WAR under DFEW's class frequencies
    (balanced test splits), DFEW's largest class share."""
    if len(rec) and stats.war_key(rec, dataset) == "war_dfew":
        n_classes = len(dfew_frequencies())
        return f"{100 / n_classes:.1f}", f"{100 * max(dfew_frequencies().values()):.1f}"
    conf = confusion[(confusion.dataset == dataset) & (confusion.run_name == REF)] if len(confusion) else confusion
    if len(conf):
        n_classes = conf["true"].nunique()
        per_run = conf.groupby(["fold", "seed", "true"])["count"].sum().groupby(["fold", "seed"])
        war = (per_run.max() / per_run.sum()).rename("value").reset_index()
        return f"{100 / n_classes:.1f}", _pct(stats.clustered(war)).split(" [")[0]
    n_classes = rec[(rec.dataset == dataset) & rec.metric.str.startswith("recall_")].metric.nunique()
    return (f"{100 / n_classes:.1f}" if n_classes else "-"), "-"


def _published_rows(published: pd.DataFrame) -> list[dict]:
    return [{"method": f"{r.method} ({r.venue})", "backbone / paradigm": r.paradigm, "dataset": r.dataset,
             "UAR reported": f"{r.uar:.2f}", "WAR reported": f"{r.war:.2f}", "UAR reproduced": "-", "WAR reproduced": "-",
             "Δ UAR to TG-DFER": "-", "Δ WAR to TG-DFER": "-", "source": r.source,
             "_ds": PUBLISHED_NAMES.get(r.dataset, r.dataset.lower())} for r in published.itertuples()]


def _reproduced_rows(rec: pd.DataFrame, confusion: pd.DataFrame, ds: str) -> list[dict]:
    rows = []
    for run_name, label in [(REF, "TG-DFER (this implementation)")] + list(BASELINES.items()):
        folds, seeds = _n_folds(rec, run_name, ds)
        if run_name != REF and not folds:
            continue
        configs = sorted(set(rec[(rec.run_name == run_name) & (rec.dataset == ds)].config))
        rows.append({"method": label, "backbone / paradigm": ", ".join(configs) or "-",
                     "dataset": _folds_note(ds, folds, seeds) if folds else DATASET_NAMES.get(ds, ds),
                     "UAR reported": "-", "WAR reported": "-",
                     "UAR reproduced": _cell(rec, run_name, "uar", ds),
                     "WAR reproduced": _cell(rec, run_name, stats.war_key(rec, ds), ds),
                     "Δ UAR to TG-DFER": _delta(rec, run_name, "uar", ds) if folds else "-",
                     "Δ WAR to TG-DFER": _delta(rec, run_name, stats.war_key(rec, ds), ds) if folds else "-",
                     "source": "TG-DFER's tables are not available to this project" if run_name == REF and ds in ("dfew", "ferv39k")
                     else ("records.csv" if folds else "-"), "_ds": ds})
    if _n_folds(rec, REF, ds)[0]:
        uar, war = chance(rec, confusion, ds)
        rows.append({**{k: "-" for k in rows[0]}, "method": "chance (UAR: 1/C; WAR: majority-class share)",
                     "dataset": DATASET_NAMES.get(ds, ds), "UAR reproduced": uar, "WAR reproduced": war,
                     "source": "class counts of the test splits", "_ds": ds})
    return rows


def main_table(rec: pd.DataFrame, published: pd.DataFrame, confusion: pd.DataFrame | None = None) -> pd.DataFrame:
    """Published rows (reported) beside this project's reproductions; the dataset named on every row."""
    confusion = pd.DataFrame() if confusion is None else confusion
    rows = _published_rows(published)
    datasets = ["dfew", "ferv39k"] + sorted(set(rec.dataset) - {"dfew", "ferv39k"})
    for ds in datasets:
        rows += _reproduced_rows(rec, confusion, ds)
    df = pd.DataFrame(rows)
    order = {d: i for i, d in enumerate(datasets)}
    df["_o"] = df["_ds"].map(order).fillna(99)
    return df.sort_values("_o", kind="stable").drop(columns=["_o", "_ds"]).reset_index(drop=True)


def _setting(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def variant_rows(rec: pd.DataFrame, variants: dict, dataset: str | None = None) -> tuple[str | None, list[tuple[str, str, str]]]:
    """A dataset (given, else the one with most ablation runs) and its rows (axis, setting, run name):
    each axis's values with TG-DFER in its place, then the baselines; only runs that have records."""
    abl = [r for r in set(rec.run_name) if r.startswith("tgdfer+")]
    if dataset is None and not abl:
        return None, []
    ds = dataset or rec[rec.run_name.isin(abl)].dataset.mode().iloc[0]
    ref = rec[(rec.dataset == ds) & (rec.run_name == REF)]
    config = ref.config.mode().iloc[0] if "config" in ref and len(ref) else "tgdfer-tiny"     # the records' own config
    config = config if config in list_configs() else "tgdfer-tiny"       # records of a config file outside the package
    default, have, rows = load_config(config).model, set(rec[rec.dataset == ds].run_name), []
    for axis, spec in variants["ablations"].items():
        key = spec["key"].split(".")[-1]
        axis_rows = []
        for value in spec["values"]:
            is_default = getattr(default, key) == value
            name = REF if is_default else f"tgdfer+{key}={_setting(value)}"
            if name in have:
                axis_rows.append((axis, _setting(value) + (" (TG-DFER)" if is_default else ""), name))
        rows += axis_rows if any(n != REF for _, _, n in axis_rows) else []     # an axis with no ablation run: no rows
    rows += [("baseline", label, name) for name, label in BASELINES.items() if name in have]
    return ds, rows


def _evidence(rec: pd.DataFrame, run_name: str, ds: str) -> str:
    """'yes' / 'no' (its prediction and loss do not use per-frame class scores) / '?' (not recorded)."""
    if run_name in FLOOR_NAMES:
        return "floor"
    v = _runs(rec, run_name, "frame_evidence", ds).value
    return "?" if v.empty else ("yes" if (v > 0).all() else "no")


def _frame_cell(rec, run_name, metric, ds, delta=False) -> str:
    if _evidence(rec, run_name, ds) == "no":
        return "-"                              # no per-frame class evidence: its frame numbers measure nothing
    if delta:
        return _delta(rec, run_name, metric, ds)
    return _cell(rec, run_name, metric, ds)


def ablation_table(rec: pd.DataFrame, variants: dict, confusion: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """Ablations along the paper's axes plus the baselines and the floors, with paired differences."""
    ds, spec = variant_rows(rec, variants)
    if ds is None:
        return pd.DataFrame(), ""
    rows, auc = [], "frame_auc_score"
    for axis, setting, name in spec:
        folds, seeds = _n_folds(rec, name, ds)
        rows.append({"axis": axis, "setting": setting, "run": name, "folds x seeds": f"{folds} x {seeds}",
                     "UAR": _cell(rec, name, "uar", ds), "TG-DFER UAR, same runs": _ref_cell(rec, name, "uar", ds),
                     "Δ UAR": _delta(rec, name, "uar", ds),
                     "WAR": _cell(rec, name, stats.war_key(rec, ds), ds),
                     "TG-DFER WAR, same runs": _ref_cell(rec, name, stats.war_key(rec, ds), ds),
                     "Δ WAR": _delta(rec, name, stats.war_key(rec, ds), ds),
                     "frame AUC": _frame_cell(rec, name, auc, ds),
                     "TG-DFER frame AUC, same runs": "-" if _frame_cell(rec, name, auc, ds) == "-" else _ref_cell(rec, name, auc, ds),
                     "Δ frame AUC": _frame_cell(rec, name, auc, ds, True)})
    uar, war = chance(rec, pd.DataFrame() if confusion is None else confusion, ds)
    rows.append({**{k: "-" for k in rows[0]}, "axis": "floor", "setting": "chance (UAR: 1/C; WAR: majority-class share)",
                 "UAR": uar, "WAR": war})
    for name, label in FLOOR_NAMES.items():
        rows.append({**{k: "-" for k in rows[0]}, "axis": "floor", "setting": label, "run": name,
                     "frame AUC": _cell(rec, name, auc, ds), "TG-DFER frame AUC, same runs": _ref_cell(rec, name, auc, ds),
                     "Δ frame AUC": _delta(rec, name, auc, ds)})
    folds, seeds = _n_folds(rec, REF, ds)
    note = (f"{_folds_note(ds, folds, seeds)} for TG-DFER, last epoch; each row's own runs in its 'folds x seeds' "
            "column; 'TG-DFER ..., same runs' is TG-DFER's mean over exactly those folds and seeds, and each Δ pairs the "
            "row's runs with TG-DFER's runs of the same fold and seed")
    return pd.DataFrame(rows), note


def localisation_table(rec: pd.DataFrame, variants: dict, dataset: str, definition: str) -> pd.DataFrame:
    """Frame evidence (`definition`) of every variant against the expressive frames, with the floors."""
    _, spec = variant_rows(rec, variants, dataset)
    seen, rows = set(), []
    entries = [("TG-DFER", REF)] + [(f"{a}: {s}" if a != "baseline" else s, n) for a, s, n in spec if n != REF]
    entries += [(label, name) for name, label in FLOOR_NAMES.items()]
    for label, name in entries:
        if name in seen or (name not in FLOOR_NAMES and _runs(rec, name, "uar", dataset).empty):
            continue                            # floors stay as rows ("-" until collect has scored them)
        seen.add(name)
        m = {k: f"frame_{k}_{definition}" for k in ("auc", "auc_below_half", "pointing", f"top{K}")}
        rows.append({"variant": label, "run": name, "per-frame class evidence": _evidence(rec, name, dataset),
                     "AUC": _frame_cell(rec, name, m["auc"], dataset), "Δ AUC": _frame_cell(rec, name, m["auc"], dataset, True),
                     "TG-DFER AUC, same runs": "-" if _frame_cell(rec, name, m["auc"], dataset) == "-"
                     else _ref_cell(rec, name, m["auc"], dataset),
                     "clips with AUC < 0.5": _frame_cell(rec, name, m["auc_below_half"], dataset),
                     "pointing (top-1 hit)": _frame_cell(rec, name, m["pointing"], dataset),
                     "Δ pointing": _frame_cell(rec, name, m["pointing"], dataset, True),
                     f"top-{K} precision": _frame_cell(rec, name, m[f"top{K}"], dataset),
                     f"Δ top-{K}": _frame_cell(rec, name, m[f"top{K}"], dataset, True),
                     f"top-{K} chance": _frame_cell(rec, name, f"frame_top{K}_chance", dataset)})
    return pd.DataFrame(rows)


def per_class_table(rec: pd.DataFrame, class_names: list[str], confusion: pd.DataFrame | None = None) -> pd.DataFrame:
    rows = []
    for ds in sorted(set(rec.dataset)):
        folds, seeds = _n_folds(rec, REF, ds)
        if not folds:
            continue
        r = {"dataset": _folds_note(ds, folds, seeds), "row": "TG-DFER"}
        r.update({c: _cell(rec, REF, f"recall_{c}", ds) for c in class_names})
        r["UAR"], r["WAR"] = _cell(rec, REF, "uar", ds), _cell(rec, REF, stats.war_key(rec, ds), ds)
        uar, war = chance(rec, pd.DataFrame() if confusion is None else confusion, ds)
        rows += [r, {"dataset": DATASET_NAMES.get(ds, ds), "row": "chance (1/C; WAR: majority-class share)",
                     **{c: uar for c in class_names}, "UAR": uar, "WAR": war}]
    return pd.DataFrame(rows)


def use_design_of(results: str | Path) -> None:
    """Set the intervals' design (`stats.use_design`) from the records' `design.json`: independent folds or not."""
    design = Path(results) / "design.json"
    stats.use_design(design.is_file() and json.loads(design.read_text()).get("independent_folds", False))


def published() -> pd.DataFrame:
    """The published numbers the main table shows beside the reproduced ones, each with its source (package data)."""
    with resources.as_file(resources.files("tgdfer.assets").joinpath("published.csv")) as path:
        return pd.read_csv(path)


def load_records(results: str | Path) -> dict:
    """The records and what goes with them; sets the intervals' design from `design.json` (see `stats.use_design`)."""
    results = Path(results)
    out = {"records": pd.read_csv(results / "records.csv"), "published": published()}
    use_design_of(results)
    for name in ("confusion", "history", "frame_clips"):
        p = results / f"{name}.csv"
        out[name] = pd.read_csv(p, dtype={"clip_id": str}) if p.is_file() else pd.DataFrame()
    ex = results / "examples.npz"
    out["examples"] = dict(np.load(ex, allow_pickle=False)) if ex.is_file() else {}
    return out


CHANCE = ("Chance: UAR 1/C (a uniform guess recalls 1/C of every class); WAR the majority-class share of the test "
          "split (what always predicting the most frequent class scores).")
WAR_DFEW = ("The generated benchmark's test splits are balanced, so WAR equals UAR there: its WAR columns show WAR "
            "under DFEW's class frequencies instead (the sum over classes of DFEW's class share times the class's "
            "recall, comparable with WAR on DFEW; its chance: DFEW's largest class share).")


def _chance_note(rec: pd.DataFrame) -> str:
    return CHANCE + (" " + WAR_DFEW if stats.war_key(rec, "synth") == "war_dfew" else "")
FRAME_DEFINITION = (
    "Frame evidence, one definition for every variant, at a test clip's sampled frames (segment centres): "
    "`score` = S[:, y], the labelled class's per-frame class score (S = cos(Z, E')/tau, `instance_scores`); "
    "`contrastive` = S[:, y] minus the mean of S[:, c] over the other classes. "
    "AUC: ROC-AUC of a clip's frame evidence against its ground-truth expressive frames (clips whose sampled frames "
    "are all or none expressive left out), averaged over clips; clips with AUC < 0.5: their share; "
    f"pointing: the top-1 frame is expressive; top-{K} precision: the share of expressive frames among the {K} "
    "highest, beside its chance (the share of expressive sampled frames); ties count at their expected value. "
    "'-' in a variant's row: neither its clip prediction nor its loss uses per-frame class scores "
    "(`model.mil_lambda` = 0 and `loss.w_inst` = 0), so its frame numbers measure nothing. "
    "Floors, on the same test clips: a position prior (frame position t scored by how often the segment-centre "
    "frame t is expressive over the fold's training clips) and random scores (seeded by fold and seed); "
    "they have no class scores, so one ranking serves both definitions.")


def _localisation_md(rec: pd.DataFrame, variants: dict) -> str | None:
    """The localisation tables (one per definition) for the dataset with frame-level ground truth."""
    frame = rec[rec.metric.str.startswith(("frame_auc", "loc_auc"))]
    if frame.empty:
        return None
    ds = frame.dataset.mode().iloc[0]
    folds, seeds = _n_folds(rec, REF, ds)
    text = (f"Frame localisation ({_folds_note(ds, folds, seeds)}, last epoch); in %. {FRAME_DEFINITION} "
            f"{stats.method()}. {stats.PAIRED}. 'TG-DFER AUC, same runs': TG-DFER's mean over exactly the row's own "
            "folds and seeds (rows on one seed a fold are paired with TG-DFER's seed-0 runs).\n")
    if not rec.metric.str.startswith("frame_").any():
        text += ("\nThese records hold no frame-evidence scores (written before `collect` computed them): "
                 "run `python -m tgdfer collect` on the run folders, then `python -m tgdfer tables`.\n")
    for d in DEFINITIONS:
        text += f"\n### Frame evidence: {d}\n\n" + markdown_table(localisation_table(rec, variants, ds, d))
    return text


def write_tables(results: str | Path, out: str | Path) -> dict[str, Path]:
    """The markdown tables under `out` from the records in `results` (`collect`'s folder)."""
    r = load_records(results)
    rec, conf, out = r["records"], r["confusion"], Path(out)
    main = main_table(rec, r["published"], conf)
    files = {"main": atomic_write_text(out / "main_results.md", (
        f"Reproduced rows: last epoch, UAR and WAR in %; {stats.method()}. {stats.PAIRED}. {_chance_note(rec)}\n\n" + markdown_table(main)))}
    abl, note = ablation_table(rec, load_variants(), conf)
    if len(abl):
        files["ablations"] = atomic_write_text(out / "ablations.md", (
            f"Ablations ({note}); UAR, WAR and frame AUC in %; {stats.method()}. {stats.PAIRED}. {_chance_note(rec)} "
            "Frame AUC: the `score` definition of `localisation.md` (ROC-AUC of the labelled class's per-frame score "
            "against the expressive frames); '-' where a variant has no per-frame class evidence.\n\n" + markdown_table(abl)))
    loc = _localisation_md(rec, load_variants())
    if loc is not None:
        files["localisation"] = atomic_write_text(out / "localisation.md", loc)
    pc = per_class_table(rec, class_names("dfew"), conf)
    files["per_class"] = atomic_write_text(out / "per_class.md", (
        f"TG-DFER per-class recall, UAR and WAR (last epoch, in %); {stats.method()}. {_chance_note(rec)} "
        "Frame localisation: `localisation.md`.\n\n" + markdown_table(pc)))
    return files
