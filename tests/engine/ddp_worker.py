"""Run by tests/engine/test_distributed.py under `torchrun --nproc_per_node 2` (gloo, CPU): one launch, every check
that needs two processes. Each rank writes what it saw to <out>/rank<r>.json; the test reads both.

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/engine/ddp_worker.py ARGS.json
"""
from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import torch
import torch.distributed as dist

from tgdfer.config import load_config
from tgdfer.engine.device import setup_device
from tgdfer.engine.evaluate import evaluate
from tgdfer.engine.optim import build_optimizer
from tgdfer.engine.run import train
from tgdfer.engine.step import apply_update, forward_backward
from tgdfer.model import create_model
from tgdfer.model.losses import step_weight


def combos_step(combos: list) -> list:
    """Two DDP steps of every (variant, overrides): the unused-parameter check of DDP fires on the second."""
    done = []
    rank = dist.get_rank()
    for variant, ov in combos:
        cfg = load_config("tgdfer-tiny", variant, ov)
        torch.manual_seed(0)
        model = create_model(cfg)
        if not any(p.requires_grad for p in model.parameters()):
            continue
        net = torch.nn.parallel.DistributedDataParallel(model)
        opt = build_optimizer(model, cfg.train)
        scaler = torch.amp.GradScaler("cpu", enabled=False)
        g = torch.Generator().manual_seed(rank)
        for _ in range(2):
            y = torch.randint(0, 7, (2,), generator=g)
            if model.backbone.frozen:
                x, features = torch.randn(2, 16, model.backbone.embed_dim, generator=g), True
            else:
                x, features = torch.randn(2, 16, 3, 64, 64, generator=g), False
            norm = step_weight(y).clone()
            dist.all_reduce(norm)
            net.train()
            forward_backward(net, x, y, cfg, _null, scaler, features, norm=float(norm), world=2)
            apply_update(model, opt, scaler, cfg.train.clip_grad)
        done.append([variant, ov])
    return done


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def caught(fn, *a, **k) -> str:
    try:
        fn(*a, **k)
    except Exception as e:  # noqa: BLE001 - the test reads what each rank raised
        return f"{type(e).__name__}: {e}"
    return ""


def main() -> None:
    args = json.loads(Path(sys.argv[1]).read_text())
    setup_device("cpu")
    rank = dist.get_rank()
    seen: dict = {"rank": rank, "world": dist.get_world_size()}
    try:
        seen["combos"] = combos_step(args["combos"])
        for run in args["equal_runs"]:                                  # the same numbers as one process
            train("dfew", args["synth"], 1, "tgdfer-tiny", overrides=run["overrides"], run_dir=run["run_dir"],
                  cache_dir=args["cache"], device="cpu", verbose=False)
        ev = args["evaluate"]                                           # predictions gathered in one-process order
        evaluate(ev["checkpoint"], "dfew", ev["root"], 1, "test", ev["out"], batch_size=2, workers=0, device="cpu")
        seen["bad_batch"] = caught(evaluate, ev["checkpoint"], "dfew", ev["bad_root"], 1, "test", ev["bad_out"],
                                   batch_size=2, workers=0, device="cpu")
        seen["finished"] = caught(train, "dfew", args["synth"], 1, "tgdfer-tiny",
                                  overrides=args["equal_runs"][0]["overrides"], run_dir=args["equal_runs"][0]["run_dir"],
                                  cache_dir=args["cache"], device="cpu", verbose=False)
    except Exception:  # noqa: BLE001
        seen["error"] = traceback.format_exc()
    Path(args["out"], f"rank{rank}.json").write_text(json.dumps(seen))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
