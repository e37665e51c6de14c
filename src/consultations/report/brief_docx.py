"""Render the brief's blocks to Word (python-docx).

Real Word styles (Title, Heading 1–2, List Bullet, Quote, Caption, a table style), A4 pages,
a table-of-contents field (Word fills it on opening: the document asks to update fields), page
numbers in the footer (PAGE field), French as the proofing language.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from consultations.report.brief_blocks import Block

__all__ = ["render_docx"]

_TABLE_STYLE = "Light Grid Accent 1"


def _field(paragraph, instruction: str, placeholder: str = "") -> None:
    """Append a complex field (``w:fldChar`` begin/separate/end) to a paragraph."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def fld(kind):
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        if kind == "begin":
            el.set(qn("w:dirty"), "true")
        return el

    run = paragraph.add_run()
    run._r.append(fld("begin"))
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run._r.append(instr)
    run = paragraph.add_run()
    run._r.append(fld("separate"))
    paragraph.add_run(placeholder)
    run = paragraph.add_run()
    run._r.append(fld("end"))


def _setup(doc) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    for section in doc.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Mm(22)
        section.top_margin = section.bottom_margin = Mm(20)
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run("Stratégie nationale de police de proximité — page ")
        _field(footer, "PAGE", "1")
        footer.add_run(" / ")
        _field(footer, "NUMPAGES", "1")
        for r in footer.runs:
            r.font.size = Pt(8)
    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    rpr = normal.element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "fr-FR")
    rpr.append(lang)
    for name in ("Heading 1", "Heading 2", "Title"):
        doc.styles[name].font.color.rgb = RGBColor(0x1F, 0x3A, 0x5F)
    doc.styles["Caption"].font.size = Pt(9)
    # Ask Word to refresh the TOC and page fields when the file is opened.
    settings = doc.settings.element
    upd = OxmlElement("w:updateFields")
    upd.set(qn("w:val"), "true")
    settings.append(upd)


def _caption(doc, text: str) -> None:
    p = doc.add_paragraph(text, style="Caption")
    p.paragraph_format.keep_with_next = False


def _table(doc, b: Block) -> None:
    from docx.shared import Pt

    cap = doc.add_paragraph(b.caption, style="Caption")
    cap.paragraph_format.keep_with_next = True
    table = doc.add_table(rows=1, cols=len(b.columns))
    try:
        table.style = doc.styles[_TABLE_STYLE]
    except KeyError:
        table.style = doc.styles["Table Grid"]
    for cell, text in zip(table.rows[0].cells, b.columns, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        run.font.size = Pt(9)
    # Repeat the header row on every page.
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    hdr = OxmlElement("w:tblHeader")
    hdr.set(qn("w:val"), "true")
    tr_pr.append(hdr)
    for row in b.rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = ""
            run = cell.paragraphs[0].add_run(text)
            run.font.size = Pt(9)
    doc.add_paragraph()


def render_docx(blocks: list[Block], figures: Mapping[str, Mapping[str, Path]],
                when: datetime | None = None) -> bytes:
    """Render blocks to a .docx file's bytes.

    Args:
        blocks: the brief (see :func:`consultations.report.brief.build_brief`).
        figures: figure name → {"png": path, "svg": path}.
        when: the date written in the document properties (fixed for reproducible files).

    Returns:
        The .docx bytes.

    """
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.shared import Mm, Pt

    doc = Document()
    _setup(doc)
    props = doc.core_properties
    props.title = blocks[0].text if blocks else "Note"
    props.language = "fr-FR"
    props.author = "consultations"
    props.last_modified_by = "consultations"
    props.revision = 1
    when = when or datetime(2020, 1, 1)
    props.created = props.modified = when
    props.last_printed = when
    for b in blocks:
        if b.kind == "title":
            doc.add_paragraph(b.text, style="Title")
        elif b.kind == "toc":
            doc.add_heading("Sommaire", level=1)
            _field(doc.add_paragraph(), 'TOC \\o "1-2" \\h \\z \\u',
                   "Table des matières : clic droit puis « Mettre à jour les champs » "
                   "(ou F9) si elle n'apparaît pas.")
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        elif b.kind == "heading":
            doc.add_heading(b.text, level=min(max(b.level, 1), 3))
        elif b.kind == "paragraph":
            p = doc.add_paragraph()
            if b.lead:
                p.add_run(b.lead).bold = True
            p.add_run(b.text)
        elif b.kind == "bullets":
            for lead, text in b.items:
                p = doc.add_paragraph(style="List Bullet")
                if lead:
                    p.add_run(f"{lead} : ").bold = True
                p.add_run(text)
        elif b.kind == "quote":
            p = doc.add_paragraph(style="Quote")
            p.add_run(f"« {b.text} »")
            r = p.add_run(f" ({b.ref})")
            r.italic = False
            r.font.size = Pt(8.5)
        elif b.kind == "table":
            _table(doc, b)
        elif b.kind == "figure":
            f = figures.get(b.name)
            if f is None:
                continue
            doc.add_picture(str(f["png"]), width=Mm(166))
            doc.paragraphs[-1].paragraph_format.keep_with_next = True
            _caption(doc, b.caption)
        elif b.kind == "pagebreak":
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
