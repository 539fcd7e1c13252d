"""Prediction on a user's own clip: a video file or a folder of frames.

In: the path and a checkpoint. Out: class probabilities, the per-frame relevance, and a PNG of the
sampled frames with the relevance of the predicted class under each frame. Raw video (a whole
scene) is first cut down to the face track (`faces.py`); pass `faces=False` for clips that are
already face crops (as DFEW and FERV39k frames are).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .data.decode import ClipReader, is_video
from .data.sampling import segment_indices
from .data.transforms import ClipTransform


def predict(path, checkpoint, out=None, device: str = "auto", faces: bool = True, model=None) -> dict:
    """Classify one clip; returns {'probabilities', 'pred', 'relevance' [T, C], 'frame_index', 'figure'}."""
    import matplotlib.pyplot as plt

    from .report.figures import frame_strip
    from .engine.checkpoint import load_model
    from .engine.device import resolve_device

    path = Path(path)
    dev = resolve_device(device)
    model = model or load_model(checkpoint, dev)
    reader = ClipReader(path)
    idx = segment_indices(reader.num_frames, model.cfg.frames, train=False)                  # [T]
    frames = reader.read(idx)                                                                 # [T, H, W, 3]
    crop_note, found = "", None
    if faces and is_video(path):
        from .data.faces import crop_clip_faces

        frames, found = crop_clip_faces(frames)
        crop_note = f", face crops ({found}/{len(frames)} frames with a detected face)" if found else \
            ", no face detected: whole frames used"
    tf = ClipTransform(model.backbone.image_size, train=False, mean=model.backbone.mean, std=model.backbone.std)
    video = tf(frames).unsqueeze(0).to(dev)                                                   # [1, T, 3, S, S]
    with torch.no_grad():
        out_m = model.eval()(video)
    probs = torch.softmax(out_m.logits.float(), 1)[0].cpu().numpy()
    rel = out_m.relevance[0].float().cpu().numpy()                                            # [T, C]
    pred = int(probs.argmax())
    fig = frame_strip(frames, rel, model.class_names, pred=pred, frame_index=idx,
                      title=f"{path.name}: {model.class_names[pred]} ({probs[pred]:.2f}){crop_note}")
    out = Path(out) if out else Path.cwd() / f"{path.stem}_tgdfer.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return {"probabilities": dict(zip(model.class_names, probs.round(4).tolist())), "pred": model.class_names[pred],
            "relevance": rel, "frame_index": np.asarray(idx), "figure": str(out), "faces_found": found}
