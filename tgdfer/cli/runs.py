"""Commands that train and use models: train, evaluate, predict, the sweep and its plan."""
from __future__ import annotations

import sys

from ..config import CROP_SCALE, Switches
from ..params import add_arguments, declared
from ..runspec import EvalSpec, RunSpec
from .common import overrides


def _parser_train(sub) -> None:
    t = sub.add_parser("train", help="train one run (a fold, a config, a variant) and evaluate it",
                       description="Train TG-DFER or a variant on one fold and write a run folder (params.json, "
                                   "history.csv, metrics.json, predictions, checkpoints). Under torchrun or srun the "
                                   "run uses every process: --batch-size is per GPU; the config's global batch is kept.")
    add_arguments(t, RunSpec)
    add_arguments(t, Switches)
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="any config field, e.g. loss.w_inst=0")
    t.set_defaults(func=_cmd_train)


def _cmd_train(a) -> int:
    from ..engine.distributed import current  # late: start-up time
    from ..engine.run import run_spec

    spec = RunSpec(**{k: getattr(a, k) for k in declared(RunSpec)}, overrides=overrides(a))
    res = run_spec(spec)
    if current().main:
        print(f"run folder: {res.run_dir}")
    return 0


def _parser_evaluate(sub) -> None:
    e = sub.add_parser("evaluate", help="evaluate a checkpoint on a dataset fold",
                       description="Evaluate a checkpoint: UAR, WAR, per-class recall, confusion matrix, predictions "
                                   "with per-frame relevance (and frame localisation on the generated benchmark).")
    add_arguments(e, EvalSpec)
    e.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(a) -> int:
    from ..engine.distributed import current  # late: start-up time
    from ..engine.evaluate import run_evaluation

    res = run_evaluation(EvalSpec(**{k: getattr(a, k) for k in declared(EvalSpec)}))
    m = res.metrics
    if not current().main:
        return 0
    print(f"UAR {100 * m['uar']:.2f}%  WAR {100 * m['war']:.2f}%  ({m['n']} clips)")
    if "loc_auc" in m:
        print(f"frame localisation AUC {m['loc_auc']:.4f}, top-{m['loc_k']} precision {m['loc_topk_precision']:.3f} "
              f"(chance {m['loc_topk_chance']:.3f})")
    return 0


def _parser_predict(sub) -> None:
    pr = sub.add_parser("predict", help="classify your own video or frame folder and plot frame relevance",
                        description="Classify a video file or a frame folder: print class probabilities and write a "
                                    "PNG of the sampled frames with each frame's relevance under it.")
    pr.add_argument("path", help="video file (mp4, avi, ...) or folder of frames")
    pr.add_argument("--checkpoint", required=True)
    pr.add_argument("--out", help="PNG path (default: <name>_tgdfer.png in the current folder)")
    pr.add_argument("--no-face-crop", action="store_true", help="the input is already a face crop: skip detection")
    pr.add_argument("--crop-scale", dest="crop_scale", type=float, default=CROP_SCALE,
                    help=f"face crop side as a multiple of the detected face box side (default {CROP_SCALE}: "
                         "DFEW's framing, forehead to chin)")
    pr.add_argument("--device", default="auto")
    pr.set_defaults(func=_cmd_predict)


def _cmd_predict(a) -> int:
    import warnings  # late: start-up time

    from ..inference.predict import TrainedOnWarning, predict

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainedOnWarning)            # printed below, plainly, to stderr
        res = predict(a.path, a.checkpoint, out=a.out, device=a.device, faces=not a.no_face_crop,
                      crop_scale=a.crop_scale)
    print(f"model: {res['model']['text']}", flush=True)
    if res["warning"]:
        print(f"WARNING: {res['warning']}", file=sys.stderr, flush=True)
    for name, p in sorted(res["probabilities"].items(), key=lambda kv: -kv[1]):
        print(f"{name:>15s}  {p:.3f}")
    if res["faces_found"] is not None:
        print(f"face track: a face detected in {res['faces_found']}/{len(res['frame_index'])} sampled frames"
              + ("" if res["faces_found"] else " (none: the whole frames were used; is this a face video?)"))
    print(f"relevance figure: {res['figure']}")
    return 0


