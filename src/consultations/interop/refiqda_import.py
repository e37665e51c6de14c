"""REFI-QDA import: codings made in NVivo, ATLAS.ti, MAXQDA or QualCoder back on our segments.

:func:`import_qdpx` reads a ``.qdpx`` project (validated against ``Project.xsd``) and returns
its codings as ``manual`` codings on our segment IDs. Rule: a selection codes a segment when
it overlaps at least half of the segment's characters, or when it lies entirely inside the
segment (a short quote). Codes are matched by GUID, then by the ``Identifiant :`` line of
their description, then by name (label or code id, case- and accent-insensitive); unknown
codes are reported. :func:`read_codebook_qdc` reads the codes of a ``.qdc`` or of a project.
"""

from __future__ import annotations

import bisect
import itertools
import re
import zipfile
from pathlib import Path

import pandas as pd

from consultations.core.errors import InputError, warn_input
from consultations.core.io import ZIP_MEMBER_LIMIT, ZIP_RATIO_LIMIT, safe_zip_read
from consultations.core.textutils import fold
from consultations.interop.refiqda_common import (
    TOOL_USER,
    as_text,
    code_guid,
    is_automatic_user,
    norm_guid,
    parse_qda_xml,
    qda_body,
    qda_clean,
    qda_guid,
    qda_ordered,
    validate_project,
)

__all__ = ["import_qdpx", "read_codebook_qdc"]

_MIN_OVERLAP = 0.5


# --------------------------------------------------------------------------- codes


def read_codebook_qdc(data: bytes, codebook: pd.DataFrame | None = None,
                      where: str = "codebook.qdc") -> pd.DataFrame:
    """Read the codes of a ``.qdc`` (or a ``project.qde``'s CodeBook) as a flat table.

    Returns:
        One row per code in document order: ``guid``, ``name``, ``description``,
        ``parent_guid``, ``is_codable``, ``color``, and ``code_id``/``parent`` when
        ``codebook`` is given (matched as in :func:`import_qdpx`; empty when unmatched).

    Raises:
        InputError: not well-formed, or a DOCTYPE/entity declaration (refused, never read).

    """
    from lxml import etree

    root = parse_qda_xml(data, where)  # no DTD, no entity, no network
    rows = []
    for el in root.iter("{*}Code"):
        par = el.getparent()
        desc = el.find("{*}Description")
        rows.append({
            "guid": norm_guid(el.get("guid")), "name": el.get("name") or "",
            "description": (desc.text or "") if desc is not None else "",
            "parent_guid": norm_guid(par.get("guid")) if etree.QName(par).localname == "Code"
            else "",
            "is_codable": el.get("isCodable", "true") in {"true", "1"},
            "color": el.get("color") or "",
        })
    out = pd.DataFrame(rows, columns=["guid", "name", "description", "parent_guid",
                                      "is_codable", "color"])
    if codebook is not None:
        matched = [_match_code(r, codebook) for _, r in out.iterrows()]
        ids = dict(zip(out["guid"], matched, strict=True))
        out["code_id"] = out["guid"].map(ids).fillna("")
        out["parent"] = out["parent_guid"].map(ids).fillna("")
    return out


def _match_code(row, codebook: pd.DataFrame) -> str | None:
    """Our code_id for a foreign code: by GUID, ``Identifiant :`` line, then name."""
    by_guid = {code_guid(c): str(c) for c in codebook["code_id"]}
    if row["guid"] in by_guid:
        return by_guid[row["guid"]]
    m = re.search(r"^Identifiant : (\S+)\s*$", row.get("description") or "", re.MULTILINE)
    ids = set(map(str, codebook["code_id"]))
    if m and m.group(1) in ids:
        return m.group(1)
    name = fold(row.get("name") or "")
    for _, c in codebook.iterrows():
        if name and name in {fold(str(c["code_id"])), fold(as_text(c.get("label")))}:
            return str(c["code_id"])
    return None


# --------------------------------------------------------------------------- projects


