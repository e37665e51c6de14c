"""Compose the stages into a run: catalog of tables, a cache per stage, timings, warnings.

Each stage module exposes ``run_stage(tables, paths, settings) -> dict``. ``tables`` is a
:class:`Catalog`: a mapping that loads a named table from ``data/interim`` on first access.
A stage returns new named tables (DataFrames, saved to the catalog), and may return
``"_summary"``: a JSON-ready dict merged into ``run_summary.json``. Tables whose name starts
with ``private_`` are written to the git-ignored private folder as CSV, never to the catalog.

**A cache per stage.** A stage's key is the hash of what it reads (:data:`STAGE_SPECS`): the
content of the tables made upstream, the input files it opens (the codebook *as parsed*, so a
comment changes nothing), the settings it uses and its own code (its sub-package and
``core``). A stage is skipped when its key is unchanged and its outputs exist; when an
upstream stage reruns and gives identical tables, the stages after it stay cached. Tables from
different settings never mix: a stage made on other upstream tables has another key.
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
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from consultations.core import io as cio
from consultations.core.config import Paths, Settings
from consultations.core.errors import InputError, InputWarning
from consultations.core.settings import settings_as_dict
from consultations.core.version import __version__

__all__ = ["STAGES", "STAGE_SPECS", "Catalog", "StageSpec", "check_staged", "check_writable",
           "clean_staging", "run_pipeline", "stage_keys"]

#: Stage name -> module that implements ``run_stage``. Order is the data flow.
STAGES: dict[str, str] = {
    "ingest": "consultations.ingest.turns",
    "code": "consultations.coding.stage",
    "topics": "consultations.topics.stage",
    "compare": "consultations.compare.groups",
    "evidence": "consultations.evidence.grades",
    "export": "consultations.report.export",
}

_PKG = Path(__file__).resolve().parent


@dataclass(frozen=True)
class StageSpec:
    """What a stage reads, for its cache key.

    Attributes:
        files: folders or files of the data folder it opens (relative to ``data/``).
        settings: the :class:`Settings` fields and ``extra`` sections it uses.
        code: the package folders whose code it runs (its own sub-package, ``core``, and
            the lower layers it imports; a test checks this against the real imports).
        codebook: it reads the codebook (hashed as parsed: comments change nothing).

    """

    files: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    code: tuple[str, ...] = ("core",)
    codebook: bool = False


STAGE_SPECS: dict[str, StageSpec] = {
    "ingest": StageSpec(files=("transcripts",), settings=("spacy_model", "workshops", "ingest"),
                        code=("core", "ingest")),
    "code": StageSpec(files=("coded/manual", "coded/qdpx", "coded/review",
                             "coded/double_coding_subset.csv", "coded/coders.csv"),
                      settings=("seed", "coding", "spacy_model"),
                      code=("core", "coding", "interop"),
                      codebook=True),
    "topics": StageSpec(settings=("seed", "embedding", "reduction", "clustering", "n_topics",
                                  "embedding_model_path", "topic_sample_size", "topics"),
                        code=("core", "topics")),
    "compare": StageSpec(settings=("seed", "compare", "recommendations"),
                         code=("core", "compare", "coding")),
    "evidence": StageSpec(settings=("evidence", "compare"),
                          code=("core", "evidence", "compare", "coding", "interop")),
    "export": StageSpec(files=("private",), settings=("seed", "report"),
                        code=("core", "report", "evidence", "compare", "coding", "interop",
                              "topics")),
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

    def read(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Return a table, or only some of its columns read from disk (not kept in memory).

        A stage that needs a few columns of a large table reads just those from the Parquet
        file; a table already in memory is sliced instead. Columns the table lacks are left
        out (the stage checks what it needs).
        """
        if columns is None:
            return self[name]
        if name in self._mem:
            df = self._mem[name]
            return df[[c for c in columns if c in df.columns]]
        import pyarrow.parquet as pq

        have = set(pq.read_schema(cio.table_path(self.paths, name)).names) \
            if cio.table_exists(self.paths, name) else set(columns)
        return cio.load_table(self.paths, name, columns=[c for c in columns if c in have])

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


def _hash_path(h, p: Path, root: Path) -> None:
    if p.is_file():
        h.update(p.relative_to(root).as_posix().encode())
        h.update(cio.file_sha256(p).encode())
    elif p.is_dir():
        for q in sorted(p.rglob("*")):
            if q.is_file() and not q.name.startswith((".", "~$")):
                h.update(q.relative_to(root).as_posix().encode())
                h.update(cio.file_sha256(q).encode())


