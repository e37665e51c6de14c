"""Export stage: the brief (Word, HTML, PDF), the evidence workbook, figures and REFI-QDA files.

:func:`run_stage` writes into ``paths.reports`` (the pipeline hands it a staging folder and
publishes it only when the stage succeeds and every file is complete). Each output is made
independently: a renderer that is missing or fails, or a write error (full disk), gives a clear
warning, the other files are still tried, and :func:`run_stage` then fails, so the pipeline keeps
the previous reports. Outputs left out for lack of input tables (an empty codebook) are only
warned about. Office files (docx, xlsx) are re-zipped with fixed timestamps so that two runs on the
same tables give the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import pandas as pd

from consultations.core import io as cio
from consultations.core.errors import InputError, warn_input
from consultations.core.progress import progress_bar
from consultations.report.brief import brief_quotes, brief_text, build_brief, codebook_version
from consultations.report.brief_blocks import report_setting, report_units
from consultations.report.brief_glossary import add_glossary

__all__ = ["EMPTY_INPUT", "OUTPUTS", "export_all", "freeze_zip", "privacy_check", "run_stage",
           "writer_failures"]

#: The files the stage writes (besides figures/*).
OUTPUTS = ["brief.docx", "brief.html", "brief.pdf", "evidence_tables.xlsx", "codebook.qdc",
           "project.qdpx"]
#: Prefix of a failure that comes from missing input tables (not a writer failure).
EMPTY_INPUT = "données absentes : "
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def freeze_zip(data: bytes, when: datetime) -> bytes:
    """Re-zip an Office file with fixed entry timestamps and fixed document dates."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_DATES.sub(rb"\g<1>" + stamp + rb"\g<2>", content)
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, content)
    return buf.getvalue()


def _when(tables: Mapping[str, pd.DataFrame]) -> datetime:
    """Return the date stored in document properties: the last workshop's (fixed otherwise)."""
    if "workshops" in tables and len(tables["workshops"]):
        d = pd.to_datetime(tables["workshops"]["date"], errors="coerce").max()
        if pd.notna(d):
            return d.to_pydatetime().replace(tzinfo=None)
    return datetime(2020, 1, 1)


def _private_labels(paths) -> pd.DataFrame:
    """Read the pseudonym key (private folder), if the ingest stage wrote one."""
    p = Path(paths.private) / "pseudonym_key.csv"
    if not p.exists():
        return pd.DataFrame(columns=["pseudonym", "label"])
    try:
        return pd.read_csv(p, dtype=str)
    except (OSError, ValueError):
        return pd.DataFrame(columns=["pseudonym", "label"])


def privacy_check(text: str, key: pd.DataFrame) -> list[str]:
    """Pseudonyms whose original speaker label (two words or more) appears in ``text``.

    Only multi-word labels are checked ("Moussa Traoré", "Mme Koné"): one-word labels such as
    "Facilitateur" are ordinary words. The pseudonym is returned, never the label.
    """
    if key is None or key.empty or "label" not in key:
        return []
    folded = text.casefold()
    found = []
    for pseudo, label in zip(key.get("pseudonym", key["label"]), key["label"], strict=True):
        label = str(label).strip()
        if len(label.split()) >= 2 and label.casefold() in folded:
            found.append(str(pseudo))
    return sorted(set(found))


def _write(target: Path, make, written: list[str], failures: dict[str, str], label: str,
           hint: str) -> None:
    """Make one output; on failure record it, warn clearly and carry on with the others.

    The failure is listed in ``failures``: :func:`run_stage` then fails the export so that
    the pipeline keeps the previous reports (nothing is published).
    """
    try:
        data = make()
        cio.atomic_write_bytes(target, data)
        written.append(target.name)
    except Exception as exc:  # noqa: BLE001 - one output failing must not stop the others
        failures[target.name] = f"{type(exc).__name__}: {exc}"
        warn_input(target.name, None, f"{label} n'a pas pu être produit : {exc}", hint)


