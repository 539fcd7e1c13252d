"""Training: `train`, from a dataset fold to a finished run folder, in parts that read top to bottom.

    run = build_run(...)              data, model, loaders (or the feature cache), optimizer, schedule
    resume_run(run)                   a killed run continues from `last.pt` (same identity only)
    for epoch: train_epoch(run)       one pass of optimizer steps (accumulation, clipping, AMP, DDP)
               evaluate_epoch(run)    val/test UAR and WAR, `best.pt` on the selecting split
               save_epoch(run)        `last.pt`, `history.csv`, the callback
    finish_run(run)                   last and best epoch on the full test split, predictions, `metrics.json`

In: a dataset (official layout or the generated benchmark), a fold, a config + variant + overrides, a seed.
Out: a run folder `runs/<dataset>/<config>/fold<k>/<run name>/seed<s>/` with `params.json`, `history.csv`,
`metrics.json` (last-epoch and best-epoch, the selection split stated), `predictions.csv`,
`relevance.npz`, `last.pt` and `best.pt`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from .. import runfolder as rf
from ..config import Config
from ..data.ground_truth import dataset_label
from ..data.layouts import load_split
from ..data.validation import groups_for, split_validation, subsample
from ..io import atomic_write_json, atomic_write_text
from ..model import TGDFER, create_model
from ..runspec import RunSpec
from ..safe_load import numpy_rng_state, set_numpy_rng_state
from ..seeding import seed_everything
from .checkpoint import model_state, read_checkpoint, save_checkpoint
from .device import autocast_factory, resolve_precision, setup_device
from .distributed import agree, barrier
from .evaluate import evaluate_loader, write_predictions
from .feature_cache import cache_autocast, open_cache, wants_cache
from .loaders import RunData, attach_datasets, plan_batches
from .optim import build_optimizer, lr_lambda
from .provenance import run_metrics, write_params
from .step import apply_update, forward_backward, train_epoch


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    history: pd.DataFrame


@dataclass
class Run:
    """Everything one training run holds; the parts below read it and advance its state."""
    cfg: Config
    spec: RunSpec                      # dataset, root, fold, config, variant, overrides, seed, ...
    run_dir: Path
    dev: torch.device
    rank: int
    world: int
    model: TGDFER
    net: torch.nn.Module               # the model, or its DDP wrapper
    amp: torch.dtype | None
    ac: Callable
    data: RunData
    use_cache: bool
    optimizer: torch.optim.Optimizer = None
    scheduler: torch.optim.lr_scheduler.LRScheduler = None
    scaler: torch.amp.GradScaler = None
    class_weight: torch.Tensor | None = None
    steps_per_epoch: int = 1
    total_steps: int = 1
    epochs: int = 1
    step: int = 0                      # optimizer steps taken
    start_epoch: int = 0
    history: list = field(default_factory=list)
    best: dict = field(default_factory=lambda: {"score": -1.0, "epoch": -1})
    log: Callable = print
    t_start: float = field(default_factory=time.time)
    timing: dict = field(default_factory=dict)     # seconds by phase: setup, checkpoints, test (see run_metrics)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def label(self) -> str:
        """The dataset's name in records and folders: 'synth' for the generated benchmark (never 'dfew')."""
        return dataset_label(self.spec.dataset, self.spec.root)

    @property
    def trained_on(self) -> dict:
        """What the checkpoint learned from, stored in it so `predict` can say so: dataset, root, fold."""
        s = self.spec
        return {"dataset": self.label, "layout": s.dataset, "root": str(s.root), "fold": s.fold,
                "generated_benchmark": self.label == "synth"}

    @property
    def identity(self) -> dict:
        """What must match for `resume` to continue a run: data, fold, seed and every config value."""
        s = self.spec
        return {"dataset": s.dataset, "root": str(Path(s.root).resolve()) if s.root else "",
                "fold": s.fold, "seed": s.seed, "media": s.media, "label_base": s.label_base,
                "config": self.cfg.to_dict()}


# ----------------------------------------------------------------------------- building a run

