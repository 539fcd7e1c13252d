"""Frames from disk: video files through PyAV (or decord / torchcodec where installed), frame folders through PIL.

In: a clip path (video file or frame folder) and frame indices. Out: uint8 RGB frames
[T, H, W, 3] as a numpy array. Any container and codec that FFmpeg reads works for video; any
resolution and aspect ratio is accepted (the transform makes them square later). Failures raise
`DataError` naming the file.
"""
from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
from PIL import Image

from .errors import DataError
from .layouts import IMAGE_SUFFIXES, VIDEO_SUFFIXES, list_frames


# Video decoder: "pyav" (FFmpeg bundled in PyAV's wheels: installs on every platform, the default install's),
# "decord" (`pip install 'tgdfer[decord]'`: x86_64 Linux and Windows wheels only), "torchcodec" (`pip install
# torchcodec`; needs FFmpeg's shared libraries on the machine), or "auto" (default): the fastest that imports, in the
# order the data-pipeline benchmark measured them (docs/performance.md: torchcodec, decord, PyAV; the same frames to
# the bit on the tests' videos). Set TGDFER_VIDEO_BACKEND or assign this variable.
VIDEO_BACKEND = os.environ.get("TGDFER_VIDEO_BACKEND", "auto")
BACKENDS = ("auto", "pyav", "decord", "torchcodec")


def backend() -> str:
    """The decoder `VIDEO_BACKEND` names ('auto' resolved)."""
    if VIDEO_BACKEND not in BACKENDS:
        raise ValueError(f"TGDFER_VIDEO_BACKEND must be one of {', '.join(BACKENDS)} (got {VIDEO_BACKEND!r})")
    if VIDEO_BACKEND != "auto":
        return VIDEO_BACKEND
    for name, module in (("torchcodec", "torchcodec.decoders"), ("decord", "decord")):
        try:
            __import__(module)
            return name
        except Exception:  # noqa: BLE001 - not installed, or torchcodec without FFmpeg's libraries (RuntimeError)
            pass
    return "pyav"


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _open_video(path: Path):
    try:
        import decord
    except ImportError:
        raise DataError(path, "the decord decoder was asked for (TGDFER_VIDEO_BACKEND=decord) but is not installed",
                        "pip install 'tgdfer[decord]' (x86_64 Linux, Windows), or use TGDFER_VIDEO_BACKEND=pyav") from None

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


class _TorchCodecReader:
    """ClipReader's video methods on torchcodec (FFmpeg's libraries must be installed on the machine)."""
    def __init__(self, path: Path):
        from torchcodec.decoders import VideoDecoder  # late: optional dependency

        if not path.is_file():
            raise DataError(path, "video file not found", "check --root and the media type; the split file lists this clip")
        try:
            self.dec = VideoDecoder(str(path), dimension_order="NHWC", seek_mode="approximate")
            self.n = int(self.dec.metadata.num_frames or 0)
        except Exception as e:  # noqa: BLE001
            raise DataError(path, f"cannot decode video ({str(e).splitlines()[0][:160]})",
                            "re-encode it (e.g. ffmpeg -i in.mp4 -c:v libx264 out.mp4) or remove it from the split") from None
        if self.n < 1:
            raise DataError(path, "video has no frames", "re-encode it or remove it from the split")

    def __len__(self) -> int:
        return self.n

    def read(self, uniq: np.ndarray) -> np.ndarray:
        return self.dec.get_frames_at(indices=[int(i) for i in uniq]).data.numpy()


def _video_reader(path: Path):
    b = backend()
    return _PyAVReader(path) if b == "pyav" else _TorchCodecReader(path) if b == "torchcodec" else _open_video(path)


def count_frames(path: str | Path) -> int:
    """Number of frames of a video file or frame folder."""
    path = Path(path)
    if is_video(path):
        return len(_video_reader(path))
    return len(list_frames(path))


class ClipReader:
    """Random access to the frames of one clip; opened once, read several times (views)."""
    def __init__(self, path: str | Path, draft_size: int | None = None):
        self.path = Path(path)
        self.draft_size = draft_size
        if is_video(self.path):
            self._vr = _video_reader(self.path)
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
            if isinstance(self._vr, (_PyAVReader, _TorchCodecReader)):
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
