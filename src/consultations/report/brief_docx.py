"""Render the brief's blocks to Word (python-docx).

Real Word styles (Title, Heading 1–2, List Bullet, Quote, Caption, a table style), A4 pages,
French as the document and proofing language. The table of contents is a TOC field whose result
already holds the entries as text, so it shows on first opening in Word and LibreOffice alike;
updating the field (F9) adds page numbers. Captions are numbered with SEQ fields (Word can list
figures and tables), tables have fitted column widths, right-aligned numbers, header rows repeated
on every page and rows that never split. Every text goes through
:func:`consultations.core.typography.fr_typo`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from consultations.core.typography import fr_typo
from consultations.report.brief_blocks import Block, column_widths, numeric_columns

__all__ = ["PAGE_TEXT_MM", "render_docx"]

_TABLE_STYLE = "Light Grid Accent 1"
#: Usable line width of an A4 page with 22 mm margins.
PAGE_TEXT_MM = 166
#: Characters of 9 pt Calibri on that line (average width about 1.75 mm).
_LINE_CHARS = 95
_CAPTION = re.compile(r"^(Tableau|Figure) (\d+) — (.*)$", re.S)
_ACCENT = "1F3A5F"


def _el(tag: str, **attrs):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = OxmlElement(tag)
    for k, v in attrs.items():
        el.set(qn(f"w:{k}"), str(v))
    return el


def _fld_char(paragraph, kind: str) -> None:
    paragraph.add_run()._r.append(_el("w:fldChar", fldCharType=kind))


def _instr(paragraph, instruction: str) -> None:
    from docx.oxml.ns import qn

    el = _el("w:instrText")
    el.set(qn("xml:space"), "preserve")
    el.text = f" {instruction} "
    paragraph.add_run()._r.append(el)


def _field(paragraph, instruction: str, result: str = "") -> None:
    """Append a complex field (begin, instruction, separate, result, end) to a paragraph."""
    _fld_char(paragraph, "begin")
    _instr(paragraph, instruction)
    _fld_char(paragraph, "separate")
    paragraph.add_run(result)
    _fld_char(paragraph, "end")


def _lang(rpr) -> None:
    for old in rpr.findall("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}lang"):
        rpr.remove(old)
    rpr.append(_el("w:lang", val="fr-FR", eastAsia="fr-FR", bidi="ar-SA"))


def _setup(doc, title: str) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    for section in doc.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Mm(22)
        section.top_margin = section.bottom_margin = Mm(20)
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run(f"{fr_typo(title)} — page\u00a0")
        _field(footer, "PAGE", "1")
        footer.add_run("\u00a0/\u00a0")
        _field(footer, "NUMPAGES", "1")
        for r in footer.runs:
            r.font.size = Pt(8)
    # Document-wide language: the defaults, the Normal style and the theme font language.
    styles_el = doc.styles.element
    defaults = styles_el.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(qn("w:rPrDefault"))
        if rpr is not None and rpr.find(qn("w:rPr")) is not None:
            _lang(rpr.find(qn("w:rPr")))
    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    _lang(normal.element.get_or_add_rPr())
    doc.settings.element.append(_el("w:themeFontLang", val="fr-FR"))
    accent = RGBColor.from_string(_ACCENT)
    for name in ("Heading 1", "Heading 2", "Heading 3", "Title"):
        doc.styles[name].font.color.rgb = accent
        doc.styles[name].paragraph_format.keep_with_next = True
    cap = doc.styles["Caption"]
    cap.font.size = Pt(9)
    cap.font.color.rgb = RGBColor(0x3D, 0x47, 0x52)
    cap.paragraph_format.keep_with_next = True
    quote = doc.styles["Quote"]
    quote.font.italic = True
    quote.font.size = Pt(10)
    quote.font.color.rgb = RGBColor(0x1B, 0x27, 0x33)
    pf = quote.paragraph_format
    pf.left_indent, pf.right_indent = Mm(6), Mm(4)
    pf.space_before, pf.space_after = Pt(3), Pt(6)
    pf.keep_together = True
    ppr = quote.element.get_or_add_pPr()
    bdr = _el("w:pBdr")
    bdr.append(_el("w:left", val="single", sz=18, space=8, color="0072B2"))
    ppr.append(bdr)
    ppr.append(_el("w:shd", val="clear", color="auto", fill="F4F8FB"))
    for level in (1, 2):
        name = f"TOC {level}"
        try:
            st = doc.styles[name]
        except KeyError:
            st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            st.base_style = normal
        st.paragraph_format.left_indent = Mm(0 if level == 1 else 6)
        st.paragraph_format.space_after = Pt(1 if level == 2 else 3)
        st.font.bold = level == 1
        st.font.size = Pt(10 if level == 1 else 9.5)


def _toc(doc, blocks: list[Block]) -> None:
    """Write a TOC field whose result lists the headings (visible without updating fields)."""
    heads = [b for b in blocks if b.kind == "heading" and b.level <= 2]
    doc.add_heading(fr_typo("Sommaire"), level=1)
    first = doc.add_paragraph(style="TOC 1")
    _fld_char(first, "begin")
    _instr(first, 'TOC \\o "1-2" \\h \\z \\u')
    _fld_char(first, "separate")
    last = first
    for k, h in enumerate(heads):
        p = first if k == 0 else doc.add_paragraph(style=f"TOC {min(h.level, 2)}")
        if k == 0 and h.level == 2:
            p.style = doc.styles["TOC 2"]
        p.add_run(fr_typo(h.text))
        last = p
    _fld_char(last, "end")


def _caption(doc, text: str):
    """Add a caption paragraph numbered with a SEQ field (« Tableau 3 — … »)."""
    p = doc.add_paragraph(style="Caption")
    m = _CAPTION.match(text)
    if not m:
        p.add_run(fr_typo(text))
        return p
    kind, number, rest = m.groups()
    p.add_run(f"{kind}\u00a0")
    _field(p, f"SEQ {kind} \\* ARABIC", number)
    p.add_run(fr_typo(f" — {rest}"))
    return p


def _cell_text(cell, text: str, *, bold=False, right=False, size=9) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    par = cell.paragraphs[0]
    par.paragraph_format.space_after = Pt(0)
    if right:
        par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = par.add_run(fr_typo(text))
    run.bold = bold
    run.font.size = Pt(size)


def _table(doc, b: Block) -> None:
    from docx.shared import Mm

    _caption(doc, b.caption)
    shown_rows = [[fr_typo(c) for c in r] for r in b.rows]
    fractions = column_widths([fr_typo(c) for c in b.columns], shown_rows, _LINE_CHARS,
                              pad=3.0, word_scale=1.25)
    widths = [Mm(PAGE_TEXT_MM * f) for f in fractions]
    right = numeric_columns(b.columns, shown_rows)
    table = doc.add_table(rows=1, cols=len(b.columns))
    try:
        table.style = doc.styles[_TABLE_STYLE]
    except KeyError:
        table.style = doc.styles["Table Grid"]
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    for old in tbl_pr.findall(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblW"):
        tbl_pr.remove(old)
    tbl_pr.append(_el("w:tblW", w=sum(int(w.twips) for w in widths), type="dxa"))
    tbl_pr.append(_el("w:tblLayout", type="fixed"))
    for col, w in zip(table.columns, widths, strict=True):
        col.width = w
    for j, (cell, text) in enumerate(zip(table.rows[0].cells, b.columns, strict=True)):
        cell.width = widths[j]
        _cell_text(cell, text, bold=True, right=right[j])
    for row in b.rows:
        cells = table.add_row().cells
        for j, (cell, text) in enumerate(zip(cells, row, strict=True)):
            cell.width = widths[j]
            _cell_text(cell, text, right=right[j])
    for k, row in enumerate(table.rows):
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(_el("w:cantSplit", val="true"))
        if k == 0:
            tr_pr.append(_el("w:tblHeader", val="true"))
    doc.add_paragraph()


def _properties(doc, blocks: list[Block], when: datetime | None) -> None:
    props = doc.core_properties
    props.title = next((b.text for b in blocks if b.kind == "title"), "Note")
    subtitle = next((b.text for b in blocks if b.kind == "paragraph"), "")
    props.subject = subtitle
    props.comments = ""
    props.keywords = "consultation; ateliers; synthèse; éléments probants"
    props.category = "Note de synthèse"
    props.language = "fr-FR"
    props.author = "consultations"
    props.last_modified_by = "consultations"
    props.revision = 1
    when = when or datetime(2020, 1, 1)
    props.created = props.modified = when
    props.last_printed = when


def render_docx(blocks: list[Block], figures: Mapping[str, Mapping[str, Path]],
                when: datetime | None = None) -> bytes:
    """Render blocks to a .docx file's bytes.

    Args:
        blocks: the brief (see :func:`consultations.report.brief.build_brief`).
        figures: figure name → {"png": path, "svg": path, …}.
        when: the date written in the document properties (fixed for reproducible files).

    Returns:
        The .docx bytes.

    """
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.shared import Mm, Pt

    doc = Document()
    _setup(doc, next((b.text for b in blocks if b.kind == "title"), "Note"))
    _properties(doc, blocks, when)
    new_page = False  # a page break waits for the next heading (no blank page)
    for b in blocks:
        if new_page and b.kind != "heading":
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        if b.kind != "pagebreak":
            brk, new_page = new_page, False
        if b.kind == "title":
            doc.add_paragraph(fr_typo(b.text), style="Title")
        elif b.kind == "toc":
            _toc(doc, blocks)
            new_page = True
        elif b.kind == "heading":
            h = doc.add_heading(fr_typo(b.text), level=min(max(b.level, 1), 3))
            h.paragraph_format.page_break_before = brk or None
        elif b.kind == "paragraph":
            p = doc.add_paragraph()
            if b.lead:
                p.add_run(fr_typo(b.lead)).bold = True
            p.add_run(fr_typo(b.text))
            if b.text.rstrip().endswith(":") or b.lead.rstrip().endswith(":"):
                p.paragraph_format.keep_with_next = True
        elif b.kind == "bullets":
            for lead, text in b.items:
                p = doc.add_paragraph(style="List Bullet")
                if lead:
                    p.add_run(fr_typo(f"{lead} :")).bold = True
                    p.add_run(" ")
                p.add_run(fr_typo(text))
        elif b.kind == "quote":
            p = doc.add_paragraph(style="Quote")
            p.add_run(fr_typo(f"« {b.text} »"))
            r = p.add_run(fr_typo(f" ({b.ref})"))
            r.italic = False
            r.font.size = Pt(8.5)
        elif b.kind == "table":
            _table(doc, b)
        elif b.kind == "figure":
            f = figures.get(b.name)
            if f is None:
                continue
            doc.add_picture(str(f["png"]), width=Mm(PAGE_TEXT_MM))
            doc.paragraphs[-1].paragraph_format.keep_with_next = True
            _caption(doc, b.caption).paragraph_format.keep_with_next = False
        elif b.kind == "pagebreak":
            new_page = True
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
