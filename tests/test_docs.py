"""The README and docs/ name only what exists: every `python -m tgdfer[_study] COMMAND` answers `--help`, every
`make TARGET` answers `make -n`, every linked file and every repository path in backticks exists, every `#anchor` of
the README is one of its headings; the README stays under 12,000 characters, its first screen links install, the
demo, the real-data path, the results and the claims; docs/performance.md is what the benchmark JSON gives."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tgdfer.cli import build_parser
from tgdfer_study.cli import build_parser as build_study_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP = ("tgdfer/", "study/", "paper/", "results/", "docs/", "benchmarks/", "scripts/", "notebooks/", "tests/")
FILES = ("Makefile", "constraints.txt", "environment.yml", "pyproject.toml", "LICENSE")


def _text(page: Path) -> str:
    return page.read_text()


def _commands(text: str, prog: str) -> set[str]:
    return set(re.findall(rf"python -m {prog}\s+([a-z][a-z-]*)", text))


def _subcommands(parser) -> set[str]:
    return set(next(a for a in parser._actions if a.dest == "command").choices)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_named_command_exists_and_answers_help(page, capsys):
    text = _text(page)
    for prog, build in (("tgdfer", build_parser), ("tgdfer_study", build_study_parser)):
        names = _commands(text, prog)
        known = _subcommands(build())
        assert names <= known, f"{page.name} names {prog} commands that do not exist: {sorted(names - known)}"
        for name in names:
            with pytest.raises(SystemExit) as e:
                build().parse_args([name, "--help"])
            assert e.value.code == 0, (prog, name)
    capsys.readouterr()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_named_make_target_exists(page):
    targets = set(re.findall(r"`make ([a-z-]+)", _text(page)))
    for t in sorted(targets):
        r = subprocess.run(["make", "-n", t], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{page.name}: make {t}: {r.stderr}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_and_repository_path_exists(page):
    text, missing = _text(page), []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "#")):
            continue
        if not (page.parent / target.split("#")[0]).exists():
            missing.append(target)
    for token in re.findall(r"`([^`\s]+)`", text):
        token = token.rstrip(".,:;")
        if re.search(r"[<>*{}\[\]$]|\.\.\.", token) or not (token.startswith(TOP) or token in FILES):
            continue
        if not (ROOT / token).exists():
            missing.append(token)
    assert not missing, f"{page.name} names what does not exist: {missing}"


def test_readme_anchors_are_its_headings():
    text = _text(ROOT / "README.md")
    headings = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", text, re.M)}
    anchors = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert anchors <= headings, f"README anchors without a heading: {anchors - headings}"


def test_readme_is_a_front_door():
    text = _text(ROOT / "README.md")
    assert len(text) <= 12000, f"README.md is {len(text)} characters (limit 12,000): move detail into docs/"
    first = text[:2500]
    for link in ("#install", "#demo", "#real-data", "#results", "docs/evidence.md"):
        assert link in first, f"the README's first 2,500 characters do not link {link}"
    hashes = [w for w in re.findall(r"\b[0-9a-f]{7,40}\b", text) if re.search(r"\d", w) and re.search(r"[a-f]", w)]
    assert not hashes, f"commit hashes in the README: {hashes}"
    assert not re.search(r"\d+ passed", text), "test counts belong to CI's output, not the README"


def test_performance_page_is_what_the_benchmarks_give():
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "render_docs.py"), "--check"], capture_output=True,
                       timeout=60)
    assert r.returncode == 0, "docs/performance.md is stale: run `python benchmarks/render_docs.py`"


def test_the_docs_test_sees_a_missing_command_and_file(tmp_path):
    """The checks above can fail."""
    page = tmp_path / "page.md"
    page.write_text("run `python -m tgdfer no-such-command` and read `paper/no_such_file.md`\n")
    assert "no-such-command" in _commands(page.read_text(), "tgdfer") - _subcommands(build_parser())
    with pytest.raises(AssertionError, match="no_such_file"):
        test_every_link_and_repository_path_exists(page)
