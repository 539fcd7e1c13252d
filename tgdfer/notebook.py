"""Notebook helpers: the parameters of the user notebooks (01-04), checked against the package's declarations.

`check("03_train", globals())` is the first call after a notebook's `parameters` cell. Papermill only warns about an
unknown `-p` name, so a typo such as `-p flod 2` would run fold 1 silently: `check` refuses any name the notebook does
not take and any value of the wrong type. The names and types come from the package, not from the notebook file: the
run parameters from `runspec.RunSpec`, the switches from `config.Switches`, the few notebook-only ones from `EXTRAS`
below (tests/test_notebooks.py checks every parameters cell against them, defaults included).
"""
from __future__ import annotations

import types

from .config import SWITCHES, Switches
from .params import declared
from .paths import resolve
from .runspec import RunSpec
from .synth.source import resolve_dataset

# Parameters that only notebooks take: {name: (type, help)}.
EXTRAS = {"clips": (int, "synth only: clips to render"), "size": (int, "synth only: frame side"),
          "data_seed": (int, "synth only: the benchmark's generator seed"), "out": (str, "output folder"),
          "n_examples": (int, "clips whose frame relevance is plotted"), "batch": (int, "clips of the shape trace"),
          "seed": (int, "random seed")}
_RUN = ("dataset", "root", "fold", "config", "variant", "seed", "device", "runs_dir", "resume")
_SWITCHES = ("text", "temporal", "pool", "visual_prompt", "finetune", "epochs", "max_steps", "batch_size",
             "val_fraction")
# The parameters of each notebook, and those whose stored default is the notebook's quick run rather than the
# package's (the generated benchmark, a few epochs, runs under build/): every other default equals the package's.
NOTEBOOKS = {
    "01_prepare_data": {"params": ("dataset", "root", "out", "clips", "size", "seed", "media"),
                        "quick": ("dataset", "root", "out", "clips", "size")},
    "02_model": {"params": ("config", "variant", "batch"), "quick": ("batch",)},
    "03_train": {"params": _RUN[:-2] + _SWITCHES + ("runs_dir", "run_dir", "resume", "clips", "size", "data_seed"),
                 "quick": ("dataset", "root", "epochs", "runs_dir", "resume", "clips", "size", "data_seed")},
    "04_evaluate": {"params": ("run_dir",) + _RUN[:-2] + _SWITCHES + ("runs_dir", "resume", "clips", "size",
                                                                      "data_seed", "n_examples"),
                    "quick": ("dataset", "root", "epochs", "runs_dir", "resume", "clips", "size", "data_seed",
                              "n_examples")},
}


def declarations(notebook: str) -> dict:
    """{name: {'type', 'default', 'help'}} of a user notebook's parameters, from the package."""
    if notebook not in NOTEBOOKS:
        raise ValueError(f"unknown notebook {notebook!r}; the package declares {', '.join(NOTEBOOKS)}")
    known = declared(RunSpec) | declared(Switches)
    known |= {k: {"type": t, "default": None, "help": h} for k, (t, h) in EXTRAS.items() if k not in known}
    known.setdefault("media", declared(RunSpec)["media"])
    return {k: known[k] for k in NOTEBOOKS[notebook]["params"]}


def check(notebook: str, namespace: dict) -> types.SimpleNamespace:
    """Validate the parameters a notebook's kernel holds; raise ValueError naming every problem."""
    spec = declarations(notebook)
    given = {k: v for k, v in namespace.items() if k in spec or _looks_like_param(k, namespace)}
    problems = []
    unknown = sorted(set(given) - set(spec))
    if unknown:
        problems.append(f"unknown parameter(s) {', '.join(unknown)}; this notebook takes: {', '.join(spec)}")
    for name, s in spec.items():
        if name not in given:
            problems.append(f"parameter {name} is missing")
            continue
        v, want = given[name], s["type"]
        ok = isinstance(v, (int, float) if want is float else want) and not (want in (int, float) and isinstance(v, bool))
        if not ok and not (want is str and v is None):
            problems.append(f"parameter {name} must be {want.__name__} (got {v!r}); papermill -r passes raw strings, "
                            "-p parses numbers")
    if problems:
        raise ValueError(f"{notebook}: " + "; ".join(problems))
    return types.SimpleNamespace(**{k: given[k] for k in spec})


_LITERALS = (bool, int, float, str, type(None))
_IPYTHON = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def _looks_like_param(name: str, namespace: dict) -> bool:
    """A kernel global that a `-p NAME` injection made: a plain literal with a lowercase name."""
    return (not name.startswith("_") and name not in _IPYTHON and name.islower()
            and isinstance(namespace[name], _LITERALS))


def switches(P) -> dict:
    """Config overrides from a notebook's switch parameters; '' and 0 keep the config's own value."""
    out = {}
    for name, key in SWITCHES.items():
        v = getattr(P, name, None)
        if v not in (None, "", 0, 0.0):
            out[key] = v
    return out


def spec_from(P) -> RunSpec:
    """The typed run spec (`runspec.RunSpec`) a notebook's parameters describe (the benchmark rendered if asked)."""
    layout, root = resolve_dataset(P.dataset, P.root, clips=P.clips, size=P.size, seed=P.data_seed)
    return RunSpec(layout, root, P.fold, P.config, P.variant, switches(P), seed=P.seed, device=P.device,
                   run_dir=resolve(P.run_dir) if getattr(P, "run_dir", "") else None, runs_dir=resolve(P.runs_dir),
                   resume=P.resume)


def train_from(P, callback=None):
    """Train (or resume) the run a notebook's parameters describe; returns the RunResult."""
    from .engine.run import run_spec                      # late: the notebooks that only read runs skip torch's engine

    return run_spec(spec_from(P), callback=callback)
