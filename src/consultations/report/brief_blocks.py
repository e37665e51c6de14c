"""The brief's building blocks, shared by its builders and renderers.

The :class:`Block` type, French number and date formatting, the last safety scrub of e-mail
addresses and phone numbers, and table access helpers, used by :mod:`consultations.report.brief`,
:mod:`consultations.report.brief_annex` and the renderers (docx, html, pdf).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import NamedTuple

import pandas as pd

from consultations.core.config import default_groups
from consultations.core.schema import participant_segments
from consultations.core.textutils import as_list

__all__ = [
    "ALPHA",
    "DEFAULT_UNITS",
    "REPORT_DEFAULTS",
    "Block",
    "Units",
    "codebook_version",
    "column_widths",
    "numeric_columns",
    "fr_date",
    "fr_int",
    "fr_num",
    "fr_p",
    "fr_p_eq",
    "fr_pct",
    "pseudonym_example",
    "quote_reference",
    "report_setting",
    "report_units",
    "scrub",
]

ALPHA = 0.05

_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"]
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.]?)?(?:\d{2}[\s.]?){3}\d{2}(?!\w)")
_STRENGTH_ORDER = {"forte": 3, "fort": 3, "élevée": 3, "elevee": 3, "high": 3, "strong": 3,
                   "moyenne": 2, "moyen": 2, "modérée": 2, "moderee": 2, "medium": 2,
                   "moderate": 2, "faible": 1, "low": 1, "weak": 1, "limitée": 1}


@dataclass(frozen=True)
class Block:
    """One element of the brief.

    Attributes:
        kind: title | heading | paragraph | bullets | table | figure | quote | toc | pagebreak.
        text: the text (heading, paragraph, quote, title).
        level: heading level (1–3).
        items: bullets: tuple of ``(lead, text)`` pairs (lead in bold, may be empty).
        columns: table header.
        rows: table body (tuple of tuples of strings).
        caption: table or figure caption.
        name: figure name (file stem in ``figures/``), or an anchor for headings.
        ref: quote reference ``(FDS-03, ATL1-T012-S02, atelier1.txt l. 45)``.
        segment_id: the quoted segment.
        lead: a bold lead-in for paragraphs.

    """

    kind: str
    text: str = ""
    level: int = 1
    items: tuple = ()
    columns: tuple = ()
    rows: tuple = ()
    caption: str = ""
    name: str = ""
    ref: str = ""
    segment_id: str = ""
    lead: str = ""


# --------------------------------------------------------------------------- formatting


def fr_int(n) -> str:
    """Format an integer the French way (non-breaking space as thousands separator)."""
    return f"{int(n):,}".replace(",", "\u00a0")


def fr_num(x, digits: int = 2) -> str:
    """Format a number with a decimal comma; '—' for missing values."""
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "—"
    return f"{float(x):,.{digits}f}".replace(",", "\u00a0").replace(".", ",")


def fr_p(p) -> str:
    """Format a p-value: three decimals, '< 0,001' below (non-breaking space)."""
    if p is None or pd.isna(p):
        return "—"
    return "<\u00a00,001" if float(p) < 0.001 else fr_num(p, 3)


def fr_p_eq(p) -> str:
    """'= 0,014' or '< 0,001' (to follow 'p' or 'p ajusté')."""
    text = fr_p(p)
    return text if text.startswith("<") or text == "—" else f"=\u00a0{text}"


def fr_pct(value, factor: float = 100.0, digits: int = 0) -> str:
    """Format a proportion (``factor`` 100) or a percentage (``factor`` 1) as 'x %'."""
    if value is None or pd.isna(value):
        return "—"
    return f"{fr_num(float(value) * factor, digits)}\u00a0%"


def fr_date(iso) -> str:
    """'2020-03-04' → '4 mars 2020' (other strings unchanged)."""
    try:
        d = pd.Timestamp(str(iso))
    except (ValueError, TypeError):
        return str(iso)
    if pd.isna(d):
        return str(iso)
    return f"{'1er' if d.day == 1 else d.day} {_MONTHS[d.month - 1]} {d.year}"


def scrub(text) -> str:
    """Mask e-mail addresses and phone numbers (a last safety net; upstream redacts)."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    text = _EMAIL.sub("[courriel]", str(text))
    return _PHONE.sub("[téléphone]", text)


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{fr_int(n)} {one if abs(n) <= 1 else (many or one + 's')}"


