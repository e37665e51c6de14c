"""French typography for every text a reader sees (brief, workbook, figures).

One function, :func:`fr_typo`, applied by the renderers to each piece of text just before it is
laid out, so that content builders can write ordinary spaces and hyphens:

- narrow no-break space (U+202F) before « ; ! ? », no-break space (U+00A0) before « : »
  (Imprimerie nationale: « : » takes a full space, the others a thin one);
- no-break spaces inside « guillemets » (added when missing);
- thousands separated by a narrow no-break space (1 234, 12 345), except years (2020) and
  digits inside identifiers, dates or decimal parts;
- a true minus sign (U+2212) in front of numbers, and no negative zero (« -0,00 » → « 0,00 »);
- comparison signs, « % » and « l. » kept with their number (« p < 0,001 », « 45 % »);
- pseudonyms and identifiers (FDS-03, ATL1-T012-S02, RACK.ISO) kept on one line with
  non-breaking hyphens (U+2011).

The function is idempotent: ``fr_typo(fr_typo(t)) == fr_typo(t)``. Web addresses and times
(« 10:30 ») are left as they are, since no space precedes their colon.
"""

from __future__ import annotations

import re

__all__ = ["NBSP", "NNBSP", "NBHY", "MINUS", "fr_typo", "plain"]

NBSP = "\u00a0"
NNBSP = "\u202f"
NBHY = "\u2011"
MINUS = "\u2212"

_SPACES = "[ \t\u00a0\u202f\u2009]"
_BEFORE_THIN = re.compile(rf"{_SPACES}+([;!?])")
_BEFORE_COLON = re.compile(rf"{_SPACES}+:")
_OPEN = re.compile(rf"«{_SPACES}*")
_CLOSE = re.compile(rf"{_SPACES}*»")
# An already grouped number: 1 234 or 12 345 678 (no-break or thin spaces between groups).
_GROUPED = re.compile(r"(?<![\d,.])\d{1,3}(?:[\u00a0\u202f\u2009]\d{3})+(?!\d)")
# A bare run of 4+ digits that is a number (not part of an identifier, a date or a decimal).
_LONG = re.compile(r"(?<![\w,.\-\u2011/:])\d{4,}(?![\w\-\u2011/:]|\.\d)")
# A minus sign: a hyphen before a digit, at the start or after a space or an opening sign.
_MINUS = re.compile(r"(?:^|(?<=[\s(\[=:;/\u00a0\u202f]))-(?=\d)")
# « p < 0,001 », « n = 12 », « 45 % », « l. 45 »: the sign or abbreviation stays with its number.
_CMP = re.compile(r"[ \u00a0]?([<>=≤≥])[ \u00a0](?=[\d\u2212-])")
_PCT = re.compile(r"(?<=\d)[ \u00a0]%")
_ABBR = re.compile(r"\b(l|p|n°|no)\. (?=\d)")
_NEG_ZERO = re.compile(r"\u2212(0(?:,0+)?)(?![\d,])")
# Identifiers: uppercase letters (and digits), hyphen, then letters/digits: FDS-03, ATL1-T012-S02.
_ID = re.compile(r"\b[A-Z][A-Z0-9]{1,9}(?:-[A-Z0-9]{1,9})+\b")


def _group(digits: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
    return NNBSP.join(parts)


def _long(m: re.Match) -> str:
    digits = m.group(0)
    if len(digits) == 4 and 1800 <= int(digits) <= 2199:  # a year: 2020, not 2 020
        return digits
    return _group(digits)


def fr_typo(text) -> str:
    """Apply French typographic spacing and signs to one piece of text.

    Args:
        text: any text (``None`` gives ``""``; non-strings are converted with ``str``).

    Returns:
        The text with no-break spaces before high punctuation and inside guillemets, thin
        spaces in numbers, true minus signs, no negative zero and identifiers kept whole.

    """
    if text is None:
        return ""
    text = str(text)
    if not text:
        return text
    text = _BEFORE_THIN.sub(NNBSP + r"\1", text)
    text = _BEFORE_COLON.sub(NBSP + ":", text)
    text = _OPEN.sub("«" + NBSP, text)
    text = _CLOSE.sub(NBSP + "»", text)
    text = _GROUPED.sub(lambda m: _group(re.sub(r"\D", "", m.group(0))), text)
    text = _LONG.sub(_long, text)
    text = _MINUS.sub(MINUS, text)
    text = _CMP.sub(lambda m: (NBSP if m.group(0)[0] in " \u00a0" else "") + m.group(1) + NBSP,
                    text)
    text = _PCT.sub(NNBSP + "%", text)
    text = _ABBR.sub(r"\1." + NBSP, text)
    text = _NEG_ZERO.sub(r"\1", text)
    return _ID.sub(lambda m: m.group(0).replace("-", NBHY), text)


def plain(text: str) -> str:
    """Undo :func:`fr_typo`'s special characters (for search and comparison in tests/tools)."""
    return (str(text).replace(NBHY, "-").replace(MINUS, "-").replace(NNBSP, " ")
            .replace(NBSP, " "))
