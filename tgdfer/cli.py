"""Command line: `python -m tgdfer <command> --help`. A table of commands: each command's parser is followed by its
handler, and a handler only parses and calls the package."""
from __future__ import annotations

import argparse
import sys

from .config import CROP_SCALE


def _overrides(a) -> dict:
    from .config import SWITCHES, parse_overrides

    ov = parse_overrides(a.set)
    for flag, key in SWITCHES.items():
        v = getattr(a, flag, None)
        if v is not None:
            ov[key] = v
    return ov


def _add_data_args(p, root_required=True) -> None:
    p.add_argument("--dataset", default="dfew", choices=["dfew", "ferv39k", "mafw", "annotation", "csv"],
                   help="dataset layout (default dfew; the generated benchmark is in the DFEW layout)")
    p.add_argument("--root", required=root_required, help="dataset folder (csv: the CSV file)")
    p.add_argument("--fold", type=int, default=1, help="fold (DFEW/MAFW 1-5; FERV39k 1)")
    _add_media_args(p)


def _add_media_args(p) -> None:
    p.add_argument("--media", default="frames", choices=["frames", "frames16", "video"],
                   help="DFEW/MAFW media to use (default: frames)")
    p.add_argument("--label-base", type=int, default=1, choices=[0, 1],
                   help="DFEW CSV label base; the official files are 1-based (default 1)")


# ----------------------------------------------------------------------------- commands: parser, then handler

def _parser_generate(sub) -> None:
    g = sub.add_parser("generate", help="render the generated benchmark in the official DFEW layout",
                       description="Render the generated benchmark (procedural faces, FACS action units, frame-level "
                                   "ground truth) in the official DFEW layout.")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--clips", type=int, default=700, help="number of clips (default 700)")
    g.add_argument("--size", type=int, default=112, help="frame side in pixels, even (default 112)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--balanced", action="store_true", help="equal class frequencies instead of DFEW's")
    g.add_argument("--scene", action="store_true", help="small faces inside a larger moving scene (raw-video style)")
    g.add_argument("--no-videos", action="store_true", help="skip the mp4 originals")
    g.add_argument("--replica", default="", help="folder of DFER-CLIP split lists: render their real clip ids, "
                                                 "lengths, labels and folds (with --clips: a random subset)")
    g.add_argument("--placement", default="centre", choices=["centre", "legacy"],
                   help="where the expression sits: its centre uniform over the clip (default), or format 1's")
    g.add_argument("--min-per-class", dest="min_per_class", type=int, default=0,
                   help="at least this many clips a class (rare classes: enough test clips a fold)")
    g.add_argument("--expressions", default="prototype", choices=["prototype", "distribution"],
                   help="prototype: every clip of a class moves its EMFACS prototype (format 2, default); distribution: "
                        "a variant drawn from tgdfer/assets/expressions.json with missing, weak, extra and one-sided "
                        "units (format 3)")
    g.add_argument("--test-per-class", dest="test_per_class", type=int, default=0,
                   help="render each fold's test split apart: this many clips of every class from people who appear "
                        "in no training split (default 0: DFEW-style folds)")
    g.add_argument("--independent", action="store_true",
                   help="with --test-per-class: each fold trains on its own draw of --clips clips from its own people "
                        "(folds share no training clip), instead of DFEW-style folds of one pool")
    g.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    g.add_argument("--overwrite", action="store_true", help="replace an existing set made with other settings")
    g.set_defaults(func=_cmd_generate)


def _cmd_generate(a) -> int:
    from .synth.generate import GenerateConfig, generate

    cfg = GenerateConfig(clips=a.clips, size=a.size, seed=a.seed, balanced=a.balanced, scene=a.scene,
                         videos=not a.no_videos, replica=a.replica or "", placement=a.placement,
                         min_per_class=a.min_per_class, expressions=a.expressions,
                         test_per_class=a.test_per_class, independent=a.independent)
    out = generate(a.out, cfg, workers=a.workers, overwrite=a.overwrite)
    print(f"benchmark ready at {out}")
    return 0


