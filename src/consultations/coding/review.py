"""Review round trip for analysts who do not run notebooks.

:func:`export_review` writes a NEW dated workbook ``reports/revue_codage_YYYY-MM-DD[_n].xlsx``
(one row per rule coding; a drop-down ``décision``: accepter / rejeter / recoder; columns
``nouveau_code``, ``commentaire``, ``relecteur``). A hidden sheet ``_origine`` keeps the
exported values and an ``empreinte`` (hash) column lets the import detect rows edited beyond
the decision columns.

:func:`import_review` validates a filled workbook, copies it unchanged into
``data/coded/review/`` under a new name (the original is never rewritten), and returns a
summary. The code stage then reads every workbook of that folder
(:func:`read_review_decisions`) and turns decisions into codings with source ``review``
(:func:`decisions_to_codings`).

Which decision stands (never the file-name order): decisions on the same (segment, proposed
code) are ordered by **import date** (the date in the copy's name ``…_import_YYYY-MM-DD``,
else the file's modification date), then by row. The decisions of the latest import date
stand when they agree; when reviewers of that latest date disagree, the conflict is
**unresolved**: no decision stands, the automatic coding stays as it is and counts as
unverified, and the pair is listed in « Conflits de revue » (:func:`review_conflicts`, status
« non résolu ») until a later import settles it (status « résolu par une revue plus
récente »).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from consultations.coding.codebook import fold
from consultations.core.config import Paths, Settings
from consultations.core.errors import InputError, warn_input

__all__ = [
    "ADDED",
    "DECISIONS",
    "RESOLVED",
    "UNRESOLVED",
    "decided_pairs",
    "group_problems",
    "import_date",
    "review_rows",
    "decisions_to_codings",
    "export_review",
    "import_review",
    "parse_review_workbook",
    "read_review_decisions",
    "review_conflict_decisions",
    "review_conflicts",
]

DECISIONS = ("accepter", "rejeter", "recoder")
#: decision of a code the reviewer added (column « ajouter_code »).
ADDED = "ajouter"
SHEET = "Revue"
ORIGIN = "_origine"
#: sheet where the reviewer writes their name once (cell B1).
REVIEWER_SHEET = "Relecteur"
PROTECTED = ["n°", "segment_id", "phrase_avant", "texte", "phrase_après", "locuteur", "groupe",
             "fichier", "ligne", "code_id", "libellé", "définition", "source", "probabilité",
             "preuve", "texte_repéré", "négation"]
EDITABLE = ["décision", "nouveau_code", "ajouter_code", "commentaire", "relecteur"]
HEADER = PROTECTED + EDITABLE + ["empreinte"]
#: layout of workbooks exported before the review queue (still read).
OLD_PROTECTED = ["n°", "segment_id", "texte", "locuteur", "groupe", "code_id", "libellé",
                 "définition", "preuve", "texte_repéré", "négation"]
OLD_EDITABLE = ["décision", "nouveau_code", "commentaire", "relecteur"]
OLD_HEADER = OLD_PROTECTED + OLD_EDITABLE + ["empreinte"]
DECISION_COLUMNS = ["segment_id", "code_id", "decision", "new_code", "comment", "reviewer",
                    "codebook_version", "origin_file", "origin_line", "text"]
_WIDTHS = {"n°": 6, "segment_id": 18, "phrase_avant": 35, "texte": 60, "phrase_après": 35,
           "locuteur": 10, "groupe": 22, "fichier": 22, "ligne": 7, "code_id": 11,
           "libellé": 28, "définition": 50, "source": 9, "probabilité": 11, "preuve": 24,
           "texte_repéré": 22, "négation": 9, "décision": 12, "nouveau_code": 14,
           "ajouter_code": 14, "commentaire": 30, "relecteur": 14, "empreinte": 18}


def _norm(v) -> str:
    return "" if v is None else str(v).strip()


def _fingerprint(values) -> str:
    joined = "\x1f".join(_norm(v) for v in values)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def _new_name(folder: Path, stem: str, suffix: str = ".xlsx") -> Path:
    """Return a file name in ``folder`` that does not exist yet (stem, stem_2, stem_3 …)."""
    cand = folder / f"{stem}{suffix}"
    n = 2
    while cand.exists():
        cand = folder / f"{stem}_{n}{suffix}"
        n += 1
    return cand


# --------------------------------------------------------------------------- export
def _priority(codebook: pd.DataFrame) -> dict[str, int]:
    """0: position codes (behind stated positions), 1: their parents (contested themes), 2."""
    pos = codebook["position"].fillna("").astype(str).str.strip() != "" \
        if "position" in codebook else pd.Series(False, index=codebook.index)
    position = set(codebook.loc[pos, "code_id"])
    parents = set(codebook.loc[pos, "parent"].fillna("")) - {""}
    return {c: 0 if c in position else 1 if c in parents else 2 for c in codebook["code_id"]}


def review_rows(automatic: pd.DataFrame, segments: pd.DataFrame, codebook: pd.DataFrame,
                decided: set | None = None, facilitators: bool = False) -> pd.DataFrame:
    """Return the review queue: one row per automatic coding that still needs a decision.

    Rows are ordered by what the brief depends on: position codes first (stated positions),
    then the parents of position codes (contested themes), then the other codes; within
    each, the most uncertain first (probability closest to 0.5; a coding without probability
    counts as 0.75), then segment.

    Args:
        automatic: automatic codings (source ``rule`` or ``model``; column ``probability``
            optional).
        segments: the segments (text, neighbours, speaker, group, file, line).
        codebook: the codebook (definitions; ``position`` orders the queue).
        decided: (segment, code) pairs whose decision already stands (left out).
        facilitators: keep the facilitators' segments (out by default: they are left out of
            every comparison).

    """
    from consultations.core.schema import participant_segments

    segs = segments if facilitators else participant_segments(segments)
    seg = segments.set_index("segment_id")
    keep = set(segs["segment_id"])
    cb = codebook.set_index("code_id")
    prio = _priority(codebook)
    prev, nxt = {}, {}
    if "turn_id" in segments and "seg_n" in segments:
        for _t, g in segments.sort_values(["turn_id", "seg_n"]).groupby("turn_id", sort=False):
            ids, texts = list(g["segment_id"]), list(g["text"])
            for k, sid in enumerate(ids):
                prev[sid] = texts[k - 1] if k else ""
                nxt[sid] = texts[k + 1] if k + 1 < len(ids) else ""
    auto = automatic[automatic["segment_id"].isin(keep)]
    if decided:
        auto = auto[[(s_, c) not in decided for s_, c in zip(auto["segment_id"],
                                                             auto["code_id"], strict=True)]]
    prob = (pd.to_numeric(auto["probability"], errors="coerce") if "probability" in auto
            else pd.Series(np.nan, index=auto.index))
    auto = auto.assign(q_prio=auto["code_id"].map(prio).fillna(2),
                       q_unc=(prob - 0.5).abs().fillna(0.25), q_p=prob)
    auto = auto.sort_values(["q_prio", "q_unc", "segment_id", "code_id"], kind="mergesort")
    auto = auto.drop_duplicates(["segment_id", "code_id"])
    rows = []
    for i, rec in enumerate(auto.itertuples(index=False), start=1):
        s_ = seg.loc[rec.segment_id] if rec.segment_id in seg.index else None
        c = cb.loc[rec.code_id] if rec.code_id in cb.index else None
        rows.append({
            "n°": i, "segment_id": rec.segment_id,
            "phrase_avant": prev.get(rec.segment_id, ""),
            "texte": "" if s_ is None else s_["text"],
            "phrase_après": nxt.get(rec.segment_id, ""),
            "locuteur": "" if s_ is None else s_["speaker"],
            "groupe": "" if s_ is None else s_["stakeholder_group"],
            "fichier": "" if s_ is None else s_.get("source_file", ""),
            "ligne": "" if s_ is None else s_.get("line_start", ""),
            "code_id": rec.code_id, "libellé": "" if c is None else c["label"],
            "définition": "" if c is None else c["definition"],
            "source": "modèle" if rec.source == "model" else "règle",
            "probabilité": "" if pd.isna(rec.q_p) else f"{float(rec.q_p):.2f}",
            "preuve": rec.evidence, "texte_repéré": rec.matched_text,
            "négation": "oui" if str(rec.negated) == "True" else "non",
        })
    return pd.DataFrame(rows, columns=PROTECTED)


def write_review_workbook(rows: pd.DataFrame, codebook: pd.DataFrame, target: Path,
                          codebook_version: str = "") -> Path:
    """Write the review workbook for ``rows`` (from :func:`review_rows`) to a new file."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from consultations.core.io import atomic_path

    if target.exists():
        raise FileExistsError(f"{target} exists; review workbooks are never overwritten")
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(HEADER)
    for rec in rows.itertuples(index=False):
        vals = list(rec)
        ws.append(vals + [""] * len(EDITABLE) + [_fingerprint(vals)])
    head_fill = PatternFill("solid", fgColor="DDE6F0")
    edit_fill = PatternFill("solid", fgColor="FFF4D6")
    for j, name in enumerate(HEADER, start=1):
        cell = ws.cell(1, j)
        cell.font = Font(bold=True)
        cell.fill = edit_fill if name in EDITABLE else head_fill
        ws.column_dimensions[get_column_letter(j)].width = _WIDTHS.get(name, 14)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    last = max(ws.max_row, 2)
    col = {name: get_column_letter(j) for j, name in enumerate(HEADER, start=1)}
    dv = DataValidation(type="list", formula1='"' + ",".join(DECISIONS) + '"', allow_blank=True,
                        showErrorMessage=True, errorTitle="Décision",
                        error="Choisissez accepter, rejeter ou recoder.")
    dv.add(f"{col['décision']}2:{col['décision']}{last}")
    ws.add_data_validation(dv)
    codes = wb.create_sheet("Codes")
    codes.append(["code_id", "libellé", "parent", "définition", "inclure", "exclure"])
    for rec in codebook.itertuples(index=False):
        codes.append([rec.code_id, rec.label, rec.parent, rec.definition, rec.include,
                      rec.exclude])
    for j, w in enumerate([12, 40, 10, 70, 50, 50], start=1):
        codes.column_dimensions[get_column_letter(j)].width = w
        codes.cell(1, j).font = Font(bold=True)
    codes.freeze_panes = "A2"
    dv2 = DataValidation(type="list", formula1=f"=Codes!$A$2:$A${len(codebook) + 1}",
                         allow_blank=True, showErrorMessage=True, errorTitle="Code",
                         error="Choisissez un code de la feuille Codes.")
    dv2.add(f"{col['nouveau_code']}2:{col['nouveau_code']}{last}")
    dv2.add(f"{col['ajouter_code']}2:{col['ajouter_code']}{last}")
    ws.add_data_validation(dv2)
    who = wb.create_sheet(REVIEWER_SHEET)
    who.append(["Nom ou initiales du relecteur :", ""])
    who.append(["(une seule fois ; la colonne « relecteur » de la feuille Revue n'est à "
                "remplir que si une autre personne a décidé une ligne)"])
    who.column_dimensions["A"].width = 34
    who.column_dimensions["B"].width = 30
    who["A1"].font = Font(bold=True)
    who["B1"].fill = edit_fill
    guide = wb.create_sheet("Consignes")
    for line in [
        "Revue des codages automatiques (règles et modèle appris)",
        "",
        "Écrivez votre nom une seule fois, feuille « Relecteur », cellule B1.",
        "Les lignes sont classées par ce dont la note dépend : d'abord les codes de position",
        "(positions exprimées), puis les thèmes disputés, puis les autres ; dans chaque groupe,",
        "les propositions les plus incertaines (probabilité proche de 0,5) d'abord.",
        "Pour chaque ligne, choisissez une décision dans la colonne « décision » :",
        "  accepter : le code proposé convient ;",
        "  rejeter : le code proposé ne convient pas (il sera retiré) ;",
        "  recoder : un autre code convient ; indiquez-le dans « nouveau_code » (feuille Codes).",
        "« ajouter_code » : un code que la proposition a manqué pour ce segment (feuille Codes).",
        "« commentaire » est libre ; « relecteur » seulement si une autre personne a décidé.",
        "Ne modifiez pas les autres colonnes, ne supprimez ni ne triez de lignes : le classeur",
        "serait refusé à l'import.",
        "Une ligne sans décision est ignorée (le code reste non vérifié).",
        "Les décisions entraînent le modèle à la prochaine exécution.",
        "Import : consultations review import CHEMIN_DU_CLASSEUR (format .xlsx)",
        f"Version de la grille : {codebook_version}",
    ]:
        guide.append([line])
    guide.column_dimensions["A"].width = 100
    origin = wb.create_sheet(ORIGIN)
    origin.append(PROTECTED + ["empreinte"])
    for rec in rows.itertuples(index=False):
        vals = list(rec)
        origin.append(vals + [_fingerprint(vals)])
    origin.append(["#version", codebook_version])
    origin.sheet_state = "hidden"
    wb.move_sheet("Consignes", offset=-(len(wb.sheetnames) - 1))
    wb.active = wb.sheetnames.index(SHEET)
    with atomic_path(target) as tmp:
        wb.save(tmp)
    return target


