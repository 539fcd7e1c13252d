"""Frames from disk: video files through decord, frame folders through PIL.

In: a clip path (video file or frame folder) and frame indices. Out: uint8 RGB frames
[T, H, W, 3] as a numpy array. Any container and codec that FFmpeg reads works for video; any
resolution and aspect ratio is accepted (the transform makes them square later). Failures raise
`DataError` naming the file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DataError
from .layouts import IMAGE_SUFFIXES, VIDEO_SUFFIXES, list_frames


# Video decoder: "decord" (default) or "pyav" (FFmpeg through PyAV; faster on this project's benchmark,
# see benchmarks/README.md). Set TGDFER_VIDEO_BACKEND or assign this variable.
VIDEO_BACKEND = os.environ.get("TGDFER_VIDEO_BACKEND", "decord")


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _open_video(path: Path):
    import decord

    if not path.is_file():
        raise DataError(path, "video file not found", "check --root and the media type; the split file lists this clip")
    try:
        vr = decord.VideoReader(str(path), num_threads=1)
        n = len(vr)
    except Exception as e:  # noqa: BLE001 - decord raises plain RuntimeError/DECORDError
        raise DataError(path, f"cannot decode video ({str(e).splitlines()[0][:160]})",
                        "re-encode it (e.g. ffmpeg -i in.mp4 -c:v libx264 out.mp4) or remove it from the split") from None
    if n < 1:
        raise DataError(path, "video has no frames", "re-encode it or remove it from the split")
    return vr


class _PyAVReader:
    """The few VideoReader methods ClipReader uses, on PyAV: sequential decoding up to the last index."""

    def __init__(self, path: Path):
        import av

        if not path.is_file():
            raise DataError(path, "video file not found", "check --root and the media type; the split file lists this clip")
        self.path = path
        try:
            with av.open(str(path)) as c:
                s = c.streams.video[0]
                n = s.frames or sum(1 for _ in c.decode(s))
        except Exception as e:  # noqa: BLE001
            raise DataError(path, f"cannot decode video ({str(e).splitlines()[0][:160]})",
                            "re-encode it (e.g. ffmpeg -i in.mp4 -c:v libx264 out.mp4) or remove it from the split") from None
        if n < 1:
            raise DataError(path, "video has no frames", "re-encode it or remove it from the split")
        self.n = n

    def __len__(self) -> int:
        return self.n

    def read(self, uniq: np.ndarray) -> np.ndarray:
        import av

        want = {int(i): k for k, i in enumerate(uniq)}
        out = [None] * len(uniq)
        last = None
        with av.open(str(self.path)) as c:
            for i, fr in enumerate(c.decode(c.streams.video[0])):
                last = fr
                if i in want:
                    out[want[i]] = fr.to_ndarray(format="rgb24")
                if i >= uniq[-1]:
                    break
        for k, o in enumerate(out):          # a header that over-counts frames: repeat the last one decoded
            if o is None:
                out[k] = last.to_ndarray(format="rgb24")
        return np.stack(out)


def count_frames(path: str | Path) -> int:
    """Number of frames of a video file or frame folder."""
    path = Path(path)
    if is_video(path):
        return len(_PyAVReader(path) if VIDEO_BACKEND == "pyav" else _open_video(path))
    return len(list_frames(path))


class ClipReader:
    """Random access to the frames of one clip; opened once, read several times (views)."""

    def __init__(self, path: str | Path, draft_size: int | None = None):
        self.path = Path(path)
        self.draft_size = draft_size
        if is_video(self.path):
            self._vr = _PyAVReader(self.path) if VIDEO_BACKEND == "pyav" else _open_video(self.path)
            self._files = None
            self.num_frames = len(self._vr)
        else:
            self._vr = None
            self._files = list_frames(self.path)
            self.num_frames = len(self._files)

    def read(self, indices) -> np.ndarray:
        """Frames at `indices` (0-based) as uint8 [T, H, W, 3]."""
        idx = np.asarray(indices, dtype=np.int64)
        if self._vr is not None:
            uniq, inv = np.unique(idx, return_inverse=True)
            if isinstance(self._vr, _PyAVReader):
                return self._vr.read(uniq)[inv]
            try:
                batch = self._vr.get_batch(uniq.tolist()).asnumpy()   # [U, H, W, 3]
            except Exception as e:  # noqa: BLE001
                raise DataError(self.path, f"decoding failed at frames {uniq.tolist()[:4]}... ({str(e)[:120]})",
                                "the file is truncated or corrupt: re-encode it or remove it from the split") from None
            return batch[inv]
        uniq, inv = np.unique(idx, return_inverse=True)
        frames = [self._read_image(self._files[i]) for i in uniq]
        shapes = {f.shape for f in frames}
        if len(shapes) > 1:
            raise DataError(self.path, f"frames differ in size {sorted(shapes)[:3]}",
                            "re-extract the frames at one size")
        return np.stack(frames)[inv]

    def _read_image(self, file: Path) -> np.ndarray:
        try:
            with Image.open(file) as im:
                if self.draft_size and im.format == "JPEG":
                    im.draft("RGB", (self.draft_size, self.draft_size))  # DCT-domain downscale: faster
                return np.asarray(im.convert("RGB"))
        except Exception as e:  # noqa: BLE001
            raise DataError(file, f"unreadable image ({e})", "re-extract this frame or remove the clip") from None


__all__ = ["ClipReader", "count_frames", "is_video", "IMAGE_SUFFIXES", "VIDEO_SUFFIXES"]
