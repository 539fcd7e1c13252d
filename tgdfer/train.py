"""Training: one function, `train`, from a dataset fold to a finished run folder.

In: a dataset (official layout or the generated benchmark), a fold, a config + variant + overrides,
a seed. Out: a run folder `runs/<dataset>/fold<k>/<run name>/seed<s>/` with `params.json`,
`history.csv`, `metrics.json` (last-epoch and best-epoch, the selection split stated),
`predictions.csv`, `relevance.npz`, `last.pt` and `best.pt`. Per-module learning rates, warm-up then
cosine or step schedule, gradient accumulation and clipping, mixed precision on GPU, torch DDP under
`torchrun`, atomic checkpoints and exact resume, and the frozen-backbone feature cache.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from .config import Config, load_config
from .data.dataset import ClipDataset
from .data.layouts import load_split
from .evaluate import evaluate_loader, write_predictions
from .feature_cache import CachedClips, FeatureCache, train_views
from .io import atomic_torch_save, atomic_write_json, atomic_write_text
from .losses import tgdfer_loss
from .model import TGDFER, create_model
from .paths import dataset_label, default_runs_dir, run_name
from .progress import progress
from .seeding import seed_everything


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    history: pd.DataFrame


# ----------------------------------------------------------------------------- environment

def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no GPU is visible; use device='cpu' or 'auto'")
    return dev


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with native bf16 matrix units (AMX or AVX512-BF16), where bf16 autocast pays off."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """None = fp32; else the autocast dtype. 'auto' = bf16 on GPUs that have it (else fp16) and on CPUs
    with bf16 matrix units (AMX, AVX512-BF16: about 2x faster training of tgdfer-b16 there), fp32 otherwise."""
    if precision == "fp32":
        return None
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if device.type == "cpu" and cpu_has_fast_bf16() else None
    if precision in ("bf16", "fp16"):
        return torch.bfloat16 if precision == "bf16" else torch.float16
    raise ValueError(f"precision must be auto, fp32, bf16 or fp16 (got {precision!r})")


def autocast_factory(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)


def dist_info() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def environment(device: torch.device) -> dict:
    import open_clip
    import sklearn

    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5).stdout.strip()
    except Exception:  # noqa: BLE001
        sha = ""
    return {"git_sha": sha, "python": sys.version.split()[0], "torch": torch.__version__,
            "open_clip": open_clip.__version__, "numpy": np.__version__, "pandas": pd.__version__,
            "sklearn": sklearn.__version__, "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "threads": torch.get_num_threads()}


# ----------------------------------------------------------------------------- data

def split_validation(table: pd.DataFrame, fraction: float, seed: int, groups: pd.Series | None = None):
    """Carve a validation split from the training fold: stratified by label, grouped where groups exist."""
    from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit

    if fraction <= 0:
        return table, None
    if groups is not None and groups.nunique() > 1:
        gss = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        tr, va = next(gss.split(table, table["label"], groups))
    else:
        try:
            sss = StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
            tr, va = next(sss.split(table, table["label"]))
        except ValueError:                    # a class with a single clip cannot be stratified
            rng = np.random.default_rng(seed)
            perm = rng.permutation(len(table))
            n = max(1, int(round(fraction * len(table))))
            va, tr = perm[:n], perm[n:]
    return table.iloc[np.sort(tr)].reset_index(drop=True), table.iloc[np.sort(va)].reset_index(drop=True)


def _groups_for(table: pd.DataFrame, root) -> pd.Series | None:
    from .synth.ground_truth import clip_table

    gt = clip_table(root)
    if gt is not None:
        m = dict(zip(gt["clip_id"], gt["identity"].astype(str)))
        return table["clip_id"].map(m).fillna("")
    return table["group"] if (table["group"] != "").any() else None


# ----------------------------------------------------------------------------- optimisation

def build_optimizer(model: TGDFER, tc) -> torch.optim.Optimizer:
    lrs = {"backbone": tc.lr_backbone, "head": tc.lr_head, "prompt": tc.lr_prompt}
    groups = []
    for name, params in model.param_groups().items():
        decay = [p for p in params if p.ndim >= 2 and name != "prompt"]
        no_decay = [p for p in params if not (p.ndim >= 2 and name != "prompt")]
        for ps, wd in ((decay, tc.weight_decay), (no_decay, 0.0)):
            if ps:
                groups.append({"params": ps, "lr": lrs[name], "weight_decay": wd, "name": name})
    if tc.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=tc.lr_head, momentum=0.9)
    if tc.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=tc.lr_head, betas=(0.9, 0.999))
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


# ----------------------------------------------------------------------------- checkpoints

def _saved_keys(model: TGDFER) -> set[str]:
    """What a checkpoint stores: everything but the frozen parts restored from the weight source."""
    keep = {n for n, p in model.named_parameters() if p.requires_grad}
    keep |= {n for n, _ in model.named_buffers()}
    keep |= {n for n, _ in model.named_parameters() if not n.startswith("backbone.")}
    return keep


def model_state(model: TGDFER) -> dict:
    keys = _saved_keys(model)
    return {k: v.detach().cpu() for k, v in model.state_dict().items() if k in keys}


def save_checkpoint(path: Path, model: TGDFER, cfg: Config, extra: dict) -> None:
    atomic_torch_save(path, {"format": "tgdfer-checkpoint-1", "config": cfg.to_dict(), "class_names": model.class_names,
                             "backbone": model.backbone.info, "model": model_state(model), **extra})


def load_model(checkpoint: str | Path, device: str | torch.device = "cpu", cache_dir: str | None = None) -> TGDFER:
    """Rebuild a trained model from a checkpoint (frozen parts come from its recorded weight source)."""
    from .config import apply_overrides

    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ck, dict) or ck.get("format") != "tgdfer-checkpoint-1":
        raise ValueError(f"{path} is not a tgdfer checkpoint (expected one written by `python -m tgdfer train`)")
    c = ck["config"]
    flat = {f"model.{k}": v for k, v in c["model"].items()}
    flat |= {f"loss.{k}": v for k, v in c["loss"].items()} | {f"train.{k}": v for k, v in c["train"].items()}
    cfg = apply_overrides(Config(name=c["name"], variant=c.get("variant", "tgdfer"), source=c.get("source", "")), flat)
    sha = ck["backbone"].get("weights_sha256")
    if sha:
        cfg.model.weights_sha256 = sha
    model = create_model(cfg, class_names=ck["class_names"], cache_dir=cache_dir)
    missing, unexpected = model.load_state_dict(ck["model"], strict=False)
    if unexpected or [k for k in missing if k in _saved_keys(model)]:
        raise ValueError(f"{path} does not match its config (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.to(device).eval()


# ----------------------------------------------------------------------------- the loop

def train(dataset: str = "dfew", root: str | os.PathLike = "", fold: int = 1, config: str | Config = "tgdfer-tiny",
          variant: str = "tgdfer", overrides: dict | None = None, seed: int = 0, device: str = "auto",
          run_dir: str | os.PathLike | None = None, runs_dir: str | os.PathLike | None = None, resume: bool = False,
          media: str = "frames", label_base: int = 1, deterministic: bool = False, cache_dir: str | None = None,
          callback=None, verbose: bool = True) -> RunResult:
    """Train one run and evaluate it; see the module docstring. `callback(row)` sees each epoch's history row."""
    t_start = time.time()
    rank, world, local_rank = dist_info()
    ddp = world > 1
    dev = resolve_device(device)
    if ddp:
        if dev.type == "cuda":
            dev = torch.device("cuda", local_rank)
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    cfg = config if isinstance(config, Config) else load_config(config, variant, overrides)
    tc, mc = cfg.train, cfg.model
    seed_everything(seed, deterministic)
    name = run_name(cfg.variant, overrides)
    label = dataset_label(dataset, root)
    run_dir = Path(run_dir) if run_dir else Path(runs_dir or default_runs_dir()) / label / f"fold{fold}" / name / f"seed{seed}"
    main = rank == 0
    log = print if (verbose and main) else (lambda *a, **k: None)

    # data
    train_t = load_split(dataset, root, fold, "train", media=media, label_base=label_base)
    test_t = load_split(dataset, root, fold, "test", media=media, label_base=label_base)
    train_t, val_t = split_validation(train_t, tc.val_fraction, seed, _groups_for(train_t, root))
    if tc.select_on not in ("val", "test"):
        raise ValueError(f"select_on must be val or test (got {tc.select_on!r})")
    select_split = "val" if (val_t is not None and tc.select_on == "val") else "test"

    model = create_model(cfg, dataset=dataset if dataset in ("dfew", "ferv39k", "mafw") else "dfew", cache_dir=cache_dir)
    model.to(dev)
    amp = resolve_precision(tc.precision, dev)
    ac = autocast_factory(dev, amp)
    size = model.backbone.image_size
    use_cache = model.backbone.frozen and tc.feature_cache in ("auto", "on")
    if tc.feature_cache == "on" and not model.backbone.frozen:
        raise ValueError("feature_cache=on needs a frozen image tower (finetune=frozen)")

    def clip_ds(t, is_train):
        return ClipDataset(t, mc.frames, size, train=is_train, mean=model.backbone.mean, std=model.backbone.std,
                           augment=tc.augment, views=tc.test_views, crops=tc.test_crops, seed=seed)

    if use_cache:
        cache = FeatureCache(cache_dir or run_dir / "cache", model, mc.frames, size, seed=seed, augment=tc.augment)
        n_train_views = train_views(tc.epochs)
        kw = dict(batch_size=max(8, tc.batch_size), workers=tc.workers, device=dev, autocast=ac)
        ds_train = CachedClips(*cache.get(train_t, "train", views=n_train_views, **kw), train_t, train=True)
        ds_test = CachedClips(*cache.get(test_t, "test", tc.test_views, tc.test_crops, **kw), test_t, train=False)
        ds_val = CachedClips(*cache.get(val_t, "test", tc.test_views, tc.test_crops, **kw), val_t, train=False) \
            if val_t is not None else None
        workers = 0
    else:
        ds_train, ds_test = clip_ds(train_t, True), clip_ds(test_t, False)
        ds_val = clip_ds(val_t, False) if val_t is not None else None
        workers = tc.workers
    per_rank = max(1, tc.batch_size // world)
    sampler = DistributedSampler(ds_train, world, rank, shuffle=True, seed=seed) if ddp else None
    gen = torch.Generator().manual_seed(seed)

    def train_loader(epoch: int) -> DataLoader:
        ds_train.set_epoch(epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        gen.manual_seed(seed * 1000 + epoch)
        return DataLoader(ds_train, batch_size=per_rank, shuffle=sampler is None, sampler=sampler, generator=gen,
                          num_workers=workers, drop_last=len(ds_train) >= 2 * per_rank * world,
                          persistent_workers=False, pin_memory=dev.type == "cuda")

    def eval_loader(ds) -> DataLoader:
        return DataLoader(ds, batch_size=per_rank * 2, shuffle=False, num_workers=workers)

    steps_per_epoch = max(1, len(train_loader(0)) // tc.grad_accum)
    total_steps = tc.epochs * steps_per_epoch
    if tc.max_steps:
        total_steps = min(total_steps, tc.max_steps)
    epochs = math.ceil(total_steps / steps_per_epoch)

    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"{cfg.name} / {cfg.variant} has no trainable parameter (frozen image tower, frozen text and "
                         "no learnable part): evaluate it zero-shot with `python -m tgdfer evaluate`, or unfreeze a part")
    optimizer = build_optimizer(model, tc)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(tc, total_steps, steps_per_epoch))
    scaler = torch.amp.GradScaler(dev.type, enabled=amp == torch.float16)
    net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev] if dev.type == "cuda" else None) \
        if ddp else model
    class_weight = None
    if cfg.loss.class_weights:
        counts = np.bincount(train_t["label"], minlength=model.num_classes).astype(float)
        class_weight = torch.tensor(len(train_t) / (model.num_classes * np.maximum(counts, 1)), dtype=torch.float32,
                                    device=dev)

    # resume: only a run with the same identity (data, fold, seed, every config value) may continue
    identity = {"dataset": dataset, "root": str(Path(root).resolve()) if root else "", "fold": fold, "seed": seed,
                "media": media, "label_base": label_base, "config": cfg.to_dict()}
    start_epoch, step, history, best = 0, 0, [], {"score": -1.0, "epoch": -1}
    last_ck = run_dir / "last.pt"
    if resume and last_ck.is_file():
        ck = torch.load(last_ck, map_location="cpu", weights_only=False)
        if ck.get("identity") != identity:
            diff = sorted(k for k in identity if ck.get("identity", {}).get(k) != identity[k])
            raise ValueError(f"{last_ck} was written with other settings ({', '.join(diff)} differ); resume with "
                             "the same parameters or choose another run folder")
        model.load_state_dict(ck["model"], strict=False)
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
        scaler.load_state_dict(ck["scaler"])
        torch.set_rng_state(ck["rng"]["torch"])
        np.random.set_state(ck["rng"]["numpy"])
        start_epoch, step, history, best = ck["epoch"] + 1, ck["step"], ck["history"], ck["best"]
        log(f"resumed {run_dir} after epoch {ck['epoch'] + 1} (step {step})")
    elif resume:
        log(f"no checkpoint in {run_dir}: starting from scratch")
    elif main and (run_dir / "metrics.json").is_file():
        raise FileExistsError(f"{run_dir} already holds a finished run; pass resume=True to reuse it "
                              "or choose another run_dir")

    params = {"dataset": dataset, "dataset_label": label, "root": str(root), "fold": fold, "media": media,
              "label_base": label_base, "config": cfg.to_dict(), "overrides": overrides or {}, "run_name": name,
              "seed": seed, "deterministic": deterministic, "world_size": world, "feature_cache": use_cache,
              "precision": str(amp).replace("torch.", "") if amp else "fp32", "selection_split": select_split,
              "clips": {"train": len(train_t), "val": 0 if val_t is None else len(val_t), "test": len(test_t)},
              "backbone": model.backbone.info, "environment": environment(dev)}
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / "params.json", params)
    log(f"run {run_dir}: {len(train_t)} train / {0 if val_t is None else len(val_t)} val / {len(test_t)} test clips, "
        f"{epochs} epochs x {steps_per_epoch} steps, device {dev}" + (", feature cache" if use_cache else ""))

    inputs_key = "features" if use_cache else "video"
    for epoch in range(start_epoch, epochs):
        if step >= total_steps:
            break
        net.train()
        t0 = time.time()
        sums: dict[str, float] = {}
        n_batches = 0
        loader = train_loader(epoch)
        bar = progress(loader, desc=f"epoch {epoch + 1}/{epochs}", total=len(loader)) if main else loader
        optimizer.zero_grad(set_to_none=True)
        for i, batch in enumerate(bar):
            x = batch[inputs_key].to(dev, non_blocking=True)
            y = batch["label"].to(dev, non_blocking=True)
            sync = (i + 1) % tc.grad_accum == 0
            ctx = net.no_sync() if (ddp and not sync) else nullcontext()
            with ctx:
                with ac():
                    out = net(features=x) if use_cache else net(x)
                parts = tgdfer_loss(out, y, cfg.loss, class_weight)
                scaler.scale(parts["loss"] / tc.grad_accum).backward()
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            n_batches += 1
            if sync:
                if tc.clip_grad > 0:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.clip_grad)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()
                step += 1
                if step >= total_steps:
                    break
        row = {"epoch": epoch + 1, "step": step, **{f"train_{k}": v / max(n_batches, 1) for k, v in sums.items()},
               **{f"lr_{g['name']}": g["lr"] for g in optimizer.param_groups},
               "train_seconds": round(time.time() - t0, 2)}
        last_epoch = epoch == epochs - 1 or step >= total_steps
        if (epoch + 1) % tc.eval_every == 0 or last_epoch:
            t1 = time.time()
            splits = [("val", ds_val)] if ds_val is not None else []
            splits.append(("test", ds_test))
            for split, ds in splits:
                res = evaluate_loader(model, eval_loader(ds), dev, ac, inputs_key, limit=tc.limit_eval_batches)
                row[f"{split}_uar"], row[f"{split}_war"] = res.metrics["uar"], res.metrics["war"]
            row["eval_seconds"] = round(time.time() - t1, 2)
            score = row[f"{select_split}_uar"]
            if main and score > best["score"]:
                best = {"score": score, "epoch": epoch + 1, "metric": f"{select_split}_uar"}
                save_checkpoint(run_dir / "best.pt", model, cfg, {"epoch": epoch + 1})
        history.append(row)
        if main:
            log("  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
            save_checkpoint(last_ck, model, cfg, {
                "identity": identity, "epoch": epoch, "step": step, "history": history, "best": best,
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state()}})
            atomic_write_text(run_dir / "history.csv", pd.DataFrame(history).to_csv(index=False))
            if callback is not None:
                callback(row)

    # final evaluation: last epoch and best epoch, on the full test split, with predictions
    metrics = {}
    if main:
        res_last = evaluate_loader(model, eval_loader(ds_test), dev, ac, inputs_key, root=root)
        write_predictions(run_dir, res_last, model.class_names)
        best_state = torch.load(run_dir / "best.pt", map_location="cpu", weights_only=False)["model"] \
            if (run_dir / "best.pt").is_file() else None
        res_best = res_last
        if best_state is not None and best["epoch"] != len(history):
            last_state = model_state(model)
            model.load_state_dict(best_state, strict=False)
            res_best = evaluate_loader(model, eval_loader(ds_test), dev, ac, inputs_key, root=root)
            model.load_state_dict(last_state, strict=False)
        metrics = {
            "dataset": label, "fold": fold, "run_name": name, "variant": cfg.variant, "config": cfg.name, "seed": seed,
            "reported": "last", "selection_split": select_split,
            "selection_note": ("best epoch chosen on a validation split carved from the training fold"
                               if select_split == "val" else
                               "best epoch chosen on the test fold (as public DFER code does): optimistic"),
            "epochs": len(history), "steps": step, "best_epoch": best["epoch"],
            "last": res_last.summary(model.class_names), "best": res_best.summary(model.class_names),
            "test_views": tc.test_views, "test_crops": tc.test_crops,
            "wall_seconds": round(time.time() - t_start, 1),
        }
        atomic_write_json(run_dir / "metrics.json", metrics)
        log(f"done: last epoch UAR {metrics['last']['uar']:.4f} WAR {metrics['last']['war']:.4f}; "
            f"best epoch {best['epoch']} ({select_split}) UAR {metrics['best']['uar']:.4f}")
    if ddp:
        dist.barrier()
    return RunResult(run_dir, metrics, pd.DataFrame(history))


__all__ = ["train", "load_model", "RunResult", "resolve_device", "split_validation"]
