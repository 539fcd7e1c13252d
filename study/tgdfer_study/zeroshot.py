"""The zero-shot check of the protocol: the backbone's towers on the development draw, before any training.

In: a generated benchmark (default: the protocol's development draw, rendered if missing) and a config. Out:
`results/zeroshot.json` with zero-shot UAR/WAR per text mode (`engine/zeroshot.py`), on the training split of
fold 1 (where the descriptions were decided) and on the test clips of every fold (what is reported).
"""
from __future__ import annotations

from pathlib import Path

from tgdfer.engine.zeroshot import zero_shot
from tgdfer.io import atomic_write_json
from tgdfer.paths import resolve
from .protocol import PROTOCOL
from tgdfer.synth.source import resolve_dataset


def run_zeroshot(root: str = "", config: str = PROTOCOL.config, out: str | Path = "results/zeroshot.json") -> dict:
    _, root = resolve_dataset("synth", root) if root else PROTOCOL.benchmark("development")
    res = {"decision (training split of fold 1)": zero_shot(root, config, (1,), "train"),
           "report (test clips of every fold)": zero_shot(root, config, PROTOCOL.folds, "test")}
    atomic_write_json(resolve(out), res)
    return res
