"""Export stage: the brief in three formats, the workbook, figures and REFI-QDA files."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from fixtures_export import PRIVATE_CONTACTS, PRIVATE_NAMES, empty_tables, make_tables

from consultations.core.config import Settings, get_paths
from consultations.core.errors import InputWarning
from consultations.core.typography import fr_typo, plain
from consultations.report import export
from consultations.report.brief import brief_text, build_brief
from consultations.report.brief_blocks import scrub

CHROMIUM = Path("/usr/bin/chromium")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.]?)?(?:\d{2}[\s.]?){3}\d{2}(?!\w)")


@pytest.fixture(scope="module")
def tables():
    return make_tables()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tables):
    """Two exports of the same tables into two folders."""
    out = []
    for k in range(2):
        folder = tmp_path_factory.mktemp(f"reports{k}")
        summary = export.export_all(tables, folder, Settings())
        out.append((folder, summary))
    return out


def _docx_paragraphs(path: Path):
    import docx

    return docx.Document(str(path)).paragraphs


class _HTMLQuotes(HTMLParser):
    """Collect quotes (blockquote text + data-segment), headings and every src/href."""

    def __init__(self):
        super().__init__()
        self.quotes, self.refs, self.links, self.headings = [], [], [], []
        self._in_quote = self._in_p = self._in_h = False
        self._seg = None
        self._buf = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if key in a:
                self.links.append(a[key])
        if tag == "blockquote":
            self._in_quote, self._seg = True, a.get("data-segment")
        elif tag == "p" and self._in_quote:
            self._in_p, self._buf = True, ""
        elif tag in ("h1", "h2"):
            self._in_h, self._buf = True, ""

    def handle_endtag(self, tag):
        if tag == "p" and self._in_p:
            self.quotes.append((self._seg, self._buf))
            self._in_p = False
        elif tag == "blockquote":
            self._in_quote = False
        elif tag in ("h1", "h2") and self._in_h:
            self.headings.append(self._buf)
            self._in_h = False

    def handle_data(self, data):
        if self._in_p or self._in_h:
            self._buf += data


def _strip_guillemets(text: str) -> str:
    return text.strip().removeprefix("«").removesuffix("»").strip()


def test_export_writes_every_format(runs):
    folder, summary = runs[0]
    for name in export.OUTPUTS:
        assert (folder / name).stat().st_size > 0, name
    assert (folder / "brief.pdf").read_bytes().startswith(b"%PDF")
    assert zipfile.is_zipfile(folder / "brief.docx")
    assert zipfile.is_zipfile(folder / "evidence_tables.xlsx")
    assert summary["failures"] == {}
    assert summary["renderer_pdf"] == "typst"
    assert summary["pages_pdf"] and summary["pages_pdf"] >= 5
    assert len(list((folder / "figures").glob("*.png"))) == 5
    assert len(list((folder / "figures").glob("*.svg"))) == 5


def test_export_docx_quotes_resolve_to_tables(runs, tables):
    folder, _ = runs[0]
    quotes = tables["evidence_quotes"]
    seg_ids = set(tables["segments"]["segment_id"])
    found = 0
    for p in _docx_paragraphs(folder / "brief.docx"):
        if p.style.name != "Quote":
            continue
        m = re.match(r"«\s*(.*?)\s*»\s*\((.*)\)$", p.text, flags=re.S)
        assert m, p.text
        text, ref = m.groups()
        speaker, seg_id, _ = [plain(x).strip() for x in ref.split(",", 2)]
        row = quotes[quotes["segment_id"] == seg_id]
        assert seg_id in seg_ids
        # The quote is the table's text with French typography (spaces, signs) applied.
        assert text in {fr_typo(t) for t in row["text"]}, text
        assert speaker in set(row["speaker"])
        found += 1
    assert found == len(quotes.sort_values("rank").groupby("code_id").head(3))


def test_export_docx_structure(runs):
    folder, _ = runs[0]
    paras = _docx_paragraphs(folder / "brief.docx")
    styles = {p.style.name for p in paras}
    assert {"Title", "Heading 1", "Heading 2", "Caption", "Quote", "List Bullet"} <= styles
    with zipfile.ZipFile(folder / "brief.docx") as z:
        body = z.read("word/document.xml").decode()
        footers = "".join(z.read(n).decode() for n in z.namelist() if "footer" in n)
        styles_xml = z.read("word/styles.xml").decode()
    assert "TOC \\o" in body
    assert " PAGE " in footers
    assert 'w:val="fr-FR"' in styles_xml
    captions = [plain(p.text) for p in paras if p.style.name == "Caption"]
    assert any(c.startswith("Figure 1 —") for c in captions)
    assert any(c.startswith("Tableau 1 —") for c in captions)


def test_export_html_quotes_resolve_and_no_external_reference(runs, tables):
    folder, _ = runs[0]
    raw = (folder / "brief.html").read_bytes()
    parser = _HTMLQuotes()
    parser.feed(raw.decode("utf-8"))
    quotes = tables["evidence_quotes"]
    assert parser.quotes
    for seg, text in parser.quotes:
        assert seg in set(tables["segments"]["segment_id"])
        assert _strip_guillemets(text) in {
            fr_typo(t) for t in quotes.loc[quotes["segment_id"] == seg, "text"]}
    assert parser.links, "figures and TOC links expected"
    for link in parser.links:
        assert link.startswith(("#", "data:image/")), link
    assert b"http://" not in raw and b"https://" not in raw
    assert b"<script" not in raw and b"<link" not in raw and b"@import" not in raw
    assert b'<html lang="fr">' in raw
    assert raw.count(b"<img ") == 5


def test_export_figures_in_brief_come_from_tables(runs):
    folder, summary = runs[0]
    raw = (folder / "brief.html").read_text(encoding="utf-8")
    for name in summary["figures"]:
        assert f'id="fig-{name}"' in raw
    caps = re.findall(r"<figcaption>(.*?)</figcaption>", raw)
    assert len(caps) == len(summary["figures"])
    for cap in caps:
        assert "Source\u00a0: classeur evidence_tables.xlsx, feuille" in cap


def test_export_no_names_phones_or_emails_in_outputs(runs):
    folder, _ = runs[0]
    texts = []
    for p in sorted(folder.rglob("*")):
        if p.suffix in (".docx", ".xlsx", ".qdpx"):
            with zipfile.ZipFile(p) as z:
                texts += [z.read(n).decode("utf-8", "ignore") for n in z.namelist()
                          if n.endswith((".xml", ".qde", ".txt", ".rels"))]
        elif p.suffix in (".html", ".svg", ".qdc"):
            texts.append(p.read_text(encoding="utf-8"))
    if shutil.which("pdftotext"):
        texts.append(subprocess.run(["pdftotext", str(folder / "brief.pdf"), "-"],
                                    capture_output=True, text=True, check=True).stdout)
    blob = "\n".join(texts)
    for s in PRIVATE_NAMES + PRIVATE_CONTACTS:
        assert s.casefold() not in blob.casefold(), s
    visible = re.sub(r"data:image/[^\"]+", "", blob)
    assert not EMAIL.findall(visible)
    assert not PHONE.findall(re.sub(r"<[^>]+>", " ", visible))


def test_export_scrub_masks_contacts_that_slipped_through(tmp_path, tables):
    leaky = dict(tables)
    rc = tables["rec_clusters"].copy()
    rc.loc[0, "text"] = f"Appeler le {PRIVATE_CONTACTS[1]} ou écrire à {PRIVATE_CONTACTS[0]}."
    leaky["rec_clusters"] = rc
    text = brief_text(build_brief(leaky, [], Settings()))
    assert PRIVATE_CONTACTS[0] not in text and PRIVATE_CONTACTS[1] not in text
    assert "[courriel]" in text and "[téléphone]" in text
    assert scrub("réunion du 4 mars 2020, 25 participants") == \
        "réunion du 4 mars 2020, 25 participants"
    assert rc.loc[0, "text"] != tables["rec_clusters"].loc[0, "text"]  # input untouched


def test_export_two_runs_identical(runs):
    (a, sa), (b, sb) = runs
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert sa == sb


def test_export_docx_text_identical_across_runs(runs):
    (a, _), (b, _) = runs
    ta = "\n".join(p.text for p in _docx_paragraphs(a / "brief.docx"))
    tb = "\n".join(p.text for p in _docx_paragraphs(b / "brief.docx"))
    assert ta == tb and "Synthèse" in ta


def test_export_empty_stage_result_still_gives_a_brief(tmp_path):
    with pytest.warns(InputWarning, match="grille de codage est vide"):
        summary = export.export_all(empty_tables(), tmp_path, Settings())
    for name in ("brief.docx", "brief.html", "brief.pdf", "evidence_tables.xlsx"):
        assert (tmp_path / name).exists(), name
    html = unescape((tmp_path / "brief.html").read_text(encoding="utf-8"))
    assert "Aucun thème n'a été codé" in html
    assert "Le modèle de thèmes n'a produit aucun thème" in html
    assert summary["figures"] == []
    assert summary["quotes"] == 0


def test_export_missing_tables_degrade_gracefully(tmp_path, tables):
    few = {k: tables[k] for k in ("workshops", "segments", "speakers")}
    with pytest.warns(InputWarning, match="project.qdpx"):
        summary = export.export_all(few, tmp_path, Settings())
    assert {"brief.docx", "brief.html", "brief.pdf", "evidence_tables.xlsx"} <= \
        set(summary["files"])
    assert "project.qdpx" in summary["failures"]
    assert summary["codebook_version"] == "inconnue"


def test_export_failing_renderer_leaves_other_formats(tmp_path, tables, monkeypatch):
    import consultations.report.brief_pdf as bp

    def broken(*a, **k):
        raise RuntimeError("typst absent (simulé)")

    monkeypatch.setattr(bp, "render_pdf", broken)
    with pytest.warns(InputWarning, match="brief.pdf"):
        summary = export.export_all(tables, tmp_path, Settings())
    assert not (tmp_path / "brief.pdf").exists()
    assert (tmp_path / "brief.docx").exists() and (tmp_path / "brief.html").exists()
    assert "brief.pdf" in summary["failures"] and summary["renderer_pdf"] is None


def test_export_run_stage_writes_into_reports(tmp_path, tables):
    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    paths.private.mkdir(parents=True)
    pd.DataFrame({"pseudonym": ["OSC-01"], "workshop_id": ["ATL1"],
                  "label": [PRIVATE_NAMES[0]]}).to_csv(paths.private / "pseudonym_key.csv",
                                                       index=False)
    result = export.run_stage(tables, paths, Settings())
    assert list(result) == ["_summary"]
    assert result["_summary"]["privacy_labels_found"] == []
    assert (paths.reports / "brief.html").exists()


def test_export_privacy_check_reports_pseudonym_not_name():
    key = pd.DataFrame({"pseudonym": ["FDS-01", "FAC-01"],
                        "label": ["Moussa Traoré", "Facilitateur"]})
    assert export.privacy_check("… dit Moussa Traoré au facilitateur …", key) == ["FDS-01"]
    assert export.privacy_check("rien", key) == []


def test_export_pdf_text_has_french_accents(runs):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) absent: cannot extract the PDF text")
    folder, _ = runs[0]
    text = subprocess.run(["pdftotext", str(folder / "brief.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Synthèse de la consultation" in text
    assert "Par axe de la stratégie" in text
    assert "«" in text


_CHECK_SCRIPT = """<script>
window.addEventListener('load', () => {
  for (const img of document.images)
    if (!img.complete || img.naturalWidth === 0) console.error('IMG-FAIL ' + img.alt.slice(0, 30));
  for (const e of performance.getEntriesByType('resource'))
    if (!e.name.startsWith('data:')) console.error('REQUEST ' + e.name);
  console.log('CHECK-DONE ' + document.images.length);
});
</script></body>"""


@pytest.mark.slow
def test_export_html_renders_in_headless_chromium(runs, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium absent (Debian package `chromium`): headless check "
                    "not run")
    folder, _ = runs[0]
    # A copy with a probe script: the published file itself has no script at all.
    probe = tmp_path / "probe.html"
    probe.write_text((folder / "brief.html").read_text(encoding="utf-8")
                     .replace("</body>", _CHECK_SCRIPT), encoding="utf-8")
    proc = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=5000", "--host-resolver-rules=MAP * ~NOTFOUND",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120)
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    assert any("CHECK-DONE 5" in ln for ln in console), proc.stderr[-2000:]
    errors = [ln for ln in console if "CHECK-DONE" not in ln]
    assert errors == []
    assert "Synthèse de la consultation" in proc.stdout


def _export_only_pipeline(tmp_path, tables, monkeypatch):
    """A pipeline of the real export stage alone, on the fixture tables saved as the catalog."""
    from consultations import pipeline
    from consultations.core import io as cio

    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    for name, df in tables.items():
        cio.save_table(paths, name, df)
    monkeypatch.setattr(pipeline, "STAGES", {"export": "consultations.report.export"})
    return paths, pipeline


def test_export_full_disk_keeps_the_old_reports_and_fails_the_run(tmp_path, tables,
                                                                  monkeypatch):
    import errno

    from consultations.core import io as cio
    from consultations.core.errors import InputError

    paths, pipeline = _export_only_pipeline(tmp_path, tables, monkeypatch)
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    before = {p.name: p.read_bytes() for p in paths.reports.iterdir() if p.is_file()
              and p.name != "run_summary.json"}
    assert set(export.OUTPUTS) <= set(before)
    state = pipeline._load_state(paths)["export"]
    real = cio.atomic_write_bytes

    def full_disk(target, data):
        if Path(target).suffix in {".xlsx", ".pdf"}:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(target, data)

    monkeypatch.setattr(cio, "atomic_write_bytes", full_disk)
    with pytest.raises(InputError) as exc:  # (the stage's warnings die with it)
        pipeline.run_pipeline(paths, Settings(), force=True, progress=lambda m: None)
    msg = str(exc.value)
    assert "brief.pdf" in msg and "evidence_tables.xlsx" in msg and "conservés" in msg
    after = {p.name: p.read_bytes() for p in paths.reports.iterdir() if p.is_file()
             and p.name != "run_summary.json"}
    assert after == before  # nothing removed as stale, nothing half-replaced
    assert not list(paths.reports.glob(".staging-*"))
    assert pipeline._load_state(paths)["export"] == state  # not recorded as exported
    monkeypatch.setattr(cio, "atomic_write_bytes", real)
    summary = pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    assert summary["stages"]["export"]["cached"] is True  # the old export is still current


def test_export_run_stage_fails_on_a_writer_failure_not_on_missing_tables(tmp_path, tables,
                                                                         monkeypatch):
    from consultations.core.errors import InputError

    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    few = {k: tables[k] for k in ("workshops", "segments", "speakers")}
    with pytest.warns(InputWarning, match="project.qdpx"):
        result = export.run_stage(few, paths, Settings())  # empty codebook: warned only
    assert "project.qdpx" in result["_summary"]["failures"]
    import consultations.report.brief_docx as bd

    monkeypatch.setattr(bd, "render_docx", lambda *a, **k: (_ for _ in ()).throw(
        OSError(28, "No space left on device")))
    with pytest.warns(InputWarning), pytest.raises(InputError, match="brief.docx"):
        export.run_stage(tables, paths, Settings())
