"""Label features from text: learnable prompts plus fine-grained descriptions of facial cues.

In: class names, their descriptions (`assets/descriptions.json`, editable data) and the frozen CLIP
text tower. Out: label features E [C, D]. [paper: learnable text prompts + fine-grained textual
descriptions] [design: CoOp-style class-specific context, M vectors before each description,
K descriptions a class averaged]. Variants (`text` switch):
  none                    learnable label embeddings, no text (a cosine classifier)
  classname               "a face showing {name}." (frozen)
  learnable               [ctx_1..ctx_M] {name}.
  descriptions            the K descriptions as written (frozen)
  learnable+descriptions  [ctx_1..ctx_M] {description}, K a class (default)
The descriptions themselves are data: `descriptions.py` (packaged, controls, or a file of your own).
"""
from __future__ import annotations

from functools import lru_cache

import open_clip
import torch
import torch.nn.functional as F
from torch import nn

from .descriptions import load_descriptions  # noqa: F401  (re-exported: the text branch's data)

TEXT_MODES = ("none", "classname", "learnable", "descriptions", "learnable+descriptions")


def prompt_texts(class_names: list[str], mode: str, descriptions: dict | None = None) -> tuple[list[str], list[int]]:
    """The prompt strings of a text mode (without context placeholders) and each one's class index."""
    d = descriptions or load_descriptions("facs", tuple(class_names))
    texts, owner = [], []
    for c, name in enumerate(class_names):
        if mode in ("classname",):
            items = [d["template_classname"].format(name=name)]
        elif mode == "learnable":
            items = [f"{name}."]
        elif mode in ("descriptions", "learnable+descriptions"):
            if name not in d["classes"]:
                raise KeyError(f"no descriptions for class {name!r} ({d.get('source', '')[:80]}); add a list for it")
            items = [d["template_description"].format(description=s, name=name) for s in d["classes"][name]]
        else:
            raise ValueError(f"text mode must be one of {TEXT_MODES}, got {mode!r}")
        texts += items
        owner += [c] * len(items)
    return texts, owner


@lru_cache(maxsize=4)
def _tokenizer(name: str, context_length: int):
    """open_clip's tokenizer, built once a process (its BPE tables take about 0.1 s, paid by every run of a pool)."""
    return open_clip.get_tokenizer(name, context_length=context_length)


class TextLabels(nn.Module):
    """Produces label features E [C, D] from prompts through a frozen text tower."""

    def __init__(self, class_names: list[str], mode: str, tokenizer_name: str, embed_dim: int, text_width: int,
                 context_length: int, n_ctx: int = 8, *, descriptions: dict | None = None):
        super().__init__()
        if mode not in TEXT_MODES:
            raise ValueError(f"text mode must be one of {TEXT_MODES}, got {mode!r}")
        self.mode, self.n_classes = mode, len(class_names)
        self.learnable_ctx = mode.startswith("learnable")
        self.n_ctx = n_ctx if self.learnable_ctx else 0
        if mode == "none":
            self.embeddings = nn.Parameter(torch.randn(self.n_classes, embed_dim) * 0.02)   # [C, D]
            return
        texts, owner = prompt_texts(class_names, mode, descriptions)
        self.texts, self.descriptions = texts, descriptions
        tok = _tokenizer(tokenizer_name, context_length)
        placeholder = " ".join(["X"] * self.n_ctx) + " " if self.n_ctx else ""
        default_device = torch.empty(0).device                                              # meta when building for reports
        with torch.device("cpu"):
            tokens = tok([placeholder + t for t in texts])                                  # [N, L]
        eot = tokens.argmax(dim=-1)
        if (eot >= context_length - 1).any():
            longest = texts[int(eot.argmax())]
            raise ValueError(f"prompt too long for the text tower's {context_length} tokens: {longest!r}; "
                             "shorten the description or use fewer context vectors")
        L = int(eot.max()) + 1                                                              # trim padding
        self.register_buffer("tokens", tokens[:, :L].clone().to(default_device), persistent=False)  # [N, L]
        self.register_buffer("owner", torch.tensor(owner, device=default_device), persistent=False)  # [N]
        counts = [[float(owner.count(c))] for c in range(self.n_classes)]
        self.register_buffer("counts", torch.tensor(counts, device=default_device), persistent=False)        # [C, 1] prompts a class
        if self.learnable_ctx:
            self.ctx = nn.Parameter(torch.randn(self.n_classes, self.n_ctx, text_width) * 0.02)  # [C, M, W]
        self._cache: tuple | None = None

    def extra_repr(self) -> str:
        n = 0 if self.mode == "none" else len(self.texts)
        return f"mode={self.mode}, classes={self.n_classes}, prompts={n}, n_ctx={self.n_ctx}"

    def _encode(self, text_tower) -> torch.Tensor:
        emb = text_tower.embed(self.tokens)                                                 # [N, L, W]
        if self.learnable_ctx:
            ctx = self.ctx[self.owner].to(emb.dtype)                                        # [N, M, W]
            emb = torch.cat([emb[:, :1], ctx, emb[:, 1 + self.n_ctx:]], dim=1)             # SOS, ctx, text
        feats = F.normalize(text_tower(emb, self.tokens).float(), dim=-1)                   # [N, D]
        E = feats.new_zeros(self.n_classes, feats.shape[1]).index_add(0, self.owner, feats)  # [C, D] sum per class
        return E / self.counts                                                              # [C, D] mean (out of place: vmap)

    def forward(self, text_tower) -> torch.Tensor:
        """Label features E [C, D]. One pass of the text tower for all prompts; cached when it cannot change."""
        if self.mode == "none":
            return self.embeddings
        if self.learnable_ctx and self.training and torch.is_grad_enabled():
            self._cache = None
            return self._encode(text_tower)
        key = (self.ctx._version, self.ctx.data_ptr()) if self.learnable_ctx else None
        key = (key, self.tokens.device)
        if self._cache is None or self._cache[0] != key:
            with torch.no_grad():
                self._cache = (key, self._encode(text_tower))
        return self._cache[1]
