"""A process reads each cache file once while it is unchanged, and again once it changes."""
import os

import torch

from tgdfer.engine import feature_cache as fc
from tgdfer.io import atomic_torch_save


def test_a_cache_file_is_read_once_while_unchanged(tmp_path, monkeypatch):
    path = tmp_path / "k" / "train-v0.pt"
    path.parent.mkdir()
    atomic_torch_save(path, {"a": (torch.zeros(2, 3, dtype=torch.float16), torch.arange(2))})
    reads = []
    real = fc.safe_torch_load
    monkeypatch.setattr(fc, "safe_torch_load", lambda p: reads.append(p) or real(p))
    first, second = fc._read_store(path), fc._read_store(path)
    assert first is second and len(reads) == 1
    atomic_torch_save(path, {"b": (torch.ones(2, 3, dtype=torch.float16), torch.arange(2))})
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))      # a rewrite on a coarse-clock file system
    assert list(fc._read_store(path)) == ["b"] and len(reads) == 2
    assert fc._read_store(tmp_path / "k" / "test-v0.pt") == {}
