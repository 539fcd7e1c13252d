"""Running a plan of runs: over the GPUs of one machine at once, or as a job array on a cluster through submitit.

In: the plan (`plan.plan_runs`), the dataset, the config, where run folders go, extra `train` arguments. Out: every
run trained that was not finished (finished run folders are skipped, interrupted ones resume from `last.pt`), one
log a run, and the failures named at the end. A failed run never stops the others.
- `run_local`: a slot of `gpus_per_run` GPUs a run (`CUDA_VISIBLE_DEVICES`), one `python -m tgdfer train` process a
  run (torchrun over the slot's GPUs when there are several); on a machine without GPUs, `parallel` runs at once.
- `run_submitit`: the runs as a job array through submitit (`cluster` 'slurm', or 'local' / 'debug' to test it on
  one machine): a job a run, one task a GPU (the tasks form one process group from SLURM's variables), each job
  requeued from its last checkpoint when preempted or out of time.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import runfolder as rf
from ..data.ground_truth import dataset_label
from ..engine.run import run_spec
from ..runspec import RunSpec
from .plan import PlannedRun, train_argv


@dataclass
class SweepRun:
    planned: PlannedRun
    spec: RunSpec
    argv: list[str]                                   # `python -m tgdfer train ...` arguments (after `train`)

    @property
    def folder(self) -> Path:
        return self.spec.folder(dataset_label(self.spec.dataset, self.spec.root))

    @property
    def key(self) -> str:
        return "_".join(self.folder.parts[-4:])       # config_fold_name_seed: a log file's name


@dataclass
class Outcome:
    run: SweepRun
    ok: bool
    note: str = ""                                    # why it failed: the last error line of its log
    log: Path | None = None


@dataclass
class SweepReport:
    done: list = field(default_factory=list)          # already finished before this call
    outcomes: list = field(default_factory=list)      # trained (or tried) by this call

    @property
    def failed(self) -> list:
        return [o for o in self.outcomes if not o.ok]

    def summary(self) -> str:
        ok = sum(o.ok for o in self.outcomes)
        lines = [f"sweep: {len(self.done)} run(s) already finished, {ok} trained now, {len(self.failed)} failed"]
        for o in self.failed:
            lines.append(f"  FAILED {o.run.folder}: {o.note}" + (f" (log: {o.log})" if o.log else ""))
        if self.failed:
            lines.append("rerun the same command to train what is still missing (finished runs are skipped, "
                         "interrupted ones resume)")
        return "\n".join(lines)


def sweep_runs(plan: list[PlannedRun], dataset: str, root, config: str, runs_dir, extra: dict | None = None,
               *, train_args: tuple[str, ...] = ()) -> list[SweepRun]:
    """The plan as runs: each one's spec (its folder), its `train` arguments (always `--resume`)."""
    out = []
    for r in plan:
        overrides = {**(extra or {}), **r.overrides}
        spec = RunSpec(dataset, str(root), r.fold, config, r.variant, overrides, seed=r.seed, runs_dir=str(runs_dir),
                       resume=True)
        out.append(SweepRun(r, spec, train_argv(r, dataset, str(root), config, str(runs_dir), extra) + list(train_args)))
    return out


def split_done(runs: list[SweepRun]) -> tuple[list[SweepRun], list[SweepRun]]:
    """(finished, to train)."""
    done = [r for r in runs if rf.is_finished(r.folder)]
    return done, [r for r in runs if not rf.is_finished(r.folder)]


