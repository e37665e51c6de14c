"""The brief's glossary: abbreviations, stakeholder groups and code identifiers, spelled out.

:func:`add_glossary` inserts a short section « Sigles et abréviations » right after the table of
contents, built from the tables (the ``groups`` table when present, else the groups seen in the
segments; the codebook for code identifiers that the brief actually shows). :func:`glossary_map`
reads it back from the blocks, so that the HTML renderer can mark each abbreviation with
``<abbr title="…">`` without having the tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from consultations.report.brief_blocks import (
    DEFAULT_UNITS,
    Block,
    Units,
    get_table,
    group_label_map,
    scrub,
)

__all__ = ["GLOSSARY_NAME", "add_glossary", "glossary_map"]

GLOSSARY_NAME = "sigles"

#: Fixed terms the brief uses (statistics and identifiers).
_TERMS = {
    "p": "probabilité d'observer un écart au moins aussi grand si les groupes ne différaient "
         "pas (p ajusté : corrigé pour comparaisons multiples)",
    "ddl": "degrés de liberté d'un test statistique",
    "V de Cramér": "taille de l'écart entre groupes, de 0 (aucun) à 1 (thème propre à un "
                   "groupe)",
    "alpha": "alpha de Krippendorff : accord entre codeurs corrigé du hasard (1 = parfait)",
    "R01, R02…": "groupe de recommandations (section 5)",
}


def _codes_shown(tables, text: str) -> list[tuple[str, str]]:
    cb = get_table(tables, "codebook")
    if not len(cb) or not {"code_id", "label"} <= set(cb.columns):
        return []
    out = []
    for code, label in cb[["code_id", "label"]].drop_duplicates("code_id").values:
        code = str(code)
        if re.search(rf"(?<![\w.]){re.escape(code)}(?![\w])", text):
            out.append((code, scrub(label)))
    return sorted(out)


def _identifier_term(tables, units: Units) -> tuple[str, str] | None:
    """« ATL1, ATL2… » with this corpus's own source ids and a real segment id as example."""
    ws = get_table(tables, "workshops")
    ids = sorted(str(w) for w in ws["workshop_id"].dropna().unique()) \
        if "workshop_id" in ws else []
    if not ids:
        return None
    segs = get_table(tables, "segments")
    first = segs[segs["workshop_id"].astype(str) == ids[0]]["segment_id"] \
        if {"workshop_id", "segment_id"} <= set(segs.columns) else pd.Series(dtype=str)
    example = f" (ex. {sorted(first.astype(str))[0]})" if len(first) else ""
    key = ", ".join(ids[:2]) + ("…" if len(ids) > 2 else "")
    return key, (f"identifiant {units.of()} ; un segment s'écrit "
                 f"{units.one}-tour-phrase{example}")


def add_glossary(blocks: list[Block], tables: Mapping[str, pd.DataFrame],
                 units: Units = DEFAULT_UNITS) -> list[Block]:
    """Return ``blocks`` with the glossary section inserted after the table of contents.

    Args:
        blocks: the brief (see :func:`consultations.report.brief.build_brief`).
        tables: the stage tables (``groups``, ``segments``, ``codebook``, ``workshops``).
        units: what one source is called (``[report] unit``: the identifier entry).

    Returns:
        A new list; unchanged when the brief has no ``toc`` block or already has a glossary.

    """
    if any(b.name == GLOSSARY_NAME for b in blocks):
        return list(blocks)
    at = next((i for i, b in enumerate(blocks) if b.kind == "toc"), None)
    if at is None:
        return list(blocks)
    from consultations.report.brief import brief_text

    text = brief_text(blocks)
    labels = group_label_map(tables)
    groups = [(code, label) for code, label in sorted(labels.items())
              if re.search(rf"\b{re.escape(code)}\b", text) and code != label]
    terms = list(_TERMS.items())
    ident = _identifier_term(tables, units)
    if ident:
        terms.insert(len(terms) - 1, ident)  # before « R01, R02… », as it always stood
    items = tuple(groups) + tuple(_codes_shown(tables, text)) + tuple(terms)
    section = [Block("heading", "Sigles et abréviations", level=1, name=GLOSSARY_NAME),
               Block("paragraph", "Groupes d'acteurs, codes de la grille de codage cités dans "
                                  "la note et termes statistiques."),
               Block("bullets", items=items, name=GLOSSARY_NAME)]
    return list(blocks[:at + 1]) + section + list(blocks[at + 1:])


def glossary_map(blocks: list[Block]) -> dict[str, str]:
    """Abbreviation → expansion, read from the glossary block (group and code identifiers)."""
    for b in blocks:
        if b.kind == "bullets" and b.name == GLOSSARY_NAME:
            return {lead: text for lead, text in b.items
                    if lead and re.fullmatch(r"[A-Z][A-Z0-9.]{1,15}", lead)}
    return {}
