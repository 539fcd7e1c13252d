"""Benchmark: training and inference throughput, where the step time goes, FLOP/s against the
machine's own matrix-multiply peak, data-pipeline throughput, peak memory, and a feature-cache epoch.

Every figure is a rate or a ratio measured in one run, so it holds on a noisy machine. Each model
config is measured in a fresh process (its peak memory is its own). `python -m tgdfer bench`
prints a table and writes JSON; `benchmarks/README.md` records what was measured.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from ..config import load_config
from ..data import decode
from ..data.dataset import ClipDataset, model_input
from ..data.decode import ClipReader
from ..data.sampling import segment_indices
from ..model import create_model, model_report
from .device import autocast_factory, machine, resolve_device, resolve_precision
from .feature_cache import CachedClips
from .optim import build_optimizer
from .run import apply_update, forward_backward


DEFAULT_BATCH = {"cpu": {"tgdfer-tiny": 16, "tgdfer-b32": 8, "tgdfer-b16": 4},
                 "cuda": {"tgdfer-tiny": 64, "tgdfer-b32": 48, "tgdfer-b16": 48}}     # cuda: the configs' own batch


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timeit(fn, dev: torch.device, iters: int, warmup: int = 1) -> float:
    """Median seconds of `fn` over `iters` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    _sync(dev)
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        _sync(dev)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def matmul_peak(dev: torch.device, dtype: torch.dtype, iters: int = 5) -> float:
    """Best GFLOP/s of square matrix products (the machine's practical matmul peak in `dtype`)."""
    best = 0.0
    for n in (1024, 2048, 4096):
        a = torch.randn(n, n, device=dev, dtype=dtype)
        b = torch.randn(n, n, device=dev, dtype=dtype)
        t = timeit(lambda: a @ b, dev, iters, warmup=2)
        best = max(best, 2 * n ** 3 / t / 1e9)
    return best


def _autocast(dev: torch.device, precision: str):

    return autocast_factory(dev, resolve_precision(precision, dev))


def _model_worker(args: dict) -> dict:
    """Measure one config at one precision (runs in its own process): the engine's own training step (its
    forward/backward and its update with the optimizer the config trains with), with the image tower trainable."""
    torch.set_num_threads(args["threads"])
    dev = torch.device(args["device"])
    torch.manual_seed(0)
    cfg = load_config(args["config"], overrides={"pretrained": "none", "finetune": "full", "frames": args["frames"]})
    model = create_model(cfg).to(dev)
    if args.get("channels_last"):
        model.backbone.visual.to(memory_format=torch.channels_last)
    rep = model_report(model).set_index("component")
    gflops_bb = float(rep.loc["image tower", "gflops"])                      # forward, one clip
    B, T, S = args["batch"], args["frames"], model.backbone.image_size
    x = torch.randn(B, T, 3, S, S, device=dev)
    y = torch.randint(0, 7, (B,), device=dev)
    ac = _autocast(dev, args["precision"])
    opt = build_optimizer(model, cfg.train)                                  # SGD for b16/b32, AdamW for tiny
    scaler = torch.amp.GradScaler(dev.type, enabled=args["precision"] == "fp16")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)

    def step_full():
        forward_backward(model, x, y, cfg, ac, scaler, features=False)
        apply_update(model, opt, scaler, cfg.train.clip_grad)

    def step_backbone():
        with ac():
            f = model.backbone.encode_frames(x)
        scaler.scale(f.float().square().mean()).backward()
        apply_update(model, opt, scaler, cfg.train.clip_grad)

    model.train()
    it = args["iters"]
    t_step = timeit(step_full, dev, it)
    t_bb = timeit(step_backbone, dev, it)
    model.eval()
    with torch.no_grad():
        with ac():
            t_inf = timeit(lambda: model(x), dev, it)
            t_bbf = timeit(lambda: model.backbone.encode_frames(x), dev, it)
    feats = torch.randn(B, T, model.backbone.embed_dim, device=dev)
    model.train()

    def step_heads():
        forward_backward(model, feats, y, cfg, ac, scaler, features=True)
        apply_update(model, opt, scaler, cfg.train.clip_grad)

    t_heads = timeit(step_heads, dev, it)
    peak = (torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {
        "config": args["config"], "precision": args["precision"], "optimizer": cfg.train.optimizer, "batch": B, "frames": T, "image_size": S,
        "channels_last": bool(args.get("channels_last")),
        "train_step_s": t_step, "train_clips_per_s": B / t_step, "train_frames_per_s": B * T / t_step,
        "infer_clips_per_s": B / t_inf, "infer_frames_per_s": B * T / t_inf,
        "backbone_step_s": t_bb, "heads_overhead": (t_step - t_bb) / t_bb,
        "heads_only_step_s": t_heads,
        "backbone_fwd_gflop_per_s": gflops_bb * B / t_bbf,
        "peak_mem_mb": peak, "mem_increase_mb": (peak - rss0 / 1024) if dev.type != "cuda" else peak,
    }


def bench_models(configs, device: str, precisions, iters: int, frames: int = 16, batches: dict | None = None,
                 channels_last: bool = False) -> list[dict]:
    dev = torch.device(device)
    out = []
    for precision in precisions:
        for cfg in configs:
            batch = (batches or {}).get(cfg) or DEFAULT_BATCH[dev.type][cfg]
            args = dict(config=cfg, device=device, precision=precision, batch=batch, frames=frames, iters=iters,
                        threads=torch.get_num_threads(), channels_last=channels_last)
            with mp.get_context("spawn").Pool(1) as pool:               # fresh process: its own peak memory
                out.append(pool.apply(_model_worker, (args,)))
    return out


# ----------------------------------------------------------------------------- data pipeline

class _DecodeOnly(torch.utils.data.Dataset):
    """Decode and sample (test-time segment centres) without the transform: uint8 [T, H, W, 3]."""
    def __init__(self, paths):
        self.paths = list(paths)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):

        r = ClipReader(self.paths[i])
        return torch.from_numpy(r.read(segment_indices(r.num_frames, 16)))


