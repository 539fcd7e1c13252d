"""The dose of meaning: how much the descriptions a run reads agree with what the generator renders for each class.

In: a descriptions spec (the dose files of `descriptions/`, whose sentences carry the units they name; the packaged
facs descriptions, tagged in `descriptions/facs_units.json`; the packaged au captions, whose phrases name their units
in `assets/au_phrases.json`; their derangements) and the generator's expression model
(`tgdfer/assets/expressions.json`). Out: the agreement a class (the share of the units its sentences name that the
generator renders for it: any unit of any of its variants, or of its optional units; 0 for a class that moves and reads
sentences naming no unit, such as neutral's) and its mean over the classes that move (neutral, which renders no
movement, is left out). `python -m tgdfer_study agreement` prints them.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from tgdfer.classes import class_names
from tgdfer.model.descriptions import DERANGED, PERMUTED, derangement, permuted_from
from tgdfer.paths import resolve

HERE = Path(__file__).parent / "descriptions"
LEVELS = {"none": "dose_none.json", "half": "dose_half.json", "all": "dose_all.json"}
DOSE_SPEC = "study/tgdfer_study/descriptions/{}"             # as the runs name them (relative to the repository)


def rendered_units() -> dict[str, set[int]]:
    """{class: the units the generator can render for it} (its variants' units and its optional units)."""
    d = json.loads(resources.files("tgdfer.assets").joinpath("expressions.json").read_text())["classes"]
    return {c: {u for v in spec["variants"] for u in v["units"]} | {int(u) for u in spec.get("optional", {})}
            for c, spec in d.items()}


def _facs_units() -> dict[str, list[list[int]]]:
    return json.loads((HERE / "facs_units.json").read_text())["classes"]


def _au_units() -> dict[str, list[list[int]]]:
    """The units each au caption names: its phrases, found by the pretraining vocabulary's own words."""
    phrases = json.loads(resources.files("tgdfer.assets").joinpath("au_phrases.json").read_text())["units"]
    captions = json.loads(resources.files("tgdfer.assets").joinpath("descriptions_au.json").read_text())["classes"]
    out = {}
    for c, sentences in captions.items():
        out[c] = []
        for s in sentences:
            rest, units = s, []
            for u, phrase in sorted(phrases.items(), key=lambda kv: -len(kv[1])):   # longest phrase first
                if phrase in rest:
                    units.append(int(u))
                    rest = rest.replace(phrase, "")
            out[c].append(sorted(units))
    return out


PACKAGED_UNITS = {"facs": _facs_units, "au": _au_units}


def named_units(spec: str, names: list[str] | None = None) -> dict[str, list[list[int]]]:
    """{class: the units each of its sentences names} for a dose file, facs, au, or their derangements."""
    names = names or class_names("dfew")
    base = spec.split(DERANGED)[0].split("-")[0]
    if base in PACKAGED_UNITS and not spec.endswith(".json"):
        units = PACKAGED_UNITS[base]()
        if spec.endswith(PERMUTED):
            nxt = permuted_from(base)
            missing = sorted({nxt[c] for c in names} - set(units))
            if missing:
                raise ValueError(f"{spec}: the sentences of {', '.join(missing)} carry no unit tags (add them to "
                                 f"{HERE / 'facs_units.json'})")
            return {c: units[nxt[c]] for c in names}
        if DERANGED in spec:
            perm = derangement(len(names), int(spec.split(DERANGED)[1]))
            return {c: units[names[perm[i]]] for i, c in enumerate(names)}
        return {c: units[c] for c in names}
    raw = json.loads(resolve(spec).read_text())["classes"]
    return {c: [list(s.get("units", [])) for s in raw[c]] for c in names}


def agreement(spec: str, names: list[str] | None = None) -> dict:
    """{'per_class': {class: share of named units rendered for it}, 'mean': over the classes that move}."""
    rendered, named = rendered_units(), named_units(spec, names)
    per = {}
    for c, sentences in named.items():
        units = [u for s in sentences for u in s]
        if c == "neutral":
            continue
        per[c] = sum(u in rendered[c] for u in units) / len(units) if units else 0.0   # names none of its cues
    return {"per_class": per, "mean": sum(per.values()) / len(per)}


def dose_specs(derangements: int = 4, demo: bool = False) -> dict[str, str]:
    """{label: descriptions spec} of the dose-of-meaning study: the three levels, TG-DFER's own (facs: the
    protocol config's), the demo config's captions (au), and derangements of TG-DFER's own."""
    out = {f"dose: {k}": DOSE_SPEC.format(v) for k, v in LEVELS.items()}
    out["TG-DFER's descriptions (facs: the protocol config's)"] = "facs"
    if demo:                                                  # not run on the draws: the agreement command shows it
        out["the demo config's action-unit captions (au)"] = "au"
    out.update({f"deranged {k}": f"facs{DERANGED}{k}" for k in range(1, derangements + 1)})
    return out


def agreement_table(derangements: int = 4, also: list[str] = ()) -> list[dict]:
    """A row a description set of the study (and each spec of `also`): its agreement, a class and on average."""
    specs = {**dose_specs(derangements, demo=True), **{s: s for s in also}}
    return [{"descriptions": label, "spec": spec, "agreement": round(agreement(spec)["mean"], 3),
             "per class": {c: round(v, 2) for c, v in agreement(spec)["per_class"].items()}}
            for label, spec in specs.items()]
