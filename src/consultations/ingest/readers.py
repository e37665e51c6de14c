r"""Readers: decode input files; read CSV tables, dates and recommendation lists.

Every file is decoded the same way (BOM sniffing, then UTF-8, then Windows-1252/Latin-1 and
charset-normalizer); a ``.docx`` file is read as its paragraphs joined by ``"\n"``, so its line
numbers are paragraph numbers. :func:`read_csv_rows` reads a small CSV (``,`` or ``;``) with
the line of each row; :func:`read_recommendations` reads a recommendation list (numbered items
in ``.txt``/``.md``/``.docx``, one per row in ``.csv``/``.xlsx``) and accounts for every
character read. Transcript parsing and validation are in :mod:`consultations.ingest.turns`.
"""

from __future__ import annotations

import csv
import io as _io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from consultations.core import io as cio
from consultations.core.errors import InputError, warn_input
from consultations.core.textutils import fold
from consultations.ingest.clean import normalise_text

__all__ = [
    "TEXT_SUFFIXES",
    "DecodedFile",
    "decode_bytes",
    "docx_lines",
    "parse_date",
    "parse_recommendation_lines",
    "read_csv_rows",
    "read_recommendations",
    "read_text_file",
    "split_lines",
]

TEXT_SUFFIXES = {".txt", ".md", ".docx"}
_BOMS = [
    (b"\xef\xbb\xbf", "utf-8-sig", "utf-8"),
    (b"\xff\xfe", "utf-16-le", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be", "utf-16-be"),
]
_TYPO = set("«»‘’‚“”„–—…€°·•\u00a0\u202f\u2009«»×÷§¶©®™")



# --------------------------------------------------------------------------- decoding

@dataclass
class DecodedFile:
    """A decoded input file.

    Attributes:
        text: the decoded source text (offsets refer to it).
        encoding: the encoding found (``utf-8``, ``utf-8 (BOM)``, ``cp1252`` …, ``docx``).
        note: what decoding did that a reader should know (BOM removed …).

    """

    text: str
    encoding: str
    note: str = ""
    #: Characters read but not part of ``text`` (a .docx file's headers and footers): counted
    #: as non-speech in the character accounting.
    extra_headers: int = 0


def _line_of(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


def _plausible(text: str) -> bool:
    """Whether decoded text looks like Western text (Latin letters, French typography)."""
    odd = 0
    non_ascii = 0
    for c in text:
        if c.isascii():
            if not c.isprintable() and c not in "\t\r\n\f":
                odd += 1
            continue
        non_ascii += 1
        if c in _TYPO:
            continue
        try:
            name = unicodedata.name(c)
        except ValueError:
            odd += 1
            continue
        if not (name.startswith("LATIN") or c.isspace()):
            odd += 1
    return odd <= max(2, 0.02 * max(non_ascii, 1))


def _check_not_binary(text: str, path, data: bytes) -> None:
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\r\n\f")
    if controls > max(2, 0.01 * len(text)):
        raise InputError(path, None, f"ce fichier semble binaire ({controls} caractères de "
                         "contrôle) : ce n'est pas une transcription texte.",
                         "exportez-le en .txt (UTF-8), .md ou .docx, ou retirez-le du "
                         "dossier et de workshops.csv.")


def decode_bytes(data: bytes, path: str | Path | None = None) -> DecodedFile:
    """Decode a text file's bytes: BOM sniffing, UTF-8, then Western encodings.

    Args:
        data: the raw bytes.
        path: the file (for messages).

    Returns:
        The :class:`DecodedFile` (text, encoding, note).

    Raises:
        InputError: empty file, binary file, or bytes that fit no encoding (with the line).

    """
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise InputError(path, None, "le fichier est vide.",
                         "écrivez-y le texte, ou retirez-le de workshops.csv.")
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(codec.replace("-sig", ""))
            except UnicodeDecodeError as exc:
                raise InputError(path, _line_of(data, exc.start),
                                 f"le fichier commence par une marque d'ordre des octets (BOM) "
                                 f"{name}, mais l'octet {exc.start} n'est pas du {name} valide.",
                                 "réenregistrez le fichier en UTF-8 depuis votre éditeur.") from exc
            _check_not_binary(text, path, data)
            _warn_nul(text, path)
            return DecodedFile(text, f"{name} (BOM)", "marque d'ordre des octets (BOM) retirée")
    if b"\x00" in data:
        even = data[0::2].count(0)
        odd = data[1::2].count(0)
        half = len(data) / 2
        if odd > 0.3 * half and even < 0.05 * half:
            codec = "utf-16-le"
        elif even > 0.3 * half and odd < 0.05 * half:
            codec = "utf-16-be"
        else:
            codec = None
        if codec:
            try:
                text = data.decode(codec)
                _check_not_binary(text, path, data)
                return DecodedFile(text, codec, "UTF-16 sans marque d'ordre des octets")
            except UnicodeDecodeError:
                pass
        if data.count(0) > max(2, 0.001 * len(data)):
            raise InputError(path, _line_of(data, data.index(b"\x00")),
                             "ce fichier semble binaire (il contient des octets NUL) : ce "
                             "n'est pas une transcription texte.",
                             "exportez-le en .txt (UTF-8), .md ou .docx, ou retirez-le.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        _check_not_binary(text, path, data)
        _warn_nul(text, path)
        return DecodedFile(text, "utf-8")
    valid, invalid, first_bad = _utf8_evidence(data)
    if valid and 4 * valid >= invalid:
        # Most non-ASCII characters are well-formed UTF-8 (é, ’, …) and a few bytes are
        # not: a file saved partly in another encoding.
        raise InputError(path, _line_of(data, first_bad),
                         f"octets indécodables : l'octet {first_bad} "
                         f"({data[first_bad:first_bad + 1]!r}) n'est pas de l'UTF-8 valide, "
                         f"alors que le reste du fichier est en UTF-8 ({valid} caractère(s) "
                         f"UTF-8, {invalid} autre(s) octet(s) : encodages mélangés).",
                         "ouvrez le fichier dans un éditeur, corrigez le caractère de cette "
                         "ligne et réenregistrez-le en UTF-8.")
    # Single-byte Western encodings: cp1252 is a superset of Latin-1's printable range.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None and _plausible(text):
        c1 = any(0x80 <= b <= 0x9F for b in data)
        _check_not_binary(text, path, data)
        _warn_nul(text, path)
        return DecodedFile(text, "cp1252" if c1 else "latin-1")
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        text = str(best)
        if _plausible(text):
            _check_not_binary(text, path, data)
            return DecodedFile(text, best.encoding, "encodage deviné par charset-normalizer")
    raise InputError(path, None, "octets indécodables : le fichier n'est dans aucun encodage "
                     "reconnu (UTF-8, UTF-16, Windows-1252, Latin-1).",
                     "réenregistrez le fichier en UTF-8 depuis votre éditeur.")


_UTF8_SEQ = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|"
                       rb"[\xf0-\xf4][\x80-\xbf]{3}")


def _utf8_evidence(data: bytes) -> tuple[int, int, int]:
    """Weigh the whole file: ``(valid, invalid, first_invalid)``.

    ``valid`` counts well-formed UTF-8 sequences that decode to a Western character (a
    Latin letter, French typography); ``invalid`` counts the other bytes above 0x7F (in a
    Windows-1252 file, « é » before a no-break space or « ’ » is such a byte, not UTF-8).
    """
    valid = invalid = 0
    first_bad = -1
    covered = 0
    for m in _UTF8_SEQ.finditer(data):
        a, b = m.span()
        gap = data[covered:a]
        n_bad = sum(1 for x in gap if x >= 0x80)
        if n_bad and first_bad < 0:
            first_bad = covered + next(i for i, x in enumerate(gap) if x >= 0x80)
        invalid += n_bad
        try:
            ch = m.group(0).decode("utf-8")
        except UnicodeDecodeError:
            ch = ""
        if ch and (0xA0 <= ord(ch) <= 0x24F or ch in _TYPO or 0x2000 <= ord(ch) <= 0x206F
                   or unicodedata.category(ch).startswith("L")
                   and unicodedata.name(ch, "").startswith("LATIN")):
            valid += 1
        else:
            invalid += b - a
            if first_bad < 0:
                first_bad = a
        covered = b
    gap = data[covered:]
    n_bad = sum(1 for x in gap if x >= 0x80)
    if n_bad and first_bad < 0:
        first_bad = covered + next(i for i, x in enumerate(gap) if x >= 0x80)
    invalid += n_bad
    return valid, invalid, max(first_bad, 0)


def _warn_nul(text: str, path) -> None:
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        warn_input(path, line, f"{text.count(chr(0))} octet(s) NUL dans le texte ; ils sont "
                   "retirés de la parole analysée.",
                   "ouvrez le fichier dans un éditeur et supprimez ce caractère invisible")


def read_text_file(path: str | Path) -> DecodedFile:
    r"""Read a transcript or list: ``.txt``/``.md`` decoded, ``.docx`` paragraphs joined by \n."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "le fichier n'existe pas.",
                         "vérifiez le nom du fichier dans workshops.csv (chemins relatifs à "
                         "data/transcripts/).")
    if path.suffix.lower() == ".docx":
        import zipfile

        import docx

        if zipfile.is_zipfile(path):
            cio.check_zip(path)  # refuse an archive bomb before python-docx reads it whole
        try:
            document = docx.Document(str(path))
        except (zipfile.BadZipFile, KeyError, ValueError, Exception) as exc:
            if path.stat().st_size == 0:
                raise InputError(path, None, "le fichier est vide.",
                                 "écrivez-y le texte, ou retirez-le de workshops.csv."
                                 ) from exc
            raise InputError(path, None, f"ce fichier .docx ne peut pas être ouvert ({exc}).",
                             "ouvrez-le dans Word ou LibreOffice et réenregistrez-le en "
                             ".docx.") from exc
        lines, counts = docx_lines(document)
        text = "\n".join(lines)
        if not text.strip():
            raise InputError(path, None, "le document est vide (aucun paragraphe de texte).",
                             "écrivez la transcription en paragraphes, un par tour de parole.")
        extra = _docx_header_chars(document)
        note = "les lignes sont des numéros de paragraphe"
        if counts["tables"]:
            note += (f"; {counts['tables']} tableau(x) lu(s) dans l'ordre du document (une ligne "
                     "par rangée : « intervenant : propos » quand la rangée a cette forme)")
        if counts["textboxes"]:
            note += f"; {counts['textboxes']} zone(s) de texte lue(s) à leur place"
        if extra:
            note += f"; en-têtes et pieds de page : {extra} caractère(s), comptés hors parole"
        return DecodedFile(text, "docx", note, extra)
    return decode_bytes(cio.read_bytes(path), path)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_TS_CELL = re.compile(r"^\[?\(?\s*\d{1,2}:\d{2}(?::\d{2})?\s*\]?\)?$")


def _docx_paragraph(p, out: list[str], counts: dict) -> None:
    buf: list[str] = []
    boxes: list[str] = []

    def rec(e) -> None:
        for c in e:
            tag = c.tag
            if tag == _MC_FALLBACK:
                continue  # the same text box again, for old readers
            if tag == _W + "txbxContent":
                counts["textboxes"] += 1
                _docx_walk(c, boxes, counts)
                continue
            if tag == _W + "t":
                buf.append(c.text or "")
            elif tag in (_W + "tab", _W + "ptab"):
                buf.append("\t")
            elif tag in (_W + "br", _W + "cr"):
                buf.append("\n")
            elif tag == _W + "noBreakHyphen":
                buf.append("-")
            elif tag in (_W + "delText", _W + "instrText"):
                continue
            else:
                rec(c)

    rec(p)
    out.append("".join(buf))
    out.extend(boxes)


def _docx_table(tbl, out: list[str], counts: dict) -> None:
    counts["tables"] += 1
    for tr in tbl.findall(_W + "tr"):
        cells = []
        for tc in tr.findall(_W + "tc"):
            lines: list[str] = []
            _docx_walk(tc, lines, counts)
            cells.append([x for x in lines if x.strip()])
        filled = [c for c in cells if c]
        if len(filled) >= 2 and _TS_CELL.match(filled[0][0].strip()) and len(filled) >= 3 \
                and len(filled[1]) == 1 and ":" not in filled[1][0]:
            ts = filled[0][0].strip().strip("[]()")
            rest = [x for c in filled[2:] for x in c]
            out.append(f"[{ts}] {filled[1][0].strip()} : {rest[0]}")
            out.extend(rest[1:])
        elif len(filled) >= 2 and len(filled[0]) == 1 and ":" not in filled[0][0] \
                and len(filled[0][0]) <= 300:
            rest = [x for c in filled[1:] for x in c]
            out.append(f"{filled[0][0].strip()} : {rest[0]}")
            out.extend(rest[1:])
        else:
            for c in filled:
                out.extend(c)


def _docx_walk(el, out: list[str], counts: dict) -> None:
    for child in el:
        tag = child.tag
        if tag == _MC_FALLBACK:
            continue
        if tag == _W + "p":
            _docx_paragraph(child, out, counts)
        elif tag == _W + "tbl":
            _docx_table(child, out, counts)
        elif tag == _W + "sectPr":
            continue
        else:
            _docx_walk(child, out, counts)


def docx_lines(document) -> tuple[list[str], dict]:
    """Return the lines of a Word document's body in document order, and what was read.

    Paragraphs, table rows (a row « label | speech » becomes « label : speech », a row
    « time | label | speech » becomes « [time] label : speech »; other rows give one line
    per cell paragraph) and text boxes (after the paragraph that anchors them) are all read.

    Returns:
        ``(lines, counts)`` with ``counts = {"tables": n, "textboxes": n}``.

    """
    counts = {"tables": 0, "textboxes": 0}
    out: list[str] = []
    _docx_walk(document.element.body, out, counts)
    return out, counts


def _docx_header_chars(document) -> int:
    seen, n = set(), 0
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header,
                     section.first_page_footer, section.even_page_header,
                     section.even_page_footer):
            try:
                if part.is_linked_to_previous:
                    continue
                el = part._element
            except (AttributeError, ValueError):
                continue
            if id(el) in seen:
                continue
            seen.add(id(el))
            lines: list[str] = []
            _docx_walk(el, lines, {"tables": 0, "textboxes": 0})
            n += sum(len(x) for x in lines)
    return n


def split_lines(text: str) -> list[tuple[int, int, int]]:
    r"""Split text into lines: ``(start, content_end, end)`` offsets (``\r\n``/``\r``/``\n``)."""
    out = []
    pos = 0
    for m in re.finditer(r"\r\n|\r|\n", text):
        out.append((pos, m.start(), m.end()))
        pos = m.end()
    if pos < len(text) or not out:
        out.append((pos, len(text), len(text)))
    return out


# --------------------------------------------------------------------------- CSV tables

def read_csv_rows(path: str | Path, required: Sequence[str],
                  ) -> tuple[list[tuple[int, dict]], DecodedFile]:
    """Read a small CSV (any encoding, ``,`` or ``;``) into ``(line, row)`` pairs.

    Raises:
        InputError: missing file or columns, or a malformed row (with its line).

    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "le fichier n'existe pas.",
                         f"créez-le avec les colonnes {','.join(required)}.")
    dec = decode_bytes(cio.read_bytes(path), path)
    first = dec.text.split("\n", 1)[0]
    delim = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(_io.StringIO(dec.text, newline=""), delimiter=delim)
    try:
        header = next(reader)
    except StopIteration as exc:  # pragma: no cover - empty handled by decode_bytes
        raise InputError(path, 1, "ligne d'en-tête absente.",
                         f"la première ligne doit nommer les colonnes "
                         f"{','.join(required)}.") from exc
    header = [fold(h).replace(" ", "_") for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(path, 1, f"colonne(s) manquante(s) {missing} ; trouvé : {header}.",
                         f"la première ligne doit nommer les colonnes {','.join(required)}.")
    rows = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(path, reader.line_num, f"ligne CSV mal formée ({exc}).",
                             "vérifiez les guillemets de cette ligne.") from exc
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise InputError(path, start, f"ligne CSV mal formée : {len(values)} champs, "
                             f"{len(header)} attendus ({','.join(header)}).",
                             "mettez entre guillemets doubles les valeurs qui contiennent une "
                             "virgule, ou corrigez les champs manquants ou en trop.")
        rows.append((start, {h: v.strip() for h, v in zip(header, values, strict=False)}))
    return rows, dec


_MONTHS = {"janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
           "juillet": 7, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
           "decembre": 12}


def parse_date(value: str, path=None, line: int | None = None) -> str:
    """Parse a date (``2020-03-04``, ``04/03/2020``, ``4 mars 2020``) to ISO ``YYYY-MM-DD``.

    Raises:
        InputError: the date does not parse.

    """
    v = value.strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", v)
    parts = None
    if m:
        parts = (int(m[1]), int(m[2]), int(m[3]))
    elif m := re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", v):
        parts = (int(m[3]), int(m[2]), int(m[1]))
        if int(m[1]) <= 12 and int(m[2]) <= 12 and m[1] != m[2]:
            try:
                iso = date(*parts).isoformat()
            except ValueError:
                iso = "?"
            warn_input(path, line, f"date {value!r} ambiguë : lue jour/mois/année (usage "
                       f"français), soit le {iso} ; lue mois/jour, ce serait le "
                       f"{int(m[3]):04d}-{int(m[1]):02d}-{int(m[2]):02d}.",
                       "écrivez les dates AAAA-MM-JJ (ex. 2019-04-03) pour lever le doute")
    elif m := re.fullmatch(r"(\d{1,2})(?:er)?\s+([^\W\d]+)\s+(\d{4})", fold(v)):
        if m[2] in _MONTHS:
            parts = (int(m[3]), _MONTHS[m[2]], int(m[1]))
    if parts:
        try:
            return date(*parts).isoformat()
        except ValueError:
            pass
    raise InputError(path, line, f"date {value!r} illisible.",
                     "écrivez les dates AAAA-MM-JJ (ex. 2020-03-04).")


# --------------------------------------------------------------------------- recommendations

_ITEM_RE = re.compile(r"^[ \t]*(?:[-*+][ \t]+)?(?:\*\*)?(\d{1,3})[ \t]*[.)][ \t]*(?:\*\*)?"
                      r"[ \t]*(?=\S)")


def parse_recommendation_lines(text: str, source: str = "<list>") -> tuple[pd.DataFrame, dict]:
    """Parse a numbered list (``1. …``, ``2) …``; continuation lines allowed).

    A non-blank line right after an item (or indented) continues it; other lines are headers.

    Returns:
        ``(recs, counts)``: ``rec_n, text, line_start, line_end`` and the character counts.

    """
    items: list[dict] = []
    cur = None
    prev_blank = True
    counts = {"speech": 0, "header": 0}
    for ln, (start, cend, end) in enumerate(split_lines(text), start=1):
        content = text[start:cend]
        counts["header"] += end - cend
        if not content.strip():
            counts["header"] += len(content)
            prev_blank = True
            continue
        m = _ITEM_RE.match(content)
        if m:
            body = content[m.end():]
            cur = {"rec_n": len(items) + 1, "parts": [body], "line_start": ln, "line_end": ln}
            items.append(cur)
            counts["header"] += m.end()
        elif cur is not None and (not prev_blank or content[:1] in " \t"):
            cur["parts"].append(content)
            cur["line_end"] = ln
        else:
            counts["header"] += len(content)
            prev_blank = False
            continue
        counts["speech"] += len(content) - (m.end() if m else 0)
        prev_blank = False
    if not items:
        raise InputError(source, None, "aucune recommandation numérotée trouvée.",
                         "numérotez les éléments « 1. … » ou « 1) … », un par ligne (une liste "
                         ".csv/.xlsx demande une recommandation par ligne).")
    recs = pd.DataFrame([{"rec_n": it["rec_n"],
                          "text": normalise_text(" ".join(it["parts"]), markdown=True),
                          "line_start": it["line_start"], "line_end": it["line_end"]}
                         for it in items])
    return recs, counts


def _is_rec_header(h: str) -> bool:
    return ("recommand" in h or "recommend" in h
            or h in ("texte", "text", "libelle", "intitule"))


def _xlsx_rows(path: Path) -> tuple[list[tuple[int, list[str]]], str, set[int]]:
    """Return the rows of the recommendations sheet, a note and its merged title rows.

    The sheet is the first whose first rows name a recommendation column, else the first
    non-empty one; other non-empty sheets are reported with a warning. Cells merged across
    columns are read once (their first cell).
    """
    import zipfile

    import openpyxl

    if zipfile.is_zipfile(path):
        cio.check_zip(path)  # refuse an archive bomb before openpyxl reads it whole
    try:
        wb = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:
        raise InputError(path, None, f"ce classeur ne peut pas être ouvert ({exc}).",
                         "réenregistrez-le en .xlsx.") from exc
    sheets = []
    for ws in wb.worksheets:
        rows = []
        for i, r in enumerate(ws.iter_rows(values_only=True), start=1):
            rows.append((i, ["" if v is None else str(v) for v in r]))
        filled = [(i, r) for i, r in rows if any(v.strip() for v in r)]
        merged = [m for m in ws.merged_cells.ranges if m.min_col != m.max_col]
        sheets.append((ws.title, rows, filled, merged))
    wb.close()
    non_empty = [s for s in sheets if s[2]]
    if not non_empty:
        return [], "", set()
    with_header = [s for s in non_empty
                   if any(len(v) <= 40 and _is_rec_header(fold(v))
                          for _, r in s[2][:10] for v in r)]
    used = (with_header or non_empty)[0]
    for title, _, filled, _ in non_empty:
        if title != used[0]:
            warn_input(path, None, f"la feuille « {title} » ({len(filled)} ligne(s) non "
                       f"vide(s)) n'est pas lue : seule la feuille « {used[0]} » l'est.",
                       "mettez toutes les recommandations de l'atelier dans une seule feuille")
    note = f"feuille « {used[0]} » lue"
    if len(non_empty) > 1:
        note += f" ({len(non_empty) - 1} autre(s) feuille(s) non vide(s) non lue(s))"
    if used[3]:
        note += f"; cellules fusionnées {', '.join(str(m) for m in used[3][:3])}"
    merged_rows = {r for m in used[3] for r in range(m.min_row, m.max_row + 1)}
    return used[1], note, merged_rows


def _pick_column(header: list[str]) -> int:
    for i, h in enumerate(header):
        if "recommand" in h or "recommend" in h:
            return i
    for i, h in enumerate(header):
        if h in ("texte", "text", "libelle", "intitule"):
            return i
    return len(header) - 1


def read_recommendations(path: str | Path, source: str | None = None,
                         ) -> tuple[pd.DataFrame, dict]:
    """Read a recommendation list (``.txt/.md/.docx`` numbered, ``.csv/.xlsx`` one per row).

    Returns:
        ``(recs, report)``: ``rec_n, text, line_start, line_end`` (text cleaned, not yet
        redacted) and the file_report row.

    """
    path = Path(path)
    source = source or path.name
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(path, None, "le fichier de recommandations n'existe pas.",
                         "vérifiez la colonne recommendations_file de workshops.csv.")
    if suffix in (".csv", ".xlsx", ".xlsm"):
        rows: list[tuple[int, list[str]]] = []
        merged_rows: set[int] = set()
        if suffix == ".csv":
            dec = decode_bytes(cio.read_bytes(path), path)
            first = dec.text.split("\n", 1)[0]
            delim = ";" if first.count(";") > first.count(",") else ","
            reader = csv.reader(_io.StringIO(dec.text, newline=""), delimiter=delim)
            line = 0
            for values in reader:
                rows.append((line + 1, values))
                line = reader.line_num
            encoding, chars_read = dec.encoding, len(dec.text)
        else:
            rows, xnote, merged_rows = _xlsx_rows(path)
            encoding = "xlsx"
            chars_read = sum(len(v) for _, r in rows for v in r)
        rows = [(ln, r) for ln, r in rows if any(v.strip() for v in r)]
        if not rows:
            raise InputError(path, None, "le fichier est vide.",
                             "une recommandation par ligne.")
        # Title rows above the header (« Recommandations de l'atelier 4 », often merged
        # across columns): the header is the first row naming the recommendation column.
        hdr = next((i for i, (ln, r) in enumerate(rows[:10]) if ln not in merged_rows
                    and any(len(v) <= 40 and _is_rec_header(fold(v)) for v in r)), 0)
        titles = [ln for ln, _ in rows[:hdr]]
        rows = rows[hdr:]
        header = [fold(h) for h in rows[0][1]]
        col = _pick_column(header)
        out = []
        speech = 0
        for ln, r in rows[1:]:
            if col >= len(r) or not r[col].strip():
                if suffix == ".csv" and len(r) != len(header):
                    raise InputError(path, ln, f"ligne CSV mal formée : {len(r)} champs, "
                                     f"{len(header)} attendus.",
                                     "vérifiez les virgules et les guillemets.")
                continue
            speech += len(r[col])
            out.append({"rec_n": len(out) + 1, "text": normalise_text(r[col]),
                        "line_start": ln, "line_end": ln})
        if not out:
            raise InputError(path, None, "aucune ligne de recommandation.",
                             "une recommandation par ligne, sous un en-tête « recommandation ».")
        recs = pd.DataFrame(out)
        report = {"file": source, "kind": "recommendations", "encoding": encoding,
                  "chars_read": chars_read, "chars_speech": speech,
                  "chars_stage_directions": 0, "chars_headers": chars_read - speech,
                  "chars_dropped": 0,
                  "note": "; ".join(x for x in [
                      xnote if suffix != ".csv" else "",
                      f"ligne(s) de titre {', '.join(map(str, titles))} ignorée(s)"
                      if titles else "",
                      f"colonne {rows[0][1][col]!r} gardée ; autres colonnes, en-tête et "
                      "séparateurs comptés comme en-têtes"] if x)}
        return recs, report
    dec = read_text_file(path)
    recs, counts = parse_recommendation_lines(dec.text, source)
    report = {"file": source, "kind": "recommendations", "encoding": dec.encoding,
              "chars_read": len(dec.text), "chars_speech": counts["speech"],
              "chars_stage_directions": 0, "chars_headers": counts["header"],
              "chars_dropped": len(dec.text) - counts["speech"] - counts["header"],
              "note": "; ".join(x for x in [dec.note, "en-têtes = lignes de titre, numéros, "
                                            "sauts de ligne et lignes vides"] if x)}
    return recs, report