def join_cell(values) -> str:
    """Render a list cell as 'A, B', a text cell as it is (scrubbed), '—' when empty."""
    if isinstance(values, str):
        return scrub(values).strip() or "—"
    vals = as_list(values)
    return ", ".join(scrub(v) for v in vals) if vals else "—"


def line_block(value) -> list[str]:
    """Split a multi-line text cell into its non-empty lines (scrubbed)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if not isinstance(value, str):
        return [scrub(v) for v in as_list(value)]
    return [scrub(x).strip() for x in value.splitlines() if x.strip()]


def short(text, width: int) -> str:
    """Scrubbed text cut at a word boundary to at most ``width`` characters (with '…')."""
    import textwrap

    return textwrap.shorten(scrub(text), width=width, placeholder=" …")


def count_lines(lines: list[str]) -> tuple[list[str], int]:
    """Split listed lines from a trailing '… et N autre(s)' line: (real lines, N)."""
    real = [x for x in lines if not x.startswith("…")]
    more = sum(int(m) for x in lines if x.startswith("…")
               for m in re.findall(r"\d+", x)[:1])
    return real, more


def capped(lines: list[str], keep: int, width: int = 170) -> list[str]:
    """At most ``keep`` lines (shortened), then '… et N autre(s)' counting the rest."""
    real, more = count_lines(lines)
    rest = len(real) - keep + more if len(real) > keep else more
    out = [short(x, width) for x in real[:keep]]
    if rest > 0:
        out.append(f"… et {fr_int(rest)} autre(s) (section 5 et classeur).")
    return out


def rec_ref(cluster_id) -> str:
    """'R04' for a cluster id given as 4 or as 'R04'."""
    text = str(cluster_id)
    return text if text[:1].isalpha() else f"R{text}"


def rec_id_list(value) -> list[str]:
    """Cluster ids from a cell such as 'R04 (3 ateliers) ; R05 (2 ateliers)' or '1, 2'."""
    return [x.split()[0] for x in as_list(value) if x.split()]


def axis_name(axis, label) -> str:
    label = scrub(label)
    return label if label.startswith(str(axis)) else f"{axis} — {label}"


def factor_text(rates) -> float:
    r = pd.to_numeric(pd.Series(rates), errors="coerce").dropna()
    return 1.0 if len(r) and r.max() > 1.0 else 100.0


def strength_rank(value) -> int:
    return _STRENGTH_ORDER.get(str(value).strip().lower(), 0)


def get_table(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """Return a table, or an empty frame when the stage did not produce it."""
    if name in tables:
        df = tables[name]
        if df is not None:
            return df
    from consultations.core.schema import TABLES

    return pd.DataFrame(columns=TABLES.get(name, []))


def codebook_version(tables: Mapping[str, pd.DataFrame]) -> str:
    """Return the codebook version recorded in the codings table, or 'inconnue'."""
    codings = get_table(tables, "codings")
    if "codebook_version" in codings and codings["codebook_version"].notna().any():
        return str(codings["codebook_version"].dropna().iloc[0])
    return "inconnue"


def quote_reference(q) -> str:
    """'FDS-03, ATL1-T012-S02, atelier1.txt l. 45' for an evidence_quotes row."""
    file = PurePath(str(q["source_file"])).name if pd.notna(q["source_file"]) else "?"
    line = q["line_start"]
    line = fr_int(line) if pd.notna(line) else "?"
    return f"{q['speaker']}, {q['segment_id']}, {file} l.\u00a0{line}"


# --------------------------------------------------------------------------- tables and blocks


def group_label_map(tables) -> dict[str, str]:
    declared = get_table(tables, "groups")
    if {"group_code", "stakeholder_group"} <= set(declared.columns) and len(declared):
        labels = dict(zip(declared["group_code"].astype(str),
                          declared["stakeholder_group"].astype(str), strict=True))
    else:
        labels = default_groups().labels()
    for name in ("speakers", "code_group_counts", "segments"):
        df = get_table(tables, name)
        if {"group_code", "stakeholder_group"} <= set(df.columns):
            for g, lab in df[["group_code", "stakeholder_group"]].drop_duplicates().values:
                labels.setdefault(str(g), str(lab))
    return labels


def participant_rows(tables) -> pd.DataFrame:
    """Return the segments without facilitators (as every comparison does)."""
    segs = get_table(tables, "segments")
    return participant_segments(segs) if "is_facilitator" in segs else segs


#: Documented defaults of the settings file's ``[report]`` section.
REPORT_DEFAULTS: dict = {
    # Title of the brief (page footer, document properties, first page, workbook).
    "title": "Synthèse de la consultation",
    "subtitle": "Synthèse des ateliers de consultation — note à l'équipe de rédaction",
    # Country or region code of the French used in the PDF (hyphenation, quotes): "ML", "FR"…
    "region": "",
    # What one source of the corpus is, in the brief's sentences: "atelier" (a consultation
    # workshop), or e.g. "séance" for parliamentary sittings; its plural (empty: unit + "s")
    # and whether the noun is feminine (agreements such as « tenues »).
    "unit": "atelier",
    "units": "",
    "unit_feminine": "non",
}


class Units(NamedTuple):
    """The noun naming one source of the corpus (``[report] unit``), with its agreements."""

    one: str = "atelier"
    many: str = "ateliers"
    feminine: bool = False

    @property
    def default(self) -> bool:
        """True for the documented default noun (« atelier »)."""
        return self.one == REPORT_DEFAULTS["unit"]

    def count(self, n: int) -> str:
        """« 3 ateliers », « 1 séance »."""
        return plural(n, self.one, self.many)

    def held(self, n: int) -> str:
        """Past participle of « tenir » agreeing with ``n`` units: tenu, tenue, tenus, tenues."""
        return "tenu" + ("e" if self.feminine else "") + ("s" if n > 1 else "")

    def of(self) -> str:
        """« d'atelier », « de séance » (elision before a vowel or a mute h)."""
        return ("d'" if re.match(r"(?i)[aeiouyhàâéèêëîïôûü]", self.one) else "de ") + self.one

    def reword(self, text: str) -> str:
        """Put this noun in a machine-written « 3 ateliers » (the evidence grade's reason)."""
        if self.default:
            return text
        return re.sub(r"\b(\d+) ateliers?\b", lambda m: self.count(int(m.group(1))), text)

    def corpus(self) -> str:
        """Name the corpus in a heading line: « Ateliers de consultation », « Séances »."""
        words = self.many + (" de consultation" if self.default else "")
        return words[:1].upper() + words[1:]


