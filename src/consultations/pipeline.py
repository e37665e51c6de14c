"""Compose the stages into a run: catalog of tables, caching, timings, warnings, run summary.

Each stage module exposes ``run_stage(tables, paths, settings) -> dict``. ``tables`` is a
:class:`Catalog`: a mapping that loads a named table from ``data/interim`` on first access.
A stage returns new named tables (DataFrames, saved to the catalog), and may return
``"_summary"``: a JSON-ready dict merged into ``run_summary.json``. Tables whose name starts
with ``private_`` are written to the git-ignored private folder as CSV, never to the catalog.

A stage is skipped when its inputs (the data folder's files, the settings and the package
version) are unchanged since it last ran and its outputs exist. The export stage writes into a
staging folder that replaces the files in ``reports/`` only when everything succeeded.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd

from . import __version__
from . import io as cio
from .config import Paths, Settings
from .errors import InputError, InputWarning

__all__ = ["STAGES", "Catalog", "check_writable", "input_fingerprint", "run_pipeline"]

#: Stage name -> module that implements ``run_stage``. Order is the data flow.
STAGES: dict[str, str] = {
    "ingest": "consultations.ingest",
    "code": "consultations.code",
    "topics": "consultations.topics",
    "compare": "consultations.compare",
    "evidence": "consultations.evidence",
    "export": "consultations.export",
}

_STATE = "_stages.json"


class Catalog(Mapping):
    """Named tables: kept in memory once built or loaded, loaded from ``data/interim`` on demand."""

    def __init__(self, paths: Paths, tables: dict[str, pd.DataFrame] | None = None):
        self.paths = paths
        self._mem: dict[str, pd.DataFrame] = dict(tables or {})

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._mem:
            self._mem[name] = cio.load_table(self.paths, name)
        return self._mem[name]

    def __contains__(self, name) -> bool:
        return name in self._mem or cio.table_exists(self.paths, name)

    def __iter__(self):
        names = set(self._mem)
        if self.paths.interim.exists():
            names |= {p.stem for p in self.paths.interim.glob("*.parquet")}
        return iter(sorted(names))

    def __len__(self) -> int:
        return len(list(iter(self)))

    def put(self, name: str, df: pd.DataFrame) -> None:
        """Keep a table in memory and save it to the catalog."""
        self._mem[name] = df
        cio.save_table(self.paths, name, df)


def input_fingerprint(paths: Paths, settings: Settings) -> str:
    """Hash of every input file (name and content), the settings and the package code."""
    h = hashlib.sha256()
    h.update(__version__.encode())
    # The package's own code: a changed stage must not be served from a stale cache.
    for src in sorted(Path(__file__).parent.rglob("*.py")):
        h.update(src.name.encode())
        h.update(src.read_bytes())
    h.update(json.dumps(asdict(settings), sort_keys=True, default=str).encode())
    for folder in (paths.transcripts, paths.coded):
        if not folder.exists():
            continue
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.name.startswith((".", "~$")):
                h.update(str(p.relative_to(paths.data)).encode())
                h.update(cio.file_sha256(p).encode())
    return h.hexdigest()


def check_writable(folder: Path) -> None:
    """Fail before any work is done when ``folder`` cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(folder, None, f"the output folder is not writable ({exc.strerror}).",
                         "choose another folder with --out, or fix its permissions.") from exc


def _load_state(paths: Paths) -> dict:
    p = paths.interim / _STATE
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def _publish(staging: Path, reports: Path, previous: Iterable[str]) -> list[str]:
    """Move every file of ``staging`` into ``reports`` and drop files the last run made."""
    written = []
    for src in sorted(p for p in staging.rglob("*") if p.is_file()):
        rel = src.relative_to(staging)
        dst = reports / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        written.append(rel.as_posix())
    for rel in set(previous) - set(written):
        stale = reports / rel
        if stale.is_file():
            stale.unlink()
    return written


