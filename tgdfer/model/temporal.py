"""Multi-grained temporal network (MGTN): short-term and long-range dynamics of frame features.

In: frame features X [B, T, D]. Out: instance features Z [B, T, D] and a clip token g [B, D].
[paper: Fig. 2(b), detailed frame-wise information and long-term dynamics] [design: learned
position embeddings; short-term branch = residual temporal convolutions (kernel 3, dilations 1 and 2)
optionally fed frame differences; long-range branch = temporal transformer with a class token;
a learned per-frame, per-channel gate fuses the two]. `mode`: none | short | long | both.
Only what the rest of the model reads is built (so that every parameter gets a gradient, which DDP needs):
`token=False` (the clip token enters no logit) leaves out the long-range branch's final norm; `instances=False`
(nothing reads the instance features) leaves out the short-term branch and the gate of `both`, whose clip token
comes from the long-range branch alone.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

TEMPORAL_MODES = ("none", "short", "long", "both")


class Attention(nn.Module):
    """Multi-head attention through `scaled_dot_product_attention`; queries and keys may differ."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        context = x if context is None else context
        B, N, D = x.shape
        h = self.heads
        q = self.q(x).view(B, N, h, D // h).transpose(1, 2)                       # [B, h, N, D/h]
        k, v = self.kv(context).view(B, context.shape[1], 2, h, D // h).permute(2, 0, 3, 1, 4)  # 2 x [B, h, M, D/h]
        y = F.scaled_dot_product_attention(q, k, v)                               # [B, h, N, D/h]
        return self.out(y.transpose(1, 2).reshape(B, N, D))                       # [B, N, D]


class TransformerBlock(nn.Module):
    """Pre-norm transformer block: x + attn(LN x), then x + MLP(LN x)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(int(dim * mlp_ratio), dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x)))
        return x + self.drop(self.mlp(self.ln2(x)))


class ShortTerm(nn.Module):
    """Residual dilated temporal convolutions over neighbouring frames (+ frame differences)."""

    def __init__(self, dim: int, dilations=(1, 2), frame_diff: bool = True, kernel: int = 3):
        super().__init__()
        self.frame_diff = frame_diff
        self.inp = nn.Linear(2 * dim, dim) if frame_diff else nn.Identity()
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in dilations)
        self.convs = nn.ModuleList(nn.Conv1d(dim, dim, kernel, dilation=d, padding=d * (kernel - 1) // 2)
                                   for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.frame_diff:
            diff = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], dim=1)  # [B, T, D]: x_t - x_{t-1}
            x = x + self.inp(torch.cat([x, diff], dim=-1))                       # [B, T, 2D] -> [B, T, D]
        for norm, conv in zip(self.norms, self.convs):
            y = conv(norm(x).transpose(1, 2)).transpose(1, 2)                     # [B, D, T] conv over time
            x = x + F.gelu(y)
        return x                                                                   # [B, T, D]


class LongRange(nn.Module):
    """Temporal transformer over the frames with a class token; returns (frames [B, T, D], token [B, D])."""

    def __init__(self, dim: int, layers: int = 1, heads: int = 8, dropout: float = 0.0, token: bool = True):
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, dropout=dropout) for _ in range(layers))
        self.ln = nn.LayerNorm(dim) if token else None      # the clip token's norm: built when a logit reads it

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)  # [B, 1 + T, D]
        for blk in self.blocks:
            x = blk(x)
        return x[:, 1:], (self.ln(x[:, 0]) if self.ln is not None else None)       # [B, T, D], [B, D]


class MultiGrainedTemporal(nn.Module):
    """MGTN: X [B, T, D] -> (Z [B, T, D], g [B, D]; g is None when `token` is off and only the long branch runs)."""

    def __init__(self, dim: int, frames: int, mode: str = "both", layers: int = 1, heads: int = 8,
                 frame_diff: bool = True, dilations=(1, 2), *, dropout: float = 0.0, token: bool = True,
                 instances: bool = True):
        super().__init__()
        if mode not in TEMPORAL_MODES:
            raise ValueError(f"temporal mode must be one of {TEMPORAL_MODES}, got {mode!r}")
        self.mode = mode
        short = mode == "short" or (mode == "both" and instances)            # `both` without readers of Z: long only
        self.pos = nn.Parameter(torch.randn(1, frames, dim) * 0.02) if mode != "none" else None
        self.short = ShortTerm(dim, dilations, frame_diff) if short else None
        self.long = LongRange(dim, layers, heads, dropout, token=token) if mode in ("long", "both") else None
        self.gate = nn.Linear(2 * dim, dim) if (mode == "both" and short) else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mode == "none":
            return x, x.mean(dim=1)
        T = x.shape[1]
        if T > self.pos.shape[1]:
            raise ValueError(f"clip has {T} frames; the temporal network was built for at most {self.pos.shape[1]}")
        x = x + self.pos[:, :T].to(x.dtype)                                        # [B, T, D]
        s = self.short(x) if self.short is not None else None
        if self.long is None:
            return s, s.mean(dim=1)
        l, g = self.long(x)
        if s is None:
            return l, g
        a = torch.sigmoid(self.gate(torch.cat([s, l], dim=-1)))                   # [B, T, D] gate
        return a * s + (1 - a) * l, g
