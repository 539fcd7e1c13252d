"""The architecture as a test. Two packages: `tgdfer`, the method and what a user runs on their own data, and
`tgdfer_study` (study/), the study of the generated benchmark, which may import tgdfer; tgdfer never imports the study
and importing its command line loads none of it. Inside tgdfer, folders are layers and imports only go down
(entry points -> sweep -> engine / report -> synth -> model / data -> shared helpers); the study's runners never import
one another; no module cycle, no module over 400 lines, no function over 80 lines or with many positional
parameters; an import inside a function says why it is late."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tgdfer
import tgdfer_study


PKG = Path(tgdfer.__file__).parent
STUDY = Path(tgdfer_study.__file__).parent
ENTRY = {"cli", "notebook", "__init__", "__main__"}
RANK = {"model": 1, "data": 1, "synth": 2, "engine": 3, "report": 3, "sweep": 3.5, "inference": 4}   # helpers 0, entry 5
HELPER_RANK = {"params": 0, "runspec": 0.5}
# the study's parts that its runners share; a runner (demo, tune, tune_equal, power_study, zeroshot, bench_protocol,
# cli) never imports another runner
STUDY_PARTS = {"protocol", "run_pool", "cache_service", "tuning_store", "report", "__init__", "__main__"}
MAX_LINES, MAX_MODULE_LINES, MAX_POSITIONAL = 80, 400, 7


def module_name(path: Path) -> str:
    base = PKG.parent if path.is_relative_to(PKG) else STUDY.parent
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(mod: str) -> bool:
    for base in (PKG.parent, STUDY.parent):
        p = base / mod.replace(".", "/")
        if p.with_suffix(".py").is_file() or p.is_dir():
            return True
    return False


def imports_of(path: Path) -> set[str]:
    """Every tgdfer / tgdfer_study module a file imports (module level and inside functions)."""
    name, out = module_name(path), set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            if not base.startswith("tgdfer"):
                continue
            for a in node.names:      # `from .x import y` may name a submodule y
                sub = f"{base}.{a.name}"
                out.add(sub if _is_module(sub) else base)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("tgdfer")}
    return out - {name}


def layer(mod: str) -> tuple[str, float]:
    parts = mod.split(".")
    if len(parts) == 1 or parts[1] in ENTRY:
        return "entry points", 5
    if parts[1] in RANK:
        return parts[1], RANK[parts[1]]
    if parts[1] in ("configs", "assets"):
        return parts[1], 0
    return parts[1], HELPER_RANK.get(parts[1], 0)                         # a shared helper


FILES = sorted(PKG.rglob("*.py"))
STUDY_FILES = sorted(STUDY.rglob("*.py"))
GRAPH = {module_name(p): imports_of(p) for p in FILES + STUDY_FILES}


def test_the_method_never_imports_the_study():
    bad = [f"{m} imports {d}" for m, deps in GRAPH.items() if m.startswith("tgdfer.") or m == "tgdfer"
           for d in deps if d.startswith("tgdfer_study")]
    assert not bad, "the installed package imports the study:\n" + "\n".join(bad)


def test_importing_the_command_line_loads_no_study_module():
    code = ("import sys, tgdfer.cli; from tgdfer.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.startswith('tgdfer_study')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


def test_imports_only_go_down():
    bad = []
    for mod, deps in GRAPH.items():
        if not mod.startswith("tgdfer.") and mod != "tgdfer":
            continue
        (lname, lrank) = layer(mod)
        for dep in deps:
            dname, drank = layer(dep)
            if dname == lname or dep == "tgdfer":
                continue
            if drank >= lrank:
                bad.append(f"{mod} ({lname}) imports {dep} ({dname})")
    assert not bad, "imports that go up or sideways:\n" + "\n".join(bad)


def test_no_module_imports_one_that_imports_it_back():
    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for d in GRAPH.get(todo.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return seen
    cycles = [m for m in GRAPH if m in reach(m) and m not in ("tgdfer", "tgdfer_study")]
    assert not cycles, f"modules on an import cycle: {cycles}"


def test_no_long_module_or_function():
    long = []
    for p in FILES + STUDY_FILES:
        text = p.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long.append(f"{p.name}: {len(text.splitlines())} lines (module)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_LINES:
                    long.append(f"{p.name}:{node.lineno} {node.name} ({n} lines)")
    assert not long, f"modules over {MAX_MODULE_LINES} lines, functions over {MAX_LINES}:\n" + "\n".join(long)


def test_a_late_import_says_why():
    """An import inside a function carries a comment on its line or the line above (an optional dependency, start-up
    time, a worker process); the rest sit at the top of their file."""
    bad = []
    for p in FILES + STUDY_FILES:
        lines = p.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            group = []                                  # consecutive import statements form one group
            for stmt in node.body:
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    group.append(stmt)
                    continue
                bad += _unexplained(p, lines, group)
                group = []
            bad += _unexplained(p, lines, group)
    assert not bad, "imports inside functions with no comment saying why:\n" + "\n".join(bad)


def _unexplained(p: Path, lines: list[str], group: list) -> list[str]:
    if not group:
        return []
    first, last = group[0].lineno - 1, group[-1].end_lineno - 1
    said = any("#" in lines[i] for i in range(max(0, first - 1), last + 1))
    return [] if said else [f"{p.name}:{first + 1}"]


def test_every_layer_folder_says_what_it_holds():
    for folder in ("model", "data", "synth", "engine", "report", "sweep", "inference"):
        doc = ast.get_docstring(ast.parse((PKG / folder / "__init__.py").read_text()))
        assert doc and len(doc.splitlines()) == 1, folder


def test_runners_of_the_study_do_not_import_each_other():
    bad = []
    for mod, deps in GRAPH.items():
        parts = mod.split(".")
        if parts[0] != "tgdfer_study" or len(parts) < 2 or parts[1] in STUDY_PARTS:
            continue
        for dep in deps:
            d = dep.split(".")
            if d[0] == "tgdfer_study" and len(d) >= 2 and d[1] not in STUDY_PARTS and d[1] != parts[1]:
                if parts[1] == "cli":
                    continue                        # the command line dispatches to every runner
                bad.append(f"{mod} imports {dep}")
    assert not bad, "one runner of the study imports another (move what they share into its parts):\n" + "\n".join(bad)


def test_no_function_takes_many_positional_parameters():
    many = []
    for p in FILES + STUDY_FILES:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                pos = [a for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")]
                if len(pos) > MAX_POSITIONAL:
                    many.append(f"{p.name}:{node.lineno} {node.name} ({len(pos)} positional)")
    assert not many, f"functions with more than {MAX_POSITIONAL} positional parameters (make the rest keyword-only " \
        "or pass a spec):\n" + "\n".join(many)


def test_the_layers_test_sees_a_study_import_and_a_late_import(tmp_path):
    """The checks above can fail: an import of the study from the method is seen, and so is a bare late import."""
    fake = PKG / "engine" / "_probe_layers.py"
    fake.write_text("def f():\n    from tgdfer_study.tune import tune\n    return tune\n")
    try:
        assert "tgdfer_study.tune" in imports_of(fake)
        lines = fake.read_text().splitlines()
        fn = ast.parse(fake.read_text()).body[0]
        assert _unexplained(fake, lines, fn.body[:1])
    finally:
        fake.unlink()


def test_public_api_resolves():
    for name in tgdfer.__all__:
        assert callable(getattr(tgdfer, name)), name
