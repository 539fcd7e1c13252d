"""Visual prompt module: label features enriched with the clip's visual context, aligned per frame.

In: label features E [C, D], instance features Z [B, T, D]. Out: clip-conditioned label features
E' [B, C, D], instance scores S [B, T, C] and frame relevance R [B, T, C] (softmax over frames).
[paper: Fig. 2(c), "enhanced fine-grained label features" that align enriched textual labels with
visual instance features and give frame-level relevance] [design: cross-attention from the C label
queries to the T instances, added through a learned gate initialised small; S = cos(Z, E') / tau;
R = softmax_t(S / tau_r)]. `enabled=False` keeps E' = E (the ablation without the visual prompt).
`residual='centred'` [design switch] subtracts the mean of the C classes' visual context before adding it,
so that only what tells the classes apart enriches them: with the plain residual every class attends to
the same frames and every class's score rises on them, which makes the frame evidence class-agnostic.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .temporal import Attention


class VisualPrompt(nn.Module):
    def __init__(self, dim: int, heads: int = 8, enabled: bool = True, gate_init: float = 0.1,
                 tau: float = 0.01, tau_r: float = 5.0, residual: str = "plain"):
        super().__init__()
        if residual not in ("plain", "centred"):
            raise ValueError(f"prompt_residual must be plain or centred (got {residual!r})")
        self.enabled, self.tau, self.tau_r, self.residual = enabled, tau, tau_r, residual
        if enabled:
            self.ln_q, self.ln_kv = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.attn = Attention(dim, heads)
            self.gate = nn.Parameter(torch.tensor(float(gate_init)))

    def enrich(self, E: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
        """E [C, D], Z [B, T, D] -> E' [B, C, D]."""
        E = E.to(Z.dtype).unsqueeze(0).expand(Z.shape[0], -1, -1)                  # [B, C, D]
        if not self.enabled:
            return E
        A = self.attn(self.ln_q(E), self.ln_kv(Z))                                 # [B, C, D] queries: labels; keys: frames
        if self.residual == "centred":
            A = A - A.mean(dim=1, keepdim=True)                                      # what sets each class apart
        return E + self.gate * A

    def forward(self, E: torch.Tensor, Z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        E2 = self.enrich(E, Z)                                                       # [B, C, D]
        S = torch.einsum("btd,bcd->btc", F.normalize(Z, dim=-1), F.normalize(E2, dim=-1)) / self.tau  # [B, T, C]
        R = torch.softmax(S.float() / self.tau_r, dim=1).to(S.dtype)                # over frames t
        return E2, S, R
