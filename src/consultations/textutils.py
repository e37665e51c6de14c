"""Small text utilities shared across stages (no package imports, so any module can use them)."""

from __future__ import annotations

import unicodedata

__all__ = ["fold", "fold_same_length"]


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