def decided_pairs(review_codings: pd.DataFrame) -> set:
    """(segment, proposed code) pairs whose decision stands (not offered again)."""
    if review_codings is None or not len(review_codings) or "final" not in review_codings:
        return set()
    fin = review_codings[review_codings["final"].astype(bool)]
    return set(zip(fin["segment_id"], fin["original_code_id"], strict=True))


def _table(tables, name: str):
    try:
        return tables[name]
    except (KeyError, FileNotFoundError, ValueError):
        return None


def export_review(tables, paths: Paths, date: _dt.date | None = None,
                  facilitators: bool = False) -> Path:
    """Write a new dated review workbook (the review queue) to ``reports/``.

    Args:
        tables: the catalog of the code stage's tables (``codebook``, ``codings`` or
            ``codings_rule``, ``codings_review``, ``segments``);
            :meth:`consultations.Project.review_export` builds them first.
        paths: the project's folders.
        date: the date in the file name (default today).
        facilitators: include the facilitators' segments (out by default).

    Returns:
        The path of the new workbook (``revue_codage_YYYY-MM-DD[_n].xlsx``, never overwritten).

    """
    codebook = tables["codebook"]
    version = str(codebook["codebook_version"].iloc[0]) if len(codebook) else ""
    final = _table(tables, "codings")
    if final is not None and "source" in final:
        automatic = final[final["source"].isin(["rule", "model"])]
    else:
        automatic = tables["codings_rule"]
    rows = review_rows(automatic, tables["segments"], codebook,
                       decided_pairs(_table(tables, "codings_review")), facilitators)
    day = (date or _dt.date.today()).isoformat()
    paths.reports.mkdir(parents=True, exist_ok=True)
    target = _new_name(paths.reports, f"revue_codage_{day}")
    return write_review_workbook(rows, codebook, target, version)


