"""Faces from raw video: detection, one stable track, alignment by the eyes, crops in DFEW naming.

In: frames of a whole scene [T, H, W, 3] (a webcam recording, an interview, a raw corpus clip).
Out: face crops [T, S, S, 3] that look like DFEW/FERV39k's face-aligned frames, plus the track.
The detector sits behind a two-method interface (`FaceDetector`): the default is OpenCV's Haar
cascades, which ship inside `opencv-python-headless` 4.x and run offline anywhere; a stronger
detector (RetinaFace, MediaPipe, ...) plugs in by implementing `detect` (and optionally `eyes`).
The crop is a square `crop_scale` times the detected box's side; the default frames the face as
DFEW's released 224x224 clips do (forehead to chin, little background).
"""
from __future__ import annotations

import csv
import multiprocessing as mp
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..config import CROP_SCALE
from ..io import atomic_write_text
from ..progress import progress
from .decode import ClipReader, is_video
from .errors import DataError


def check_crop_scale(crop_scale: float | None, margin: float | None = None) -> float:
    """The crop scale to use: validated, or converted from the deprecated per-side `margin` (1 + 2 * margin)."""
    if margin is not None:
        if crop_scale not in (None, CROP_SCALE):
            raise ValueError("give crop_scale or the deprecated margin, not both (crop_scale = 1 + 2 * margin)")
        warnings.warn(f"margin is deprecated: use crop_scale={1 + 2 * margin:g} (the crop side as a multiple of the "
                      f"face box side, 1 + 2 * margin); the default {CROP_SCALE} frames faces like DFEW", FutureWarning,
                      stacklevel=3)
        crop_scale = 1 + 2 * margin
    crop_scale = CROP_SCALE if crop_scale is None else float(crop_scale)
    if not 0.5 <= crop_scale <= 4.0:
        raise ValueError(f"crop_scale {crop_scale:g} is outside 0.5..4: it is the crop side as a multiple of the detected "
                         f"face box side ({CROP_SCALE}: DFEW-like framing), not a margin per side (margin m is "
                         "crop_scale 1 + 2m)")
    return crop_scale


