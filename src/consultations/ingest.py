r"""Ingest: read the workshops, participants, transcripts and recommendation lists.

This module reads what a user puts in ``data/transcripts/`` (see the input contract in
docs/design), decodes every file (BOM sniffing, then UTF-8, then Windows-1252/Latin-1 and
charset-normalizer), parses speaker turns with their provenance (source file, lines, character
offsets into the decoded source text) and accounts for every character read. The stage entry
point :func:`run_stage` then composes cleaning (:mod:`consultations.clean`),
pseudonymisation and segmentation (:mod:`consultations.segment`).

Turn syntax: an optional timestamp ``[00:14:05]``, then ``LABEL : text`` or ``LABEL: text``
(in Markdown the label may be bold: ``**LABEL :** text``). The label is matched case- and
accent-insensitively against participants.csv for that workshop (a shortened label, e.g. the
surname alone, matches when it is unambiguous in that workshop). A line that does not open with
a known label continues the previous turn. Stage directions (``[inaudible]``, ``(rires)``) are
kept apart from speech. A ``.docx`` transcript is read as its paragraphs joined by ``"\\n"``:
that text is its "decoded source text" and its line numbers are paragraph numbers.
"""

from __future__ import annotations

import csv
import io as _io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from . import clean
from . import io as cio
from .config import GROUPS, Paths, Settings, group_code
from .errors import InputError, warn_input
from .schema import TABLES

