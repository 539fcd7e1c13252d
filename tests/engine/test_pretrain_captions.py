"""Captions of the tiny backbone's pretraining: exact ('synthface') and noisy ('synthface2') at their stated rates."""
from __future__ import annotations

import numpy as np
import pytest

from tgdfer.engine.pretrain import PRETRAIN_UNITS, au_phrases, caption, noisy_caption, render_frames
from tgdfer.synth.faces import AU_INDEX, AUS


def _au(**units):
    au = np.zeros(len(AUS), np.float32)
    for u, v in units.items():
        au[AU_INDEX[int(u[1:])]] = v
    return au


def test_exact_caption_names_every_unit_by_its_one_phrase():
    assert caption(_au(u12=1.0, u6=0.4)) == "a face with slightly raised cheeks and lip corners pulled up"
    assert caption(_au()) == au_phrases()["rest"]


def test_noisy_captions_omit_paraphrase_and_misname_at_their_rates():
    noise = au_phrases()["noise"]
    rng = np.random.default_rng(0)
    au = _au(u1=1.0, u2=1.0, u5=1.0, u26=1.0)
    caps = [noisy_caption(au, rng) for _ in range(3000)]
    generic = np.mean([c in au_phrases()["generic"] for c in caps])
    assert abs(generic - noise["generic"]) < 0.03
    named = [c for c in caps if c not in au_phrases()["generic"]]
    jaw = np.mean([any(p in c for p in au_phrases()["paraphrases"]["26"]) for c in named])
    assert abs(jaw - (1 - noise["omit"]) * (1 - noise["misname"])) < 0.05
    assert len({c for c in named}) > 200                                   # paraphrased, reordered, templated
    wrong = [p for u in ("9", "12", "15", "24") for p in au_phrases()["paraphrases"][u]]
    assert 0.05 < np.mean([any(p in c for p in wrong) for c in named]) < 0.4   # sometimes the wrong unit


def test_noisy_frames_use_every_drawn_unit_and_exact_frames_the_old_ones():
    _, caps = render_frames(6, 64, 32, seed=1, captions="noisy")
    assert len(caps) == 6
    assert set(PRETRAIN_UNITS) == set(AUS) - {45, 10, 17, 24}
    with pytest.raises(ValueError, match="captions must be one of"):
        render_frames(1, 64, 32, seed=1, captions="clean")
