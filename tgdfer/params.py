"""Parameters declared once: a dataclass field carries its default, its help and its allowed values; the command
line's parsers are built from the fields (`add_arguments`), and the notebooks' parameter cells are checked against
them (`tgdfer.notebook`), so no default is written twice.

In: `param(default, help, choices=..., required=...)` in a dataclass. Out: argparse arguments `--name` (underscores
become dashes; a bool that defaults to False becomes a flag), and `declared(cls)`: {name: (type, default, help)}.
"""
from __future__ import annotations

import argparse
from dataclasses import MISSING, field, fields


def param(default, help: str, *, choices=None, required: bool = False, cli: bool = True, type=None):  # noqa: A002
    """A dataclass field with its command-line declaration (`cli=False`: not an argument; `type`: the argument's type
    where the default's own type does not tell it, e.g. None)."""
    meta = {"help": help, "choices": tuple(choices) if choices else None, "required": required, "cli": cli,
            "type": type}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type_copy(default), metadata=meta)
    return field(default=default, metadata=meta)


def type_copy(value):
    return dict(value) if isinstance(value, dict) else list(value)


def default_of(f):
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else None


def declared(cls, names=None) -> dict:
    """{name: {'type': python type, 'default': ..., 'help': ..., 'choices': ...}} of `cls`'s command-line fields."""
    out = {}
    for f in fields(cls):
        m = f.metadata
        if not m.get("cli", False) or (names is not None and f.name not in names):
            continue
        d = default_of(f)
        out[f.name] = {"type": m.get("type") or (type(d) if d is not None else str), "default": d,
                       "help": m["help"], "choices": m.get("choices")}
    return out


def add_arguments(parser: argparse.ArgumentParser, cls, names=None, skip=()) -> None:
    """`--name` arguments for `cls`'s command-line fields (in declaration order); `names`: only these."""
    for f in fields(cls):
        m = f.metadata
        if not m.get("cli", False) or f.name in skip or (names is not None and f.name not in names):
            continue
        d = default_of(f)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(d, bool) and d is False:
            parser.add_argument(flag, dest=f.name, action="store_true", help=m["help"])
            continue
        kind = m.get("type") or (type(d) if d is not None else str)
        extra = {"required": True} if m.get("required") else {"default": d}
        help_ = m["help"] + ("" if m.get("required") or d in (None, "") else f" (default {d})")
        parser.add_argument(flag, dest=f.name, type=kind, choices=m.get("choices"), help=help_, **extra)
