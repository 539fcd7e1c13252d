"""A set of only some folds (what `make demo` renders): the whole set's clips of those folds to the byte, their split
lists only, and reused whole where the whole set is already rendered."""
from __future__ import annotations

import json

import pytest

from tgdfer.data import load_split
from tgdfer.synth.generate import GenerateConfig, generate, is_complete

SMALL = dict(clips=12, size=32, videos=False, test_per_class=1, independent=True, expressions="distribution")


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("whole") / "b", GenerateConfig(**SMALL), workers=1)


def test_a_subset_of_folds_renders_the_whole_sets_clips_of_those_folds(whole, tmp_path):
    cfg = GenerateConfig(**SMALL, folds=(3, 1))
    part = generate(tmp_path / "p", cfg, workers=1)
    assert is_complete(part, cfg) and not is_complete(part, GenerateConfig(**SMALL))
    assert json.loads((part / "manifest.json").read_text())["config"]["folds"] == [1, 3]
    lists = sorted(p.relative_to(part) for p in (part / "EmoLabel_DataSplit").rglob("*.csv"))
    assert [p.name for p in lists] == ["set_1.csv", "set_3.csv"] * 2
    for rel in lists:
        assert (part / rel).read_bytes() == (whole / rel).read_bytes()
    frames = sorted(p.relative_to(part) for p in (part / "Clip").rglob("*.jpg"))
    clips = {str(p) for k in (1, 3) for split in ("train", "test") for p in load_split("dfew", whole, k, split).clip_id}
    assert {p.parts[2] for p in frames} == {f"{int(c):05d}" for c in clips}      # those folds' clips, no other
    assert all((part / p).read_bytes() == (whole / p).read_bytes() for p in frames)
    with pytest.raises(ValueError, match="set_2"):
        load_split("dfew", part, 2, "test")


@pytest.mark.parametrize("folds, other", [((1,), dict(independent=False)), ((0, 1), {}), ((6,), {}), ((2, 2), {})])
def test_a_subset_of_folds_is_refused_where_it_cannot_be_one(folds, other, tmp_path):
    with pytest.raises(ValueError, match="folds"):
        generate(tmp_path / "p", GenerateConfig(**{**SMALL, **other}, folds=folds), workers=1)


def test_the_demo_reads_the_whole_set_where_it_is_rendered_else_renders_only_its_folds(whole, tmp_path, monkeypatch):
    from tgdfer.synth import source

    monkeypatch.setattr(source, "default_data_dir", lambda: tmp_path)
    settings = dict(SMALL, seed=0, min_per_class=0)
    _, root = source.resolve_dataset("synth", "", workers=1, folds=(1, 2, 3), **settings)
    assert "-i-f123-novideo-" in root.name and is_complete(root)
    whole_dir = source.benchmark_dir(**settings)
    whole_dir.parent.mkdir(parents=True, exist_ok=True)
    whole_dir.symlink_to(whole)
    assert source.resolve_dataset("synth", "", workers=1, folds=(1, 2, 3), **settings)[1] == whole_dir
    assert source.resolve_dataset("synth", "", workers=1, folds=(1, 2, 3, 4, 5), **settings)[1] == whole_dir
