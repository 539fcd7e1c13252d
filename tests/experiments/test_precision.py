"""The precision draws: a sealed draw of four parts (each a whole benchmark of 5 independent folds), their runs and
records pooled as 20 folds, decided by their own plan."""
import json

import numpy as np
import pandas as pd
import pytest

from tgdfer_study import demo
from tgdfer_study.protocol import load_protocol
from tgdfer.paths import repo_root
from tgdfer_study.report import parts as parts_mod
from tgdfer_study.report.plan import load_plan
from tgdfer_study.report.replication import PRECISION, write_replication_tables


def test_precision_draw_is_sealed_with_four_new_parts_and_a_paired_design():
    p = load_protocol()
    d = p.draws["precision"]
    assert d.sealed and d.analysis_plan == PRECISION.plan_file and (repo_root() / PRECISION.plan_file).is_file()
    assert len(d.parts) == 4 and d.generator_seeds == d.parts and d.seed == d.parts[0]
    others = {s for k, v in p.draws.items() if k != "precision" for s in v.generator_seeds}
    assert not set(d.parts) & others                                   # other identities and clips than every draw
    runs = d.planned_runs(p.folds)
    assert len(runs) == 80 and runs[0].variant == "tgdfer" and not runs[0].overrides
    ref = {(r.fold, r.seed) for r in runs if r.variant == "tgdfer" and not r.overrides}
    assert ref == {(f, s) for f in p.folds for s in range(8)} and all((r.fold, r.seed) in ref for r in runs)
    plan = load_plan(repo_root() / PRECISION.plan_file)
    made = {"tgdfer", "tgdfer+descriptions=facs-permuted", "position-prior", "change-detector", "random-scores"}
    assert {x for _, k in plan.primary for x in (k.run, k.reference)} <= made
    with pytest.raises(ValueError, match="not a part"):
        p.generate_config("precision", seed=1)
    assert p.generate_config("precision", seed=23).seed == 23


@pytest.mark.parametrize("entry, match", [
    ({"parts": [5, 6], "sealed": True}, "needs its own design"),
    ({"parts": [5, 5], "runs": [{"variant": "tgdfer", "seeds": 1}]}, "repeat"),
    ({"seed": 6, "parts": [5, 6], "runs": [{"variant": "tgdfer", "seeds": 1}]}, "first part"),
    ({"sealed": True}, "needs a generator 'seed'"),
])
def test_a_malformed_draw_of_parts_is_refused_with_its_name(tmp_path, entry, match):
    raw = json.loads((repo_root() / "study" / "tgdfer_study" / "protocol.json").read_text())
    raw["draws"]["bad"] = entry
    f = tmp_path / "protocol.json"
    f.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=f"'bad'.*{match}"):
        load_protocol(f)


def _fake_collect(tables: dict, independent: bool = True):
    """A stand-in for `collect`: writes the given part's tables (keyed by runs folder) as collect would."""
    def collect(runs, out):
        out.mkdir(parents=True)
        files = {}
        for name, t in tables[str(runs)].items():
            if name == "examples":
                (out / "examples.npz").write_bytes(t)
                continue
            t.to_csv(out / f"{name}.csv", index=False)
            files[name] = out / f"{name}.csv"
        if independent:
            (out / "design.json").write_text('{"independent_folds": true}')
            files["design"] = out / "design.json"
        return files
    return collect


def _part(value, sha="0123456", examples=b""):
    rec = pd.DataFrame([dict(dataset="synth", fold=f, run_name=r, variant="tgdfer", config="c", seed=s, git_sha=sha,
                             which="last", metric="uar", value=value + f / 100)
                        for r in ("tgdfer", "mil-only") for f in range(1, 6) for s in (1, 0)])
    clips = pd.DataFrame([dict(dataset="synth", fold=f, run_name="tgdfer", seed=0, clip_id="00012", auc_score=0.5)
                          for f in range(1, 6)])
    conf = pd.DataFrame([dict(dataset="synth", fold=f, run_name="tgdfer", seed=0, true="fear", pred="fear", count=3)
                         for f in (2, 4)])
    hist = pd.DataFrame([dict(dataset="synth", fold=f, run_name="tgdfer", seed=0, epoch=1, metric="step", value=5)
                         for f in range(1, 6)])
    t = {"records": rec, "frame_clips": clips, "confusion": conf, "history": hist}
    return {**t, "examples": examples} if examples else t


def test_merge_parts_renumbers_each_parts_folds_and_says_where_each_fold_came_from(tmp_path, monkeypatch):
    tables = {str(tmp_path / "a"): _part(0.5, examples=b"first"), str(tmp_path / "b"): _part(0.7, examples=b"second")}
    monkeypatch.setattr(parts_mod, "collect", _fake_collect(tables))
    files = parts_mod.merge_parts([(21, tmp_path / "a"), (22, tmp_path / "b")], tmp_path / "out")
    rec = pd.read_csv(files["records"], dtype={"git_sha": str})
    assert sorted(rec.fold.unique()) == list(range(1, 11))
    assert rec[rec.fold == 7].value.round(6).unique().tolist() == [0.72]          # part 1's fold 2
    assert rec.git_sha.unique().tolist() == ["0123456"]                           # a sha of digits stays text
    assert rec[["run_name", "fold", "seed"]].values.tolist()[:3] == [["mil-only", 1, 0], ["mil-only", 1, 1],
                                                                    ["mil-only", 2, 0]]   # sorted, seed 0 first
    clips = pd.read_csv(files["frame_clips"], dtype={"clip_id": str})
    assert sorted(clips.fold) == list(range(1, 11)) and set(clips.clip_id) == {"00012"}
    assert sorted(pd.read_csv(files["confusion"]).fold) == [2, 4, 7, 9]
    assert sorted(pd.read_csv(files["history"]).fold) == list(range(1, 11))
    index = json.loads(files["parts"].read_text())["folds"]
    assert index[6] == {"fold": 7, "generator_seed": 22, "fold_in_part": 2} and len(index) == 10
    assert json.loads(files["design"].read_text())["independent_folds"] is True
    assert files["examples"].read_bytes() == b"first"                             # the first part's
    before = {f: (tmp_path / "out" / f).read_bytes() for f in ("records.csv", "frame_clips.csv")}
    # pooled again from parts that are not independent draws and have no frame scores: no stale file stays
    tables = {k: {n: t for n, t in v.items() if n in ("records",)} for k, v in tables.items()}
    monkeypatch.setattr(parts_mod, "collect", _fake_collect(tables, independent=False))
    files = parts_mod.merge_parts([(21, tmp_path / "a"), (22, tmp_path / "b")], tmp_path / "out")
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert left == ["parts.json", "records.csv"] and set(files) == {"records", "parts"}
    assert (tmp_path / "out" / "records.csv").read_bytes() == before["records.csv"]   # the same records, same bytes


