"""The generated benchmark: official DFEW layout, ground truth, determinism, difficulty."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from tgdfer.data import load_split, prepare
from tgdfer.synth.generate import GenerateConfig, generate, is_complete


def test_layout_and_ground_truth(synth_root):
    r = synth_root
    assert (r / "manifest.json").is_file() and is_complete(r)
    clips = pd.read_csv(r / "ground_truth" / "clips.csv")
    frames = pd.read_csv(r / "ground_truth" / "frames.csv")
    assert len(clips) == 40 and frames.groupby("video_name").size().to_dict() == dict(zip(clips.video_name, clips.num_frames))
    one = clips.iloc[0]
    vid = f"{one.video_name:05d}"
    assert len(list((r / "Clip" / "clip_224x224" / vid).glob(f"{vid}_*.jpg"))) == one.num_frames
    assert sorted(p.name for p in (r / "Clip" / "clip_224x224_16f" / vid).iterdir())[:2] == ["1.jpg", "10.jpg"]
    assert (r / "Clip" / "original" / f"{vid}.mp4").is_file()
    # 1-based labels, every clip in exactly one test fold, identities never shared across train/test
    for k in range(1, 6):
        test = pd.read_csv(r / "EmoLabel_DataSplit" / "test(single-labeled)" / f"set_{k}.csv")
        train = pd.read_csv(r / "EmoLabel_DataSplit" / "train(single-labeled)" / f"set_{k}.csv")
        assert list(test.columns) == ["video_name", "label"] and test.label.between(1, 7).all()
        assert len(test) + len(train) == 40
        ids = clips.set_index("video_name").identity
        assert set(ids[test.video_name]).isdisjoint(ids[train.video_name])
    # the expression covers only part of each non-neutral clip
    expr = frames.merge(clips[["video_name", "label_name"]], on="video_name")
    share = expr[expr.label_name != "neutral"].groupby("video_name").expressive.mean()
    assert 0.05 < share.median() < 0.8
    assert not expr[expr.label_name == "neutral"].expressive.any()


def test_official_reader_and_prepare_accept_it(synth_root, tmp_path):
    t = load_split("dfew", synth_root, 1, "test", media="video")
    assert len(t) > 0
    rep = prepare("dfew", synth_root, tmp_path / "ann")
    assert rep.ok, rep.to_text()
    assert any("generated benchmark" in n for n in rep.notes)
    assert (tmp_path / "ann" / "DFEW_set_3_train.txt").is_file()


def test_same_seed_same_bytes(tmp_path):
    cfg = GenerateConfig(clips=12, size=32, seed=5, videos=False)
    a, b = generate(tmp_path / "a", cfg, workers=2), generate(tmp_path / "b", cfg, workers=1)
    for k in range(1, 6):
        for split in ("train", "test"):
            rel = f"EmoLabel_DataSplit/{split}(single-labeled)/set_{k}.csv"
            assert (a / rel).read_bytes() == (b / rel).read_bytes()
    fa = sorted((a / "Clip" / "clip_224x224").rglob("*.jpg"))
    assert len(fa) > 100
    assert all(x.read_bytes() == (b / x.relative_to(a)).read_bytes() for x in fa)
    assert (a / "ground_truth" / "frames.csv").read_bytes() == (b / "ground_truth" / "frames.csv").read_bytes()
    c = generate(tmp_path / "c", GenerateConfig(clips=12, size=32, seed=6, videos=False), workers=1)
    assert (c / "ground_truth" / "frames.csv").read_bytes() != (a / "ground_truth" / "frames.csv").read_bytes()


def test_reuse_and_refusal(tmp_path):
    cfg = GenerateConfig(clips=6, size=32, seed=1, videos=False)
    out = generate(tmp_path / "s", cfg, workers=1)
    stamp = (out / "manifest.json").stat().st_mtime_ns
    assert generate(out, cfg, workers=1) == out and (out / "manifest.json").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="other settings"):
        generate(out, GenerateConfig(clips=7, size=32, seed=1, videos=False), workers=1)
    with pytest.raises(ValueError, match="even"):
        generate(tmp_path / "odd", GenerateConfig(size=33))


def test_dfew_like_class_frequencies():
    from tgdfer.synth.generate import _plan_synthetic

    plan = _plan_synthetic(GenerateConfig(clips=700))
    counts = plan.label.value_counts()
    assert counts[3] == counts.max() and counts[6] < counts[7] < counts[5]      # neutral most, disgust rarest
    bal = _plan_synthetic(GenerateConfig(clips=700, balanced=True)).label.value_counts()
    assert bal.max() - bal.min() <= 1


def test_replica_of_real_lists(tmp_path):
    from conftest import SHARED

    src = SHARED / "splits" / "dfew"
    if not src.is_dir():
        pytest.skip("../shared/splits/dfew is not beside this checkout")
    out = generate(tmp_path / "rep", GenerateConfig(clips=15, size=32, seed=0, videos=False, replica=str(src)), workers=2)
    clips = pd.read_csv(out / "ground_truth" / "clips.csv")
    from tgdfer.data import read_annotation

    real = pd.concat([read_annotation(src / f"DFEW_set_{k}_test.txt").assign(fold=k) for k in range(1, 6)])
    real["video_name"] = real.clip_id.astype(int)
    m = clips.merge(real, on="video_name")
    assert len(m) == 15 and (m.num_frames_x == m.num_frames_y).all() and (m.label_x == m.label_y + 1).all()
    assert (m.fold_x == m.fold_y).all()
    assert json.loads((out / "manifest.json").read_text())["config"]["replica"] == "dfew"