# --------------------------------------------------------------------------- import
_EXPORT_HINT = "importez le classeur écrit par `consultations review export`."
ODS_HINT = ("ouvrez le fichier dans LibreOffice Calc, puis Fichier > Enregistrer sous > type "
            "« Excel 2007-365 (.xlsx) » (conservez le format), et importez le fichier .xlsx.")


def parse_review_workbook(file: str | Path, codes: set[str]) -> tuple[pd.DataFrame, list, list]:
    """Read a filled review workbook without changing it.

    Reads the current layout (:data:`HEADER`) and the layout before the review queue
    (:data:`OLD_HEADER`). The reviewer is the row's « relecteur », else the name written once
    on the sheet « Relecteur » (cell B1).

    Returns:
        ``(decisions, errors, warnings)``: decisions (columns :data:`DECISION_COLUMNS`, one row
        per decided row, plus one per added code), and lists of ``(sheet, row, message)``
        (messages in French).

    """
    from openpyxl import load_workbook

    file = Path(file)
    if file.suffix.lower() == ".ods":
        raise InputError(file, None, "le classeur est au format OpenDocument (.ods), que "
                         "l'import ne lit pas", ODS_HINT)
    import zipfile

    from consultations.core.io import check_zip

    if zipfile.is_zipfile(file):
        check_zip(file)  # refuse an archive bomb before openpyxl reads it whole
    try:
        wb = load_workbook(file, data_only=True)
    except Exception as exc:
        raise InputError(file, None, f"classeur XLSX illisible ({exc})", _EXPORT_HINT) from exc
    if SHEET not in wb.sheetnames:
        raise InputError(file, None, f"pas de feuille « {SHEET} »", _EXPORT_HINT)
    ws = wb[SHEET]
    rows = list(ws.iter_rows(values_only=True))
    header = [_norm(v) for v in rows[0]] if rows else []
    if header[:len(HEADER)] == HEADER:
        layout, protected_cols = HEADER, PROTECTED
    elif header[:len(OLD_HEADER)] == OLD_HEADER:
        layout, protected_cols = OLD_HEADER, OLD_PROTECTED
    else:
        raise InputError(file, 1, f"feuille « {SHEET} » : la ligne d'en-tête a été modifiée "
                         f"(attendu : {HEADER})",
                         "exportez un nouveau classeur et reportez-y les décisions.")
    sheet_reviewer = ""
    if REVIEWER_SHEET in wb.sheetnames:
        sheet_reviewer = _norm(wb[REVIEWER_SHEET]["B1"].value)
    origin: dict[str, list] = {}
    version = ""
    if ORIGIN in wb.sheetnames:
        for r in list(wb[ORIGIN].iter_rows(values_only=True))[1:]:
            if _norm(r[0]) == "#version":
                version = _norm(r[1])
            elif r and r[0] is not None:
                origin[_norm(r[0])] = [_norm(v) for v in r[:len(protected_cols)]]
    pos = {name: i for i, name in enumerate(layout)}
    n_prot = len(protected_cols)
    errors, warns, out = [], [], []
    for rn, row in enumerate(rows[1:], start=2):
        vals = [_norm(v) for v in (list(row) + [None] * len(layout))[:len(layout)]]
        if not any(vals):
            continue
        protected = vals[:n_prot]
        ref = origin.get(protected[0])
        if origin and ref is None:
            errors.append((SHEET, rn, f"la ligne n° « {protected[0]} » n'est pas dans le "
                           "classeur exporté (ligne ajoutée ou renumérotée)"))
            continue
        if ref is not None:
            changed = [protected_cols[k] for k in range(n_prot) if protected[k] != ref[k]]
            if not changed and _norm(ref[0]) != protected[0]:
                changed = ["n°"]
        else:
            changed = ["(empreinte)"] if _fingerprint(protected) != vals[pos["empreinte"]] else []
        if changed:
            errors.append((SHEET, rn, f"colonne(s) {changed} modifiée(s) ; seules "
                           f"{[c for c in layout if c in EDITABLE]} peuvent changer"))
            continue
        seg_id, code_id = protected[pos["segment_id"]], protected[pos["code_id"]]
        decision = fold(vals[pos["décision"]])
        new_code = vals[pos["nouveau_code"]]
        added = vals[pos["ajouter_code"]] if "ajouter_code" in pos else ""
        reviewer = vals[pos["relecteur"]] or sheet_reviewer
        comment = vals[pos["commentaire"]]
        if added and added not in codes:
            errors.append((SHEET, rn, f"code ajouté inconnu « {added} » (voir la feuille "
                           "Codes)"))
            continue
        if not decision and not added:
            if new_code:
                warns.append((SHEET, rn, "nouveau_code sans décision : ligne ignorée"))
            continue
        if decision and decision not in DECISIONS:
            errors.append((SHEET, rn, f"décision invalide « {vals[pos['décision']]} » "
                           f"(attendu : {', '.join(DECISIONS)})"))
            continue
        if decision == "recoder":
            if not new_code:
                errors.append((SHEET, rn, "recoder sans nouveau_code"))
                continue
            if new_code not in codes:
                errors.append((SHEET, rn, f"recoder vers un code inconnu « {new_code} » "
                               "(voir la feuille Codes)"))
                continue
        elif new_code:
            warns.append((SHEET, rn, f"nouveau_code « {new_code} » ignoré avec la décision "
                          f"« {decision} »"))
            new_code = ""
        if not reviewer:
            errors.append((SHEET, rn, "nom du relecteur manquant"))
            continue
        base = {"comment": comment, "reviewer": reviewer, "codebook_version": version,
                "origin_file": file.name, "origin_line": rn,
                "text": protected[pos["texte"]]}
        if decision:
            out.append({"segment_id": seg_id, "code_id": code_id, "decision": decision,
                        "new_code": new_code, **base})
        if added:
            out.append({"segment_id": seg_id, "code_id": added, "decision": ADDED,
                        "new_code": "", **base})
    return pd.DataFrame(out, columns=DECISION_COLUMNS), errors, warns


