"""All disk access: reading inputs, atomic writes, and the catalog of derived tables.

Derived tables live in ``data/interim/<name>.parquet``. Human-authored inputs are only ever
read. Every write goes to a temporary file in the same folder, then replaces the target, so a
crash never leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import hashlib
import io as _io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from consultations.core.config import Paths

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_path",
    "content_hash",
    "file_sha256",
    "load_table",
    "read_bytes",
    "save_table",
    "table_exists",
    "table_path",
    "read_json",
    "write_json",
    "frame_to_parquet_bytes",
]


def read_bytes(path: str | Path) -> bytes:
    """Read a file's bytes (inputs are opened read-only, never modified)."""
    with open(path, "rb") as fh:
        return fh.read()


def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def content_hash(key: str, texts: Iterable[str]) -> str:
    """Cache key: SHA-256 hex digest of ``key`` (model/settings) then each text, NUL-separated.

    Args:
        key: what else the cached result depends on (a model name and version …).
        texts: the texts, in order.

    Returns:
        The hex digest (callers may shorten it).

    """
    h = hashlib.sha256(key.encode())
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    Use it for writers that want a file name (python-docx, openpyxl, matplotlib, zip files).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix,
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; published outputs get the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(target: str | Path, data: bytes) -> Path:
    """Write bytes to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | Path, text: str, encoding: str = "utf-8") -> Path:
    r"""Write text (UTF-8, ``\n`` line endings) to ``target`` atomically."""
    return atomic_write_bytes(target, text.encode(encoding))


def read_json(path: str | Path):
    """Read a JSON file written by :func:`write_json`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_json(target: str | Path, obj) -> Path:
    """Write JSON (sorted keys, UTF-8, indented) atomically."""
    text = json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return atomic_write_text(target, text + "\n")


def frame_to_parquet_bytes(df: pd.DataFrame) -> bytes:
    """Serialise a frame to Parquet bytes deterministically (same frame → same bytes)."""
    buf = _io.BytesIO()
    df.reset_index(drop=True).to_parquet(buf, index=False, engine="pyarrow", compression="zstd")
    return buf.getvalue()


def table_path(paths: Paths, name: str) -> Path:
    """Path of a named derived table in the catalog."""
    return paths.interim / f"{name}.parquet"


def table_exists(paths: Paths, name: str) -> bool:
    """Whether a named table has been built."""
    return table_path(paths, name).exists()


def save_table(paths: Paths, name: str, df: pd.DataFrame) -> Path:
    """Save a named derived table (``data/interim/<name>.parquet``) atomically."""
    return atomic_write_bytes(table_path(paths, name), frame_to_parquet_bytes(df))


def load_table(paths: Paths, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Load a named derived table (only ``columns`` if given); say what to run if missing."""
    p = table_path(paths, name)
    if not p.exists():
        raise FileNotFoundError(
            f"{p}: table '{name}' has not been built yet. Run `consultations run` "
            "(or the stage that makes it) first."
        )
    return pd.read_parquet(p, columns=list(columns) if columns is not None else None)
