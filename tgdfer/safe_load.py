"""Loading `.pt` files without running code: torch's safe unpickler (`weights_only=True`) and nothing else.

In: a file path. Out: tensors and plain Python values (dict, list, tuple, str, int, float, bool, None), or an
`UnsafeFileError` naming the file. What tgdfer writes (checkpoints, resume state, the feature cache) holds only
those (`to_plain` makes sure). Checkpoints of the first format kept NumPy's random-generator state and NumPy
scalars; they load through a narrow allow-list of NumPy's array and scalar constructors (numbers only, no code).
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch


class UnreadableFileError(ValueError):
    """A file the safe loader could not load; `.path` names it."""
    def __init__(self, message: str, path: str | Path | None = None):
        super().__init__(message)
        self.path = None if path is None else Path(path)

    def __reduce__(self):                                    # survives a trip between processes
        return type(self), (str(self), self.path)


class UnsafeFileError(UnreadableFileError):
    """A file holds objects that the safe loader will not execute."""


class DamagedFileError(UnreadableFileError):
    """A file is truncated or not a torch file at all; `.path` names it."""


def _numpy_globals() -> list:
    """NumPy's constructors of plain numeric arrays and scalars (what format-1 checkpoints hold)."""
    core = getattr(np, "_core", None) or np.core
    out = [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray, np.dtype]
    out += [type(np.dtype(t)) for t in ("uint8", "uint32", "int32", "int64", "float16", "float32", "float64", "bool")]
    return out


def safe_torch_load(path: str | Path, numpy_arrays: bool = False):
    """`torch.load(path, weights_only=True)`; with `numpy_arrays`, NumPy arrays and scalars are allowed too.

    Raises `UnsafeFileError` (the file holds other objects: a class, a function, a command) or
    `DamagedFileError` (truncated, not a torch file), each naming the file and what to do.
    """
    path = Path(path)
    try:
        if numpy_arrays:
            with torch.serialization.safe_globals(_numpy_globals()):
                return torch.load(path, map_location="cpu", weights_only=True)
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = _unsafe_globals(path)
        raise UnsafeFileError(
            f"{path} holds Python objects that tgdfer's safe loader will not execute"
            + (f" ({', '.join(found[:4])})" if found else "")
            + ": loading it could run code on this machine, so it was not loaded. tgdfer writes tensors and plain "
              "values only; a file that holds more was not written by tgdfer, or was altered. Ask its author for "
              "the run folder's last.pt or best.pt as `python -m tgdfer train` writes it.", path) from e
    except (RuntimeError, EOFError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DamagedFileError(f"{path} could not be read ({str(e).splitlines()[0][:120]}): the file is truncated "
                               "or damaged (a full disk or an interrupted copy leaves it so). Delete it or copy it "
                               "again; a run folder whose last.pt is damaged can be moved aside and trained again.", path) from e


def _unsafe_globals(path: Path) -> list[str]:
    """The names of the objects the safe loader refused (read without executing anything)."""
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:                                        # the list is a courtesy: never fail on it
        return []


def to_plain(obj):
    """A copy of `obj` with NumPy scalars and arrays made plain Python values or tensors (safe to load)."""
    if isinstance(obj, dict):
        return {to_plain(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_plain(v) for v in obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy())
    if obj is None or isinstance(obj, (str, int, float, bool, torch.Tensor, torch.Size, torch.dtype, torch.device)):
        return obj
    raise TypeError(f"to_plain: a {type(obj).__name__} would not load through the safe loader; store it as "
                    "tensors and plain values")


def numpy_rng_state() -> dict:
    """NumPy's global random state as tensors and plain values (`np.random.get_state()` holds an array)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}


def set_numpy_rng_state(state) -> None:
    """Restore what `numpy_rng_state` stored (or the raw tuple of a format-1 checkpoint)."""
    if isinstance(state, dict):
        state = (state["name"], state["keys"].numpy().astype(np.uint32), state["pos"], state["has_gauss"],
                 state["cached_gaussian"])
    np.random.set_state(state)