def _parser_prepare(sub) -> None:
    r = sub.add_parser("prepare", help="validate a dataset and write DFER-CLIP annotation files",
                       description="Validate a dataset in its official layout, count clips per fold and class, compare "
                                   "with the published sizes and write DFER-CLIP-format annotation files.")
    r.add_argument("--dataset", required=True, choices=["dfew", "ferv39k", "mafw", "csv"])
    r.add_argument("--root", required=True, help="dataset folder as downloaded (csv: the CSV file)")
    r.add_argument("--out", required=True, help="folder for annotation files and the report")
    _add_media_args(r)
    r.add_argument("--no-media-check", action="store_true", help="only read the split files")
    r.set_defaults(func=_cmd_prepare)


def _cmd_prepare(a) -> int:
    from .data.prepare import prepare

    rep = prepare(a.dataset, a.root, a.out, media=a.media, label_base=a.label_base, check_media=not a.no_media_check)
    print(rep.to_text())
    return 0 if rep.ok else 1


def _parser_train(sub) -> None:
    t = sub.add_parser("train", help="train one run (a fold, a config, a variant) and evaluate it",
                       description="Train TG-DFER or a variant on one fold and write a run folder "
                                   "(params.json, history.csv, metrics.json, predictions, checkpoints).")
    _add_data_args(t)
    t.add_argument("--config", default="tgdfer-tiny", help="tgdfer-tiny | tgdfer-b32 | tgdfer-b16 | path.json")
    t.add_argument("--variant", default="tgdfer", help="tgdfer | clip-meanpool | dfer-clip-like | mil-only")
    t.add_argument("--text", choices=["none", "classname", "learnable", "descriptions", "learnable+descriptions"])
    t.add_argument("--temporal", choices=["none", "short", "long", "both"])
    t.add_argument("--pool", choices=["mean", "max", "topk", "attention", "relevance"])
    t.add_argument("--visual-prompt", dest="visual_prompt", choices=["true", "false"])
    t.add_argument("--finetune", help="full | last:N | frozen")
    t.add_argument("--pretrained", help="open_clip tag, checkpoint path, or none")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="any config field, e.g. loss.w_inst=0")
    t.add_argument("--epochs", type=int)
    t.add_argument("--max-steps", dest="max_steps", type=int, help="stop after this many optimiser steps")
    t.add_argument("--batch-size", dest="batch_size", type=int,
                   help="clips PER GPU (per process) at once, as open_clip reads it; the config's global batch is kept "
                        "(per-GPU batch x GPUs x accumulation): by default global batch / GPUs")
    t.add_argument("--grad-accum", dest="grad_accum", type=int,
                   help="micro-batches an optimiser step (default: what keeps the global batch)")
    t.add_argument("--global-batch", dest="global_batch", type=int,
                   help="clips an optimiser step over every GPU (default: the config's recipe, e.g. 48 for tgdfer-b16, "
                        "DFER-CLIP's)")
    t.add_argument("--workers", type=int, help="DataLoader workers (per process)")
    t.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"])
    t.add_argument("--val-fraction", dest="val_fraction", type=float, help="validation split carved from train")
    t.add_argument("--select-on", dest="select_on", choices=["val", "test"], help="split that picks the best epoch")
    t.add_argument("--test-views", dest="test_views", type=int, help="temporal views at test time")
    t.add_argument("--test-crops", dest="test_crops", type=int, choices=[1, 2, 3], help="spatial crops at test time")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    t.add_argument("--deterministic", action="store_true", help="deterministic kernels (slower on GPU)")
    t.add_argument("--run-dir", help="run folder (default runs/<dataset>/<config>/fold<k>/<variant+settings>/seed<s>)")
    t.add_argument("--runs-dir", help="parent of run folders (default: the repository's runs/)")
    t.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    t.set_defaults(func=_cmd_train)


def _cmd_train(a) -> int:
    from .engine.distributed import current
    from .engine.run import run_spec
    from .runspec import RunSpec

    spec = RunSpec(a.dataset, a.root, a.fold, a.config, a.variant, _overrides(a), seed=a.seed, device=a.device,
                   run_dir=a.run_dir, runs_dir=a.runs_dir, resume=a.resume, media=a.media, label_base=a.label_base,
                   deterministic=a.deterministic)
    res = run_spec(spec)
    if current().main:
        print(f"run folder: {res.run_dir}")
    return 0


