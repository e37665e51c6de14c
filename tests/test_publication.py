"""The brief as a publication: Word layout, French typography in every output, accessible HTML.

The accessibility test runs axe-core (WCAG 2.0/2.1 A and AA) in headless Chromium through
puppeteer-core (no browser download: the Debian ``chromium``), and measures the page's scroll
width at 320 px (reflow, WCAG 1.4.10). It skips, saying why, when node, the npm packages (in
``tests/.node``, installed by ``bootstrap.py`` in CI) or Chromium are absent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fixtures_export import make_tables

from consultations.core.config import Settings
from consultations.core.typography import fr_typo
from consultations.report import export
from consultations.report.brief_docx import PAGE_TEXT_MM
from consultations.report.brief_pdf import _payload  # noqa: PLC2701 - the text sent to Typst

HERE = Path(__file__).parent
NODE_MODULES = Path(os.environ.get("CONSULTATIONS_NODE_MODULES", HERE / ".node" / "node_modules"))
CHROMIUM = Path("/usr/bin/chromium")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
#: An ordinary space before high punctuation, or inside guillemets.
BAD_SPACE = re.compile(r" [:;!?]|« | »")


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("publication")
    summary = export.export_all(make_tables(), folder, Settings())
    assert not summary["failures"], summary["failures"]
    return folder


def _docx_xml(folder: Path, name: str = "word/document.xml"):
    from lxml import etree

    with zipfile.ZipFile(folder / "brief.docx") as z:
        return etree.fromstring(z.read(name))


def _docx_paragraph_texts(folder: Path) -> list[str]:
    root = _docx_xml(folder)
    return ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in root.iter(f"{W}p")]


class _Visible(HTMLParser):
    """Visible text of an HTML page, headings, tables and attributes worth checking."""

    def __init__(self):
        super().__init__()
        self.text, self.headings, self.skip = [], [], 0
        self.tables_in_region = self.tables = 0
        self.stack, self.imgs, self.abbr = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append((tag, a))
        if tag in ("style", "title"):
            self.skip += 1
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "table":
            self.tables += 1
            parent = next((x for x in reversed(self.stack[:-1]) if x[0] == "div"), None)
            if parent and parent[1].get("role") == "region" and parent[1].get("tabindex") == "0" \
                    and parent[1].get("aria-label"):
                self.tables_in_region += 1
        if tag == "img":
            self.imgs.append(a.get("alt", ""))
        if tag == "abbr":
            self.abbr.append(a.get("title", ""))

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag in ("style", "title"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.text.append(data)


def _html(folder: Path) -> _Visible:
    p = _Visible()
    p.feed((folder / "brief.html").read_text(encoding="utf-8"))
    return p


# --------------------------------------------------------------------------- typography


def test_publication_no_ordinary_space_before_high_punctuation_docx(out):
    bad = [t for t in _docx_paragraph_texts(out) if BAD_SPACE.search(t)]
    assert bad == []
    text = "\n".join(_docx_paragraph_texts(out))
    assert "\u202f;" in text and "\u00a0:" in text and "«\u00a0" in text


def test_publication_no_ordinary_space_before_high_punctuation_html(out):
    text = "".join(_html(out).text)
    assert BAD_SPACE.findall(text) == []
    assert "\u202f;" in text and "«\u00a0" in text


def test_publication_no_ordinary_space_before_high_punctuation_pdf_text(out):
    # pdftotext turns no-break spaces into spaces: check the text handed to Typst instead.
    from consultations.report.brief import build_brief

    payload = json.dumps(_payload(build_brief(make_tables()), {}), ensure_ascii=False)
    strings = re.findall(r'"((?:[^"\\]|\\.)*)"', payload)
    assert [s for s in strings if BAD_SPACE.search(s)] == []
    assert (out / "brief.pdf").read_bytes().startswith(b"%PDF")


def test_publication_pdf_never_breaks_an_identifier(out):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) absent: cannot extract the PDF text")
    text = subprocess.run(["pdftotext", "-layout", str(out / "brief.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert not re.search(r"\b(?:FDS|DEC|OSC|PTF|JUS|ATL\d)[-\u2011]\s*$", text, flags=re.M)


def test_publication_no_negative_zero_or_hyphen_minus(out):
    text = "\n".join(_docx_paragraph_texts(out)) + "".join(_html(out).text)
    assert not re.search(r"[-\u2212]0,0+(?!\d*[1-9])\b", text)
    assert not re.search(r"(?<![\w\u2011-])-\d", text)


# --------------------------------------------------------------------------- Word


def test_publication_docx_tables_fitted_to_content_and_page(out):
    root = _docx_xml(out)
    page = PAGE_TEXT_MM / 25.4 * 1440  # twips
    tables = list(root.iter(f"{W}tbl"))
    assert tables
    for tbl in tables:
        grid = [int(c.get(f"{W}w")) for c in tbl.iter(f"{W}gridCol")]
        assert sum(grid) <= page + len(grid), grid
        if len(grid) > 1:
            assert len(set(grid)) > 1, grid
        rows = tbl.findall(f"{W}tr")
        assert all(r.find(f"{W}trPr/{W}cantSplit") is not None for r in rows)
        assert rows[0].find(f"{W}trPr/{W}tblHeader") is not None
        assert tbl.find(f"{W}tblPr/{W}tblLayout").get(f"{W}type") == "fixed"


def test_publication_docx_numbers_right_aligned(out):
    import docx

    doc = docx.Document(str(out / "brief.docx"))
    right = 0
    for table in doc.tables:
        for row in table.rows[1:]:
            for cell in row.cells:
                text = cell.text.strip()
                if re.fullmatch(r"[\d\u202f\u00a0]+", text):
                    assert cell.paragraphs[0].alignment == 2, text  # WD_ALIGN_PARAGRAPH.RIGHT
                    right += 1
    assert right > 10


def test_publication_docx_toc_shows_entries_without_updating(out):
    root = _docx_xml(out)
    body = root.find(f"{W}body")
    paras = list(body.iter(f"{W}p"))
    start = next(i for i, p in enumerate(paras)
                 if any("TOC" in (t.text or "") for t in p.iter(f"{W}instrText")))
    entries, i = [], start
    while True:
        p = paras[i]
        entries.append("".join(t.text or "" for t in p.iter(f"{W}t")))
        if any(f.get(f"{W}fldCharType") == "end" for f in p.iter(f"{W}fldChar")):
            break
        i += 1
    assert len(entries) > 10
    assert any(e.startswith("1.\u00a0Synthèse") or e.startswith("1. Synthèse") for e in entries)
    assert any(e.startswith("Annexe A") for e in entries)
    assert not any("Mettre à jour" in e for e in entries)
    settings = _docx_xml(out, "word/settings.xml")
    assert settings.find(f"{W}updateFields") is None  # no prompt when the file is opened


def test_publication_docx_captions_are_numbered_fields(out):
    root = _docx_xml(out)
    instr = [t.text.strip() for t in root.iter(f"{W}instrText")]
    n_tables = sum(1 for i in instr if i.startswith("SEQ Tableau"))
    n_figures = sum(1 for i in instr if i.startswith("SEQ Figure"))
    assert n_tables == len(list(root.iter(f"{W}tbl")))
    assert n_figures == 5


def test_publication_docx_language_quote_style_and_properties(out):
    styles = _docx_xml(out, "word/styles.xml")
    langs = {e.get(f"{W}val") for e in styles.iter(f"{W}lang")}
    assert langs == {"fr-FR"}
    quote = next(s for s in styles.iter(f"{W}style") if s.get(f"{W}styleId") == "Quote")
    assert quote.find(f"{W}pPr/{W}pBdr/{W}left") is not None
    with zipfile.ZipFile(out / "brief.docx") as z:
        core = z.read("docProps/core.xml").decode()
    assert "python-docx" not in core
    assert "<dc:creator>consultations</dc:creator>" in core
    assert "<dc:language>fr-FR</dc:language>" in core
    assert "<dc:title>Synthèse de la consultation</dc:title>" in core


# --------------------------------------------------------------------------- HTML


def test_publication_html_structure(out):
    page = _html(out)
    assert page.headings.count(1) == 1
    assert page.headings[0] == 1
    for a, b in zip(page.headings, page.headings[1:], strict=False):
        assert b <= a + 1, page.headings  # no level skipped
    assert page.tables and page.tables_in_region == page.tables
    captions = re.findall(r"<figcaption>(.*?)</figcaption>",
                          (out / "brief.html").read_text(encoding="utf-8"))
    assert len(page.imgs) == 5
    for alt in page.imgs:
        assert len(alt) > 60 and alt not in captions
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", alt)  # no internal table name
    assert {"Forces de défense et de sécurité", "Secteur de la justice"} <= set(page.abbr)
    html = (out / "brief.html").read_text(encoding="utf-8")
    assert "@media print" in html and "break-after: avoid" in html
    assert html.count('class="figure-data"') == 5


def test_publication_html_has_no_internal_names_or_english(out):
    text = "".join(_html(out).text)
    for word in ("evidence_by_axis", "code_group_counts", "rec_clusters", "default", "manual",
                 "tableau(x)"):
        assert word not in text, word


def _node() -> str | None:
    return shutil.which("node")


@pytest.mark.slow
def test_publication_html_axe_core_and_reflow(out, tmp_path):
    if not _node():
        pytest.skip("node absent: the axe-core check needs Node.js (Debian nodejs)")
    if not (NODE_MODULES / "axe-core").exists() or not (NODE_MODULES / "puppeteer-core").exists():
        pytest.skip(f"axe-core/puppeteer-core absent from {NODE_MODULES} (bootstrap.py installs "
                    "them in CI: npm install --prefix tests/.node axe-core puppeteer-core)")
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium absent (Debian package `chromium`)")
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    proc = subprocess.run([_node(), str(HERE / "axe_check.js"), str(out / "brief.html"),
                           str(CHROMIUM)], capture_output=True, text=True, timeout=300,
                          env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["violations"] == [], json.dumps(result["violations"], indent=1)
    assert result["passes"] > 10
    for width in ("320", "390"):
        w = result["widths"][width]
        assert w["scroll"] <= w["client"], (width, w)


def test_publication_typography_is_one_function():
    # Renderers apply the same function: the same input gives the same text everywhere.
    sample = "« Oui » : p < 0,001 ; FDS-03 ; -0,00"
    assert fr_typo(sample) == fr_typo(fr_typo(sample))


# --------------------------------------------------------------------------- building blocks


@pytest.mark.parametrize("cmap", ["cividis", "viridis"])
def test_publication_figure_labels_reach_aa_contrast(cmap):
    import matplotlib as mpl

    from consultations.report.figures import contrast_ratio, label_color

    colours = [mpl.colormaps[cmap](k / 20) for k in range(21)]
    ratios = [contrast_ratio(label_color(c), c) for c in colours]
    assert min(ratios) >= 4.5, min(ratios)


def test_publication_column_widths_keep_words_and_fill_the_line():
    from consultations.report.brief_blocks import column_widths

    cols = ["N°", "Formulation représentative", "Ateliers"]
    rows = [["R27", "Réduire la détention préventive " * 4, "ATL1, ATL2"]] * 3
    fr = column_widths(cols, rows, avail=90)
    assert abs(sum(fr) - 1) < 1e-9
    assert fr[1] > fr[2] > fr[0]
    assert fr[0] * 90 >= len("R27") + 2  # the identifier never wraps


def test_publication_figure_alt_states_the_finding():
    import pandas as pd

    from consultations.report.figure_text import figure_alt, figure_table

    data = pd.DataFrame({"code_id": ["A", "A", "B", "B"], "label": ["Alpha", "Alpha", "Bêta",
                                                                      "Bêta"],
                         "group_code": ["FDS", "OSC", "FDS", "OSC"],
                         "rate_pct": [10.0, 42.0, 5.0, 3.0], "mark": ["", "+", "", ""]})
    alt = figure_alt("heatmap_codes_groupes", data)
    assert "« Alpha » chez OSC (42 %" in alt and "1 cellule s'écarte" in alt
    cols, rows = figure_table("heatmap_codes_groupes", data)
    assert cols == ["Code", "Thème", "FDS (%)", "OSC (%)"]
    assert rows[0] == ["A", "Alpha", "10", "42 +"]