def _make_media(folder: Path, n_clips: int, length: int, size: int):

    rows = []
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n_clips):
        vid, fdir = folder / f"{i:05d}.mp4", folder / f"{i:05d}"
        fdir.mkdir(parents=True, exist_ok=True)
        with av.open(str(vid), "w") as c:
            s = c.add_stream("libx264", rate=25)
            s.width = s.height = size
            s.pix_fmt = "yuv420p"
            s.options = {"crf": "23"}
            ph = rng.uniform(0, 6, 2)
            for t in range(length):   # smooth moving texture + noise: a realistic load for the codec
                g = (np.sin(xx / 20 + t / 5 + ph[0]) + np.cos(yy / 15 - t / 7 + ph[1])) * 60 + 128
                f = np.clip(g[..., None] + rng.normal(0, 8, (size, size, 3)), 0, 255).astype(np.uint8)
                for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                    c.mux(p)
                cv2.imwrite(str(fdir / f"{i:05d}_{t + 1:05d}.jpg"), f[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
            for p in s.encode():
                c.mux(p)
        rows.append(dict(clip_id=f"{i:05d}", video=str(vid), frames=str(fdir), label=0))
    return pd.DataFrame(rows)


def video_backends() -> tuple[str, ...]:
    """The mp4 decoders this machine has: PyAV always; decord and torchcodec where they import."""
    out = ["pyav"]
    for name, mod in (("decord", "decord"), ("torchcodec", "torchcodec.decoders")):
        try:
            __import__(mod)
            out.append(name)
        except Exception:  # noqa: BLE001 - ImportError, or torchcodec without FFmpeg's libraries
            pass
    return tuple(out)


def bench_data(lengths=(16, 70), size: int = 224, n_clips: int = 16, workers=(0, 1, 2), repeats: int = 3,
               backends=None) -> list[dict]:
    """Clips/s of decode + sample, then + the train transform, from mp4 (each decoder) and JPEG frame folders. The
    transform is timed both ways: `float` (normalised in the loader's workers, 4 bytes a value sent to the device)
    and `uint8` (the workers crop and flip; the clips travel as uint8, a quarter of the bytes, and are normalised
    where the model runs: `normalize_s_per_clip`, timed here on this CPU, which a GPU run does on the GPU)."""
    out, saved = [], decode.VIDEO_BACKEND
    with tempfile.TemporaryDirectory() as tmp:
        for length in lengths:
            media = _make_media(Path(tmp) / f"L{length}", n_clips, length, size)
            for source in ["video:" + b for b in (backends or video_backends())] + ["frames"]:
                col = "frames" if source == "frames" else "video"
                if source.startswith("video:"):
                    decode.VIDEO_BACKEND = source.split(":")[1]
                paths = list(media[col]) * repeats * 2
                for w in workers:
                    loader = DataLoader(_DecodeOnly(paths), batch_size=8, num_workers=w)
                    t = time.perf_counter()
                    for _ in loader:
                        pass
                    out.append(dict(stage="decode+sample", source=source, clip_frames=length, size=size, workers=w,
                                    clips_per_s=len(paths) / (time.perf_counter() - t)))
                table = media.rename(columns={col: "path"})[["clip_id", "path", "label"]]
                table = pd.concat([table] * repeats * 2, ignore_index=True)     # enough items to amortise start-up
                for raw in (False, True):
                    for w in workers:
                        ds = ClipDataset(table, 16, size, train=True, seed=0, raw=raw)
                        loader = DataLoader(ds, batch_size=8, num_workers=w)
                        t, norm, nbytes = time.perf_counter(), 0.0, 0
                        for batch in loader:
                            nbytes += batch["video"].numel() * batch["video"].element_size()
                            if raw:
                                t1 = time.perf_counter()
                                model_input(batch, "video", "cpu", ds.normalize)
                                norm += time.perf_counter() - t1
                        rate = len(ds) / (time.perf_counter() - t - norm)
                        out.append(dict(stage="decode+sample+transform", transport="uint8" if raw else "float",
                                        source=source, clip_frames=length, size=size, workers=w, clips_per_s=rate,
                                        bytes_per_clip=nbytes / len(ds),
                                        normalize_s_per_clip=norm / len(ds) if raw else None))
    decode.VIDEO_BACKEND = saved
    return out


# ----------------------------------------------------------------------------- feature-cache epoch

def bench_cache_epoch(config: str, device: str, precision: str, clips: int = 9356, steps: int = 20) -> dict:
    """Seconds of one training epoch over `clips` cached clips (measured over `steps` steps)."""
    dev = torch.device(device)
    cfg = load_config(config, overrides={"pretrained": "none", "finetune": "frozen"})
    model = create_model(cfg).to(dev).train()
    D, T, B = model.backbone.embed_dim, cfg.model.frames, cfg.train.global_batch
    feats = torch.randn(clips, 1, T, D).half()
    idx = torch.zeros(clips, 1, T, dtype=torch.long)
    table = pd.DataFrame({"clip_id": [str(i) for i in range(clips)], "path": "", "label": np.arange(clips) % 7})
    loader = DataLoader(CachedClips(feats, idx, table, train=True), batch_size=B, shuffle=True, num_workers=0)
    opt = build_optimizer(model, cfg.train)
    scaler = torch.amp.GradScaler(dev.type, enabled=precision == "fp16")
    ac = _autocast(dev, precision)
    it = iter(loader)
    times = []
    for s in range(steps + 2):
        t = time.perf_counter()
        b = next(it)
        forward_backward(model, b["features"].to(dev), b["label"].to(dev), cfg, ac, scaler, features=True)
        apply_update(model, opt, scaler, cfg.train.clip_grad)
        _sync(dev)
        if s >= 2:
            times.append(time.perf_counter() - t)
    step = statistics.median(times)
    n_steps = int(np.ceil(clips / B))
    return {"config": config, "precision": precision, "clips": clips, "batch": B, "step_s": step,
            "epoch_s": step * n_steps, "clips_per_s": B / step}


# ----------------------------------------------------------------------------- the whole run

def run(configs=("tgdfer-tiny", "tgdfer-b32", "tgdfer-b16"), device: str = "auto", precisions=None, iters: int = 3,
        data: bool = True, cache_epoch: bool = True, out: str | os.PathLike | None = None, *, label: str = "", batch: int | None = None) -> dict:

    dev = resolve_device(device)
    precisions = precisions or (["fp32", "bf16"] if dev.type == "cpu" else ["bf16", "fp16"])
    res = {"label": label, "machine": machine(), "device": str(dev), "sdpa_patch": os.environ.get("TGDFER_SDPA", "1") != "0",
           "matmul_peak_gflop_per_s": {p: matmul_peak(dev, torch.float32 if p == "fp32" else
                                                        (torch.bfloat16 if p == "bf16" else torch.float16))
                                       for p in precisions}}
    res["models"] = bench_models(configs, str(dev), precisions, iters, batches={c: batch for c in configs} if batch else None) \
        if configs else []
    for m in res["models"]:
        m["backbone_fwd_share_of_peak"] = m["backbone_fwd_gflop_per_s"] / res["matmul_peak_gflop_per_s"][m["precision"]]
    if data:
        res["data"] = bench_data()
    if cache_epoch:
        res["cache_epoch"] = [bench_cache_epoch(c, str(dev), p) for c in ("tgdfer-tiny", "tgdfer-b16") for p in precisions]
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(res, indent=2) + "\n")
    return res


def format_table(res: dict) -> str:

    lines = [f"machine: {res['machine'].get('cpu_model', res['machine']['processor'])}, {res['machine']['cpus']} cpus, "
             f"device {res['device']}, torch {res['machine']['torch']}",
             "matmul peak (GFLOP/s): " + ", ".join(f"{k} {v:.0f}" for k, v in res["matmul_peak_gflop_per_s"].items()), ""]
    m = pd.DataFrame(res["models"])
    cols = ["config", "precision", "batch", "train_clips_per_s", "train_frames_per_s", "infer_clips_per_s",
            "heads_overhead", "backbone_fwd_gflop_per_s", "backbone_fwd_share_of_peak", "peak_mem_mb"]
    if len(m):
        lines += ["models (16 frames):", m[cols].round(3).to_string(index=False), ""]
    if "data" in res:
        d = pd.DataFrame(res["data"])
        d["transport"] = d["transport"].fillna("-") if "transport" in d else "-"
        lines += ["data pipeline (clips/s, 16 sampled frames at 224 px; transport: what the loader hands the device):",
                  d.pivot_table(index=["stage", "transport", "source", "clip_frames"], columns="workers",
                                values="clips_per_s").round(1).to_string(), ""]
    if "cache_epoch" in res:
        lines += ["one epoch from the feature cache over 9,356 clips:",
                  pd.DataFrame(res["cache_epoch"]).round(3).to_string(index=False)]
    return "\n".join(lines)