#: « atelier », « ateliers », masculine: the noun the brief uses unless the settings say else.
DEFAULT_UNITS = Units()


def report_units(settings) -> Units:
    """Return the ``[report]`` unit noun of the run's settings (:class:`Units`)."""
    from consultations.core.textutils import yes_no

    one = report_setting(settings, "unit") or REPORT_DEFAULTS["unit"]
    many = report_setting(settings, "units") or one + "s"
    try:
        feminine = yes_no(report_setting(settings, "unit_feminine")) is True
    except ValueError:
        from consultations.core.errors import InputError

        raise InputError(None, None, "[report] unit_feminine : valeur "
                         f"« {report_setting(settings, 'unit_feminine')} » non reconnue",
                         "écrivez oui ou non dans le fichier de réglages") from None
    return Units(one, many, feminine)


def report_setting(settings, key: str) -> str:
    """Return ``[report] key`` of the run's settings (its documented default when unset)."""
    extra = getattr(settings, "extra", None) or {}
    value = (extra.get("report") or {}).get(key, REPORT_DEFAULTS[key])
    return str(value if value is not None else REPORT_DEFAULTS[key]).strip()


def pseudonym_example(tables) -> str:
    """Return a participant pseudonym of this corpus to show as an example (or ``""``)."""
    part = participant_rows(tables)
    if not len(part) or "speaker" not in part:
        return ""
    names = sorted(str(s) for s in part["speaker"].dropna().unique() if str(s))
    return names[0] if names else ""


