"""The one exception for bad input data: its message names the file and says how to fix it."""
from __future__ import annotations


class DataError(ValueError):
    """A dataset file or folder is missing, malformed or inconsistent.

    The message always names the offending path and the fix; the command-line tools print it
    without a traceback.
    """

    def __init__(self, path, problem: str, fix: str = ""):
        self.path, self.problem, self.fix = str(path), problem, fix
        msg = f"{path}: {problem}"
        if fix:
            msg += f"\n  fix: {fix}"
        super().__init__(msg)