def reason(text: str) -> str:
    """Why a run failed, from its output: the last `error: ...` or exception line, with the `fix:` line after it."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    said = [i for i, ln in enumerate(lines) if ln.startswith("error:") or re.match(r"^[\w.]*(Error|Exception|Failed)\b.*:", ln)]
    if not said:
        return (lines[-1] if lines else "no output")[:300]
    i = said[-1]
    fix = f" ({lines[i + 1]})" if i + 1 < len(lines) and lines[i + 1].startswith("fix:") else ""
    return (lines[i] + fix)[:400]


def last_error(log: Path) -> str:
    """Why the run of a log failed."""
    try:
        return reason(log.read_text(errors="replace"))
    except OSError:
        return "no log"


def slots_of(gpus: list[str], gpus_per_run: int, parallel: int) -> list[list[str]]:
    """GPU groups, one a concurrent run; without GPUs, `parallel` CPU slots."""
    if not gpus:
        return [[] for _ in range(max(1, parallel))]
    if gpus_per_run < 1 or len(gpus) < gpus_per_run:
        raise ValueError(f"--gpus-per-run {gpus_per_run} needs at least that many GPUs (have {len(gpus)}: {gpus})")
    return [gpus[i:i + gpus_per_run] for i in range(0, len(gpus) - gpus_per_run + 1, gpus_per_run)]


def local_command(run: SweepRun, slot: list[str]) -> list[str]:
    if len(slot) > 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(len(slot)),
                "-m", "tgdfer", "train", *run.argv]
    return [sys.executable, "-m", "tgdfer", "train", *run.argv, *(["--device", "cpu"] if not slot else [])]


def run_local(runs: list[SweepRun], log_dir, *, gpus: list[str], gpus_per_run: int = 1, parallel: int = 1,
              echo=print) -> list[Outcome]:
    """Every run in `runs`, as many at once as there are slots; each in its own process, its output in a log."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    slots = slots_of(gpus, gpus_per_run, parallel)
    free = list(range(len(slots)))
    echo(f"sweep: {len(runs)} run(s) on {len(slots)} slot(s) "
         + (", ".join("GPU " + ",".join(s) for s in slots) if gpus else "(CPU)") + f"; logs in {log_dir}")

    def one(run: SweepRun) -> Outcome:
        i = free.pop()
        log = log_dir / f"{run.key}.log"
        env = dict(os.environ, CUDA_VISIBLE_DEVICES=",".join(slots[i]), TGDFER_PROGRESS="0")
        t0 = time.time()
        try:
            with open(log, "w") as f:
                code = subprocess.run(local_command(run, slots[i]), stdout=f, stderr=subprocess.STDOUT,
                                      env=env).returncode
        finally:
            free.append(i)
        ok = code == 0 and rf.is_finished(run.folder)
        echo(f"  {'done' if ok else 'failed'}: {run.folder} ({(time.time() - t0) / 60:.1f} min)")
        return Outcome(run, ok, "" if ok else last_error(log), log)

    with ThreadPoolExecutor(len(slots)) as pool:
        return list(pool.map(one, runs))


class TrainJob:
    """One run as a submitit job: trained in-process (every task of a multi-GPU job joins one process group from
    SLURM's variables), resumed from its last checkpoint when submitit requeues it (preemption, time limit)."""
    def __call__(self, spec: dict) -> dict:

        res = run_spec(RunSpec(**{**spec, "resume": True}), verbose=True)
        return {"run_dir": str(res.run_dir), **{k: res.metrics.get("last", {}).get(k) for k in ("uar", "war")}}

    def checkpoint(self, spec: dict):
        """submitit calls this on preemption or timeout: the same run again, which resumes from `last.pt`."""
        import submitit  # late: imported where a sweep is submitted

        return submitit.helpers.DelayedSubmission(TrainJob(), spec)


def run_submitit(runs: list[SweepRun], log_dir, *, cluster: str | None = "slurm", gpus_per_run: int = 1,
                 timeout_min: int = 24 * 60, slurm: dict | None = None, wait: bool = True, echo=print) -> list[Outcome]:
    """The runs as one job array (submitit): a job a run, `gpus_per_run` tasks of one GPU each. With `wait`, the
    outcomes (a failed job's error named); without, the job ids are printed and the outcomes are empty."""
    import submitit  # late: imported where a sweep is submitted

    ex = submitit.AutoExecutor(folder=str(log_dir), cluster=cluster)
    params = {"timeout_min": timeout_min, "nodes": 1, "tasks_per_node": max(1, gpus_per_run),
              "gpus_per_node": gpus_per_run if cluster == "slurm" else 0}
    generic = {"cpus_per_task", "mem_gb"}                # submitit's own names; the rest are SLURM's (slurm_...)
    params.update({k if k in generic else f"slurm_{k}": v for k, v in (slurm or {}).items() if cluster == "slurm"})
    ex.update_parameters(**params)
    specs = [r.spec.to_dict() for r in runs]
    jobs = ex.map_array(TrainJob(), specs)
    echo(f"sweep: {len(jobs)} job(s) submitted ({cluster}): " + ", ".join(j.job_id for j in jobs[:8])
         + (" ..." if len(jobs) > 8 else "") + f"; logs in {log_dir}")
    if not wait:
        return []
    out = []
    for run, job in zip(runs, jobs):
        try:
            job.result()
            ok, note = rf.is_finished(run.folder), ""
        except Exception as e:  # noqa: BLE001 - submitit's FailedJobState carries the job's traceback
            ok, note = False, _job_error(job, e)
        echo(f"  {'done' if ok else 'failed'}: {run.folder}")
        out.append(Outcome(run, ok, note, Path(job.paths.stderr)))
    return out


def _job_error(job, e: BaseException) -> str:
    """A failed submitit job's reason: from its stderr log (the traceback's last exception), else the exception."""
    try:
        return reason(Path(job.paths.stderr).read_text(errors="replace"))
    except OSError:
        return reason(str(e))


def visible_gpus() -> list[str]:
    """The GPUs this process may use: `CUDA_VISIBLE_DEVICES`, else every GPU torch sees, else none."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g for g in env.split(",") if g.strip()]

    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
