"""Faces from raw video, on clips the tests render: a drawn face moving across a larger frame."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_video

from tgdfer.data.faces import _iou, align_crop, track_faces
from tgdfer.synth.generate import GenerateConfig, render_clip


SCENE = GenerateConfig(size=320, scene=True)


def scene_clip(video_name=2, n=40):
    frames, _, boxes = render_clip(video_name, "happiness", 1, n, SCENE)
    return frames, boxes


def encode(path, frames):
    """Write RGB frames [T, H, W, 3] as an H.264 mp4."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.height, s.width = frames.shape[1:3]
        s.pix_fmt = "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def centre(b):
    return np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])


def test_moving_face_is_found_in_every_frame_and_the_crop_follows_it():
    frames, gt = scene_clip()
    centres = np.stack([centre(g) for g in gt])
    assert np.linalg.norm(centres - centres[0], axis=1).max() > 30                                                # the face really moves across the frame
    tr = track_faces(frames)
    assert tr is not None and tr.found.mean() > 0.8
    for b, g in zip(tr.boxes, gt):                                     # a box in every frame, on the face
        assert _iou(b, g) > 0.45
        assert np.linalg.norm(centre(b) - centre(g)) < 0.2 * (g[2] - g[0])
    crop = align_crop(frames[10], tr.boxes[10], tr.angle[10], size=112)
    assert crop.shape == (112, 112, 3)


class JitteryDetector:
    """Ground-truth boxes plus noise, and a missed frame now and then."""

    def __init__(self, boxes, sd, seed=0):
        self.boxes, self.sd, self.rng, self.t = boxes, sd, np.random.default_rng(seed), 0

    def detect(self, rgb):
        b = self.boxes[self.t] + self.rng.normal(0, self.sd, 4)
        self.t += 1
        if self.t % 7 == 0:
            return np.zeros((0, 5), np.float32)
        return np.concatenate([b, [5.0]])[None].astype(np.float32)


def test_smoothing_removes_jitter_and_bridges_gaps():
    frames, gt = scene_clip(n=60)
    tr = track_faces(frames, JitteryDetector(gt, sd=6.0), smooth=5)
    raw = np.array([r if r is not None else [np.nan] * 4 for r in tr.raw], float)
    ok = ~np.isnan(raw[:, 0])
    assert not tr.found.all() and ok.sum() > 40                        # gaps exist and were bridged
    def wobble(x):                                                     # frame-to-frame acceleration of the centre
        c = np.stack([(x[:, 0] + x[:, 2]) / 2, (x[:, 1] + x[:, 3]) / 2], 1)
        return np.abs(np.diff(c, 2, axis=0)).mean()
    assert wobble(tr.boxes) < 0.5 * wobble(raw[ok])
    err_track = np.abs(np.stack([centre(b) for b in tr.boxes]) - np.stack([centre(g) for g in gt]))
    err_raw = np.abs(np.stack([centre(b) for b in raw[ok]]) - np.stack([centre(g) for g in gt[ok]]))
    assert err_track.mean() < err_raw.mean()


