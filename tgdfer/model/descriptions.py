"""Class descriptions as data: what each class's facial cues look like, in sentences the text tower reads.

In: a name or a file, and the dataset's class names. Out: {'source', 'template_classname', 'template_description',
'classes': {class: [sentence, ...]}}. What `model.descriptions` may name:
  facs, au                 the packaged plain-English cues (`assets/descriptions.json`) and the tiny backbone's
                           action-unit captions (`assets/descriptions_au.json`)
  facs-deranged:K,         the packaged sentences of the dataset's own classes given to the wrong classes: a uniform
  au-deranged:K            random derangement of the classes, seeded by K (a distribution of "wrong text", one draw
                           a K; the same sentences as facs or au, so a run against them separates meaning from words)
  facs-permuted            the control of the committed records: each class gets the sentences of the next class in
                           the packaged file's 11-class order (for DFEW's 7 classes not a derangement of their own
                           sentences: fear reads contempt's, happiness's are never read); kept so they reproduce
  a .json or .txt file     your own: JSON {class: [sentences]} (or {"classes": {...}}; a sentence may be
                           {"text": ..., "units": [...]}), or plain text, one block a class: its name on the first
                           line, one sentence a line, blocks apart by a blank line, '#' lines ignored
A file must describe exactly the dataset's classes, each with at least one sentence; anything else is refused with
the file, the class and the fix.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..classes import canonical_name
from ..paths import resolve

PACKAGED = {"facs": "descriptions.json", "au": "descriptions_au.json"}
PERMUTED = "-permuted"
DERANGED = "-deranged:"
TEMPLATES = {"template_classname": "a face showing {name}.", "template_description": "{description}"}


class DescriptionsError(ValueError):
    """A descriptions file that cannot describe the dataset's classes: says the file, the class and the fix."""


@lru_cache(maxsize=None)
def _packaged(name: str) -> dict:
    return json.loads(resources.files("tgdfer.assets").joinpath(PACKAGED[name]).read_text())


def is_file_spec(spec: str) -> bool:
    return str(spec).endswith((".json", ".txt")) or "/" in str(spec)


def derangement(n: int, seed: int) -> list[int]:
    """A uniform random derangement of range(n) (no i maps to itself), seeded: rejection sampling of permutations."""
    if n < 2:
        raise ValueError("a derangement needs at least 2 classes")
    rng = np.random.default_rng([7919, int(seed)])
    while True:
        p = rng.permutation(n)
        if not np.any(p == np.arange(n)):
            return [int(i) for i in p]


def _sentences(items, path, cls) -> list[str]:
    if isinstance(items, str) or not isinstance(items, list):
        raise DescriptionsError(f"{path}: class {cls!r} must have a list of sentences (got {type(items).__name__}); "
                                "fix: write \"" + str(cls) + "\": [\"a sentence\", ...]")
    out = [it.get("text", "") if isinstance(it, dict) else str(it) for it in items]
    return [s.strip() for s in out if s and s.strip()]


def read_file(path) -> dict:
    """A user's descriptions file as {'source', 'classes': {name as written: [sentences]}} (JSON or plain text). A
    relative path is taken from the working folder, else from the repository root (`paths.resolve`)."""
    path = Path(path) if Path(path).is_file() else resolve(path)
    if not path.is_file():
        raise DescriptionsError(f"{path}: no such descriptions file; fix: give a .json or .txt file that exists")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            raw = json.loads(text)
        except ValueError as e:
            raise DescriptionsError(f"{path}: not valid JSON ({e}); fix: {{\"class\": [\"sentence\", ...], ...}}") from None
        classes = raw.get("classes", raw) if isinstance(raw, dict) else None
        if not isinstance(classes, dict):
            raise DescriptionsError(f"{path}: expected an object of class -> sentences; fix: {{\"happiness\": [...]}}")
        out = {k: _sentences(v, path, k) for k, v in classes.items()
               if k not in ("source", "template_classname", "template_description", "level")}
        extra = {k: raw[k] for k in ("template_classname", "template_description") if isinstance(raw.get(k), str)}
        return {"source": str(raw.get("source", f"{path}")), "classes": out, **extra}
    out, name = {}, None
    for line in text.splitlines() + [""]:
        line = line.strip()
        if line.startswith("#"):
            continue
        if not line:
            name = None
            continue
        if name is None:
            name = line.rstrip(":")
            out.setdefault(name, [])
        else:
            out[name].append(line)
    return {"source": f"{path}", "classes": out}


def _match(d: dict, class_names: list[str], path) -> dict:
    """The file's classes keyed by the dataset's names (aliases such as 'Happy' accepted); refuses gaps and extras."""
    by_name, problems = {}, []
    for written, sentences in d["classes"].items():
        key = written if written in class_names else (canonical_name(written) or written)
        if key not in class_names:
            problems.append(f"class {written!r} is not one of the dataset's classes ({', '.join(class_names)}); fix: "
                            "rename it or remove its block")
            continue
        if not sentences:
            problems.append(f"class {written!r} has no sentence; fix: give it at least one")
        by_name[key] = sentences
    for c in class_names:
        if c not in by_name:
            problems.append(f"class {c!r} is missing; fix: add a block (or a key) {c!r} with its sentences")
    if problems:
        raise DescriptionsError(f"{path}: " + "; ".join(problems))
    return by_name


def permuted_from(base: str) -> dict[str, str]:
    """{class: the class whose sentences it reads} under `<base>-permuted`: the next class in the packaged file's
    order (the control of the committed records)."""
    names = list(_packaged(base)["classes"])
    return {name: names[(i + 1) % len(names)] for i, name in enumerate(names)}


def load_descriptions(spec: str = "facs", class_names: tuple[str, ...] | list[str] | None = None) -> dict:
    """The descriptions `spec` names (see the module docstring), for `class_names` (a file: exactly those)."""
    spec = str(spec)
    if is_file_spec(spec):
        d = read_file(spec)
        if class_names is not None:
            d["classes"] = _match(d, list(class_names), spec)
        return {**TEMPLATES, **d}
    base = spec.split("-")[0]
    if base not in PACKAGED:
        names = ", ".join(["facs", "au", "facs-permuted", "au-permuted", "facs-deranged:K", "au-deranged:K", "a .json or .txt file"])
        raise ValueError(f"descriptions must be one of {names} (got {spec!r})")
    d = dict(_packaged(base))
    if spec.endswith(PERMUTED):
        d["classes"] = {name: d["classes"][src] for name, src in permuted_from(base).items()}
        d["source"] = f"{d['source']} PERMUTED: each class has the next class's sentences in the file's order (a control)."
    elif DERANGED in spec:
        if class_names is None:
            raise ValueError(f"{spec!r}: a derangement is of the dataset's own classes; give their names")
        k = int(spec.split(DERANGED)[1])
        own = [d["classes"][c] for c in class_names]
        perm = derangement(len(own), k)
        d["classes"] = {c: own[perm[i]] for i, c in enumerate(class_names)}
        d["source"] = (f"{d['source']} DERANGED ({k}): the dataset's classes' sentences given to the wrong classes, "
                       f"class i reads class {perm}[i]'s (a control).")
    return d
