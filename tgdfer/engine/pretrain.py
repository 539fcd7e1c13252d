"""Image-text pretraining of the tiny CLIP (TGDFER-Tiny) on generated face frames.

In: nothing but a seed. Out: `TGDFER-Tiny-synthface.safetensors` (fp16 open_clip state dict) and
`TGDFER-Tiny-synthface.json` (settings, loss curve, SHA256). Why: the real method starts from a
vision-language model pretrained on image-text pairs (CLIP); a randomly initialised tiny model cannot
be trained from scratch within a CPU demo. So this project pretrains its tiny CLIP the CLIP way
(contrastive image-text loss) on single frames rendered with a seed range the benchmark never uses,
with *random* action-unit combinations captioned by the units' plain names (`assets/au_phrases.json`:
"raised inner brows", "a dropped jaw", ...). No emotion word and no emotion prototype is used, so the
classes are still learned only from the clip labels during TG-DFER training.
"""
from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import time
from functools import lru_cache
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from safetensors.torch import save

from ..io import atomic_write_bytes, atomic_write_json
from ..model.backbone import TextTower, register_configs, sha256_of
from ..progress import progress
from ..seeding import seed_everything
from ..synth.faces import AU_INDEX, AUS, Pose, random_identity
from ..synth.generate import compose_frame, random_look


PRETRAIN_SEED_BASE = 1_000_003   # disjoint from every benchmark seed's random streams
# The units the committed weights were pretrained on (the renderer's units before format 3 added 10, 17, 24).
PRETRAIN_UNITS = (1, 2, 4, 5, 6, 7, 9, 12, 15, 16, 20, 23, 25, 26)


@lru_cache(maxsize=None)
def au_phrases() -> dict:
    return json.loads(resources.files("tgdfer.assets").joinpath("au_phrases.json").read_text())


def caption(au: np.ndarray) -> str:
    """'a face with raised inner brows, slightly parted lips and a dropped jaw and open mouth'."""
    ph = au_phrases()
    parts = []
    for unit in AUS:
        v = float(au[AU_INDEX[unit]])
        if v >= 0.25:
            parts.append((ph["slight"] + " " if v < 0.5 else "") + ph["units"][str(unit)])
    if not parts:
        return ph["rest"]
    units = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return ph["template"].format(units=units)


CAPTION_STYLES = ("exact", "noisy")
TAGS = {"exact": "synthface", "noisy": "synthface2"}   # the weights each caption style makes


def noisy_caption(au: np.ndarray, rng: np.random.Generator) -> str:
    """A caption as alt-text is: some units left out, others in other words, now and then the wrong unit named,
    sometimes nothing about the face at all (rates: `au_phrases.json` "noise")."""
    ph = au_phrases()
    noise = ph["noise"]
    if rng.random() < noise["generic"]:
        return str(ph["generic"][int(rng.integers(len(ph["generic"])))])
    units = [u for u in AUS if float(au[AU_INDEX[u]]) >= noise["threshold"]]
    parts = []
    for unit in units:
        if rng.random() < noise["omit"]:
            continue
        named = unit
        if rng.random() < noise["misname"]:
            others = [u for u in AUS if u not in units]
            named = others[int(rng.integers(len(others)))]
        words = ph["paraphrases"][str(named)]
        phrase = str(words[int(rng.integers(len(words)))])
        if float(au[AU_INDEX[unit]]) < 0.5 and rng.random() < 0.7:
            phrase = str(ph["slight_words"][int(rng.integers(len(ph["slight_words"])))]) + " " + phrase
        parts.append(phrase)
    if not parts:
        return ph["rest"] if not units else str(ph["generic"][int(rng.integers(len(ph["generic"])))])
    parts = [parts[i] for i in rng.permutation(len(parts))]
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return str(ph["templates"][int(rng.integers(len(ph["templates"])))]).format(units=text)


