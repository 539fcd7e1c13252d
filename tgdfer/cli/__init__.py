"""Command line: `python -m tgdfer <command> --help`. The commands a user runs on their own data (generate, prepare,
faces, train, evaluate, predict, sweep, plan, collect, report, bench, fetch-weights, pretrain-tiny), one module a
group; a handler only parses and calls the package. The study's commands (demo, regenerate, tune, power, ...) are
`python -m tgdfer_study`, a separate package of the checkout that this one never imports."""
from __future__ import annotations

import argparse
import sys

from . import data, runs, tools


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tgdfer",
                                description="TG-DFER: text-guided weakly supervised dynamic facial expression recognition")
    sub = p.add_subparsers(dest="command", metavar="command")
    for add in data.COMMANDS + runs.COMMANDS + tools.COMMANDS:
        add(sub)
    return p


def main(argv=None) -> int:
    from ..data.errors import DataError                     # late: start-up time (torch comes with the engine)
    from ..engine.distributed import RankFailed, finish

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