def test_faces_command_writes_dfew_naming_and_reports_a_clip_without_face(tmp_path):
    frames, _ = scene_clip(n=24)
    encode(tmp_path / "in" / "person.mp4", frames)
    write_video(tmp_path / "in" / "wall.mp4", 12, size=(120, 160))    # flat grey frames: no face
    (tmp_path / "list.csv").write_text("path,label,split\nin/person.mp4,happiness,test\nin/wall.mp4,neutral,test\n")
    r = subprocess.run([sys.executable, "-m", "tgdfer", "faces", str(tmp_path / "list.csv"), "--out", str(tmp_path / "out"),
                        "--size", "96", "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "no face" in r.stdout and "wall.mp4" in r.stdout
    crops = sorted((tmp_path / "out" / "clip_224x224" / "person").glob("*.jpg"))
    assert len(crops) == 24 and crops[0].name == "person_00001.jpg"
    report = pd.read_csv(tmp_path / "out" / "faces_report.csv")
    assert set(report.status) == {"ok", "no face"} and len(report) == 2
    index = pd.read_csv(tmp_path / "out" / "clips.csv")
    assert list(index.path) == ["clip_224x224/person"] and list(index.label) == ["happiness"]
    from tgdfer.data import load_split

    t = load_split("csv", tmp_path / "out" / "clips.csv", 1, "test")
    assert len(t) == 1 and t.label.iloc[0] == 0


def test_predict_crops_faces_of_raw_video_by_default(tmp_path):
    import torch

    from tgdfer.config import load_config
    from tgdfer.inference.predict import TrainedOnWarning, predict
    from tgdfer.model import create_model

    frames, _ = scene_clip(n=32)
    vid = encode(tmp_path / "raw.mp4", frames)
    torch.manual_seed(0)
    model = create_model(load_config("tgdfer-tiny"))
    with pytest.warns(TrainedOnWarning, match="tiny backbone"):          # a model of drawn faces, a video outside the benchmark
        res = predict(vid, None, out=tmp_path / "p.png", model=model)
        plain = predict(vid, None, out=tmp_path / "q.png", model=model, faces=False)
    assert res["faces_found"] >= 8 and (tmp_path / "p.png").is_file()
    assert abs(sum(res["probabilities"].values()) - 1) < 1e-3
    assert plain["faces_found"] is None
    assert "a model given directly" in res["model"]["text"]


def test_crop_scale_is_the_crop_side_over_the_box_side_and_a_margin_is_refused_or_converted():

    from tgdfer.data.faces import CROP_SCALE, check_crop_scale

    img = np.zeros((200, 200, 3), np.uint8)
    img[80:120, 80:120] = 255                                           # a 40 px "face" box
    box = np.array([80, 80, 120, 120], np.float32)
    for scale in (1.0, 2.0):
        crop = align_crop(img, box, 0.0, size=100, crop_scale=scale)
        assert abs((crop[50, :, 0] > 127).sum() - 100 / scale) <= 2     # the box spans 1/scale of the crop
    assert 1.0 < CROP_SCALE < 1.4 and check_crop_scale(None) == CROP_SCALE
    with pytest.raises(ValueError, match="not a margin per side"):
        check_crop_scale(0.2)                                           # a margin passed as a scale
    with pytest.warns(FutureWarning, match="crop_scale=1.4"):
        assert check_crop_scale(None, margin=0.2) == pytest.approx(1.4)


def test_default_crop_keeps_the_whole_drawn_head_and_little_else():
    """Scene clips know the true head box (crown to chin): it fills most of the default crop; the old
    margin 0.2 (crop scale 1.4) left a quarter or more of the crop to hair, neck and background."""
    from tgdfer.data.faces import CROP_SCALE

    frames, gt = scene_clip(n=24)
    tr = track_faces(frames)
    ok = tr.found
    fill = (gt[ok, 3] - gt[ok, 1]) / ((tr.boxes[ok, 2] - tr.boxes[ok, 0]) * CROP_SCALE)   # head height / crop side
    assert 0.8 < np.median(fill) < 1.05
    assert np.median(fill * CROP_SCALE / 1.4) < 0.8


def test_faces_command_margin_is_deprecated_and_refused_beside_crop_scale(tmp_path):
    frames, _ = scene_clip(n=8)
    vid = encode(tmp_path / "in" / "person.mp4", frames)
    r = subprocess.run([sys.executable, "-m", "tgdfer", "faces", str(vid), "--out", str(tmp_path / "out"), "--size", "64",
                        "--workers", "1", "--margin", "0.2"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "--margin is deprecated" in r.stderr and "--crop-scale 1.4" in r.stderr
    both = subprocess.run([sys.executable, "-m", "tgdfer", "faces", str(vid), "--out", str(tmp_path / "o2"),
                           "--margin", "0.2", "--crop-scale", "1.1"], capture_output=True, text=True, timeout=300)
    assert both.returncode == 2 and "not both" in both.stderr


def _checkpoint(path, trained_on=None):
    """A tiny-config checkpoint as `train` writes it; `trained_on` None: an old one without the record."""
    import torch

    from tgdfer.config import load_config
    from tgdfer.engine.checkpoint import save_checkpoint
    from tgdfer.model import create_model

    cfg = load_config("tgdfer-tiny")
    torch.manual_seed(0)
    save_checkpoint(path, create_model(cfg), cfg, {"epoch": 1} | ({"trained_on": trained_on} if trained_on else {}))
    return path


SYNTH_RUN = {"dataset": "synth", "layout": "dfew", "root": "data/synth", "fold": 1, "generated_benchmark": True}


def test_predict_names_what_the_model_learned_and_warns_on_a_real_video(tmp_path):

    from tgdfer.inference.predict import TrainedOnWarning, predict

    ck = _checkpoint(tmp_path / "ck" / "last.pt", SYNTH_RUN)
    frames, _ = scene_clip(n=16)
    vid = encode(tmp_path / "me" / "interview.mp4", frames)              # not under a generated benchmark
    with pytest.warns(TrainedOnWarning, match="say nothing about real faces"):
        res = predict(vid, ck, out=tmp_path / "p.png")
    m = res["model"]
    assert m["generated_benchmark"] is True and m["tiny"] and m["config"] == "tgdfer-tiny"
    assert "TGDFER-Tiny" in m["backbone"] and "synthface" in m["backbone"] and "sha256" in m["backbone"]
    assert "the generated benchmark (drawn faces), fold 1" in m["text"]
    assert "generated benchmark (drawn faces)" in res["warning"] and "tiny backbone" in res["warning"]
    assert "train on DFEW with CLIP weights" in res["warning"]
    assert "tgdfer-tiny (TGDFER-Tiny, synthface), trained on generated benchmark, fold 1" in res["title"]
    assert "WARNING" in res["title"] and (tmp_path / "p.png").is_file()


def test_predict_on_a_clip_of_the_generated_benchmark_does_not_warn(tmp_path, synth_root):
    import warnings

    from tgdfer.inference.predict import TrainedOnWarning, from_generated_benchmark, predict

    ck = _checkpoint(tmp_path / "ck" / "last.pt", SYNTH_RUN)
    clip = synth_root / "Clip" / "clip_224x224" / "00001"
    assert from_generated_benchmark(clip) and not from_generated_benchmark(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainedOnWarning)
        res = predict(clip, ck, out=tmp_path / "p.png")
    assert res["warning"] is None and "WARNING" not in res["title"]
    assert "trained on generated benchmark, fold 1" in res["title"]


def test_describe_model_of_a_dfew_run_and_of_an_old_checkpoint():
    from tgdfer.inference.predict import describe_model, scope_warning

    dfew = {"config": {"name": "tgdfer-b16", "variant": "tgdfer", "model": {"clip_model": "ViT-B-16"}},
            "backbone": {"clip_model": "ViT-B-16", "pretrained": "openai", "weights_file": "/w/ViT-B-16.pt",
                         "weights_sha256": "5806e77cd80f8b59890b7e101eabd078"},
            "trained_on": {"dataset": "dfew", "layout": "dfew", "root": "/data/DFEW", "fold": 2,
                           "generated_benchmark": False}}
    d = describe_model(dfew, None)
    assert d["generated_benchmark"] is False and not d["tiny"]
    assert "ViT-B-16.pt" in d["text"] and "weights 'openai'" in d["text"] and "dfew, fold 2" in d["text"]
    assert scope_warning(d, "/videos/me.mp4") is None
    old = {k: v for k, v in dfew.items() if k != "trained_on"}
    d = describe_model(old, None)
    assert d["dataset"] == "unknown" and d["generated_benchmark"] is None
    assert "unknown (a checkpoint written before" in d["text"] and "unknown data" in d["short"]
    assert scope_warning(d, "/videos/me.mp4") is None                  # unknown is said, not guessed
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "## Real data: DFEW, FERV39k, MAFW" in readme                # the section the warning points to
