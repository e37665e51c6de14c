r"""REFI-QDA exchange: codebook (.qdc) and project (.qdpx) export, validation and import.

Analysts review our codings in NVivo, ATLAS.ti, MAXQDA or QualCoder through the REFI-QDA
standard (QDA-XML 1.0):

- :func:`codebook_to_qdc` / :func:`write_codebook_qdc`: the codebook as a ``.qdc`` file
  (namespace ``urn:QDA-XML:codebook:1.0``). Codes carry a GUID derived from ``code_id``
  (uuid5, so the same code keeps its GUID across codebook versions), the French label as
  name, a description (definition, inclusion and exclusion criteria, the code id), their
  hierarchy by nesting, and ``isCodable``.
- :func:`project_to_qdpx`: a ``.qdpx`` zip with ``project.qde`` and one plain-text source per
  workshop in ``sources/`` (lower case, as section 8.1 of the REFI-QDA project exchange
  standard names the folder; ZIP member names are case-sensitive and ATLAS.ti rejects
  ``Sources/``; the import accepts both). The source text is rebuilt from the pseudonymised
  segments: an optional header, then one paragraph per turn, ``FDS-03 : segment segment …``,
  paragraphs separated by a blank line, ``\n`` line ends, UTF-8 without BOM. Positions are
  Unicode code points (Python string indices), as the standard says. Speakers are cases (variables
  « Groupe d'acteurs » and « Atelier »), linked to their turns by uncoded selections named
  after the ``turn_id``; each such selection carries a description (« Tour … de … ») so that
  a tool which turns uncoded selections into annotations (QualCoder) creates no empty one.
  Each (segment, coder) with codings is one ``PlainTextSelection`` named after the
  ``segment_id``, created by that coder, holding one ``Coding`` per code.
  Bytes are deterministic: uuid5 GUIDs, dates from the workshops, fixed zip timestamps.
- :func:`~consultations.interop.refiqda_common.validate_project` /
  :func:`~consultations.interop.refiqda_common.validate_codebook`: XSD validation of everything we
  write (see :mod:`consultations.interop.refiqda_common`).
- :func:`~consultations.interop.refiqda_import.import_qdpx`: codings made in another tool
  come back as
  ``manual`` codings on our segment IDs (see :mod:`consultations.interop.refiqda_import`).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from consultations.core.errors import warn_input
from consultations.core.io import atomic_write_bytes
from consultations.interop.refiqda_common import (
    AUTO_USER,
    CODEBOOK_NS,
    PROJECT_NS,
    TOOL_USER,
    as_text,
    code_guid,
    norm_guid,
    qda_guid,
    source_texts,
    validate_codebook,
    validate_project,
)
from consultations.interop.refiqda_import import (
    import_qdpx,  # re-exported: consultations.coding.coder imports it from here
)

__all__ = [
    "AUTO_USER",
    "SOURCES_FOLDER",
    "code_description",
    "codebook_to_qdc",
    "import_qdpx",
    "project_qdpx_bytes",
    "project_to_qdpx",
    "turn_description",
    "write_codebook_qdc",
    "write_taguette_csv",
]


_TOOL_USER = TOOL_USER
#: Folder of the source texts inside the archive: « sources » as the standard's text writes it
#: (section 8.1); QualCoder's export code notes that ATLAS.ti rejects ``Sources/``.
SOURCES_FOLDER = "sources"
_FALLBACK_DATE = "2000-01-01T00:00:00Z"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: Case variables (French: analysts read them in their QDA tool).
VAR_GROUP = "Groupe d'acteurs"
VAR_WORKSHOP = "Atelier"
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"]


# --------------------------------------------------------------------------- codes


def _parent(value) -> str:
    text = as_text(value)
    return "" if text.lower() in {"", "nan", "none"} else text


def code_description(row) -> str:
    """Render the REFI-QDA description of a code: definition, criteria, code id (French)."""
    parts = [as_text(row.get("definition"))]
    if as_text(row.get("include")):
        parts.append(f"Inclure : {as_text(row.get('include'))}")
    if as_text(row.get("exclude")):
        parts.append(f"Exclure : {as_text(row.get('exclude'))}")
    parts.append(f"Identifiant : {row['code_id']}")
    return "\n".join(p for p in parts if p)


def _iso_date(value) -> str:
    try:
        ts = pd.Timestamp(str(value))
    except (ValueError, TypeError):
        return _FALLBACK_DATE
    return _FALLBACK_DATE if pd.isna(ts) else ts.strftime("%Y-%m-%dT00:00:00Z")


# --------------------------------------------------------------------------- codebook


def _code_elements(parent_el, codebook: pd.DataFrame, ns: str) -> None:
    from lxml import etree

    rows = [r for _, r in codebook.iterrows()]
    ids = {str(r["code_id"]) for r in rows}
    children: dict[str, list] = {}
    for r in rows:
        par = _parent(r.get("parent"))
        children.setdefault(par if par in ids else "", []).append(r)

    def add(container, row, color):
        el = etree.SubElement(container, f"{{{ns}}}Code", guid=code_guid(row["code_id"]),
                              name=as_text(row.get("label")) or str(row["code_id"]),
                              isCodable=_codable(row.get("is_codable", True)),
                              color=color)
        etree.SubElement(el, f"{{{ns}}}Description").text = code_description(row)
        for child in children.get(str(row["code_id"]), []):
            add(el, child, color)

    for i, root in enumerate(children.get("", [])):
        add(parent_el, root, _PALETTE[i % len(_PALETTE)])
    emitted = {norm_guid(el.get("guid")) for el in parent_el.iter("{*}Code")}
    lost = [str(r["code_id"]) for r in rows if code_guid(r["code_id"]) not in emitted]
    if lost:
        raise ValueError(f"les codes {lost} forment un cycle de parents et ne peuvent pas être "
                         "imbriqués ; validez d'abord la grille de codage "
                         "(consultations.coding.coder)")


def _codable(value) -> str:
    return "false" if str(value).strip().lower() in {"false", "0", "no", "non"} else "true"


def codebook_to_qdc(codebook: pd.DataFrame, version: str) -> bytes:
    """Render the codebook as a REFI-QDA ``.qdc`` document (validated before it is returned).

    Args:
        codebook: the flattened codebook (``code_id``, ``label``, ``definition``, ``include``,
            ``exclude``, ``parent`` …), in the order codes should appear.
        version: the codebook version (recorded in the ``origin`` attribute).

    Returns:
        UTF-8 XML bytes, identical for identical input.

    """
    from lxml import etree

    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS},
                         origin=f"consultations, livre de codes version {version}")
    codes = etree.SubElement(root, f"{{{CODEBOOK_NS}}}Codes")
    _code_elements(codes, codebook, CODEBOOK_NS)
    data = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    validate_codebook(data)
    return data


def write_codebook_qdc(codebook: pd.DataFrame, version: str, path: str | Path) -> Path:
    """Write :func:`codebook_to_qdc` to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, codebook_to_qdc(codebook, version))