def _parser_evaluate(sub) -> None:
    e = sub.add_parser("evaluate", help="evaluate a checkpoint on a dataset fold",
                       description="Evaluate a checkpoint: UAR, WAR, per-class recall, confusion matrix, predictions "
                                   "with per-frame relevance (and frame localisation on the generated benchmark).")
    e.add_argument("--checkpoint", required=True)
    _add_data_args(e)
    e.add_argument("--split", default="test", choices=["train", "test"])
    e.add_argument("--views", type=int, default=1, help="temporal views")
    e.add_argument("--crops", type=int, default=1, choices=[1, 2, 3], help="spatial crops")
    e.add_argument("--out", help="output folder (default: beside the checkpoint)")
    e.add_argument("--device", default="auto")
    e.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(a) -> int:
    from .engine.distributed import current
    from .engine.evaluate import evaluate

    res = evaluate(a.checkpoint, a.dataset, a.root, a.fold, a.split, a.out, a.views, crops=a.crops, device=a.device,
                   media=a.media, label_base=a.label_base)
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
    import warnings

    from .experiments.prediction import TrainedOnWarning, predict

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


def _parser_pretrain_tiny(sub) -> None:
    pt = sub.add_parser("pretrain-tiny", help="image-text pretraining of the tiny CLIP on generated frames",
                        description="Pretrain TGDFER-Tiny contrastively on generated frames captioned with action-unit "
                                    "names (no emotion words). The packaged weights were made with this command.")
    pt.add_argument("--out", required=True)
    pt.add_argument("--frames", type=int, default=24000)
    pt.add_argument("--epochs", type=int, default=12)
    pt.add_argument("--seed", type=int, default=0)
    pt.add_argument("--batch", type=int, default=256, help="image-text pairs a step (default 256)")
    pt.add_argument("--init-image", dest="init_image", default=None,
                    help="a weight file whose image tower starts the run (its text tower is not read)")
    pt.add_argument("--captions", default="exact", choices=["exact", "noisy"],
                    help="exact: every unit named by its one phrase (weights 'synthface'); noisy: units omitted, "
                         "paraphrased and sometimes mis-named (weights 'synthface2')")
    pt.set_defaults(func=_cmd_pretrain_tiny)


def _cmd_pretrain_tiny(a) -> int:
    from .engine.pretrain import pretrain_tiny

    path = pretrain_tiny(a.out, frames=a.frames, epochs=a.epochs, seed=a.seed, captions=a.captions, batch=a.batch,
                         init_image=a.init_image)
    print(f"weights: {path}")
    return 0


def _parser_fetch_weights(sub) -> None:
    fw = sub.add_parser("fetch-weights", help="download a config's CLIP weights once into open_clip's cache",
                        description="Download the image-text weights a config names (an open_clip pretrained tag) into "
                                    "open_clip's cache, on a machine with network (e.g. a cluster's login node); runs "
                                    "on machines without network then find them there. Prints the file and its SHA256.")
    fw.add_argument("--config", default="tgdfer-b16", help="a config whose clip_model and pretrained to fetch")
    fw.add_argument("--model", help="instead of --config: an open_clip model name, e.g. ViT-B-32")
    fw.add_argument("--pretrained", help="with --model: its pretrained tag, e.g. openai")
    fw.add_argument("--cache-dir", dest="cache_dir", help="cache folder (default: open_clip's, under HF_HOME)")
    fw.set_defaults(func=_cmd_fetch_weights)


def _cmd_fetch_weights(a) -> int:
    from .config import load_config
    from .model.backbone import register_configs, resolve_weights, sha256_of

    register_configs()
    if a.model:
        model, tag = a.model, a.pretrained or "openai"
    else:
        m = load_config(a.config).model
        model, tag = m.clip_model, m.pretrained
    path = resolve_weights(model, tag, a.cache_dir, download=True)
    if path is None:
        print(f"{model} '{tag}': nothing to fetch (random initialisation)")
        return 0
    print(f"{model} '{tag}': {path}\nSHA256 {sha256_of(path)}")
    return 0


