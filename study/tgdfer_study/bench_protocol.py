"""Benchmark of the demo protocol on cached features: where a training step's time goes, and runs per hour.

`python -m tgdfer bench --protocol` measures, in one process and one thread (the demo runs one such
process per core):
- a profile of one TG-DFER training step of the demo (torch.profiler; forward time per part of the
  model, backward, optimizer, data loading from the cache, and what the profiler sees no operator in);
- one real run of the demo protocol through `train` (fold 1 of the generated benchmark, cached
  features), whose wall time splits into training steps and the rest (evaluation, set-up, checkpoints);
- the step time of the other paths on the same batches: the optimizer fused into one kernel, several
  runs' models stacked and stepped together (`torch.func.vmap` over K members), bf16 autocast, and
  `torch.compile` (with --compile: it compiles for about a minute the first time);
and turns each into runs per hour of the protocol: 3600 / (steps per run x step time per member + the
measured rest of a run). Every figure is measured in the same run, on the same machine.
"""
from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from torch.func import functional_call, grad_and_value, vmap
from torch.profiler import ProfilerActivity, profile, record_function

from tgdfer.config import load_config
from tgdfer.engine.device import machine
from tgdfer.engine.optim import param_groups
from tgdfer.engine.run import build_run, optimizer_step, train
from tgdfer.model.losses import tgdfer_loss
from tgdfer.paths import default_runs_dir
from tgdfer.runspec import RunSpec
from tgdfer.synth.source import resolve_dataset

from .cache_service import warm_cache


