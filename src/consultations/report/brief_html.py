"""Render the brief's blocks to one self-contained, accessible HTML file (WCAG 2.1 AA).

Figures are embedded as base64 SVG data URIs, the CSS is inline, there is no script, no font
and no link to anything outside the file: opening it makes no network request.

Accessibility: one ``h1`` (the title) and a heading hierarchy that follows the brief's structure;
every table sits in a labelled, focusable scrolling region so the page reflows at 320 px; each
figure's ``alt`` states what it shows and the values drawn follow as a table; abbreviations are
spelled out in a glossary and marked with ``abbr`` at first use; English terms carry
``lang="en"``; a print style sheet keeps headings with what follows and rows whole. Every text
goes through :func:`consultations.core.typography.fr_typo`.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from consultations.core.typography import fr_typo
from consultations.report.brief_blocks import Block, numeric_columns
from consultations.report.brief_glossary import GLOSSARY_NAME, glossary_map

__all__ = ["render_html"]

_CSS = """
:root { --ink: #1b2733; --accent: #1f3a5f; --muted: #4a5560; --rule: #c8d0d8; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font-family: "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: var(--ink);
       max-width: 52rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5;
       font-size: 16px; overflow-wrap: break-word; }
h1 { font-size: 1.9rem; color: var(--accent); margin-bottom: .25rem; line-height: 1.25; }
p.subtitle { font-size: 1.1rem; color: var(--muted); margin-top: 0; }
h2 { font-size: 1.45rem; color: var(--accent); border-bottom: 2px solid var(--accent);
     padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { font-size: 1.15rem; color: var(--accent); margin-top: 1.8rem; }
h4 { font-size: 1rem; color: var(--ink); margin: 1.2rem 0 .4rem; }
a { color: #1a4f8b; }
a:focus, .table-wrap:focus, details summary:focus { outline: 3px solid #b35900;
                                                  outline-offset: 2px; }
nav.toc { background: #f4f6f8; border: 1px solid var(--rule); padding: .75rem 1.25rem; }
nav.toc h2 { font-size: 1.1rem; border: 0; margin: 0 0 .3rem; }
nav.toc ul { margin: .25rem 0; padding-left: 0; list-style: none; }
nav.toc li.l1 { margin-top: .25rem; font-weight: 600; }
nav.toc li.l2 { margin-left: 1.2rem; font-size: .93rem; }
dl.glossary { display: grid; grid-template-columns: minmax(5rem, max-content) 1fr;
              gap: .2rem 1rem; }
dl.glossary dt { font-weight: 700; }
dl.glossary dd { margin: 0; }
.table-wrap { overflow-x: auto; max-width: 100%; margin: .25rem 0 1.25rem; }
table { border-collapse: collapse; width: 100%; font-size: .86rem; }
caption { caption-side: top; text-align: left; font-weight: 600; color: var(--muted);
          padding: .3rem 0; font-size: .85rem; }
th { background: var(--accent); color: #fff; text-align: left; padding: .35rem .45rem;
     vertical-align: bottom; }
td { border-bottom: 1px solid var(--rule); padding: .3rem .45rem; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr:nth-child(even) td { background: #f6f8fa; }
figure { margin: 1.25rem 0; }
figure img { width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { font-size: .85rem; color: var(--muted); margin-top: .3rem; }
details.figure-data { margin-top: .4rem; font-size: .85rem; }
details.figure-data summary { cursor: pointer; color: #1a4f8b; }
blockquote { margin: .6rem 0 .6rem 1rem; padding: .4rem .9rem; border-left: 4px solid #0072B2;
             background: #f4f8fb; font-style: italic; }
blockquote p { margin: 0; }
blockquote cite { display: block; font-style: normal; font-size: .82rem; color: var(--muted);
                  margin-top: .2rem; }
ul.bullets li { margin-bottom: .3rem; }
abbr[title] { text-decoration: underline dotted; }
hr.pagebreak { border: 0; margin: 1.5rem 0; }
footer { margin-top: 3rem; font-size: .8rem; color: var(--muted);
         border-top: 1px solid var(--rule); padding-top: .5rem; }
@media (max-width: 30rem) {
  body { margin: 1rem auto; padding: 0 .75rem; }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.25rem; }
  blockquote { margin-left: 0; }
  dl.glossary { grid-template-columns: 1fr; }
  dl.glossary dd { margin-bottom: .4rem; }
}
@media print {
  body { max-width: none; margin: 0; font-size: 10.5pt; color: #000; }
  nav.toc { display: none; }
  hr.pagebreak { break-after: page; }
  h1, h2, h3, h4, caption, figcaption { break-after: avoid; }
  h2, h3, h4 { break-inside: avoid; }
  th { background: #e8ecf0 !important; color: #000 !important; border-bottom: 1.5pt solid #000; }
  tr, blockquote, figure, dl.glossary dt { break-inside: avoid; }
  thead { display: table-header-group; }
  .table-wrap { overflow: visible; }
  details.figure-data { display: none; }
  a { color: #000; text-decoration: none; }
}
"""

#: English words that may appear in the brief (read out with an English voice).
_ENGLISH = ("BERTopic", "log-odds", "bootstrap", "spaCy", "c-TF-IDF", "Monte-Carlo")
_ENGLISH_RE = re.compile("|".join(re.escape(w) for w in _ENGLISH))


class _Text:
    """Escape and typeset text; mark each glossary abbreviation with ``abbr`` at first use."""

    def __init__(self, abbr: Mapping[str, str]):
        self.abbr = dict(abbr)
        self.seen: set[str] = set()
        self.re = (re.compile(r"(?<![\w\u2011.-])(" + "|".join(
            re.escape(a) for a in sorted(self.abbr, key=len, reverse=True)) + r")(?![\w\u2011-])")
            if self.abbr else None)

    def plain(self, text) -> str:
        return html.escape(fr_typo(text), quote=True)

    def __call__(self, text) -> str:
        out = _ENGLISH_RE.sub(lambda m: f'<span lang="en">{m.group(0)}</span>',
                              self.plain(text))
        if self.re is None:
            return out

        def mark(m):
            key = m.group(1)
            if key in self.seen:
                return key
            self.seen.add(key)
            return f'<abbr title="{html.escape(self.abbr[key], quote=True)}">{key}</abbr>'

        return self.re.sub(mark, out)


def _lead(t: _Text, lead: str) -> str:
    return f"<strong>{t(lead)}</strong>\u00a0: " if lead else ""


def _data_uri(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"data:image/svg+xml;base64,{data}"


def _table_html(t: _Text, caption: str, columns, rows, label: str | None = None) -> str:
    shown = [[fr_typo(c) for c in r] for r in rows]
    num = numeric_columns(columns, shown)
    head = "".join(f'<th scope="col"{" class=num" if num[j] else ""}>{t.plain(c)}</th>'
                   for j, c in enumerate(columns))
    body = "".join("<tr>" + "".join(f'<td{" class=num" if num[j] else ""}>{t(c)}</td>'
                                    for j, c in enumerate(r)) + "</tr>" for r in rows)
    label = t.plain(label or caption)
    return (f'<div class="table-wrap" role="region" tabindex="0" aria-label="{label}">'
            f"<table><caption>{t(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


def _figure_data(t: _Text, name: str, caption: str, data) -> str:
    if data is None or not isinstance(data, pd.DataFrame) or data.empty:
        return ""
    from consultations.report.figure_text import figure_table

    columns, rows = figure_table(name, data)
    if not rows:
        return ""
    short = caption.split(" — ", 1)[0]
    return ('<details class="figure-data"><summary>Données de la '
            f"{t.plain(short.lower())} (tableau)</summary>"
            + _table_html(t, f"Valeurs représentées dans la {short.lower()}", columns, rows)
            + "</details>")


def render_html(blocks: list[Block], figures: Mapping[str, Mapping]) -> bytes:
    """Render blocks to a self-contained UTF-8 HTML page (bytes).

    Args:
        blocks: the brief (see :func:`consultations.report.brief.build_brief`).
        figures: figure name → {"svg": path, "data": values drawn, "alt": finding, …}; the SVG
            is embedded, the data shown as a table under the figure.

    """
    t = _Text(glossary_map(blocks))
    title = next((b.text for b in blocks if b.kind == "title"), "Note")
    heads = []
    for i, b in enumerate(blocks):
        if b.kind == "heading" and b.level <= 2:
            heads.append((b.level, b.text, b.name or f"s{i}"))
    out = ["<!DOCTYPE html>", '<html lang="fr">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{t.plain(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           "<main>"]
    first_par = True
    section = 1  # the level of the last section heading written (h1 = title)
    for i, b in enumerate(blocks):
        if b.kind == "title":
            out.append(f"<h1>{t.plain(b.text)}</h1>")
            continue
        if b.kind == "paragraph" and first_par:
            out.append(f'<p class="subtitle">{t(b.text)}</p>')
            first_par = False
            continue
        if b.kind == "toc":
            items = [f'<li class="l{lvl}"><a href="#{html.escape(anchor)}">{t.plain(text)}</a>'
                     "</li>" for lvl, text, anchor in heads]
            out.append('<nav class="toc" aria-labelledby="sommaire"><h2 id="sommaire">Sommaire'
                       "</h2><ul>" + "".join(items) + "</ul></nav>")
            section = 2
        elif b.kind == "heading":
            # h2 for the brief's level 1 (h1 is the title); never skip a level going down.
            section = min(min(max(b.level, 1), 3) + 1, section + 1)
            out.append(f'<h{section} id="{html.escape(b.name or f"s{i}")}">{t.plain(b.text)}'
                       f"</h{section}>")
        elif b.kind == "paragraph" and not b.text.strip() and b.lead.strip():
            # A label such as « Options exprimées : » introduces what follows: a sub-heading.
            sub = min(section + 1, 6)
            out.append(f"<h{sub}>{t(b.lead.strip().rstrip(':').strip())}</h{sub}>")
        elif b.kind == "paragraph":
            lead = f"<strong>{t(b.lead)}</strong>" if b.lead else ""
            out.append(f"<p>{lead}{t(b.text)}</p>")
        elif b.kind == "bullets" and b.name == GLOSSARY_NAME:
            items = "".join(f"<dt>{t.plain(lead)}</dt><dd>{t.plain(text)}</dd>"
                            for lead, text in b.items)
            out.append(f'<dl class="glossary">{items}</dl>')
        elif b.kind == "bullets":
            lis = "".join(f"<li>{_lead(t, lead)}{t(x)}</li>" for lead, x in b.items)
            out.append(f'<ul class="bullets">{lis}</ul>')
        elif b.kind == "quote":
            out.append(f'<blockquote data-segment="{html.escape(b.segment_id)}">'
                       f"<p>{t.plain(f'« {b.text} »')}</p>"
                       f"<cite>({t(b.ref)})</cite></blockquote>")
        elif b.kind == "table":
            out.append(_table_html(t, b.caption, b.columns, b.rows,
                                   label=b.caption.split(" — ", 1)[0]))
        elif b.kind == "figure":
            f = figures.get(b.name)
            if f is None:
                continue
            alt = f.get("alt") or b.caption
            out.append(f'<figure id="fig-{html.escape(b.name)}">'
                       f'<img src="{_data_uri(f["svg"])}" alt="{t.plain(alt)}">'
                       f"<figcaption>{t(b.caption)}</figcaption>"
                       + _figure_data(t, b.name, b.caption, f.get("data")) + "</figure>")
        elif b.kind == "pagebreak":
            out.append('<hr class="pagebreak">')
    out += ["</main>", "<footer>Document généré par la suite «\u00a0consultations\u00a0» à partir "
            "des tableaux de l'analyse\u202f; données pseudonymisées.</footer>", "</body>",
            "</html>", ""]
    return "\n".join(out).encode("utf-8")
