"""The paper's tables and figures and the README's one generated block, regenerated from records only (showyourwork
style): the tables of the runs (`tgdfer.report.tables`), then the study's own (claims under the committed analysis
plan, the plan itself, the training-size curve), the figures, the sealed draws' tables, and the README's main table.

In: `results/` (from `collect`). Out: `paper/tables/*.md`, `paper/figures/*.png`, the README's results block.
Nothing under `paper/` is written by hand.
"""
from __future__ import annotations

from pathlib import Path

from tgdfer.io import atomic_write_text
from tgdfer.paths import repo_root
from tgdfer.report import stats
from tgdfer.report.tables import markdown_table, load_records
from tgdfer.report.tables import write_tables as write_run_tables

from .across import held_by_claim, write_across
from .claims import claims_table, rule as claims_rule
from .dose import write_dose
from .paper_figures import write_crop_figure, write_figures
from .plan import load_plan, plan_markdown
from .readme import README_END, README_START, readme_block, update_readme
from .replication import SETS, write_replication_tables
from .training_size import curve_table


def write_tables(results: str | Path, out: str | Path, held: dict[str, str] | None = None) -> dict[str, Path]:
    """The tables of the records in `results` (main, ablations, per class, localisation), then the study's: the claims
    decided by the committed analysis plan, the plan, the training-size curve."""
    files = write_run_tables(results, out)
    rec, out = load_records(results)["records"], Path(out)
    if rec.run_name.str.startswith("tgdfer+").any():
        plan = load_plan()
        files["claims"] = atomic_write_text(out / "claims.md", claims_rule(plan) + "\n\n" + markdown_table(claims_table(rec, plan=plan, held=held)))
        files["analysis_plan"] = atomic_write_text(out / "analysis_plan.md", plan_markdown(plan))
    curve = curve_table(rec)
    if len(curve):
        files["training_size"] = atomic_write_text(out / "training_size.md", (
            "Training-size curve (secondary in the analysis plan: no vote): UAR in % when each fold's training draw is cut "
            "to a share (stratified by class; the same clips for every variant and seed of a fold), last epoch; "
            f"{stats.method()}; TG-DFER minus a control paired by fold and seed, * where its unadjusted interval "
            "excludes 0. The 100% row is the primary runs of the curve's seeds.\n\n" + markdown_table(curve)))
    return files


def build_paper(results: str | Path, paper: str | Path, readme: str | Path | None = None) -> dict:
    held = held_by_claim(results)          # every sealed draw's verdicts first: each claims table says if its held
    files = write_tables(results, Path(paper) / "tables", held)
    files.update(write_figures(results, Path(paper) / "figures"))
    files["face_crops"] = write_crop_figure(Path(paper) / "figures")
    if readme is not None:
        update_readme(readme, Path(paper) / "tables")
    for which in SETS:                      # the sealed draws with their own designs, where they have been run
        plan = repo_root() / which.plan_file
        if (Path(results) / which.draw / "records.csv").is_file() and plan.is_file():
            files.update(write_replication_tables(Path(results) / which.draw, Path(paper) / "tables", plan, which, held))
            files.update(write_dose(Path(results) / which.draw, Path(paper) / "tables", Path(paper) / "figures",
                                    which.draw))
    files.update(write_across(results, Path(paper) / "tables"))
    return files


__all__ = ["build_paper", "write_tables", "write_figures", "write_crop_figure", "update_readme", "readme_block",
           "README_START", "README_END"]