def source_text(tables_used) -> str:
    """'classeur evidence_tables.xlsx, feuilles « A » et « B »' for the tables behind a figure."""
    from consultations.report.sheets import SHEETS

    sheet_of = {table: sheet for sheet, (table, _) in SHEETS.items()}
    sheets = list(dict.fromkeys(sheet_of[t] for t in tables_used if t in sheet_of))
    if not sheets:
        return "tableaux de l'analyse"
    names = [f"« {s} »" for s in sheets]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]
    return f"classeur evidence_tables.xlsx, feuille{'s' if len(names) > 1 else ''} {listed}"


#: « (tableau evidence_by_axis) », « (tableaux topic_info et topics_per_group) » in a caption.
_INTERNAL = re.compile(r"\s*\((?:tableau|tableaux)\s+[a-z_]+(?:\s*(?:,|et)\s*[a-z_]+)*\)")


def figure_block(figs: Mapping[str, dict], name: str, number: list[int]) -> list[Block]:
    if name not in figs:
        return []
    number[0] += 1
    f = figs[name]
    return [Block("figure", name=name,
                  caption=f"Figure {number[0]} — {f['caption']}. "
                          f"Source : {source_text(f['sources'])}.")]


def table_block(caption: str, columns, rows, number: list[int]) -> Block:
    """Build a numbered table block; internal table names are left out of the caption."""
    number[0] += 1
    return Block("table", columns=tuple(columns),
                 rows=tuple(tuple(" ; ".join(str(c).splitlines()) for c in r) for r in rows),
                 caption=f"Tableau {number[0]} — {_INTERNAL.sub('', caption)}")


# --------------------------------------------------------------------------- table layout

_NUMERIC = re.compile(r"^[<>≤≥]?\s?[−-]?\d[\d\s\u00a0\u202f,.%\[\];−–-]*$|^—$")


def numeric_columns(columns, rows) -> list[bool]:
    """Columns whose every non-empty cell is a number, a range or '—' (to right-align)."""
    return [bool(rows) and any(str(r[j]).strip() not in ("", "—") for r in rows)
            and all(_NUMERIC.match(str(r[j]).strip() or "—") for r in rows)
            for j in range(len(columns))]


def column_widths(columns, rows, avail: float = 95.0, cap: float = 60.0,
                  pad: float = 2.5, word_scale: float = 1.0) -> list[float]:
    """Column widths (fractions summing to 1) fitted to the content and the page.

    Each column first gets its longest word (so no word is cut, and identifiers stay whole),
    then the space left on the line is shared out in proportion to how much longer each
    column's longest cell is (capped at ``cap`` characters).

    Args:
        columns: header texts.
        rows: body rows (strings).
        avail: line width in characters of the table's font.
        cap: longest cell length that still claims more room.
        pad: cell padding, in characters, added to every column.
        word_scale: safety factor on the longest word (fonts wider than the average).

    Returns:
        One fraction per column.

    """
    n = len(columns)
    if not n:
        return []
    mins, nat = [], []
    for j, head in enumerate(columns):
        cells = [str(r[j]) for r in rows if j < len(r)]
        words = [len(w) for c in cells for w in c.split()]
        words += [len(w) * 1.15 for w in str(head).split()]  # bold header
        longest_word = max(words, default=1) * word_scale + pad
        natural = max([len(c) for c in cells] + [len(str(head)) / 2.0, 1]) + pad
        mins.append(longest_word)
        nat.append(max(min(natural, cap), longest_word))
    total_min = sum(mins)
    if total_min >= avail or sum(nat) <= avail:
        widths = nat if sum(nat) <= avail else mins
    else:
        extra = avail - total_min
        want = [b - a for a, b in zip(mins, nat, strict=True)]
        scale = min(1.0, extra / sum(want)) if sum(want) else 0.0
        widths = [a + w * scale for a, w in zip(mins, want, strict=True)]
    total = sum(widths)
    return [w / total for w in widths]
