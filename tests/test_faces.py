"""Faces from raw video, on clips the tests render: a drawn face moving across a larger frame."""
from __future__ import annotations

import subprocess
import sys

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
    from tgdfer.model import create_model
    from tgdfer.prediction import predict

    frames, _ = scene_clip(n=32)
    vid = encode(tmp_path / "raw.mp4", frames)
    torch.manual_seed(0)
    model = create_model(load_config("tgdfer-tiny"))
    res = predict(vid, None, out=tmp_path / "p.png", model=model)
    assert res["faces_found"] >= 8 and (tmp_path / "p.png").is_file()
    assert abs(sum(res["probabilities"].values()) - 1) < 1e-3
    plain = predict(vid, None, out=tmp_path / "q.png", model=model, faces=False)
    assert plain["faces_found"] is None


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
