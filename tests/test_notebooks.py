"""Notebooks through papermill with non-default parameters (pyhf style), and parameter-name checks.

nbval runs the notebooks as stored (`pytest --nbval notebooks`); these tests run them the way the
paper's scripts do, with other values, and assert the files they write.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"


def execute(name, tmp_path, **params):
    out = tmp_path / f"{name}.ipynb"
    pm.execute_notebook(str(NB / f"{name}.ipynb"), str(out), parameters=params, cwd=str(NB), progress_bar=False,
                        kernel_name="python3")
    return out


def test_every_notebook_has_one_parameters_cell_and_a_check():
    for nb in sorted(NB.glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        tagged = [i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1, nb.name
        nxt = "".join(cells[tagged[0] + 1]["source"])
        assert f'check("{nb.stem}", globals())' in nxt, nb.name
        for c in cells:
            if c["cell_type"] == "code" and c.get("outputs"):
                assert c.get("execution_count") is not None, nb.name


def test_train_and_evaluate_notebooks_with_other_parameters(tmp_path, synth_root):
    runs = tmp_path / "runs"
    execute("03_train", tmp_path, root=str(synth_root), fold=3, max_steps=2, runs_dir=str(runs), resume=False)
    run = runs / "synth" / "tgdfer-tiny" / "fold3" / "tgdfer+epochs=10+max_steps=2" / "seed0"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["fold"] == 3 and metrics["steps"] == 2
    assert (run / "training_curves.png").is_file()
    execute("04_evaluate", tmp_path, run_dir=str(run), n_examples=2)
    assert (run / "confusion.png").is_file()


def _literal(text: str):
    import ast

    return ast.literal_eval(text)


def test_every_parameters_cell_is_what_the_package_declares():
    """Each notebook's parameters: the names and types the package declares (the run spec's fields, the switches, the
    few notebook-only ones), and the package's default unless the notebook names it as its quick-run setting."""
    from tgdfer.notebook import NOTEBOOKS, declarations
    from tgdfer_study.notebooks import NOTEBOOKS as STUDY

    for name, spec in NOTEBOOKS.items():
        cell, want = pm.inspect_notebook(str(NB / f"{name}.ipynb")), declarations(name)
        assert list(cell) == list(want) or set(cell) == set(want), (name, sorted(set(cell) ^ set(want)))
        for k, v in cell.items():
            assert v["inferred_type_name"] == want[k]["type"].__name__, (name, k)
            default = _literal(v["default"])
            if k not in spec["quick"] and want[k]["default"] is not None:
                assert default == want[k]["default"] or (default == "" and want[k]["default"] is None), (name, k)
    for name, spec in STUDY.items():
        cell = pm.inspect_notebook(str(NB / f"{name}.ipynb"))
        assert {k: (v["inferred_type_name"], _literal(v["default"])) for k, v in cell.items()} == \
            {k: (t.__name__, d) for k, (t, d, _) in spec.items()}, name


def test_an_unknown_parameter_stops_the_notebook(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="unknown parameter.*flod"):
        execute("02_model", tmp_path, flod=2)


def _papermill_calls(text: str):
    """(notebook, [parameter names]) of every `papermill notebooks/X.ipynb ... -p name value` in a text."""
    text = re.sub(r"\\\n\s*", " ", text)
    for m in re.finditer(r"papermill\s+(?:\$\S+/)?(?:\S*/)?(notebooks/[\w.]+\.ipynb|\$\$nb|\S+\.ipynb)([^\n]*)", text):
        nb = m.group(1)
        names = re.findall(r"\s-[pr]\s+(\w+)", m.group(2))
        yield nb, names


def test_parameter_names_in_scripts_exist_in_the_notebooks():
    """papermill only warns about an unknown `-p` name; here every name used anywhere must exist."""
    declared = {p.stem: set(pm.inspect_notebook(str(p))) for p in NB.glob("*.ipynb")}
    sources = [ROOT / "Makefile", ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("paper/*.sh"),
               *ROOT.glob("tgdfer/**/*.py"), *NB.glob("*.ipynb")]
    seen = 0
    for src in sources:
        if not src.is_file():
            continue
        text = src.read_text()
        script_nb = re.search(r"^NB=(notebooks/[\w.]+\.ipynb)", text, re.M)
        if script_nb:                      # a shell script whose papermill calls go through $NB
            stem = Path(script_nb.group(1)).stem
            for n in re.findall(r"\s-[pr]\s+(\w+)", text):
                assert n in declared[stem], f"{src.name}: -p {n} for {stem}, which declares {sorted(declared[stem])}"
                seen += 1
            continue
        for nb, names in _papermill_calls(text):
            stem = Path(nb).stem
            if stem not in declared:
                continue
            for n in names:
                assert n in declared[stem], f"{src.name}: papermill -p {n} for {stem}, which declares {sorted(declared[stem])}"
                seen += 1
    assert seen >= 3


def test_notebooks_that_draw_select_the_inline_backend_first():
    """A figure shows inline only under the inline backend; MPLBACKEND=Agg (CI) would silently drop it."""
    drawing = 0
    for nb in sorted(NB.glob("*.ipynb")):
        sources = ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
        draws = [i for i, src in enumerate(sources) if "plt." in src]
        if not draws:
            continue
        drawing += 1
        lines = [line.strip() for src in sources[: draws[0] + 1] for line in src.splitlines()]
        assert "%matplotlib inline" in lines, f"{nb.name}: put `%matplotlib inline` at the top of the first code cell that draws"
    assert drawing >= 3


@pytest.mark.parametrize("backend", ["Agg", None], ids=["MPLBACKEND=Agg", "MPLBACKEND unset"])
def test_a_figure_notebook_passes_strict_nbval_whatever_the_backend(backend):
    """Strict nbval (as users run it) on a notebook with figures, with and without MPLBACKEND=Agg (CI's usual
    setting); the check above holds the other drawing notebooks to the same first cell."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"} | {"TGDFER_PROGRESS": "0"}
    if backend:
        env["MPLBACKEND"] = backend
    r = subprocess.run([sys.executable, "-m", "pytest", str(NB / "04_evaluate.ipynb"), "--nbval", "--nbval-current-env",
                        "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), "-p", "no:cacheprovider",
                        "-q"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "passed" in r.stdout and "failed" not in r.stdout
