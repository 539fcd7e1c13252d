"""Which data a run reads: one of the official layouts on disk, or the generated benchmark (rendered by `synth/`).

`resolve_dataset('synth', '', clips=120, size=64, seed=0)` renders (or reuses) the benchmark under
the data folder and returns ('dfew', its root): the benchmark is written in the DFEW layout. A root
that already holds a finished benchmark is used as it is, whatever its size.
"""
from __future__ import annotations

from pathlib import Path

from ..paths import default_data_dir, resolve
from .generate import GenerateConfig, format_version, generate


LAYOUTS = ("synth", "dfew", "ferv39k", "mafw", "annotation", "csv")


def benchmark_dir(clips: int, size: int, seed: int, min_per_class: int = 0, videos: bool = True, *,
                  expressions: str = "prototype", test_per_class: int = 0, independent: bool = False,
                  folds: tuple = ()) -> Path:
    """The default folder of a benchmark: named by its settings and the generator's format, so that a set made
    by an older generator is kept beside the new one, never overwritten. `folds`: a set of only these folds."""
    tail = (f"-m{min_per_class}" if min_per_class else "") + (f"-t{test_per_class}" if test_per_class else "") \
        + ("-i" if independent else "") + ("-f" + "".join(str(k) for k in sorted(folds)) if folds else "") \
        + ("" if videos else "-novideo")
    version = format_version(GenerateConfig(expressions=expressions))
    if expressions == "distribution":        # drawn from expressions.json: a changed file is another benchmark
        from .expressions import expressions_sha

        tail += f"-x{expressions_sha()[:8]}"
    return default_data_dir() / f"synth-c{clips}-s{size}-seed{seed}{tail}-v{version}"


def resolve_dataset(dataset: str, root: str = "", clips: int = 700, size: int = 112, seed: int = 0,
                    workers: int | None = None, min_per_class: int = 0, *, videos: bool = True,
                    expressions: str = "prototype", test_per_class: int = 0,
                    independent: bool = False, folds: tuple = ()) -> tuple[str, Path]:
    """(layout for `load_split`, root folder). For 'synth' with no root, the benchmark is generated. `folds` (with
    `independent`): only these folds are needed; the whole set is used where it is already rendered, else a set of
    only these folds is (its clips are the whole set's clips of those folds, to the byte)."""
    if dataset not in LAYOUTS:
        raise ValueError(f"dataset must be one of {', '.join(LAYOUTS)} (got {dataset!r})")
    if dataset == "synth":
        from .generate import is_complete

        if root and is_complete(resolve(root)):        # an existing benchmark is used as it is
            return "dfew", resolve(root)
        settings = dict(clips=clips, size=size, seed=seed, min_per_class=min_per_class, videos=videos,
                        expressions=expressions, test_per_class=test_per_class, independent=independent)
        folds = tuple(sorted(folds)) if independent and folds and set(folds) != set(range(1, 6)) else ()
        if folds and not root:
            whole = benchmark_dir(**settings)
            if is_complete(whole, GenerateConfig(**settings)):
                return "dfew", whole
        out = resolve(root) if root else benchmark_dir(**settings, folds=folds)
        return "dfew", generate(out, GenerateConfig(**settings, folds=folds), workers=workers)
    if not root:
        raise ValueError(f"dataset {dataset!r} needs a root folder (the dataset as downloaded)")
    return dataset, resolve(root)
