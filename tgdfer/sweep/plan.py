"""The plan of runs, from one source: TG-DFER, the baselines and the ablations of `configs/variants.json`,
on the folds and seeds of the protocol (generated benchmark) or of a real-data sweep (DFEW / FERV39k).

In: a config (its defaults decide which ablation values are not the default), folds and seeds. Out: `PlannedRun`s,
the most expensive first; `commands` turns them into one `python -m tgdfer train` command line a run, which is
what `paper/run_all.sh` executes, so the real-data sweep and the demo's sweep cannot drift apart.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from ..config import load_config, load_variants


ALIASES = {"train.lr": ("train.lr_head", "train.lr_prompt")}           # one grid key setting several fields


def expand(setting: dict) -> dict:
    """Grid setting -> config overrides (an alias key sets every field it names)."""
    out = {}
    for k, v in setting.items():
        out.update({f: v for f in ALIASES.get(k, (k,))})
    return out


@dataclass(frozen=True)
class PlannedRun:
    variant: str
    overrides: dict = field(default_factory=dict, hash=False)
    fold: int = 1
    seed: int = 0
    kind: str = "main"                  # main (TG-DFER), baseline, ablation, curve (training-size curve)


def baselines() -> tuple[str, ...]:
    return tuple(load_variants()["baselines"])


def ablation_overrides(config: str = "tgdfer-tiny") -> list[dict]:
    """One override per non-default value of each ablation axis of configs/variants.json."""
    default = load_config(config).model
    out = []
    for spec in load_variants()["ablations"].values():
        key = spec["key"]
        for value in spec["values"]:
            if getattr(default, key.split(".")[-1]) != value:
                out.append({key: value})
    return out


def plan_runs(config: str, folds, seeds, full: bool, ablation_folds=None, ablation_seeds=None,
              only: str = "all", *, primary=(), primary_baselines=(), primary_seeds=None, curve=(),
              curve_seeds=None) -> list[PlannedRun]:
    """Every run, the most expensive first: TG-DFER, then (full) the ablations, then the baselines.

    `only`: 'all', or a comma-separated choice of 'main' (TG-DFER alone), 'baselines', 'ablations' (TG-DFER, their
    reference, always runs). `primary`: ablation overrides that are primary comparisons: they run on the main folds
    and seeds (as TG-DFER and the baselines), the other ablations on `ablation_folds` x `ablation_seeds`. With
    `full` and `primary_seeds`, TG-DFER, the primary ablations and `primary_baselines` run on those seeds instead.
    `curve` (with `full`): overrides of the training-size curve (each with its `train.train_fraction`), run on `folds`
    x `curve_seeds` (default `seeds`) after everything else.
    """
    kinds = {"main", "baselines", "ablations"} if only == "all" else set(only.split(","))
    if kinds - {"main", "baselines", "ablations"}:
        raise ValueError(f"only: 'all' or a comma-separated choice of main, baselines, ablations (got {only!r})")
    a_folds = folds if ablation_folds is None else ablation_folds
    a_seeds = seeds if ablation_seeds is None else ablation_seeds
    p_seeds = primary_seeds if full and primary_seeds else seeds
    plan = [PlannedRun("tgdfer", {}, f, s, "main") for f in folds for s in p_seeds]
    if full and "ablations" in kinds:
        for ov in ablation_overrides(config):
            f_set, s_set = (folds, p_seeds) if ov in list(primary) else (a_folds, a_seeds)
            plan += [PlannedRun("tgdfer", ov, f, s, "ablation") for f in f_set for s in s_set]
    if "baselines" in kinds:
        plan += [PlannedRun(v, {}, f, s, "baseline") for v in baselines() for f in folds
                 for s in (p_seeds if v in primary_baselines else seeds)]
    if full and "ablations" in kinds:
        plan += [PlannedRun("tgdfer", dict(ov), f, s, "curve") for ov in curve for f in folds
                 for s in (curve_seeds or seeds)]
    return plan


def _value(v) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def train_argv(r: PlannedRun, dataset: str, root: str, config: str, runs_dir: str = "runs",
               extra: dict | None = None) -> list[str]:
    """The `python -m tgdfer train` arguments of one planned run (after `train`), always `--resume`: a restarted
    sweep continues. `extra`: config overrides every run gets (the run's own come last)."""
    argv = ["--dataset", dataset, "--root", root, "--fold", str(r.fold), "--config", config, "--variant", r.variant,
            "--seed", str(r.seed), "--runs-dir", runs_dir, "--resume"]
    for k, v in {**(extra or {}), **r.overrides}.items():
        argv += ["--set", f"{k}={_value(v)}"]
    return argv


def commands(plan: list[PlannedRun], dataset: str, root: str, config: str, runs_dir: str = "runs",
             extra: tuple[str, ...] = ()) -> list[str]:
    """One shell command a run: `python -m tgdfer train ... --resume` (a restarted sweep continues)."""
    return [shlex.join(["python", "-m", "tgdfer", "train", *train_argv(r, dataset, root, config, runs_dir), *extra])
            for r in plan]


def axes(plan: list[PlannedRun]) -> dict[str, set]:
    """{variant or ablation key: the values planned}: what two plans are compared on."""
    out: dict[str, set] = {"variant": {r.variant for r in plan}}
    for r in plan:
        for k, v in r.overrides.items():
            out.setdefault(k, set()).add(_value(v))
    return out