class _Archive:
    """A ``.qdpx`` opened for reading: members read one at a time, only when needed, capped.

    Nothing is extracted to disk; each member goes through
    :func:`consultations.core.io.safe_zip_read` (size and compression-ratio limits).
    """

    def __init__(self, path: Path, limit: int, max_ratio: float):
        self.path, self.limit, self.max_ratio = path, limit, max_ratio
        try:
            with zipfile.ZipFile(path) as zf:
                self.names = [n for n in zf.namelist() if not n.endswith("/")]
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(path, None, f"l'archive est endommagée ({exc})",
                             "exportez de nouveau le projet depuis votre logiciel "
                             "d'analyse qualitative") from exc

    def read(self, name: str) -> bytes:
        try:
            with zipfile.ZipFile(self.path) as zf:
                return safe_zip_read(zf, name, self.limit, self.max_ratio, where=self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(self.path, None, f"l'archive est endommagée ({exc})",
                             "exportez de nouveau le projet depuis votre logiciel "
                             "d'analyse qualitative") from exc


def _open_qdpx(path: Path, limit: int = ZIP_MEMBER_LIMIT,
               max_ratio: float = ZIP_RATIO_LIMIT) -> tuple[bytes, _Archive]:
    if not path.is_file():
        raise InputError(path, None, "fichier introuvable",
                         "vérifiez le chemin du .qdpx à importer")
    if not zipfile.is_zipfile(path):
        raise InputError(path, None, "ce n'est pas une archive de projet REFI-QDA (un .qdpx est "
                         "un fichier zip)",
                         "exportez de nouveau le projet depuis votre logiciel "
                         "d'analyse qualitative "
                         "au format « REFI-QDA project (.qdpx) »")
    archive = _Archive(path, limit, max_ratio)
    qde = [n for n in archive.names if n.lower().rsplit("/", 1)[-1] == "project.qde"]
    if not qde:
        raise InputError(path, None, "l'archive ne contient pas de project.qde",
                         "un .qdpx doit contenir project.qde à sa racine ; exportez-le de "
                         "nouveau")
    return archive.read(sorted(qde, key=len)[0]), archive


def _source_text(el, archive: _Archive, where: str) -> str | None:
    inline = el.find("{*}PlainTextContent")
    if inline is not None and inline.text is not None:
        return inline.text
    target = (el.get("plainTextPath") or "").split("://", 1)[-1].rsplit("/", 1)[-1].lower()
    for name in archive.names:
        if target and name.lower().rsplit("/", 1)[-1] == target:
            return archive.read(name).decode("utf-8-sig", errors="replace")
    warn_input(where, el.sourceline, f"la source « {el.get('name')} » n'a pas de texte lisible "
               f"({el.get('plainTextPath')!r}) : ses sélections sont ignorées")
    return None


def _locate(text: str, segs: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Segment spans in ``text``: ours when the body is unchanged, else found in order."""
    body, seg_spans, _ = qda_body(segs)
    off = text.find(body.rstrip("\n"))
    if off >= 0:
        return {sid: (a + off, b + off) for sid, a, b in seg_spans}
    out, cursor = {}, 0
    for _, s in segs.iterrows():
        t = qda_clean(s["text"])
        i = text.find(t, cursor)
        i = text.find(t) if i < 0 else i
        if i >= 0 and t:
            out[s["segment_id"]] = (i, i + len(t))
            cursor = i + len(t)
    return out


def _segments_for(a: int, b: int, index: tuple[list[int], list[tuple]]) -> list[str]:
    """Segments coded by the selection [a, b): overlap ≥ half the segment, or a inside it."""
    max_ends, spans = index  # spans sorted by start; running maximum of their ends
    hits = []
    for s, e, sid in spans[bisect.bisect_right(max_ends, a):]:
        if s >= b:
            break
        overlap = min(b, e) - max(a, s)
        if overlap > 0 and (overlap >= _MIN_OVERLAP * (e - s) or (a >= s and b <= e)):
            hits.append(sid)
    return hits


def import_qdpx(path: str | Path, segments: pd.DataFrame, codebook: pd.DataFrame,
                version: str | None = None, *, member_limit: int = ZIP_MEMBER_LIMIT,
                max_ratio: float = ZIP_RATIO_LIMIT) -> pd.DataFrame:
    """Read the codings of a ``.qdpx`` back as ``manual`` codings on our segment IDs.

    A selection codes a segment when it overlaps at least half of the segment's characters,
    or lies entirely inside it. Sources are matched to workshops by GUID or name
    (``workshop_id``); segment spans are ours when the source text is unchanged, otherwise
    each segment's text is found in order in the tool's text. Codes are matched by GUID,
    ``Identifiant :`` line, then name. Unknown codes, unmatched sources and selections that
    cover no segment are reported as warnings (``InputWarning``) and listed in
    ``result.attrs["report"]``.

    Args:
        path: the ``.qdpx`` file (never modified).
        segments: our segments table.
        codebook: our flattened codebook.
        version: codebook version recorded on the codings (default: the one our export
            recorded in the project's origin; empty for a project from another tool).
        member_limit: largest archive member read, in uncompressed bytes; only
            ``project.qde`` and the text of coded sources are read, never extracted to disk.
        max_ratio: largest compression ratio of a member above 1 MiB (zip bombs).

    Returns:
        A codings table (``consultations.core.schema`` columns), one row per
        (segment, code, coder), sorted.

    Raises:
        InputError: not a zip, no project.qde, a member too large or too compressed, a
            DOCTYPE/entity declaration, schema failure (first error and its line), or a
            selection outside its source text.

    """
    from lxml import etree

    path = Path(path)
    qde, archive = _open_qdpx(path, member_limit, max_ratio)
    where = f"{path}!project.qde"
    validate_project(qde, where)  # refuses any DOCTYPE before the schema sees it
    root = parse_qda_xml(qde, where)
    cb = root.find("{*}CodeBook")
    foreign = read_codebook_qdc(etree.tostring(cb)) if cb is not None else pd.DataFrame(
        columns=["guid", "name", "description"])
    code_of = {r["guid"]: _match_code(r, codebook) for _, r in foreign.iterrows()}
    user_of = {norm_guid(u.get("guid")): u.get("name") or u.get("guid")
               for u in root.iter("{*}User")}
    ordered = qda_ordered(segments)
    by_ws = {str(w): g for w, g in ordered.groupby("workshop_id", sort=True)}
    ws_of = {qda_guid("source", w): w for w in by_ws} | {w: w for w in by_ws}
    origin = root.get("origin") or ""
    if version is None and origin.startswith("consultations ("):
        version = origin.rsplit(" ", 1)[-1].rstrip(")")
    report = {"unknown_codes": set(), "unmatched_sources": [], "uncovered_selections": 0,
              "automatic_dropped": 0, "tool_user_kept": 0}
    rows = []
    for src in root.iter("{*}TextSource"):
        wid = ws_of.get(norm_guid(src.get("guid"))) or ws_of.get(src.get("name") or "")
        sels = src.findall("{*}PlainTextSelection")
        if not any(s.find("{*}Coding") is not None for s in sels):
            continue
        if wid is None:
            report["unmatched_sources"].append(src.get("name"))
            continue
        text = _source_text(src, archive, where)
        if text is None:
            continue
        located = sorted((s, e, sid) for sid, (s, e) in _locate(text, by_ws[wid]).items())
        seg_index = (list(itertools.accumulate((e for _, e, _ in located), max)), located)
        for sel in sels:
            a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
            if not 0 <= a <= b <= len(text):
                raise InputError(where, sel.sourceline,
                                 f"la sélection {sel.get('guid')} [{a}, {b}) sort de sa "
                                 f"source « {src.get('name')} » ({len(text)} caractères)",
                                 "le texte de la source et les codages ne concordent pas ; "
                                 "exportez de nouveau le projet depuis votre logiciel "
                             "d'analyse qualitative")
            codings = sel.findall("{*}Coding")
            hits = _segments_for(a, b, seg_index) if codings else []
            if codings and not hits:
                report["uncovered_selections"] += 1
            for c in codings:
                ref = c.find("{*}CodeRef")
                cguid = norm_guid(ref.get("targetGUID") if ref is not None else "")
                cid = code_of.get(cguid)
                if cid is None:
                    name = foreign.loc[foreign["guid"] == cguid, "name"]
                    report["unknown_codes"].add(name.iloc[0] if len(name) else cguid)
                    continue
                ug = norm_guid(c.get("creatingUser") or sel.get("creatingUser"))
                coder = user_of.get(ug) or "inconnu"
                if is_automatic_user(coder):
                    report["automatic_dropped"] += 1
                    continue
                if coder == TOOL_USER:
                    report["tool_user_kept"] += 1
                for sid in hits:
                    rows.append((sid, cid, "manual", coder, version or "",
                                 f"REFI-QDA {src.get('name')} [{a}, {b})", text[a:b], False,
                                 "", str(path), c.sourceline))
    if report["automatic_dropped"]:
        warn_input(path, None, f"{report['automatic_dropped']} codage(s) automatique(s) de "
                   "consultations (utilisateur « règles », « modèle » ou "
                   "« consultations (codage automatique) ») écartés : ils ne comptent pas "
                   "comme codages humains")
    if report["tool_user_kept"]:
        warn_input(path, None, f"{report['tool_user_kept']} codage(s) humain(s) enregistré(s) "
                   f"sous l'utilisateur « {TOOL_USER} » : QualCoder donne à un projet importé "
                   "le nom de son premier utilisateur ; ils sont gardés comme codages d'un "
                   f"codeur « {TOOL_USER} », non déclaré, hors accord intercodeurs",
                   "dans QualCoder, choisissez votre nom de codeur (Paramètres) avant de "
                   "coder ; pour les codages déjà faits, exportez de nouveau le projet après "
                   "avoir changé le nom, ou déclarez ce codeur dans coded/coders.csv")
    if report["unknown_codes"]:
        warn_input(path, None, f"codes absents de la grille de codage, non importés : "
                   f"{sorted(report['unknown_codes'])}",
                   "ajoutez-les à codebook.yaml (ou renommez-les dans le logiciel d'analyse "
                   "qualitative) puis importez de nouveau")
    if report["unmatched_sources"]:
        warn_input(path, None, f"sources codées sans atelier correspondant, ignorées : "
                   f"{report['unmatched_sources']}",
                   "gardez les noms de sources (identifiants d'atelier) donnés par l'export")
    if report["uncovered_selections"]:
        warn_input(path, None, f"{report['uncovered_selections']} sélection(s) codée(s) ne "
                   "couvrent aucun segment (par exemple un simple libellé d'intervenant) : "
                   "non importée(s)")
    cols = ["segment_id", "code_id", "source", "coder", "codebook_version", "evidence",
            "matched_text", "negated", "note", "origin_file", "origin_line"]
    out = (pd.DataFrame(rows, columns=cols)
           .drop_duplicates(["segment_id", "code_id", "coder"])
           .sort_values(["segment_id", "code_id", "coder"], kind="mergesort")
           .reset_index(drop=True))
    out.attrs["report"] = {k: sorted(v) if isinstance(v, set) else v for k, v in report.items()}
    return out
