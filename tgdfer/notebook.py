"""Notebook helpers: parameter checking (papermill only warns about unknown `-p` names).

`check("03_train", globals())` is the first call of every notebook after its `parameters` cell: it
reads the declared parameters from the notebook file itself (papermill.inspect_notebook), refuses
any injected name that is not declared (a typo such as `-p flod 2` would otherwise run fold 1
silently), checks each value's type against its declaration, and returns them as a namespace.
"""
from __future__ import annotations

import types
from functools import lru_cache

from .paths import repo_root

_LITERALS = (bool, int, float, str, list, dict, tuple, type(None))
_IPYTHON = {"In", "Out", "get_ipython", "exit", "quit", "open"}


@lru_cache(maxsize=None)
def declared(notebook: str) -> dict:
    """{name: {'type': ..., 'default': ..., 'help': ...}} of a notebook's `parameters` cell."""
    import papermill

    path = repo_root() / "notebooks" / f"{notebook}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"notebook {path} not found")
    return {k: {"type": v["inferred_type_name"], "default": v["default"], "help": v["help"]}
            for k, v in papermill.inspect_notebook(str(path)).items()}


RUN_NOTEBOOK = "03_train"       # declares the run parameters; 04 repeats them and is checked against these


def run_parameters(notebook: str) -> dict:
    """The run parameters a notebook shares with 03_train, with 03_train's declarations (type and default): the one
    spec both notebooks are checked against, so the two cannot drift apart."""
    own, run = declared(notebook), declared(RUN_NOTEBOOK)
    shared = {k: run[k] for k in own if k in run}
    drift = [k for k in shared if (own[k]["type"], own[k]["default"]) != (run[k]["type"], run[k]["default"])]
    if drift:
        raise ValueError(f"{notebook} declares {', '.join(drift)} unlike {RUN_NOTEBOOK} (type or default): declare "
                         f"the run parameters as {RUN_NOTEBOOK} does")
    return shared


def check(notebook: str, namespace: dict) -> types.SimpleNamespace:
    """Validate the parameters a notebook's kernel holds; raise ValueError naming every problem."""
    spec = declared(notebook) | run_parameters(notebook)
    given = {k: v for k, v in namespace.items()
             if not k.startswith("_") and k not in _IPYTHON and isinstance(v, _LITERALS)}
    problems = []
    unknown = sorted(set(given) - set(spec))
    if unknown:
        problems.append(f"unknown parameter(s) {', '.join(unknown)}; this notebook takes: {', '.join(spec)}")
    types_ = {"int": (int,), "float": (float, int), "str": (str,), "bool": (bool,)}
    for name, s in spec.items():
        if name not in given:
            problems.append(f"parameter {name} is missing")
            continue
        want = types_.get(s["type"])
        v = given[name]
        if want and (not isinstance(v, want) or (s["type"] in ("int", "float") and isinstance(v, bool))):
            problems.append(f"parameter {name} must be {s['type']} (got {v!r}); papermill -r passes raw strings, "
                            "-p parses numbers")
    if problems:
        raise ValueError(f"{notebook}: " + "; ".join(problems))
    return types.SimpleNamespace(**{k: given[k] for k in spec})


def switches(P) -> dict:
    """Config overrides from a notebook's switch parameters; '' and 0 keep the config's own value."""
    from .config import SWITCHES

    out = {}
    for name, key in SWITCHES.items():
        v = getattr(P, name, None)
        if v not in (None, "", 0, 0.0):
            out[key] = v
    return out


def spec_from(P):
    """The typed run spec (`runspec.RunSpec`) a notebook's parameters describe (the benchmark rendered if asked)."""
    from .runspec import RunSpec
    from .experiments.source import resolve_dataset
    from .paths import resolve

    layout, root = resolve_dataset(P.dataset, P.root, clips=P.clips, size=P.size, seed=P.data_seed)
    return RunSpec(layout, root, P.fold, P.config, P.variant, switches(P), seed=P.seed, device=P.device,
                   run_dir=resolve(P.run_dir) if P.run_dir else None, runs_dir=resolve(P.runs_dir), resume=P.resume)


def train_from(P, callback=None):
    """Train (or resume) the run a notebook's parameters describe; returns the RunResult."""
    from .engine.run import run_spec

    return run_spec(spec_from(P), callback=callback)