__all__ = [
    "DecodedFile",
    "Parsed",
    "decode_bytes",
    "parse_date",
    "parse_recommendation_lines",
    "parse_transcript",
    "read_csv_rows",
    "read_participants",
    "read_recommendations",
    "read_text_file",
    "read_workshops",
    "run_stage",
    "split_lines",
    "turns_from_documents",
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
        raise InputError(path, None, f"this looks like a binary file ({controls} control "
                         "characters), not a text transcript.",
                         "export it as .txt (UTF-8), .md or .docx, or remove it from the "
                         "folder / workshops.csv.")


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
        raise InputError(path, None, "the file is empty.",
                         "write the text into it, or remove it from workshops.csv.")
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(codec.replace("-sig", ""))
            except UnicodeDecodeError as exc:
                raise InputError(path, _line_of(data, exc.start),
                                 f"the file starts with a {name} byte-order mark but byte "
                                 f"{exc.start} is not valid {name}.",
                                 "re-save the file as UTF-8 from your editor.") from exc
            _check_not_binary(text, path, data)
            return DecodedFile(text, f"{name} (BOM)", "byte-order mark removed")
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
                return DecodedFile(text, codec, "UTF-16 without byte-order mark")
            except UnicodeDecodeError:
                pass
        raise InputError(path, _line_of(data, data.index(b"\x00")),
                         "this looks like a binary file (it contains NUL bytes), not a text "
                         "transcript.",
                         "export it as .txt (UTF-8), .md or .docx, or remove it.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if re.search(rb"[\xc2-\xf4][\x80-\xbf]", data):
            raise InputError(path, _line_of(data, exc.start),
                             f"undecodable bytes: byte {exc.start} "
                             f"({data[exc.start:exc.start + 1]!r}) is not valid UTF-8, while "
                             "the rest of the file is UTF-8 "
                             "(mixed encodings).",
                             "open the file in an editor, fix the character on that line and "
                             "re-save it as UTF-8.") from exc
    else:
        _check_not_binary(text, path, data)
        return DecodedFile(text, "utf-8")
    # Single-byte Western encodings: cp1252 is a superset of Latin-1's printable range.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None and _plausible(text):
        c1 = any(0x80 <= b <= 0x9F for b in data)
        _check_not_binary(text, path, data)
        return DecodedFile(text, "cp1252" if c1 else "latin-1")
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        text = str(best)
        if _plausible(text):
            _check_not_binary(text, path, data)
            return DecodedFile(text, best.encoding, "encoding guessed by charset-normalizer")
    raise InputError(path, None, "undecodable bytes: the file is in no encoding we recognise "
                     "(UTF-8, UTF-16, Windows-1252, Latin-1).",
                     "re-save the file as UTF-8 from your editor.")


def read_text_file(path: str | Path) -> DecodedFile:
    r"""Read a transcript or list: ``.txt``/``.md`` decoded, ``.docx`` paragraphs joined by \n."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "the file does not exist.",
                         "check the file name in workshops.csv (paths are relative to "
                         "data/transcripts/).")
    if path.suffix.lower() == ".docx":
        import zipfile

        import docx

        try:
            document = docx.Document(str(path))
        except (zipfile.BadZipFile, KeyError, ValueError, Exception) as exc:
            if path.stat().st_size == 0:
                raise InputError(path, None, "the file is empty.",
                                 "write the text into it, or remove it from workshops.csv."
                                 ) from exc
            raise InputError(path, None, f"this .docx file cannot be opened ({exc}).",
                             "open it in Word/LibreOffice and save it again as .docx.") from exc
        text = "\n".join(p.text for p in document.paragraphs)
        if not text.strip():
            raise InputError(path, None, "the document is empty (no paragraph text).",
                             "write the transcript as paragraphs, one per turn.")
        note = "lines are paragraph numbers"
        if document.tables:
            note += f"; {len(document.tables)} table(s) ignored"
        return DecodedFile(text, "docx", note)
    return decode_bytes(cio.read_bytes(path), path)


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


# --------------------------------------------------------------------------- CSV metadata

def read_csv_rows(path: str | Path, required: Sequence[str],
                  ) -> tuple[list[tuple[int, dict]], DecodedFile]:
    """Read a small CSV (any encoding, ``,`` or ``;``) into ``(line, row)`` pairs.

    Raises:
        InputError: missing file or columns, or a malformed row (with its line).

    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "the file does not exist.",
                         f"create it with the columns {','.join(required)}.")
    dec = decode_bytes(cio.read_bytes(path), path)
    first = dec.text.split("\n", 1)[0]
    delim = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(_io.StringIO(dec.text, newline=""), delimiter=delim)
    try:
        header = next(reader)
    except StopIteration as exc:  # pragma: no cover - empty handled by decode_bytes
        raise InputError(path, 1, "no header row.", "") from exc
    header = [clean.fold(h).replace(" ", "_") for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(path, 1, f"missing column(s) {missing}; found {header}.",
                         f"the first row must name the columns {','.join(required)}.")
    rows = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(path, reader.line_num, f"malformed CSV row ({exc}).",
                             "check the quotes on that line.") from exc
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise InputError(path, start, f"malformed CSV row: {len(values)} fields, expected "
                             f"{len(header)} ({','.join(header)}).",
                             "put double quotes around values that contain a comma, or fix "
                             "the missing/extra fields.")
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
    elif m := re.fullmatch(r"(\d{1,2})(?:er)?\s+([^\W\d]+)\s+(\d{4})", clean.fold(v)):
        if m[2] in _MONTHS:
            parts = (int(m[3]), _MONTHS[m[2]], int(m[1]))
    if parts:
        try:
            return date(*parts).isoformat()
        except ValueError:
            pass
    raise InputError(path, line, f"unparseable date {value!r}.",
                     "write dates as YYYY-MM-DD (e.g. 2020-03-04).")


def read_workshops(path: str | Path) -> pd.DataFrame:
    """Read and validate workshops.csv.

    Returns:
        The workshops table (contract columns, ISO dates, sorted by ``workshop_id``) plus the
        ``line`` of each row.

    Raises:
        InputError: missing file/columns, malformed row, duplicate id, unparseable date.

    """
    cols = TABLES["workshops"]
    rows, _ = read_csv_rows(path, ["workshop_id", "file"])
    seen: dict[str, int] = {}
    out = []
    for line, r in rows:
        wid = r["workshop_id"]
        if not wid:
            raise InputError(path, line, "empty workshop_id.", "give every workshop an id.")
        if wid in seen:
            raise InputError(path, line, f"duplicate workshop id {wid!r} (first on line "
                             f"{seen[wid]}).", "give each workshop a unique workshop_id.")
        seen[wid] = line
        if not r.get("file"):
            raise InputError(path, line, f"workshop {wid!r} has no transcript file.",
                             "fill the 'file' column (path relative to data/transcripts/).")
        d = r.get("date", "")
        out.append({
            "workshop_id": wid, "title": r.get("title", ""),
            "date": parse_date(d, path, line) if d else "",
            "location": r.get("location", ""), "file": r["file"],
            "recommendations_file": r.get("recommendations_file", ""), "line": line,
        })
    if not out:
        raise InputError(path, None, "no workshop rows.", "add one row per workshop.")
    return (pd.DataFrame(out, columns=cols + ["line"])
            .sort_values("workshop_id", kind="mergesort").reset_index(drop=True))


def read_participants(path: str | Path, workshops: pd.DataFrame) -> pd.DataFrame:
    """Read and validate participants.csv against the workshops.

    A row for an unknown workshop is left out with a warning; a duplicate label in a
    workshop, or an empty label or group, is an error.

    Returns:
        ``workshop_id, speaker, stakeholder_group, role, gender, line``.

    """
    rows, _ = read_csv_rows(path, ["workshop_id", "speaker", "stakeholder_group"])
    known = set(workshops["workshop_id"])
    known_groups = {clean.fold(g) for g in GROUPS} | {clean.fold(c) for c in GROUPS.values()}
    seen: dict[tuple, int] = {}
    out = []
    for line, r in rows:
        wid, spk, grp = r["workshop_id"], r["speaker"], r["stakeholder_group"]
        if wid not in known:
            warn_input(path, line, f"participant {spk!r} is for workshop {wid!r}, which is "
                       "not in workshops.csv; the row is ignored.",
                       "fix the workshop_id or add the workshop to workshops.csv")
            continue
        if not spk or not grp:
            raise InputError(path, line, "empty speaker or stakeholder_group.",
                             "every participant needs a label and a stakeholder group.")
        key = (wid, clean.fold(spk))
        if key in seen:
            raise InputError(path, line, f"speaker {spk!r} appears twice for workshop {wid} "
                             f"(first on line {seen[key]}).", "keep one row per speaker.")
        seen[key] = line
        if clean.fold(grp) not in known_groups:
            warn_input(path, line, f"unknown stakeholder group {grp!r}; its code will be "
                       f"{group_code(grp)!r}.", f"use one of {list(GROUPS)}")
        out.append({"workshop_id": wid, "speaker": spk, "stakeholder_group": grp,
                    "role": r.get("role", ""), "gender": r.get("gender", ""), "line": line})
    return pd.DataFrame(out, columns=["workshop_id", "speaker", "stakeholder_group", "role",
                                      "gender", "line"])


# --------------------------------------------------------------------------- turn parser

_TS = r"\d{1,2}:\d{2}(?::\d{2})?"
_TURN_RE = re.compile(
    r"(?P<lead>[ \t\ufeff]*)"
    r"(?:(?P<ts>\[\s*" + _TS + r"\s*\]|\(\s*" + _TS + r"\s*\))[ \t]*)?"
    r"(?P<label>(?:\*\*|__)?[^:\n\r\[\]()*_]{1,80}?(?:\*\*|__)?[ \t\u00a0\u202f]*:"
    r"(?:\*\*|__)?)(?P<after>[ \t\u00a0\u202f]*)"
)
_LABEL_STRIP = " \t\u00a0\u202f*_:"


@dataclass
class Parsed:
    """A parsed transcript.

    Attributes:
        turns: one row per turn (label, timestamp, lines, offsets, ``speech_spans``,
            ``stage_directions``).
        report: the character accounting of the file (file_report columns).
        lines: line offsets of the decoded source text (see :func:`split_lines`).

    """

    turns: pd.DataFrame
    report: dict
    lines: list = field(default_factory=list)


def _looks_like_label(cand: str, has_ts: bool, bold: bool) -> bool:
    words = cand.split()
    if not words or len(words) > 6 or any(c in cand for c in ".!?;,") and len(words) > 4:
        return False
    if has_ts or bold:
        return True
    if any(sum(c.isalpha() for c in w) >= 3 and w.strip(".,'-").isupper() for w in words):
        return True
    first = clean.fold(words[0]).strip(".")
    if first in clean._TITLES and len(words) >= 2 and words[1][:1].isupper():
        return True
    return len(words) == 1 and first in clean._ROLE_WORDS


def _label_lookup(labels: Sequence[str]) -> dict[str, str]:
    """Folded label -> label, plus unambiguous short forms (name without title, surname)."""
    exact = {clean.fold(lab): lab for lab in labels}
    alias: dict[str, set] = {}
    for lab in labels:
        for form in clean.name_patterns(lab):
            alias.setdefault(form, set()).add(lab)
    out = {k: next(iter(v)) for k, v in alias.items() if len(v) == 1 and k not in exact}
    out.update(exact)
    return out


def parse_transcript(text: str, labels: Sequence[str], source: str = "<transcript>",
                     workshop_id: str = "", *, markdown: bool | None = None,
                     kind: str = "transcript", encoding: str = "", note: str = "",
                     ) -> Parsed:
    """Parse speaker turns from decoded transcript text, accounting for every character.

    Args:
        text: the decoded source text.
        labels: the workshop's speaker labels (from participants.csv).
        source: the file (relative path) for provenance and messages.
        workshop_id: the workshop (for turn ids).
        markdown: treat ``**`` as markup (default: ``source`` ends with ``.md``).
        kind: the file kind for the report.
        encoding: the encoding found, for the report.
        note: a note on decoding, for the report.

    Returns:
        A :class:`Parsed` (turns, character report, line offsets).

    Raises:
        InputError: a line opens with what looks like a speaker label that matches no
            participant, or the transcript has no turn at all.

    """
    if markdown is None:
        markdown = source.lower().endswith(".md")
    by_fold = _label_lookup(labels)
    lines = split_lines(text)
    acc = {"speech": 0, "sd": 0, "header": 0, "label": 0, "newline": 0, "blank": 0,
           "markup": 0}
    turns: list[dict] = []
    cur: dict | None = None
    header_warned = False
    candidates: list[tuple[int, str]] = []

    def body(a: int, b: int, ln: int) -> None:
        nonlocal cur
        last = a
        for s, e in clean.stage_direction_spans(text, a, b):
            _speech(last, s, ln)
            acc["sd"] += e - s
            if cur is not None:
                cur["stage_directions"].append(text[s:e])
                cur["line_end"] = ln
                cur["char_end"] = max(cur["char_end"], e)
            last = e
        _speech(last, b, ln)

    def _speech(a: int, b: int, ln: int) -> None:
        if b <= a:
            return
        chunk = text[a:b]
        if not chunk.strip():
            acc["blank"] += b - a
            return
        if cur is None:
            acc["header"] += b - a
            return
        lead = len(chunk) - len(chunk.lstrip())
        trail = len(chunk) - len(chunk.rstrip())
        acc["blank"] += lead + trail
        a, b = a + lead, b - trail
        n_markup = 2 * len(re.findall(r"\*\*|__", text[a:b])) if markdown else 0
        acc["markup"] += n_markup
        acc["speech"] += (b - a) - n_markup
        cur["speech_spans"].append((a, b))
        cur["line_end"] = ln
        cur["char_end"] = max(cur["char_end"], b)

    for ln, (start, cend, end) in enumerate(lines, start=1):
        acc["newline"] += end - cend
        content = text[start:cend]
        if not content.strip():
            acc["blank"] += cend - start
            continue
        m = _TURN_RE.match(text, start, cend)
        matched = None
        if m:
            cand = m.group("label").strip(_LABEL_STRIP)
            cand = " ".join(cand.replace("**", " ").replace("__", " ").split())
            matched = by_fold.get(clean.fold(cand))
            if matched is None:
                bold = "**" in m.group("label") or "__" in m.group("label")
                if _looks_like_label(cand, bool(m.group("ts")), bold):
                    if cur is None:
                        candidates.append((ln, cand))
                    else:
                        raise InputError(
                            source, ln, f"the turn label {cand!r} matches no participant of "
                            f"workshop {workshop_id or '?'}.",
                            "add them to participants.csv (workshop_id,speaker,"
                            "stakeholder_group,role,gender) with the label exactly as written,"
                            " or fix the label in the transcript.")
        if matched is not None:
            lead_len = len(m.group("lead"))
            acc["blank"] += lead_len
            acc["label"] += m.end() - start - lead_len
            ts = m.group("ts")
            cur = {
                "turn_id": f"{workshop_id}-T{len(turns) + 1:03d}",
                "workshop_id": workshop_id, "turn_n": len(turns) + 1, "speaker": matched,
                "timestamp": re.sub(r"[\[\]()\s]", "", ts) if ts else "",
                "source_file": source, "line_start": ln, "line_end": ln,
                "char_start": start + lead_len, "char_end": m.end(),
                "speech_spans": [], "stage_directions": [],
            }
            turns.append(cur)
            body(m.end(), cend, ln)
            cur["char_end"] = max(cur["char_end"], m.end())
            continue
        if cur is None:
            stripped = content.strip()
            only_sd = not clean.STAGE_DIRECTION_RE.sub("", stripped).strip()
            if not only_sd and not header_warned:
                header_warned = True
                warn_input(source, ln, "text before the first speaker turn is kept as a "
                           "header, not analysed.",
                           "if it is speech, start the line with a speaker label 'LABEL : '")
        body(start, cend, ln)

    if not turns:
        hint = (f"expected lines such as '{labels[0]} : …' (labels from participants.csv)"
                if labels else "add this workshop's speakers to participants.csv")
        if candidates:
            seen = ", ".join(repr(c) for _, c in candidates[:5])
            hint = (f"these labels match no participant: {seen} — add them to "
                    "participants.csv or fix the labels")
        raise InputError(source, candidates[0][0] if candidates else None,
                         "no speaker turn found in the transcript.", hint)
    chars_read = len(text)
    headers = acc["header"] + acc["label"] + acc["newline"] + acc["blank"] + acc["markup"]
    dropped = chars_read - acc["speech"] - acc["sd"] - headers
    report = {
        "file": source, "kind": kind, "encoding": encoding, "chars_read": chars_read,
        "chars_speech": acc["speech"], "chars_stage_directions": acc["sd"],
        "chars_headers": headers, "chars_dropped": dropped,
        "note": "; ".join(x for x in [
            note, f"headers = {acc['header']} header-line + {acc['label']} label/timestamp + "
            f"{acc['newline']} line-break + {acc['blank']} blank/indent"
            + (f" + {acc['markup']} Markdown markup" if markdown else "") + " characters",
        ] if x),
    }
    df = pd.DataFrame(turns, columns=[
        "turn_id", "workshop_id", "turn_n", "speaker", "timestamp", "source_file", "line_start",
        "line_end", "char_start", "char_end", "speech_spans", "stage_directions"])
    df["stage_directions"] = [" ".join(clean.normalise_text(s) for s in sd)
                              for sd in df["stage_directions"]]
    return Parsed(df, report, lines)


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
        raise InputError(source, None, "no numbered recommendation found.",
                         "number the items '1. …' or '1) …', one per line (a .csv/.xlsx list "
                         "needs one recommendation per row).")
    recs = pd.DataFrame([{"rec_n": it["rec_n"],
                          "text": clean.normalise_text(" ".join(it["parts"]), markdown=True),
                          "line_start": it["line_start"], "line_end": it["line_end"]}
                         for it in items])
    return recs, counts


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
        raise InputError(path, None, "the recommendations file does not exist.",
                         "check recommendations_file in workshops.csv.")
    if suffix in (".csv", ".xlsx", ".xlsm"):
        rows: list[tuple[int, list[str]]] = []
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
            import openpyxl

            try:
                wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            except Exception as exc:
                raise InputError(path, None, f"this workbook cannot be opened ({exc}).",
                                 "save it again as .xlsx.") from exc
            ws = wb.worksheets[0]
            for i, r in enumerate(ws.iter_rows(values_only=True), start=1):
                rows.append((i, ["" if v is None else str(v) for v in r]))
            wb.close()
            encoding = "xlsx"
            chars_read = sum(len(v) for _, r in rows for v in r)
        rows = [(ln, r) for ln, r in rows if any(v.strip() for v in r)]
        if not rows:
            raise InputError(path, None, "the file is empty.", "one recommendation per row.")
        header = [clean.fold(h) for h in rows[0][1]]
        col = _pick_column(header)
        out = []
        speech = 0
        for ln, r in rows[1:]:
            if col >= len(r) or not r[col].strip():
                if suffix == ".csv" and len(r) != len(header):
                    raise InputError(path, ln, f"malformed CSV row: {len(r)} fields, expected "
                                     f"{len(header)}.", "check commas and quotes.")
                continue
            speech += len(r[col])
            out.append({"rec_n": len(out) + 1, "text": clean.normalise_text(r[col]),
                        "line_start": ln, "line_end": ln})
        if not out:
            raise InputError(path, None, "no recommendation rows.",
                             "one recommendation per row, under a 'recommandation' header.")
        recs = pd.DataFrame(out)
        report = {"file": source, "kind": "recommendations", "encoding": encoding,
                  "chars_read": chars_read, "chars_speech": speech,
                  "chars_stage_directions": 0, "chars_headers": chars_read - speech,
                  "chars_dropped": 0,
                  "note": f"column {rows[0][1][col]!r} kept; other columns, header and "
                          "separators counted as headers"}
        return recs, report
    dec = read_text_file(path)
    recs, counts = parse_recommendation_lines(dec.text, source)
    report = {"file": source, "kind": "recommendations", "encoding": dec.encoding,
              "chars_read": len(dec.text), "chars_speech": counts["speech"],
              "chars_stage_directions": 0, "chars_headers": counts["header"],
              "chars_dropped": len(dec.text) - counts["speech"] - counts["header"],
              "note": "; ".join(x for x in [dec.note, "headers = title lines, item numbers, "
                                            "line breaks and blank lines"] if x)}
    return recs, report


# --------------------------------------------------------------------------- documents

def turns_from_documents(texts: Sequence[str], groups: Sequence[str],
                         workshop_id: str = "DOC", ids: Sequence | None = None,
                         ) -> tuple[pd.DataFrame, dict[str, str], pd.DataFrame]:
    """Make one-turn documents (e.g. survey answers) look like parsed transcript turns.

    Each document is its own source (``doc-<id>``); its group is the stakeholder group and
    its speaker label ``<group>-<n>``.

    Returns:
        ``(raw_turns, sources, participants)`` ready for :func:`clean.clean_turns`,
        :func:`clean.assign_pseudonyms` and :func:`clean.pseudonymise`.

    """
    ids = list(ids) if ids is not None else list(range(1, len(texts) + 1))
    sources, turns, parts = {}, [], []
    for n, (doc_id, t, g) in enumerate(zip(ids, texts, groups, strict=False), start=1):
        src = f"doc-{doc_id}"
        sources[src] = t
        lines = split_lines(t)
        spans = [(s, e) for s, e, _ in lines if t[s:e].strip()]
        label = f"{group_code(g)}-{n}"
        turns.append({"turn_id": f"{workshop_id}-T{n:03d}", "workshop_id": workshop_id,
                      "turn_n": n, "speaker": label,
                      "timestamp": "", "source_file": src, "line_start": 1,
                      "line_end": len(lines), "char_start": 0, "char_end": len(t),
                      "speech_spans": spans, "stage_directions": ""})
        parts.append({"workshop_id": workshop_id, "speaker": label, "stakeholder_group": g,
                      "role": "", "gender": "", "line": n})
    return pd.DataFrame(turns), sources, pd.DataFrame(parts)


# --------------------------------------------------------------------------- stage

def _summary(workshops, speakers, turns, segments, recs, report, encodings) -> dict:
    seg = segments[~segments["is_facilitator"]] if len(segments) else segments
    words = (segments.groupby("group_code")["n_words"].sum().sort_index() if len(segments)
             else pd.Series(dtype=int))
    return {
        "workshops": int(len(workshops)),
        "speakers": int(speakers["pseudonym"].nunique()),
        "turns": int(len(turns)),
        "segments": int(len(segments)),
        "segments_without_facilitators": int(len(seg)),
        "recommendations": int(len(recs)),
        "words": int(segments["n_words"].sum()) if len(segments) else 0,
        "words_per_group": {k: int(v) for k, v in words.items()},
        "turns_per_group": {k: int(v) for k, v in
                            turns.groupby("group_code").size().sort_index().items()},
        "encodings": encodings,
        "characters": {r["file"]: {k: int(r[k]) for k in
                                   ("chars_read", "chars_speech", "chars_stage_directions",
                                    "chars_headers", "chars_dropped")}
                       for r in report.to_dict("records")},
    }


def run_stage(tables: Mapping, paths: Paths, settings: Settings) -> dict:
    """Ingest, clean, pseudonymise and segment the transcripts of ``paths.transcripts``.

    Returns:
        ``workshops, speakers, turns, segments, recommendations, file_report`` (downstream
        tables, pseudonymised), ``private_pseudonym_key`` and ``_summary``.

    """
    from . import segment

    tdir = paths.transcripts
    wpath = tdir / "workshops.csv"
    workshops = read_workshops(wpath)
    participants = read_participants(tdir / "participants.csv", workshops)
    reports, sources, parsed, recs_raw, encodings = [], {}, [], [], {}
    for name in ("workshops.csv", "participants.csv"):
        dec = decode_bytes(cio.read_bytes(tdir / name), tdir / name)
        reports.append({"file": name, "kind": "metadata", "encoding": dec.encoding,
                        "chars_read": len(dec.text), "chars_speech": 0,
                        "chars_stage_directions": 0, "chars_headers": len(dec.text),
                        "chars_dropped": 0, "note": "metadata table (all characters "
                        "counted as headers)"})
        encodings[name] = dec.encoding
    for w in workshops.itertuples(index=False):
        path = tdir / w.file
        if not path.is_file():
            raise InputError(wpath, w.line, f"the transcript file {w.file!r} of workshop "
                             f"{w.workshop_id} does not exist in {tdir}.",
                             "check the 'file' column (path relative to data/transcripts/).")
        if path.suffix.lower() not in TEXT_SUFFIXES:
            raise InputError(wpath, w.line, f"unsupported transcript format {path.suffix!r}.",
                             "use .txt, .md or .docx.")
        rel = Path(w.file).as_posix()
        dec = read_text_file(path)
        labels = list(participants.loc[participants["workshop_id"] == w.workshop_id,
                                       "speaker"])
        p = parse_transcript(dec.text, labels, rel, w.workshop_id, encoding=dec.encoding,
                             note=dec.note)
        sources[rel] = dec.text
        parsed.append(p.turns)
        reports.append(p.report)
        encodings[rel] = dec.encoding
        if w.recommendations_file:
            rpath = tdir / w.recommendations_file
            if not rpath.is_file():
                raise InputError(wpath, w.line, f"the recommendations file "
                                 f"{w.recommendations_file!r} does not exist.",
                                 "check the 'recommendations_file' column, or leave it empty.")
            recs, rep = read_recommendations(rpath, Path(w.recommendations_file).as_posix())
            recs_raw.append(recs.assign(workshop_id=w.workshop_id,
                                        source_file=rep["file"]))
            reports.append(rep)
            encodings[rep["file"]] = rep["encoding"]
    raw = pd.concat(parsed, ignore_index=True)
    first = raw[["workshop_id", "speaker", "turn_n"]]
    speakers_full = clean.assign_pseudonyms(participants, first)
    cleaned = clean.clean_turns(raw, sources)
    nlp = segment.load_nlp(settings.spacy_model)
    docs = segment.parse_texts(list(cleaned["text"]), nlp,
                               cache_dir=paths.interim / "cache" / "spacy")
    turns, key = clean.pseudonymise(cleaned, speakers_full, docs)
    segments = segment.segment_turns(turns, docs=docs, sources=sources)
    turns = segment.finish_turns(turns, segments)

    forms = {}
    for s, p in sorted(zip(speakers_full["speaker"], speakers_full["pseudonym"], strict=False),
                       key=lambda r: r[1]):
        for f in clean.name_patterns(s):
            forms.setdefault(f, p)
    if recs_raw:
        recs = pd.concat(recs_raw, ignore_index=True)
        recs["text"] = [clean.apply_redactions(
            clean.MappedText(t, list(range(len(t))), list(range(1, len(t) + 1))),
            clean.find_redactions(t, forms)).text for t in recs["text"]]
        recs["rec_id"] = [f"{w}-R{n:02d}" for w, n in
                          zip(recs["workshop_id"], recs["rec_n"], strict=True)]
        recs = recs[TABLES["recommendations"]].sort_values(["workshop_id", "rec_n"],
                                                           kind="mergesort")
    else:
        recs = pd.DataFrame(columns=TABLES["recommendations"])
    speakers = (speakers_full.assign(
        speaker=speakers_full["pseudonym"],
        is_facilitator=speakers_full["group_code"].eq("FAC"))
        [TABLES["speakers"]].drop_duplicates(["workshop_id", "speaker"])
        .sort_values(["workshop_id", "speaker"], kind="mergesort").reset_index(drop=True))
    report = pd.DataFrame(reports, columns=TABLES["file_report"])
    ws_out = workshops[TABLES["workshops"]].reset_index(drop=True)
    return {
        "workshops": ws_out,
        "speakers": speakers,
        "turns": turns.reset_index(drop=True),
        "segments": segments.reset_index(drop=True),
        "recommendations": recs.reset_index(drop=True),
        "file_report": report,
        "private_pseudonym_key": key,
        "_summary": _summary(ws_out, speakers_full, turns, segments, recs, report, encodings),
    }
