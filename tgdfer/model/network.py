"""TG-DFER: the whole model, and the one factory that builds every config and variant.

In: a clip [B, T, 3, H, W] (or cached frame features [B, T, D]). Out: `Output` with clip logits
[B, C], frame relevance [B, T, C], instance scores [B, T, C], MIL weights [B, T, C], the clip-
conditioned label features [B, C, D] and the base label features [C, D]. One forward pass gives
everything evaluation and figures need. Parts, bottom-up: backbone.py (CLIP), temporal.py (MGTN),
text_labels.py, visual_prompt.py, mil.py; the objective is losses.py. A part that no logit and no loss term reads
under a config is not built (`TGDFER.unbuilt` says which and why), so every trainable parameter gets a gradient.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..classes import class_names as dataset_classes
from ..config import Config, ModelConfig, load_config
from .backbone import Backbone, create_backbone
from .mil import MILPool
from .temporal import MultiGrainedTemporal
from .descriptions import load_descriptions
from .text_labels import TextLabels
from .visual_prompt import VisualPrompt


@dataclass
class Output:
    logits: torch.Tensor                 # [B, C] clip logits
    relevance: torch.Tensor              # [B, T, C] softmax over frames of the instance scores
    instance_scores: torch.Tensor        # [B, T, C] cos(Z, E') / tau
    weights: torch.Tensor                # [B, T, C] MIL pooling weights actually used
    label_features: torch.Tensor         # [B, C, D] clip-conditioned label features E'
    base_label_features: torch.Tensor    # [C, D] label features E before the visual prompt
    clip_token: torch.Tensor | None      # [B, D] g from the temporal network (None when no logit reads it)
    frame_features: torch.Tensor | None = None   # [B, T, D] the backbone's frame features (before the temporal network)


def unused_parts(cfg: ModelConfig, instance_loss: bool = True) -> dict[str, str]:
    """{module prefix: why} of the parts a config would build but no logit and no loss term reads: they are left out
    (an unread parameter gets no gradient, which DDP refuses). `instance_loss`: the loss's top-k instance term is on."""
    token = cfg.mil_lambda < 1.0                                   # the clip token g enters the logits
    instances = cfg.mil_lambda > 0.0 or instance_loss or (cfg.visual_prompt and token)
    out = {}
    if not token and cfg.temporal in ("long", "both"):
        out["temporal.long.ln"] = "mil_lambda 1: the clip token enters no logit"
    if not instances and cfg.temporal == "both":
        out["temporal.short"] = out["temporal.gate"] = ("mil_lambda 0, no visual prompt and no instance loss: nothing "
                                                        "reads the instance features (the clip token comes from the "
                                                        "long-range branch)")
    if cfg.pool == "attention" and cfg.mil_lambda == 0.0:
        out["mil.att_"] = "mil_lambda 0: no pooled score enters a logit"
    return out


