"""Who coded: declared double coders, other coders, and coder names shared by two sources.

``data/coded/coders.csv`` (human-authored, never modified; next to
``double_coding_subset.csv``) declares the coders: columns ``coder``, ``double_codeur``
(``oui`` / ``non``) and optional ``description``. Rules:

- Only **declared double coders** (``double_codeur = oui``) count in intercoder agreement and
  as references of the rules' (and the model's) quality; with a subset file, only they are
  taken to have read every listed segment.
- Every other coder (declared ``non``, or found in the codings without being declared, e.g. a
  new user of an imported ``.qdpx`` who coded 4 segments) is reported separately (table
  ``coders``, a warning); their codings still count as human codings in the analysis.
- Without the file: every manual coder counts as a double coder (the former behaviour), with
  a warning that suggests writing the file.

Coder-name collisions (:func:`settle_name_collisions`): a ``.qdpx`` user with the name of a
coder of the manual CSV/XLSX files is reported. When that user's codings are the CSV coder's
codings (a round trip of ``project.qdpx``; codings of a reviewer of the same name may come
back with them), the ``.qdpx`` copy is dropped and a warning names both files; when they
differ, the run stops with an error naming both files: one name cannot stand for two sets of
codings, and the agreement would mix them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from consultations.core.errors import InputError, warn_input
from consultations.core.textutils import yes_no
from consultations.interop.refiqda_common import TOOL_USER

__all__ = [
    "CODERS_FILE",
    "coders_table",
    "double_coders",
    "read_coders",
    "settle_name_collisions",
]

#: The file (in ``data/coded/``) that declares the coders.
CODERS_FILE = "coders.csv"
_COLUMNS = ("coder", "double_codeur", "description")
_HINT = ("écrivez une ligne par codeur : coder,double_codeur (oui ou non),description "
         "(facultative) ; le nom exactement comme dans la colonne coder des fichiers de codage.")


def read_coders(path: str | Path) -> pd.DataFrame:
    """Read ``coders.csv`` (never modified).

    Returns:
        One row per coder: ``coder``, ``double_coder`` (bool), ``description``, ``line``.

    Raises:
        InputError: unreadable file, missing or unknown columns, or bad rows (empty name,
            ``double_codeur`` other than oui/non, a coder listed twice), every bad row listed
            with its line.

    """
    import io

    path = Path(path)
    try:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")  # saved by a spreadsheet on Windows
        head = text.split("\n", 1)[0]
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                         sep=";" if head.count(";") > head.count(",") else ",")
    except Exception as exc:
        raise InputError(path, None, f"liste des codeurs illisible ({exc})",
                         "enregistrez-la en CSV UTF-8 ; " + _HINT) from exc
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in _COLUMNS[:2] if c not in df.columns]
    unknown = [c for c in df.columns if c not in _COLUMNS]
    if missing or unknown:
        what = "; ".join(x for x in (f"colonne(s) manquante(s) {missing}" if missing else "",
                                     f"colonne(s) inconnue(s) {unknown}" if unknown else "") if x)
        raise InputError(path, 1, f"colonnes incorrectes : {what}", _HINT)
    rows, problems, seen = [], [], {}
    for i, rec in enumerate(df.to_dict("records")):
        line = i + 2
        coder = str(rec.get("coder", "")).strip()
        flag = str(rec.get("double_codeur", "")).strip().lower()
        desc = str(rec.get("description", "")).strip()
        if not any([coder, flag, desc]):
            continue
        if not coder:
            problems.append((line, "nom de codeur vide"))
            continue
        if coder in seen:
            problems.append((line, f"« {coder} » déjà déclaré ligne {seen[coder]}"))
            continue
        seen[coder] = line
        try:
            double = yes_no(flag)
        except ValueError:
            double = None
        if double is None:
            problems.append((line, f"double_codeur de « {coder} » : « {flag} » au lieu de "
                                   "oui ou non"))
            continue
        rows.append({"coder": coder, "double_coder": double, "description": desc,
                     "line": line})
    if problems:
        listing = "\n".join(f"  ligne {ln} : {msg}" for ln, msg in problems)
        raise InputError(path, problems[0][0],
                         f"{len(problems)} ligne(s) incorrecte(s) dans la liste des codeurs :\n"
                         f"{listing}", _HINT)
    return pd.DataFrame(rows, columns=["coder", "double_coder", "description", "line"])


def double_coders(manual: pd.DataFrame, declared: pd.DataFrame | None,
                  path: str | Path = CODERS_FILE) -> list[str]:
    """Return the coders that count in agreement; warn about the others.

    Args:
        manual: manual codings (column ``coder``).
        declared: :func:`read_coders` of ``coders.csv``, or None when the file is absent.
        path: the file's path, for the warnings.

    Returns:
        The declared double coders (sorted), or every manual coder without the file.

    """
    found = manual["coder"].value_counts().sort_index() if len(manual) else pd.Series(
        dtype=int)
    if declared is None:
        if len(found):
            warn_input(path, None, f"pas de liste des codeurs : les {len(found)} codeurs "
                       f"manuels ({', '.join(found.index)}) comptent tous comme double "
                       "codeurs dans l'accord et la qualité des règles",
                       f"créez {Path(path).name} à côté de double_coding_subset.csv ; "
                       + _HINT)
        return sorted(found.index)
    double = sorted(declared.loc[declared["double_coder"], "coder"])
    others = [c for c in found.index if c not in set(double)]
    undeclared = [c for c in others if c not in set(declared["coder"])]
    if undeclared:
        warn_input(path, None, "codeur(s) absent(s) de la liste des codeurs : "
                   + ", ".join(f"« {c} » ({found[c]} codage(s))" for c in undeclared)
                   + " ; leurs codages comptent dans l'analyse, pas dans l'accord entre "
                   "codeurs ni comme référence de la qualité des règles",
                   "ajoutez-les à la liste (double_codeur = oui s'ils ont codé tout le "
                   "sous-ensemble de double codage)."
                   + (f" « {TOOL_USER} » : QualCoder donne aux nouveaux codages le nom du "
                      "premier utilisateur du projet importé ; choisissez votre nom de "
                      "codeur dans ses réglages avant de coder." if TOOL_USER in undeclared
                      else ""))
    idle = [c for c in double if c not in found.index]
    if idle:
        lines = declared.set_index("coder")["line"]
        warn_input(path, int(lines[idle[0]]), f"double(s) codeur(s) déclaré(s) sans aucun "
                   f"codage : {', '.join(idle)}",
                   "vérifiez l'orthographe du nom dans les fichiers de codage.")
    return double


def coders_table(manual: pd.DataFrame, declared: pd.DataFrame | None, double: list[str],
                 subset: list[str] | None = None) -> pd.DataFrame:
    """One row per coder (declared or found): role, counts, in the subset or not.

    Columns: ``coder``, ``declared`` (in ``coders.csv``), ``double_coder`` (counts in
    agreement), ``description``, ``n_codings``, ``n_segments``, ``n_subset_segments`` (coded
    segments inside the double-coded subset), ``role`` (French).
    """
    from consultations.core.schema import TABLES

    names = sorted(set(manual["coder"]) | set(declared["coder"] if declared is not None
                                                else []))
    desc = dict(zip(declared["coder"], declared["description"], strict=True)) \
        if declared is not None else {}
    subset_set = set(subset or [])
    rows = []
    for name in names:
        mine = manual[manual["coder"] == name]
        segs = set(mine["segment_id"])
        is_double = name in set(double)
        rows.append({"coder": name, "declared": name in desc, "double_coder": is_double,
                     "description": desc.get(name, ""), "n_codings": int(len(mine)),
                     "n_segments": len(segs), "n_subset_segments": len(segs & subset_set),
                     "role": "double codeur : compte dans l'accord et la qualité des règles"
                     if is_double else "autre codeur : codages comptés dans l'analyse, pas "
                     "dans l'accord"})
    return pd.DataFrame(rows, columns=TABLES["coders"])


def settle_name_collisions(files: pd.DataFrame, qdpx: pd.DataFrame,
                           review: pd.DataFrame | None = None) -> pd.DataFrame:
    """Report ``.qdpx`` users named like a coder of the manual files (see module docstring).

    Args:
        files: codings of the manual CSV/XLSX files (``coder``, ``origin_file``).
        qdpx: codings imported from ``.qdpx`` files (``coder``, ``origin_file``).
        review: review codings (a reviewer's codings come back in our own ``project.qdpx``
            under their name).

    Returns:
        ``qdpx`` without the copies of CSV coders' codings (a new frame).

    Raises:
        InputError: a ``.qdpx`` user with a CSV coder's name but other codings.

    """
    if files.empty or qdpx.empty:
        return qdpx
    drop = pd.Series(False, index=qdpx.index)
    for coder in sorted(set(files["coder"]) & set(qdpx["coder"])):
        mine = files[files["coder"] == coder]
        csv_pairs = set(zip(mine["segment_id"], mine["code_id"], strict=True))
        csv_files = ", ".join(sorted(set(mine["origin_file"])))
        reviewed = set()
        if review is not None and len(review):
            rv = review[(review["coder"] == coder) & review.get("final", True)
                        & (review.get("decision", "") != "rejeter")]
            reviewed = set(zip(rv["segment_id"], rv["code_id"], strict=True))
        for qfile, g in qdpx[qdpx["coder"] == coder].groupby("origin_file", sort=True):
            pairs = set(zip(g["segment_id"], g["code_id"], strict=True))
            extra, lost = pairs - csv_pairs - reviewed, csv_pairs - pairs
            if extra or lost:
                ex = sorted(extra)[:3] or sorted(lost)[:3]
                raise InputError(qfile, None, f"l'utilisateur « {coder} » de ce .qdpx porte le "
                                 f"nom d'un codeur de {csv_files}, avec d'autres codages "
                                 f"({len(extra)} seulement dans le .qdpx, {len(lost)} "
                                 f"seulement dans {csv_files} ; par exemple "
                                 f"{', '.join(f'{s} {c}' for s, c in ex)})",
                                 "renommez l'utilisateur dans le logiciel d'analyse "
                                 f"qualitative (par exemple « {coder} (QualCoder) ») ou retirez "
                                 "ses codages de l'un des deux fichiers : un même nom ne peut "
                                 "pas désigner deux jeux de codages.")
            warn_input(qfile, None, f"l'utilisateur « {coder} » de ce .qdpx porte le nom d'un "
                       f"codeur de {csv_files} avec les mêmes {len(csv_pairs)} codages (un "
                       "aller-retour de project.qdpx) : comptés une fois, depuis "
                       f"{csv_files}")
            drop |= (qdpx["coder"] == coder) & (qdpx["origin_file"] == qfile)
    return qdpx[~drop].reset_index(drop=True)
