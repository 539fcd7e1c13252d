"""Configs as data: model and training settings live in `configs/*.json`, parsed into dataclasses.

In: a config name (`tgdfer-tiny`, `tgdfer-b32`, `tgdfer-b16`) or a JSON path, an optional named
variant (`configs/variants.json`: baselines such as `clip-meanpool`) and `key=value` overrides
(dotted for nested fields: `loss.w_inst=0`, `train.lr_head=1e-3`). Out: a `Config`. Unknown keys are
errors that list the valid ones: a typo never silently runs the default.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path


@dataclass
class LossConfig:
    label_smoothing: float = 0.0   # cross-entropy label smoothing
    w_inst: float = 0.5            # weight of the top-k instance loss
    w_div: float = 0.1             # weight of the label-feature diversity penalty
    topk: int = 4                  # frames per clip the instance loss uses
    class_weights: bool = False    # weight classes by inverse frequency (UAR-oriented)


@dataclass
class ModelConfig:
    clip_model: str = "ViT-B-16"        # open_clip architecture
    pretrained: str = "openai"          # open_clip tag, checkpoint path, or 'none' (random init)
    weights_sha256: str = ""            # expected SHA256 (prefix) of the weight file; '' = record only
    finetune: str = "full"              # image tower: full | last:N | frozen
    frames: int = 16                    # T, frames sampled per clip
    temporal: str = "both"              # MGTN branches: none | short | long | both
    temporal_layers: int = 1            # transformer layers of the long-range branch
    temporal_heads: int = 8
    frame_diff: bool = True             # feed x_t - x_{t-1} to the short-term branch
    dropout: float = 0.1                # dropout in the temporal transformer
    text: str = "learnable+descriptions"  # none | classname | learnable | descriptions | learnable+descriptions
    descriptions: str = "facs"          # facs (plain English) | au (the tiny backbone's action-unit captions) |
                                        # facs-deranged:K, au-deranged:K (seeded derangements: controls) | a .json/.txt file
    n_ctx: int = 8                      # learnable context vectors per class (M)
    context_length: int = 77            # text tokens the text tower reads
    visual_prompt: bool = True          # enrich label features with the clip's instances
    prompt_heads: int = 8
    gate_init: float = 0.1              # initial gate of the visual prompt's residual
    prompt_residual: str = "plain"      # visual context added to each class: plain | centred (minus the classes' mean)
    pool: str = "relevance"             # MIL: mean | max | topk | attention | relevance
    mil_lambda: float = 0.5             # weight of the pooled instance scores vs the clip token
    topk: int = 4                       # k of the topk pool
    tau: float = 0.01                   # cosine temperature of all logits
    tau_r: float = 5.0                  # relevance softmax temperature (on S = cos / tau); 1.0 made
                                        # localisation unstable across seeds on the generated benchmark


@dataclass
class TrainConfig:
    epochs: int = 30
    max_steps: int = 0                  # stop after this many optimiser steps (0: run all epochs)
    global_batch: int = 32              # clips an optimiser step over every GPU and accumulation step: the recipe's
                                        # batch, kept on any number of GPUs (per-GPU batch x GPUs x accumulation)
    batch_size: int = 0                 # clips a GPU (process) takes at once; 0: global_batch / (GPUs x grad_accum)
    grad_accum: int = 0                 # micro-batches a step; 0: global_batch / (GPUs x batch_size), or 1
    optimizer: str = "sgd"              # sgd (momentum 0.9, as DFER-CLIP) | adamw
    lr_backbone: float = 1e-5           # image tower
    lr_head: float = 1e-2               # temporal network, visual prompt, MIL, label embeddings
    lr_prompt: float = 1e-3             # learnable text context
    weight_decay: float = 1e-4
    schedule: str = "cosine"            # cosine | step
    warmup_epochs: float = 1.0
    step_milestones: tuple = (0.6, 0.8)  # fractions of training where a step schedule divides LR by 10
    clip_grad: float = 1.0              # max gradient norm (0: off)
    precision: str = "auto"             # auto (bf16 on GPU) | fp32 | bf16 | fp16
    augment: bool = True
    workers: int = 2
    val_fraction: float = 0.0           # carve a validation split from train (grouped) for model selection
    train_fraction: float = 1.0         # train on this share of the fold's training clips (stratified, drawn by the
                                        # fold alone, before any validation split: a training-size curve is paired)
    select_on: str = "val"              # which split picks the best epoch: val | test
    test_views: int = 1                 # temporal clips at test time
    test_crops: int = 1                 # spatial crops at test time (1 centre, 2 + flip, 3 crops)
    eval_every: int = 1                 # evaluate every N epochs
    limit_eval_batches: int = 0         # evaluate on the first N batches only (0: all)
    feature_cache: str = "auto"         # with a frozen image tower: auto | on | off
    cache_views: int = 4                # augmented training views a clip in the cache (the run's seed picks one
                                        # for each clip and epoch); the pool itself is encoded once, seed 0
    cache_precision: str = "auto"       # encoding the cache: auto (bf16 on CPUs with AMX, on GPUs) | fp32


@dataclass
class Config:
    name: str = "custom"
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    variant: str = "tgdfer"
    source: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _configs_dir():
    return resources.files("tgdfer.configs")


def list_configs() -> list[str]:
    return sorted(p.name[:-5] for p in _configs_dir().iterdir() if p.name.startswith("tgdfer-") and p.name.endswith(".json"))


def load_variants() -> dict:
    return json.loads(_configs_dir().joinpath("variants.json").read_text())


def list_variants() -> list[str]:
    return sorted(load_variants()["variants"])


def _coerce(value, like, key: str):
    if isinstance(value, str) and not isinstance(like, str):
        if isinstance(like, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"{key} takes true/false, got {value!r}")
        if isinstance(like, int):
            return int(value)
        if isinstance(like, float):
            return float(value)
        if isinstance(like, tuple):
            return tuple(float(v) for v in value.strip("()[] ").split(",") if v)
    if isinstance(like, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(like, tuple) and isinstance(value, list):
        return tuple(value)
    return value


def apply_overrides(cfg: Config, overrides: dict) -> Config:
    """Set `section.key` (or a bare model key) values on a copy of `cfg`; unknown keys raise."""
    sections = {"model": cfg.model, "loss": cfg.loss, "train": cfg.train}
    new = {k: replace(v) for k, v in sections.items()}
    for key, value in overrides.items():
        sec, _, name = key.rpartition(".")
        sec = sec or next((s for s, obj in new.items() if name in {f.name for f in fields(obj)}), "model")
        if sec not in new:
            raise ValueError(f"unknown config section {sec!r} in {key!r}; sections: model, loss, train")
        names = {f.name for f in fields(new[sec])}
        if name not in names:
            raise ValueError(f"unknown {sec} setting {name!r}; valid: {', '.join(sorted(names))}")
        setattr(new[sec], name, _coerce(value, getattr(new[sec], name), key))
    return replace(cfg, **new)


def load_config(name: str = "tgdfer-tiny", variant: str = "tgdfer", overrides: dict | None = None) -> Config:
    """Config `name` (packaged name or JSON path) + named `variant` + `overrides`."""
    p = Path(name)
    if p.suffix == ".json" and p.is_file():
        data = json.loads(p.read_text())
    else:
        f = _configs_dir().joinpath(f"{name}.json")
        if not f.is_file():
            raise ValueError(f"unknown config {name!r}; packaged configs: {', '.join(list_configs())} (or a .json path)")
        data = json.loads(f.read_text())
    cfg = Config(name=data.get("name", p.stem), source=data.get("source", ""))
    flat = {f"model.{k}": v for k, v in data.get("model", {}).items()}
    flat.update({f"loss.{k}": v for k, v in data.get("loss", {}).items()})
    flat.update({f"train.{k}": v for k, v in data.get("train", {}).items()})
    cfg = apply_overrides(cfg, flat)
    variants = load_variants()["variants"]
    if variant not in variants:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(sorted(variants))}")
    cfg = apply_overrides(cfg, variants[variant].get("set", {}))
    cfg.variant = variant
    return apply_overrides(cfg, overrides or {})


# Face crops of raw video (`data/faces.py`, `faces` and `predict`): the crop side as a multiple of the detected
# face box side. A Haar box on a real face runs from about the top of the forehead to just below the chin, so
# 1.1 gives the framing of DFEW's released 224x224 clips (forehead to chin, a thin border; README "Your own videos").
CROP_SCALE = 1.1

def switch(key: str, help: str, choices=None, kind=str):  # noqa: A002
    """A named config field of the command line and the notebooks: '' (or 0) keeps the config's value."""
    return field(default="" if kind is str else kind(0),
                 metadata={"help": help + " ('' or 0: the config's)", "choices": tuple(choices) if choices else None,
                           "required": False, "cli": True, "type": kind, "key": key})


