"""Checkpoints: what a run folder's `last.pt` / `best.pt` hold, written atomically, and a model rebuilt from one.

A checkpoint stores the config, the class names, the backbone's weight source and every trainable or
non-backbone tensor; frozen backbone weights are restored from their recorded source (checked by SHA256).
It holds tensors and plain values only, and is read by torch's safe loader: loading a checkpoint from
elsewhere can fail, never run code (`safe_load`). Format 1 (earlier versions) loads safely as well.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..config import Config, apply_overrides
from ..io import atomic_torch_save
from ..safe_load import safe_torch_load, to_plain
from ..model import TGDFER, create_model

FORMAT = "tgdfer-checkpoint-2"                  # 2: tensors and plain values only
READABLE = ("tgdfer-checkpoint-1", FORMAT)      # 1: NumPy random state and scalars inside (loads safely too)


def _saved_keys(model: TGDFER) -> set[str]:
    """What a checkpoint stores: everything but the frozen parts restored from the weight source."""
    keep = {n for n, p in model.named_parameters() if p.requires_grad}
    keep |= {n for n, _ in model.named_buffers()}
    keep |= {n for n, _ in model.named_parameters() if not n.startswith("backbone.")}
    return keep


def model_state(model: TGDFER) -> dict:
    keys = _saved_keys(model)
    return {k: v.detach().cpu() for k, v in model.state_dict().items() if k in keys}


def save_checkpoint(path: Path, model: TGDFER, cfg: Config, extra: dict) -> None:
    described = getattr(model.text_labels, "descriptions", None)         # a user's file travels with the model
    atomic_torch_save(path, {"format": FORMAT, "config": to_plain(cfg.to_dict()), "class_names": list(model.class_names),
                             "backbone": to_plain(model.backbone.info), "model": model_state(model),
                             **({"descriptions": to_plain(described)} if described else {}), **to_plain(extra)})


def read_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist: give a run folder's last.pt or best.pt "
                                "(written by `python -m tgdfer train`)")
    ck = safe_torch_load(path, numpy_arrays=True)          # NumPy arrays: format-1 resume state
    if not isinstance(ck, dict) or ck.get("format") not in READABLE:
        raise ValueError(f"{path} is not a tgdfer checkpoint (expected one written by `python -m tgdfer train`)")
    return ck


def config_of(ck: dict) -> Config:
    """The exact config a checkpoint was trained with."""
    c = ck["config"]
    flat = {f"model.{k}": v for k, v in c["model"].items()}
    flat |= {f"loss.{k}": v for k, v in c["loss"].items()} | {f"train.{k}": v for k, v in c["train"].items()}
    cfg = apply_overrides(Config(name=c["name"], variant=c.get("variant", "tgdfer"), source=c.get("source", "")), flat)
    sha = ck["backbone"].get("weights_sha256")
    if sha:
        cfg.model.weights_sha256 = sha
    return cfg


def model_from(ck: dict, device: str | torch.device = "cpu", cache_dir: str | None = None, source="checkpoint") -> TGDFER:
    """A trained model from a checkpoint already read (`read_checkpoint`); `source` names it in errors."""
    model = create_model(config_of(ck), class_names=ck["class_names"], cache_dir=cache_dir,
                         descriptions=ck.get("descriptions"))
    missing, unexpected = model.load_state_dict(ck["model"], strict=False)
    # parts that checkpoints written before a config left them out still hold (they never had a gradient)
    unexpected = [k for k in unexpected if not any(k.startswith(p) for p in model.unbuilt)]
    if unexpected or [k for k in missing if k in _saved_keys(model)]:
        raise ValueError(f"{source} does not match its config (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.to(device).eval()


def load_model(checkpoint: str | Path, device: str | torch.device = "cpu", cache_dir: str | None = None) -> TGDFER:
    """Rebuild a trained model from a checkpoint (frozen parts come from its recorded weight source)."""
    return model_from(read_checkpoint(checkpoint), device, cache_dir, source=checkpoint)