def load_tables(dataset: str, root, fold: int, media: str, label_base: int, tc, seed: int) -> RunData:
    """The fold's train and test tables, and a validation split carved from train when asked for."""
    train_t = load_split(dataset, root, fold, "train", media=media, label_base=label_base)
    test_t = load_split(dataset, root, fold, "test", media=media, label_base=label_base)
    train_t = subsample(train_t, tc.train_fraction, fold)       # a training-size curve: a share of the fold's clips
    train_t, val_t = split_validation(train_t, tc.val_fraction, seed, groups_for(train_t, root))
    if tc.select_on not in ("val", "test"):
        raise ValueError(f"select_on must be val or test (got {tc.select_on!r})")
    select_split = "val" if (val_t is not None and tc.select_on == "val") else "test"
    return RunData(train_t, val_t, test_t, select_split, seed=seed)


def run_tables(spec: RunSpec, cfg: Config | None = None) -> RunData:
    """The splits a run reads (train, its validation split, test), as the engine carves them for `spec`: the one
    place they are computed, for the run itself and for whoever prepares its data (a cache warm-up)."""
    cfg = cfg or spec.resolve_config()
    return load_tables(spec.dataset, spec.root, spec.fold, spec.media, spec.label_base, cfg.train, spec.seed)


def attach_optimisation(run: Run) -> Run:
    """Schedule length, optimizer, LR schedule, loss scaler, class weights, the DDP wrapper."""
    tc, model = run.cfg.train, run.model
    run.steps_per_epoch = run.data.sampler.steps
    run.total_steps = tc.epochs * run.steps_per_epoch
    if tc.max_steps:
        run.total_steps = min(run.total_steps, tc.max_steps)
    run.epochs = math.ceil(run.total_steps / run.steps_per_epoch)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"{run.cfg.name} / {run.cfg.variant} has no trainable parameter (frozen image tower, frozen "
                         "text and no learnable part): evaluate it zero-shot with `python -m tgdfer evaluate`, or "
                         "unfreeze a part")
    run.optimizer = build_optimizer(model, tc)
    run.scheduler = torch.optim.lr_scheduler.LambdaLR(run.optimizer, lr_lambda(tc, run.total_steps, run.steps_per_epoch))
    run.scaler = torch.amp.GradScaler(run.dev.type, enabled=run.amp == torch.float16)
    if run.world > 1:           # every parameter gets a gradient: the model builds only what it reads (network.py)
        run.net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[run.dev] if run.dev.type == "cuda" else None)
    if run.cfg.loss.class_weights:
        counts = np.bincount(run.data.train_t["label"], minlength=model.num_classes).astype(float)
        w = len(run.data.train_t) / (model.num_classes * np.maximum(counts, 1))
        run.class_weight = torch.tensor(w, dtype=torch.float32, device=run.dev)
    return run


def run_folder(spec: RunSpec) -> Path:
    """Where a spec's run folder is (its dataset label decided by the data layer)."""
    return spec.folder(dataset_label(spec.dataset, spec.root))


def build_run(spec: RunSpec, cfg: Config | None = None, verbose: bool = True) -> Run:
    """Everything a run needs before its first step, in the order that fixes its random draws. Under torchrun or srun
    a failure on any rank (a bad batch split, a missing file) ends every rank with its message."""
    cfg = cfg or spec.resolve_config()
    dev, rank, world = setup_device(spec.device)
    run, err = None, None
    try:
        run = _build(spec, cfg, dev, rank, world, verbose)
    except Exception as e:  # noqa: BLE001 - every rank ends with it (agree)
        err = e
    agree(err, dev)
    return run


def _build(spec: RunSpec, cfg: Config, dev, rank: int, world: int, verbose: bool) -> Run:
    plan = plan_batches(cfg.train, world, cfg.name)
    seed_everything(spec.seed, spec.deterministic)
    run_dir = run_folder(spec)
    dataset, cache_dir = spec.dataset, spec.cache_dir
    data = run_tables(spec, cfg)
    model = create_model(cfg, dataset=dataset if dataset in ("dfew", "ferv39k", "mafw") else "dfew", cache_dir=cache_dir)
    model.to(dev)
    amp = resolve_precision(cfg.train.precision, dev)
    ac = autocast_factory(dev, amp)
    use_cache = wants_cache(model, cfg.train)
    cache = open_cache(cache_dir or run_dir / "cache", model, cfg, dev) if use_cache else None
    attach_datasets(data, model, cfg, cache, dev, plan, rank=rank, autocast=cache_autocast(cfg.train, dev))
    log = print if (verbose and rank == 0) else (lambda *a, **k: None)
    run = Run(cfg, spec, run_dir, dev, rank, world, model, model, amp, ac, data, use_cache, log=log)
    return attach_optimisation(run)


