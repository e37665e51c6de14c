"""The evidence workbook (``evidence_tables.xlsx``): one sheet per table, for the drafting team.

French headers, frozen header row, filters, number formats (percentages, p-values shown as
« < 0,001 » below one in a thousand, indices rounded to three decimals, thousands grouped),
readable column widths, wrapped text, a colour scale on rates, French typography in text cells,
and a print set-up on every sheet (A4 landscape, fit to the page width, header row repeated,
sheet name and page number in the footer). A first sheet (« Lisez-moi ») lists the sheets.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from consultations.core.typography import NBHY, fr_typo
from consultations.report.brief_blocks import pseudonym_example
from consultations.report.sheets import SHEETS

__all__ = ["COLUMN_LABELS", "P_FORMAT", "SHEETS", "print_setup", "render_workbook",
           "write_sheet"]

_ANCHOR_STATUS = {"kept": "conservé", "moved": "déplacé", "orphaned": "orphelin (non appliqué)",
                  "new": "enregistré"}
_ANCHOR_KIND = {"manual": "codage manuel", "review": "décision de revue",
                "qdpx": "codage importé (.qdpx)"}

#: Column → French header.
COLUMN_LABELS: dict[str, str] = {
    "code_id": "Code", "label": "Libellé", "axis": "Axe", "axis_label": "Intitulé de l'axe",
    "definition": "Définition", "n_segments": "Segments", "n_speakers": "Intervenants",
    "n_workshops": "Ateliers", "n_groups": "Groupes", "groups": "Groupes d'acteurs",
    "group_rates": "Taux par groupe", "p_adj": "p ajusté", "test_summary": "Test",
    "consensus_class": "Consensus", "rec_clusters": "Recommandations liées",
    "agreement_alpha": "Alpha (accord)", "strength": "Force", "strength_reason": "Justification",
    "codes": "Thèmes", "options_summary": "Options exprimées",
    # the groups that raise the axis's themes (salience), not groups in favour of anything
    "supporting_groups": "Groupes qui évoquent ces thèmes",
    "opposing_groups": "Groupes réservés",
    "recommendations": "Recommandations", "group_code": "Groupe",
    "stakeholder_group": "Groupe d'acteurs", "group_segments": "Segments du groupe",
    "group_words": "Mots du groupe", "rate_segments": "% des segments du groupe",
    "per_1000_words": "Pour 1 000 mots", "chi2": "Khi²", "dof": "ddl", "p_value": "p",
    "method": "Méthode", "cramers_v": "V de Cramér", "significant": "Significatif",
    "min_expected": "Effectif attendu min.", "warning": "Avertissement",
    "interpretation": "Interprétation", "observed": "Observé", "expected": "Attendu",
    "residual": "Résidu", "n_groups_above": "Groupes au-dessus du seuil",
    "groups_above": "Groupes au-dessus du seuil (liste)", "consensus_index": "Indice de consensus",
    "classification": "Classement", "term": "Terme", "log_odds": "Score de spécificité",
    "z": "z",
    "rank": "Rang", "example_segment_id": "Segment exemple", "example_text": "Exemple",
    "cluster_id": "Groupe de recommandations", "rec_id": "Recommandation",
    "workshop_id": "Atelier", "text": "Texte", "is_representative": "Représentative",
    "workshops": "Ateliers (liste)", "segment_id": "Segment", "speaker": "Intervenant",
    "source_file": "Fichier", "line_start": "Ligne", "reference": "Référence",
    "topic": "N° de thème", "count": "Segments", "terms": "Termes",
    "representation": "Représentation", "topic_label": "Thème", "share_of_group":
    "% des segments du groupe", "include": "Inclure", "exclude": "Exclure",
    "parent": "Code parent", "keywords": "Mots-clés", "examples": "Exemples",
    "line": "Ligne (grille de codage)", "patterns": "Motifs", "position": "Position",
    "depth": "Profondeur", "codebook_version": "Version de la grille de codage",
    "rec_ids": "Recommandations (identifiants)", "n_quotes": "Citations",
    "n_codes": "Nombre de thèmes", "group_weights": "Poids par groupe",
    "workshop_group_weights": "Poids des groupes présents", "workshop_groups":
    "Groupes présents à l'atelier", "opposing_groups_rec": "Groupes opposés",
    "n_support": "Soutiens", "n_oppose": "Oppositions", "code_ids": "Codes rattachés",
    "axes": "Axes rattachés", "link_status": "Rattachement", "contested_note":
    "Mention de contestation",
    "similarity_to_representative": "Similarité à la formulation représentative",
    "n_recs": "Formulations", "centrality": "Centralité", "line_end": "Ligne de fin",
    "n_groups_tested": "Groupes testés", "n_present": "Segments codés",
    "group_speakers": "Intervenants du groupe", "group_workshops": "Ateliers du groupe",
    "rate_speakers": "% des intervenants du groupe", "rate_workshops": "% des ateliers du groupe",
    "count_group": "Occurrences dans le groupe", "consensus_geomean": "Moyenne géométrique",
    "positions": "Positions", "group_terms": "Termes du groupe",
    "representative_segments": "Segments représentatifs", "zero_shot_code": "Code le plus proche",
    "zero_shot_similarity": "Similarité au code", "n_groups_above_threshold": "Groupes",
    "question": "Question (code parent)", "stance": "Position", "source": "Source",
    "confidence": "Confiance", "verified": "Vérifiée", "segment_ids": "Segments",
    "status": "État", "form": "Forme", "cue": "Indice", "history": "Évolution",
    "evidence_segment_id": "Segment décisif", "majority": "Majorité",
    "n_reserve": "Réservés", "n_a_verifier": "À vérifier", "n_verified": "Vérifiées",
    "group_participants": "Participants du groupe", "small_group": "Petit groupe",
    "speakers_by_stance": "Intervenants par position", "options": "Options",
    "holders": "Groupes majoritaires par option", "n_automatic": "Automatiques",
    "verification": "Vérification", "open_decision": "Décision à trancher",
    "small_groups": "Petits groupes (< 3 intervenants)", "speakers_by_option":
    "Intervenants par option", "option": "Option", "salience": "Saillance",
    "agreement": "Accord entre positions", "participants": "Participants", "women": "Femmes",
    "men": "Hommes", "gender_unknown": "Genre non renseigné", "speakers": "Ont parlé",
    "segments": "Segments", "words": "Mots", "share_words": "Part des mots",
    "is_facilitation": "Facilitation", "position_holders": "Groupes majoritaires par option",
    "unit": "Unité", "small_groups_excluded": "Petits groupes exclus du test",
    "kind": "Nature", "origin_file": "Fichier de codage", "origin_line": "Ligne (codage)",
    "coder": "Codeur ou relecteur", "recorded_segment_id": "Segment d'origine",
    "similarity": "Similarité du texte", "code_changed": "Code modifié depuis",
    "quote": "Texte codé",
    "reviewer": "Relecteur", "decision": "Décision", "import_date": "Date d'import de la revue",
    "stands": "Décision retenue", "why": "Pourquoi (règle : la revue la plus récente, si ses "
                                         "relecteurs s'accordent)",
}
_PERCENT = {"rate_segments", "share_of_group", "rate_speakers", "rate_workshops",
            "share_words"}
_P = {"p_value", "p_adj"}
#: p-values: « < 0,001 » below 0.001, else three decimals (the display follows the locale).
P_FORMAT = '[<0.001]"<\u00a00,001";0.000'
_DEC3 = {"consensus_index", "consensus_geomean", "similarity_to_representative", "centrality",
         "zero_shot_similarity"}
_DEC2 = {"cramers_v", "log_odds", "z", "agreement_alpha", "residual", "expected", "chi2",
         "min_expected"}
_DEC1 = {"per_1000_words"}
_WIDE = {"definition", "text", "example_text", "options_summary", "test_summary", "reference",
         "recommendations", "opposing_groups", "rec_clusters", "rec_ids", "patterns",
         "strength_reason", "why", "include", "exclude", "examples", "interpretation",
         "group_rates",
         "representation", "terms", "keywords", "quote"}


def _cell(value):
    if value is None:
        return None
    if isinstance(value, str):
        return fr_typo(value).replace(NBHY, "-") if value else value
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist") and not isinstance(
            value, (int, float, str)):
        try:
            return "; ".join(str(v) for v in list(value))
        except TypeError:
            return str(value)
    if isinstance(value, float) and pd.isna(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
        if isinstance(value, bool):
            return "oui" if value else "non"
    return value


def _prepare(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Return the table as the sheet shows it (quotes get a reference; rates 0–1)."""
    from consultations.report.brief_blocks import quote_reference

    out = df.copy()
    if name == "coding_anchors":  # only what needs a person: orphans and changed codes
        keep = (out["status"] == "orphaned") | out["code_changed"].astype(bool)
        out = out[keep].drop(columns=["char_start", "char_end"], errors="ignore")
        out["status"] = out["status"].map(_ANCHOR_STATUS).fillna(out["status"])
        out["kind"] = out["kind"].map(_ANCHOR_KIND).fillna(out["kind"])
        out = out.reset_index(drop=True)
    if name == "evidence_quotes" and len(out):
        out.insert(out.columns.get_loc("text") + 1, "reference",
                   [quote_reference(r) for r in out.to_dict("records")])
    for col in _DEC3 & set(out.columns):
        out[col] = pd.to_numeric(out[col], errors="coerce").round(3)
    for col in _PERCENT & set(out.columns):
        vals = pd.to_numeric(out[col], errors="coerce")
        if len(vals.dropna()) and vals.max() > 1.0:
            out[col] = vals / 100.0
    return out


