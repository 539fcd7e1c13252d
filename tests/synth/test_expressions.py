"""Benchmark format 3: expressions drawn from a distribution of action-unit combinations, and the units it added."""
from __future__ import annotations

import copy
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from tgdfer.classes import emfacs_prototypes
from tgdfer.synth.expressions import (Person, check_distribution, draw_expression, draw_person,
                                      expression_distribution, make_timeline)
from tgdfer.synth.faces import AU_INDEX, AUS, Pose, random_identity, render_face
from tgdfer.synth.generate import GenerateConfig, generate, render_clip

N = 3000


def _draws(label, n=N, person=Person(1.0, 0, 0.0)):
    rng = np.random.default_rng(11)
    return [draw_expression(label, rng, person) for _ in range(n)]


def test_distribution_file_is_checked():
    d = expression_distribution()
    for name, c in d["classes"].items():
        assert c["variants"][0]["source"].startswith(("Du2014", "no movement")), name
    bad = copy.deepcopy(d)
    bad["classes"]["fear"]["variants"][0]["units"] = [1, 27]
    with pytest.raises(ValueError, match=r"expressions.json: fear uses units the renderer does not draw: \[27\]"):
        check_distribution(bad, "tgdfer/assets/expressions.json")
    bad = copy.deepcopy(d)
    bad["classes"]["anger"]["variants"][0]["weight"] = 0.9
    with pytest.raises(ValueError, match="anger: variant weights must sum to 1"):
        check_distribution(bad, "x.json")


def test_variants_drawn_at_their_weights():
    d = expression_distribution()["classes"]["surprise"]
    got = Counter(e.variant for e in _draws("surprise"))
    for k, v in enumerate(d["variants"]):
        assert abs(got[k] / N - v["weight"]) < 0.03, (k, got[k] / N, v["weight"])


def test_a_description_matches_a_clip_only_partly():
    """Few clips move exactly their class's prototype; every expressive clip moves at least one unit."""
    protos = emfacs_prototypes()
    for label in ("happiness", "sadness", "anger", "surprise", "disgust", "fear"):
        draws = _draws(label, 1000)
        assert all(e.gains for e in draws)
        exact = np.mean([set(e.gains) == set(protos[label]) for e in draws])
        covered = np.mean([len(set(e.gains) & set(protos[label])) / len(protos[label]) for e in draws])
        assert exact < 0.3 and 0.2 < covered < 0.9, (label, exact, covered)
    # missing, weak and one-sided units occur at about their stated rates
    noise = expression_distribution()["noise"]
    draws = _draws("anger")
    assert abs(np.mean([e.asym != 0 for e in draws]) - noise["asymmetry"]["p"]) < 0.03
    gains = [g for e in draws for g in e.gains.values()]
    assert 0.1 < np.mean(np.array(gains) < noise["gain"][0]) < 0.4          # weak units (and extras)


def test_fear_and_surprise_overlap_and_neutral_mostly_rests():
    fear, surprise = _draws("fear", 1000), _draws("surprise", 1000)
    shared = np.mean([len(set(f.gains) & set(s.gains)) >= 2 for f, s in zip(fear, surprise)])
    assert shared > 0.2
    neutral = _draws("neutral", 1000)
    assert 0.6 < np.mean([not e.gains for e in neutral]) < 0.95
    assert max(e.apex for e in neutral) <= 0.25 * 1.0 + 1e-9


def test_a_person_is_the_same_in_every_clip():
    a = draw_person(np.random.default_rng([0, 4, 17]))
    assert a == draw_person(np.random.default_rng([0, 4, 17]))
    people = [draw_person(np.random.default_rng([0, 4, i])) for i in range(400)]
    assert 0.2 < np.mean([p.habit != 0 for p in people]) < 0.4
    habit = Person(1.0, 24, 0.3)
    assert all(e.gains[24] >= 0.3 for e in _draws("happiness", 50, habit))


def test_timeline_models():
    rng = np.random.default_rng(0)
    tl = make_timeline("fear", 40, rng, model="distribution")
    assert tl.variant >= 0 and tl.au.shape == (40, len(AUS)) and tl.intensity.max() > 0
    tl = make_timeline("fear", 40, np.random.default_rng(0))                # prototype: formats 1-2
    assert tl.variant == -1 and tl.asym == 0.0
    assert not tl.au[:, [AU_INDEX[u] for u in (10, 17, 24)]].any()
    with pytest.raises(ValueError, match="expression model must be one of"):
        make_timeline("fear", 40, rng, model="prototypes")


@pytest.mark.parametrize("unit", [10, 17, 24])
def test_new_units_and_asymmetry_are_drawn(unit):
    ident = random_identity(np.random.default_rng(3))
    au = np.zeros(len(AUS), np.float32)
    rest = np.full((96, 96, 3), 200, np.uint8)
    render_face(rest, ident, Pose(), au)
    moved = np.full((96, 96, 3), 200, np.uint8)
    au[AU_INDEX[unit]] = 1.0
    render_face(moved, ident, Pose(), au)
    assert np.abs(moved.astype(int) - rest).sum() > 0
    # a fully one-sided smile (asym 1: the image's right side doubled, its left side still) moves the right half
    au[:] = 0
    au[AU_INDEX[12]] = 0.5
    img = np.full((96, 96, 3), 200, np.uint8)
    render_face(img, ident, Pose(), au, 1.0)
    d = np.abs(img.astype(int) - rest)
    assert d[:, 48:].sum() > 2 * d[:, :48].sum()