def run_pipeline(
    paths: Paths,
    settings: Settings | None = None,
    stages: Iterable[str] | None = None,
    *,
    force: bool | Iterable[str] = False,
    progress: Callable[[str], None] = print,
) -> dict:
    """Run stages in order and return the run summary (also written to reports/).

    Args:
        paths: folders (see :func:`consultations.config.get_paths`).
        settings: run settings; default :class:`Settings()`.
        stages: which stages to run (default all, in data-flow order).
        force: run stages even when their cached outputs are up to date (True: every stage
            run; a collection of names: those stages only).
        progress: where one-line progress messages go.

    Returns:
        The run summary dict (counts, versions, seeds, timings, warnings).

    """
    settings = settings or Settings()
    wanted = list(stages or STAGES)
    unknown = [s for s in wanted if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; choose among {list(STAGES)}")
    check_writable(paths.reports)
    paths.interim.mkdir(parents=True, exist_ok=True)

    fingerprint = input_fingerprint(paths, settings)
    state = _load_state(paths)
    catalog = Catalog(paths)
    summary: dict = {
        "version": __version__,
        "data": str(paths.data),
        "reports": str(paths.reports),
        "settings": asdict(settings),
        "input_fingerprint": fingerprint,
        "stages": {},
        "warnings": [],
    }
    t_run = time.perf_counter()
    for name in STAGES:
        entry = state.get(name, {})
        if name not in wanted:
            # Not asked for: keep it in the summary when its results are current, so that
            # run_summary.json always describes every stage the reports rest on.
            if entry.get("fingerprint") == fingerprint:
                summary["stages"][name] = {**entry.get("summary", {}), "cached": True,
                                           "seconds": 0.0}
                summary["warnings"].extend(entry.get("warnings", []))
            continue
        outputs = entry.get("outputs", [])
        forced = force is True or (not isinstance(force, bool) and name in set(force))
        cached = (
            not forced
            and entry.get("fingerprint") == fingerprint
            and all(cio.table_exists(paths, t) for t in outputs)
            and (name != "export" or all((paths.reports / f).exists()
                                         for f in entry.get("files", [])))
        )
        if cached:
            progress(f"[{name}] à jour (cache), ignoré")
            summary["stages"][name] = {**entry.get("summary", {}), "cached": True,
                                       "seconds": 0.0}
            summary["warnings"].extend(entry.get("warnings", []))
            continue
        progress(f"[{name}] …")
        module = importlib.import_module(STAGES[name])
        t0 = time.perf_counter()
        staging = None
        stage_paths = paths
        if name == "export":
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=paths.reports.parent))
            stage_paths = replace(paths, reports=staging)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", InputWarning)
                result = module.run_stage(catalog, stage_paths, settings)
            stage_warnings = [w.message.as_dict() for w in caught
                              if isinstance(w.message, InputWarning)]
            for w in caught:
                if not isinstance(w.message, InputWarning):
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            stage_summary = dict(result.pop("_summary", {}) or {})
            produced = []
            for tname, df in result.items():
                if tname.startswith("private_"):
                    paths.private.mkdir(parents=True, exist_ok=True)
                    cio.atomic_write_text(paths.private / f"{tname[len('private_'):]}.csv",
                                          df.to_csv(index=False))
                else:
                    catalog.put(tname, df)
                    produced.append(tname)
            files = []
            if staging is not None:
                files = _publish(staging, paths.reports, state.get(name, {}).get("files", []))
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        seconds = round(time.perf_counter() - t0, 2)
        stage_summary.setdefault("tables", {t: int(len(catalog[t])) for t in produced})
        summary["stages"][name] = {**stage_summary, "cached": False, "seconds": seconds}
        summary["warnings"].extend(stage_warnings)
        state[name] = {"fingerprint": fingerprint, "outputs": produced, "files": files,
                       "summary": stage_summary, "warnings": stage_warnings}
        cio.write_json(paths.interim / _STATE, state)
        progress(f"[{name}] terminé en {seconds:.1f} s"
                 + (f" ({len(stage_warnings)} avertissement(s))" if stage_warnings else ""))
    summary["seconds_total"] = round(time.perf_counter() - t_run, 2)
    cio.write_json(paths.reports / "run_summary.json", summary)
    return summary
