"""The paper's tables and figures and the README's generated blocks, regenerated from records only (showyourwork
style): `build_paper` runs `tables.py`, `paper_figures.py` and `readme.py` in turn.

In: `results/` (from `collect`). Out: `paper/tables/*.md`, `paper/figures/*.png`, and the README's results and claims
blocks. Nothing under `paper/` is written by hand.
"""
from __future__ import annotations

from pathlib import Path

from ..paths import repo_root
from .paper_figures import write_crop_figure, write_figures
from .readme import CLAIMS_END, CLAIMS_START, README_END, README_START, readme_block, update_readme
from .replication import SETS, update_readme_block, write_replication_tables
from .tables import claims_table, main_table, write_tables


def build_paper(results: str | Path, paper: str | Path, readme: str | Path | None = None) -> dict:
    files = write_tables(results, Path(paper) / "tables")
    files.update(write_figures(results, Path(paper) / "figures"))
    files["face_crops"] = write_crop_figure(Path(paper) / "figures")
    if readme is not None:
        update_readme(readme, Path(paper) / "tables")
    for which in SETS:                      # the sealed draws with their own designs, where they have been run
        plan = repo_root() / which.plan_file
        if (Path(results) / which.draw / "records.csv").is_file() and plan.is_file():
            files.update(write_replication_tables(Path(results) / which.draw, Path(paper) / "tables", plan, which))
            if readme is not None:
                update_readme_block(readme, Path(paper) / "tables", which)
    return files


__all__ = ["build_paper", "write_tables", "write_figures", "write_crop_figure", "update_readme", "readme_block", "main_table",
           "claims_table", "README_START", "README_END", "CLAIMS_START", "CLAIMS_END"]