def _parser_report(sub) -> None:
    mr = sub.add_parser("report", help="parameters and GFLOPs per component of model configs",
                        description="Trainable/frozen parameters and forward GFLOPs per component (built on the meta "
                                    "device: no weights, no compute).")
    mr.add_argument("configs", nargs="*", default=["tgdfer-tiny", "tgdfer-b32", "tgdfer-b16"])
    mr.add_argument("--variant", default="tgdfer")
    mr.set_defaults(func=_cmd_report)


def _cmd_report(a) -> int:
    from .model import build_on_meta, model_report

    for name in a.configs:
        print(f"== {name}")
        print(model_report(build_on_meta(name, variant=a.variant)).round(4).to_string(index=False))
    return 0


def _parser_faces(sub) -> None:
    fa = sub.add_parser("faces", help="detect, track, align and crop faces of raw videos (DFEW naming)",
                        description="Face-crop raw videos or frame folders: detect the face in every frame (OpenCV Haar "
                                    "cascades, offline), keep one smoothed track, align by the eyes when found, crop a "
                                    "square --crop-scale times the face box, resize, and write clip_224x224/<id>/<id>_<frame>.jpg plus clips.csv for "
                                    "`prepare --dataset csv`. Clips without a face are listed, never dropped silently.")
    fa.add_argument("input", help="a video file, a frame folder, or a CSV (path,label[,split,group]) of them")
    fa.add_argument("--out", required=True)
    fa.add_argument("--size", type=int, default=224, help="crop side (default 224)")
    fa.add_argument("--crop-scale", dest="crop_scale", type=float, default=None,
                    help=f"crop side as a multiple of the detected face box side (default {CROP_SCALE}: DFEW's framing, "
                         "forehead to chin)")
    fa.add_argument("--margin", type=float, default=None,
                    help="deprecated: margin per side; use --crop-scale (= 1 + 2 x margin; the old default 0.2 is 1.4)")
    fa.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    fa.add_argument("--detect-every", dest="detect_every", type=int, default=1,
                    help="run the detector every N frames (the track bridges the rest)")
    fa.add_argument("--label", default="", help="class of a single video or folder, written to clips.csv")
    fa.set_defaults(func=_cmd_faces)


def _cmd_faces(a) -> int:
    from .data.faces import crop_scale_from_flags, extract_faces, faces_summary

    crop_scale, note = crop_scale_from_flags(a.crop_scale, a.margin)
    if note:
        print(note, file=sys.stderr)
    reports = extract_faces(a.input, a.out, size=a.size, crop_scale=crop_scale, workers=a.workers,
                            detect_every=a.detect_every, label=a.label)
    print(faces_summary(reports, a.out))
    return 0


def _parser_bench(sub) -> None:
    be = sub.add_parser("bench", help="throughput, FLOP/s against the matmul peak, data pipeline, memory",
                        description="Benchmark training and inference of the configs, the backbone's share of the step, "
                                    "achieved FLOP/s against this machine's measured matmul peak, the data pipeline, peak "
                                    "memory and a feature-cache epoch over a DFEW-sized set. Rates and ratios from one run.")
    be.add_argument("--configs", nargs="*", default=["tgdfer-tiny", "tgdfer-b32", "tgdfer-b16"],
                    help="model configs to time (none: `--configs` alone, e.g. for the data pipeline only)")
    be.add_argument("--device", default="auto")
    be.add_argument("--precision", nargs="+", choices=["fp32", "bf16", "fp16"], help="default: fp32 bf16 on CPU")
    be.add_argument("--iters", type=int, default=3, help="timed iterations per measurement (median)")
    be.add_argument("--batch", type=int, default=None,
                    help="clips a step for every config (default: 16/8/4 for tiny/b32/b16 on a CPU, the configs' own "
                         "batch on a GPU)")
    be.add_argument("--no-data", action="store_true", help="skip the data-pipeline benchmark")
    be.add_argument("--no-cache-epoch", action="store_true", help="skip the feature-cache epoch")
    be.add_argument("--out", help="JSON file for the results")
    be.add_argument("--label", default="", help="a note stored with the results (e.g. 'before', 'after')")
    be.add_argument("--protocol", action="store_true",
                    help="instead: profile a demo training step and measure runs per hour of the demo protocol "
                         "through every path (one run, fused optimizer, stacked runs, bf16, compile)")
    be.add_argument("--compile", action="store_true", help="with --protocol: also time torch.compile")
    be.set_defaults(func=_cmd_bench)


