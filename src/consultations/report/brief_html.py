"""Render the brief's blocks to one self-contained HTML file.

Figures are embedded as base64 SVG data URIs, the CSS is inline, there is no script, no font
and no link to anything outside the file: opening it makes no network request.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from pathlib import Path

from consultations.report.brief_blocks import Block

__all__ = ["render_html"]

_CSS = """
:root { --ink: #1b2733; --accent: #1f3a5f; --muted: #5b6773; --rule: #d5dbe1; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: var(--ink);
       max-width: 52rem; margin: 2rem auto; padding: 0 1.25rem; line-height: 1.5;
       font-size: 16px; }
h1.title { font-size: 1.9rem; color: var(--accent); margin-bottom: .25rem; }
p.subtitle { font-size: 1.1rem; color: var(--muted); margin-top: 0; }
h1 { font-size: 1.45rem; color: var(--accent); border-bottom: 2px solid var(--accent);
     padding-bottom: .2rem; margin-top: 2.5rem; }
h2 { font-size: 1.15rem; color: var(--accent); margin-top: 1.8rem; }
nav.toc { background: #f4f6f8; border: 1px solid var(--rule); padding: .75rem 1.25rem; }
nav.toc ul { margin: .25rem 0; padding-left: 0; list-style: none; }
nav.toc li.l1 { margin-top: .25rem; font-weight: 600; }
nav.toc li.l2 { margin-left: 1.2rem; font-size: .93rem; }
table { border-collapse: collapse; width: 100%; font-size: .86rem; margin: .25rem 0 1.25rem; }
caption { caption-side: top; text-align: left; font-weight: 600; color: var(--muted);
          padding: .3rem 0; font-size: .85rem; }
th { background: var(--accent); color: #fff; text-align: left; padding: .35rem .45rem; }
td { border-bottom: 1px solid var(--rule); padding: .3rem .45rem; vertical-align: top; }
tr:nth-child(even) td { background: #f8fafb; }
figure { margin: 1.25rem 0; }
figure img { width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { font-size: .85rem; color: var(--muted); margin-top: .3rem; }
blockquote { margin: .6rem 0 .6rem 1rem; padding: .4rem .9rem; border-left: 4px solid #0072B2;
             background: #f4f8fb; font-style: italic; }
blockquote cite { display: block; font-style: normal; font-size: .82rem; color: var(--muted);
                  margin-top: .2rem; }
ul.bullets li { margin-bottom: .3rem; }
hr.pagebreak { border: 0; margin: 1.5rem 0; }
footer { margin-top: 3rem; font-size: .8rem; color: var(--muted);
         border-top: 1px solid var(--rule); padding-top: .5rem; }
@media print { body { max-width: none; } hr.pagebreak { page-break-after: always; }
               nav.toc { display: none; } }
"""


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _data_uri(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"data:image/svg+xml;base64,{data}"


def render_html(blocks: list[Block], figures: Mapping[str, Mapping[str, Path]]) -> bytes:
    """Render blocks to a self-contained UTF-8 HTML page (bytes).

    Args:
        blocks: the brief (see :func:`consultations.report.brief.build_brief`).
        figures: figure name → {"png": path, "svg": path}; the SVG is embedded.

    """
    title = next((b.text for b in blocks if b.kind == "title"), "Note")
    heads = []
    for i, b in enumerate(blocks):
        if b.kind == "heading" and b.level <= 2:
            heads.append((b.level, b.text, b.name or f"s{i}"))
    out = ["<!DOCTYPE html>", '<html lang="fr">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           "<main>"]
    first_par = True
    for i, b in enumerate(blocks):
        if b.kind == "title":
            out.append(f'<h1 class="title">{_e(b.text)}</h1>')
            continue
        if b.kind == "paragraph" and first_par:
            out.append(f'<p class="subtitle">{_e(b.text)}</p>')
            first_par = False
            continue
        if b.kind == "toc":
            items = [f'<li class="l{lvl}"><a href="#{_e(anchor)}">{_e(text)}</a></li>'
                     for lvl, text, anchor in heads]
            out.append('<nav class="toc" aria-label="Sommaire"><strong>Sommaire</strong><ul>'
                       + "".join(items) + "</ul></nav>")
        elif b.kind == "heading":
            lvl = min(max(b.level, 1), 3)
            out.append(f'<h{lvl} id="{_e(b.name or f"s{i}")}">{_e(b.text)}</h{lvl}>')
        elif b.kind == "paragraph":
            lead = f"<strong>{_e(b.lead)}</strong>" if b.lead else ""
            out.append(f"<p>{lead}{_e(b.text)}</p>")
        elif b.kind == "bullets":
            lis = "".join(f"<li>{f'<strong>{_e(lead)}</strong> : ' if lead else ''}{_e(t)}</li>"
                          for lead, t in b.items)
            out.append(f'<ul class="bullets">{lis}</ul>')
        elif b.kind == "quote":
            out.append(f'<blockquote data-segment="{_e(b.segment_id)}"><p>« {_e(b.text)} »</p>'
                       f"<cite>({_e(b.ref)})</cite></blockquote>")
        elif b.kind == "table":
            head = "".join(f'<th scope="col">{_e(c)}</th>' for c in b.columns)
            body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>"
                           for r in b.rows)
            out.append(f"<table><caption>{_e(b.caption)}</caption><thead><tr>{head}</tr>"
                       f"</thead><tbody>{body}</tbody></table>")
        elif b.kind == "figure":
            f = figures.get(b.name)
            if f is None:
                continue
            out.append(f'<figure id="fig-{_e(b.name)}"><img src="{_data_uri(f["svg"])}" '
                       f'alt="{_e(b.caption)}"><figcaption>{_e(b.caption)}</figcaption>'
                       "</figure>")
        elif b.kind == "pagebreak":
            out.append('<hr class="pagebreak">')
    out += ["</main>", "<footer>Document généré par la suite « consultations » à partir des "
            "tableaux de l'analyse ; données pseudonymisées.</footer>", "</body>", "</html>", ""]
    return "\n".join(out).encode("utf-8")
