"""Progress bars with counts, one per stage step, shown on a terminal only.

Every stage reports its progress through :func:`progress_bar` (a ``tqdm`` bar): ingest the
files read and the NLP batches, code the segments coded, topics the fit and the assignment,
compare the tests, evidence the tables, export the files written. A finished bar stays as
one line with its final counts (``[ingest] fichiers lus : 100%|…| 12/12``).

The bars are off in notebooks (the cells show the results instead) and when standard error
is not a terminal (CI logs, the benchmark's child processes). The environment variable
``CONSULTATIONS_PROGRESS`` overrides that: ``1`` shows them anywhere, ``0`` hides them.
"""

from __future__ import annotations

import os
import sys

__all__ = ["PROGRESS_ENV", "progress_bar", "progress_on"]

#: Environment variable that forces the bars on (``1``) or off (``0``).
PROGRESS_ENV = "CONSULTATIONS_PROGRESS"


def progress_on() -> bool:
    """Return whether progress bars are shown (see the module docstring)."""
    forced = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if forced in {"1", "true", "yes", "on"}:
        return True
    if forced in {"0", "false", "no", "off"}:
        return False
    if "ipykernel" in sys.modules:
        return False
    return bool(hasattr(sys.stderr, "isatty") and sys.stderr.isatty())


def progress_bar(total: int | None, desc: str, unit: str, initial: int = 0):
    """Return a progress bar with counts on standard error (off unless :func:`progress_on`).

    Args:
        total: the count at completion (``None`` when unknown).
        desc: what is counted, prefixed with the stage (``"[code] segments codés"``).
        unit: the unit shown after the counts (``"fichiers"``, ``"lots"``).
        initial: count already done (batches resumed from an interrupted run).

    Returns:
        A ``tqdm`` bar: call ``update(n)``, ``set_postfix(...)`` and ``close()`` (or use it as
        a context manager). A closed bar leaves one line with its final counts.

    """
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit=f" {unit}", leave=True,
                disable=not progress_on(), dynamic_ncols=True, file=sys.stderr,
                mininterval=0.5)