def _random_au(rng: np.random.Generator, units: tuple = PRETRAIN_UNITS) -> np.ndarray:
    au = np.zeros(len(AUS), np.float32)
    k = int(rng.choice([0, 1, 2, 3, 4, 5], p=[0.12, 0.22, 0.24, 0.2, 0.14, 0.08]))
    units = list(units)
    for u in rng.choice(units, size=k, replace=False):
        au[AU_INDEX[int(u)]] = rng.uniform(0.25, 1.0)
    if rng.random() < 0.08:
        au[AU_INDEX[45]] = 1.0
    return au


def render_frames(n: int, size: int, out_size: int, seed: int, start: int = 0,
                  captions: str = "exact") -> tuple[np.ndarray, list[str]]:
    """n captioned frames: uint8 [n, out_size, out_size, 3] and their captions.

    captions 'exact' (weights 'synthface'): the units of formats 1-2, each named by its one phrase. 'noisy'
    ('synthface2'): every unit the renderer draws (format 3 added 10, 17, 24), captioned by `noisy_caption`.
    """
    if captions not in CAPTION_STYLES:
        raise ValueError(f"captions must be one of {CAPTION_STYLES} (got {captions!r})")
    all_units = tuple(u for u in AUS if u != 45)

    imgs = np.empty((n, out_size, out_size, 3), np.uint8)
    caps = []
    for i in range(n):
        rng = np.random.default_rng([PRETRAIN_SEED_BASE, seed, start + i])
        ident = random_identity(rng)
        look = random_look(rng, size)
        pad = look.bg.shape[0] - size
        pose = Pose(cx=0.5 + rng.uniform(-0.04, 0.04), cy=0.52 + rng.uniform(-0.04, 0.04), roll=rng.uniform(-9, 9),
                    scale=rng.uniform(0.9, 1.08), yaw=rng.uniform(-0.7, 0.7), gaze=rng.uniform(-1, 1))
        au = _random_au(rng, PRETRAIN_UNITS if captions == "exact" else all_units)
        asym = 0.0 if captions == "exact" or rng.random() >= 0.3 else float(rng.uniform(-0.5, 0.5))
        img, _ = compose_frame(look, ident, pose, au, (rng.uniform(0, pad), rng.uniform(0, pad)),
                               rng.uniform(0.8, 1.15), rng, asym=asym)
        imgs[i] = cv2.resize(img, (out_size, out_size), interpolation=cv2.INTER_AREA)
        caps.append(caption(au) if captions == "exact" else noisy_caption(au, rng))
    return imgs, caps


def _render_chunk(args):
    return render_frames(*args)


def _new_model(init_image):
    """TGDFER-Tiny at random initialisation, its image tower loaded from `init_image` when given."""
    model = open_clip.create_model("TGDFER-Tiny")
    if init_image:
        from safetensors.torch import load_file

        visual = {k[len("visual."):]: v.float() for k, v in load_file(str(init_image)).items() if k.startswith("visual.")}
        model.visual.load_state_dict(visual)
    return model


def _contrastive_train(model, x_all: torch.Tensor, tokens: torch.Tensor, epochs: int, batch: int, lr: float,
                       seed: int) -> list[float]:
    """CLIP's image-text loss over uint8 frames [N, 3, S, S] and their tokens [N, L]; the mean loss of each epoch."""
    mean = torch.tensor(open_clip.OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(open_clip.OPENAI_DATASET_STD).view(1, 3, 1, 1)
    text = TextTower(model)
    loss_fn = open_clip.ClipLoss()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.98), eps=1e-6)
    steps_per_epoch = len(x_all) // batch
    total = steps_per_epoch * epochs
    warm = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))
    g = torch.Generator().manual_seed(seed)
    history = []
    model.train()
    bar = progress(total=total, desc="pretrain TGDFER-Tiny")
    for epoch in range(epochs):
        perm = torch.randperm(len(x_all), generator=g)
        running = 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * batch:(s + 1) * batch]
            x = x_all[idx].float().div_(255)
            shift = torch.randint(-3, 4, (2,), generator=g)                               # small translation
            x = torch.roll(x, shifts=(int(shift[0]), int(shift[1])), dims=(2, 3))
            x = (x - mean) / std
            t = tokens[idx]
            fi = F.normalize(model.encode_image(x), dim=-1)                                # [B, D]
            ft = F.normalize(text(text.embed(t), t), dim=-1)                              # [B, D]
            loss = loss_fn(fi, ft, model.logit_scale.exp())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))
            running += loss.item()
            bar.update(1)
        history.append(round(running / steps_per_epoch, 4))
    bar.close()
    return history