def write_sheet(ws, df: pd.DataFrame, labels: Mapping[str, str] | None = None) -> None:
    """Write ``df`` to worksheet ``ws``: French headers, formats, widths, filter, frozen row.

    Args:
        ws: an openpyxl worksheet.
        df: the table (one column per column of the sheet).
        labels: column → header; default :data:`COLUMN_LABELS`.

    """
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    labels = COLUMN_LABELS if labels is None else labels
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="1F3A5F")
    cols = list(df.columns)
    for j, col in enumerate(cols, start=1):
        c = ws.cell(row=1, column=j, value=_cell(labels.get(col, col)))
        c.font, c.fill = head_font, head_fill
        c.alignment = Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(df.itertuples(index=False), start=2):
        for j, value in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=_cell(value))
    n = len(df) + 1
    for j, col in enumerate(cols, start=1):
        letter = get_column_letter(j)
        fmt = _number_format(col, df[col])
        wide = col in _WIDE
        lengths = [len(str(labels.get(col, col)))] + [
            len(str(v)) for v in df[col].head(500).map(_cell) if v is not None]
        ws.column_dimensions[letter].width = min(max(max(lengths) + 2, 8), 60 if wide else 30)
        for row in ws.iter_rows(min_row=2, max_row=n, min_col=j, max_col=j):
            for c in row:
                if fmt:
                    c.number_format = fmt
                c.alignment = Alignment(wrap_text=True, vertical="top",
                                        horizontal="right" if fmt else None)
        if col in _PERCENT and n > 1:
            ws.conditional_formatting.add(
                f"{letter}2:{letter}{n}",
                ColorScaleRule(start_type="min", start_color="FFFFFF", mid_type="percentile",
                               mid_value=50, mid_color="9ECAE1", end_type="max",
                               end_color="08519C"))
    ws.freeze_panes = "A2"
    if cols:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(n, 1)}"
    print_setup(ws)