def _code_hash(folders: Iterable[str]) -> str:
    h = hashlib.sha256(__version__.encode())
    for folder in sorted(set(folders)):
        for src in sorted((_PKG / folder).rglob("*.py")):
            h.update(src.relative_to(_PKG).as_posix().encode())
            h.update(src.read_bytes())
    return h.hexdigest()


def _settings_part(settings: Settings, names: Iterable[str] | None) -> dict:
    full = settings_as_dict(settings)
    full.pop("source", None)
    ingest = {k: v for k, v in full["ingest"].items()
              if k not in {"engine", "workers", "scheduler", "batch_chars"}}  # same results
    flat = {"seed": full["seed"], "workshops": full["workshops"], "ingest": ingest,
            "spacy_model": full["ingest"]["spacy_model"], **full["topics"],
            **{k: v for k, v in full.items() if k not in
               {"seed", "workshops", "ingest", "topics"}}}
    if names is None:  # a stage without a spec: every setting counts
        return {"all": full, "extra": settings.extra}
    return {n: flat.get(n) for n in names}


def _codebook_digest(paths: Paths) -> str:
    file = paths.coded / "codebook.yaml"
    if not file.exists():
        return "absent"
    from consultations.coding.codebook import codebook_digest

    try:
        return codebook_digest(file)
    except InputError:
        return "invalid:" + cio.file_sha256(file)  # the stage will report the problem


def stage_key(name: str, paths: Paths, settings: Settings, upstream: Mapping[str, str]) -> str:
    """Return the cache key of stage ``name`` (see :data:`STAGE_SPECS`).

    ``upstream`` maps each table made by an earlier stage to its content hash.
    """
    spec = STAGE_SPECS.get(name)
    h = hashlib.sha256(name.encode())
    h.update(json.dumps(sorted(upstream.items())).encode())
    h.update(json.dumps(_settings_part(settings, spec.settings if spec else None),
                        sort_keys=True, default=str).encode())
    if spec is None:  # unknown stage (tests, plug-ins): every input file and all the code
        h.update(_code_hash(["."]).encode())
        for folder in (paths.transcripts, paths.coded):
            _hash_path(h, folder, paths.data)
        return h.hexdigest()
    h.update(_code_hash(spec.code).encode())
    for rel in spec.files:
        _hash_path(h, paths.data / rel, paths.data)
    if spec.codebook:
        h.update(_codebook_digest(paths).encode())
    return h.hexdigest()


def stage_keys(paths: Paths, settings: Settings) -> dict[str, str | None]:
    """Return the current key of every stage (``None`` once an upstream stage is not built).

    Uses the table hashes recorded when the upstream stages last ran.
    """
    state = _load_state(paths)
    upstream: dict[str, str] = {}
    keys: dict[str, str | None] = {}
    broken = False
    for name in STAGES:
        entry = state.get(name, {})
        key = None if broken else stage_key(name, paths, settings, upstream)
        keys[name] = key
        if key is None or entry.get("key") != key:
            broken = True
        else:
            upstream.update(entry.get("table_hashes", {}))
    return keys


def table_hash(df: pd.DataFrame) -> str:
    """Content hash of a table (columns, dtypes and values)."""
    h = hashlib.sha256(json.dumps([list(map(str, df.columns)),
                                   list(map(str, df.dtypes))]).encode())
    try:
        h.update(pd.util.hash_pandas_object(df, index=False).values.tobytes())
    except TypeError:  # unhashable cells (lists …): fall back to the Parquet bytes
        h.update(cio.frame_to_parquet_bytes(df))
    return h.hexdigest()


