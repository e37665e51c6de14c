"""Small text utilities shared across stages (no package imports, so any module can use them)."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CONSULTATION_FILLER", "NO", "YES", "as_list", "fold", "fold_same_length",
           "french_stop_words", "stop_word_tokens", "yes_no"]

#: Folded answers a human-authored yes/no cell may hold (``oui``/``non`` and the usual variants).
YES = frozenset({"oui", "o", "vrai", "true", "yes", "y", "1", "x"})
NO = frozenset({"non", "n", "faux", "false", "no", "0"})


def yes_no(cell) -> bool | None:
    """Read a yes/no cell: ``True``/``False``, ``None`` when empty.

    Raises:
        ValueError: the cell holds something else (the caller names file and line).

    """
    value = fold(str(cell if cell is not None else "")).strip()
    if value in ("", "nan"):
        return None
    if value in YES:
        return True
    if value in NO:
        return False
    raise ValueError(value)


def fold(text: str, *, space: str = "collapse") -> str:
    """Case- and accent-insensitive key (``Sécurité`` → ``securite``; may change length).

    Args:
        text: the text (non-strings are converted with ``str``).
        space: what to do with whitespace: ``"collapse"`` (runs become one space, ends
            stripped; for comparing labels), ``"strip"`` (ends stripped only) or ``"keep"``
            (unchanged; for token values and regular expressions).

    Returns:
        The folded text.

    """
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    if space == "collapse":
        return " ".join(folded.split())
    if space == "strip":
        return folded.strip()
    if space == "keep":
        return folded
    raise ValueError(f"space must be 'collapse', 'strip' or 'keep', not {space!r}")


def fold_same_length(text: str) -> str:
    """Fold case and accents character by character, keeping the length (for searching)."""
    out = []
    for c in text:
        if c.isascii():
            out.append(c.lower())
            continue
        base = unicodedata.normalize("NFD", c)[0].lower()
        out.append(base[0] if base else c)
    return "".join(out)


#: Words that fill consultation speech without carrying a theme: forms of address, politeness,
#: turn-taking, hedges and meeting vocabulary. Added to spaCy's French stop words for topic terms.
CONSULTATION_FILLER = (
    # address and politeness
    "monsieur", "madame", "mesdames", "messieurs", "merci", "remercier", "bonjour", "excellence",
    "honorable", "cher", "chère",
    # meeting roles and turn-taking
    "président", "présidente", "facilitateur", "facilitatrice", "modérateur", "parole",
    "intervention", "intervenir", "question", "réponse", "atelier", "session", "point",
    "participant",
    # hedges, connectives and discourse markers
    "vraiment", "donc", "alors", "effectivement", "voilà", "bon", "bien", "oui", "non", "ok",
    "peut-être", "aussi", "même", "déjà", "encore", "toujours", "ainsi", "surtout", "justement",
    "notamment", "enfin", "puis", "ensuite", "également", "beaucoup", "chose", "fois", "gens",
    "niveau", "cas", "façon", "exemple", "part", "fait", "falloir", "pouvoir", "devoir",
    "vouloir", "faire", "dire", "aller", "savoir", "voir", "venir", "mettre", "prendre",
    "parler", "penser", "croire", "trouver", "donner", "rester", "permettre", "souhaiter",
    "lui", "leur", "cela", "ça", "ce", "ceci", "celui",
)


def french_stop_words(extra=()) -> list[str]:
    """Return spaCy's French stop words plus :data:`CONSULTATION_FILLER` (and ``extra``), sorted."""
    from spacy.lang.fr.stop_words import STOP_WORDS

    words = set(STOP_WORDS) | set(CONSULTATION_FILLER) | {str(w).lower() for w in extra}
    # Lemmas are lower-cased; the apostrophe forms ("l'", "d'") never reach the lemmas column.
    return sorted(w for w in words if w and "'" not in w and "’" not in w)


def stop_word_tokens() -> set[str]:
    """Return :func:`french_stop_words` split into single tokens (``peut-être`` → peut, être)."""
    return {t for w in french_stop_words() for t in re.split(r"[\W_]+", w) if t}


def as_list(value) -> list[str]:
    """Return a list of strings from a list or a ``;``- or ``,``-separated string."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        sep = ";" if ";" in value else ","
        return [v.strip() for v in value.split(sep) if v.strip()]
    try:
        return [str(v).strip() for v in value if str(v).strip()]
    except TypeError:
        return [str(value)]
