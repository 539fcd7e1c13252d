"""Commands around runs: collect records, tables, model reports, benchmarks, weights."""
from __future__ import annotations

from ..paths import resolve


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
    from ..engine.pretrain import pretrain_tiny             # late: start-up time

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
    from ..config import load_config                        # late: start-up time
    from ..model.backbone import register_configs, resolve_weights, sha256_of

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
    from ..model import build_on_meta, model_report         # late: start-up time

    for name in a.configs:
        print(f"== {name}")
        print(model_report(build_on_meta(name, variant=a.variant)).round(4).to_string(index=False))
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
    be.set_defaults(func=_cmd_bench)


def _cmd_bench(a) -> int:
    from ..engine.bench import format_table, run            # late: start-up time

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
    from ..report.collect import collect                   # late: start-up time

    files = collect(resolve(a.runs), resolve(a.out))
    for k, v in files.items():
        print(f"{k:10s} {v}")
    return 0


def _parser_tables(sub) -> None:
    tb = sub.add_parser("tables", help="the tables of your runs from collected records (build/results -> build/tables)",
                        description="Write main_results.md (published numbers beside your reproduced ones, UAR and WAR "
                                    "in %, 95%% intervals over folds), ablations.md, per_class.md and, where the data has "
                                    "frame-level ground truth, localisation.md, from the records of `collect`.")
    tb.add_argument("--results", default="build/results", help="records folder (default build/results/)")
    tb.add_argument("--out", default="build/tables", help="tables folder (default build/tables/)")
    tb.set_defaults(func=_cmd_tables)


def _cmd_tables(a) -> int:
    from ..report.tables import write_tables                # late: start-up time

    for k, v in write_tables(resolve(a.results), resolve(a.out)).items():
        print(f"{k:14s} {v}")
    return 0


def _parser_zeroshot(sub) -> None:
    zs = sub.add_parser("zeroshot", help="zero-shot UAR of a config's CLIP towers on a dataset, for class names and "
                                         "descriptions (yours too)",
                        description="Classify one frame a clip (the apex on the generated benchmark, the middle frame "
                                    "elsewhere) by the cosine between its image feature and each class's text feature, "
                                    "with no training: class names, the packaged descriptions and, with "
                                    "--descriptions, a file of your own (UAR and WAR in %).")
    zs.add_argument("--dataset", default="dfew", choices=["dfew", "ferv39k", "mafw", "annotation", "csv"])
    zs.add_argument("--root", required=True, help="dataset folder")
    zs.add_argument("--fold", type=int, default=1)
    zs.add_argument("--split", default="test", choices=["train", "test"])
    zs.add_argument("--config", default="tgdfer-tiny-f3")
    zs.add_argument("--descriptions", default=None, help="a .json or .txt descriptions file (docs/descriptions.md)")
    zs.set_defaults(func=_cmd_zeroshot)


def _cmd_zeroshot(a) -> int:
    from ..engine.zeroshot import PROMPTS, with_file, zero_shot     # late: start-up time

    res = zero_shot(a.root, a.config, (a.fold,), a.split, prompts=with_file(a.descriptions) if a.descriptions else PROMPTS,
                    dataset=a.dataset)
    print(f"{res['clips']} clips, fold {a.fold} {a.split}, {a.config}; chance UAR {100 * res['chance_uar']:.1f}")
    for name in with_file(a.descriptions) if a.descriptions else PROMPTS:
        print(f"  {name:60s} UAR {100 * res[name]['uar']:5.1f}  WAR {100 * res[name]['war']:5.1f}")
    return 0


COMMANDS = (_parser_collect, _parser_tables, _parser_zeroshot, _parser_report, _parser_bench, _parser_fetch_weights, _parser_pretrain_tiny)