def check_writable(folder: Path) -> None:
    """Fail before any work is done when ``folder`` cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(folder, None, f"le dossier des résultats n'est pas accessible en écriture "
                         f"({exc.strerror}).",
                         "choisissez un autre dossier avec --out, ou corrigez ses droits.") from exc


def _load_state(paths: Paths) -> dict:
    p = paths.interim / _STATE
    return cio.read_json(p) if p.exists() else {}


_STAGING_PREFIX = ".staging-"


def clean_staging(reports: Path) -> list[str]:
    """Remove staging folders a killed or failed run left in ``reports`` (returns their names)."""
    if not reports.is_dir():
        return []
    left = sorted(p for p in reports.glob(_STAGING_PREFIX + "*") if p.is_dir())
    for p in left:
        shutil.rmtree(p, ignore_errors=True)
    return [p.name for p in left]


def _check_output(path: Path) -> str | None:
    """Return what is wrong with a staged output (None when it is complete)."""
    if not path.is_file():
        return "absent"
    if path.stat().st_size == 0:
        return "vide"
    suffix = path.suffix.lower()
    try:
        if suffix in {".docx", ".xlsx", ".qdpx", ".zip"}:
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
            if bad is not None:
                return f"archive endommagée (membre {bad})"
        elif suffix == ".pdf":
            with open(path, "rb") as fh:
                if fh.read(5) != b"%PDF-":
                    return "ne commence pas par %PDF"
        elif suffix == ".png":
            with open(path, "rb") as fh:
                if fh.read(8) != b"\x89PNG\r\n\x1a\n":
                    return "image PNG invalide"
    except (OSError, zipfile.BadZipFile) as exc:
        return f"illisible ({exc})"
    return None


def check_staged(staging: Path, expected: Iterable[str]) -> None:
    """Check every expected output of ``staging`` is present, non-empty and opens.

    Raises:
        InputError: naming each incomplete file (nothing is published then).

    """
    problems = {rel: why for rel in sorted(set(expected))
                if (why := _check_output(staging / rel)) is not None}
    if problems:
        listing = "\n".join(f"    {rel} : {why}" for rel, why in problems.items())
        raise InputError(staging, None, f"{len(problems)} fichier(s) d'export incomplet(s), "
                         f"rien n'est publié et les rapports précédents sont conservés :\n"
                         f"{listing}",
                         "vérifiez la place libre du disque, puis relancez "
                         "`consultations export`.")


def _publish(staging: Path, reports: Path, previous: Iterable[str],
             expected: Iterable[str] | None = None) -> list[str]:
    """Swap the checked outputs of ``staging`` into ``reports``; drop files the last run made.

    ``staging`` lies inside ``reports`` (same file system), so each move is an atomic rename
    that needs no free space. Nothing is moved until every expected file is checked
    (:func:`check_staged`); stale files of the last run are removed only after every new
    file is in place.
    """
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    rels = [p.relative_to(staging).as_posix() for p in files]
    check_staged(staging, rels if expected is None else expected)
    for src, rel in zip(files, rels, strict=True):
        dst = reports / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
    for rel in set(previous) - set(rels):
        stale = reports / rel
        if stale.is_file():
            stale.unlink()
    return rels


def _relative_warning(w: dict, paths: Paths) -> dict:
    """Store a warning's file relative to the data folder (a copied folder keeps its paths)."""
    f = w.get("file")
    if f:
        try:
            w = {**w, "file": "@data/" + Path(f).resolve().relative_to(paths.data).as_posix()}
        except (ValueError, OSError):
            pass
    return w