# ----------------------------------------------------------------------------- resume and provenance

def with_new_defaults(identity: dict) -> dict:
    """A saved identity with the config fields added since it was written filled in at their defaults, so that a
    run written before a new switch existed (e.g. `train.train_fraction`) still resumes."""
    if "config" not in identity:
        return identity
    defaults, saved = Config().to_dict(), identity["config"]
    config = {k: ({**defaults[k], **v} if isinstance(v, dict) and isinstance(defaults.get(k), dict) else v)
              for k, v in saved.items()}
    return {**identity, "config": config}


def resume_run(run: Run, resume: bool) -> None:
    """Continue from `last.pt` when asked (same identity only); refuse to overwrite a finished run."""
    last_ck = run.run_dir / rf.LAST
    if resume and last_ck.is_file():
        ck = read_checkpoint(last_ck)
        identity = run.identity
        saved = with_new_defaults(ck.get("identity", {}))
        if saved != identity:
            diff = sorted(k for k in identity if saved.get(k) != identity[k])
            raise ValueError(f"{last_ck} was written with other settings ({', '.join(diff)} differ); resume with "
                             "the same parameters or choose another run folder")
        run.model.load_state_dict(ck["model"], strict=False)
        run.optimizer.load_state_dict(ck["optimizer"])
        run.scheduler.load_state_dict(ck["scheduler"])
        run.scaler.load_state_dict(ck["scaler"])
        torch.set_rng_state(ck["rng"]["torch"])
        set_numpy_rng_state(ck["rng"]["numpy"])
        run.start_epoch, run.step, run.history, run.best = ck["epoch"] + 1, ck["step"], ck["history"], ck["best"]
        run.log(f"resumed {run.run_dir} after epoch {ck['epoch'] + 1} (step {run.step})")
    elif resume:
        run.log(f"no checkpoint in {run.run_dir}: starting from scratch")
    elif (run.run_dir / rf.METRICS).is_file():                 # every rank sees it: every rank stops with it
        raise FileExistsError(f"{run.run_dir} already holds a finished run; pass resume=True to reuse it "
                              "or choose another run_dir")


# ----------------------------------------------------------------------------- the loop (steps: step.py)

def optimizer_step(run: Run) -> None:
    apply_update(run.model, run.optimizer, run.scaler, run.cfg.train.clip_grad, run.scheduler)
    run.step += 1


def evaluate_epoch(run: Run, epoch: int, row: dict) -> None:
    """UAR/WAR on the selecting split into `row` (val if any, else test), every rank evaluating its share of the
    batches; `best.pt` (written by the first rank) when it improves."""
    t1, d = time.time(), run.data
    # with a validation split that selects, the test split is read once, after training (finish_run)
    splits = ["val"] if d.ds_val is not None else []
    if d.ds_val is None or d.select_split == "test":
        splits.append("test")
    for split in splits:
        res = evaluate_loader(run.model, d.eval_loader(split, run.cfg.train.limit_eval_batches), run.dev, run.ac,
                              d.inputs_key, root=run.spec.root if split == "val" else None)
        row[f"{split}_uar"], row[f"{split}_war"] = res.metrics["uar"], res.metrics["war"]
        if "loc_auc" in res.metrics:                      # generated benchmark: frame AUC on validation clips
            row[f"{split}_frame_auc"] = res.metrics["loc_auc"]
    row["eval_seconds"] = round(time.time() - t1, 2)
    score = row[f"{d.select_split}_uar"]
    if score > run.best["score"]:
        run.best = {"score": score, "epoch": epoch + 1, "metric": f"{d.select_split}_uar"}
        _on_main(run, lambda: save_checkpoint(run.run_dir / rf.BEST, run.model, run.cfg,
                                              {"epoch": epoch + 1, "trained_on": run.trained_on}))


def _on_main(run: Run, write: Callable) -> None:
    """`write` on the first rank; a failure there ends every rank with its message."""
    err = None
    if run.main:
        try:
            write()
        except Exception as e:  # noqa: BLE001 - every rank ends with it (agree)
            err = e
    agree(err, run.dev)


