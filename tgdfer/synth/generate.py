"""The generated benchmark: renders clips and writes them in the official DFEW layout.

In: a number of clips, a frame size, a seed (or a replica list of real clip ids, lengths, labels
and folds). Out: `DIR/Clip/clip_224x224/<id>/<id>_<frame>.jpg`, `Clip/clip_224x224_16f/<id>/1..16.jpg`,
`Clip/original/<id>.mp4`, `EmoLabel_DataSplit/{train,test}(single-labeled)/set_{1..5}.csv` (1-based
labels), plus `ground_truth/{clips,frames}.csv` (frame-level truth that DFEW lacks) and
`manifest.json`, written last, which marks the set complete. Deterministic for a seed.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd

from .. import __version__
from ..classes import class_names
from ..io import atomic_write_text
from ..progress import progress
from .draws import (GenerateConfig, _plan_heldout, _plan_replica, _plan_synthetic, _split_masks,  # noqa: F401
                    format_version)                 # GenerateConfig and _plan_heldout are also re-exported from here
from .expressions import (EXPRESSION_MODELS, EXPRESSIVE_THRESHOLD, NEUTRAL_PERSON, draw_person, expressions_sha,
                          make_timeline)
from .faces import Pose, random_identity, render_face


FPS = 25


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A cluttered, blurred backdrop larger than the frame, so the camera can drift over it."""
    big = int(size * 1.3)
    base = rng.integers(40, 200, size=3)
    img = np.empty((big, big, 3), np.uint8)
    img[:] = base
    for _ in range(int(rng.integers(5, 13))):
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        kind = rng.integers(3)
        p = rng.integers(0, big, size=4)
        if kind == 0:
            cv2.rectangle(img, (int(p[0]), int(p[1])), (int(p[2]), int(p[3])), color, -1)
        elif kind == 1:
            cv2.circle(img, (int(p[0]), int(p[1])), int(rng.integers(3, big // 4)), color, -1)
        else:
            cv2.line(img, (int(p[0]), int(p[1])), (int(p[2]), int(p[3])), color, int(rng.integers(1, 6)))
    k = max(3, (size // 20) | 1)
    return cv2.GaussianBlur(img, (k, k), 0)


def _smooth_walk(rng: np.random.Generator, n: int, amp: float, cycles: float = 1.5) -> np.ndarray:
    """A smooth random trajectory: a sum of two slow sinusoids, [n]."""
    t = np.arange(n) / max(n, 1)
    out = np.zeros(n)
    for _ in range(2):
        out += rng.uniform(-1, 1) * np.sin(2 * np.pi * rng.uniform(0.3, cycles) * t + rng.uniform(0, 2 * np.pi))
    return amp * out / 2


@dataclass
class Look:
    """What stays fixed over a clip: backdrop, lighting gradient, exposure, sensor noise."""
    bg: np.ndarray          # [S * 1.3, S * 1.3, 3] uint8 backdrop
    light: np.ndarray       # [S, S, 1] multiplicative lighting gradient
    noise_sd: float


def random_look(rng: np.random.Generator, size: int) -> Look:
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    light = (1 + rng.uniform(0.0, 0.35) * (np.cos(ang) * xx + np.sin(ang) * yy))[..., None]
    return Look(_background(rng, size), light.astype(np.float32), float(rng.uniform(2.0, 7.0)))


def compose_frame(look: Look, ident, pose: Pose, au: np.ndarray, drift: tuple, gain: float,
                  rng: np.random.Generator, *, occluder: tuple | None = None,
                  asym: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """One frame: backdrop window at `drift`, the face, an optional occluder, light and noise.

    Returns (image [S, S, 3] uint8 RGB, face box [4] x0 y0 x1 y1 in pixels).
    """
    S = look.light.shape[0]
    dx, dy = int(drift[0]), int(drift[1])
    img = np.ascontiguousarray(look.bg[dy:dy + S, dx:dx + S])
    render_face(img, ident, pose, au, asym)
    half = ident.face_w * S * pose.scale
    box = np.array([pose.cx * S - half, pose.cy * S - half * ident.face_h,
                    pose.cx * S + half, pose.cy * S + half * ident.face_h], np.float32)
    if occluder is not None:   # (dx, dy in face half-widths, is_hand)
        ox, oy = pose.cx * S + occluder[0] * half, pose.cy * S + occluder[1] * half * ident.face_h
        color = tuple(int(v) for v in ident.skin) if occluder[2] else (35, 35, 40)
        cv2.ellipse(img, (int(ox), int(oy)), (int(half * 0.7), int(half * 0.45)), 20.0, 0, 360, color, -1, cv2.LINE_AA)
    lit = img.astype(np.float32)                                                # [S, S, 3]
    lit *= look.light
    lit *= np.float32(gain)                   # float32 arithmetic, as NumPy does for a Python float: same values
    out = rng.normal(0, look.noise_sd, img.shape)                               # [S, S, 3] float64
    out += lit                                # float64, in place (addition commutes: the same bits as lit + noise)
    return np.clip(out, 0, 255, out=out).astype(np.uint8), box


def render_clip(video_name: int, label: str, identity: int, length: int, cfg: GenerateConfig):
    """Render one clip. Returns (frames [L, S, S, 3] uint8 RGB, Timeline, face boxes [L, 4] xyxy)."""
    rng = np.random.default_rng([cfg.seed, 1, int(video_name)])
    ident = random_identity(np.random.default_rng([cfg.seed, 2, int(identity)]))
    person = draw_person(np.random.default_rng([cfg.seed, 4, int(identity)])) \
        if cfg.expressions == "distribution" else NEUTRAL_PERSON
    tl = make_timeline(label, length, rng, cfg.placement, cfg.expressions, person)
    S = cfg.size
    look = random_look(rng, S)
    pad = look.bg.shape[0] - S
    drift = np.stack([_smooth_walk(rng, length, pad / 2) + pad / 2, _smooth_walk(rng, length, pad / 2) + pad / 2], 1)
    if cfg.scene:   # a small face wandering through a larger frame
        base_scale = rng.uniform(0.38, 0.55)
        cx = 0.5 + _smooth_walk(rng, length, 0.22, cycles=1.0)
        cy = 0.5 + _smooth_walk(rng, length, 0.12, cycles=1.0)
    else:
        base_scale = rng.uniform(0.92, 1.06)
        cx = 0.5 + _smooth_walk(rng, length, 0.03)
        cy = 0.52 + _smooth_walk(rng, length, 0.03)
    roll = rng.uniform(-5, 5) + _smooth_walk(rng, length, 6.0)
    scale = base_scale * (1 + _smooth_walk(rng, length, 0.04))
    yaw = rng.uniform(-0.4, 0.4) + _smooth_walk(rng, length, 0.4)
    gaze = _smooth_walk(rng, length, 0.8, cycles=3)
    gain = rng.uniform(0.8, 1.15) * (1 + _smooth_walk(rng, length, 0.04, cycles=4))
    # occlusion over part of the clip in 12% of clips: a hand (skin) or an object (dark)
    occ = None
    if rng.random() < 0.12:
        n = max(2, int(length * rng.uniform(0.2, 0.5)))
        s = int(rng.integers(0, max(1, length - n)))
        occ = (s, s + n, (rng.uniform(-0.5, 0.5), float(rng.choice([-0.2, 0.6])), bool(rng.random() < 0.5)))

    frames = np.empty((length, S, S, 3), np.uint8)
    boxes = np.zeros((length, 4), np.float32)
    for t in range(length):
        pose = Pose(cx=float(cx[t]), cy=float(cy[t]), roll=float(roll[t]), scale=float(scale[t]),
                    yaw=float(yaw[t]), gaze=float(gaze[t]))
        occluder = occ[2] if occ is not None and occ[0] <= t < occ[1] else None
        frames[t], boxes[t] = compose_frame(look, ident, pose, tl.au[t], drift[t], float(gain[t]), rng,
                                            occluder=occluder, asym=tl.asym)
    return frames, tl, boxes


# ----------------------------------------------------------------------------- writing

def _write_video(path: Path, frames: np.ndarray) -> None:

    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        # One thread. The mp4 bytes are not reproducible from one generator process to the next (seen 2026-12-02: 9-12
        # of 40 clips of a format-2 set decoded to other frames; the same clip in one process encodes the same); the
        # JPEG frames, which the protocol reads (videos: false), are identical every run.
        stream.options = {"crf": "18", "preset": "veryfast", "threads": "1"}
        for f in frames:
            yuv = cv2.cvtColor(f, cv2.COLOR_RGB2YUV_I420)        # convert here: swscale's output varies with alignment
            for packet in stream.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, path)


def _jpeg(rgb: np.ndarray, what: str) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise OSError(f"could not encode {what}")
    return buf.tobytes()


def _render_and_write(job) -> list[dict]:
    out, row, cfg = job
    names = class_names("dfew")
    vid = f"{int(row['video_name']):05d}"
    frames, tl, boxes = render_clip(int(row["video_name"]), names[int(row["label"]) - 1], int(row["identity"]),
                                    int(row["num_frames"]), cfg)
    fdir = out / "Clip" / "clip_224x224" / vid
    fdir.mkdir(parents=True, exist_ok=True)
    jpegs = [_jpeg(f, f"frame {t + 1} of clip {vid}") for t, f in enumerate(frames)]   # each frame encoded once
    for t, data in enumerate(jpegs):
        (fdir / f"{vid}_{t + 1:05d}.jpg").write_bytes(data)
    d16 = out / "Clip" / "clip_224x224_16f" / vid
    d16.mkdir(parents=True, exist_ok=True)
    for k, t in enumerate(np.round(np.linspace(0, len(frames) - 1, 16)).astype(int)):
        (d16 / f"{k + 1}.jpg").write_bytes(jpegs[t])                   # unpadded names, as DFEW; the same bytes
    if cfg.videos:
        _write_video(out / "Clip" / "original" / f"{vid}.mp4", frames)
    return [dict(video_name=int(row["video_name"]), frame=t + 1, intensity=round(float(tl.intensity[t]), 4),
                 expressive=bool(tl.intensity[t] >= EXPRESSIVE_THRESHOLD), blink=bool(tl.blink[t]),
                 speech=bool(tl.speech[t]), flicker=bool(tl.flicker[t]),
                 box_x0=round(float(boxes[t, 0]), 2), box_y0=round(float(boxes[t, 1]), 2),
                 box_x1=round(float(boxes[t, 2]), 2), box_y1=round(float(boxes[t, 3]), 2))
            for t in range(len(frames))] + [dict(_clip=True, video_name=int(row["video_name"]), onset=tl.onset,
                                                 apex_start=tl.apex[0], apex_end=tl.apex[1], offset=tl.offset,
                                                 apex_intensity=round(tl.apex_intensity, 4),
                                                 **_format3_truth(tl, cfg))]


def _format3_truth(tl, cfg: GenerateConfig) -> dict:
    """The drawn expression's variant (index into expressions.json) and one-sidedness; format 3 only."""
    return dict(variant=tl.variant, asym=round(tl.asym, 3)) if cfg.expressions == "distribution" else {}


def _manifest(cfg: GenerateConfig) -> dict:
    d = asdict(cfg)
    d["replica"] = Path(cfg.replica).name if cfg.replica else ""
    d["folds"] = sorted(cfg.folds)                                       # as JSON reads it back: a list
    for key, before in (("expressions", "prototype"), ("test_per_class", 0), ("independent", False), ("folds", [])):
        if d[key] == before:
            del d[key]                 # a format-2 set's manifest reads as it did before these settings existed
    if cfg.expressions == "distribution":   # a set drawn from another expressions.json is another benchmark
        d["expressions_sha256"] = expressions_sha()
    return {"generator": "tgdfer.synth", "format_version": format_version(cfg), "config": d}


def is_complete(out: str | os.PathLike, cfg: GenerateConfig | None = None) -> bool:
    """True when `out` holds a finished set (and, given `cfg`, one made with the same settings)."""
    m = Path(out) / "manifest.json"
    if not m.is_file():
        return False
    if cfg is None:
        return True
    have = json.loads(m.read_text())
    want = _manifest(cfg)
    return have.get("format_version") == want["format_version"] and have.get("config") == want["config"]


def generate(out: str | os.PathLike, cfg: GenerateConfig = GenerateConfig(), workers: int | None = None,
             overwrite: bool = False) -> Path:
    """Render the benchmark into `out` (see the module docstring). Returns `out`.

    An existing complete set made with the same settings is reused; a different or unfinished one
    is refused unless `overwrite`, so that nothing a user made is replaced by surprise.
    """
    out = Path(out)
    if cfg.size % 2 or cfg.size < 32:
        raise ValueError(f"size must be even and at least 32 (got {cfg.size}): the mp4 encoder needs even sides")
    if cfg.clips < 1 and not cfg.replica:
        raise ValueError(f"clips must be at least 1 (got {cfg.clips})")
    if cfg.independent and not cfg.test_per_class:
        raise ValueError("independent training draws need held-out test splits: set test_per_class too")
    if cfg.test_per_class and cfg.replica:
        raise ValueError("test_per_class renders test splits of its own; a replica keeps the real lists' folds: choose one")
    if cfg.expressions not in EXPRESSION_MODELS:
        raise ValueError(f"expressions must be one of {EXPRESSION_MODELS} (got {cfg.expressions!r})")
    folds_ok = set(cfg.folds) <= set(range(1, 6)) and len(set(cfg.folds)) == len(cfg.folds)
    if cfg.folds and not (cfg.independent and folds_ok):
        raise ValueError(f"folds {tuple(cfg.folds)}: a subset of the folds 1-5, each once, and only with independent "
                         "training draws (other sets share clips between folds, so a fold cannot be rendered alone)")
    if is_complete(out, cfg) and not overwrite:
        return out
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            what = "a benchmark made with other settings" if is_complete(out) else "files that are not a finished benchmark"
            raise FileExistsError(f"{out} already holds {what}; choose another --out or pass --overwrite")
        for sub in ("Clip", "EmoLabel_DataSplit", "ground_truth", "manifest.json"):
            p = out / sub
            shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    plan = _plan_replica(cfg) if cfg.replica else _plan_heldout(cfg) if cfg.test_per_class else _plan_synthetic(cfg)
    if cfg.folds:             # the whole set's plan, cut to these folds: each clip renders from its own seeds
        plan = plan[plan["fold"].isin(cfg.folds)].reset_index(drop=True)
    (out / "Clip" / "original").mkdir(parents=True, exist_ok=True)

    jobs = [(out, row, cfg) for row in plan.to_dict("records")]
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    rows = []
    if workers == 1:
        it = map(_render_and_write, jobs)
        for r in progress(it, total=len(jobs), desc="render clips"):
            rows.extend(r)
    else:
        with mp.get_context("spawn" if os.name == "nt" else "fork").Pool(workers) as pool:
            for r in progress(pool.imap(_render_and_write, jobs, chunksize=4), total=len(jobs), desc="render clips"):
                rows.extend(r)
    clip_rows = pd.DataFrame([r for r in rows if r.get("_clip")]).drop(columns="_clip")
    frame_rows = pd.DataFrame([r for r in rows if not r.get("_clip")])

    split_dir = out / "EmoLabel_DataSplit"
    for k in sorted(cfg.folds) or range(1, 6):
        for split, mask in zip(("train", "test"), _split_masks(plan, k)):
            d = split_dir / f"{split}(single-labeled)"
            d.mkdir(parents=True, exist_ok=True)
            atomic_write_text(d / f"set_{k}.csv", plan.loc[mask, ["video_name", "label"]].to_csv(index=False))
    gt = out / "ground_truth"
    gt.mkdir(exist_ok=True)
    names = class_names("dfew")
    clips = plan.merge(clip_rows, on="video_name")
    clips.insert(2, "label_name", [names[i - 1] for i in clips["label"]])
    atomic_write_text(gt / "clips.csv", clips.to_csv(index=False))
    atomic_write_text(gt / "frames.csv", frame_rows.to_csv(index=False))
    atomic_write_text(gt / "README.md", _GT_README)
    man = _manifest(cfg)
    man.update(tgdfer_version=__version__, clips=int(len(plan)), frames=int(len(frame_rows)))
    atomic_write_text(out / "manifest.json", json.dumps(man, indent=2) + "\n")
    return out


_GT_README = f"""# Ground truth of the generated benchmark

- `clips.csv`: one row a clip: `video_name` (DFEW-style id), `label` (1-based, DFEW order), `label_name`,
  `identity` (the drawn person; folds never share one), `num_frames`, `fold` (the test fold of
  `set_<fold>`; with held-out test splits, `role` says 'test' for those clips and 'pool' for the training pool,
  whose `fold` is then the identity group that fold `<fold>` leaves out of its training split), and the expression's timeline: `onset`, `apex_start`, `apex_end`, `offset` (0-based frame
  indices; -1 for neutral clips; `onset` may lie before the clip's start and `offset` past its end: the
  expression's centre is uniform over the clip, so it may be cut at either end) and `apex_intensity`;
  in format 3 also `variant` (which of the class's unit combinations in tgdfer/assets/expressions.json the
  clip moves, 0-based) and `asym` (how much stronger its lateral units are on the image's right side, -1..1).
- `frames.csv`: one row a frame (`frame` is 1-based, as in the file names): `intensity` of the labelled
  expression in [0, 1], `expressive` (intensity >= {EXPRESSIVE_THRESHOLD}: the frame shows the emotion),
  the distractors `blink`, `speech`, `flicker` (a brief low-intensity other expression) and the face box
  `box_x0, box_y0, box_x1, box_y1` in pixels.
"""
