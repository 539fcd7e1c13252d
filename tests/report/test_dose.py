"""The dose of meaning: the table and figure from records, and the committed sealed tables from their records."""
import shutil

import numpy as np
import pandas as pd
import pytest

from tgdfer.paths import repo_root
from tgdfer.report import stats
from tgdfer_study.meaning import agreement, dose_specs
from tgdfer_study.report.across import held_by_claim, write_across
from tgdfer_study.report.dose import NO_TEXT, dose_table, run_of, slope, write_dose
from tgdfer_study.report.replication import SETS, write_replication_tables


def _records(frame_gain_per_agreement: float, folds: int = 5, seeds: int = 2) -> pd.DataFrame:
    """No text at 0.55 frame AUC and 0.48 UAR plus a (fold, seed) wobble; each description set's frame AUC above it by
    `frame_gain_per_agreement` x its agreement, its UAR 1 point above, on the same (fold, seed)."""
    rng = np.random.default_rng(0)
    base = rng.normal(0, 0.02, (folds, seeds))
    runs = {NO_TEXT: None} | {run_of(s): s for s in dose_specs(4).values()}
    rows = []
    for run, spec in runs.items():
        a = 0.0 if spec is None else agreement(spec)["mean"]
        for f in range(folds):
            for s in range(seeds):
                for m, v in (("frame_auc_contrastive", 0.55 + frame_gain_per_agreement * a),
                             ("uar", 0.48 + (0 if spec is None else 0.01))):
                    rows.append(dict(dataset="synth", run_name=run, fold=f + 1, seed=s, which="last", metric=m,
                                     value=v + base[f, s]))
    return pd.DataFrame(rows)


def test_the_gains_and_the_slope_are_the_planted_ones():
    stats.use_design(True)
    rec = _records(0.30)
    e = slope(rec, "frame_auc_contrastive")
    assert 100 * e.mean == pytest.approx(30.0, abs=1e-6) and e.hi - e.lo < 1e-6    # the wobble cancels in pairs
    assert 100 * slope(rec, "uar").mean == pytest.approx(0.0, abs=1e-6)
    t = dose_table(rec).set_index("descriptions")
    assert t.loc["dose: all", "frame AUC (contrastive) gain over no text"].startswith("+30.0")
    assert t.loc["dose: none", "frame AUC (contrastive) gain over no text"].startswith("+0.0")
    assert t.loc["dose: half", "agreement"] == "0.53" and t.loc["no text", "agreement"] == "-"
    assert t.loc["deranged 3", "UAR gain over no text"].startswith("+1.0")
    flat = dose_table(_records(0.0)).set_index("descriptions")            # no meaning: no slope
    assert flat.iloc[-2]["frame AUC (contrastive) gain over no text"].startswith("+0.0")


def test_a_draw_without_the_dose_study_gets_no_dose_table(tmp_path):
    rec = _records(0.3)
    rec[rec.run_name.isin([NO_TEXT, "tgdfer"])].to_csv(tmp_path / "records.csv", index=False)
    assert write_dose(tmp_path, tmp_path / "t", tmp_path / "f", "replication") == {}
    rec.to_csv(tmp_path / "records.csv", index=False)
    files = write_dose(tmp_path, tmp_path / "t", tmp_path / "f", "meaning")
    assert files["meaning_dose"].is_file() and files["meaning_dose_figure"].stat().st_size > 10_000


def test_committed_sealed_tables_are_what_their_records_give(tmp_path):
    results = repo_root() / "results"
    held = held_by_claim(results)
    committed = repo_root() / "paper" / "tables"
    for which in SETS:
        src = results / which.draw
        assert (src / "records.csv").is_file(), f"the {which.draw} draw's records are missing"
        dst = tmp_path / which.draw
        dst.mkdir()
        for f in ("records.csv", "design.json"):
            shutil.copyfile(src / f, dst / f)
        files = write_replication_tables(dst, tmp_path / "tables", repo_root() / which.plan_file, which, held)
        files.update(write_dose(dst, tmp_path / "tables", tmp_path / "figures", which.draw))
        assert (f"{which.draw}_dose" in files) == (which.draw == "meaning")
        for name, f in files.items():
            if f.suffix == ".md":
                assert f.read_text() == (committed / f.name).read_text(), f"{f.name} is stale: run paper"
    for f in write_across(results, tmp_path / "tables").values():
        assert f.read_text() == (committed / f.name).read_text(), f"{f.name} is stale: run paper"


def test_the_permuted_control_is_scored_on_the_sentences_it_reads():
    from tgdfer_study.meaning import named_units, rendered_units

    own, permuted = named_units("facs"), named_units("facs-permuted")
    assert permuted["happiness"] == own["sadness"] and permuted["sadness"] == own["neutral"]   # the file's order
    assert permuted["fear"] != own["fear"] and all(u in (12, 14, 53, 64) for s in permuted["fear"] for u in s)
    a = agreement("facs-permuted")
    units = [u for s in own["sadness"] for u in s]
    assert a["per_class"]["happiness"] == sum(u in rendered_units()["happiness"] for u in units) / len(units)
    assert a["mean"] < agreement("facs")["mean"] - 0.5