def _number_format(col: str, values: pd.Series) -> str | None:
    """Return the number format of a column (None: text)."""
    if col in _PERCENT:
        return "0.0%"
    if col in _P:
        return P_FORMAT
    if col in _DEC3:
        return "0.000"
    if col in _DEC2:
        return "0.00"
    if col in _DEC1:
        return "0.0"
    if values.dtype.kind == "f":
        return "#,##0.00"
    if values.dtype.kind in "iu":
        return "#,##0"
    return None


def print_setup(ws, header_row: bool = True) -> None:
    """A4 landscape, fitted to the page width, header row repeated, footer with page numbers."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    if header_row and ws.max_row > 1:
        ws.print_title_rows = "1:1"
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = "page &P / &N"


def render_workbook(tables: Mapping[str, pd.DataFrame], version: str = "inconnue",
                    when: datetime | None = None,
                    title: str = "") -> tuple[bytes, list[str]]:
    """Build the evidence workbook.

    Args:
        tables: the stage tables (missing tables give a sheet that says so).
        version: the codebook version (shown on the first sheet).
        when: the date stored in the file properties (fixed for reproducible files).
        title: the brief's title (settings ``[report] title``), shown on the first sheet.

    Returns:
        ``(xlsx bytes, sheet names)``.

    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    readme = wb.active
    readme.title = "Lisez-moi"
    readme["A1"] = "Tableaux des éléments probants" + (f" — {title}" if title else "")
    readme["A1"].font = Font(bold=True, size=13)
    readme["A2"] = _cell(f"Grille de codage version {version}. Données pseudonymisées : les "
                         "intervenants sont désignés par leur groupe et un numéro"
                         + (f" (ex. {example})." if (example := pseudonym_example(tables))
                            else "."))
    readme["A4"], readme["B4"], readme["C4"] = "Feuille", "Contenu", "Lignes"
    for c in ("A4", "B4", "C4"):
        readme[c].font = Font(bold=True)
    r = 5
    for sheet, (table, desc) in SHEETS.items():
        present = table in tables and tables[table] is not None
        df = _prepare(table, tables[table]) if present else pd.DataFrame()
        ws = wb.create_sheet(sheet)
        if present and len(df.columns):
            write_sheet(ws, df)
        else:
            ws["A1"] = _cell(f"Feuille « {sheet} » : tableau non produit par cette exécution.")
            print_setup(ws, header_row=False)
        if present and not len(df):
            note = ws.cell(row=2, column=1, value=_cell("(aucune ligne : rien à signaler pour "
                                                        "cette exécution)"))
            note.alignment = Alignment(wrap_text=True)
            print_setup(ws, header_row=bool(len(df.columns)))
        readme.cell(row=r, column=1, value=sheet)
        readme.cell(row=r, column=2, value=_cell(desc)).alignment = Alignment(wrap_text=True)
        readme.cell(row=r, column=3, value=len(df))
        r += 1
    readme.column_dimensions["A"].width = 28
    readme.column_dimensions["B"].width = 80
    readme.column_dimensions["C"].width = 10
    for c in ("A2", "B5"):
        readme[c].alignment = Alignment(wrap_text=True, vertical="top")
    print_setup(readme, header_row=False)
    when = when or datetime(2020, 1, 1)
    wb.properties.creator = "consultations"
    wb.properties.title = "Tableaux des éléments probants"
    wb.properties.language = "fr-FR"
    wb.properties.created = when
    wb.properties.modified = when
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), [readme.title] + list(SHEETS)
