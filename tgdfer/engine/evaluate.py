"""Evaluation: clip predictions, UAR/WAR, per-class recall, confusion matrix, frame relevance.

In: a model and a loader (or a checkpoint and a dataset fold). Out: `EvalResult` with per-clip
probabilities (averaged over test views), the per-frame relevance of the centre view [N, T, C], the
sampled frame indices, the metrics, and, where the dataset carries frame-level ground truth (the
generated benchmark), the localisation scores. `write_predictions` stores `predictions.csv` and
`relevance.npz` in a run folder.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import runfolder as rf
from ..io import atomic_write_bytes, atomic_write_json, atomic_write_text
from ..metrics import clip_metrics, localisation


@dataclass
class EvalResult:
    clip_ids: list[str]
    labels: np.ndarray            # [N]
    probs: np.ndarray             # [N, C] mean over views of the softmax
    relevance: np.ndarray         # [N, T, C] centre view
    weights: np.ndarray           # [N, T, C] MIL weights, centre view
    instance_scores: np.ndarray   # [N, T, C] per-frame class scores S = cos(Z, E') / tau, centre view
    frame_index: np.ndarray       # [N, T] sampled frames (0-based), centre view
    metrics: dict = field(default_factory=dict)
    frame_change: np.ndarray | None = None   # [N, T] 1 - cos(frame t, first sampled frame): a floor with no training

    @property
    def preds(self) -> np.ndarray:
        return self.probs.argmax(1)

    def summary(self, class_names: list[str]) -> dict:
        m = self.metrics
        out = {"uar": m["uar"], "war": m["war"], "n": m["n"],
               "recall": {c: (None if np.isnan(r) else float(r)) for c, r in zip(class_names, m["recall"])},
               "confusion": np.asarray(m["confusion"]).tolist()}
        out.update({k: v for k, v in m.items() if k.startswith("loc_")})
        return out


def frame_change(features: torch.Tensor) -> torch.Tensor:
    """[B, T, D] frame features -> [B, T] cosine distance of each frame from the clip's first sampled frame (its
    resting frame on the generated benchmark's clips, which open before the expression). A class-agnostic detector
    of frames that change, with no training: the change-detector floor of frame evidence."""
    f = torch.nn.functional.normalize(features, dim=-1)
    return 1 - (f * f[:, :1]).sum(-1)


@torch.no_grad()
def evaluate_loader(model, loader, device, autocast=None, inputs_key: str = "video", limit: int = 0,
                    root=None) -> EvalResult:
    """Run `model` over `loader` (items may be several views of a clip) and score it."""
    model.eval()
    ac = autocast or nullcontext
    ids, labels, probs, rel, wts, inst, fidx, views, change = [], [], [], [], [], [], [], [], []
    for b, batch in enumerate(loader):
        if limit and b >= limit:
            break
        x = batch[inputs_key].to(device, non_blocking=True)
        with ac():
            out = model(features=x) if inputs_key == "features" else model(x)
        probs.append(torch.softmax(out.logits.float(), dim=1).cpu())
        rel.append(out.relevance.float().cpu())
        wts.append(out.weights.float().cpu())
        inst.append(out.instance_scores.float().cpu())
        if out.frame_features is not None:
            change.append(frame_change(out.frame_features.float()).cpu())
        fidx.append(batch["frame_index"])
        ids += list(batch["clip_id"])
        labels.append(batch["label"])
        views.append(batch["view"])
    probs_t, rel_t, w_t, s_t = torch.cat(probs), torch.cat(rel), torch.cat(wts), torch.cat(inst)
    fidx_t, labels_t, views_t = torch.cat(fidx), torch.cat(labels), torch.cat(views)
    order: dict[str, list[int]] = {}
    for i, c in enumerate(ids):
        order.setdefault(c, []).append(i)
    clip_ids = list(order)
    P = torch.stack([probs_t[order[c]].mean(0) for c in clip_ids]).numpy()                  # [N, C]
    first = [min(order[c], key=lambda i: int(views_t[i])) for c in clip_ids]                # centre view
    res = EvalResult(clip_ids, labels_t[first].numpy(), P, rel_t[first].numpy(), w_t[first].numpy(),
                     s_t[first].numpy(), fidx_t[first].numpy())
    if change and len(change) == len(probs):
        res.frame_change = torch.cat(change)[first].numpy()
    res.metrics = clip_metrics(res.labels, res.preds, P.shape[1])
    if root is not None:
        res.metrics.update(localise(res, root))
    return res


def localise(res: EvalResult, root, k: int = 4) -> dict:
    """Localisation scores against the generated benchmark's ground truth ({} elsewhere)."""
    from ..data.ground_truth import expressive_by_clip

    by_clip = expressive_by_clip(root)
    if by_clip is None:
        return {}
    rels, exps = [], []
    for i, c in enumerate(res.clip_ids):
        truth = by_clip.get(str(c))
        if truth is None:
            return {}
        rels.append(res.relevance[i, :, res.labels[i]])
        exps.append(truth[np.minimum(res.frame_index[i], len(truth) - 1)])
    return localisation(rels, exps, k=k)


def write_predictions(run_dir: str | Path, res: EvalResult, class_names: list[str]) -> None:
    """`predictions.csv` (clip, label, prediction, probabilities) and `relevance.npz` (per-frame arrays)."""
    run_dir = Path(run_dir)
    df = pd.DataFrame({"clip_id": res.clip_ids, "label": res.labels, "pred": res.preds,
                       "label_name": [class_names[i] for i in res.labels],
                       "pred_name": [class_names[i] for i in res.preds]})
    for j, c in enumerate(class_names):
        df[f"p_{c}"] = res.probs[:, j].round(5)
    atomic_write_text(run_dir / rf.PREDICTIONS, df.to_csv(index=False))
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, clip_ids=np.array(res.clip_ids), labels=res.labels, relevance=res.relevance.astype(np.float32),
                        weights=res.weights.astype(np.float32),
                        instance_scores=res.instance_scores.astype(np.float32), frame_index=res.frame_index, probs=res.probs,
                        **({} if res.frame_change is None else {"frame_change": res.frame_change.astype(np.float32)}))
    atomic_write_bytes(run_dir / rf.RELEVANCE, buf.getvalue())


def evaluate(checkpoint, dataset: str, root, fold: int = 1, split: str = "test", out_dir=None, views: int = 1,
             *, crops: int = 1, batch_size: int = 32, workers: int = 2, device: str = "auto", media: str = "frames",
             label_base: int = 1) -> EvalResult:
    """Evaluate a saved checkpoint on a dataset fold; writes metrics and predictions to `out_dir`."""
    from ..data.dataset import ClipDataset
    from ..data.layouts import load_split
    from .checkpoint import load_model
    from .device import resolve_device

    dev = resolve_device(device)
    model = load_model(checkpoint, dev)
    table = load_split(dataset, root, fold, split, media=media, label_base=label_base)
    ds = ClipDataset(table, model.cfg.frames, model.backbone.image_size, train=False, mean=model.backbone.mean,
                     std=model.backbone.std, views=views, crops=crops)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, num_workers=workers)
    res = evaluate_loader(model, loader, dev, root=root)
    out = Path(out_dir) if out_dir else Path(checkpoint).parent / f"eval-{dataset}-fold{fold}-{split}"
    write_predictions(out, res, model.class_names)
    atomic_write_json(out / rf.METRICS, {"checkpoint": str(checkpoint), "dataset": dataset, "root": str(root),
                                             "fold": fold, "split": split, "views": views, "crops": crops,
                                             **res.summary(model.class_names)})
    return res
