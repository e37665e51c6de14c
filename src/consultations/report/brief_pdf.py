"""Render the brief's blocks to PDF with Typst (the ``typst`` Python package, fully offline).

The blocks are written as JSON next to a fixed Typst template that reads them with
``json(...)``: corpus text is never pasted into Typst markup, so no character in a quote can be
taken for markup. Figures are copied into the same temporary folder as SVG files. Fonts: Typst's
bundled fonts plus matplotlib's DejaVu fonts; system fonts are ignored, so the PDF is the same on
every machine.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from consultations.core.typography import fr_typo
from consultations.report.brief_blocks import Block, column_widths, numeric_columns

__all__ = ["TEMPLATE", "render_pdf"]

TEMPLATE = r"""
#let data = json("brief.json")
#let accent = rgb("#1f3a5f")
#let muted = rgb("#5b6773")
#set document(title: data.title, author: "consultations", date: none)
#set page(paper: "a4", margin: (x: 2.1cm, top: 2cm, bottom: 2.2cm),
  footer: context [
    #set align(center)
    #set text(size: 8pt, fill: muted, font: "DejaVu Sans")
    #data.title — page #counter(page).display() /
    #counter(page).final().first()
  ])
#set text(lang: "fr", region: data.region, font: "Libertinus Serif", size: 10.5pt)
#set par(justify: true, leading: 0.62em, spacing: 0.95em)
#show heading: set text(font: "DejaVu Sans", fill: accent)
#show heading.where(level: 1): it => { v(0.6em); text(size: 14pt, it); v(0.2em) }
#show heading.where(level: 2): set text(size: 11pt)
#show heading.where(level: 3): set text(size: 10pt)
#set list(indent: 0.6em, spacing: 0.7em)
#set table(stroke: (x, y) => if y == 0 { none } else { (bottom: 0.4pt + rgb("#d5dbe1")) },
           fill: (x, y) => if y == 0 { accent } else if calc.even(y) { rgb("#f4f6f8") },
           inset: (x: 4pt, y: 3.5pt))
#show table: set text(size: 8pt, font: "DejaVu Sans", hyphenate: false)
#show table: set par(justify: false)
#set table.cell(breakable: false)
#show outline.entry.where(level: 1): set text(weight: "bold")

#let caption(body) = block(above: 0.9em, below: 0.4em, sticky: true,
  text(size: 8.5pt, fill: muted, style: "italic", body))

#for b in data.blocks {
  if b.kind == "title" {
    block(above: 0pt, below: 0.6em, text(font: "DejaVu Sans", size: 20pt, weight: "bold",
      fill: accent, b.text))
  } else if b.kind == "subtitle" {
    block(below: 0.4em, text(size: 13pt, fill: muted, b.text))
  } else if b.kind == "toc" {
    v(0.8em)
    outline(title: "Sommaire", depth: 2, indent: auto)
    pagebreak(weak: true)
  } else if b.kind == "heading" {
    heading(level: b.level, b.text)
  } else if b.kind == "paragraph" {
    par[#if b.lead != "" { strong(b.lead) }#b.text]
  } else if b.kind == "bullets" {
    list(..b.items.map(it => [#if it.at(0) != "" [#strong(it.at(0)) ]#it.at(1)]))
  } else if b.kind == "quote" {
    block(inset: (left: 9pt, y: 3pt), stroke: (left: 2.5pt + rgb("#0072B2")), breakable: false,
      [#emph(b.text) #h(0.3em) #text(size: 8.5pt, fill: muted)[(#b.ref)]])
  } else if b.kind == "table" {
    caption(b.caption)
    table(columns: b.widths.map(w => w * 1fr),
      align: (x, y) => (if b.numeric.at(x) { right } else { left }) + (if y == 0 { bottom }
        else { top }),
      table.header(..b.columns.map(c => text(fill: white, weight: "bold", c))),
      ..b.rows.flatten())
  } else if b.kind == "figure" {
    block(breakable: false, width: 100%)[
      #image(b.file, width: 100%)
      #caption(b.caption)
    ]
  } else if b.kind == "pagebreak" {
    pagebreak(weak: true)
  }
}
"""


#: Characters of 8 pt DejaVu Sans on the 16.8 cm text line (average width about 1.6 mm).
_LINE_CHARS = 106


def _typo(value):
    """French typography on every string of a block (recursively)."""
    if isinstance(value, str):
        return fr_typo(value)
    if isinstance(value, (list, tuple)):
        return [_typo(v) for v in value]
    return value


def _payload(blocks: list[Block], files: Mapping[str, str], region: str = "") -> dict:
    out = []
    first_par = True
    for b in blocks:
        d = {k: (v if k in ("kind", "name", "segment_id") else _typo(v))
             for k, v in asdict(b).items()}
        d["items"] = [[fr_typo(f"{lead} :") if lead else "", text]
                      for lead, text in d["items"]]
        d["rows"] = [list(r) for r in d["rows"]]
        d["columns"] = list(d["columns"])
        if b.kind == "quote":
            d["text"] = fr_typo(f"« {b.text} »")
        if b.kind == "paragraph" and first_par:
            d["kind"] = "subtitle"
            first_par = False
        if b.kind == "table":
            d["widths"] = [round(w * 100, 2) for w in
                           column_widths(d["columns"], d["rows"], _LINE_CHARS)]
            d["numeric"] = numeric_columns(d["columns"], d["rows"])
        if b.kind == "figure":
            if b.name not in files:
                continue
            d["file"] = files[b.name]
        out.append(d)
    title = next((b.text for b in blocks if b.kind == "title"), "Note")
    return {"title": fr_typo(title), "region": region.upper() or None, "blocks": out}


def _font_paths() -> list[str]:
    import matplotlib

    return [str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")]


def render_pdf(blocks: list[Block], figures: Mapping[str, Mapping[str, Path]],
               region: str = "") -> bytes:
    """Render blocks to PDF bytes with Typst.

    Args:
        blocks: the brief (see :func:`consultations.report.brief.build_brief`).
        figures: figure name → {"png": path, "svg": path}; the SVG is used.
        region: ISO 3166 code of the French variety (``"ML"``, ``"FR"``; empty: none).

    Raises:
        RuntimeError: when the ``typst`` package is missing or the compilation fails (the
            message says what to do).

    """
    try:
        import typst
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("le paquet Python « typst » est absent : installez-le "
                           "(pip install typst) pour produire brief.pdf.") from exc
    with tempfile.TemporaryDirectory(prefix="brief-typst-") as tmp:
        tmp = Path(tmp)
        files = {}
        for name, f in figures.items():
            dst = tmp / f"{name}.svg"
            shutil.copyfile(f["svg"], dst)
            files[name] = dst.name
        payload = _payload(blocks, files, region)
        (tmp / "brief.json").write_text(json.dumps(payload, ensure_ascii=False),
                                        encoding="utf-8")
        (tmp / "brief.typ").write_text(TEMPLATE, encoding="utf-8")
        try:
            return typst.compile(str(tmp / "brief.typ"), root=str(tmp),
                                 font_paths=_font_paths(), ignore_system_fonts=True)
        except Exception as exc:  # noqa: BLE001 - typst raises its own error types
            raise RuntimeError(f"Typst n'a pas pu composer brief.pdf : {exc}") from exc
