"""The study's command line: `python -m tgdfer_study <command> --help`. What `make demo`, `make regenerate` and
`make tune` run, and the studies behind the protocol's design (power, zero-shot, the protocol's throughput)."""
from __future__ import annotations

import argparse
import json
import sys

from tgdfer.paths import resolve
from tgdfer.io import atomic_write_json

from .protocol import PROTOCOL, SealedDrawError
from .run_pool import RunsFailed


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
    dm = sub.add_parser("demo", help="make demo: TG-DFER and the baselines on the development draw (CPU)",
                        description="Render the development draw of the generated benchmark (its demo folds), train and "
                                    "evaluate TG-DFER and the three baselines (the protocol's demo folds x seeds), "
                                    "collect, and write tables, figures and summary.md into build/demo/. The committed "
                                    "artefacts are never touched (make regenerate writes those).")
    dm.add_argument("--folds", type=_count(1, len(PROTOCOL.folds), "--folds 3 runs folds 1, 2 and 3"), default=None,
                    help=f"how many folds, a count: folds 1..N (default {len(PROTOCOL.demo_folds)})")
    dm.add_argument("--seeds", type=_count(1, None, "--seeds 2 runs seeds 0 and 1"), default=None,
                    help=f"how many seeds a (variant, fold): seeds 0..N-1 (default {len(PROTOCOL.demo_seeds)})")
    dm.add_argument("--out", default=None, help="folder for results/, tables/, figures/ and summary.md (default "
                                                "build/demo/)")
    dm.set_defaults(func=_cmd_demo)


def _cmd_demo(a) -> int:
    from .demo import run_demo                              # late: start-up time (torch)

    res = run_demo(folds=tuple(range(1, a.folds + 1)) if a.folds else None,
                   seeds=tuple(range(a.seeds)) if a.seeds else None, out=a.out)
    print(f"demo finished in {res['seconds'] / 60:.1f} min: tables in {res['paper'] / 'tables'}, figures in "
          f"{res['paper'] / 'figures'}, records in {res['results']}, runs in {res['runs']}; summary {res['summary']}")
    return 0


SEALED = tuple(k for k, d in PROTOCOL.draws.items() if d.sealed)


def _parser_regenerate(sub) -> None:
    rg = sub.add_parser("regenerate", help="make regenerate: every sealed draw's runs, the committed records and tables",
                        description="Regenerate the committed records, tables and figures (results/, paper/, and the "
                                    "README's main results block) from nothing: every sealed draw of the protocol in "
                                    f"turn ({', '.join(SEALED)}), each refused until its analysis plan is committed. "
                                    "Finished runs under runs/ are reused.")
    rg.add_argument("--draw", nargs="+", choices=SEALED, default=list(SEALED), help="the sealed draws to regenerate "
                    "(default: all, in the protocol's order)")
    rg.add_argument("--out", default=None, help="write elsewhere instead of the committed artefacts")
    rg.set_defaults(func=_cmd_regenerate)


def _cmd_regenerate(a) -> int:
    from .demo import regenerate, tables_of_every_draw      # late: start-up time (torch)

    for draw in a.draw:
        res = regenerate(draw, out=a.out)
        print(f"{draw}: {res['seconds'] / 60:.1f} min; records in {res['results']}, tables in {res['paper'] / 'tables'}")
    files = tables_of_every_draw(a.out)
    if files:
        print(f"every draw's tables together: {len(files)} files")
    return 0


def _parser_paper(sub) -> None:
    pp = sub.add_parser("paper", help="the paper's tables and figures from the committed records",
                        description="Regenerate paper/tables/*.md and paper/figures/*.png from results/ (records only; "
                                    "what make regenerate ends with); --readme also rewrites the README's main results "
                                    "block.")
    pp.add_argument("--results", default="results")
    pp.add_argument("--out", default="paper")
    pp.add_argument("--readme", action="store_true", help="also rewrite README.md's generated block")
    pp.set_defaults(func=_cmd_paper)


def _cmd_paper(a) -> int:
    from .report.paper import build_paper                   # late: start-up time (matplotlib)

    files = build_paper(resolve(a.results), resolve(a.out), resolve("README.md") if a.readme else None)
    for k, v in files.items():
        print(f"{k:24s} {v}")
    return 0


def _parser_zeroshot(sub) -> None:
    zs = sub.add_parser("zeroshot", help="the tiny backbone's zero-shot UAR on apex frames (results/zeroshot.json)",
                        description="Classify apex frames of the generated benchmark by the cosine between image and "
                                    "text features, with no training: class names, plain-English descriptions, and "
                                    "action-unit captions. Writes results/zeroshot.json.")
    zs.add_argument("--root", default="", help="a generated benchmark (default: the development draw)")
    zs.add_argument("--config", default=PROTOCOL.config)
    zs.add_argument("--out", default="results/zeroshot.json")
    zs.set_defaults(func=_cmd_zeroshot)


def _cmd_zeroshot(a) -> int:
    from .zeroshot import run_zeroshot                      # late: start-up time (torch)

    print(json.dumps(run_zeroshot(a.root, a.config, a.out), indent=1))
    return 0