def save_epoch(run: Run, epoch: int, row: dict, callback=None) -> None:
    """`last.pt` (everything resume needs), `history.csv`, the log line and the callback."""
    run.history.append(row)
    run.log("  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))

    def write():
        save_checkpoint(run.run_dir / rf.LAST, run.model, run.cfg, {
            "trained_on": run.trained_on, "identity": run.identity, "epoch": epoch, "step": run.step,
            "history": run.history, "best": run.best, "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(), "scaler": run.scaler.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "numpy": numpy_rng_state()}})
        atomic_write_text(run.run_dir / rf.HISTORY, pd.DataFrame(run.history).to_csv(index=False))
    _on_main(run, write)
    if run.main and callback is not None:
        callback(row)


def finish_run(run: Run) -> dict:
    """Last and best epoch on the full test split (every rank its share); predictions and relevance; `metrics.json`
    (the first rank writes; every rank returns the metrics)."""
    t_test = time.time()
    d, model, root = run.data, run.model, run.spec.root
    res_last = evaluate_loader(model, d.eval_loader("test"), run.dev, run.ac, d.inputs_key, root=root)
    res_best = res_last
    if run.best["epoch"] != len(run.history) and (run.run_dir / rf.BEST).is_file():
        err, best_state = None, None
        try:
            best_state = read_checkpoint(run.run_dir / rf.BEST)["model"]
        except Exception as e:  # noqa: BLE001 - every rank ends with it (agree)
            err = e
        agree(err, run.dev)
        last_state = model_state(model)
        model.load_state_dict(best_state, strict=False)
        res_best = evaluate_loader(model, d.eval_loader("test"), run.dev, run.ac, d.inputs_key, root=root)
        model.load_state_dict(last_state, strict=False)
    run.timing["test"] = time.time() - t_test
    metrics = run_metrics(run, res_last.summary(model.class_names), res_best.summary(model.class_names))

    def write():
        write_predictions(run.run_dir, res_last, model.class_names)
        atomic_write_json(run.run_dir / rf.METRICS, metrics)
    _on_main(run, write)
    last, best = metrics["last"], metrics["best"]
    run.log(f"done: last epoch UAR {100 * last['uar']:.2f}% WAR {100 * last['war']:.2f}%; best epoch "
            f"{run.best['epoch']} (chosen on {d.select_split}) UAR {100 * best['uar']:.2f}% WAR {100 * best['war']:.2f}%")
    return metrics


def train(*args, callback=None, verbose: bool = True, **fields) -> RunResult:
    """Train one run and evaluate it; see the module docstring. The run is `RunSpec(*args, **fields)` (its fields in
    its order: dataset, root, fold, config, variant, overrides, ...). `callback(row)` sees each epoch's history row."""
    return run_spec(RunSpec(*args, **fields), callback=callback, verbose=verbose)


def run_spec(spec: RunSpec, callback=None, verbose: bool = True) -> RunResult:
    """Train and evaluate the run a `RunSpec` describes (what `train` calls)."""
    t0 = time.time()
    cfg = spec.resolve_config()
    run = build_run(spec, cfg, verbose)
    try:
        return _train_run(run, cfg, callback, t0)
    finally:
        run.net = run.model     # release the DDP wrapper now: one alive at interpreter exit can abort the process


def _train_run(run: Run, cfg: Config, callback, t0: float) -> RunResult:
    err = None
    try:
        resume_run(run, run.spec.resume)
        write_params(run)
    except Exception as e:  # noqa: BLE001 - every rank ends with it (agree)
        err = e
    agree(err, run.dev)
    run.timing["setup"] = time.time() - t0
    for epoch in range(run.start_epoch, run.epochs):
        if run.step >= run.total_steps:
            break
        row = train_epoch(run, epoch)
        if (epoch + 1) % cfg.train.eval_every == 0 or epoch == run.epochs - 1 or run.step >= run.total_steps:
            evaluate_epoch(run, epoch, row)
        t_save = time.time()
        save_epoch(run, epoch, row, callback)
        run.timing["checkpoints"] = run.timing.get("checkpoints", 0.0) + time.time() - t_save
    metrics = finish_run(run)
    barrier()
    return RunResult(run.run_dir, metrics, pd.DataFrame(run.history))


__all__ = ["train", "run_spec", "run_folder", "forward_backward", "apply_update", "RunSpec", "RunResult", "Run", "RunData", "build_run", "resume_run", "write_params", "train_epoch",
           "evaluate_epoch", "save_epoch", "finish_run", "load_tables", "run_tables", "attach_datasets"]