def _median_ms(fn, iters: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def _protocol_run(root: str, cache: str, out: Path) -> dict:
    """One real run of the demo protocol (TG-DFER, fold 1, seed 0) through the one-run path."""
    t = time.perf_counter()
    r = train("dfew", root, 1, "tgdfer-tiny", "tgdfer", {}, seed=0, run_dir=out / "run", cache_dir=cache,
              verbose=False)
    wall = time.perf_counter() - t
    steps = int(r.metrics["steps"])
    train_s = float(r.history["train_seconds"].sum())
    return {"wall_s": wall, "steps": steps, "train_s": train_s, "step_ms": 1e3 * train_s / steps,
            "rest_s": wall - train_s, "uar": r.metrics["last"]["uar"]}


def _batches(root: str, cache: str, n: int) -> tuple:
    """A built run of the demo protocol (not trained) and n of its training batches."""
    cfg = load_config("tgdfer-tiny")
    run = build_run(RunSpec("dfew", root, 1, cfg, device="cpu", cache_dir=cache), cfg, verbose=False)   # writes nothing
    batches = []
    for epoch in range(8):
        batches += list(run.data.train_loader(epoch))
        if len(batches) >= n:
            break
    return run, batches[:n]


def profile_step(run, batches) -> list[dict]:
    """Share of a training step per part (forward of each module, backward, optimizer, data)."""
    model, hooks = run.model, []
    for name in ("temporal", "text_labels", "visual_prompt", "mil"):
        stack = []
        hooks.append(getattr(model, name).register_forward_pre_hook(
            lambda *a, _n=name, _s=stack: _s.append(record_function(f"forward: {_n}").__enter__())))
        hooks.append(getattr(model, name).register_forward_hook(
            lambda *a, _s=stack: _s.pop().__exit__(None, None, None)))
    loader = run.data.train_loader(0)

    def step(b):
        with record_function("data loading (cache)"):
            b = next(it)
        out = model(features=b["features"])
        with record_function("forward: loss"):
            loss = tgdfer_loss(out, b["label"], run.cfg.loss)["loss"]
        with record_function("backward (all parts)"):
            loss.backward()
        with record_function("optimizer (clip + AdamW + schedule)"):
            optimizer_step(run)

    it = iter(loader)
    for _ in range(3):
        step(None)
    n = min(20, len(loader) - 3)
    t = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(n):
            step(None)
    wall = (time.perf_counter() - t) / n * 1e3
    for h in hooks:
        h.remove()
    other = ("backward (all parts)", "optimizer (clip + AdamW + schedule)", "data loading (cache)")
    parts = {e.key: e.cpu_time_total / n / 1e3 for e in p.key_averages()
             if e.key.startswith("forward: ") or e.key in other}
    rows = [{"part": k, "ms": v, "share": v / wall} for k, v in sorted(parts.items(), key=lambda kv: -kv[1])]
    rest = wall - sum(parts.values())
    rows.append({"part": "outside these (Python, hooks, profiler)", "ms": rest, "share": rest / wall})
    rows.append({"part": "step (profiled wall)", "ms": wall, "share": 1.0})
    ops = sorted((e for e in p.key_averages() if not e.key.startswith(("forward: ",) + other)),
                 key=lambda e: -e.self_cpu_time_total)
    top = [{"operator": e.key, "self_ms": e.self_cpu_time_total / n / 1e3, "calls": e.count / n} for e in ops[:10]]
    return rows, top, sum(e.count for e in ops) / n


def _stacked_step(run, K: int, dtype=None):
    """A step of K stacked copies of the model (vmap over members), as a batched path would take it."""
    model = run.model
    params = {n: torch.stack([p.detach().clone() for _ in range(K)]) for n, p in model.named_parameters()
              if p.requires_grad}
    frozen = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
    buffers = dict(model.named_buffers())
    state = {n: (torch.zeros_like(v), torch.zeros_like(v)) for n, v in params.items()}

    def loss_fn(p, x, y):
        out = functional_call(model, ({**p, **frozen}, buffers), (), {"features": x})
        return tgdfer_loss(out, y, run.cfg.loss)["loss"]

    grad_fn = vmap(grad_and_value(loss_fn))

    def step(x, y):
        with torch.autocast("cpu", dtype=dtype) if dtype else torch.autocast("cpu", enabled=False):
            grads, _ = grad_fn(params, x, y)
        with torch.no_grad():         # Adam on the stacked tensors, all members at once (no decay, no clipping:
                                      # a lower bound of a faithful batched optimizer's cost)
            for n, g in grads.items():
                m, v = state[n]
                m.lerp_(g, 0.1)
                v.mul_(0.999).addcmul_(g, g, value=0.001)
                params[n].addcdiv_(m, v.sqrt().add_(1e-8), value=-1e-3)
    return step


def path_step_times(run, batches, members=(3, 15), compile_: bool = False, iters: int = 15) -> list[dict]:
    """Milliseconds per member and step for each path, on the same batches."""
    model, cfg = run.model, run.cfg
    x, y = batches[0]["features"], batches[0]["label"]
    rows = []

    def eager(opt, loss_fn):
        def f():
            loss_fn(x, y).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.clip_grad)
            opt.step()
            opt.zero_grad(set_to_none=True)
        return f

    def plain(a, b):
        return tgdfer_loss(model(features=a), b, cfg.loss)["loss"]

    groups = lambda: param_groups(model.param_groups(), cfg.train)     # noqa: E731
    rows.append({"path": "one run (for-loop AdamW, as before)", "members": 1,
                 "ms_per_member_step": _median_ms(eager(torch.optim.AdamW(groups(), foreach=False), plain), iters)})
    rows.append({"path": "one run, fused AdamW (after)", "members": 1,
                 "ms_per_member_step": _median_ms(eager(torch.optim.AdamW(groups(), fused=True), plain), iters)})

    def bf16(a, b):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(features=a)
        return tgdfer_loss(out, b, cfg.loss)["loss"]
    rows.append({"path": "one run, bf16 autocast", "members": 1,
                 "ms_per_member_step": _median_ms(eager(torch.optim.AdamW(groups(), fused=True), bf16), iters)})
    for K in members:
        step = _stacked_step(run, K)
        xs, ys = x.expand(K, *x.shape).contiguous(), y.expand(K, *y.shape).contiguous()
        rows.append({"path": f"{K} runs stacked (vmap)", "members": K,
                     "ms_per_member_step": _median_ms(lambda: step(xs, ys), max(3, iters // 3)) / K})
    if compile_:
        compiled = torch.compile(plain)
        t = time.perf_counter()
        eager(torch.optim.AdamW(groups(), fused=True), compiled)()
        rows.append({"path": "one run, torch.compile + fused AdamW", "members": 1, "compile_s": time.perf_counter() - t,
                     "ms_per_member_step": _median_ms(eager(torch.optim.AdamW(groups(), fused=True), compiled), iters)})
    return rows


def run_protocol(out: str | Path | None = None, compile_: bool = False, clips: int = 700, size: int = 112) -> dict:
    """The whole protocol benchmark; writes JSON to `out` when given."""
    torch.set_num_threads(1)
    layout, root = resolve_dataset("synth", "", clips=clips, size=size, seed=0)
    cache = default_runs_dir() / "synth" / "cache"
    warm_cache(layout, root, "tgdfer-tiny", cache)
    with tempfile.TemporaryDirectory() as tmp:
        real = _protocol_run(str(root), str(cache), Path(tmp))
    run, batches = _batches(str(root), str(cache), 40)
    prof, operators, n_ops = profile_step(run, batches)
    paths = path_step_times(run, batches, compile_=compile_)
    for p in paths:
        per_run_s = real["steps"] * p["ms_per_member_step"] / 1e3 + real["rest_s"]
        p["runs_per_hour"] = 3600.0 / per_run_s
    base = paths[0]["runs_per_hour"]
    for p in paths:
        p["speedup"] = p["runs_per_hour"] / base
    res = {"machine": machine(), "threads": 1, "benchmark": {"clips": clips, "size": size},
           "protocol_run": real, "profile": prof, "operators": operators, "operator_calls_per_step": n_ops,
           "paths": paths,
           "runs_per_hour": {p["path"]: p["runs_per_hour"] for p in paths},
           "note": "runs per hour of one process on one core (the demo runs one per core); a path's figure = "
                   "3600 / (steps of the measured run x the path's step time per member + the measured rest)"}
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(res, indent=2) + "\n")
    return res


def format_protocol(res: dict) -> str:

    m, r = res["machine"], res["protocol_run"]
    lines = [f"machine: {m.get('cpu_model', m['processor'])}, {m['cpus']} cpus, 1 thread, torch {m['torch']}",
             f"one real run of the demo protocol: {r['wall_s']:.1f} s ({r['steps']} steps, {r['train_s']:.1f} s "
             f"in steps = {r['step_ms']:.1f} ms a step; {r['rest_s']:.1f} s evaluation, set-up, checkpoints)", "",
             "profile of one step:", pd.DataFrame(res["profile"]).round(3).to_string(index=False), "",
             f"operators by self time ({res['operator_calls_per_step']:.0f} operator calls a step):",
             pd.DataFrame(res["operators"]).round(3).to_string(index=False), "",
             "paths:", pd.DataFrame(res["paths"]).round(2).to_string(index=False)]
    return "\n".join(lines)
