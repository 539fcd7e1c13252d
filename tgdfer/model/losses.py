"""Training objective: clip cross-entropy + top-k instance loss + label-feature diversity.

In: the model output (clip logits [B, C], instance scores [B, T, C], relevance [B, T, C], label
features E [C, D]) and clip labels [B]. Out: the total loss and its parts. [design]
- clip: cross-entropy on clip logits (optional label smoothing, optional class weights);
- instance: the k frames most relevant to the true class must predict it on their own (MIL
  pseudo-labels from relevance, the weak supervision reaching frames);
- diversity: the mean squared cosine between different classes' label features.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config import LossConfig


def step_weight(labels: torch.Tensor, class_weight: torch.Tensor | None = None) -> torch.Tensor:
    """What a micro-batch adds to a step's loss normaliser: the sum of its clips' class weights (its size without
    class weights), as weighted cross-entropy's mean divides by."""
    if class_weight is None:
        return torch.tensor(float(labels.numel()), device=labels.device)
    return class_weight[labels].sum().float()


def tgdfer_loss(out, labels: torch.Tensor, cfg: LossConfig, class_weight: torch.Tensor | None = None, *,
                norm: float | None = None, world: int = 1, micro: int = 1) -> dict:
    """Returns {'loss', 'clip', 'inst', 'div'} (scalars; 'loss' carries the gradient).

    With `norm` (the step's normaliser over every rank and micro-batch, `step_weight` summed), 'loss' is this
    micro-batch's share of the step's loss, scaled for DDP's mean over `world` ranks and summed over `micro`
    micro-batches, so that w ranks x batch b x a micro-batches give the gradient of one batch of w x b x a clips;
    'clip' and 'inst' are then this micro-batch's own means (for the history)."""
    logits = out.logits.float()
    if norm is None:
        clip = F.cross_entropy(logits, labels, weight=class_weight, label_smoothing=cfg.label_smoothing)
        parts = {"clip": clip}
    else:
        clip_sum = F.cross_entropy(logits, labels, weight=class_weight, label_smoothing=cfg.label_smoothing,
                                   reduction="sum")
        clip = clip_sum * (world / norm)
        parts = {"clip": (clip_sum / step_weight(labels, class_weight)).detach()}
    total = clip
    if cfg.w_inst > 0 and out.instance_scores is not None:
        S, R = out.instance_scores.float(), out.relevance.float()                 # [B, T, C]
        B, T, C = S.shape
        k = min(cfg.topk, T)
        r_true = R.gather(2, labels.view(B, 1, 1).expand(B, T, 1)).squeeze(2)      # [B, T]
        idx = r_true.detach().topk(k, dim=1).indices                               # [B, k]
        s_top = S.gather(1, idx.unsqueeze(2).expand(B, k, C))                      # [B, k, C]
        if norm is None:
            inst = F.cross_entropy(s_top.reshape(B * k, C), labels.repeat_interleave(k), weight=class_weight,
                                   label_smoothing=cfg.label_smoothing)
            parts["inst"] = inst
        else:                                                                       # k items a clip: k x the weights
            inst_sum = F.cross_entropy(s_top.reshape(B * k, C), labels.repeat_interleave(k), weight=class_weight,
                                       label_smoothing=cfg.label_smoothing, reduction="sum")
            inst = inst_sum * (world / (k * norm))
            parts["inst"] = (inst_sum / (k * step_weight(labels, class_weight))).detach()
        total = total + cfg.w_inst * inst
    if cfg.w_div > 0 and out.label_features is not None:
        E = F.normalize(out.base_label_features.float(), dim=-1)                   # [C, D]
        sim = E @ E.T
        off = sim - torch.diag_embed(torch.diagonal(sim))
        C = E.shape[0]
        div = (off ** 2).sum() / max(C * (C - 1), 1)
        parts["div"] = div
        total = total + cfg.w_div * (div if norm is None else div / micro)          # once a step, over micro-batches
    parts["loss"] = total
    return parts
