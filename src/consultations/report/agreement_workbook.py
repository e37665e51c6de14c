"""The analysts' agreement workbook (``accord_intercodeurs.xlsx``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from consultations.coding.agreement import (
    METHOD_NOTE,
    VERDICTS,
    human_rows,
    verdict,
    verdict_note,
)

__all__ = ["write_agreement_workbook"]

AGREEMENT_LABELS = {"comparison": "Comparaison", "coder_a": "Codeur A", "coder_b": "Codeur B",
           "code_id": "Code", "label": "Libellé", "unit": "Unité", "n_units": "Unités",
           "n_coders": "Codeurs", "n_positive": "Unités codées (au moins un codeur)",
           "percent_agreement": "Accord observé", "pa_ci_low": "Accord IC95 bas",
           "pa_ci_high": "Accord IC95 haut", "kappa": "Kappa de Cohen",
           "kappa_ci_low": "Kappa IC95 bas", "kappa_ci_high": "Kappa IC95 haut",
           "alpha": "Alpha de Krippendorff", "alpha_ci_low": "Alpha IC95 bas",
           "alpha_ci_high": "Alpha IC95 haut", "precision": "Précision (règles)",
           "recall": "Rappel (règles)", "f1": "F1 (règles)", "note": "Remarque",
           "unit_set": "Unités retenues", "split": "Partie (développement / test)",
           "reference": "Référence (codeur ou consensus)", "n_reference": "Codés (référence)",
           "n_rule": "Codés (règles)", "n_both": "Codés (les deux)",
           "verdict": "Verdict (α ≥ 0,80 fiable ; 0,667–0,80 provisoire ; sinon à réviser)",
           "text": "Texte du segment", "coded_by": "Codé par", "not_coded_by": "Non codé par",
           "codes_by_coder": "Codes de chaque codeur",
           "declared": "Déclaré dans coders.csv",
           "double_coder": "Double codeur (compte dans l'accord)", "description": "Description",
           "n_codings": "Codages", "n_segments": "Segments codés",
           "n_subset_segments": "Segments codés du sous-ensemble double-codé", "role": "Rôle"}
#: Fill colours of the verdicts (green, amber, red).
VERDICT_FILLS = dict(zip(VERDICTS, ("C6EFCE", "FFEB9C", "FFC7CE"), strict=True))



def write_agreement_workbook(table: pd.DataFrame, target: Path,
                             quality: pd.DataFrame | None = None,
                             disagreements: pd.DataFrame | None = None,
                             coders: pd.DataFrame | None = None) -> Path:
    """Write the agreement table to an XLSX workbook with French headers and a method sheet.

    The « Inter-codeurs » sheet carries a verdict per row (alpha against 0.80 and 0.667) with
    a fill colour. ``quality`` (the :func:`rule_quality` table), when given, becomes a sheet
    "Qualité des règles" (precision, recall, F1 per split, reference and code);
    ``disagreements`` (:func:`consultations.coding.agreement.disagreements`) a sheet
    « Désaccords » (segment, text, each coder's codes); ``coders`` (the ``coders`` table of
    :mod:`consultations.coding.coders`) a sheet « Codeurs »: who counts in agreement (declared
    double coders) and who is reported apart.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from consultations.core.io import atomic_path

    target = Path(target)
    wb = Workbook()
    ws = wb.active
    ws.title = "Méthode"
    ws["A1"] = "Accord inter-codeurs et qualité du codage automatique"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A3"] = METHOD_NOTE
    ws["A3"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 110
    ws.row_dimensions[3].height = 120
    human = human_rows(table)
    rest = table.drop(human.index)
    human = human.assign(verdict=[verdict(a) for a in human["alpha"]])
    if {"alpha_ci_low", "alpha_ci_high"} <= set(human.columns):
        notes = [verdict_note(a, lo, hi, n if pd.notna(n) else None) for a, lo, hi, n in zip(
            human["alpha"], human["alpha_ci_low"], human["alpha_ci_high"],
            human.get("n_positive", pd.Series(index=human.index, dtype=float)), strict=True)]
        old = human["note"].fillna("").astype(str) if "note" in human else pd.Series(
            "", index=human.index)
        human = human.assign(note=[("; ".join(x for x in (o, n) if x)) for o, n in
                                   zip(old, notes, strict=True)])
    sheets = [("Inter-codeurs", human), ("Règles vs humains", rest)]
    if quality is not None and len(quality):
        sheets.append(("Qualité des règles", quality))
    if disagreements is not None:
        sheets.append(("Désaccords", disagreements))
    if coders is not None:
        sheets.append(("Codeurs", coders))
    from consultations.report.workbook import COLUMN_LABELS, print_setup, write_sheet

    print_setup(ws, header_row=False)

    labels = {**COLUMN_LABELS, **AGREEMENT_LABELS}
    for name, sub in sheets:
        cols = [c for c in sub.columns if not (name == "Inter-codeurs"
                                               and c in ("precision", "recall", "f1"))]
        rounded = sub[cols].apply(lambda s: s.round(3) if s.dtype.kind == "f" else s)
        sheet = wb.create_sheet(name)
        write_sheet(sheet, rounded, labels=labels)
        if "verdict" in cols:
            from openpyxl.styles import PatternFill

            j = cols.index("verdict") + 1
            for i, v in enumerate(rounded["verdict"], start=2):
                if v in VERDICT_FILLS:
                    sheet.cell(i, j).fill = PatternFill("solid", fgColor=VERDICT_FILLS[v])
    with atomic_path(target) as tmp:
        wb.save(tmp)
    return target