@dataclass
class Switches:
    """The config fields named directly on the command line (`--text none`) and in the notebooks (`text = "none"`);
    any other field: `--set section.field=value`."""
    text: str = switch("model.text", "text guidance",
                       ("none", "classname", "learnable", "descriptions", "learnable+descriptions"))
    temporal: str = switch("model.temporal", "temporal network", ("none", "short", "long", "both"))
    pool: str = switch("model.pool", "MIL pooling", ("mean", "max", "topk", "attention", "relevance"))
    visual_prompt: str = switch("model.visual_prompt", "the visual prompt module", ("true", "false"))
    finetune: str = switch("model.finetune", "image tower: full | last:N | frozen")
    pretrained: str = switch("model.pretrained", "weights: an open_clip tag, a checkpoint path, or none")
    descriptions: str = switch("model.descriptions", "the classes' descriptions: facs | au | facs-deranged:K | au-deranged:K | "
                               "a .json or .txt file of your own (docs/descriptions.md)")
    epochs: int = switch("train.epochs", "epochs", kind=int)
    max_steps: int = switch("train.max_steps", "stop after this many optimiser steps", kind=int)
    batch_size: int = switch("train.batch_size", "clips PER GPU (per process) at once, as open_clip reads it; the "
                             "config's global batch is kept (per-GPU batch x GPUs x accumulation): by default "
                             "global batch / GPUs", kind=int)
    grad_accum: int = switch("train.grad_accum", "micro-batches an optimiser step (default: what keeps the global "
                             "batch)", kind=int)
    global_batch: int = switch("train.global_batch", "clips an optimiser step over every GPU (default: the config's "
                               "recipe, e.g. 48 for tgdfer-b16, DFER-CLIP's)", kind=int)
    workers: int = switch("train.workers", "DataLoader workers (a process)", kind=int)
    precision: str = switch("train.precision", "autocast precision", ("auto", "fp32", "bf16", "fp16"))
    val_fraction: float = switch("train.val_fraction", "validation split carved from train (picks the best epoch)",
                                 kind=float)
    select_on: str = switch("train.select_on", "split that picks the best epoch", ("val", "test"))
    test_views: int = switch("train.test_views", "temporal views a test clip", kind=int)
    test_crops: int = switch("train.test_crops", "spatial crops a test clip", (1, 2, 3), kind=int)


SWITCHES = {f.name: f.metadata["key"] for f in fields(Switches)}     # switch name -> the config field it sets


def parse_overrides(items: list[str] | None) -> dict:
    """['text=none', 'loss.w_inst=0'] -> {'text': 'none', 'loss.w_inst': '0'}."""
    out = {}
    for it in items or []:
        if "=" not in it:
            raise ValueError(f"override {it!r} is not key=value")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out
