"""Prediction on a user's own clip: a video file or a folder of frames.

In: the path and a checkpoint. Out: class probabilities, the per-frame relevance, and a PNG of the
sampled frames with the relevance of the predicted class under each frame. Raw video (a whole
scene) is first cut down to the face track (`faces.py`); pass `faces=False` for clips that are
already face crops (as DFEW and FERV39k frames are). Every prediction says what the model was trained
on, and warns when a model of drawn faces (the generated benchmark, the tiny backbone) meets a real video.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..data.decode import ClipReader, is_video
from ..data.faces import CROP_SCALE
from ..data.ground_truth import is_generated
from ..data.sampling import segment_indices
from ..data.transforms import ClipTransform
from ..report.figures import frame_strip
from ..engine.checkpoint import model_from, read_checkpoint
from ..engine.device import resolve_device


TINY = ("tgdfer-tiny", "TGDFER-Tiny")
REAL_FACES = ("For a model of real faces, train on DFEW with CLIP weights: README, \"Real data: DFEW, FERV39k, MAFW\" "
              "(prepare --dataset dfew, fetch-weights, train --config tgdfer-b16).")


class TrainedOnWarning(UserWarning):
    """A model applied to data unlike what it was trained on (drawn faces -> a real video)."""


def _data_text(on: dict | None, ck: dict | None) -> tuple[str, str]:
    """(long, short) description of what a checkpoint learned from (its `trained_on` record)."""
    if not on:
        why = "a checkpoint written before tgdfer recorded its training data" if ck else "a model given directly"
        return f"unknown ({why})", "unknown data"
    fold = f", fold {on['fold']}" if on.get("fold") is not None else ""
    if on.get("generated_benchmark"):
        return f"the generated benchmark (drawn faces){fold}", f"generated benchmark{fold}"
    return f"{on.get('dataset', '?')}{fold} ({on.get('root', '')})", f"{on.get('dataset', '?')}{fold}"


def describe_model(ck: dict | None, model) -> dict:
    """What a model was trained on, from its checkpoint (None: a model given directly): dataset label,
    whether that was the generated benchmark (None when unknown), config, backbone weights, one-line texts."""
    on = (ck or {}).get("trained_on")
    cfg = ck["config"] if ck else {"name": "(a model given directly)", "model": {"clip_model": model.cfg.clip_model}}
    bb = ck["backbone"] if ck else model.backbone.info
    clip, tag = bb.get("clip_model") or cfg["model"]["clip_model"], bb.get("pretrained") or "none"
    weights = f"weights '{tag}'" if tag != "none" else "no pretrained weights"
    if bb.get("weights_file"):
        weights += f" ({Path(bb['weights_file']).name}, sha256 {str(bb.get('weights_sha256'))[:12]})"
    data, data_short = _data_text(on, ck)
    name = cfg.get("name", "?")
    return {"dataset": on.get("dataset", "?") if on else "unknown",
            "generated_benchmark": bool(on.get("generated_benchmark")) if on else None,
            "config": name, "backbone": f"{clip}, {weights}", "tiny": name in TINY or clip in TINY,
            "text": f"config {name} ({cfg.get('variant', 'tgdfer')}), backbone {clip} with {weights}; trained on {data}",
            "short": f"{name} ({clip}, {Path(tag).name}), trained on {data_short}"}   # a weights path: its file name


def from_generated_benchmark(path) -> bool:
    """True when `path` lies under a folder whose manifest.json says the generated benchmark wrote it."""
    p = Path(path).resolve()
    return any(is_generated(d) for d in (p, *p.parents))


def scope_warning(desc: dict, path) -> str | None:
    """The warning for a model of drawn faces applied to a video that is not from the generated benchmark."""
    why = [w for w, hit in (("was trained on the generated benchmark (drawn faces)", desc["generated_benchmark"]),
                            ("is built on the tiny backbone (pretrained on drawn faces only)", desc["tiny"])) if hit]
    if not why or from_generated_benchmark(path):
        return None
    return f"this model {' and '.join(why)}; its scores say nothing about real faces. {REAL_FACES}"


def predict(path, checkpoint, out=None, device: str = "auto", faces: bool = True, model=None,
            crop_scale: float = CROP_SCALE) -> dict:
    """Classify one clip; returns {'probabilities', 'pred', 'relevance' [T, C], 'frame_index', 'figure',
    'faces_found', 'model' (what it was trained on), 'warning' (None, or why the scores mean little), 'title'}."""
    path = Path(path)
    if checkpoint is None and model is None:
        raise ValueError("predict needs a checkpoint: a run's last.pt or best.pt (python -m tgdfer train writes them)")
    dev = resolve_device(device)
    ck = read_checkpoint(checkpoint) if checkpoint is not None else None
    model = model or model_from(ck, dev, source=checkpoint)
    desc = describe_model(ck, model)
    warning = scope_warning(desc, path)
    if warning:
        warnings.warn(warning, TrainedOnWarning, stacklevel=2)
    reader = ClipReader(path)
    idx = segment_indices(reader.num_frames, model.cfg.frames, train=False)                  # [T]
    frames = reader.read(idx)                                                                 # [T, H, W, 3]
    crop_note, found = "", None
    if faces and is_video(path):
        from ..data.faces import crop_clip_faces

        frames, found = crop_clip_faces(frames, crop_scale=crop_scale)
        crop_note = f", face crops ({found}/{len(frames)} frames with a detected face)" if found else \
            ", no face detected: whole frames used"
    tf = ClipTransform(model.backbone.image_size, train=False, mean=model.backbone.mean, std=model.backbone.std)
    video = tf(frames).unsqueeze(0).to(dev)                                                   # [1, T, 3, S, S]
    with torch.no_grad():
        out_m = model.eval()(video)
    probs = torch.softmax(out_m.logits.float(), 1)[0].cpu().numpy()
    rel = out_m.relevance[0].float().cpu().numpy()                                            # [T, C]
    pred = int(probs.argmax())
    title = (f"{path.name}: {model.class_names[pred]} ({probs[pred]:.2f}){crop_note}\nmodel: {desc['short']}"
             + ("\nWARNING: a model of drawn faces: these scores say nothing about real faces" if warning else ""))
    fig = frame_strip(frames, rel, model.class_names, pred=pred, frame_index=idx, title=title)
    out = Path(out) if out else Path.cwd() / f"{path.stem}_tgdfer.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return {"probabilities": dict(zip(model.class_names, probs.round(4).tolist())), "pred": model.class_names[pred],
            "relevance": rel, "frame_index": np.asarray(idx), "figure": str(out), "faces_found": found,
            "model": desc, "warning": warning, "title": title}