def pretrain_tiny(out: str | os.PathLike, frames: int = 24000, epochs: int = 12, batch: int = 256, lr: float = 1e-3,
                  seed: int = 0, workers: int | None = None, *, render_size: int = 112, captions: str = "exact",
                  init_image: str | os.PathLike | None = None) -> Path:
    """Pretrain TGDFER-Tiny contrastively; returns the weight file. ~10 minutes on 2 CPU cores (Intel, AMX).

    captions 'exact' makes the weights 'synthface', 'noisy' the weights 'synthface2' (see `render_frames`).
    `init_image`: a weight file whose image tower starts this run (its text tower is not read: the text side
    learns from this run's captions alone)."""
    if captions not in CAPTION_STYLES:
        raise ValueError(f"captions must be one of {CAPTION_STYLES} (got {captions!r})")
    tag = TAGS[captions]

    out = Path(out)
    register_configs()
    seed_everything(seed)
    model = _new_model(init_image)
    size = model.visual.image_size[0] if isinstance(model.visual.image_size, tuple) else model.visual.image_size
    t0 = time.time()
    workers = workers or os.cpu_count() or 1
    chunks = [(min(2000, frames - s), render_size, size, seed, s, captions) for s in range(0, frames, 2000)]
    with mp.get_context("fork").Pool(workers) as pool:
        parts = list(progress(pool.imap(_render_chunk, chunks), total=len(chunks), desc="render frames"))
    imgs = np.concatenate([p[0] for p in parts])
    caps = [c for p in parts for c in p[1]]
    t_render = time.time() - t0
    tokens = open_clip.get_tokenizer("TGDFER-Tiny")(caps)                                 # [N, L]
    tokens = tokens[:, :int(tokens.argmax(-1).max()) + 1]
    x_all = torch.from_numpy(imgs).permute(0, 3, 1, 2)                                    # [N, 3, S, S] uint8
    history = _contrastive_train(model, x_all, tokens, epochs, batch, lr, seed)
    sd = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    weights = out / f"TGDFER-Tiny-{tag}.safetensors"
    atomic_write_bytes(weights, save(sd))
    extra = {} if captions == "exact" else {"captions": captions, "caption_noise": au_phrases()["noise"],
                                              "examples": caps[:8]}
    atomic_write_json(out / f"TGDFER-Tiny-{tag}.json", {
        "model": "TGDFER-Tiny", "tag": tag, "sha256": sha256_of(weights), **extra,
        "frames": frames, "epochs": epochs, "batch": batch, "lr": lr, "seed": seed, "render_size": render_size,
        "loss_per_epoch": history, "render_seconds": round(t_render, 1), "train_seconds": round(time.time() - t0 - t_render, 1),
        "torch": torch.__version__, "open_clip": open_clip.__version__,
        "init_image": Path(init_image).name if init_image else None,
        "command": f"python -m tgdfer pretrain-tiny --out {out} --frames {frames} --epochs {epochs} --seed {seed}"
                   + ("" if batch == 256 else f" --batch {batch}") + ("" if captions == "exact" else f" --captions {captions}")
                   + (f" --init-image {init_image}" if init_image else "")})
    return weights
