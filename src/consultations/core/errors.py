"""Errors and warnings for people: which file, which line, what was expected, what to do."""

from __future__ import annotations

import warnings
from pathlib import Path

__all__ = ["InputError", "InputWarning", "warn_input", "format_location"]


def format_location(path: str | Path | None, line: int | None = None) -> str:
    """Render ``file:line`` (or just the file) for messages."""
    if path is None:
        return "<entrée>"
    return f"{path}:{line}" if line else str(path)


class _Located:
    """Shared by errors and warnings: the file, the line, what is wrong and what to do."""

    def _locate(self, path, line: int | None, message: str, hint: str, joiner: str) -> str:
        self.path = None if path is None else str(path)
        self.line = line
        self.message = message
        self.hint = hint
        text = f"{format_location(path, line)}: {message}"
        return text + (joiner.format(hint) if hint else "")

    def as_dict(self) -> dict:
        """Return the problem as a JSON-ready record (for run_summary.json)."""
        return {"file": self.path, "line": self.line, "message": self.message, "hint": self.hint}


class InputError(_Located, ValueError):
    """Bad input that stops a stage. Carries the file, the line and what to do.

    Args:
        path: the offending file.
        line: 1-based line (or row) number, if known.
        message: what is wrong.
        hint: what the user should do about it.

    """

    def __init__(self, path, line: int | None, message: str, hint: str = ""):
        super().__init__(self._locate(path, line, message, hint, "\n  → {}"))


class InputWarning(_Located, UserWarning):
    """A problem in the input the run can go on with, without loss."""

    def __init__(self, path, line: int | None, message: str, hint: str = ""):
        super().__init__(self._locate(path, line, message, hint, " ({})"))


def warn_input(path, line: int | None, message: str, hint: str = "") -> None:
    """Issue an :class:`InputWarning` (collected by the pipeline into the run summary)."""
    warnings.warn(InputWarning(path, line, message, hint), stacklevel=2)