def _absolute_warning(w: dict, paths: Paths) -> dict:
    f = w.get("file")
    if isinstance(f, str) and f.startswith("@data/"):
        w = {**w, "file": str(paths.data / f[len("@data/"):])}
    return w


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
        paths: folders (see :func:`consultations.core.config.get_paths`).
        settings: run settings; default :class:`Settings()`.
        stages: which stages to run (default all, in data-flow order). Stages before them
            that are not current run too (a stage needs its upstream tables).
        force: run stages even when their cached outputs are up to date (True: every stage
            run; a collection of names: those stages only).
        progress: where one-line progress messages go.

    Returns:
        The run summary dict (counts, versions, seeds, settings, timings, warnings).

    """
    settings = settings or Settings()
    wanted = list(stages or STAGES)
    unknown = [s for s in wanted if s not in STAGES]
    if unknown:
        raise InputError(None, None, f"étape(s) inconnue(s) {unknown}.",
                         f"choisissez parmi : {', '.join(STAGES)}.")
    last = max(list(STAGES).index(s) for s in wanted)
    check_writable(paths.reports)
    left = clean_staging(paths.reports)
    if left:
        progress(f"dossier(s) de préparation laissé(s) par une exécution interrompue, "
                 f"supprimé(s) : {', '.join(left)}")
    paths.interim.mkdir(parents=True, exist_ok=True)

    state = _load_state(paths)
    catalog = Catalog(paths)
    summary: dict = {
        "version": __version__,
        "data": str(paths.data),
        "reports": str(paths.reports),
        "settings": settings_as_dict(settings),
        "stages": {},
        "warnings": [],
    }
    upstream: dict[str, str] = {}
    t_run = time.perf_counter()
    for idx, name in enumerate(STAGES):
        if idx > last:
            break
        entry = state.get(name, {})
        key = stage_key(name, paths, settings, upstream)
        outputs = entry.get("outputs", [])
        current = (entry.get("key") == key
                   and all(cio.table_exists(paths, t) for t in outputs)
                   and (name != "export" or all((paths.reports / f).exists()
                                                for f in entry.get("files", []))))
        forced = force is True or (not isinstance(force, bool) and name in set(force))
        if current and not (forced and name in wanted):
            if name in wanted:
                progress(f"[{name}] à jour (cache), ignoré")
            summary["stages"][name] = {**entry.get("summary", {}), "cached": True,
                                       "seconds": 0.0}
            summary["warnings"].extend(_absolute_warning(w, paths)
                                       for w in entry.get("warnings", []))
            upstream.update(entry.get("table_hashes", {}))
            continue
        progress(f"[{name}] …")
        module = importlib.import_module(STAGES[name])
        t0 = time.perf_counter()
        staging = None
        stage_paths = paths
        if name == "export":
            # Inside reports/: same file system (renames, no copy), and a read-only parent
            # of reports/ does not matter.
            staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=paths.reports))
            stage_paths = replace(paths, reports=staging)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", InputWarning)
                result = module.run_stage(catalog, stage_paths, settings)
            stage_warnings = [w.message.as_dict() for w in caught
                              if isinstance(w.message, InputWarning)]
            # Library warnings (BERTopic, scikit-learn …) go to the summary, not to the
            # notebook or terminal, where they would bury the input warnings.
            library = sorted({f"{w.category.__name__}: {w.message}" for w in caught
                              if not isinstance(w.message, InputWarning)})
            stage_summary = dict(result.pop("_summary", {}) or {})
            produced, hashes = [], {}
            for tname, df in result.items():
                if tname.startswith("private_"):
                    # The private folder and its files stay private: 0700 and 0600.
                    paths.private.mkdir(mode=0o700, parents=True, exist_ok=True)
                    os.chmod(paths.private, 0o700)
                    target = paths.private / f"{tname[len('private_'):]}.csv"
                    cio.atomic_write_text(target, df.to_csv(index=False))
                    os.chmod(target, 0o600)
                else:
                    catalog.put(tname, df)
                    produced.append(tname)
                    hashes[tname] = table_hash(df)
            files = []
            if staging is not None:
                expected = stage_summary.get("files") if isinstance(stage_summary.get("files"),
                                                                    list) else None
                files = _publish(staging, paths.reports, state.get(name, {}).get("files", []),
                                 expected)
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        seconds = round(time.perf_counter() - t0, 2)
        stage_summary.setdefault("tables", {t: int(len(catalog[t])) for t in produced})
        if library:
            stage_summary["library_warnings"] = library
        summary["stages"][name] = {**stage_summary, "cached": False, "seconds": seconds}
        summary["warnings"].extend(stage_warnings)
        upstream.update(hashes)
        state[name] = {"key": key, "outputs": produced, "files": files,
                       "table_hashes": hashes, "summary": stage_summary,
                       "warnings": [_relative_warning(w, paths) for w in stage_warnings],
                       "ran_at": time.time()}
        cio.write_json(paths.interim / _STATE, state)
        progress(f"[{name}] terminé en {seconds:.1f} s"
                 + (f" ({len(stage_warnings)} avertissement(s))" if stage_warnings else ""))
    # Stages after the last one asked for: in the summary only when still current, so that
    # run_summary.json describes every stage the reports rest on.
    for name in list(STAGES)[last + 1:]:
        entry = state.get(name, {})
        if entry.get("key") and entry.get("key") == stage_key(name, paths, settings, upstream):
            summary["stages"][name] = {**entry.get("summary", {}), "cached": True,
                                       "seconds": 0.0}
            summary["warnings"].extend(_absolute_warning(w, paths)
                                       for w in entry.get("warnings", []))
            upstream.update(entry.get("table_hashes", {}))
        else:
            break
    summary["seconds_total"] = round(time.perf_counter() - t_run, 2)
    cio.write_json(paths.reports / "run_summary.json", summary)
    return summary
