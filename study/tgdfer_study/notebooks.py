"""The study's notebooks (05_figures, 06_paper_tables): their parameters, checked as the user notebooks' are
(`tgdfer.notebook.check`: an unknown `-p` name or a wrong type is refused)."""
from __future__ import annotations

import types

# {notebook: {name: (type, default, help)}}: the notebooks' parameter cells are checked against these by a test
NOTEBOOKS = {
    "05_figures": {"results": (str, "results", "records folder (relative: from the repo root)"),
                   "out": (str, "build/notebooks/05_figures", "where the PNGs go (paper/figures holds the committed ones)")},
    "06_paper_tables": {"results": (str, "results", "records folder (relative: from the repo root)"),
                        "out": (str, "build/notebooks/06_paper_tables",
                                "where the tables go (paper/tables holds the committed ones)")},
}


def check(notebook: str, namespace: dict) -> types.SimpleNamespace:
    """Validate a study notebook's parameters; raise ValueError naming every problem."""
    spec = NOTEBOOKS[notebook]
    given = {k: v for k, v in namespace.items() if k in spec or (k.islower() and not k.startswith("_")
                                                                  and isinstance(v, (bool, int, float, str)))}
    problems = [f"unknown parameter {k}; this notebook takes: {', '.join(spec)}" for k in sorted(set(given) - set(spec))]
    problems += [f"parameter {k} must be {t.__name__} (got {given.get(k)!r})" for k, (t, _, _) in spec.items()
                 if not isinstance(given.get(k), t)]
    if problems:
        raise ValueError(f"{notebook}: " + "; ".join(problems))
    return types.SimpleNamespace(**{k: given[k] for k in spec})