def test_format3_benchmark_writes_its_truth(tmp_path):
    cfg = GenerateConfig(clips=14, size=32, seed=2, videos=False, expressions="distribution")
    out = generate(tmp_path / "b3", cfg, workers=1)
    man = json.loads((out / "manifest.json").read_text())
    assert man["format_version"] == 3 and man["config"]["expressions"] == "distribution"
    clips = pd.read_csv(out / "ground_truth" / "clips.csv")
    assert {"variant", "asym"} <= set(clips.columns)
    assert (clips.loc[clips.label_name != "neutral", "variant"] >= 0).all()
    two = generate(tmp_path / "b2", GenerateConfig(clips=14, size=32, seed=2, videos=False), workers=1)
    man2 = json.loads((two / "manifest.json").read_text())
    assert man2["format_version"] == 2 and "expressions" not in man2["config"]
    assert "variant" not in pd.read_csv(two / "ground_truth" / "clips.csv").columns
    with pytest.raises(ValueError, match="expressions must be one of"):
        generate(tmp_path / "bad", GenerateConfig(clips=14, size=32, expressions="emfacs"))


def test_same_identity_same_person_in_rendered_clips():
    cfg = GenerateConfig(size=32, seed=4, expressions="distribution")
    a = render_clip(1, "happiness", 7, 12, cfg)[1]
    b = render_clip(1, "happiness", 7, 12, cfg)[1]
    assert np.array_equal(a.au, b.au) and a.variant == b.variant


def test_heldout_test_splits(tmp_path):
    """Each fold tests on its own balanced split of people seen nowhere else; no test clip is ever trained on."""
    cfg = GenerateConfig(clips=40, size=32, seed=1, videos=False, expressions="distribution", test_per_class=2)
    out = generate(tmp_path / "h", cfg, workers=1)
    clips = pd.read_csv(out / "ground_truth" / "clips.csv").set_index("video_name")
    pool = clips[clips.role == "pool"]
    assert len(pool) == 40 and (clips.role == "test").sum() == 5 * 2 * 7
    seen_test = set()
    for k in range(1, 6):
        test = pd.read_csv(out / "EmoLabel_DataSplit" / "test(single-labeled)" / f"set_{k}.csv")
        train = pd.read_csv(out / "EmoLabel_DataSplit" / "train(single-labeled)" / f"set_{k}.csv")
        assert (test.label.value_counts() == 2).all() and test.label.nunique() == 7
        assert set(train.video_name) == set(pool.index[pool.fold != k])
        ids = clips.identity
        assert set(ids[test.video_name]).isdisjoint(set(pool.identity))
        assert set(ids[test.video_name]).isdisjoint(seen_test)
        seen_test |= set(ids[test.video_name])
    man = json.loads((out / "manifest.json").read_text())
    assert man["config"]["test_per_class"] == 2


def test_independent_training_draws(tmp_path):
    """Each fold trains on its own draw: no training clip or person is shared between folds or with any test split;
    every draw keeps DFEW's class counts (at least min_per_class)."""
    cfg = GenerateConfig(clips=30, size=32, seed=2, videos=False, expressions="distribution", test_per_class=1,
                         independent=True, min_per_class=2)
    out = generate(tmp_path / "i", cfg, workers=1)
    clips = pd.read_csv(out / "ground_truth" / "clips.csv").set_index("video_name")
    assert (clips.role == "train").sum() == 5 * 30 and (clips.role == "test").sum() == 5 * 7
    people = []
    for k in range(1, 6):
        train = pd.read_csv(out / "EmoLabel_DataSplit" / "train(single-labeled)" / f"set_{k}.csv")
        test = pd.read_csv(out / "EmoLabel_DataSplit" / "test(single-labeled)" / f"set_{k}.csv")
        assert len(train) == 30 and train.label.value_counts().min() >= 2 and test.label.nunique() == 7
        people += [set(clips.identity[train.video_name]), set(clips.identity[test.video_name])]
    for i, a in enumerate(people):
        for b in people[i + 1:]:
            assert a.isdisjoint(b)
    assert json.loads((out / "manifest.json").read_text())["config"]["independent"] is True
    with pytest.raises(ValueError, match="test_per_class"):
        generate(tmp_path / "x", GenerateConfig(clips=30, size=32, independent=True), workers=1)


def test_a_class_span_sets_how_long_its_expression_lasts():
    """'span' is the share of the clip an expression lasts; a bad one is refused with the file named."""
    from tgdfer.synth.expressions import intensity_curve

    lengths = [np.count_nonzero(intensity_curve(200, np.random.default_rng(i), 1.0, "centre", (0.8, 0.9))[0] > 0)
               for i in range(20)]
    short = [np.count_nonzero(intensity_curve(200, np.random.default_rng(i), 1.0, "centre", (0.1, 0.2))[0] > 0)
             for i in range(20)]
    assert min(lengths) > max(short)
    d = copy.deepcopy(expression_distribution())
    d["classes"]["sadness"]["span"] = [0.9, 0.5]
    with pytest.raises(ValueError, match="sadness: span"):
        check_distribution(d, "x.json")


def test_format3_sets_record_their_distribution():
    """A set drawn from another expressions.json is another benchmark: its manifest and default folder say which."""
    from tgdfer.synth.source import benchmark_dir
    from tgdfer.synth.expressions import expressions_sha
    from tgdfer.synth.generate import _manifest

    cfg = GenerateConfig(expressions="distribution")
    assert _manifest(cfg)["config"]["expressions_sha256"] == expressions_sha()
    assert "expressions_sha256" not in _manifest(GenerateConfig())["config"]
    assert expressions_sha()[:8] in benchmark_dir(100, 64, 0, expressions="distribution").name