def test_merge_parts_refuses_a_part_with_more_folds_than_a_part_has(tmp_path, monkeypatch):
    rec = pd.DataFrame([dict(dataset="synth", fold=6, run_name="tgdfer", seed=0, which="last", metric="uar", value=0.5)])
    monkeypatch.setattr(parts_mod, "collect", _fake_collect({str(tmp_path / "a"): {"records": rec}}))
    with pytest.raises(ValueError, match="generator seed 21.*folds 1-5"):
        parts_mod.merge_parts([(21, tmp_path / "a")], tmp_path / "out")
    assert not (tmp_path / "out" / "records.csv").exists()


def test_run_parts_renders_caches_and_runs_every_part_in_its_own_folder(tmp_path, monkeypatch):
    seen = {"benchmark": [], "cache": [], "runs": []}
    p = load_protocol()
    own = p.draws["precision"]
    monkeypatch.setattr(type(demo.PROTOCOL), "benchmark",
                        lambda self, draw, workers=None, seed=None: seen["benchmark"].append(seed) or ("dfew", tmp_path / f"d{seed}"))
    monkeypatch.setattr(demo, "warm_cache", lambda layout, root, config, cache, **k: seen["cache"].append(cache))
    monkeypatch.setattr(demo, "run_pool", lambda specs, workers, say, t0: seen["runs"].append(specs) or [])
    merged = {}
    monkeypatch.setattr(demo, "merge_parts", lambda parts, out, folds_a_part=5: merged.update(parts=parts, out=out))
    monkeypatch.setattr(demo, "write_replication_tables", lambda *a, **k: {})
    out = demo.run_parts(own, p.folds, demo.Where(tmp_path, tmp_path / "runs", committed=False, workers=1,
                                                  say=lambda *a: None))
    assert seen["benchmark"] == list(own.parts)
    assert seen["cache"] == [tmp_path / "runs" / f"seed{s}" / "synth" / "cache" for s in own.parts]
    assert [len(s) for s in seen["runs"]] == [80] * 4
    assert {sp.root for sp in seen["runs"][2]} == {str(tmp_path / f"d{own.parts[2]}")}
    assert {sp.runs_dir for sp in seen["runs"][2]} == {str(tmp_path / "runs" / f"seed{own.parts[2]}")}
    assert merged["parts"] == [(s, tmp_path / "runs" / f"seed{s}") for s in own.parts]
    assert merged["out"] == tmp_path / "results" / "precision" == out["results"]


def test_precision_tables_name_their_set_and_its_20_folds(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for f in range(1, 21):
        for s in range(8):
            base = 0.6 + rng.normal(0, 0.01)
            for name, d in (("tgdfer", 0.0), ("tgdfer+descriptions=facs-permuted", -0.05)):
                for m in ("uar", "frame_auc_contrastive"):          # UAR: a small effect, so its p is printed
                    rows.append(dict(dataset="synth", run_name=name, fold=f, seed=s, which="last", metric=m,
                                     value=base + (d / 40 if m == "uar" else d) + rng.normal(0, 0.005)))
    res = tmp_path / "results"
    res.mkdir()
    pd.DataFrame(rows).to_csv(res / "records.csv", index=False)
    (res / "design.json").write_text(json.dumps({"independent_folds": True}))
    files = write_replication_tables(res, tmp_path / "tables", repo_root() / PRECISION.plan_file, PRECISION)
    assert set(files) == {"precision_scores", "precision_claims", "precision_precision", "precision_plan"}
    claims = files["precision_claims"].read_text()
    assert "over the 20 independent fold means" in claims and "analysis_plan_precision.json" in claims
    assert "before the precision draw was run" in claims and "| **supports** |" in claims
    rec = pd.DataFrame(rows)
    wide = rec[rec.metric == "uar"].pivot_table(index=["fold", "seed"], columns="run_name", values="value")
    folds = (wide["tgdfer+descriptions=facs-permuted"] - wide["tgdfer"]).groupby("fold").mean()
    from scipy import stats as st
    p = st.ttest_1samp(folds, 0).pvalue           # the larger of the 2 p-values: Holm's second step leaves it as is
    assert 1e-3 < p < 0.5 and f"| {p:.3g} |" in claims          # paired t over the 20 fold means, 19 df
    scores = files["precision_scores"].read_text()
    assert "| descriptions permuted across classes | 160 |" in scores and "no text" not in scores
    prec = files["precision_precision"].read_text()
    assert "precision draws'" in prec and "| 160 |" in prec and "2.83 (3.17)" in prec
