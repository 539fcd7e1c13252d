"""Progress bars for long work: tqdm on stderr, off when stderr is not a terminal or TGDFER_PROGRESS=0."""
from __future__ import annotations

import os
import sys

from tqdm.std import tqdm


def progress(iterable=None, **kwargs):
    """`tqdm(iterable, **kwargs)` that stays quiet in tests, CI logs and papermill runs."""
    env = os.environ.get("TGDFER_PROGRESS", "")
    if env == "0":
        disable = True
    elif env == "1":
        disable = False
    else:
        disable = not sys.stderr.isatty()
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, disable=disable, file=sys.stderr, **kwargs)
