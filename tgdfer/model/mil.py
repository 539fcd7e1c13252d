"""Multiple-instance aggregation: frame evidence -> clip prediction, trained from clip labels only.

In: instance scores S [B, T, C], relevance R [B, T, C], instance features Z [B, T, D], and the
clip-token similarity G [B, C] = cos(g, E'_c) / tau. Out: clip logits [B, C] and the frame
weights used [B, T, C]. [paper: MIL] [design: logit = lambda * pool_t(S) + (1 - lambda) * G].
`pool`: mean | max | topk | attention (gated attention MIL, Ilse et al. 2018) | relevance (default:
sum_t R * S, the frames that speak for a class weigh most). With `mil_lambda` 0 no pooled score enters a logit, so
the attention pool's layers are not built (its weights are then uniform, as `mean`'s).
"""
from __future__ import annotations

import torch
from torch import nn

POOLS = ("mean", "max", "topk", "attention", "relevance")


class MILPool(nn.Module):
    def __init__(self, dim: int, pool: str = "relevance", mil_lambda: float = 0.5, topk: int = 4):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        if not 0.0 <= mil_lambda <= 1.0:
            raise ValueError(f"mil_lambda must lie in [0, 1], got {mil_lambda}")
        self.pool, self.mil_lambda, self.topk = pool, mil_lambda, topk
        self.attention = pool == "attention" and mil_lambda > 0.0       # built only when its pooled score is read
        if self.attention:
            hidden = max(16, dim // 4)
            self.att_v, self.att_u = nn.Linear(dim, hidden), nn.Linear(dim, hidden)
            self.att_w = nn.Linear(hidden, 1)

    def weights(self, S: torch.Tensor, R: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
        """Per-frame weights of each class [B, T, C], summing to 1 over frames."""
        B, T, C = S.shape
        if self.pool == "mean" or (self.pool == "attention" and not self.attention):
            return S.new_full((B, T, C), 1.0 / T)
        if self.pool == "relevance":
            return R
        if self.pool == "attention":
            a = self.att_w(torch.tanh(self.att_v(Z)) * torch.sigmoid(self.att_u(Z)))   # [B, T, 1]
            return torch.softmax(a.float(), dim=1).to(S.dtype).expand(B, T, C)
        k = 1 if self.pool == "max" else min(self.topk, T)
        idx = S.topk(k, dim=1).indices                                              # [B, k, C]
        return torch.zeros_like(S).scatter_(1, idx, 1.0 / k)                        # [B, T, C]

    def forward(self, S: torch.Tensor, R: torch.Tensor, Z: torch.Tensor, G: torch.Tensor | None):
        w = self.weights(S, R, Z)                                                   # [B, T, C]
        pooled = (w * S).sum(dim=1)                                                 # [B, C]
        if G is None or self.mil_lambda == 1.0:
            return pooled, w
        if self.mil_lambda == 0.0:
            return G, w
        return self.mil_lambda * pooled + (1 - self.mil_lambda) * G, w