def _parser_agreement(sub) -> None:
    ag = sub.add_parser("agreement", help="the dose of meaning: each description set's agreement with what the "
                                          "generator renders",
                        description="For each description set of the dose-of-meaning study (three levels, TG-DFER's "
                                    "own, the demo config's captions, the derangements): the share of the action "
                                    "units its sentences name that the generator renders for the class, a class and "
                                    "averaged over the classes that move (tgdfer_study/meaning.py).")
    ag.add_argument("--derangements", type=int, default=4)
    ag.add_argument("--also", nargs="+", default=[], metavar="SPEC",
                    help="other description sets too: facs-permuted (the earlier draws' control), au-deranged:K, or a "
                         ".json file whose sentences carry their units ({'text': ..., 'units': [...]})")
    ag.add_argument("--out", default="", help="also write the table as JSON here")
    ag.set_defaults(func=_cmd_agreement)


def _cmd_agreement(a) -> int:
    from .meaning import agreement_table                    # late: start-up time (the package imports torch)

    rows = agreement_table(a.derangements, also=a.also)
    classes = list(rows[0]["per class"])
    print("| descriptions | spec | agreement | " + " | ".join(classes) + " |")
    print("|---|---|---|" + "---|" * len(classes))
    for r in rows:
        print(f"| {r['descriptions']} | `{r['spec']}` | {r['agreement']:.3f} | " +
              " | ".join(f"{r['per class'].get(c, float('nan')):.2f}" for c in classes) + " |")
    if a.out:
        atomic_write_json(resolve(a.out), rows)
    return 0


def _parser_power(sub) -> None:
    pw = sub.add_parser("power", help="power study on a development draw: how many folds, seeds and test clips",
                        description="Train TG-DFER and its primary comparisons on the same folds and seeds of a "
                                    "generated benchmark's development draw, then predict the 95%% interval half-width "
                                    "and minimum detectable effect of each design (writes power.json, power_pairs.csv "
                                    "and power.md into --out). Never run it on the evaluation draw.")
    pw.add_argument("--root", help="a generated benchmark (the development draw)")
    pw.add_argument("--draw", default=None, help="instead of --root: a draw of tgdfer_study/protocol.json (rendered on "
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
    pw.add_argument("--comparisons", default="primary", choices=["primary", "meaning", "rule"],
                    help="primary: the analysis plan's comparisons; meaning: the dose of meaning (dose levels, "
                         "derangements, no text); rule: mil_lambda 0.5, the clip-label-only tuning rule's pick")
    pw.set_defaults(func=_cmd_power)


def _cmd_power(a) -> int:
    from .power_study import STUDIES, resummarise, run_power_study   # late: start-up time (torch)

    if a.from_pairs:
        resummarise([resolve(p) for p in a.from_pairs], resolve(a.out), a.grid_folds)
        print((resolve(a.out) / "power.md").read_text())
        return 0
    if bool(a.root) == bool(a.draw):
        raise SystemExit("error: power needs one of --root (a development draw to train on) or --draw NAME, or "
                         "--from-pairs CSV")
    if a.draw:
        if PROTOCOL.draw(a.draw).sealed:
            raise SystemExit(f"error: the {a.draw} draw is sealed: power studies run on development draws only "
                             f"(unsealed: {', '.join(k for k, d in PROTOCOL.draws.items() if not d.sealed)})")
        root = PROTOCOL.benchmark(a.draw, workers=a.workers)[1]
    else:
        root = resolve(a.root)
    run_power_study("dfew", root, a.config, resolve(a.runs_dir), a.folds, a.seeds, resolve(a.out),
                    workers=a.workers, draw=a.draw or "", comparisons=STUDIES[a.comparisons])
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
    from .tune import tune                                  # late: start-up time (torch)
    from .tune_equal import tune_equal

    if a.design + a.training + a.equal > 1:
        raise SystemExit("tune: choose one of --design, --training and --equal")
    if a.equal:
        seeds = tuple(range(1 if a.seeds is None else a.seeds))
        print(tune_equal(folds=tuple(range(1, a.folds + 1)), seeds=seeds).round(4).to_string(index=False))
        print("written: results/tuning_equal.csv, results/tuning_equal.md")
        return 0
    s, name = tune("design" if a.design else "training" if a.training else "epochs", a.folds,
                   2 if a.seeds is None else a.seeds)
    print(s.round(4).to_string(index=False))
    print(f"written: results/{name}.csv, results/{name}.md")
    return 0


def _parser_bench_protocol(sub) -> None:
    bp = sub.add_parser("bench-protocol", help="profile a demo training step and the protocol's runs per hour",
                        description="Profile a demo training step and measure runs per hour of the demo protocol "
                                    "through every path (one run, fused optimizer, stacked runs, bf16, compile).")
    bp.add_argument("--out", help="JSON file for the results")
    bp.add_argument("--compile", action="store_true", help="also time torch.compile")
    bp.set_defaults(func=_cmd_bench_protocol)


def _cmd_bench_protocol(a) -> int:
    from .bench_protocol import format_protocol, run_protocol   # late: start-up time (torch)

    print(format_protocol(run_protocol(out=a.out, compile_=a.compile)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tgdfer_study",
                                description="The study of the generated benchmark: demo, regeneration, tuning, power")
    sub = p.add_subparsers(dest="command", metavar="command")
    for add in (_parser_demo, _parser_regenerate, _parser_paper, _parser_tune, _parser_power, _parser_zeroshot,
                _parser_bench_protocol, _parser_agreement):
        add(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    if not getattr(a, "command", None):
        parser.print_help()
        return 0
    try:
        return int(a.func(a) or 0)
    except RunsFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (SealedDrawError, FileExistsError, FileNotFoundError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
