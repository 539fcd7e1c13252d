"""Attention of open_clip's transformer blocks through `scaled_dot_product_attention` on contiguous tensors.

open_clip's `ResidualAttentionBlock` calls `nn.MultiheadAttention` with batch-first input, which
transposes it; the projection of the non-contiguous result runs as a batched matmul against an
expanded weight, and under bf16 autocast every such call copies that weight once per sequence
(measured: 69% of the text tower's CPU time; see benchmarks/README.md). `use_sdpa(module)` gives
each such block an `attention` that projects the packed q, k, v with one contiguous matmul and
calls `scaled_dot_product_attention` (the text tower's causal mask becomes `is_causal=True`). Same
weights, same result (tested against the original to 1e-5).
"""
from __future__ import annotations

import types

import torch.nn.functional as F
from torch import nn


def _sdpa_attention(self, q_x, k_x=None, v_x=None, attn_mask=None):
    mha: nn.MultiheadAttention = self.attn
    if k_x is not None or v_x is not None:                     # cross-attention: keep the original path
        return self._original_attention(q_x, k_x, v_x, attn_mask)
    B, L, E = q_x.shape
    h = mha.num_heads
    qkv = F.linear(q_x, mha.in_proj_weight, mha.in_proj_bias)                    # [B, L, 3E]
    q, k, v = qkv.view(B, L, 3, h, E // h).permute(2, 0, 3, 1, 4).unbind(0)      # 3 x [B, h, L, E/h]
    causal = self._tgdfer_causal and attn_mask is not None   # CLIP's text mask: causal by construction
    mask = attn_mask[:L, :L].to(q.dtype) if attn_mask is not None and not causal else None
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                       dropout_p=mha.dropout if self.training else 0.0)   # [B, h, L, E/h]
    return F.linear(y.transpose(1, 2).reshape(B, L, E), mha.out_proj.weight, mha.out_proj.bias)  # [B, L, E]


def use_sdpa(module: nn.Module, causal: bool = False) -> int:
    """Give every batch-first open_clip attention block under `module` the SDPA path; returns how many.

    `causal=True` (CLIP's text transformer) turns its additive causal mask into `is_causal=True`.
    """
    n = 0
    for m in module.modules():
        attn = getattr(m, "attn", None)
        if (type(m).__name__ == "ResidualAttentionBlock" and isinstance(attn, nn.MultiheadAttention)
                and attn.batch_first and attn._qkv_same_embed_dim and not hasattr(m, "_original_attention")):
            m._original_attention = m.attention
            m._tgdfer_causal = causal
            m.attention = types.MethodType(_sdpa_attention, m)
            n += 1
    return n
