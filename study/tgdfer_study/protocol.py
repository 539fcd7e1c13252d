"""The evidence protocol as data: the benchmark's settings, its draws, and which folds and seeds each kind of run gets.

In: `tgdfer_study/protocol.json` (or another file of the same shape). Out: a `Protocol`. A draw is one rendering of the
generated benchmark from its own generator seed (so its own identities and clips): the development draw takes every
choice; the evaluation draw is sealed, and `Protocol.benchmark('evaluation')` refuses to render or run it until the
analysis plan file exists in the repository.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tgdfer.paths import repo_root
from tgdfer.sweep.plan import PlannedRun
from tgdfer.synth.generate import GenerateConfig
from tgdfer.synth.source import resolve_dataset


class SealedDrawError(ValueError):
    """A sealed draw of the benchmark was asked for before its analysis plan was committed."""


@dataclass(frozen=True)
class DrawRuns:
    """Runs a draw with its own design makes on every fold: a variant, its overrides, seeds 0..seeds-1."""
    variant: str
    overrides: dict = field(default_factory=dict, hash=False)
    seeds: int = 1


@dataclass(frozen=True)
class Draw:
    name: str
    seed: int                       # the generator's seed: identities, clips, folds
    sealed: bool = False            # True: refused until the analysis plan exists
    about: str = ""
    analysis_plan: str = ""         # its own plan ('' : the protocol's), committed before the draw is run
    runs: tuple[DrawRuns, ...] = () # its own design ((): the protocol's run sets)
    parts: tuple[int, ...] = ()     # several draws pooled as one set: their generator seeds (`seed` is the first);
                                    # each part is a whole benchmark of 5 independent folds, its runs its own

    @property
    def generator_seeds(self) -> tuple[int, ...]:
        """The generator seed of every draw this one renders (one, or its parts')."""
        return self.parts or (self.seed,)

    def planned_runs(self, folds) -> list:
        """The draw's own design as `PlannedRun`s, TG-DFER's first (the reference of every pair)."""

        kind = (lambda r: "main" if r.variant == "tgdfer" and not r.overrides else
                "ablation" if r.variant == "tgdfer" else "baseline")
        return [PlannedRun(r.variant, dict(r.overrides), f, s, kind(r))
                for r in sorted(self.runs, key=lambda r: ["main", "ablation", "baseline"].index(kind(r)))
                for f in folds for s in range(r.seeds)]


@dataclass(frozen=True)
class RunSet:
    folds: tuple[int, ...]
    seeds: tuple[int, ...]
    about: str = ""


@dataclass(frozen=True)
class Protocol:
    config: str
    clips: int
    size: int
    min_per_class: int
    videos: bool
    draws: dict[str, Draw]
    runs: dict[str, RunSet]         # 'demo', 'main' (TG-DFER and baselines), 'primary', 'ablations', 'curve'
    analysis_plan: str = "paper/analysis_plan.json"
    source: str = field(default="", compare=False)
    expressions: str = "prototype"  # the generator's expression model (synth.expressions.EXPRESSION_MODELS)
    test_per_class: int = 0         # >0: held-out balanced test splits (synth.generate.GenerateConfig)
    independent: bool = False       # each fold trains on its own draw of `clips` clips (GenerateConfig.independent)
    primary: tuple = ()             # ablation overrides that are primary comparisons (run on `primary_seeds`)
    primary_baselines: tuple = ()   # baselines that are primary comparisons (run on `primary_seeds`)
    curve_fractions: tuple = ()     # the training-size curve: shares of a fold's training draw (1.0 is the main runs)
    curve_variants: tuple = ()      # ... for these ablation overrides ({} is TG-DFER)

    @property
    def folds(self) -> tuple[int, ...]:
        return self.runs["main"].folds

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.runs["main"].seeds

    @property
    def demo_folds(self) -> tuple[int, ...]:
        """Folds of `make demo` (the full regeneration runs `folds`)."""
        return self.runs["demo"].folds if "demo" in self.runs else self.folds

    @property
    def demo_seeds(self) -> tuple[int, ...]:
        """Seeds of `make demo` (the full regeneration runs `seeds`)."""
        return self.runs["demo"].seeds if "demo" in self.runs else self.seeds

    @property
    def ablation_folds(self) -> tuple[int, ...]:
        return self.runs["ablations"].folds

    @property
    def ablation_seeds(self) -> tuple[int, ...]:
        return self.runs["ablations"].seeds

    @property
    def primary_seeds(self) -> tuple[int, ...]:
        """Seeds of TG-DFER and the primary comparisons in the full regeneration (the demo runs the main seeds)."""
        return self.runs["primary"].seeds if "primary" in self.runs else self.seeds

    @property
    def curve(self) -> tuple[dict, ...]:
        """Overrides of every run of the training-size curve: each variant at each fraction below 1."""
        return tuple({**v, "train.train_fraction": f} for f in self.curve_fractions for v in self.curve_variants if f < 1)

    @property
    def curve_seeds(self) -> tuple[int, ...]:
        return self.runs["curve"].seeds if "curve" in self.runs else self.seeds

    def draw(self, name: str = "development") -> Draw:
        if name not in self.draws:
            raise ValueError(f"unknown benchmark draw {name!r}; the protocol has: {', '.join(self.draws)}")
        d = self.draws[name]
        plan = repo_root() / (d.analysis_plan or self.analysis_plan)
        if d.sealed and not plan.is_file():
            raise SealedDrawError(f"the {name} draw of the benchmark is sealed until the analysis plan {plan} is "
                                  "committed: write the plan (claims, primary comparisons, metric, margin, correction) "
                                  "first; every choice runs on the development draw")
        return d

    def generate_config(self, draw: str = "development", seed: int | None = None):
        """The generator's settings of a draw (what `benchmark` renders); `seed`: one of its parts' instead."""

        return GenerateConfig(clips=self.clips, size=self.size, seed=self._seed(draw, seed),
                              min_per_class=self.min_per_class, videos=self.videos, expressions=self.expressions,
                              test_per_class=self.test_per_class, independent=self.independent)

    def benchmark(self, draw: str = "development", workers: int | None = None, seed: int | None = None):
        """(layout, root) of a draw of the generated benchmark, rendered on first use; `seed`: one of its parts."""

        return resolve_dataset("synth", "", clips=self.clips, size=self.size, seed=self._seed(draw, seed),
                               min_per_class=self.min_per_class, videos=self.videos, workers=workers,
                               expressions=self.expressions, test_per_class=self.test_per_class,
                               independent=self.independent)

    def _seed(self, draw: str, seed: int | None) -> int:
        d = self.draw(draw)                                   # refuses a sealed draw whose plan is not committed
        if seed is None:
            return d.seed
        if seed not in d.generator_seeds:
            raise ValueError(f"generator seed {seed} is not a part of the {draw} draw (its parts: {list(d.generator_seeds)})")
        return seed


def load_protocol(path: str | Path | None = None) -> Protocol:
    """The protocol of `tgdfer_study/protocol.json`, or of the file given."""
    text = Path(path).read_text() if path else resources.files("tgdfer_study").joinpath("protocol.json").read_text()
    raw = json.loads(text)
    b = raw["benchmark"]
    return Protocol(config=raw["config"], clips=b["clips"], size=b["size"], min_per_class=b["min_per_class"],
                    videos=b.get("videos", False),
                    draws={k: _draw(k, v) for k, v in raw["draws"].items()},
                    runs={k: RunSet(tuple(v["folds"]), tuple(v["seeds"]), v.get("about", "")) for k, v in raw["runs"].items()},
                    analysis_plan=raw.get("analysis_plan", "paper/analysis_plan.json"), source=raw.get("source", ""),
                    expressions=b.get("expressions", "prototype"), test_per_class=b.get("test_per_class", 0),
                    independent=b.get("independent", False), primary=tuple(raw.get("primary", ())),
                    primary_baselines=tuple(raw.get("primary_baselines", ())),
                    curve_fractions=tuple(raw.get("curve", {}).get("fractions", ())),
                    curve_variants=tuple(raw.get("curve", {}).get("variants", ())))


def _draw(name: str, v: dict) -> Draw:
    runs = tuple(DrawRuns(r["variant"], dict(r.get("set", {})), int(r["seeds"])) for r in v.get("runs", ()))
    parts = tuple(int(x) for x in v.get("parts", ()))
    if parts and not runs:
        raise ValueError(f"protocol draw {name!r}: a draw of several parts needs its own design ('runs')")
    if parts and len(set(parts)) != len(parts):
        raise ValueError(f"protocol draw {name!r}: its parts' generator seeds repeat ({list(parts)})")
    seed = v["seed"] if "seed" in v else (parts[0] if parts else None)
    if seed is None:
        raise ValueError(f"protocol draw {name!r} needs a generator 'seed' (or 'parts')")
    if parts and seed != parts[0]:
        raise ValueError(f"protocol draw {name!r}: 'seed' {seed} is not its first part's ({parts[0]}); give 'parts' only")
    return Draw(name, seed, v.get("sealed", False), v.get("about", ""), v.get("analysis_plan", ""), runs, parts)


PROTOCOL = load_protocol()
