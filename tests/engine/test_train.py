"""Training and evaluation engine: real entry points on the tiny config and a tiny generated set."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from tgdfer.metrics import clip_metrics, localisation
from tgdfer.engine.checkpoint import load_model, read_checkpoint, save_checkpoint
from tgdfer.engine.run import train

QUICK = {"train.epochs": 2, "train.batch_size": 8, "train.workers": 0}


def test_cli_training_writes_a_run_folder(synth_root, tmp_path):
    r = subprocess.run([sys.executable, "-m", "tgdfer", "train", "--root", str(synth_root), "--fold", "2",
                        "--max-steps", "3", "--batch-size", "8", "--workers", "0", "--runs-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    run = tmp_path / "synth" / "tgdfer-tiny" / "fold2" / "tgdfer+max_steps=3" / "seed0"   # never presented as DFEW
    for f in ("params.json", "history.csv", "metrics.json", "predictions.csv", "relevance.npz", "last.pt", "best.pt"):
        assert (run / f).is_file(), f
    params = json.loads((run / "params.json").read_text())
    assert params["dataset_label"] == "synth" and params["feature_cache"] is True
    assert {"git_sha", "torch", "open_clip", "device"} <= set(params["environment"])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 3 and {"last", "best", "selection_note"} <= set(metrics)
    assert metrics["selection_split"] == "val" and "validation split" in metrics["selection_note"]   # the tiny config carves one
    assert params["clips"]["val"] > 0 and metrics["last"]["loc_clips"] > 0  # frame localisation on the benchmark
    pred = pd.read_csv(run / "predictions.csv", dtype={"clip_id": str})
    rel = np.load(run / "relevance.npz")
    assert len(pred) == metrics["last"]["n"] and rel["relevance"].shape == (len(pred), 16, 7)
    assert np.allclose(rel["relevance"].sum(1), 1, atol=1e-4)
    again = subprocess.run([sys.executable, "-m", "tgdfer", "train", "--root", str(synth_root), "--fold", "2",
                            "--max-steps", "3", "--runs-dir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "already holds a finished run" in again.stderr


def _state(path):
    return read_checkpoint(path)["model"]


class Killed(Exception):
    pass


def test_resume_gives_the_same_weights_and_metrics(synth_root, tmp_path):
    ov = {**QUICK, "pretrained": "none", "finetune": "last:1", "frames": 8, "train.epochs": 3}
    full = train("dfew", synth_root, 1, "tgdfer-tiny", overrides=ov, run_dir=tmp_path / "a", verbose=False)

    def die_after_first_epoch(row):
        if row["epoch"] == 1:
            raise Killed()

    with pytest.raises(Killed):
        train("dfew", synth_root, 1, "tgdfer-tiny", overrides=ov, run_dir=tmp_path / "b", callback=die_after_first_epoch,
              verbose=False)
    assert not (tmp_path / "b" / "metrics.json").exists()
    resumed = train("dfew", synth_root, 1, "tgdfer-tiny", overrides=ov, run_dir=tmp_path / "b", resume=True, verbose=False)
    a, b = _state(tmp_path / "a" / "last.pt"), _state(tmp_path / "b" / "last.pt")
    assert a.keys() == b.keys() and any(k.startswith("backbone.visual") for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert full.metrics["last"] == resumed.metrics["last"]
    pa = pd.read_csv(tmp_path / "a" / "predictions.csv")
    assert pa.equals(pd.read_csv(tmp_path / "b" / "predictions.csv"))
    # reusing the finished run keeps the environment it began in (the records cite its git_sha), and says where it
    # was taken up again
    params_file = tmp_path / "b" / "params.json"
    params = json.loads(params_file.read_text())
    now = dict(params["environment"])
    params["environment"]["git_sha"] = "0" * 40                        # as if trained by an earlier commit
    params_file.write_text(json.dumps(params))
    again = train("dfew", synth_root, 1, "tgdfer-tiny", overrides=ov, run_dir=tmp_path / "b", resume=True, verbose=False)
    assert again.metrics["last"] == full.metrics["last"]
    params = json.loads(params_file.read_text())
    assert params["environment"]["git_sha"] == "0" * 40 and params["resumed_in"] == [now]
    with pytest.raises(ValueError, match="other settings"):
        train("dfew", synth_root, 2, "tgdfer-tiny", overrides=ov, run_dir=tmp_path / "b", resume=True, verbose=False)


def test_validation_split_picks_the_epoch(synth_root, tmp_path):
    res = train("dfew", synth_root, 1, "tgdfer-tiny", overrides={**QUICK, "train.val_fraction": 0.25},
                run_dir=tmp_path / "v", verbose=False)
    assert res.metrics["selection_split"] == "val" and "validation split" in res.metrics["selection_note"]
    p = json.loads((tmp_path / "v" / "params.json").read_text())
    assert p["clips"]["val"] > 0 and p["clips"]["train"] + p["clips"]["val"] == len(
        pd.read_csv(synth_root / "EmoLabel_DataSplit" / "train(single-labeled)" / "set_1.csv"))
    assert "val_uar" in res.history.columns and "test_uar" not in res.history.columns   # test read once, at the end
    assert res.metrics["last"]["n"] == len(pd.read_csv(synth_root / "EmoLabel_DataSplit" / "test(single-labeled)" / "set_1.csv"))


def test_metrics_on_hand_made_confusion():
    m = clip_metrics([0, 0, 1, 1, 2, 2, 2, 2], [0, 1, 1, 1, 0, 2, 2, 2], n_classes=4)
    assert m["war"] == pytest.approx(6 / 8)
    assert list(m["recall"][:3]) == [0.5, 1.0, 0.75] and np.isnan(m["recall"][3])       # class 3 absent
    assert m["uar"] == pytest.approx((0.5 + 1.0 + 0.75) / 3)
    assert m["confusion"].tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 3, 0], [0, 0, 0, 0]]
    loc = localisation([np.array([0.1, 0.2, 0.9, 0.8]), np.array([0.9, 0.1, 0.0, 0.0]), np.array([0.5] * 4)],
                       [np.array([0, 0, 1, 1], bool), np.array([0, 1, 1, 1], bool), np.zeros(4, bool)], k=2)
    assert loc["loc_auc"] == pytest.approx((1.0 + 0.0) / 2) and loc["loc_clips"] == 2
    assert loc["loc_topk_precision"] == pytest.approx((1.0 + 0.5) / 2)
    assert loc["loc_topk_chance"] == pytest.approx((0.5 + 0.75) / 2)


@pytest.fixture
def checkpoint(tmp_path):
    from tgdfer.config import load_config
    from tgdfer.model import create_model

    cfg = load_config("tgdfer-tiny")
    torch.manual_seed(0)
    model = create_model(cfg)
    path = tmp_path / "ck" / "best.pt"
    save_checkpoint(path, model, cfg, {"epoch": 1})
    return path, model


def test_checkpoint_roundtrip(checkpoint):
    path, model = checkpoint
    back = load_model(path)
    x = torch.randn(1, 16, 3, 64, 64)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(back(x).logits, model(x).logits, atol=1e-5)
    with pytest.raises(FileNotFoundError):
        load_model(path.parent / "missing.pt")


def test_predict_on_a_video_the_test_writes(checkpoint, tmp_path):
    from conftest import write_video

    path, _ = checkpoint
    video = write_video(tmp_path / "me.mp4", 40, size=(72, 96))
    out = tmp_path / "fig.png"
    r = subprocess.run([sys.executable, "-m", "tgdfer", "predict", str(video), "--checkpoint", str(path),
                        "--no-face-crop", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    probs = [float(line.split()[-1]) for line in r.stdout.splitlines() if re.fullmatch(r"\s*\w+\s+[0-9.]+", line)]
    assert len(probs) == 7 and abs(sum(probs) - 1) < 0.01
    assert out.is_file() and out.stat().st_size > 10_000
    # the checkpoint predates `trained_on` and has the tiny backbone: said on stdout, warned on stderr
    assert "model: config tgdfer-tiny" in r.stdout and "trained on unknown (a checkpoint written before" in r.stdout
    assert "WARNING:" in r.stderr and "tiny backbone" in r.stderr and "say nothing about real faces" in r.stderr
    assert "train on DFEW with CLIP weights" in r.stderr


def test_evaluate_command(checkpoint, synth_root, tmp_path):
    path, _ = checkpoint
    r = subprocess.run([sys.executable, "-m", "tgdfer", "evaluate", "--checkpoint", str(path), "--root", str(synth_root),
                        "--fold", "3", "--out", str(tmp_path / "ev")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "UAR" in r.stdout and "localisation AUC" in r.stdout
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert m["fold"] == 3 and len(m["confusion"]) == 7


def test_clip_aucs_at_once_equal_scikit_learn_one_call_a_clip():
    """The rank identity over all clips at once gives every clip's AUC as scikit-learn's one call a clip does, up to
    rounding (ties, mixed lengths, in order)."""
    from sklearn.metrics import roc_auc_score

    from tgdfer.metrics import clip_aucs

    rng = np.random.default_rng(0)
    scored = []
    for i in range(300):
        e = rng.random(16) < rng.uniform(0.2, 0.8)
        e[0], e[1] = True, False
        r = np.round(rng.random(16), 1) if i % 3 else rng.random(16)            # ties in two clips of three
        scored.append((r, e))
    one_by_one = np.array([roc_auc_score(e, r) for r, e in scored])
    np.testing.assert_allclose(clip_aucs(scored), one_by_one, rtol=0, atol=1e-15)
    assert not np.allclose(one_by_one, one_by_one[0])                      # the clips do differ
    mixed = scored[:5] + [(np.array([0.2, 0.9, 0.1]), np.array([False, True, False]))] + scored[5:8]
    np.testing.assert_allclose(clip_aucs(mixed), [roc_auc_score(e, r) for r, e in mixed], rtol=0, atol=1e-15)
    assert clip_aucs([]).shape == (0,)
    np.testing.assert_allclose(clip_aucs(scored[:1]), one_by_one[:1], rtol=0, atol=1e-15)