def group_problems(problems: list) -> list[str]:
    """Group ``(sheet, row, message)`` problems by message: « message : lignes 3, 5, 9 »."""
    by: dict[tuple[str, str], list[int]] = {}
    for sheet, row, msg in problems:
        by.setdefault((sheet, msg), []).append(row)
    out = []
    for (sheet, msg), rws in by.items():
        word = "ligne" if len(rws) == 1 else "lignes"
        shown = ", ".join(str(r) for r in rws[:30]) + (" …" if len(rws) > 30 else "")
        out.append(f"  {sheet}, {word} {shown} : {msg}")
    return out


def _codes(paths: Paths) -> set[str]:
    from consultations.coding.codebook import load_codebook

    return set(load_codebook(paths.coded / "codebook.yaml")["codebook"]["code_id"])


def import_review(file: str | Path, paths: Paths, settings: Settings) -> dict:
    """Validate a filled review workbook and store an unchanged copy in ``coded/review/``.

    Raises:
        InputError: listing every invalid row (sheet and row); nothing is copied then.

    Returns:
        A JSON-ready summary: file, copy, counts per decision, reviewers, conflicts with
        decisions already imported, warnings.

    """
    from consultations.core.io import atomic_write_bytes, file_sha256, read_bytes

    file = Path(file)
    if not file.exists():
        raise InputError(file, None, "le classeur de revue n'existe pas",
                         "vérifiez le chemin du fichier.")
    decisions, errors, warns = parse_review_workbook(file, _codes(paths))
    if errors:
        listing = "\n".join(group_problems(errors))
        missing = sum(1 for e in errors if e[2] == "nom du relecteur manquant")
        hint = "corrigez ces lignes (ou exportez un nouveau classeur) et importez à nouveau."
        if missing:
            hint = ("écrivez votre nom une fois dans la feuille « Relecteur » (cellule B1) ; "
                    + hint)
        raise InputError(file, errors[0][1], f"{len(errors)} problème(s) dans le classeur de "
                         f"revue (rien n'a été importé) :\n{listing}", hint)
    folder = paths.coded / "review"
    folder.mkdir(parents=True, exist_ok=True)
    digest = file_sha256(file)
    already = [p for p in sorted(folder.glob("*.xlsx")) if file_sha256(p) == digest]
    if already:
        dest, copied = already[0], False
    else:
        dest = _new_name(folder, f"{file.stem}_import_{_dt.date.today().isoformat()}")
        atomic_write_bytes(dest, read_bytes(file))
        copied = True
    all_dec = _read_folder(folder, _codes(paths))[0]
    conflicts = review_conflicts(all_dec, folder)
    counts = decisions["decision"].value_counts().to_dict()
    return {
        "fichier": str(file),
        "copie": str(dest),
        "déjà_importé": not copied,
        "décisions": {d: int(counts.get(d, 0)) for d in DECISIONS},
        "relecteurs": sorted(decisions["reviewer"].unique().tolist()),
        "conflits": conflicts.to_dict("records"),
        "ajouts": int(counts.get(ADDED, 0)),
        "avertissements": group_problems(warns),
    }


