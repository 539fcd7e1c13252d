"""One epoch of optimiser steps: micro-batches, the step's loss normaliser, the backward pass, the update.

In: a run (`run.Run`: model or its DDP wrapper, loaders, optimizer, batch plan). Out: the epoch's history row (mean
losses, learning rates, seconds). An optimiser step reads `accum` micro-batches of the per-GPU batch on every rank.
On one process with no accumulation the loss is cross-entropy's mean over the batch, as it always was; otherwise the
step's normaliser (its clips' class weights summed over every rank and micro-batch: one all-reduce a step, which also
tells every rank whether any rank failed to read its batch) makes the gradient that of one batch of the global size.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Callable

import torch
import torch.distributed as dist

from ..config import Config
from ..data.dataset import model_input
from ..model.losses import step_weight, tgdfer_loss
from ..progress import progress
from .distributed import agree


def forward_backward(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: Config, ac: Callable,
                     scaler: torch.amp.GradScaler, features: bool, *, class_weight=None, accum: int = 1,
                     norm: float | None = None, world: int = 1) -> dict:
    """The training step's forward, loss and backward: x [B, T, 3, S, S] clips (or [B, T, D] cached features).
    Without `norm`: the batch's mean loss / `accum`; with it: this micro-batch's share of the step's loss."""
    with ac():
        out = net(features=x) if features else net(x)
    if norm is None:
        parts = tgdfer_loss(out, y, cfg.loss, class_weight)
        scaler.scale(parts["loss"] / accum).backward()
    else:
        parts = tgdfer_loss(out, y, cfg.loss, class_weight, norm=norm, world=world, micro=accum)
        scaler.scale(parts["loss"]).backward()
    return parts


def apply_update(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                 clip_grad: float, scheduler=None) -> None:
    """The training step's update: gradient clipping, the optimizer (through the loss scaler), the LR schedule."""
    if clip_grad > 0:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    if scheduler is not None:
        scheduler.step()


def next_micro_batches(it, accum: int) -> tuple[list, BaseException | None]:
    """Up to `accum` batches of the loader's iterator, and the error reading one raised (if any)."""
    batches = []
    try:
        for _ in range(accum):
            b = next(it, None)
            if b is None:
                break
            batches.append(b)
    except Exception as e:  # noqa: BLE001 - handed to every rank (step_normaliser)
        return batches, e
    return batches, None


def step_normaliser(batches: list, class_weight, device, error: BaseException | None) -> float:
    """The step's loss normaliser summed over every rank, in the same all-reduce as a flag of failure: a rank that
    could not read its batch ends every rank with its message."""
    local = sum(float(step_weight(b["label"].to(device), class_weight)) for b in batches)
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        agree(error)
        return local
    t = torch.tensor([local, 0.0 if error is None else 1.0], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    if t[1] > 0:
        agree(error, device)
    return float(t[0])


def train_epoch(run, epoch: int) -> dict:
    """One pass over this rank's share of the training split; returns the epoch's history row."""
    tc, d, plan = run.cfg.train, run.data, run.data.plan
    exact = plan.world > 1 or plan.accum > 1                  # the step's loss normalised over ranks and micro-batches
    run.net.train()
    t0, sums, n_batches = time.time(), {}, 0
    it = iter(d.train_loader(epoch))
    steps = d.sampler.steps
    bar = progress(range(steps), desc=f"epoch {epoch + 1}/{run.epochs}", total=steps) if run.main else range(steps)
    run.optimizer.zero_grad(set_to_none=True)
    for _ in bar:
        batches, error = next_micro_batches(it, plan.accum)
        norm = step_normaliser(batches, run.class_weight, run.dev, error) if exact else None
        if error is not None:
            raise error
        for j, batch in enumerate(batches):
            x = model_input(batch, d.inputs_key, run.dev, d.normalize)
            y = batch["label"].to(run.dev, non_blocking=True)
            sync = j == len(batches) - 1
            with run.net.no_sync() if (plan.world > 1 and not sync) else nullcontext():
                parts = forward_backward(run.net, x, y, run.cfg, run.ac, run.scaler, run.use_cache,
                                         class_weight=run.class_weight, accum=len(batches), norm=norm, world=plan.world)
            if norm is not None:                           # the history shows this micro-batch's mean loss
                lc = run.cfg.loss
                parts = {**parts, "loss": parts["clip"] + lc.w_inst * parts.get("inst", 0.0)
                         + lc.w_div * parts.get("div", 0.0)}
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            n_batches += 1
        apply_update(run.model, run.optimizer, run.scaler, tc.clip_grad, run.scheduler)
        run.step += 1
        if run.step >= run.total_steps:
            break
    return {"epoch": epoch + 1, "step": run.step, **{f"train_{k}": v / max(n_batches, 1) for k, v in sums.items()},
            **{f"lr_{g['name']}": g["lr"] for g in run.optimizer.param_groups},
            "train_seconds": round(time.time() - t0, 2)}
