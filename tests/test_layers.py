"""The package's architecture as a test: folders are layers, imports only go down (entry points -> experiments ->
engine / report -> model / data / synth -> shared helpers), the protocol's runners never import one another,
no module cycle, no long function, no function with many positional parameters."""
from __future__ import annotations

import ast
from pathlib import Path


import tgdfer

PKG = Path(tgdfer.__file__).parent
ENTRY = {"cli", "notebook", "__init__", "__main__"}
RANK = {"model": 1, "data": 1, "synth": 2, "engine": 3, "report": 3, "sweep": 3.5, "experiments": 4}   # helpers 0, entry 5
# experiments/: the protocol's parts (protocol, plan, pool, source) are shared by its runners; a runner (demo, tune,
# zeroshot, bench, bench_protocol, prediction) never imports another runner
EXPERIMENT_PARTS = {"protocol", "plan", "pool", "source", "__init__"}
# shared helpers sit at 0; the run spec sits just above them (it reads configs, paths and the run-folder layout)
HELPER_RANK = {"runspec": 0.5}
MAX_LINES = 80
MAX_POSITIONAL = 7


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every tgdfer module a file imports (module level and inside functions)."""
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
                out.add(sub if (PKG.parent / sub.replace(".", "/")).with_suffix(".py").is_file()
                        or (PKG.parent / sub.replace(".", "/")).is_dir() else base)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("tgdfer")}
    return out - {name}


def layer(mod: str) -> tuple[str, int]:
    parts = mod.split(".")
    if len(parts) == 1 or parts[1] in ENTRY:
        return "entry points", 5
    if parts[1] in RANK:
        return parts[1], RANK[parts[1]]
    if parts[1] in ("configs", "assets"):
        return parts[1], 0
    return parts[1], HELPER_RANK.get(parts[1], 0)                         # a shared helper


FILES = sorted(PKG.rglob("*.py"))
GRAPH = {module_name(p): imports_of(p) for p in FILES}


def test_imports_only_go_down():
    bad = []
    for mod, deps in GRAPH.items():
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
    cycles = [m for m in GRAPH if m in reach(m) and m != "tgdfer"]
    assert not cycles, f"modules on an import cycle: {cycles}"


def test_no_long_function():
    long = []
    for p in FILES:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_LINES:
                    long.append(f"{p.relative_to(PKG)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "functions over 80 lines:\n" + "\n".join(long)


def test_every_layer_folder_says_what_it_holds():
    for folder in ("model", "data", "synth", "engine", "report", "experiments"):
        doc = ast.get_docstring(ast.parse((PKG / folder / "__init__.py").read_text()))
        assert doc and len(doc.splitlines()) == 1, folder


def test_runners_of_the_protocol_do_not_import_each_other():
    bad = []
    for mod, deps in GRAPH.items():
        parts = mod.split(".")
        if len(parts) < 3 or parts[1] != "experiments" or parts[2] in EXPERIMENT_PARTS:
            continue
        for dep in deps:
            d = dep.split(".")
            if len(d) >= 3 and d[1] == "experiments" and d[2] not in EXPERIMENT_PARTS:
                bad.append(f"{mod} imports {dep}")
    assert not bad, "one runner of the protocol imports another (move what they share into protocol/plan/pool):\n" \
        + "\n".join(bad)


def test_no_function_takes_many_positional_parameters():
    many = []
    for p in FILES:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                pos = [a for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")]
                if len(pos) > MAX_POSITIONAL:
                    many.append(f"{p.relative_to(PKG)}:{node.lineno} {node.name} ({len(pos)} positional)")
    assert not many, f"functions with more than {MAX_POSITIONAL} positional parameters (make the rest keyword-only " \
        "or pass a spec):\n" + "\n".join(many)


def test_the_layers_test_sees_an_import_between_runners(tmp_path):
    """The check above can fail: a runner importing another is caught."""
    fake = tmp_path / "tgdfer" / "experiments" / "demo.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from .tune import run_tuning\n")
    global PKG
    old, PKG = PKG, tmp_path / "tgdfer"
    try:
        deps = imports_of(fake)
    finally:
        PKG = old
    assert "tgdfer.experiments.tune" in deps or "tgdfer.experiments" in deps


def test_public_api_resolves():
    for name in tgdfer.__all__:
        assert callable(getattr(tgdfer, name)), name
