"""Records, tables and figures: regenerated tables equal the committed ones (showyourwork style)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tgdfer.report.collect import collect
from tgdfer_study.report.across import held_by_claim
from tgdfer_study.report.paper import README_END, README_START, readme_block, write_figures, write_tables
from tgdfer.engine.run import train

ROOT = Path(__file__).resolve().parents[2]


def test_committed_tables_are_what_the_records_give(tmp_path):
    files = write_tables(ROOT / "results", tmp_path, held_by_claim(ROOT / "results"))
    assert set(files) >= {"main", "ablations", "per_class", "localisation"}
    for f in files.values():
        committed = ROOT / "paper" / "tables" / f.name
        assert committed.is_file(), f"{committed} is missing: run `python -m tgdfer_study paper`"
        assert f.read_text() == committed.read_text(), f"{f.name} is stale: run `python -m tgdfer_study paper`"


def test_readme_results_block_is_the_main_table():
    text = (ROOT / "README.md").read_text()
    block = text[text.index(README_START): text.index(README_END) + len(README_END)]
    assert block == readme_block(ROOT / "paper" / "tables")


def test_main_table_names_the_dataset_and_never_calls_the_benchmark_dfew():
    table = [line for line in (ROOT / "paper" / "tables" / "main_results.md").read_text().splitlines() if line.startswith("|")]
    main = table[2:]                                                  # below the header and its rule
    for line in main:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[2], line                                         # every row names its dataset
        if "tgdfer-tiny" in line:
            assert "generated benchmark" in cells[2] and "DFEW" not in cells[2]
    tg = [line for line in main if line.startswith("| TG-DFER") and "| DFEW |" in line]
    assert tg and "| - | - | - | - |" in tg[0]                        # nothing invented for the paper's own rows


def test_collect_then_tables_and_figures_from_a_fresh_run(synth_root, tmp_path):
    runs = tmp_path / "runs"
    for variant, ov in (("tgdfer", {}), ("tgdfer", {"model.pool": "max"}), ("mil-only", {})):
        train("dfew", synth_root, 1, "tgdfer-tiny", variant, {**ov, "train.max_steps": 2, "train.workers": 0},
              runs_dir=runs, verbose=False)
    files = collect(runs, tmp_path / "results")
    rec = pd.read_csv(files["records"])
    assert list(rec.columns) == ["dataset", "fold", "run_name", "variant", "config", "seed", "git_sha", "which",
                                 "metric", "value"]
    assert set(rec.run_name) == {"tgdfer", "tgdfer+pool=max", "mil-only", "position-prior", "random-scores", "change-detector"}
    assert set(rec.dataset) == {"synth"}
    assert {"uar", "war", "loc_auc", "frame_evidence", "frame_auc_score", "frame_pointing_contrastive"} <= set(rec.metric)
    assert any(m.startswith("recall_") for m in set(rec.metric))
    assert {"position-prior", "random-scores"} <= set(pd.read_csv(files["frame_clips"]).run_name)
    ex = np.load(files["examples"])
    assert ex["synth__frames"].shape[1:] == (16, 64, 64, 3)
    tables = write_tables(tmp_path / "results", tmp_path / "tables")
    assert "max" in tables["ablations"].read_text() and "MIL only" in tables["main"].read_text()
    figs = write_figures(tmp_path / "results", tmp_path / "figures")
    assert figs["confusion"].stat().st_size > 10_000 and "relevance_synth_1" in figs and "frame_auc" in figs


def test_confusion_panels_label_rows_and_columns_with_full_class_names():
    from tgdfer.classes import class_names
    from tgdfer.report.figures import confusion_panels

    names = class_names("dfew")
    cm = np.eye(7) * 5 + 1
    fig = confusion_panels([(cm, f"fold {k}") for k in range(1, 6)], names)
    axes = fig.axes
    rows = [[t.get_text() for t in ax.get_yticklabels()] for ax in axes[:5]]
    cols = [[t.get_text() for t in ax.get_xticklabels()] for ax in axes[:5]]
    assert rows[0] == names and rows[3] == names                           # first column: full names
    assert all(not any(r) for r in (rows[1], rows[2], rows[4]))             # shared by the panels to their right
    assert cols[2] == names and cols[3] == names and cols[4] == names      # under the lowest panel of each column
    assert not any(cols[0]) and not any(cols[1])


def test_face_crop_figure_shows_a_scene_frame_and_a_real_photo():
    from tgdfer.config import CROP_SCALE
    from tgdfer.report.figures import crop_comparison, crop_examples

    examples = crop_examples()
    assert [e["truth"] is not None for e in examples] == [True, False]
    for e in examples:                                                 # the detected box lies on the frame
        H, W = e["frame"].shape[:2]
        x0, y0, x1, y1 = e["box"]
        assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H and (x1 - x0) > 0.2 * W
    fig = crop_comparison(examples[1:], [(1.4, "before"), (CROP_SCALE, "after")], size=64)
    assert len(fig.axes) == 3 and fig.axes[2].get_title() == "after"
    assert (ROOT / "paper" / "figures" / "face_crops.png").is_file()


def test_claim_verdict_needs_every_comparison():
    from tgdfer_study.report.claims import claim_verdict

    assert claim_verdict(["supports", "supports"]) == "**supports**"
    assert claim_verdict(["supports", "cannot tell"]) == "cannot tell"
    assert claim_verdict(["supports", "no effect larger than the margin"]) == "no effect larger than the margin"
    assert claim_verdict(["supports", "contradicts"]) == "**contradicts**"
    assert claim_verdict(["supports", "not run"]) == "not run" and claim_verdict([]) == "not run"


def test_readme_results_block_is_the_main_table_and_the_only_generated_block():
    from tgdfer_study.report.readme import README_END, README_START, readme_block

    text = (ROOT / "README.md").read_text()
    block = text[text.index(README_START): text.index(README_END) + len(README_END)]
    assert block == readme_block(ROOT / "paper" / "tables")
    assert text.count("<!-- ") == 3 and text.count(":start -->") == 1     # the block's markers and its note only


def test_collect_refuses_runs_of_other_settings_under_one_name(synth_root, tmp_path):
    """Two sweeps of other training settings in one runs folder: their folders differ, and collect will not average
    them as if they were seeds."""
    from tgdfer.report.collect import collect

    for steps in (1, 2):
        train("dfew", synth_root, 1, "tgdfer-tiny", "tgdfer", {"train.max_steps": steps, "train.workers": 0},
              runs_dir=tmp_path / "runs", verbose=False)
    folders = sorted(p.name for p in (tmp_path / "runs" / "synth" / "tgdfer-tiny" / "fold1").iterdir())
    assert folders == ["tgdfer+max_steps=1", "tgdfer+max_steps=2"]
    with pytest.raises(ValueError, match="two finished runs of synth tgdfer fold 1 seed 0"):
        collect(tmp_path / "runs", tmp_path / "out")