def _read_folder(folder: Path, codes: set[str]) -> tuple[pd.DataFrame, list]:
    parts, problems = [], []
    files = sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith((".", "~$"))) \
        if folder.exists() else []
    for p in files:
        dec, errors, warns = parse_review_workbook(p, codes)
        bad = {r for _s, r, _m in errors}
        parts.append(dec[~dec["origin_line"].isin(bad)])
        problems += [(p, r, m) for _s, r, m in errors + warns]
    if not parts:
        return pd.DataFrame(columns=DECISION_COLUMNS), problems
    return pd.concat(parts, ignore_index=True), problems


def read_review_decisions(paths: Paths, segments: pd.DataFrame, codebook: pd.DataFrame,
                          anchors=None) -> pd.DataFrame:
    """Read every imported workbook of ``coded/review/`` (bad rows: warning, skipped).

    With ``anchors`` (an :class:`consultations.coding.anchors.AnchorStore`), each decision
    is placed on the sentence it was made on (the workbook's ``texte``, then the recorded
    anchor), whatever the segment IDs became; a decision whose sentence is gone is orphaned
    (reported, never applied to other text).
    """
    folder = paths.coded / "review"
    decisions, problems = _read_folder(folder, set(codebook["code_id"]))
    for path, row, msg in problems:
        warn_input(path, row, f"{msg} : ligne ignorée")
    if anchors is not None and len(decisions):
        known = set(segments["segment_id"])
        rel = folder.relative_to(paths.data) if folder.is_relative_to(paths.data) else folder
        placed = []
        for rec in decisions.itertuples(index=False):
            got = anchors.resolve("review", (rel / rec.origin_file).as_posix(),
                                  rec.origin_line, f"{rec.origin_line}:{rec.segment_id}",
                                  rec.code_id, rec.reviewer,
                                  [rec.segment_id] if rec.segment_id in known else [],
                                  quotes=[rec.text])
            placed.append(got[0] if got else None)
        decisions = decisions.assign(segment_id=placed)
        decisions = decisions[decisions["segment_id"].notna()]
        return decisions.reset_index(drop=True)
    known = set(segments["segment_id"])
    for rec in decisions[~decisions["segment_id"].isin(known)].itertuples(index=False):
        warn_input(folder / rec.origin_file, rec.origin_line,
                   f"segment inconnu « {rec.segment_id} » : décision ignorée",
                   "les transcriptions ont changé depuis l'export ; revoyez ce segment.")
    decisions = decisions[decisions["segment_id"].isin(known)]
    return decisions.reset_index(drop=True)


