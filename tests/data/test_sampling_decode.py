"""Frame sampling properties and decoding (PyAV, and decord where installed, for video; PIL for frame folders)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import write_frames, write_video
from tgdfer.data import ClipDataset, ClipReader, DataError, count_frames, load_split, segment_indices

def _imports(module: str) -> bool:
    try:
        __import__(module)
        return True
    except Exception:  # noqa: BLE001 - torchcodec without FFmpeg's libraries raises RuntimeError
        return False


HAS_DECORD = _imports("decord")                                   # an optional extra (x86_64 Linux wheels)
BACKENDS = ["pyav"] + (["decord"] if HAS_DECORD else []) + (["torchcodec"] if _imports("torchcodec.decoders") else [])


@pytest.mark.parametrize("n", [16, 17, 40, 100, 847])
def test_segments_cover_the_clip_one_frame_each(n):
    T = 16
    edges = np.linspace(0, n, T + 1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = segment_indices(n, T, train=True, rng=rng)
        assert idx.shape == (T,) and idx.min() >= 0 and idx.max() < n
        assert np.all(np.diff(idx) > 0) if n >= T else True
        seg = np.searchsorted(edges, idx, side="right") - 1       # which segment each index falls in
        assert list(seg) == list(range(T))


def test_training_sampling_varies_and_test_sampling_is_deterministic():
    draws = {tuple(segment_indices(100, 16, train=True, rng=np.random.default_rng(s))) for s in range(10)}
    assert len(draws) > 1
    a, b = segment_indices(100, 16), segment_indices(100, 16)
    assert np.array_equal(a, b)
    assert list(segment_indices(32, 16)) == list(range(1, 32, 2))   # segment centres
    views = [segment_indices(100, 16, view=v, views=3) for v in range(3)]
    assert not np.array_equal(views[0], views[1]) and np.all(views[0] < views[2])


def test_short_clips_repeat_frames():
    assert list(segment_indices(5, 8)) == [0, 1, 2, 3, 4, 4, 4, 4]            # pad with the last frame
    assert list(segment_indices(5, 8, short="stretch")) == [0, 0, 1, 1, 2, 3, 3, 4]
    assert list(segment_indices(1, 4, train=True, rng=np.random.default_rng(0))) == [0, 0, 0, 0]
    with pytest.raises(ValueError):
        segment_indices(0, 16)


@pytest.mark.parametrize("backend", BACKENDS)
def test_video_backends_read_an_mp4_the_test_wrote(tmp_path, monkeypatch, backend):
    from tgdfer.data import decode

    monkeypatch.setattr(decode, "VIDEO_BACKEND", backend)
    path = write_video(tmp_path / "clip.mp4", 30, size=(48, 80))
    r = ClipReader(path)
    assert r.num_frames == 30 == count_frames(path)
    frames = r.read([0, 9, 29, 29])
    assert frames.shape == (4, 48, 80, 3) and frames.dtype == np.uint8
    means = frames.reshape(4, -1).mean(1)
    assert np.allclose(means, [8, 80, 240, 240], atol=6)           # grey level encodes the frame number


def test_frame_folder_natural_order(tmp_path):
    folder = write_frames(tmp_path / "00001", 12, pattern="{i}.jpg")
    frames = ClipReader(folder).read([0, 1, 9, 11])
    assert np.allclose(frames.reshape(4, -1).mean(1), [8, 16, 80, 96], atol=3)


@pytest.mark.skipif(not HAS_DECORD, reason="decord is an optional extra (x86_64 Linux wheels only)")
def test_both_video_backends_give_the_same_frames(tmp_path, monkeypatch):
    from tgdfer.data import decode

    path = write_video(tmp_path / "clip.mp4", 40, size=(64, 64))
    monkeypatch.setattr(decode, "VIDEO_BACKEND", "decord")
    a = ClipReader(path).read([0, 7, 39])
    monkeypatch.setattr(decode, "VIDEO_BACKEND", "pyav")
    assert np.array_equal(a, ClipReader(path).read([0, 7, 39]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_media_messages(tmp_path, monkeypatch, backend):
    from tgdfer.data import decode

    monkeypatch.setattr(decode, "VIDEO_BACKEND", backend)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(DataError, match="cannot decode video") as e:
        ClipReader(bad)
    assert "broken.mp4" in str(e.value) and "re-encode" in str(e.value)
    with pytest.raises(DataError, match="video file not found"):
        ClipReader(tmp_path / "missing.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        ClipReader(tmp_path / "empty")
    with pytest.raises(DataError, match="frame folder not found"):
        ClipReader(tmp_path / "nope")


def test_dataset_items(dfew_tree):
    table = load_split("dfew", dfew_tree, 1, "test")
    ds = ClipDataset(table, num_frames=16, size=32, train=False, views=2, crops=2)
    assert len(ds) == len(table) * 4
    item = ds[0]
    assert item["video"].shape == (16, 3, 32, 32) and item["video"].dtype == torch.float32
    assert item["clip_id"] == "00001" and item["label"] == 0 and item["frame_index"].shape == (16,)
    assert item["frame_index"].tolist() == list(range(11)) + [10] * 5        # 11 frames: padded
    tr = ClipDataset(table, num_frames=8, size=32, train=True, seed=1)
    a, b = tr[1]["frame_index"], tr[1]["frame_index"]
    assert torch.equal(a, b)                                                    # same epoch: same sample
    tr.set_epoch(1)
    assert any(not torch.equal(tr[i]["frame_index"], ClipDataset(table, 8, 32, True, seed=1)[i]["frame_index"])
               for i in range(len(table)))


def test_dataset_from_video_media(dfew_tree):
    table = load_split("dfew", dfew_tree, 1, "test", media="video")
    item = ClipDataset(table, num_frames=8, size=32)[0]
    assert item["video"].shape == (8, 3, 32, 32)