def _cmd_bench(a) -> int:
    if a.protocol:
        from .experiments.bench_protocol import format_protocol, run_protocol

        print(format_protocol(run_protocol(out=a.out, compile_=a.compile)))
        return 0
    from .experiments.bench import format_table, run

    res = run(configs=tuple(a.configs), device=a.device, precisions=a.precision, iters=a.iters, data=not a.no_data,
              cache_epoch=not a.no_cache_epoch, out=a.out, label=a.label, batch=a.batch)
    print(format_table(res))
    if a.out:
        print(f"\nJSON: {a.out}")
    return 0


def _parser_collect(sub) -> None:
    co = sub.add_parser("collect", help="turn run folders into long-form records (default under build/results/)",
                        description="Collect every finished run folder into records.csv (one metric a line), "
                                    "confusion.csv, history.csv and examples.npz in --out (default build/results/; the "
                                    "committed results/ is written only by make regenerate).")
    co.add_argument("--runs", default="runs", help="folder of run folders (default runs/)")
    co.add_argument("--out", default="build/results", help="records folder (default build/results/)")
    co.set_defaults(func=_cmd_collect)


def _cmd_collect(a) -> int:
    from .report.collect import collect
    from .paths import resolve

    files = collect(resolve(a.runs), resolve(a.out))
    for k, v in files.items():
        print(f"{k:10s} {v}")
    return 0


def _parser_paper(sub) -> None:
    pp = sub.add_parser("paper", help="tables and figures from collected records (default build/results -> build/paper)",
                        description="Write tables/*.md and figures/*.png from the records of `collect` (records only). "
                                    "Defaults read and write under build/, never the committed results/, paper/ or "
                                    "README (make regenerate writes those).")
    pp.add_argument("--results", default="build/results")
    pp.add_argument("--out", default="build/paper")
    pp.add_argument("--readme", action="store_true", help="also rewrite README.md's generated block (make regenerate)")
    pp.set_defaults(func=_cmd_paper)


def _cmd_paper(a) -> int:
    from .report.paper import build_paper
    from .paths import resolve

    files = build_paper(resolve(a.results), resolve(a.out), resolve("README.md") if a.readme else None)
    for k, v in files.items():
        print(f"{k:24s} {v}")
    return 0


def _parser_zeroshot(sub) -> None:
    from .experiments.protocol import PROTOCOL

    zs = sub.add_parser("zeroshot", help="zero-shot UAR of a backbone's text and image towers on apex frames",
                        description="Classify apex frames of the generated benchmark by the cosine between image and "
                                    "text features, with no training: class names, plain-English descriptions, and "
                                    "action-unit captions. Writes results/zeroshot.json.")
    zs.add_argument("--root", default="", help="a generated benchmark (default: the demo's, generated if missing)")
    zs.add_argument("--config", default=PROTOCOL.config)
    zs.add_argument("--out", default="results/zeroshot.json")
    zs.set_defaults(func=_cmd_zeroshot)


def _cmd_zeroshot(a) -> int:
    import json

    from .experiments.zeroshot import run_zeroshot

    print(json.dumps(run_zeroshot(a.root, a.config, a.out), indent=1))
    return 0


