"""Several processes, one run: who this process is, the process group, and collectives the engine needs.

In: the launcher's environment: torchrun's (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`), or SLURM's when `srun` started one task
a GPU (`SLURM_PROCID`, `SLURM_NTASKS`, `SLURM_LOCALID`; the first host of `SLURM_JOB_NODELIST` as the rendezvous, as
Lightning's SLURMEnvironment and submitit's TorchDistributedEnvironment read them). Out: `Dist` (rank, world size,
local rank, launcher), and `agree` / `gather`: a failure on any rank ends every rank with that rank's message, and
results computed in shares come back whole to every rank.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    launcher: str = "none"             # none | torchrun | slurm

    @property
    def main(self) -> bool:
        return self.rank == 0


def _slurm_tasks() -> int:
    """Tasks of this SLURM job step when `srun` started this process (0 when it did not: a batch script, salloc)."""
    env = os.environ
    if "SLURM_PROCID" not in env or env.get("SLURM_JOB_NAME") in ("bash", "interactive"):
        return 0
    return int(env.get("SLURM_STEP_NUM_TASKS", env.get("SLURM_NTASKS", 1)))


def launcher() -> Dist:
    """This process's place: torchrun's variables first, then an `srun` step of several tasks, else one process.
    Under SLURM the torch variables are exported from SLURM's (rendezvous on the job's first node; `MASTER_PORT`, when
    not set, derived from the job id as submitit does), so `init_process_group("env://")` finds them."""
    env = os.environ
    if "RANK" in env and "WORLD_SIZE" in env:
        return Dist(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0)),
                    env.get("TGDFER_LAUNCHER", "torchrun"))                  # slurm: exported below, earlier
    tasks = _slurm_tasks()
    if tasks > 1:
        from submitit.slurm.slurm import SlurmJobEnvironment      # its SLURM_JOB_NODELIST parser

        job = SlurmJobEnvironment()
        port = env.get("MASTER_PORT") or str(random.Random(job.job_id).randint(20000, 60000))
        rank, local = int(env["SLURM_PROCID"]), int(env.get("SLURM_LOCALID", 0))
        env.update({"MASTER_ADDR": env.get("MASTER_ADDR") or job.hostnames[0], "MASTER_PORT": port,
                    "RANK": str(rank), "WORLD_SIZE": str(tasks), "LOCAL_RANK": str(local), "TGDFER_LAUNCHER": "slurm"})
        return Dist(rank, tasks, local, "slurm")
    return Dist()


def init_group(d: Dist, device: torch.device) -> torch.device:
    """Start the process group of a run of several processes (nccl on GPUs, gloo on CPUs); the GPU of this process:
    its local rank, or the one GPU it sees when the launcher gave each task its own (`--gpus-per-task 1`)."""
    if d.world == 1:
        return device
    if device.type == "cuda":
        n = torch.cuda.device_count()
        device = torch.device("cuda", d.local_rank if n > 1 else 0)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def current() -> Dist:
    """The group this process belongs to (one process when none was started)."""
    if dist.is_available() and dist.is_initialized():
        return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return Dist()


class RankFailed(RuntimeError):
    """Another rank of the run failed: its message, so that every rank ends saying why."""


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def agree(error: BaseException | None, device: torch.device | None = None) -> None:
    """Every rank calls this at the same point with the error it met (or None); if any rank met one, every rank
    raises: this rank's own error where it has one, else `RankFailed` with the failing ranks' messages. One process:
    its error is raised as it is."""
    d = current()
    if d.world == 1:
        if error is not None:
            raise error
        return
    flag = torch.tensor([0 if error is None else 1], device=device or "cpu")
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    if not int(flag.item()):
        return
    messages = [None] * d.world
    dist.all_gather_object(messages, None if error is None else _describe(error))
    if error is not None:
        raise error
    said = "; ".join(f"rank {r}: {m}" for r, m in enumerate(messages) if m is not None)
    raise RankFailed(f"another process of this run failed, so this one stops too ({said})")


def gather(obj, error: BaseException | None = None) -> list:
    """[every rank's `obj`] on every rank, in rank order; an `error` on any rank ends every rank (as `agree`)."""
    d = current()
    if d.world == 1:
        if error is not None:
            raise error
        return [obj]
    out = [None] * d.world
    dist.all_gather_object(out, (None, obj) if error is None else (_describe(error), None))
    failed = [(r, m) for r, (m, _) in enumerate(out) if m is not None]
    if failed:
        if error is not None:
            raise error
        raise RankFailed("another process of this run failed, so this one stops too ("
                         + "; ".join(f"rank {r}: {m}" for r, m in failed) + ")")
    return [o for _, o in out]


def broadcast(obj):
    """Rank 0's `obj` on every rank."""
    if current().world == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    if current().world > 1:
        dist.barrier()


def finish() -> None:
    """End this process's part in a run of several processes (the command line calls it when a command returns)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
