"""The TG-DFER model on the tiny config: shapes, switches, gradients, weights loading, reports."""
from __future__ import annotations

import time

import pytest
import torch

from tgdfer.model.backbone import ChecksumMismatch, WeightsNotFound, create_backbone, sha256_of
from tgdfer.config import load_config
from tgdfer.model import build_on_meta, create_model, model_report
from tgdfer.model.text_labels import TEXT_MODES, prompt_texts

T, S = 4, 64
RANDOM = {"pretrained": "none", "frames": T}


def tiny(variant="tgdfer", **ov):
    torch.manual_seed(0)
    return create_model("tgdfer-tiny", variant, {**RANDOM, **ov})


def clip_batch(B=2):
    return torch.randn(B, T, 3, S, S)


@pytest.mark.parametrize("variant", ["tgdfer", "clip-meanpool", "dfer-clip-like", "mil-only"])
def test_variants_shapes(variant):
    m = tiny(variant)
    out = m(clip_batch())
    assert out.logits.shape == (2, 7)
    for t in (out.relevance, out.instance_scores, out.weights):
        assert t.shape == (2, T, 7)
    assert out.label_features.shape == (2, 7, 128) and out.base_label_features.shape == (7, 128)


@pytest.mark.parametrize("text", TEXT_MODES)
@pytest.mark.parametrize("temporal", ["none", "short", "long", "both"])
def test_every_text_and_temporal_switch(text, temporal):
    out = tiny(text=text, temporal=temporal)(clip_batch())
    assert out.logits.shape == (2, 7) and torch.isfinite(out.logits).all()


@pytest.mark.parametrize("pool", ["mean", "max", "topk", "attention", "relevance"])
@pytest.mark.parametrize("vp", [True, False])
def test_pools_and_visual_prompt(pool, vp):
    out = tiny(pool=pool, visual_prompt=vp)(clip_batch())
    assert torch.allclose(out.relevance.sum(1), torch.ones(2, 7), atol=1e-5)     # softmax over frames
    assert torch.allclose(out.weights.sum(1), torch.ones(2, 7), atol=1e-5)
    if not vp:
        assert torch.allclose(out.label_features[0], out.label_features[1])      # no clip conditioning


def test_mil_lambda_mixes_pooled_scores_and_clip_token():
    m = tiny(mil_lambda=1.0)
    out = m(clip_batch())
    assert torch.allclose(out.logits, (out.weights * out.instance_scores).sum(1), atol=1e-4)


def test_frozen_parts_get_no_gradient_and_do_not_change():
    m = tiny(finetune="last:1")
    frozen = {n: p.detach().clone() for n, p in m.named_parameters() if not p.requires_grad}
    assert any(n.startswith("backbone.text") for n in frozen) and any(n.startswith("backbone.visual") for n in frozen)
    trainable_visual = [n for n, p in m.named_parameters() if p.requires_grad and n.startswith("backbone.visual")]
    assert trainable_visual and all("resblocks.2" in n or "ln_post" in n or n.endswith("proj") for n in trainable_visual)
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.1)
    loss = m(clip_batch()).logits.logsumexp(1).mean()
    loss.backward()
    assert all(p.grad is None for p in m.parameters() if not p.requires_grad)
    assert m.text_labels.ctx.grad is not None and m.text_labels.ctx.grad.abs().sum() > 0   # learnable context learns
    opt.step()
    for n, p in m.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), n


def test_frozen_mode_and_bad_mode():
    m = tiny(finetune="frozen")
    assert m.backbone.frozen and not any(p.requires_grad for p in m.backbone.parameters())
    with pytest.raises(ValueError, match="finetune must be"):
        tiny(finetune="half")


def test_text_features_cached_when_they_cannot_change():
    m = tiny().eval()
    with torch.no_grad():
        a, b = m.label_features(), m.label_features()
    assert a is b                                                  # one text-tower pass, then the cache
    with torch.no_grad():
        m.text_labels.ctx.add_(1.0)                                # the prompts changed: recompute
    with torch.no_grad():
        assert not torch.allclose(m.label_features(), a)
    m.train()
    assert m.label_features().requires_grad


def test_descriptions_cover_dfew_and_mafw():
    from tgdfer.classes import class_names
    from tgdfer.model.text_labels import load_descriptions

    d = load_descriptions()
    assert d["source"]
    texts, owner = prompt_texts(class_names("mafw"), "descriptions")
    assert sorted(set(owner)) == list(range(11)) and all(len(t) > 10 for t in texts)