# --------------------------------------------------------------------------- project export


def turn_description(turn_id: str, speaker: str) -> str:
    """Return the description of an uncoded turn selection (French; never empty)."""
    return f"Tour de parole {turn_id} de {speaker} (sélection sans codage : lien vers le cas)"


def write_taguette_csv(codebook: pd.DataFrame, path: str | Path) -> Path:
    """Write the codebook as Taguette's import CSV (columns ``tag,description``).

    Taguette 1.5 reads codebooks from CSV only. The tag is the ``code_id``; the description
    the label, then the definition and criteria.
    """
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["tag", "description"])
    for _, row in codebook.iterrows():
        w.writerow([row["code_id"], f"{row.get('label', '')} — {code_description(row)}"])
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
    return path


def _sub(parent, tag, **attrs):
    from lxml import etree

    return etree.SubElement(parent, f"{{{PROJECT_NS}}}{tag}", **attrs)


def _export_codings(codings: pd.DataFrame, segments: pd.DataFrame,
                    codebook: pd.DataFrame) -> pd.DataFrame:
    cod = codings.copy()
    cod["coder"] = cod["coder"].fillna("").astype(str).str.strip()
    cod.loc[cod["coder"] == "", "coder"] = cod["source"].astype(str)
    cod.loc[cod["source"].astype(str).isin(["rule", "model", "topic"]), "coder"] = AUTO_USER
    known = cod["segment_id"].isin(segments["segment_id"]) & cod["code_id"].isin(
        codebook["code_id"])
    if (~known).any():
        bad = cod.loc[~known, ["segment_id", "code_id"]].drop_duplicates().head(5)
        warn_input(None, None, f"{int((~known).sum())} codage(s) désignent un segment ou un code "
                   f"absent de cet export et sont laissés hors du .qdpx (par exemple "
                   f"{bad.to_dict('records')})",
                   "reconstruisez les codages avec la grille de codage actuelle")
    cod = cod[known].drop_duplicates(["segment_id", "code_id", "coder"])
    return cod.sort_values(["segment_id", "coder", "code_id"], kind="mergesort")