_IMPORT_DATE = __import__("re").compile(r"_import_(\d{4}-\d{2}-\d{2})")


def import_date(name: str, folder: Path | None = None) -> str:
    """Import date of a stored review workbook (from its name, else its modification date)."""
    m = _IMPORT_DATE.search(str(name))
    if m:
        return m.group(1)
    if folder is not None and (folder / str(name)).exists():
        ts = (folder / str(name)).stat().st_mtime
        return _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc).date().isoformat()
    return ""


def _outcome(d: pd.DataFrame) -> pd.Series:
    return d["decision"] + d["new_code"].fillna("").map(lambda c: f" → {c}" if c else "")


def _standing(decisions: pd.DataFrame, folder: Path | None = None) -> pd.DataFrame:
    """Decisions with ``import_date``, ``outcome`` and ``final`` (the rule of the module)."""
    d = decisions.reset_index(drop=True)
    d = d.assign(import_date=[import_date(f, folder) for f in d["origin_file"]],
                 outcome=_outcome(d), _row=range(len(d)))
    d = d.sort_values(["import_date", "_row"], kind="mergesort")
    final = pd.Series(False, index=d.index)
    for _key, g in d.groupby(["segment_id", "code_id"], sort=False):
        last = g[g["import_date"] == g["import_date"].iloc[-1]]
        if len(set(last["outcome"])) == 1:
            final[last.index[-1]] = True
    d["final"] = final
    return d.sort_values("_row").drop(columns="_row")


