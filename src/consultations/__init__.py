"""consultations: qualitative analysis of consultation workshops.

The public API (``import consultations as cs``):

- :func:`open` — open a project (data folder + settings file + reports folder) → :class:`Project`
  with ``run()``, ``table(name)``, ``tables()``, ``quotes(code, group)``,
  ``coded_segments(code, group)``, ``figures()``, ``status()``, ``init_settings()``,
  ``review_export()``, ``review_import(file)``, ``agreement_report()``;
- :class:`Settings`, :func:`load_settings` — the run settings and the settings file;
- :data:`STAGES`, :data:`TABLES` — the stages in data-flow order and the table contract;
- :class:`InputError`, :class:`InputWarning` — problems in the input, with file and line.

Sub-packages follow the data flow: ``core`` (paths, settings, disk, table contract, errors,
text utilities) → ``ingest`` → ``coding`` (+ ``interop`` for REFI-QDA) → ``topics`` →
``compare`` → ``evidence`` → ``report``; ``pipeline``, ``project`` and ``cli`` compose them.
Nothing runs at import time.
"""

from consultations.core.config import Paths, Settings, get_paths
from consultations.core.errors import InputError, InputWarning
from consultations.core.schema import TABLES
from consultations.core.settings import SETTINGS_FILE, load_settings
from consultations.core.version import __version__
from consultations.pipeline import STAGES, run_pipeline
from consultations.project import Project, open_project

open = open_project  # noqa: A001 - the API's entry point reads naturally as cs.open(...)

__all__ = [
    "SETTINGS_FILE",
    "STAGES",
    "TABLES",
    "InputError",
    "InputWarning",
    "Paths",
    "Project",
    "Settings",
    "__version__",
    "get_paths",
    "load_settings",
    "open",
    "run_pipeline",
]


def __dir__() -> list[str]:
    return sorted(__all__)