def project_qdpx_bytes(segments: pd.DataFrame, codings: pd.DataFrame, codebook: pd.DataFrame,
                       speakers: pd.DataFrame | None, workshops: pd.DataFrame | None,
                       version: str, users: Iterable[str] | None = None) -> bytes:
    """Build the ``.qdpx`` archive in memory (see :func:`project_to_qdpx`)."""
    from lxml import etree

    texts, spans = source_texts(segments, workshops)
    cod = _export_codings(codings, segments, codebook)
    coders = sorted(set(cod["coder"]) | set(map(str, users or [])))
    user_guid = {u: qda_guid("user", u) for u in [_TOOL_USER, *coders]}
    wdate = {} if workshops is None else {str(r["workshop_id"]): _iso_date(r.get("date"))
                                          for _, r in workshops.iterrows()}
    seg_ws = dict(zip(segments["segment_id"], segments["workshop_id"].astype(str), strict=True))
    created = max([d for d in wdate.values()] or [_FALLBACK_DATE])

    root = etree.Element(f"{{{PROJECT_NS}}}Project", nsmap={None: PROJECT_NS},
                         name=f"Consultations — livre de codes {version}",
                         origin=f"consultations (livre de codes {version})",
                         creatingUserGUID=user_guid[_TOOL_USER], creationDateTime=created)
    users_el = _sub(root, "Users")
    for name, guid in user_guid.items():
        _sub(users_el, "User", guid=guid, name=name)
    _code_elements(_sub(_sub(root, "CodeBook"), "Codes"), codebook, PROJECT_NS)

    variables = _sub(root, "Variables")
    var_guid = {v: qda_guid("variable", v) for v in (VAR_GROUP, VAR_WORKSHOP)}
    for name, guid in var_guid.items():
        _sub(variables, "Variable", guid=guid, name=name, typeOfVariable="Text")

    turns = spans[spans["kind"] == "turn"]
    speaker_of = dict(zip(turns["id"], turns["speaker"], strict=True))
    spk = pd.concat([
        segments[["speaker", "stakeholder_group", "workshop_id"]],
        speakers[["speaker", "stakeholder_group", "workshop_id"]] if speakers is not None
        else None]).astype(str).drop_duplicates()
    cases = _sub(root, "Cases")
    for speaker, rows in spk.groupby("speaker", sort=True):
        case = _sub(cases, "Case", guid=qda_guid("case", speaker), name=speaker)
        for var, values in ((VAR_GROUP, rows["stakeholder_group"]),
                            (VAR_WORKSHOP, rows["workshop_id"])):
            vv = _sub(case, "VariableValue")
            _sub(vv, "VariableRef", targetGUID=var_guid[var])
            _sub(vv, "TextValue").text = ", ".join(sorted(set(values)))
        for tid in turns.loc[turns["speaker"] == speaker, "id"]:
            _sub(case, "SelectionRef", targetGUID=qda_guid("turn", tid))

    sources = _sub(root, "Sources")
    seg_span = {r.id: (int(r.start), int(r.end))
                for r in spans[spans["kind"] == "segment"].itertuples()}
    for wid in texts:
        sguid = qda_guid("source", wid)
        date = wdate.get(wid, created)
        src = _sub(sources, "TextSource", guid=sguid, name=wid,
                   plainTextPath=f"internal://{sguid}.txt",
                   creatingUser=user_guid[_TOOL_USER], creationDateTime=date)
        _sub(src, "Description").text = (
            f"Atelier {wid} : transcription pseudonymisée, reconstruite à partir des segments "
            "(un paragraphe par tour de parole).")
        sels = [(a, b, tid, None) for tid, a, b in
                turns.loc[turns["workshop_id"] == wid, ["id", "start", "end"]].itertuples(
                    index=False)]
        ws_cod = cod[cod["segment_id"].map(seg_ws) == wid]
        for (sid, coder), grp in ws_cod.groupby(["segment_id", "coder"], sort=True):
            sels.append((*seg_span[sid], sid, (coder, list(grp["code_id"]))))
        for a, b, name, coded in sorted(sels, key=lambda s: (s[0], -s[1], s[2],
                                                             s[3][0] if s[3] else "")):
            if coded is None:
                turn_sel = _sub(src, "PlainTextSelection", guid=qda_guid("turn", name),
                                name=name, startPosition=str(a), endPosition=str(b),
                                creatingUser=user_guid[_TOOL_USER], creationDateTime=date)
                _sub(turn_sel, "Description").text = turn_description(name, speaker_of[name])
                continue
            coder, code_ids = coded
            sel = _sub(src, "PlainTextSelection", guid=qda_guid("selection", f"{name}|{coder}"),
                       name=name, startPosition=str(a), endPosition=str(b),
                       creatingUser=user_guid[coder], creationDateTime=date)
            for cid in code_ids:
                c = _sub(sel, "Coding", guid=qda_guid("coding", f"{name}|{cid}|{coder}"),
                         creatingUser=user_guid[coder], creationDateTime=date)
                _sub(c, "CodeRef", targetGUID=code_guid(cid))
    _sub(root, "Description").text = (
        "Export REFI-QDA de la suite consultations : une source texte par atelier, "
        "participants pseudonymisés (cas), une sélection par segment codé et par codeur, "
        "nommée d'après l'identifiant du segment.")
    qde = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    validate_project(qde)

    entries = [("project.qde", qde)] + sorted(
        (f"{SOURCES_FOLDER}/{qda_guid('source', wid)}.txt", text.encode("utf-8"))
        for wid, text in texts.items())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def project_to_qdpx(segments: pd.DataFrame, codings: pd.DataFrame, codebook: pd.DataFrame,
                    speakers: pd.DataFrame | None, workshops: pd.DataFrame | None,
                    version: str, path: str | Path,
                    users: Iterable[str] | None = None) -> Path:
    """Write the whole project as a REFI-QDA ``.qdpx`` archive (validated, atomic).

    Args:
        segments: the segments table (pseudonymised text; see ``consultations.core.schema``).
        codings: the codings table; every (segment, code, coder) becomes a ``Coding``.
        codebook: the flattened codebook.
        speakers: the speakers table (cases and their stakeholder group), or None.
        workshops: the workshops table (source headers and dates), or None.
        version: the codebook version.
        path: the ``.qdpx`` file to write.
        users: extra coder names to list as users even without codings.

    Returns:
        The written path. The same input always gives the same bytes.

    """
    data = project_qdpx_bytes(segments, codings, codebook, speakers, workshops, version, users)
    return atomic_write_bytes(path, data)