def _parser_power(sub) -> None:
    from .experiments.protocol import PROTOCOL

    pw = sub.add_parser("power", help="power study on a development draw: how many folds, seeds and test clips",
                        description="Train TG-DFER and its primary comparisons on the same folds and seeds of a "
                                    "generated benchmark's development draw, then predict the 95%% interval half-width "
                                    "and minimum detectable effect of each design (writes power.json, power_pairs.csv "
                                    "and power.md into --out). Never run it on the evaluation draw.")
    pw.add_argument("--root", help="a generated benchmark (the development draw)")
    pw.add_argument("--draw", default=None, help="instead of --root: a draw of configs/protocol.json (rendered on "
                    "first use), e.g. development-2; sealed draws are refused")
    pw.add_argument("--from-pairs", dest="from_pairs", nargs="+", default=None,
                    help="instead of training: recompute the components and the design grid from a power study's "
                         "pairs CSV (e.g. results/development/power_pairs_format3.csv), keeping the rest of its JSON "
                         "(the CSV's name with power_pairs -> power, .csv -> .json); several CSVs (studies of "
                         "different development draws): their folds pooled")
    pw.add_argument("--grid-folds", dest="grid_folds", type=int, nargs="+", default=None,
                    help="fold counts of the design grid with --from-pairs (default 3 5 8 10)")
    pw.add_argument("--config", default=PROTOCOL.config)
    pw.add_argument("--folds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    pw.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    pw.add_argument("--runs-dir", dest="runs_dir", default="runs/power")
    pw.add_argument("--out", default="results/development")
    pw.add_argument("--workers", type=int, default=None)
    pw.set_defaults(func=_cmd_power)


def _cmd_power(a) -> int:
    from .experiments.power_study import resummarise, run_power_study
    from .paths import resolve

    if a.from_pairs:
        resummarise([resolve(p) for p in a.from_pairs], resolve(a.out), a.grid_folds)
        print((resolve(a.out) / "power.md").read_text())
        return 0
    if bool(a.root) == bool(a.draw):
        raise SystemExit("error: power needs one of --root (a development draw to train on) or --draw NAME, or "
                         "--from-pairs CSV")
    if a.draw:
        from .experiments.protocol import PROTOCOL

        if PROTOCOL.draw(a.draw).sealed:
            raise SystemExit(f"error: the {a.draw} draw is sealed: power studies run on development draws only "
                             f"(unsealed: {', '.join(k for k, d in PROTOCOL.draws.items() if not d.sealed)})")
        root = PROTOCOL.benchmark(a.draw, workers=a.workers)[1]
    else:
        root = resolve(a.root)
    run_power_study("dfew", root, a.config, resolve(a.runs_dir), a.folds, a.seeds, resolve(a.out),
                    workers=a.workers, draw=a.draw or "")
    print((resolve(a.out) / "power.md").read_text())
    return 0


def _parser_tune(sub) -> None:
    tu = sub.add_parser("tune", help="choose the demo config's settings on validation splits",
                        description="Train TG-DFER on training folds of the generated benchmark for a small grid of "
                                    "epochs and tau_r (or, with --design, the visual prompt's residual; with --training, "
                                    "the learning rate and mil_lambda), score a validation split carved from each (the "
                                    "test folds are never read), and write results/tuning*.csv and results/tuning*.md.")
    tu.add_argument("--folds", type=int, default=2, help="training folds to tune on (default 2: folds 1, 2)")
    tu.add_argument("--seeds", type=int, default=None,
                    help="seeds a setting (default 2; with --equal 1, the design of results/tuning_equal.md)")
    tu.add_argument("--design", action="store_true",
                    help="instead: decide the visual prompt's residual (plain | centred) with the tuned config")
    tu.add_argument("--training", action="store_true",
                    help="instead: choose the learning rate (head and prompt) and mil_lambda with the tuned config")
    tu.add_argument("--equal", action="store_true",
                    help="equal tuning: every variant of the full regeneration under one grid (learning rate x epochs) "
                         "on the protocol's development draw; one shared setting for all (results/tuning_equal.md)")
    tu.set_defaults(func=_cmd_tune)


def _cmd_tune(a) -> int:
    from .experiments.tune import tune

    if a.design + a.training + a.equal > 1:
        raise SystemExit("tune: choose one of --design, --training and --equal")
    if a.equal:
        from .experiments.tune_equal import tune_equal

        seeds = tuple(range(1 if a.seeds is None else a.seeds))
        print(tune_equal(folds=tuple(range(1, a.folds + 1)), seeds=seeds).round(4).to_string(index=False))
        print("written: results/tuning_equal.csv, results/tuning_equal.md")
        return 0
    s, name = tune("design" if a.design else "training" if a.training else "epochs", a.folds,
                   2 if a.seeds is None else a.seeds)
    print(s.round(4).to_string(index=False))
    print(f"written: results/{name}.csv, results/{name}.md")
    return 0


def _count(lo: int, hi: int | None, example: str = ""):
    """argparse type: a whole number in [lo, hi] (a count, e.g. of folds or seeds), refused at once otherwise."""
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if n < lo or (hi is not None and n > hi):
            bound = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"{n} is a count here and must be {bound}" + (f" ({example})" if example else ""))
        return n
    return parse


