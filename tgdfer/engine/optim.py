"""Optimisation: per-module learning rates and weight decay, warm-up then cosine or step schedule.

In: the model's parameter groups (backbone, head, prompt) and the train config. Out: an optimizer and
the schedule's multiplier as a function of the step (for `torch.optim.lr_scheduler.LambdaLR`).
"""
from __future__ import annotations

import math

import torch


def param_groups(named: dict, tc) -> list[dict]:
    """{group name: [parameters]} -> optimizer groups; matrices decay, vectors and prompts do not."""
    lrs = {"backbone": tc.lr_backbone, "head": tc.lr_head, "prompt": tc.lr_prompt}
    groups = []
    for name, params in named.items():
        decay = [p for p in params if p.ndim >= 2 and name != "prompt"]
        no_decay = [p for p in params if not (p.ndim >= 2 and name != "prompt")]
        for ps, wd in ((decay, tc.weight_decay), (no_decay, 0.0)):
            if ps:
                groups.append({"params": ps, "lr": lrs[name], "weight_decay": wd, "name": name})
    return groups


def build_optimizer(model, tc) -> torch.optim.Optimizer:
    groups = param_groups(model.param_groups(), tc)
    if tc.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=tc.lr_head, momentum=0.9)
    if tc.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=tc.lr_head, betas=(0.9, 0.999), fused=True)   # one kernel a step
    raise ValueError(f"optimizer must be sgd or adamw (got {tc.optimizer!r})")


def lr_lambda(tc, total_steps: int, steps_per_epoch: int):
    warm = min(int(round(tc.warmup_epochs * steps_per_epoch)), max(1, total_steps // 5))  # short runs: short warm-up

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        if tc.schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total_steps - warm)))
        if tc.schedule == "step":
            return 0.1 ** sum(step >= m * total_steps for m in tc.step_milestones)
        raise ValueError(f"schedule must be cosine or step (got {tc.schedule!r})")
    return f