class FaceDetector(Protocol):
    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """Face boxes of one RGB frame: [N, 5] = x0, y0, x1, y1, score (pixels)."""

    def eyes(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """The two eye centres inside a face box, [2, 2] (left, right in the image), or None."""


class HaarDetector:
    """OpenCV Haar cascades (frontal face + eyes): offline, no weights to download."""
    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 4, min_size: float = 0.06):
        root = cv2.data.haarcascades
        self.face = cv2.CascadeClassifier(os.path.join(root, "haarcascade_frontalface_default.xml"))
        self.eye = cv2.CascadeClassifier(os.path.join(root, "haarcascade_eye.xml"))
        if self.face.empty() or self.eye.empty():
            raise FileNotFoundError(f"Haar cascades not found under {root}: install opencv-python-headless 4.x "
                                    "(version 5 no longer ships them)")
        self.scale_factor, self.min_neighbors, self.min_size = scale_factor, min_neighbors, min_size

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        side = max(16, int(self.min_size * min(gray.shape)))
        rects, counts = self.face.detectMultiScale2(gray, self.scale_factor, self.min_neighbors, minSize=(side, side))
        if len(rects) == 0:
            return np.zeros((0, 5), np.float32)
        r = np.asarray(rects, np.float32)
        return np.concatenate([r[:, :2], r[:, :2] + r[:, 2:], np.asarray(counts, np.float32)[:, None]], 1)

    def eyes(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        x0, y0, x1, y1 = [int(round(v)) for v in box[:4]]
        H, W = rgb.shape[:2]
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
        top = cv2.cvtColor(rgb[y0:y0 + max(1, (y1 - y0) * 6 // 10), x0:x1], cv2.COLOR_RGB2GRAY)
        if top.size == 0:
            return None
        side = max(6, (x1 - x0) // 8)
        found = self.eye.detectMultiScale(cv2.equalizeHist(top), 1.1, 3, minSize=(side, side))
        if len(found) < 2:
            return None
        found = sorted(found, key=lambda e: -e[2] * e[3])[:2]                 # the two largest
        centres = np.array([[x0 + x + w / 2, y0 + y + h / 2] for x, y, w, h in found], np.float32)
        centres = centres[np.argsort(centres[:, 0])]
        dx, dy = centres[1] - centres[0]
        if dx < (x1 - x0) * 0.2 or abs(dy) > dx:                             # not a plausible eye pair
            return None
        return centres


@dataclass
class Track:
    boxes: np.ndarray                  # [T, 4] smoothed x0 y0 x1 y1 of the kept face, every frame
    found: np.ndarray                  # [T] bool: a detection matched this frame (others are bridged)
    angle: np.ndarray                  # [T] in-plane rotation (degrees) from the eyes, smoothed; 0 when unknown
    raw: list = field(default_factory=list)   # per frame: the matched raw box [4] or None

    @property
    def found_ratio(self) -> float:
        return float(self.found.mean()) if len(self.found) else 0.0


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _similar(a: np.ndarray, b: np.ndarray, max_shift: float = 0.6, max_scale: float = 1.4) -> bool:
    """Same face in nearby frames: centres within `max_shift` sizes, sizes within a factor `max_scale`."""
    sa, sb = max(a[2] - a[0], a[3] - a[1]), max(b[2] - b[0], b[3] - b[1])
    if not 1 / max_scale <= sb / sa <= max_scale:
        return False
    dc = np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2) / sa
    return dc < max_shift


def _pick_start(dets: list[np.ndarray], shape, window: int = 7) -> tuple[int, np.ndarray] | None:
    """The frame and box to start the track from: a face that persists (detected in many nearby
    frames; sporadic false detections do not), large and central."""
    H, W = shape
    best, where = -1.0, None
    for t, d in enumerate(dets):
        for b in d:
            lo, hi = max(0, t - window), min(len(dets), t + window + 1)
            support = sum(any(_similar(b, c) for c in dets[u]) for u in range(lo, hi)) / (hi - lo)
            cx, cy = (b[0] + b[2]) / 2 / W - 0.5, (b[1] + b[3]) / 2 / H - 0.5
            area = (b[2] - b[0]) * (b[3] - b[1]) / (W * H)
            score = support * np.sqrt(area) * (1.0 - min(1.0, np.hypot(cx, cy)))
            if score > best:
                best, where = score, (t, b[:4].copy())
    return where


def _follow(dets, start: int, box: np.ndarray, order) -> dict[int, np.ndarray]:
    """Link detections frame to frame from `start` in `order`: the nearest one of a similar size."""
    out = {start: box}
    cur = box
    for t in order:
        cands = [b for b in dets[t] if _similar(cur, b)]
        if not cands:
            continue
        cur = max(cands, key=lambda b: (_iou(b, cur), -np.hypot(b[0] + b[2] - cur[0] - cur[2],
                                                              b[1] + b[3] - cur[1] - cur[3])))[:4].copy()
        out[t] = cur
    return out


def _smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average along time, edges padded by repetition: [T, ...] -> [T, ...]."""
    if window <= 1 or len(x) < 3:
        return x
    w = min(window, len(x) if len(x) % 2 else len(x) - 1)
    pad = w // 2
    xp = np.concatenate([np.repeat(x[:1], pad, 0), x, np.repeat(x[-1:], pad, 0)])
    kernel = np.ones(w) / w
    return np.stack([np.convolve(xp[:, j], kernel, mode="valid") for j in range(x.shape[1])], 1)


def track_faces(frames: np.ndarray, detector: FaceDetector | None = None, smooth: int = 5,
                detect_every: int = 1) -> Track | None:
    """Detect in every frame, keep one face track (largest, most central, stable), bridge gaps, smooth.

    Returns None when no face is found in any frame.
    """
    detector = detector or HaarDetector()
    T = len(frames)
    dets = [detector.detect(frames[t]) if t % detect_every == 0 else np.zeros((0, 5), np.float32) for t in range(T)]
    start = _pick_start(dets, frames.shape[1:3])
    if start is None:
        return None
    t0, box0 = start
    matched = _follow(dets, t0, box0, range(t0 + 1, T))
    matched.update(_follow(dets, t0, box0, range(t0 - 1, -1, -1)))
    found = np.zeros(T, bool)
    found[list(matched)] = True
    keys = np.array(sorted(matched))
    vals = np.stack([matched[k] for k in keys])                                    # [K, 4]
    # bridge gaps by linear interpolation of centre and size; hold the ends
    centre = np.stack([(vals[:, 0] + vals[:, 2]) / 2, (vals[:, 1] + vals[:, 3]) / 2,
                       vals[:, 2] - vals[:, 0], vals[:, 3] - vals[:, 1]], 1)         # [K, 4] cx cy w h
    t = np.arange(T)
    full = np.stack([np.interp(t, keys, centre[:, j]) for j in range(4)], 1)       # [T, 4]
    full = _smooth(full, smooth)
    side = np.maximum(full[:, 2], full[:, 3])                                     # square boxes
    boxes = np.stack([full[:, 0] - side / 2, full[:, 1] - side / 2, full[:, 0] + side / 2, full[:, 1] + side / 2], 1)
    # in-plane angle from the eyes where both are found, interpolated and smoothed
    angles = np.full(T, np.nan)
    for k in keys:
        e = detector.eyes(frames[k], matched[k]) if hasattr(detector, "eyes") else None
        if e is not None:
            angles[k] = np.degrees(np.arctan2(e[1, 1] - e[0, 1], e[1, 0] - e[0, 0]))
    ok = ~np.isnan(angles)
    angle = np.interp(t, t[ok], angles[ok]) if ok.any() else np.zeros(T)
    angle = _smooth(angle[:, None], smooth)[:, 0]
    return Track(boxes.astype(np.float32), found, angle.astype(np.float32), [matched.get(i) for i in range(T)])


def align_crop(rgb: np.ndarray, box: np.ndarray, angle: float = 0.0, size: int = 224,
               crop_scale: float = CROP_SCALE) -> np.ndarray:
    """Square crop of side `crop_scale` x the box side around `box`, rotated by -angle (eyes level), resized:
    [H, W, 3] -> [size, size, 3]."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = max(box[2] - box[0], box[3] - box[1]) * crop_scale
    s = size / side
    m = cv2.getRotationMatrix2D((float(cx), float(cy)), float(angle), float(s))   # rotate+scale about the centre
    m[:, 2] += np.array([size / 2 - cx, size / 2 - cy])
    return cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def crop_clip_faces(frames: np.ndarray, detector: FaceDetector | None = None, size: int = 224,
                    crop_scale: float = CROP_SCALE, margin: float | None = None) -> tuple[np.ndarray, int]:
    """Face crops of a clip's frames [T, H, W, 3] -> [T, size, size, 3] and how many frames had a detection
    (0: frames returned as they are). `margin` is deprecated (crop_scale = 1 + 2 * margin)."""
    crop_scale = check_crop_scale(crop_scale, margin)
    tr = track_faces(frames, detector)
    if tr is None:
        return frames, 0
    crops = np.stack([align_crop(f, b, a, size, crop_scale) for f, b, a in zip(frames, tr.boxes, tr.angle)])
    return crops, int(tr.found.sum())


# ----------------------------------------------------------------------------- the `faces` command

@dataclass
class FaceReport:
    clip_id: str
    source: str
    frames: int
    found: int
    status: str            # ok | partial (face in < 50% of frames) | no face | error: ...
    out: str = ""


def _inputs(inp: Path, label: str = "") -> list[dict]:
    """Clips to process: a video, a frame folder, or a generic CSV (path,label[,split,group])."""
    if inp.suffix.lower() == ".csv":
        with open(inp, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows or "path" not in rows[0]:
            from .errors import DataError

            raise DataError(inp, "needs a header with a path column (path,label[,split,group])",
                            "use the generic CSV format of `prepare --dataset csv`")
        out = []
        for r in rows:
            p = Path(r["path"])
            p = p if p.is_absolute() else inp.parent / p
            out.append({"path": p, "label": r.get("label", ""), "split": r.get("split", ""), "group": r.get("group", "")})
        return out
    if is_video(inp) or inp.is_dir():
        return [{"path": inp, "label": label, "split": "", "group": ""}]
    raise ValueError(f"{inp}: not a video file, a frame folder or a .csv list")


def _clip_id(path: Path) -> str:
    return path.stem if path.suffix else path.name


def _process(job) -> FaceReport:
    item, out, size, crop_scale, detect_every, chunk = job

    path = Path(item["path"])
    cid = _clip_id(path)
    try:
        reader = ClipReader(path)
    except DataError as e:
        return FaceReport(cid, str(path), 0, 0, f"error: {e.problem}")
    detector = HaarDetector()
    n = reader.num_frames
    frames = np.concatenate([reader.read(np.arange(s, min(n, s + chunk))) for s in range(0, n, chunk)])
    tr = track_faces(frames, detector, detect_every=detect_every)
    if tr is None:
        return FaceReport(cid, str(path), n, 0, "no face")
    folder = Path(out) / "clip_224x224" / cid
    folder.mkdir(parents=True, exist_ok=True)
    for t in range(n):
        crop = align_crop(frames[t], tr.boxes[t], tr.angle[t], size, crop_scale)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        (folder / f"{cid}_{t + 1:05d}.jpg").write_bytes(buf.tobytes())
    found = int(tr.found.sum())
    return FaceReport(cid, str(path), n, found, "ok" if found >= 0.5 * n else "partial", str(folder))


def extract_faces(inp: str | os.PathLike, out: str | os.PathLike, size: int = 224, crop_scale: float = CROP_SCALE,
                  workers: int | None = None, detect_every: int = 1, label: str = "",
                  *, margin: float | None = None) -> list[FaceReport]:
    """Face-crop every clip of `inp` into `out/clip_224x224/<id>/<id>_<frame>.jpg`; write `out/clips.csv`
    (ready for `prepare --dataset csv`) and `out/faces_report.csv` (every clip, none dropped silently).
    `margin` is deprecated (crop_scale = 1 + 2 * margin)."""
    crop_scale = check_crop_scale(crop_scale, margin)
    inp, out = Path(inp), Path(out)
    items = _inputs(inp, label)
    ids = [_clip_id(Path(i["path"])) for i in items]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"{inp}: clip names repeat ({sorted(dup)[:3]}); frame folders are named by clip, so names "
                         "must be unique")
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(it, str(out), size, crop_scale, detect_every, 256) for it in items]
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if workers == 1:
        reports = [_process(j) for j in progress(jobs, total=len(jobs), desc="faces")]
    else:
        with mp.get_context("spawn").Pool(workers) as pool:
            reports = list(progress(pool.imap(_process, jobs), total=len(jobs), desc="faces"))
    lines = ["path,label,split,group"]
    for it, rep in zip(items, reports):
        if rep.status in ("ok", "partial"):
            rel = os.path.relpath(rep.out, out)
            lines.append(",".join([rel, it["label"], it["split"], it["group"]]))
    atomic_write_text(out / "clips.csv", "\n".join(lines) + "\n")
    rep_lines = ["clip_id,source,frames,found,status"] + [
        f"{r.clip_id},{r.source},{r.frames},{r.found},{r.status}" for r in reports]
    atomic_write_text(out / "faces_report.csv", "\n".join(rep_lines) + "\n")
    return reports


def crop_scale_from_flags(crop_scale: float | None, margin: float | None) -> tuple[float, str | None]:
    """The command line's --crop-scale / deprecated --margin: (the crop scale, a deprecation note or None)."""
    if margin is None:
        return crop_scale or CROP_SCALE, None
    if crop_scale is not None:
        raise ValueError("give --crop-scale or the deprecated --margin, not both (--crop-scale = 1 + 2 x margin)")
    scale = 1 + 2 * margin
    return scale, (f"warning: --margin is deprecated; this run uses --crop-scale {scale:g} (= 1 + 2 x {margin:g}). "
                   f"The default, {CROP_SCALE}, frames faces like DFEW's clips.")


def faces_summary(reports: list[FaceReport], out: str | os.PathLike) -> str:
    """What `extract_faces` did, as the `faces` command prints it: counts, partial clips, clips without a face."""
    by: dict[str, list[FaceReport]] = {}
    for r in reports:
        by.setdefault(r.status.split(":")[0], []).append(r)
    lines = [f"{len(reports)} clip(s): " + ", ".join(f"{len(v)} {k}" for k, v in sorted(by.items()))]
    lines += [f"  partial (face in {r.found}/{r.frames} frames, gaps bridged): {r.source}" for r in by.get("partial", [])]
    lines += [f"  {r.status}: {r.source}" for r in by.get("no face", []) + by.get("error", [])]
    lines.append(f"crops under {out}/clip_224x224/, index {out}/clips.csv, every clip listed in {out}/faces_report.csv")
    return "\n".join(lines)
