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
from consultations.core.errors import InputError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_path",
    "content_hash",
    "file_sha256",
    "load_table",
    "read_columns",
    "read_bytes",
    "save_table",
    "table_exists",
    "table_path",
    "read_json",
    "write_json",
    "frame_to_parquet_bytes",
    "check_zip",
    "safe_zip_read",
    "ZIP_MEMBER_LIMIT",
    "ZIP_RATIO_LIMIT",
]

#: Largest member (uncompressed bytes) :func:`safe_zip_read` accepts by default: 256 MiB.
ZIP_MEMBER_LIMIT = 256 * 1024 * 1024
#: Largest compression ratio (uncompressed / compressed) accepted for a member above 1 MiB.
ZIP_RATIO_LIMIT = 200
_RATIO_FLOOR = 1024 * 1024


def read_bytes(path: str | Path) -> bytes:
    """Read a file's bytes (inputs are opened read-only, never modified)."""
    with open(path, "rb") as fh:
        return fh.read()


def safe_zip_read(zf, name: str, limit: int = ZIP_MEMBER_LIMIT,
                  max_ratio: float = ZIP_RATIO_LIMIT, where: str | Path | None = None) -> bytes:
    """Read one member of an open zip archive, refusing archive bombs.

    The member's declared size and compression ratio are checked before anything is read,
    then it is streamed in chunks and the read stops as soon as ``limit`` is passed (a header
    may lie). Nothing is extracted to disk. Use it for every archive that comes from outside
    (``.qdpx``, ``.docx``, ``.xlsx``): ``zf.read`` reads a member whole, whatever its size.

    Args:
        zf: an open :class:`zipfile.ZipFile`.
        name: the member's name.
        limit: largest uncompressed size accepted, in bytes.
        max_ratio: largest uncompressed/compressed ratio accepted for members above 1 MiB
            (ordinary text and XML stay far below 200; a bomb of zeros is near 1000).
        where: the archive's path, for the message (default ``zf.filename``).

    Returns:
        The member's bytes.

    Raises:
        InputError: the member is too large, too compressed, or unreadable.

    """
    import zipfile

    where = str(where or getattr(zf, "filename", None) or "<archive>")
    hint = ("l'archive est peut-être endommagée ou piégée : exportez-la de nouveau depuis "
            "l'outil qui l'a produite, ou scindez-la")
    try:
        info = zf.getinfo(name)
    except KeyError as exc:
        raise InputError(f"{where}!{name}", None, "membre absent de l'archive", hint) \
            from exc
    if info.file_size > limit:
        raise InputError(f"{where}!{name}", None,
                         f"membre trop volumineux : {info.file_size:,} octets décompressés "
                         f"(limite {limit:,})".replace(",", " "), hint)
    if info.file_size > _RATIO_FLOOR and info.file_size > max_ratio * max(info.compress_size, 1):
        raise InputError(f"{where}!{name}", None,
                         f"membre compressé {info.file_size / max(info.compress_size, 1):.0f} "
                         f"fois (limite {max_ratio:g}) : refusé comme possible bombe zip", hint)
    chunks, total = [], 0
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(min(1 << 20, limit + 1 - total))
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise InputError(f"{where}!{name}", None,
                                     f"membre plus grand que déclaré et que la limite "
                                     f"({limit:,} octets)".replace(",", " "), hint)
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise InputError(f"{where}!{name}", None, f"membre illisible ({exc})", hint) from exc
    return b"".join(chunks)


def check_zip(path: str | Path, limit: int = ZIP_MEMBER_LIMIT,
              max_ratio: float = ZIP_RATIO_LIMIT, total_limit: int | None = None) -> None:
    """Refuse an archive before a library opens it (python-docx, openpyxl read zips whole).

    Checks every member's declared size and compression ratio (as :func:`safe_zip_read`),
    and the sum of the sizes (default ``4 × limit``). :mod:`zipfile` never returns more bytes
    than a member declares, so checking the declarations is enough for readers built on it.

    Raises:
        InputError: naming the first member over a limit, or a damaged archive.

    """
    import zipfile

    total_limit = 4 * limit if total_limit is None else total_limit
    hint = ("l'archive est peut-être endommagée ou piégée : enregistrez de nouveau le fichier "
            "depuis l'outil qui l'a produit")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(path, None, f"archive illisible ({exc})", hint) from exc
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > limit or (info.file_size > _RATIO_FLOOR and info.file_size
                                      > max_ratio * max(info.compress_size, 1)):
            raise InputError(f"{path}!{info.filename}", None,
                             f"membre trop volumineux ou trop compressé ({info.file_size:,} "
                             f"octets décompressés pour {info.compress_size:,} compressés ; "
                             f"limites {limit:,} octets et {max_ratio:g} fois)"
                             .replace(",", " "), hint)
    if total > total_limit:
        raise InputError(path, None, f"archive trop volumineuse une fois décompressée "
                         f"({total:,} octets, limite {total_limit:,})".replace(",", " "), hint)


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


def read_columns(tables, name: str, columns: Iterable[str]) -> pd.DataFrame:
    """Only ``columns`` of a named table (those it has), for a stage that needs part of it.

    The pipeline's catalog reads just those columns from the Parquet file (the rest never
    reaches memory); a plain mapping of tables (tests, notebooks) is sliced.
    """
    columns = list(columns)
    reader = getattr(tables, "read", None)
    if callable(reader):
        return reader(name, columns=columns)
    df = tables[name]
    return df[[c for c in columns if c in df.columns]]


def load_table(paths: Paths, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Load a named derived table (only ``columns`` if given); say what to run if missing."""
    p = table_path(paths, name)
    if not p.exists():
        raise FileNotFoundError(
            f"{p}: table '{name}' has not been built yet. Run `consultations run` "
            "(or the stage that makes it) first."
        )
    return pd.read_parquet(p, columns=list(columns) if columns is not None else None)
