"""Frame evidence: definitions, per-clip scores (AUC, pointing, top-k with ties), the config rule, floors;
and collect -> tables -> figure on run folders written here with planted per-frame scores."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tgdfer.classes import class_names
from tgdfer.data.ground_truth import expressive_frames
from tgdfer.data.layouts import load_split
from tgdfer.data.sampling import segment_indices
from tgdfer.report import frames as fr
from tgdfer.report.collect import collect
from tgdfer_study.report.paper import write_figures, write_tables
from tgdfer.report.tables import localisation_table
from tgdfer.config import load_variants

ROOT = Path(__file__).resolve().parents[2]


def test_auc_rows_equals_sklearn_with_ties_and_is_undefined_for_one_class():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, (50, 16)).astype(float)            # many ties
    truth = rng.random((50, 16)) < 0.4
    truth[0], truth[1] = True, False
    auc = fr.auc_rows(scores, truth)
    assert np.isnan(auc[0]) and np.isnan(auc[1])
    ref = [roc_auc_score(t, s) for s, t in zip(scores[2:], truth[2:])]
    np.testing.assert_allclose(auc[2:], ref)


def test_planted_scores_give_auc_one_and_reversed_zero():
    truth = np.zeros((1, 16), bool)
    truth[0, 5:9] = True
    peak = truth.astype(float) + 0.01 * np.arange(16)
    assert fr.auc_rows(peak, truth)[0] == 1.0 and fr.auc_rows(-peak, truth)[0] == 0.0
    c = fr.clip_scores(peak, truth)
    assert (c.auc[0], c.pointing[0], c.top4[0], c.top4_chance[0]) == (1.0, 1.0, 1.0, 0.25)


def test_top_k_counts_ties_at_their_expected_value():
    truth = np.array([[True, False, False, True, False, False, False, False]])
    flat = np.zeros((1, 8))
    assert fr.topk_rows(flat, truth, 1)[0] == pytest.approx(0.25)          # a constant ranking is chance
    assert fr.topk_rows(flat, truth, 4)[0] == pytest.approx(0.25)
    s = np.array([[5.0, 1, 1, 1, 0, 0, 0, 0]])                             # 1 sure hit, 3 slots among 3 ties (1 hit)
    assert fr.topk_rows(s, truth, 4)[0] == pytest.approx((1 + 1) / 4)
    assert fr.topk_rows(s, truth, 2)[0] == pytest.approx((1 + 1 / 3) / 2)
    assert np.isnan(fr.topk_rows(s, np.zeros((1, 8), bool), 1)[0])         # no expressive frame: undefined


def test_the_two_definitions_by_hand_and_the_log_relevance_fallback_ranks_the_same():
    S = np.array([[[3.0, 1.0, 2.0], [1.0, 4.0, 0.0]]])                     # [N=1, T=2, C=3]
    rel = {"instance_scores": S, "labels": np.array([0])}
    np.testing.assert_allclose(fr.frame_evidence(rel, "score"), [[3.0, 1.0]])
    np.testing.assert_allclose(fr.frame_evidence(rel, "contrastive"), [[3.0 - 1.5, 1.0 - 2.0]])
    with pytest.raises(ValueError, match="contrastive"):
        fr.frame_evidence(rel, "max")
    rng = np.random.default_rng(1)
    S = rng.normal(size=(20, 16, 7))
    relevance = np.exp(S / 0.2) / np.exp(S / 0.2).sum(1, keepdims=True)     # softmax over frames
    labels = rng.integers(0, 7, 20)
    truth = rng.random((20, 16)) < 0.4
    new = fr.run_clips({"clip_ids": np.arange(20), "labels": labels, "instance_scores": S}, truth)
    old = fr.run_clips({"clip_ids": np.arange(20), "labels": labels, "relevance": relevance}, truth)
    pd.testing.assert_frame_equal(new, old)


def test_frame_evidence_is_decided_by_mil_lambda_and_w_inst():
    cfg = lambda lam, w: {"config": {"model": {"mil_lambda": lam}, "loss": {"w_inst": w}}}     # noqa: E731
    assert fr.has_frame_evidence(cfg(0.5, 0.5)) and fr.has_frame_evidence(cfg(0.0, 0.5))
    assert fr.has_frame_evidence(cfg(1.0, 0.0)) and not fr.has_frame_evidence(cfg(0.0, 0.0))
    for name, spec in load_variants()["variants"].items():      # the packaged baselines without MIL have none
        lam, w = spec["set"].get("model.mil_lambda", 0.5), spec["set"].get("loss.w_inst", 0.5)
        assert fr.has_frame_evidence(cfg(lam, w)) == (name not in ("clip-meanpool", "dfer-clip-like"))


# ---------------------------------------------------------------- run folders with planted frame scores

UAR = {"tgdfer": {(1, 0): 0.6, (1, 1): 0.8, (2, 0): 0.7, (2, 1): 0.9},
       "mil-only": {(1, 0): 0.5, (1, 1): 0.7, (2, 0): 0.5, (2, 1): 0.8},
       "clip-meanpool": {(1, 0): 0.3, (1, 1): 0.3, (2, 0): 0.3, (2, 1): 0.3}}
EVIDENCE = {"tgdfer": (0.5, 0.5), "mil-only": (1.0, 0.5), "clip-meanpool": (0.0, 0.0)}


def sampled_test_truth(root, fold: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    table = load_split("dfew", root, fold, "test")
    idx = np.stack([segment_indices(len(expressive_frames(root, c)), 16) for c in table.clip_id])
    truth = np.stack([expressive_frames(root, c)[i] for c, i in zip(table.clip_id, idx)])
    return table, idx, truth


def write_run(runs: Path, root: Path, name: str, fold: int, seed: int) -> Path:
    """A finished run folder: TG-DFER's scores peak on the expressive frames, mil-only's avoid them."""
    names = class_names("dfew")
    table, idx, truth = sampled_test_truth(root, fold)
    y, n = table.label.to_numpy(), len(table)
    S = np.zeros((n, 16, 7), np.float32)
    sign = -1.0 if name == "mil-only" else 1.0
    S[np.arange(n), :, y] = sign * truth + 0.001 * np.arange(16)                  # [N, T]
    rel = np.exp(S) / np.exp(S).sum(1, keepdims=True)
    probs = np.eye(7)[y]
    d = runs / "synth" / f"fold{fold}" / name / f"seed{seed}"
    d.mkdir(parents=True)
    np.savez(d / "relevance.npz", clip_ids=table.clip_id.to_numpy(str), labels=y, relevance=rel, weights=rel,
             instance_scores=S, frame_index=idx, probs=probs,
             frame_change=truth.astype(np.float32) * (1 + np.arange(16)) / 16)   # a change detector that finds them
    lam, w = EVIDENCE[name]
    (d / "params.json").write_text(json.dumps({"dataset": "dfew", "root": str(root), "fold": fold, "media": "frames",
                                               "label_base": 1, "config": {"model": {"mil_lambda": lam}, "loss": {"w_inst": w}},
                                               "environment": {"git_sha": "0" * 40}}))
    cm = np.diag(np.bincount(y, minlength=7))
    res = {"uar": UAR[name][fold, seed], "war": UAR[name][fold, seed], "n": n, "confusion": cm.tolist(),
           "recall": {c: (1.0 if (y == i).any() else None) for i, c in enumerate(names)}}
    (d / "metrics.json").write_text(json.dumps({"dataset": "synth", "fold": fold, "run_name": name, "variant": name,
                                                "config": "tgdfer-tiny", "seed": seed, "best_epoch": 1, "last": res, "best": res}))
    pd.DataFrame({"epoch": [1], "train_loss": [1.0], "test_uar": [0.5]}).to_csv(d / "history.csv", index=False)
    pred = pd.DataFrame({"clip_id": table.clip_id, "label": y, "pred": y})
    for i, c in enumerate(names):
        pred[f"p_{c}"] = probs[:, i]
    pred.to_csv(d / "predictions.csv", index=False)
    return d


@pytest.fixture(scope="module")
def planted(synth_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("planted")
    for name in UAR:
        for fold, seed in UAR[name]:
            write_run(tmp / "runs", synth_root, name, fold, seed)
    files = collect(tmp / "runs", tmp / "results")
    return tmp, files


def test_collect_scores_planted_frames_exactly_and_skips_runs_without_frame_evidence(planted, synth_root):
    tmp, files = planted
    rec = pd.read_csv(files["records"])
    last = rec[rec.which == "last"].set_index(["run_name", "fold", "seed", "metric"]).value
    assert last["tgdfer", 1, 0, "frame_auc_score"] == 1.0 and last["tgdfer", 2, 1, "frame_auc_contrastive"] == 1.0
    assert last["tgdfer", 1, 0, "frame_pointing_score"] == 1.0 and last["tgdfer", 1, 0, "frame_auc_below_half_score"] == 0
    assert last["mil-only", 2, 0, "frame_auc_score"] == 0.0 and last["mil-only", 2, 0, "frame_auc_below_half_score"] == 1
    assert last["clip-meanpool", 1, 0, "frame_evidence"] == 0 and last["tgdfer", 1, 0, "frame_evidence"] == 1
    assert not rec[(rec.run_name == "clip-meanpool") & rec.metric.str.startswith("frame_auc")].size
    clips = pd.read_csv(files["frame_clips"], dtype={"clip_id": str})
    assert list(clips.columns[:5]) == ["dataset", "fold", "run_name", "seed", "clip_id"]
    assert {"auc_score", "auc_contrastive", "pointing_score", "pointing_contrastive", "top4_chance"} <= set(clips.columns)
    assert set(clips.run_name) == {"tgdfer", "mil-only", "position-prior", "random-scores", "change-detector"}
    assert last["change-detector", 1, 0, "frame_auc_score"] == 1.0
    assert (clips[clips.run_name == "tgdfer"].auc_score.dropna() == 1).all()
    # the position prior, computed here independently: segment centres of the fold's training clips
    train = load_split("dfew", synth_root, 1, "train")
    prior = np.mean([expressive_frames(synth_root, c)[segment_indices(len(expressive_frames(synth_root, c)), 16)]
                     for c in train.clip_id], axis=0)
    _, _, truth = sampled_test_truth(synth_root, 1)
    mixed = truth.any(1) & ~truth.all(1)
    expect = np.mean([roc_auc_score(t, prior) for t in truth[mixed]])
    assert last["position-prior", 1, 0, "frame_auc_score"] == pytest.approx(expect, abs=1e-5)
    r0, r1 = (clips[(clips.run_name == "random-scores") & (clips.fold == 1) & (clips.seed == s)].auc_score for s in (0, 1))
    assert not np.allclose(r0.dropna(), r1.dropna())                  # seeded by fold and run seed


def test_tables_show_intervals_paired_differences_floors_and_dash_without_frame_evidence(planted):
    tmp, _ = planted
    files = write_tables(tmp / "results", tmp / "tables")
    main = files["main"].read_text()
    assert "fold x seed runs" in main and "majority-class share" in main
    tg = next(line for line in main.splitlines() if line.startswith("| TG-DFER") and "generated benchmark" in line)
    # fold means 0.7, 0.8 (s^2 0.005) but seeds 0.2 apart in each fold (seed noise 0.02 / 2 = 0.01, the floor):
    # se sqrt((1/2 + 1/3.6) * 0.01) 0.0882 (Nadeau-Bengio), t(0.975, 1) 12.706: half 1.1206
    assert "75.0 [-37.1, 187.1]" in tg and "2 folds (of 5) x 2 seeds" in tg
    mil = next(line for line in main.splitlines() if line.startswith("| MIL only"))
    assert "-12.5 [-52.1, +27.1] |" in mil          # paired (fold diffs -0.1, -0.15; s^2 0.00125), no marker
    cmp = next(line for line in main.splitlines() if line.startswith("| CLIP mean-pool"))
    assert "-45.0 [-157.1, +67.1] |" in cmp         # fold diffs -0.4, -0.5; the seed floor 0.01 again
    assert any(line.startswith("| chance") and "| 14.3 |" in line for line in main.splitlines())
    loc = files["localisation"].read_text()
    rows = {line.split(" | ")[1]: line for line in loc.split("### Frame evidence: contrastive")[0].splitlines()
            if line.startswith("| ") and " | " in line}
    assert "| yes | 100.0 [100.0, 100.0] | reference |" in rows["tgdfer"]
    assert "| 0.0 [0.0, 0.0] | -100.0 [-100.0, -100.0]* |" in rows["mil-only"]
    cells = [c.strip() for c in rows["clip-meanpool"].strip("|").split("|")]
    assert cells[2] == "no" and set(cells[3:]) == {"-"}                           # no per-frame class evidence
    prior = [c.strip() for c in rows["position-prior"].strip("|").split("|")]
    assert prior[2] == "floor" and prior[3][0].isdigit() and prior[4].startswith("-")
    assert "random-scores" in rows and "position prior (training split)" in loc


def test_a_variant_without_frame_evidence_prints_dash_even_when_records_carry_frame_scores():
    rec = pd.DataFrame([dict(dataset="synth", fold=f, run_name=r, variant=r, config="c", seed=0, git_sha="", which="last",
                             metric=m, value=v)
                        for f in (1, 2) for r, ev in (("tgdfer", 1), ("dfer-clip-like", 0))
                        for m, v in (("uar", 0.5), ("frame_evidence", ev), ("frame_auc_score", 0.8 + 0.05 * f))])
    t = localisation_table(rec, load_variants(), "synth", "score")
    row = t[t.run == "dfer-clip-like"].iloc[0]
    assert row["per-frame class evidence"] == "no" and row["AUC"] == "-" and row["Δ AUC"] == "-"
    assert t[t.run == "tgdfer"].iloc[0]["AUC"].startswith("87.5 [")
    assert (t[t.run == "position-prior"].iloc[0][3:] == "-").all()                # a floor not yet scored


def test_frame_auc_figure_from_the_records(planted):
    tmp, _ = planted
    figs = write_figures(tmp / "results", tmp / "figures")
    assert figs["frame_auc"].name == "frame_auc_per_clip.png" and figs["frame_auc"].stat().st_size > 10_000


def test_change_detector_is_the_distance_from_the_first_frame():
    import torch

    from tgdfer.engine.evaluate import frame_change

    f = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]]])          # [B=1, T=4, D=2]
    assert torch.allclose(frame_change(f), torch.tensor([[0.0, 0.0, 1.0, 2.0]]))