def _parser_demo(sub) -> None:
    dm = sub.add_parser("demo", help="the whole embedded pipeline on the generated benchmark (CPU)",
                        description="Generate the benchmark, train and evaluate TG-DFER and the three baselines (tiny "
                                    "config, the protocol's folds x seeds: configs/protocol.json), collect, write tables "
                                    "and figures into build/demo/ (the "
                                    "committed artefacts are not touched); with --full also the ablations: the full "
                                    "regeneration of the committed records, tables, figures and README blocks.")
    from .experiments.protocol import PROTOCOL

    dm.add_argument("--clips", type=int, default=PROTOCOL.clips, help=f"clips (default {PROTOCOL.clips})")
    dm.add_argument("--size", type=int, default=PROTOCOL.size, help=f"frame side (default {PROTOCOL.size})")
    dm.add_argument("--folds", type=_count(1, len(PROTOCOL.folds), "--folds 3 runs folds 1, 2 and 3"), default=None,
                    help=f"how many folds, a count: folds 1..N (default {len(PROTOCOL.demo_folds)}; with --full "
                         f"{len(PROTOCOL.folds)}, the protocol's)")
    dm.add_argument("--seeds", type=_count(1, None, "--seeds 2 runs seeds 0 and 1"), default=None,
                    help=f"how many seeds a (variant, fold), a count: seeds 0..N-1 (default {len(PROTOCOL.demo_seeds)}; "
                         f"with --full {len(PROTOCOL.seeds)}, the protocol's)")
    dm.add_argument("--full", action="store_true",
                    help="also every ablation: the full regeneration, which rewrites the committed results/, paper/ and "
                         "the README's generated blocks (make regenerate)")
    dm.add_argument("--out", default=None,
                    help="folder for results/, tables/, figures/ and summary.md (default: build/demo/; with --full: "
                         "the repository's committed artefacts)")
    dm.add_argument("--draw", default="development", help="benchmark draw of configs/protocol.json (default: "
                    "development; the evaluation draw is sealed until the analysis plan is committed)")
    dm.set_defaults(func=_cmd_demo)


def _cmd_demo(a) -> int:
    from .experiments.demo import run_demo
    from .experiments.pool import RunsFailed

    try:
        res = run_demo(clips=a.clips, size=a.size, folds=tuple(range(1, a.folds + 1)) if a.folds else None,
                       seeds=tuple(range(a.seeds)) if a.seeds else None,
                       full=a.full, out=a.out, draw=a.draw)
    except RunsFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{'full regeneration' if a.full else 'demo'} finished in {res['seconds'] / 60:.1f} min: tables in {res['paper'] / 'tables'}, "
          f"figures in {res['paper'] / 'figures'}, records in {res['results']}, runs in {res['runs']}"
          + (f"; summary {res['summary']}" if res["summary"] else ""))
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
    from .sweep.plan import commands, plan_runs

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
    from .config import parse_overrides
    from .paths import resolve
    from .sweep.launch import (SweepReport, run_local, run_submitit, split_done, sweep_runs, visible_gpus)
    from .sweep.plan import plan_runs

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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tgdfer",
                                description="TG-DFER: text-guided weakly supervised dynamic facial expression recognition")
    sub = p.add_subparsers(dest="command", metavar="command")
    for add in (_parser_generate, _parser_prepare, _parser_train, _parser_evaluate, _parser_predict,
                _parser_pretrain_tiny, _parser_fetch_weights, _parser_report, _parser_faces, _parser_bench, _parser_collect, _parser_paper,
                _parser_zeroshot, _parser_power, _parser_tune, _parser_demo, _parser_plan, _parser_sweep):
        add(sub)
    return p


def main(argv=None) -> int:
    from .data.errors import DataError
    from .engine.distributed import RankFailed, finish

    parser = build_parser()
    a = parser.parse_args(argv)
    if not getattr(a, "command", None):
        parser.print_help()
        return 0
    try:
        code = int(a.func(a) or 0)
    except (DataError, FileExistsError, FileNotFoundError, ValueError, KeyError, RankFailed) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finish()                                            # a run of several processes: leave the group together
    return code


if __name__ == "__main__":
    sys.exit(main())