def _parser_plan(sub) -> None:
    pl = sub.add_parser("plan", help="print the sweep of runs behind the tables, one train command a run",
                        description="The plan of runs (TG-DFER, the baselines and the ablations of configs/variants.json) "
                                    "as `python -m tgdfer train` commands for a dataset on disk: paper/run_all.sh runs "
                                    "them, so the real-data sweep and the demo's sweep come from one source.")
    pl.add_argument("--dataset", required=True, choices=["dfew", "ferv39k", "mafw", "annotation", "csv"])
    pl.add_argument("--root", required=True, help="dataset folder as downloaded")
    pl.add_argument("--config", default="tgdfer-b16")
    pl.add_argument("--folds", default="", help="folds, e.g. '1 2 3 4 5' (default: 1-5 for DFEW/MAFW, 1 otherwise)")
    pl.add_argument("--ablation-folds", dest="ablation_folds", default="", help="folds of the ablations (default: --folds)")
    pl.add_argument("--seeds", default="0", help="seeds, e.g. '0 1 2' (default 0)")
    pl.add_argument("--only", default="all", help="all, or a comma-separated choice of main, baselines, ablations "
                    "(TG-DFER always runs: it is every comparison's reference)")
    pl.add_argument("--runs-dir", dest="runs_dir", default="runs")
    pl.set_defaults(func=_cmd_plan)


def _cmd_plan(a) -> int:
    from ..sweep.plan import commands, plan_runs  # late: start-up time

    def ints(text, default):
        return tuple(int(x) for x in text.replace(",", " ").split()) if text.strip() else default

    folds = ints(a.folds, (1, 2, 3, 4, 5) if a.dataset in ("dfew", "mafw") else (1,))
    plan = plan_runs(a.config, folds, ints(a.seeds, (0,)), full=True,
                     ablation_folds=ints(a.ablation_folds, folds), only=a.only)
    print("\n".join(commands(plan, a.dataset, a.root, a.config, a.runs_dir)))
    return 0


def _parser_sweep(sub) -> None:
    sw = sub.add_parser("sweep", help="train the plan of runs on every GPU of this machine, or as a SLURM job array",
                        description="Train the plan of runs (`plan`: TG-DFER, the baselines, the ablations, on the folds "
                                    "and seeds asked for) over the GPUs of this machine at once (one run a GPU, or "
                                    "--gpus-per-run N through torchrun), or with --cluster slurm as a job array "
                                    "through submitit (requeued from the last checkpoint when preempted). Finished runs "
                                    "are skipped and interrupted ones resume, so a rerun trains only what is missing; "
                                    "a failed run does not stop the others, and the failures are named at the end "
                                    "(exit 1).")
    sw.add_argument("--dataset", required=True, choices=["dfew", "ferv39k", "mafw", "annotation", "csv"])
    sw.add_argument("--root", required=True, help="dataset folder as downloaded")
    sw.add_argument("--config", default="tgdfer-b16")
    sw.add_argument("--folds", default="", help="folds, e.g. '1 2 3 4 5' (default: 1-5 for DFEW/MAFW, 1 otherwise)")
    sw.add_argument("--ablation-folds", dest="ablation_folds", default="", help="folds of the ablations (default: --folds)")
    sw.add_argument("--seeds", default="0", help="seeds, e.g. '0 1 2' (default 0)")
    sw.add_argument("--only", default="all", help="all, or a comma-separated choice of main, baselines, ablations")
    sw.add_argument("--runs-dir", dest="runs_dir", default="runs")
    sw.add_argument("--set", action="append", metavar="KEY=VALUE", help="a config field for every run, e.g. "
                    "train.epochs=30 (it names the runs' folders)")
    sw.add_argument("--gpus", default=None, help="GPU ids to use, e.g. '0,1,2,3' (default: every visible GPU; "
                    "none: the CPU)")
    sw.add_argument("--gpus-per-run", dest="gpus_per_run", type=int, default=1,
                    help="GPUs a run (several: torchrun locally, one task a GPU on SLURM; default 1)")
    sw.add_argument("--parallel", type=int, default=1, help="runs at once on a machine without GPUs (default 1)")
    sw.add_argument("--cluster", choices=["slurm", "local", "debug"], default=None,
                    help="submit through submitit instead: slurm (a job array), or local / debug (its test executors)")
    sw.add_argument("--partition", default=None, help="SLURM partition")
    sw.add_argument("--account", default=None, help="SLURM account")
    sw.add_argument("--qos", default=None, help="SLURM quality of service")
    sw.add_argument("--time-min", dest="time_min", type=int, default=24 * 60, help="a job's time limit in minutes "
                    "(default 1440; a job out of time is requeued and resumes)")
    sw.add_argument("--array-parallelism", dest="array_parallelism", type=int, default=None,
                    help="SLURM: jobs of the array running at once")
    sw.add_argument("--cpus-per-task", dest="cpus_per_task", type=int, default=None, help="SLURM: CPUs a GPU task")
    sw.add_argument("--no-wait", dest="wait", action="store_false",
                    help="with --cluster: submit and return (rerun the command later to see what is missing)")
    sw.add_argument("--log-dir", dest="log_dir", default=None, help="logs (default <runs-dir>/_sweep/<dataset>)")
    sw.add_argument("--dry-run", dest="dry_run", action="store_true", help="list what would train, train nothing")
    sw.set_defaults(func=_cmd_sweep)


