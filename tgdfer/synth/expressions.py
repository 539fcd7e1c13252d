"""Per-frame action units for one generated clip: the expression's timeline and the distractors.

In: a class name, a clip length and a random generator. Which units an expression moves comes from
one of two expression models: 'prototype' (benchmark formats 1-2: every clip of a class moves its
EMFACS prototype, `assets/classes.json`) or 'distribution' (format 3: a variant drawn from
`assets/expressions.json`, with optional, missing, weak, extra and one-sided units and the person's
own expressivity and habit, so that a class description matches a clip only partly). Out: a `Timeline` with the AU intensities of every frame [L, len(AUS)], the ground-truth
expression intensity [L] and the distractor masks. The expression covers only part of the clip
(onset-apex-offset); around it are neutral frames, blinks, speech-like mouth motion and brief
low-intensity flickers of another expression: the "many-to-one" problem of real DFER data.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..classes import class_names, emfacs_prototypes
from .faces import AU_INDEX, AUS


EXPRESSIVE_THRESHOLD = 0.3  # a frame "shows the emotion" when its intensity reaches this


@dataclass
class Timeline:
    au: np.ndarray          # [L, len(AUS)] float32 in [0, 1]
    intensity: np.ndarray   # [L] ground-truth intensity of the labelled expression
    blink: np.ndarray       # [L] bool
    speech: np.ndarray      # [L] bool
    flicker: np.ndarray     # [L] bool: a brief low-intensity other expression
    onset: int              # first frame of the expression segment (0-based; < 0: began before the clip), -1 for neutral
    apex: tuple             # (first, last) apex frame, (-1, -1) for neutral
    offset: int             # last frame of the segment (may be past the clip: truncated)
    apex_intensity: float
    asym: float = 0.0       # one-sidedness of the expression (render_face's `asym`); 0 in formats 1-2
    variant: int = -1       # index of the drawn variant in expressions.json (-1: the prototype model)


EXPRESSION_MODELS = ("prototype", "distribution")


def expressions_sha() -> str:
    """First 16 hex digits of the SHA-256 of `assets/expressions.json`: which distribution a format-3 set was drawn from."""
    return hashlib.sha256(resources.files("tgdfer.assets").joinpath("expressions.json").read_bytes()).hexdigest()[:16]


@lru_cache(maxsize=None)
def expression_distribution() -> dict:
    """`assets/expressions.json`, checked by `check_distribution`."""
    d = json.loads(resources.files("tgdfer.assets").joinpath("expressions.json").read_text())
    return check_distribution(d, "tgdfer/assets/expressions.json")


def check_distribution(d: dict, where: str) -> dict:
    """Every class present, every unit drawable, weights summing to 1 and shares in [0, 1]; returns `d`."""
    if sorted(d["classes"]) != sorted(class_names("dfew")):
        raise ValueError(f"{where}: classes must be {class_names('dfew')} (got {sorted(d['classes'])})")
    for name, c in d["classes"].items():
        units = [u for v in c["variants"] for u in v["units"]] + [int(u) for u in c["optional"]]
        bad = [u for u in units if u not in AU_INDEX or u == 45]
        if bad:
            raise ValueError(f"{where}: {name} uses units the renderer does not draw: {bad} "
                             f"(it draws {[u for u in AUS if u != 45]})")
        w = sum(v["weight"] for v in c["variants"])
        if abs(w - 1.0) > 1e-6 or any(not 0 <= p <= 1 for p in c["optional"].values()):
            raise ValueError(f"{where}: {name}: variant weights must sum to 1 (got {w:g}) and shares lie in [0, 1]")
        span = c.get("span", (0.3, 0.7))
        if len(span) != 2 or not 0 < span[0] <= span[1] <= 1:
            raise ValueError(f"{where}: {name}: span must be [low, high] shares of the clip, 0 < low <= high <= 1 "
                             f"(got {span})")
    return d


@dataclass(frozen=True)
class Person:
    """What an identity brings to every expression it makes (format 3)."""
    expressivity: float     # factor on every apex intensity
    habit: int              # a unit this person adds to every expression, 0: none
    habit_gain: float


def draw_person(rng: np.random.Generator) -> Person:
    p = expression_distribution()["noise"]["person"]
    expressivity = float(rng.uniform(*p["expressivity"]))
    extra = expression_distribution()["noise"]["extra"]["units"]
    habit = int(extra[int(rng.integers(len(extra)))]) if rng.random() < p["habit_p"] else 0
    return Person(expressivity, habit, float(rng.uniform(*p["habit_gain"])))


NEUTRAL_PERSON = Person(1.0, 0, 0.0)


@dataclass(frozen=True)
class Expression:
    variant: int            # index into the class's variants
    gains: dict             # unit -> gain on the clip's intensity curve
    apex: float             # apex intensity of the curve
    asym: float             # render_face's `asym`


def draw_expression(label: str, rng: np.random.Generator, person: Person = NEUTRAL_PERSON) -> Expression:
    """The units one clip of class `label` moves, with their gains, drawn from `expressions.json`."""
    d = expression_distribution()
    c, noise = d["classes"][label], d["noise"]
    weights = np.array([v["weight"] for v in c["variants"]])
    k = int(rng.choice(len(weights), p=weights / weights.sum()))
    units = list(c["variants"][k]["units"])
    units += [int(u) for u, share in c["optional"].items() if int(u) not in units and rng.random() < share]
    kept = [u for u in units if rng.random() >= noise["missing"]]
    if units and not kept:                                           # never drop every unit of an expression
        kept = [units[int(rng.integers(len(units)))]]
    gains = {}
    for u in kept:
        g = float(rng.uniform(*noise["gain"]))                       # individual variation
        if rng.random() < noise["weak"]["p"]:
            g *= float(rng.uniform(*noise["weak"]["gain"]))
        gains[u] = g
    if units and rng.random() < noise["extra"]["p"]:                  # a co-occurring unit outside the variant
        u = int(noise["extra"]["units"][int(rng.integers(len(noise["extra"]["units"])))])
        gains[u] = max(gains.get(u, 0.0), float(rng.uniform(*noise["extra"]["gain"])))
    if units and person.habit:
        gains[person.habit] = max(gains.get(person.habit, 0.0), person.habit_gain)
    asym = float(rng.uniform(-1, 1) * noise["asymmetry"]["max"]) if rng.random() < noise["asymmetry"]["p"] else 0.0
    apex = float(rng.uniform(*c["apex"])) * person.expressivity
    return Expression(k, gains, min(apex, 1.0), asym)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


PLACEMENTS = ("centre", "legacy")


def intensity_curve(length: int, rng: np.random.Generator, apex: float, placement: str = "centre",
                    span: tuple = (0.3, 0.7)) -> tuple:
    """Onset-apex-offset curve over part of the clip. Returns (curve [L], onset, (a0, a1), offset).

    placement 'centre': the segment's centre is uniform over the clip's frames, so it may begin before
    the clip or end after it (at least half of it is inside) and every position is about equally likely
    to be expressive: position alone carries little. 'legacy' (benchmark format 1): the start is uniform
    over [0, L - seg/2), which made the middle of a clip expressive more often than its ends.
    """
    seg = max(4, int(round(length * rng.uniform(*span))))           # span: share of the clip the expression lasts
    if placement == "centre":
        start = int(rng.integers(0, length)) - seg // 2                # may begin before the clip
    elif placement == "legacy":
        start = int(rng.integers(0, max(1, length - seg // 2)))       # may run past the end
    else:
        raise ValueError(f"placement must be one of {PLACEMENTS} (got {placement!r})")
    shares = rng.dirichlet([3.0, 4.0, 3.0])                           # onset, apex, offset
    n_on, n_apex = max(1, int(round(seg * shares[0]))), max(1, int(round(seg * shares[1])))
    n_off = max(1, seg - n_on - n_apex)
    t = np.arange(length, dtype=np.float64)
    rise = _smoothstep((t - start + 1) / n_on)
    fall = 1.0 - _smoothstep((t - (start + n_on + n_apex) + 1) / n_off)
    curve = apex * np.minimum(rise, fall) * (t >= start)
    return curve.astype(np.float32), start, (start + n_on, start + n_on + n_apex - 1), start + seg - 1


def make_timeline(label: str, length: int, rng: np.random.Generator, placement: str = "centre",
                  model: str = "prototype", person: Person = NEUTRAL_PERSON) -> Timeline:
    """AU intensities of every frame of a clip of class `label` (`model`: see EXPRESSION_MODELS)."""
    protos = emfacs_prototypes()
    au = np.zeros((length, len(AUS)), dtype=np.float32)
    asym, variant = 0.0, -1
    if model == "distribution":
        expr = draw_expression(label, rng, person)
        asym, variant = expr.asym, expr.variant
        apex, onset, apex_span, offset = 0.0, -1, (-1, -1), -1
        curve = np.zeros(length, dtype=np.float32)
        if label == "neutral":                                       # a resting face: tonic, no onset or apex
            for unit, gain in expr.gains.items():
                au[:, AU_INDEX[unit]] += min(expr.apex * gain, 1.0)
        elif expr.gains:
            apex = expr.apex
            span = tuple(expression_distribution()["classes"][label].get("span", (0.3, 0.7)))
            curve, onset, apex_span, offset = intensity_curve(length, rng, apex, placement, span)
            for unit, gain in expr.gains.items():
                au[:, AU_INDEX[unit]] += np.minimum(curve * gain, 1.0)
    elif model != "prototype":
        raise ValueError(f"expression model must be one of {EXPRESSION_MODELS} (got {model!r})")
    elif protos[label]:
        apex = rng.uniform(0.55, 1.0) * (0.75 if label == "disgust" else 1.0)
        curve, onset, apex_span, offset = intensity_curve(length, rng, apex, placement)
        for unit in protos[label]:
            gain = rng.uniform(0.7, 1.2)                                # individual variation
            au[:, AU_INDEX[unit]] += np.minimum(curve * gain, 1.0)
    else:
        apex, onset, apex_span, offset = 0.0, -1, (-1, -1), -1
        curve = np.zeros(length, dtype=np.float32)

    # blinks: 3-frame pulses every 1.5-4 s at 25 fps
    blink = np.zeros(length, dtype=bool)
    t = int(rng.integers(5, 60))
    while t < length:
        for k, v in enumerate((0.6, 1.0, 0.6)):
            if t + k < length:
                au[t + k, AU_INDEX[45]] = v
                blink[t + k] = True
        t += int(rng.integers(38, 100))

    # speech-like jaw motion over part of the clip, in 40% of clips
    speech = np.zeros(length, dtype=bool)
    if rng.random() < 0.4:
        n = max(3, int(length * rng.uniform(0.3, 0.8)))
        s = int(rng.integers(0, max(1, length - n)))
        phase = rng.uniform(0, 2 * np.pi)
        f = rng.uniform(3.0, 5.0) / 25.0
        amp = rng.uniform(0.12, 0.32)
        tt = np.arange(n)
        osc = amp * (0.5 + 0.5 * np.sin(2 * np.pi * f * tt + phase))
        au[s:s + n, AU_INDEX[26]] += osc
        au[s:s + n, AU_INDEX[25]] += 0.5 * osc
        speech[s:s + n] = True

    # a brief low-intensity flicker of another expression, outside the main segment, in 30%
    flicker = np.zeros(length, dtype=bool)
    if rng.random() < 0.3 and length >= 10:
        others = [c for c, units in protos.items() if units and c != label]
        other = others[int(rng.integers(len(others)))]
        n = int(rng.integers(3, 7))
        free = [s for s in range(0, length - n) if curve[s:s + n].max() < 0.05]
        if free:
            s = free[int(rng.integers(len(free)))]
            bump = rng.uniform(0.15, 0.3) * np.sin(np.linspace(0, np.pi, n + 2)[1:-1])
            units = protos[other] if model == "prototype" else list(draw_expression(other, rng).gains)
            for unit in units:
                au[s:s + n, AU_INDEX[unit]] += bump
            flicker[s:s + n] = True

    np.clip(au, 0.0, 1.0, out=au)
    return Timeline(au=au, intensity=curve, blink=blink, speech=speech, flicker=flicker,
                    onset=onset, apex=apex_span, offset=offset, apex_intensity=float(apex), asym=asym, variant=variant)
