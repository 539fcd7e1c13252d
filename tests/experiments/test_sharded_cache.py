"""The cache warm-up shared out over processes writes what one process writes: the same clips, in the same order,
with features and frame indices equal to the bit (the committed records were made from caches of one process)."""
import torch

from tgdfer.engine.feature_cache import _read_store
from tgdfer_study.cache_service import warm_cache
from tgdfer.synth.generate import GenerateConfig, generate


def _files(cache):
    return {f.relative_to(cache): f for f in cache.glob("*/*.pt")}


def test_sharded_warm_up_writes_the_caches_of_one_process(tmp_path, monkeypatch):
    from tgdfer_study import cache_service

    monkeypatch.setattr(cache_service.ShardedEncoder, "CHUNK", 7)           # several chunks a file, a short last one
    root = generate(tmp_path / "b", GenerateConfig(clips=12, size=32, videos=False, test_per_class=1,
                                                   independent=True), workers=1)
    warm_cache("dfew", root, "tgdfer-tiny", tmp_path / "one", processes=1)
    warm_cache("dfew", root, "tgdfer-tiny", tmp_path / "two", processes=2)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert set(one) == set(two) and len(one) >= 2
    for name in one:
        a, b = _read_store(one[name]), _read_store(two[name])
        assert list(a) == list(b) and len(a) >= 12
        for p in a:
            for x, y in zip(a[p], b[p]):
                assert x.dtype == y.dtype and x.shape == y.shape and torch.equal(x, y), (name, p)
                assert x.untyped_storage().nbytes() == y.untyped_storage().nbytes()   # a clip's own, not a chunk's


def test_a_file_missing_one_chunk_or_less_is_encoded_in_this_process(tmp_path, monkeypatch):
    """Starting the workers takes seconds: a small job (a test, a few missing validation clips) does without them."""
    def no_pool(*a, **k):
        raise AssertionError("workers started for a small job")

    monkeypatch.setattr("tgdfer_study.cache_service.ProcessPoolExecutor", no_pool)
    root = generate(tmp_path / "b", GenerateConfig(clips=12, size=32, videos=False, test_per_class=1,
                                                   independent=True), workers=1)
    warm_cache("dfew", root, "tgdfer-tiny", tmp_path / "c", processes=2)
    assert len(_files(tmp_path / "c")) >= 2