def _ints(text: str, default: tuple) -> tuple:
    return tuple(int(x) for x in text.replace(",", " ").split()) if text.strip() else default


def _cmd_sweep(a) -> int:
    from ..config import parse_overrides  # late: start-up time
    from ..paths import resolve
    from ..sweep.launch import SweepReport, run_local, run_submitit, split_done, sweep_runs, visible_gpus
    from ..sweep.plan import plan_runs

    folds = _ints(a.folds, (1, 2, 3, 4, 5) if a.dataset in ("dfew", "mafw") else (1,))
    plan = plan_runs(a.config, folds, _ints(a.seeds, (0,)), full=True, ablation_folds=_ints(a.ablation_folds, folds),
                     only=a.only)
    runs_dir = resolve(a.runs_dir)
    runs = sweep_runs(plan, a.dataset, a.root, a.config, runs_dir, parse_overrides(a.set))
    done, todo = split_done(runs)
    report = SweepReport(done=done)
    print(f"sweep: {len(runs)} planned run(s), {len(done)} already finished, {len(todo)} to train")
    if a.dry_run or not todo:
        for r in todo:
            print(f"  {r.folder}")
        return 0
    logs = resolve(a.log_dir) if a.log_dir else runs_dir / "_sweep" / a.dataset
    if a.cluster:
        slurm = {k: v for k, v in {"partition": a.partition, "account": a.account, "qos": a.qos,
                                   "array_parallelism": a.array_parallelism,
                                   "cpus_per_task": a.cpus_per_task}.items() if v is not None}
        report.outcomes = run_submitit(todo, logs, cluster=a.cluster, gpus_per_run=a.gpus_per_run,
                                       timeout_min=a.time_min, slurm=slurm, wait=a.wait)
        if not a.wait:
            return 0
    else:
        gpus = visible_gpus() if a.gpus is None else [g for g in a.gpus.replace(" ", "").split(",") if g and g != "none"]
        report.outcomes = run_local(todo, logs, gpus=gpus, gpus_per_run=a.gpus_per_run, parallel=a.parallel)
    print(report.summary())
    return 1 if report.failed else 0


COMMANDS = (_parser_train, _parser_evaluate, _parser_predict, _parser_sweep, _parser_plan)
