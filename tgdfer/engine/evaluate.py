"""Evaluation: clip predictions, UAR/WAR, per-class recall, confusion matrix, frame relevance.

In: a model and a loader (or a checkpoint and a dataset fold). Out: `EvalResult` with per-clip
probabilities (averaged over test views), the per-frame relevance of the centre view [N, T, C], the
sampled frame indices, the metrics, and, where the dataset carries frame-level ground truth (the
generated benchmark), the localisation scores. `write_predictions` stores `predictions.csv` and
`relevance.npz` in a run folder.
"""
from __future__ import annotations

import io
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import runfolder as rf
from ..data.dataset import ClipDataset, model_input
from ..data.ground_truth import expressive_by_clip
from ..data.layouts import load_split
from ..io import atomic_write_bytes, atomic_write_json, atomic_write_text
from ..metrics import clip_metrics, localisation
from ..runspec import EvalSpec
from .checkpoint import load_model
from .device import setup_device
from .distributed import agree, barrier, gather
from .loaders import ShardedBatches


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
    """Run `model` over `loader` (items may be several views of a clip) and score it. A loader whose batches are
    shared out over the ranks (`ShardedBatches`) is evaluated in shares and gathered back in the one-process order on
    every rank, so every rank holds the whole result (the same numbers as one process); an error on any rank ends
    every rank with its message."""
    model.eval()
    sharded = isinstance(loader.batch_sampler, ShardedBatches) and loader.batch_sampler.world > 1
    batches, error = [], None
    try:
        batches = _forward(model, loader, device, autocast or nullcontext, inputs_key, limit)
    except Exception as e:  # noqa: BLE001 - handed to every rank by gather, raised there
        if not sharded:
            raise
        error = e
    if sharded:
        shares, w = gather(batches, error), loader.batch_sampler.world
        total = sum(len(x) for x in shares)
        batches = [shares[k % w][k // w] for k in range(total)]                # the one-process order
    return assemble(batches, root)


def _forward(model, loader, device, ac, inputs_key: str, limit: int) -> list[dict]:
    """This process's batches: each a dict of CPU tensors (the model's outputs and the batch's ids)."""
    normalize = getattr(getattr(loader, "dataset", None), "normalize", None)
    out = []
    for b, batch in enumerate(loader):
        if limit and b >= limit:
            break
        x = model_input(batch, inputs_key, device, normalize)
        with ac():
            o = model(features=x) if inputs_key == "features" else model(x)
        out.append({"probs": torch.softmax(o.logits.float(), dim=1).cpu(), "rel": o.relevance.float().cpu(),
                    "w": o.weights.float().cpu(), "inst": o.instance_scores.float().cpu(),
                    "change": None if o.frame_features is None else frame_change(o.frame_features.float()).cpu(),
                    "fidx": batch["frame_index"], "ids": list(batch["clip_id"]), "labels": batch["label"],
                    "views": batch["view"]})
    return out


def assemble(batches: list[dict], root=None) -> EvalResult:
    """Per-batch outputs (in loader order) -> per-clip result: probabilities averaged over views, the centre view's
    frame arrays, the metrics (and, with `root` of the generated benchmark, the localisation scores)."""
    def cat(k):
        return torch.cat([b[k] for b in batches])
    probs_t, rel_t, w_t, s_t = cat("probs"), cat("rel"), cat("w"), cat("inst")
    fidx_t, labels_t, views_t = cat("fidx"), cat("labels"), cat("views")
    ids = [c for b in batches for c in b["ids"]]
    order: dict[str, list[int]] = {}
    for i, c in enumerate(ids):
        order.setdefault(c, []).append(i)
    clip_ids = list(order)
    P = torch.stack([probs_t[order[c]].mean(0) for c in clip_ids]).numpy()                  # [N, C]
    first = [min(order[c], key=lambda i: int(views_t[i])) for c in clip_ids]                # centre view
    res = EvalResult(clip_ids, labels_t[first].numpy(), P, rel_t[first].numpy(), w_t[first].numpy(),
                     s_t[first].numpy(), fidx_t[first].numpy())
    if batches and all(b["change"] is not None for b in batches):
        res.frame_change = cat("change")[first].numpy()
    res.metrics = clip_metrics(res.labels, res.preds, P.shape[1])
    if root is not None:
        res.metrics.update(localise(res, root))
    return res


def localise(res: EvalResult, root, k: int = 4) -> dict:
    """Localisation scores against the generated benchmark's ground truth ({} elsewhere)."""
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
    buf = io.BytesIO()
    np.savez_compressed(buf, clip_ids=np.array(res.clip_ids), labels=res.labels, relevance=res.relevance.astype(np.float32),
                        weights=res.weights.astype(np.float32),
                        instance_scores=res.instance_scores.astype(np.float32), frame_index=res.frame_index, probs=res.probs,
                        **({} if res.frame_change is None else {"frame_change": res.frame_change.astype(np.float32)}))
    atomic_write_bytes(run_dir / rf.RELEVANCE, buf.getvalue())


def evaluate(*args, **fields) -> EvalResult:
    """Evaluate a saved checkpoint on a dataset fold (the fields of `runspec.EvalSpec`, in its order: checkpoint,
    dataset, root, fold, split, out, ...); writes metrics and predictions to `out`."""
    return run_evaluation(EvalSpec(*args, **fields))


def run_evaluation(spec: EvalSpec) -> EvalResult:
    """The evaluation an `EvalSpec` describes. Under torchrun or srun the batches are shared out over the processes
    (the files are those of one process); the first writes them."""
    s = spec
    dev, rank, world = setup_device(s.device)
    model, table, err = None, None, None
    try:
        model = load_model(s.checkpoint, dev)
        table = load_split(s.dataset, s.root, s.fold, s.split, media=s.media, label_base=s.label_base)
    except Exception as e:  # noqa: BLE001 - every rank ends with it (agree)
        err = e
    agree(err, dev)
    ds = ClipDataset(table, model.cfg.frames, model.backbone.image_size, train=False, mean=model.backbone.mean,
                     std=model.backbone.std, views=s.views, crops=s.crops, raw=True)
    loader = torch.utils.data.DataLoader(ds, batch_sampler=ShardedBatches(len(ds), s.batch_size, rank, world),
                                         num_workers=s.workers, pin_memory=dev.type == "cuda")
    res = evaluate_loader(model, loader, dev, root=s.root)
    out = Path(s.out) if s.out else Path(s.checkpoint).parent / f"eval-{s.dataset}-fold{s.fold}-{s.split}"
    if rank == 0:
        write_predictions(out, res, model.class_names)
        atomic_write_json(out / rf.METRICS, {"checkpoint": str(s.checkpoint), "dataset": s.dataset, "root": str(s.root),
                                             "fold": s.fold, "split": s.split, "views": s.views, "crops": s.crops,
                                             **res.summary(model.class_names)})
    barrier()
    return res