class TGDFER(nn.Module):
    def __init__(self, backbone: Backbone, cfg: ModelConfig, class_names: list[str], *, instance_loss: bool = True,
                 descriptions: dict | None = None):
        super().__init__()
        D = backbone.embed_dim
        self.cfg, self.class_names = cfg, list(class_names)
        self.unbuilt = unused_parts(cfg, instance_loss)              # {module prefix: why it is not built}
        self.backbone = backbone
        self.temporal = MultiGrainedTemporal(D, cfg.frames, cfg.temporal, cfg.temporal_layers, cfg.temporal_heads,
                                             cfg.frame_diff, dropout=cfg.dropout,
                                             token="temporal.long.ln" not in self.unbuilt,
                                             instances="temporal.short" not in self.unbuilt)
        self.text_labels = TextLabels(self.class_names, cfg.text, cfg.clip_model, D, backbone.text.width,
                                      min(cfg.context_length, backbone.text.context_length), cfg.n_ctx,
                                      descriptions=descriptions or load_descriptions(cfg.descriptions,
                                                                                     tuple(class_names)))
        self.visual_prompt = VisualPrompt(D, cfg.prompt_heads, cfg.visual_prompt, cfg.gate_init, cfg.tau, cfg.tau_r,
                                          cfg.prompt_residual)
        self.mil = MILPool(D, cfg.pool, cfg.mil_lambda, cfg.topk)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def label_features(self) -> torch.Tensor:
        return self.text_labels(self.backbone.text)                              # [C, D]

    def forward(self, video: torch.Tensor | None = None, features: torch.Tensor | None = None) -> Output:
        if features is None:
            features = self.backbone.encode_frames(video)                        # [B, T, 3, H, W] -> [B, T, D]
        Z, g = self.temporal(features)                                           # [B, T, D], [B, D]
        E = self.label_features()                                                # [C, D]
        E2, S, R = self.visual_prompt(E, Z)                                      # [B, C, D], [B, T, C], [B, T, C]
        G = None if g is None else \
            torch.einsum("bd,bcd->bc", F.normalize(g, dim=-1), F.normalize(E2, dim=-1)) / self.cfg.tau  # [B, C]
        logits, w = self.mil(S, R, Z, G)                                         # [B, C], [B, T, C]
        return Output(logits, R, S, w, E2, E, g, features)

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Trainable parameters by learning-rate group: backbone, prompt (text context), head (the rest)."""
        groups = {"backbone": [], "prompt": [], "head": []}
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            if name.startswith("backbone."):
                groups["backbone"].append(p)
            elif name.startswith("text_labels.ctx"):
                groups["prompt"].append(p)
            else:
                groups["head"].append(p)
        return groups


def create_model(config: str | Config = "tgdfer-tiny", variant: str = "tgdfer", overrides: dict | None = None,
                 class_names: list[str] | None = None, dataset: str = "dfew", cache_dir: str | None = None,
                 download: bool = False, *, device: str | torch.device = "cpu", descriptions: dict | None = None) -> TGDFER:
    """The factory: every config and variant goes through here.

    `config` is a packaged config name, a JSON path or a `Config`; `variant` a named variant of
    `configs/variants.json`; `overrides` sets fields (`{'text': 'none', 'loss.w_inst': 0}`).
    Classes default to the dataset's order.
    """
    cfg = config if isinstance(config, Config) else load_config(config, variant, overrides)
    m = cfg.model
    backbone = create_backbone(m.clip_model, m.pretrained, m.finetune, cache_dir=cache_dir,
                               sha256=m.weights_sha256 or None, download=download, device=device)
    model = TGDFER(backbone, m, class_names or dataset_classes(dataset), instance_loss=cfg.loss.w_inst > 0,
                   descriptions=descriptions)
    model.config = cfg
    return model


COMPONENTS = {"image tower": "backbone.visual", "text tower": "backbone.text", "text labels": "text_labels",
              "temporal (MGTN)": "temporal", "visual prompt": "visual_prompt", "MIL": "mil"}


def model_report(model: TGDFER, batch: int = 1) -> pd.DataFrame:
    """Trainable and frozen parameters per component, and forward GFLOPs (torch.utils.flop_counter).

    FLOPs are counted on a meta-device twin, so even the large configs cost no compute. FLOPs count a
    multiply-add as 2 (`gmacs` halves them, the unit papers usually quote). Per-clip rows count one
    clip of T frames; the text tower runs once per step for all classes (and not at all once its
    output is cached), so the total leaves it out.
    """
    # FLOPs are counted on a meta-device twin: fused CPU attention kernels hide their matmuls from the
    # counter, while on the meta device attention decomposes into countable matmuls (and costs nothing)
    twin = model
    if next(model.parameters()).device.type != "meta":
        cfg = replace(model.config, model=replace(model.config.model, pretrained="none", weights_sha256=""))
        with torch.device("meta"):
            twin = create_model(cfg, class_names=model.class_names, device="meta")
    size = twin.backbone.image_size
    video = torch.zeros(batch, twin.cfg.frames, 3, size, size, device="meta")
    twin.eval()
    twin.text_labels._cache = None
    counter = FlopCounterMode(display=False, depth=None)
    with counter, torch.no_grad():
        twin(video)
    flops = counter.get_flop_counts()
    rows = []
    for comp, prefix in COMPONENTS.items():
        mod = model.get_submodule(prefix)   # parameters from the model itself (its trainable state)
        train = sum(p.numel() for p in mod.parameters() if p.requires_grad)
        frozen = sum(p.numel() for p in mod.parameters() if not p.requires_grad)
        key = next((k for k in flops if k.endswith("." + prefix) or k == prefix), None)
        f = sum(flops[key].values()) if key else 0
        rows.append(dict(component=comp, trainable=train, frozen=frozen, gflops=f / 1e9 / batch))
    df = pd.DataFrame(rows)
    # the text tower runs inside text_labels' forward: keep its FLOPs in its own row only
    tower = df.loc[df.component == "text tower", "gflops"].values[0]
    df.loc[df.component == "text labels", "gflops"] -= tower
    df["runs"] = ["per clip"] * len(df)
    df.loc[df.component.isin(["text tower", "text labels"]), "runs"] = "per step (all classes)"
    per_clip = df.loc[df.runs == "per clip", "gflops"].sum()
    df.loc[len(df)] = dict(component="total", trainable=int(df.trainable.sum()), frozen=int(df.frozen.sum()),
                           gflops=per_clip, runs="per clip (text features cached)")
    df["gmacs"] = df["gflops"] / 2          # papers usually quote multiply-adds
    return df


def build_on_meta(config: str = "tgdfer-b16", **kw) -> TGDFER:
    """Build a config on the meta device (shapes only, no memory, no weights): for reports."""
    cfg = load_config(config, kw.pop("variant", "tgdfer"), kw.pop("overrides", None))
    cfg.model.pretrained = "none"
    with torch.device("meta"):
        return create_model(cfg, device="meta", **kw)


@torch.no_grad()
def trace_shapes(model: TGDFER, batch: int = 2) -> pd.DataFrame:
    """The tensor shape after each part of the model, for a random clip batch (architecture tour)."""
    size, T = model.backbone.image_size, model.cfg.frames
    video = torch.zeros(batch, T, 3, size, size)
    was = model.training
    model.eval()
    X = model.backbone.encode_frames(video)
    Z, g = model.temporal(X)
    E = model.label_features()
    E2, S, R = model.visual_prompt(E, Z)
    out = model(video)
    model.train(was)
    rows = [("input clip", "B, T, 3, H, W", video.shape), ("frame features X (image tower)", "B, T, D", X.shape),
            ("instance features Z (MGTN)", "B, T, D", Z.shape), ("clip token g (MGTN)", "B, D", None if g is None else g.shape),
            ("label features E (text branch)", "C, D", E.shape),
            ("enhanced label features E' (visual prompt)", "B, C, D", E2.shape),
            ("instance scores S", "B, T, C", S.shape), ("frame relevance R", "B, T, C", R.shape),
            ("clip logits (MIL)", "B, C", out.logits.shape)]
    return pd.DataFrame([(a, b, tuple(c) if c is not None else "not built") for a, b, c in rows],
                        columns=["part", "dims", "shape"])
