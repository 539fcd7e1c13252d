"""The CLIP backbone from open_clip: image tower for frames, frozen text tower for prompts.

In: an open_clip model name and a weight source (a pretrained tag such as 'openai', a local
checkpoint path, or 'none' for random init). Out: a `Backbone` with `encode_frames` [B, T, 3, H, W]
-> [B, T, D] and a text tower that accepts prompt embeddings (learnable context vectors) directly.
Weights are never downloaded silently: a tag resolves to files already in open_clip's caches, and
a missing file is a `WeightsNotFound` that says which file to put where. [paper: VLP model]
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from importlib import resources
from pathlib import Path

import open_clip
import torch
from torch import nn

from .fast_attention import use_sdpa

FINETUNE_MODES = ("full", "frozen", "last:N")

# Weights that ship with this package: (open_clip model, tag) -> (file in tgdfer/assets/weights, SHA256).
# TGDFER-Tiny 'synthface' is made by `python -m tgdfer pretrain-tiny` (see its .json sidecar).
PACKAGED_WEIGHTS = {
    ("TGDFER-Tiny", "synthface"): ("TGDFER-Tiny-synthface.safetensors",
                                   "5c6ffe62d1cc8aa2d740380c27ad6a02274d5107befbe355ed07a2fed1ab1486"),
    # noisy captions over every unit of benchmark format 3, image tower started from 'synthface' (in development)
    ("TGDFER-Tiny", "synthface2"): ("TGDFER-Tiny-synthface2.safetensors", "fe450cbbeb7c4e19f9223e9f65d770413be791c3ee844243a64406d1b4cedc57"),
}


class WeightsNotFound(FileNotFoundError):
    """A pretrained tag whose weight file is not on this machine (and downloading is off)."""


class ChecksumMismatch(ValueError):
    """A weight file whose SHA256 differs from the expected one."""


def register_configs() -> None:
    """Make this project's open_clip model configs (the tiny test model) known to open_clip."""
    folder = resources.files("tgdfer.configs").joinpath("open_clip")
    with resources.as_file(folder) as path:
        if "TGDFER-Tiny" not in open_clip.list_models():
            open_clip.add_model_config(path)


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _cache_candidates(model: str, tag: str, cache_dir: str | None) -> tuple[list[Path], dict]:
    """Where open_clip would keep the file of (model, tag), without touching the network."""
    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(model)
        raise ValueError(f"'{tag}' is not a pretrained tag of {model} (known: {', '.join(tags) or 'none'}); "
                         "pass a known tag, a checkpoint path, or 'none'")
    cands: list[Path] = []
    url = cfg.get("url", "")
    if url:
        cands.append(Path(cache_dir or os.path.expanduser("~/.cache/clip")) / os.path.basename(url))
    hub = cfg.get("hf_hub", "")
    if hub:  # Hugging Face cache layout: <cache>/models--org--name/snapshots/<rev>/<file>
        repo, fname = hub.rstrip("/"), ""
        if not hub.endswith("/"):
            repo, fname = os.path.split(hub)
        names = [fname] if fname else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        hf_home = Path(os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
                       or Path(os.environ.get("HF_HOME", "~/.cache/huggingface")).expanduser() / "hub")
        for root in ([Path(cache_dir)] if cache_dir else []) + [hf_home]:
            snap = root / f"models--{repo.replace('/', '--')}" / "snapshots"
            if snap.is_dir():
                for s in sorted(snap.iterdir()):
                    cands += [s / n for n in names]
    return cands, cfg