def decisions_to_codings(decisions: pd.DataFrame, codebook_version: str = "",
                         folder: Path | None = None) -> pd.DataFrame:
    """Turn review decisions into codings (source ``review``).

    Extra columns: ``decision``, ``original_code_id`` and ``final`` (the decision that stands
    for its (segment, code), see the module docstring; none stands for an unresolved
    conflict). ``folder``: where the workbooks are (modification dates when a name has no
    import date).
    """
    from consultations.coding.codings import finish_codings

    extra = ["decision", "original_code_id", "final"]
    if decisions.empty:
        df = finish_codings(pd.DataFrame(), extra)
        df["final"] = df["final"].astype(bool)
        return df
    d = _standing(decisions, folder)
    rows = pd.DataFrame({
        "segment_id": d["segment_id"],
        "code_id": d["new_code"].where(d["decision"] == "recoder", d["code_id"]),
        "source": "review", "coder": d["reviewer"],
        "codebook_version": d["codebook_version"].replace("", codebook_version),
        "evidence": [f"{dec} (au lieu de {orig})" if dec == "recoder" else dec
                     for dec, orig in zip(d["decision"], d["code_id"], strict=True)],
        "matched_text": "", "negated": False, "note": d["comment"],
        "origin_file": d["origin_file"], "origin_line": d["origin_line"],
        "decision": d["decision"], "original_code_id": d["code_id"],
        "final": d["final"].to_numpy(),
    })
    out = finish_codings(rows, extra)
    out["final"] = out["final"].astype(str).eq("True")
    return out


