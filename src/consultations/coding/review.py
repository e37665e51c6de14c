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

import pandas as pd

from consultations.coding.codebook import fold
from consultations.core.config import Paths, Settings
from consultations.core.errors import InputError, warn_input

__all__ = [
    "DECISIONS",
    "decisions_to_codings",
    "export_review",
    "import_review",
    "parse_review_workbook",
    "read_review_decisions",
    "review_conflicts",
]

DECISIONS = ("accepter", "rejeter", "recoder")
SHEET = "Revue"
ORIGIN = "_origine"
PROTECTED = ["n°", "segment_id", "texte", "locuteur", "groupe", "code_id", "libellé",
             "définition", "preuve", "texte_repéré", "négation"]
EDITABLE = ["décision", "nouveau_code", "commentaire", "relecteur"]
HEADER = PROTECTED + EDITABLE + ["empreinte"]
DECISION_COLUMNS = ["segment_id", "code_id", "decision", "new_code", "comment", "reviewer",
                    "codebook_version", "origin_file", "origin_line"]
_WIDTHS = {"n°": 6, "segment_id": 18, "texte": 60, "locuteur": 10, "groupe": 22, "code_id": 11,
           "libellé": 28, "définition": 50, "preuve": 24, "texte_repéré": 22, "négation": 9,
           "décision": 12, "nouveau_code": 14, "commentaire": 30, "relecteur": 14,
           "empreinte": 18}


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
def review_rows(rule: pd.DataFrame, segments: pd.DataFrame, codebook: pd.DataFrame
                ) -> pd.DataFrame:
    """One row per rule coding with the columns of the review sheet (protected part)."""
    seg = segments.set_index("segment_id")
    cb = codebook.set_index("code_id")
    rows = []
    for i, rec in enumerate(rule.sort_values(["segment_id", "code_id"]).itertuples(index=False),
                            start=1):
        s = seg.loc[rec.segment_id] if rec.segment_id in seg.index else None
        c = cb.loc[rec.code_id] if rec.code_id in cb.index else None
        rows.append({
            "n°": i, "segment_id": rec.segment_id,
            "texte": "" if s is None else s["text"],
            "locuteur": "" if s is None else s["speaker"],
            "groupe": "" if s is None else s["stakeholder_group"],
            "code_id": rec.code_id, "libellé": "" if c is None else c["label"],
            "définition": "" if c is None else c["definition"],
            "preuve": rec.evidence, "texte_repéré": rec.matched_text,
            "négation": "oui" if rec.negated else "non",
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
        ws.append(vals + ["", "", "", "", _fingerprint(vals)])
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
    ws.add_data_validation(dv2)
    guide = wb.create_sheet("Consignes")
    for line in [
        "Revue des codages automatiques",
        "",
        "Pour chaque ligne, choisissez une décision dans la colonne « décision » :",
        "  accepter : le code proposé convient ;",
        "  rejeter : le code proposé ne convient pas (il sera retiré) ;",
        "  recoder : un autre code convient ; indiquez-le dans « nouveau_code » (feuille Codes).",
        "Indiquez votre nom ou vos initiales dans « relecteur » ; « commentaire » est libre.",
        "Ne modifiez pas les autres colonnes : le classeur serait refusé à l'import.",
        "Une ligne sans décision est ignorée (le code automatique reste).",
        "Import : consultations review import CHEMIN_DU_CLASSEUR",
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
    wb.move_sheet("Consignes", offset=-2)
    wb.active = wb.sheetnames.index(SHEET)
    with atomic_path(target) as tmp:
        wb.save(tmp)
    return target


def export_review(tables, paths: Paths, date: _dt.date | None = None) -> Path:
    """Write a new dated review workbook of the rule codings to ``reports/``.

    Args:
        tables: the catalog of the code stage's tables (``codebook``, ``codings_rule``,
            ``segments``); :meth:`consultations.Project.review_export` builds them first.
        paths: the project's folders.
        date: the date in the file name (default today).

    Returns:
        The path of the new workbook (``revue_codage_YYYY-MM-DD[_n].xlsx``, never overwritten).

    """
    codebook = tables["codebook"]
    version = str(codebook["codebook_version"].iloc[0]) if len(codebook) else ""
    rows = review_rows(tables["codings_rule"], tables["segments"], codebook)
    day = (date or _dt.date.today()).isoformat()
    paths.reports.mkdir(parents=True, exist_ok=True)
    target = _new_name(paths.reports, f"revue_codage_{day}")
    return write_review_workbook(rows, codebook, target, version)


# --------------------------------------------------------------------------- import
def parse_review_workbook(file: str | Path, codes: set[str]) -> tuple[pd.DataFrame, list, list]:
    """Read a filled review workbook without changing it.

    Returns:
        ``(decisions, errors, warnings)``: decisions (columns :data:`DECISION_COLUMNS`, one row
        per decided row), and lists of ``(sheet, row, message)``.

    """
    from openpyxl import load_workbook

    file = Path(file)
    try:
        wb = load_workbook(file, data_only=True)
    except Exception as exc:
        raise InputError(file, None, f"not a readable XLSX workbook ({exc})",
                         "import the workbook exported by `consultations review export`.") from exc
    if SHEET not in wb.sheetnames:
        raise InputError(file, None, f"no sheet '{SHEET}'",
                         "import the workbook exported by `consultations review export`.")
    ws = wb[SHEET]
    rows = list(ws.iter_rows(values_only=True))
    header = [_norm(v) for v in rows[0]] if rows else []
    if header[:len(HEADER)] != HEADER:
        raise InputError(file, 1, f"sheet '{SHEET}': the header row was changed (expected "
                         f"{HEADER})", "export a new workbook and report decisions there.")
    origin: dict[str, list] = {}
    version = ""
    if ORIGIN in wb.sheetnames:
        for r in list(wb[ORIGIN].iter_rows(values_only=True))[1:]:
            if _norm(r[0]) == "#version":
                version = _norm(r[1])
            elif r and r[0] is not None:
                origin[_norm(r[0])] = [_norm(v) for v in r[:len(PROTECTED)]]
    pos = {name: i for i, name in enumerate(HEADER)}
    errors, warns, out = [], [], []
    for rn, row in enumerate(rows[1:], start=2):
        vals = [_norm(v) for v in (list(row) + [None] * len(HEADER))[:len(HEADER)]]
        if not any(vals):
            continue
        protected = vals[:len(PROTECTED)]
        ref = origin.get(protected[0])
        if origin and ref is None:
            errors.append((SHEET, rn, f"row n° '{protected[0]}' is not in the exported "
                           "workbook (added or renumbered row)"))
            continue
        if ref is not None:
            changed = [PROTECTED[k] for k in range(len(PROTECTED)) if protected[k] != ref[k]]
        else:
            changed = ["(empreinte)"] if _fingerprint(protected) != vals[pos["empreinte"]] else []
        if changed:
            errors.append((SHEET, rn, f"column(s) {changed} were edited; only "
                           f"{EDITABLE} may change"))
            continue
        decision = fold(vals[pos["décision"]])
        new_code = vals[pos["nouveau_code"]]
        reviewer = vals[pos["relecteur"]]
        if not decision:
            if new_code:
                warns.append((SHEET, rn, "nouveau_code without décision: row ignored"))
            continue
        if decision not in DECISIONS:
            errors.append((SHEET, rn, f"invalid décision '{vals[pos['décision']]}' "
                           f"(expected one of {list(DECISIONS)})"))
            continue
        if decision == "recoder":
            if not new_code:
                errors.append((SHEET, rn, "recoder without nouveau_code"))
                continue
            if new_code not in codes:
                errors.append((SHEET, rn, f"recoder to unknown code '{new_code}' (see sheet "
                               "Codes)"))
                continue
        elif new_code:
            warns.append((SHEET, rn, f"nouveau_code '{new_code}' ignored with décision "
                          f"'{decision}'"))
            new_code = ""
        if not reviewer:
            errors.append((SHEET, rn, "empty relecteur: say who decided"))
            continue
        out.append({"segment_id": protected[1], "code_id": protected[5], "decision": decision,
                    "new_code": new_code, "comment": vals[pos["commentaire"]],
                    "reviewer": reviewer, "codebook_version": version,
                    "origin_file": file.name, "origin_line": rn})
    return pd.DataFrame(out, columns=DECISION_COLUMNS), errors, warns


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
        raise InputError(file, None, "the review workbook does not exist")
    decisions, errors, warns = parse_review_workbook(file, _codes(paths))
    if errors:
        listing = "\n".join(f"  {s}!ligne {r}: {m}" for s, r, m in errors)
        raise InputError(file, errors[0][1], f"{len(errors)} problem(s) in the review "
                         f"workbook (nothing imported):\n{listing}",
                         "correct these rows (or export a new workbook) and import again.")
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
    conflicts = review_conflicts(all_dec)
    counts = decisions["decision"].value_counts().to_dict()
    return {
        "fichier": str(file),
        "copie": str(dest),
        "déjà_importé": not copied,
        "décisions": {d: int(counts.get(d, 0)) for d in DECISIONS},
        "relecteurs": sorted(decisions["reviewer"].unique().tolist()),
        "conflits": conflicts.to_dict("records"),
        "avertissements": [f"{s}!ligne {r}: {m}" for s, r, m in warns],
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


def read_review_decisions(paths: Paths, segments: pd.DataFrame, codebook: pd.DataFrame
                          ) -> pd.DataFrame:
    """Read every imported workbook of ``coded/review/`` (bad rows: warning, skipped)."""
    folder = paths.coded / "review"
    decisions, problems = _read_folder(folder, set(codebook["code_id"]))
    for path, row, msg in problems:
        warn_input(path, row, f"{msg}: row skipped")
    known = set(segments["segment_id"])
    for rec in decisions[~decisions["segment_id"].isin(known)].itertuples(index=False):
        warn_input(folder / rec.origin_file, rec.origin_line,
                   f"unknown segment '{rec.segment_id}': decision skipped",
                   "the transcripts changed since the export; review again.")
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