def resolve_weights(model: str, pretrained: str, cache_dir: str | None = None, download: bool = False) -> Path | None:
    """The local file for `pretrained` (a tag or a path); None for 'none'. Never downloads unless asked."""
    if pretrained in (None, "", "none"):
        return None
    if (model, pretrained) in PACKAGED_WEIGHTS:
        fname, _ = PACKAGED_WEIGHTS[(model, pretrained)]
        path = Path(str(resources.files("tgdfer.assets.weights").joinpath(fname)))
        if not path.is_file():
            raise WeightsNotFound(f"packaged weights {path} are missing: reinstall tgdfer or rebuild them with "
                                  f"`python -m tgdfer pretrain-tiny --out {path.parent}`")
        return path
    p = Path(pretrained).expanduser()
    if p.suffix or os.sep in pretrained:
        if not p.is_file():
            raise WeightsNotFound(f"checkpoint file {p} does not exist")
        return p
    cands, cfg = _cache_candidates(model, pretrained, cache_dir)
    for c in cands:
        if c.is_file():
            return c
    if download:
        return Path(open_clip.download_pretrained(cfg, cache_dir=cache_dir))
    where = "\n".join(f"    {c}" for c in cands[:3]) or f"    {Path(cache_dir or '~/.cache/clip') / 'FILE'}"
    src = cfg.get("url") or f"https://huggingface.co/{cfg.get('hf_hub', '').rstrip('/')}"
    raise WeightsNotFound(
        f"no local weights for {model} '{pretrained}'. This machine will not download them by itself.\n"
        f"  Download {src}\n  and either pass its path (--pretrained /path/to/file) or put it at one of:\n{where}\n"
        "  or, on a machine with network (a cluster's login node), fetch them once into open_clip's cache with\n"
        f"    python -m tgdfer fetch-weights --model {model} --pretrained {pretrained}\n"
        "  and run where that cache is seen (the same HF_HOME / home folder; set HF_HUB_OFFLINE=1 on nodes without "
        "network)")