def test_weights_file_loads_through_the_same_path_and_checksum_is_enforced(tmp_path):
    import open_clip
    from safetensors.torch import save_file

    from tgdfer.model.backbone import register_configs

    register_configs()
    torch.manual_seed(1)
    src = open_clip.create_model("TGDFER-Tiny")
    path = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    digest = sha256_of(path)
    bb = create_backbone("TGDFER-Tiny", str(path), sha256=digest[:12])
    assert torch.equal(bb.visual.conv1.weight, src.visual.conv1.weight)
    assert bb.info["weights_sha256"] == digest and bb.info["weights_file"] == str(path)
    with pytest.raises(ChecksumMismatch, match="does not match"):
        create_backbone("TGDFER-Tiny", str(path), sha256="0" * 12)


def test_missing_pretrained_weights_fail_fast_and_say_where(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    t0 = time.time()
    with pytest.raises(WeightsNotFound) as e:
        create_backbone("ViT-B-16", "openai", cache_dir=str(tmp_path / "cache"))
    assert time.time() - t0 < 10
    msg = str(e.value)
    assert "ViT-B-16.pt" in msg and "--pretrained" in msg and str(tmp_path / "cache") in msg
    with pytest.raises(WeightsNotFound, match="does not exist"):
        create_backbone("TGDFER-Tiny", str(tmp_path / "nothing.pt"))
    with pytest.raises(ValueError, match="not a pretrained tag"):
        create_backbone("ViT-B-16", "nonsense-tag")


def test_config_overrides_are_checked():
    cfg = load_config("tgdfer-b16", "dfer-clip-like", {"loss.w_div": "0", "text": "classname"})
    assert cfg.model.temporal == "long" and cfg.model.text == "classname" and cfg.loss.w_div == 0.0
    with pytest.raises(ValueError, match="unknown model setting 'txt'"):
        load_config("tgdfer-tiny", overrides={"model.txt": "none"})
    with pytest.raises(ValueError, match="unknown variant"):
        load_config("tgdfer-tiny", "tg-dfer")
    with pytest.raises(ValueError, match="true/false"):
        load_config("tgdfer-tiny", overrides={"visual_prompt": "maybe"})


def test_model_report_for_every_config():
    rows = {}
    for name in ("tgdfer-tiny", "tgdfer-b32", "tgdfer-b16"):
        rep = model_report(build_on_meta(name)).set_index("component")
        rows[name] = rep
        assert rep.loc["total", "gflops"] > 0
    b16 = rows["tgdfer-b16"]
    assert b16.loc["image tower", "trainable"] == 86_192_640           # CLIP ViT-B/16 image tower
    assert 270 < b16.loc["image tower", "gmacs"] < 290                   # ~17.6 GMACs a frame x 16
    assert rows["tgdfer-b32"].loc["image tower", "gmacs"] < b16.loc["image tower", "gmacs"] / 3
    assert b16.loc["text tower", "frozen"] > 0 and b16.loc["text tower", "trainable"] == 0


@pytest.mark.parametrize("train_mode", [True, False])
def test_sdpa_attention_matches_open_clip(train_mode):
    import open_clip

    from tgdfer.model.backbone import register_configs
    from tgdfer.model.fast_attention import use_sdpa

    register_configs()
    torch.manual_seed(0)
    clip = open_clip.create_model("TGDFER-Tiny").train(train_mode)
    x = torch.randn(3, 3, 64, 64)
    tok = open_clip.get_tokenizer("TGDFER-Tiny")(["a face with raised inner brows", "lips stretched sideways"])
    with torch.no_grad():
        ref_img, ref_txt = clip.encode_image(x), clip.encode_text(tok)
        assert use_sdpa(clip.visual) == 3 and use_sdpa(clip.transformer, causal=True) == 2
        img, txt = clip.encode_image(x), clip.encode_text(tok)
    assert torch.allclose(img, ref_img, atol=1e-5) and torch.allclose(txt, ref_txt, atol=1e-5)
    assert use_sdpa(clip) == 0                                       # idempotent


def test_permuted_descriptions_give_every_class_another_class_sentences():
    from tgdfer.model.text_labels import load_descriptions

    for vocab in ("facs", "au"):
        right, wrong = load_descriptions(vocab), load_descriptions(f"{vocab}-permuted")
        names = list(right["classes"])
        assert sorted(map(tuple, wrong["classes"].values())) == sorted(map(tuple, right["classes"].values()))
        assert all(wrong["classes"][n] != right["classes"][n] for n in names)
    with pytest.raises(ValueError, match="facs-permuted"):
        load_descriptions("plain")