UNRESOLVED = "non résolu"
RESOLVED = "résolu par une revue plus récente"


def review_conflicts(decisions: pd.DataFrame, folder: Path | None = None) -> pd.DataFrame:
    """(segment, code) pairs on which different reviewers made different decisions.

    Columns: ``segment_id``, ``code_id``, ``reviewers``, ``decisions``, ``files``
    (file:row, import date), ``status`` (« non résolu »: no decision stands, the pair is
    unverified; « résolu par une revue plus récente »: a later import settled it).
    """
    from consultations.core.schema import TABLES

    cols = TABLES["review_conflicts"]
    if decisions.empty:
        return pd.DataFrame(columns=cols)
    d = _standing(decisions, folder)
    rows = []
    for (seg, code), g in d.groupby(["segment_id", "code_id"], sort=True):
        g = g.sort_values("import_date", kind="mergesort")
        if len(set(g["reviewer"])) > 1 and len(set(g["outcome"])) > 1:
            rows.append({"segment_id": seg, "code_id": code,
                         "reviewers": ", ".join(g["reviewer"]),
                         "decisions": ", ".join(g["outcome"]),
                         "files": ", ".join(f"{f}:{r} ({i})" for f, r, i in
                                            zip(g["origin_file"], g["origin_line"],
                                                g["import_date"], strict=True)),
                         "status": RESOLVED if g["final"].any() else UNRESOLVED})
    return pd.DataFrame(rows, columns=cols)



def review_conflict_decisions(decisions: pd.DataFrame, segments: pd.DataFrame | None = None,
                              folder: Path | None = None) -> pd.DataFrame:
    """Every decision of the conflicting pairs of :func:`review_conflicts`, one row each.

    Columns (``TABLES["review_conflict_decisions"]``): the segment, its text, the code, the
    reviewer, the decision (« recoder → X » for a recoding), the import date, the file and
    row, ``stands`` (the decision applies) and ``why`` (the rule of the module docstring, in
    French).
    """
    from consultations.core.schema import TABLES

    cols = TABLES["review_conflict_decisions"]
    conflicts = review_conflicts(decisions, folder)
    if conflicts.empty:
        return pd.DataFrame(columns=cols)
    d = _standing(decisions, folder)
    pairs = set(zip(conflicts["segment_id"], conflicts["code_id"], strict=True))
    d = d[[(s, c) in pairs for s, c in zip(d["segment_id"], d["code_id"], strict=True)]]
    text = {} if segments is None else dict(zip(segments["segment_id"], segments["text"],
                                                strict=True))
    rows = []
    for (seg, code), g in d.groupby(["segment_id", "code_id"], sort=True):
        g = g.sort_values("import_date", kind="mergesort")
        latest = g["import_date"].iloc[-1]
        settled = bool(g["final"].any())
        for rec in g.itertuples(index=False):
            if rec.final:
                why = (f"décision de la revue la plus récente ({latest}), sans désaccord à "
                       "cette date : elle s'applique")
            elif rec.import_date != latest:
                why = (f"remplacée par une revue plus récente ({latest})" if settled else
                       f"revue plus ancienne ; la plus récente ({latest}) est elle-même en "
                       "conflit")
            elif settled:
                why = "même décision qu'une autre de la revue la plus récente : comptée une fois"
            else:
                why = (f"conflit non résolu : relecteurs en désaccord dans la revue la plus "
                       f"récente ({latest}) ; aucune décision ne s'applique, le codage "
                       "automatique reste non vérifié")
            rows.append({"segment_id": seg, "code_id": code, "text": text.get(seg, ""),
                         "reviewer": rec.reviewer, "decision": rec.outcome,
                         "import_date": rec.import_date, "origin_file": rec.origin_file,
                         "origin_line": rec.origin_line, "stands": bool(rec.final),
                         "why": why})
    return pd.DataFrame(rows, columns=cols)