class TextTower(nn.Module):
    """CLIP's text transformer, frozen, taking token embeddings so that context vectors can be learned."""

    def __init__(self, clip: nn.Module):
        super().__init__()
        self.token_embedding = clip.token_embedding
        self.positional_embedding = clip.positional_embedding
        self.transformer = clip.transformer
        self.ln_final = clip.ln_final
        self.text_projection = clip.text_projection
        self.register_buffer("attn_mask", clip.attn_mask, persistent=False)
        self.context_length = clip.context_length
        self.width = clip.token_embedding.weight.shape[1]

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.token_embedding(tokens)                                      # [N, L] -> [N, L, W]

    def forward(self, emb: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Prompt embeddings [N, L, W] (+ their token ids [N, L] to find EOT) -> features [N, D]."""
        L = emb.shape[1]
        x = emb + self.positional_embedding[:L].to(emb.dtype)                    # [N, L, W]
        x = self.transformer(x, attn_mask=self.attn_mask[:L, :L])
        x = self.ln_final(x)
        x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]  # EOT token: [N, W]
        if isinstance(self.text_projection, nn.Linear):
            return self.text_projection(x)
        return x @ self.text_projection                                          # [N, D]


class Backbone(nn.Module):
    """Image tower (fine-tuned per `finetune`) and frozen text tower of one CLIP model."""

    def __init__(self, clip: nn.Module, finetune: str = "full", info: dict | None = None):
        super().__init__()
        self.visual = clip.visual
        self.text = TextTower(clip)
        self.embed_dim = int(clip.text_projection.shape[1] if not isinstance(clip.text_projection, nn.Linear)
                             else clip.text_projection.out_features)
        self.image_size = int(self.visual.image_size[0] if isinstance(self.visual.image_size, tuple)
                              else self.visual.image_size)
        self.mean = tuple(getattr(self.visual, "image_mean", None) or open_clip.OPENAI_DATASET_MEAN)
        self.std = tuple(getattr(self.visual, "image_std", None) or open_clip.OPENAI_DATASET_STD)
        self.info = info or {}
        if os.environ.get("TGDFER_SDPA", "1") != "0":                            # 0: open_clip's own path
            use_sdpa(self.visual)                                                # fast_attention.py
            use_sdpa(self.text.transformer, causal=True)
        for p in self.text.parameters():
            p.requires_grad_(False)
        self.set_finetune(finetune)

    def set_finetune(self, mode: str) -> None:
        """'full': whole image tower trains; 'last:N': its last N blocks (+ final norm, projection); 'frozen'."""
        self.finetune = mode
        params = list(self.visual.parameters())
        if mode == "full":
            for p in params:
                p.requires_grad_(True)
            return
        for p in params:
            p.requires_grad_(False)
        if mode == "frozen":
            return
        if not mode.startswith("last:") or not mode[5:].isdigit():
            raise ValueError(f"finetune must be one of full, frozen, last:N (got {mode!r})")
        n = int(mode[5:])
        blocks = self.visual.transformer.resblocks
        if not 0 < n <= len(blocks):
            raise ValueError(f"finetune last:{n}: the image tower has {len(blocks)} blocks")
        for m in list(blocks[-n:]) + [self.visual.ln_post]:
            for p in m.parameters():
                p.requires_grad_(True)
        if isinstance(self.visual.proj, nn.Parameter):
            self.visual.proj.requires_grad_(True)

    @property
    def frozen(self) -> bool:
        return not any(p.requires_grad for p in self.visual.parameters())

    def encode_frames(self, video: torch.Tensor) -> torch.Tensor:
        B, T = video.shape[:2]
        x = self.visual(video.flatten(0, 1))                                     # [B*T, 3, H, W] -> [B*T, D]
        return x.view(B, T, -1)                                                  # [B, T, D]

    def train(self, mode: bool = True):
        super().train(mode)
        self.text.eval()                                                          # frozen: no dropout
        if self.frozen:
            self.visual.eval()
        return self


def create_backbone(model: str = "ViT-B-16", pretrained: str = "openai", finetune: str = "full",
                    cache_dir: str | None = None, sha256: str | None = None, download: bool = False,
                    device: str | torch.device = "cpu") -> Backbone:
    """Build the backbone; `sha256` (a prefix is enough) refuses any other weight file."""
    register_configs()
    if model not in open_clip.list_models():
        raise ValueError(f"unknown open_clip model {model!r}")
    path = resolve_weights(model, pretrained, cache_dir, download)
    if (model, pretrained) in PACKAGED_WEIGHTS and not sha256:
        sha256 = PACKAGED_WEIGHTS[(model, pretrained)][1]
    with _quiet_logging():   # open_clip logs a warning for every randomly initialised model
        clip = open_clip.create_model(model, pretrained=None, device=device,
                                      force_quick_gelu=_quick_gelu(model, pretrained))
    info = {"clip_model": model, "pretrained": pretrained or "none", "weights_file": None, "weights_sha256": None}
    if path is not None:
        digest = sha256_of(path)
        if sha256 and not digest.startswith(sha256.lower()):
            raise ChecksumMismatch(f"{path}: SHA256 {digest[:16]}... does not match the expected {sha256[:16]}...; "
                                   "the file is corrupt or another model's weights")
        _load_into(clip, path)
        info.update(weights_file=str(path), weights_sha256=digest)
    return Backbone(clip, finetune, info)


@contextlib.contextmanager
def _quiet_logging():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _quick_gelu(model: str, pretrained: str | None) -> bool:
    if pretrained and open_clip.get_pretrained_cfg(model, pretrained):
        return bool(open_clip.get_pretrained_cfg(model, pretrained).get("quick_gelu", False))
    return False


def _load_into(clip: nn.Module, path: Path) -> None:
    try:
        open_clip.load_checkpoint(clip, str(path))
    except RuntimeError as e:
        if "TorchScript" not in str(e) and "jit" not in str(e).lower():
            raise
        sd = torch.jit.load(str(path), map_location="cpu").state_dict()           # OpenAI's original .pt files
        for k in ("input_resolution", "context_length", "vocab_size"):
            sd.pop(k, None)
        clip.load_state_dict(sd, strict=True)