def export_all(tables: Mapping[str, pd.DataFrame], folder: Path, settings=None,
               private_key: pd.DataFrame | None = None) -> dict:
    """Write every export into ``folder`` and return the summary (French keys are for people).

    Args:
        tables: the stage tables (missing ones count as empty).
        folder: output folder (the pipeline's staging folder for reports/).
        settings: the run settings (shown in the methods annex).
        private_key: the pseudonym key, used only to check that no label leaked.

    Returns:
        The ``_summary`` dict: files written, failures, renderer, figures, quotes, pages.

    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    version = codebook_version(tables)
    when = _when(tables)
    written: list[str] = []
    failures: dict[str, str] = {}  # every output not made, and why
    bar = progress_bar(6, "[export] figures, note (docx, html, pdf), classeur, REFI-QDA",
                       "étapes")

    figures: list[dict] = []
    try:
        from consultations.report.figures import make_figures

        figures = make_figures(tables, folder / "figures")
        written += [f"figures/{Path(f[k]).name}" for f in figures for k in ("png", "svg")]
    except Exception as exc:  # noqa: BLE001 - the brief still comes out without figures
        failures["figures"] = f"{type(exc).__name__}: {exc}"
        warn_input("figures/", None, f"les figures n'ont pas pu être produites : {exc}",
                   "vérifiez l'installation de matplotlib ; la note sort sans figures.")
    fig_files = {f["name"]: {"png": f["png"], "svg": f["svg"], "data": f.get("data"),
                             "alt": f.get("alt", "")} for f in figures}
    bar.update(1)
    blocks = add_glossary(build_brief(tables, figures, settings), tables,
                          report_units(settings))

    def docx():
        from consultations.report.brief_docx import render_docx

        return freeze_zip(render_docx(blocks, fig_files, when), when)

    def html():
        from consultations.report.brief_html import render_html

        return render_html(blocks, fig_files)

    def pdf():
        from consultations.report.brief_pdf import render_pdf

        return render_pdf(blocks, fig_files, report_setting(settings, "region"))

    def xlsx():
        from consultations.report.workbook import render_workbook

        data, _ = render_workbook(tables, version, when,
                                  title=report_setting(settings, "title"))
        return freeze_zip(data, when)

    jobs = [("brief.docx", docx, "brief.docx (Word)",
             "vérifiez l'installation de python-docx ; les autres formats sont produits."),
            ("brief.html", html, "brief.html", ""),
            ("brief.pdf", pdf, "brief.pdf (Typst)",
             "installez le paquet « typst » (pip install typst) ; brief.docx et brief.html "
             "restent disponibles."),
            ("evidence_tables.xlsx", xlsx, "evidence_tables.xlsx (openpyxl)",
             "vérifiez l'installation d'openpyxl.")]
    for name, make, label, hint in jobs:
        _write(folder / name, make, written, failures, label, hint)
        bar.set_postfix(fichiers=len(written), refresh=False)
        bar.update(1)
    _refiqda(tables, version, folder, written, failures)
    bar.set_postfix(fichiers=len(written), refresh=False)
    bar.update(1)
    bar.close()

    pages = None
    if (folder / "brief.pdf").exists():
        pages = len(re.findall(rb"/Type\s*/Page[^s]", (folder / "brief.pdf").read_bytes()))
    leaks = privacy_check(brief_text(blocks), private_key)
    if leaks:
        warn_input("brief", None, f"le libellé d'origine de {len(leaks)} intervenant(s) "
                                  f"({', '.join(leaks)}) apparaît dans la note.",
                   "vérifiez la pseudonymisation (étape ingest) avant de diffuser la note.")
    quotes = brief_quotes(blocks)
    return {
        "files": sorted(written),
        "failures": failures,
        "renderer_pdf": "typst" if "brief.pdf" in written else None,
        "pages_pdf": pages,
        "figures": [f["name"] for f in figures],
        "quotes": len(quotes),
        "quoted_segments": len({q.segment_id for q in quotes}),
        "blocks": len(blocks),
        "codebook_version": version,
        "privacy_labels_found": leaks,
    }


def _refiqda(tables, version, folder, written, failures) -> None:
    """codebook.qdc and project.qdpx (REFI-QDA), each guarded on its own."""
    try:
        from consultations.interop import refiqda
    except Exception as exc:  # noqa: BLE001 - the module may be missing or broken
        for name in ("codebook.qdc", "project.qdpx"):
            failures[name] = f"{type(exc).__name__}: {exc}"
        warn_input("codebook.qdc", None, f"le module REFI-QDA est indisponible ({exc}) : "
                                         "codebook.qdc et project.qdpx ne sont pas produits.",
                   "les autres exports sont complets.")
        return

    def get(name):
        return tables[name] if name in tables else None

    codebook = get("codebook")
    if codebook is None or codebook.empty:
        for name in ("codebook.qdc", "project.qdpx"):
            failures[name] = EMPTY_INPUT + "grille de codage vide"
        warn_input("codebook.qdc", None, "la grille de codage est vide : codebook.qdc et "
                                         "project.qdpx ne sont pas produits.",
                   "vérifiez data/coded/codebook.yaml (étape code).")
        return
    jobs = {
        "codebook.qdc": lambda p: refiqda.write_codebook_qdc(codebook, version, p),
        "codebook_taguette.csv": lambda p: refiqda.write_taguette_csv(codebook, p),
        "project.qdpx": lambda p: refiqda.project_to_qdpx(
            get("segments"), get("codings"), codebook, get("speakers"), get("workshops"),
            version, p),
    }
    for name, job in jobs.items():
        if name == "project.qdpx" and (get("segments") is None or get("codings") is None):
            failures[name] = EMPTY_INPUT + "segments ou codings absents"
            warn_input(name, None, "project.qdpx n'est pas produit : les tableaux segments et "
                                   "codings manquent.", "lancez d'abord les étapes ingest et code.")
            continue
        try:
            job(folder / name)
            written.append(name)
        except Exception as exc:  # noqa: BLE001 - REFI-QDA failing must not stop the brief
            failures[name] = f"{type(exc).__name__}: {exc}"
            warn_input(name, None, f"{name} (REFI-QDA) n'a pas pu être produit : {exc}",
                       "les autres exports sont complets.")


def writer_failures(summary: dict) -> dict[str, str]:
    """Return the outputs of an export summary whose writer failed.

    Outputs left out for lack of input tables (an empty codebook) are not writer failures.
    """
    return {k: v for k, v in (summary.get("failures") or {}).items()
            if not str(v).startswith(EMPTY_INPUT)}


def run_stage(tables, paths, settings) -> dict:
    """Export everything into ``paths.reports`` (see :func:`export_all`).

    Returns:
        ``{"_summary": {...}}``: the stage makes files, not tables.

    Raises:
        InputError: an output could not be written (full disk, renderer failure …); the
            pipeline then publishes nothing and keeps the previous reports.

    """
    summary = export_all(tables, paths.reports, settings, _private_labels(paths))
    failed = writer_failures(summary)
    if failed:
        listing = "\n".join(f"    {name} : {why}" for name, why in sorted(failed.items()))
        raise InputError(paths.reports, None,
                         f"l'export a échoué pour {len(failed)} fichier(s), rien n'est publié "
                         f"et les rapports précédents sont conservés :\n{listing}",
                         "libérez de la place ou corrigez la cause indiquée (paquet manquant, "
                         "droits), puis relancez `consultations export`.")
    return {"_summary": summary}
