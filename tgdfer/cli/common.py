"""What the command modules share: the media options and config overrides from the named switches."""
from __future__ import annotations

from ..config import SWITCHES, parse_overrides
from ..runspec import LABEL_BASE, MEDIA

# Each command imports what it runs inside its handler (marked `# late: start-up time`): `python -m tgdfer --help`
# and a command's start-up then load only what that command needs (torch and the model take seconds).


def add_media_args(p) -> None:
    """--media and --label-base, as the run spec declares them."""
    for flag, dest, f in (("--media", "media", MEDIA), ("--label-base", "label_base", LABEL_BASE)):
        m = f.metadata
        p.add_argument(flag, dest=dest, default=f.default, type=type(f.default), choices=m["choices"],
                       help=f"{m['help']} (default {f.default})")


def overrides(a) -> dict:
    """Config overrides of a parsed command line: `--set key=value` items, then the named switches that were given."""
    ov = parse_overrides(getattr(a, "set", None))
    for name, key in SWITCHES.items():
        v = getattr(a, name, None)
        if v not in (None, "", 0, 0.0):
            ov[key] = v
    return ov
