"""Shared fixtures: small official-layout trees and a tiny generated benchmark, all made here."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TGDFER_PROGRESS", "0")

SHARED = Path(__file__).resolve().parents[2] / "shared"


def write_frames(folder: Path, n: int, size=(24, 32), pattern="{i:05d}.jpg", value_step=8) -> Path:
    """n JPEG frames whose mean grey level encodes the (1-based) frame number."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        v = min(255, i * value_step)
        Image.fromarray(np.full((size[0], size[1], 3), v, np.uint8)).save(folder / pattern.format(i=i))
    return folder


def write_video(path: Path, n: int, size=(48, 64), fps=25) -> Path:
    """An mp4 of n frames whose grey level encodes the frame number (step 8)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.height, s.width = size
        s.pix_fmt = "yuv420p"
        for i in range(n):
            f = np.full((size[0], size[1], 3), min(255, (i + 1) * 8), np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def make_dfew(root: Path, clips: dict[int, tuple[int, int]], folds: dict[int, list[int]] | None = None,
              videos: bool = False) -> Path:
    """A DFEW tree: clips {video_name: (n_frames, label 1..7)}; folds {k: test ids} (default: all in test of 1..5)."""
    for vid, (n, _) in clips.items():
        write_frames(root / "Clip" / "clip_224x224" / f"{vid:05d}", n, pattern=f"{vid:05d}_" + "{i:05d}.jpg")
        if videos:
            write_video(root / "Clip" / "original" / f"{vid:05d}.mp4", n)
    ids = sorted(clips)
    folds = folds or {k: ids[k - 1::5] for k in range(1, 6)}
    for k in range(1, 6):
        for split in ("train", "test"):
            d = root / "EmoLabel_DataSplit" / f"{split}(single-labeled)"
            d.mkdir(parents=True, exist_ok=True)
            chosen = [i for i in ids if (i in folds[k]) == (split == "test")]
            (d / f"set_{k}.csv").write_text("video_name,label\n" + "".join(f"{i},{clips[i][1]}\n" for i in chosen))
    return root


@pytest.fixture
def dfew_tree(tmp_path) -> Path:
    clips = {i: (10 + i, (i - 1) % 7 + 1) for i in range(1, 11)}
    return make_dfew(tmp_path / "DFEW", clips, videos=True)


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """A tiny generated benchmark (40 clips at 48 px), shared by the whole session."""
    from tgdfer.synth.generate import GenerateConfig, generate

    return generate(tmp_path_factory.mktemp("synth") / "bench", GenerateConfig(clips=40, size=48, seed=3), workers=1)


@pytest.fixture(autouse=True)
def _intervals_for_pooled_folds():
    """`report.tables.load_records` sets the intervals' design for the records it reads (results/design.json): start
    every test from the default (J-fold splits of one pool) so no test sees another's records' design."""
    from tgdfer.report import stats

    stats.use_design(False)
    yield
    stats.use_design(False)
