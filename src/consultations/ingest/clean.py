"""Clean speech with an offset map back to the source.

Every cleaning step rewrites text, so the cleaned text of a turn travels with two integer
lists, ``starts`` and ``ends``: cleaned character ``i`` came from the source characters
``[starts[i], ends[i])``. A span ``[a, b)`` of cleaned text therefore came from the source span
``[starts[a], ends[b - 1])``. Steps that change one character for one character (typography)
keep exact anchors; steps that rewrite a whole word (mojibake repair) or a whole span
(redaction placeholders) anchor every new character to the whole word or span they replace.

Cleaning (:func:`normalise_text` is the same thing without the map):

1. mojibake repair (ftfy, encoding fixes only) and Unicode NFC, word by word;
2. French typography for analysis: no-break and thin spaces become plain spaces, curly
   apostrophes become ``'``; guillemets « » are kept;
3. Markdown emphasis markers (``**``, ``__``) are removed;
4. runs of whitespace collapse to one space; the ends are stripped.

Pseudonymisation and redaction of names, phones and e-mails are in
:mod:`consultations.ingest.redact`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from consultations.core.textutils import (
    fold,  # re-exported: recommendations, refiqda_import use clean.fold
)

__all__ = [
    "MappedText",
    "STAGE_DIRECTION_RE",
    "clean_mapped",
    "clean_turns",
    "fold",
    "normalise_text",
    "speech_from_source",
    "stage_direction_pattern",
    "stage_direction_spans",
]

# --------------------------------------------------------------------------- stage directions

_SD_WORDS = (
    r"rires?|sourires?|applaudissements?|applaudit|brouhaha|silence|inaudible|inaudibles|"
    r"pause|murmures?|toux|tousse|h[ée]sitations?|coupure|interruption|interrompu|"
    r"en\s+bambara|en\s+anglais|en\s+peul|en\s+songha[iï]|traduction|traduit|"
    r"bruits?|chahut|protestations?|exclamations?|acquiescements?|approbations?|"
    r"[a-zé]+\s+(?:rit|rient|applaudit|applaudissent)|fin\s+de\s+l|d[ée]but\s+de\s+l|"
    r"suspension|reprise|micro|enregistrement|\d{1,2}:\d{2}|"
    r"m[êe]mes?\s+mouvements?|mouvements?\s+divers|vi(?:ve|f)s?\s+\w+|il\s+est\s+proc[ée]d[ée]|"
    r"la\s+s[ée]ance\s+(?:est|,)"
)
#: Stage directions recognised by their form: a parenthesis that opens with a capital letter
#: or « and closes a sentence (« (Vives exclamations sur les bancs du groupe UMP.) », « (« Très
#: bien ! » sur les bancs du groupe SRC.) »): a capitalised first word followed by a space,
#: a single closing full stop. Lower-case asides (« (maire, préfet ou commandant) »), lists
#: (« (CAF, Pôle emploi…) ») and acronyms (« (DNPJ) ») stay speech.
_SD_FORM = (r"\((?=\s*(?:«|[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’]+\s))[^()\n]{1,300}"
            r"[^.\s][.!?»]\s*\)")


def stage_direction_pattern(extra: Iterable[str] = ()) -> re.Pattern:
    """Build the stage-direction pattern, with extra opening words or phrases.

    Args:
        extra: words or phrases (plain text, matched case-insensitively at the start of a
            parenthesis), e.g. the ``stage_directions`` list of the ``[ingest]`` settings.

    Returns:
        A compiled pattern: anything in square brackets, a parenthesis whose first word is a
        known stage-direction word, or a parenthesised sentence (see ``_SD_FORM``).

    """
    words = _SD_WORDS + "".join("|" + r"\s+".join(re.escape(w) for w in str(x).split())
                               for x in extra if str(x).strip())
    # « [at] », « [dot] » belong to an e-mail address written to dodge filters, not a note.
    bracket = r"\[(?!\s*(?:at|dot|point|arobase|@)\s*\])[^\[\]\n]{0,200}\]"
    return re.compile(r"(?i:" + bracket + r"|\(\s*(?:" + words + r")\b[^()\n]{0,300}\))|"
                      + _SD_FORM)


#: A stage direction: anything in square brackets (a transcriber's note, a timestamp), a
#: parenthesis whose first word is a known stage-direction word ((rires), (applaudissements)…),
#: or a parenthesised sentence starting with a capital ((Mêmes mouvements.)).
STAGE_DIRECTION_RE = stage_direction_pattern()


def stage_direction_spans(text: str, start: int = 0, end: int | None = None,
                          pattern: re.Pattern | None = None) -> list[tuple]:
    """Return ``(start, end)`` spans of stage directions in ``text[start:end]`` (absolute)."""
    end = len(text) if end is None else end
    pat = pattern or STAGE_DIRECTION_RE
    return [(m.start(), m.end()) for m in pat.finditer(text, start, end)]


# --------------------------------------------------------------------------- mapped text

@dataclass
class MappedText:
    """Cleaned text with, per character, the source span it came from.

    Attributes:
        text: the text.
        starts: source start offset of each character.
        ends: source end offset (exclusive) of each character.

    """

    text: str
    starts: list[int]
    ends: list[int]

    @classmethod
    def from_spans(cls, source: str, spans: Iterable[tuple[int, int]],
                   sep: str = " ") -> MappedText:
        """Join source spans (in order); each character maps to itself.

        Two spans are joined with ``sep`` when the gap between them holds a line break or
        starts and ends with whitespace (« Ségou (rires) et » → « Ségou et »), and with nothing
        otherwise (« Ségou (rires). » → « Ségou. »).
        """
        parts, starts, ends = [], [], []
        prev = None
        for s, e in spans:
            if e <= s:
                continue
            gap = source[prev:s] if prev is not None else ""
            prev = e
            join = ("\n" in gap or "\r" in gap or (gap[:1].isspace() and gap[-1:].isspace())
                    or not gap)
            if parts and sep and join:
                parts.append(sep)
                starts.extend([starts[-1]] * len(sep))
                ends.extend([ends[-1]] * len(sep))
            parts.append(source[s:e])
            starts.extend(range(s, e))
            ends.extend(range(s + 1, e + 1))
        return cls("".join(parts), starts, ends)

    def source_span(self, a: int, b: int) -> tuple[int, int]:
        """Source span ``[start, end)`` of the cleaned span ``[a, b)`` (``b > a``)."""
        return self.starts[a], self.ends[b - 1]

    def sub(self, pattern: re.Pattern, repl) -> MappedText:
        """Regex substitution that keeps the map; ``repl(match) -> str``.

        A replacement of the same length as its match keeps exact per-character anchors;
        otherwise every new character anchors to the whole matched source span.
        """
        text, starts, ends = self.text, self.starts, self.ends
        out, o_s, o_e = [], [], []
        last = 0
        changed = False
        for m in pattern.finditer(text):
            a, b = m.span()
            new = repl(m)
            if new == m.group(0):
                continue
            changed = True
            out.append(text[last:a])
            o_s.extend(starts[last:a])
            o_e.extend(ends[last:a])
            if len(new) == b - a:
                o_s.extend(starts[a:b])
                o_e.extend(ends[a:b])
            elif new:
                s0 = starts[a] if b > a else (ends[a - 1] if a else 0)
                e0 = ends[b - 1] if b > a else s0
                o_s.extend([s0] * len(new))
                o_e.extend([e0] * len(new))
            out.append(new)
            last = b
        if not changed:
            return self
        out.append(text[last:])
        o_s.extend(starts[last:])
        o_e.extend(ends[last:])
        return MappedText("".join(out), o_s, o_e)

    def strip(self) -> MappedText:
        """Strip whitespace at both ends."""
        a = len(self.text) - len(self.text.lstrip())
        b = len(self.text.rstrip())
        if a == 0 and b == len(self.text):
            return self
        return MappedText(self.text[a:b], self.starts[a:b], self.ends[a:b])


# --------------------------------------------------------------------------- normalisation

_TOKEN_RE = re.compile(r"[^ \t\r\n\f\v]+")
_SPACES_RE = re.compile(r"[\u00a0\u202f\u2007\u2009\u200a\u2002\u2003\u2004\u2005\u2006"
                        r"\u2008\u205f\u3000\t\r\n\f\v]")
_APOS_RE = re.compile(r"[\u2019\u2018\u02bc\u02bb\u2032\u00b4`]")
_ZERO_WIDTH_RE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0e-\x1f\x7f]")
_MD_EMPH_RE = re.compile(r"\*\*|__")
_WS_RUN_RE = re.compile(r" {2,}")


def _ftfy_config():
    import ftfy

    return ftfy.TextFixerConfig(
        unescape_html=False, fix_latin_ligatures=False, fix_character_width=False,
        uncurl_quotes=False, fix_line_breaks=False, normalization="NFC", explain=False,
    )


_CFG = None


def _fix_word(word: str) -> str:
    global _CFG
    import ftfy

    if _CFG is None:
        _CFG = _ftfy_config()
    return ftfy.fix_text(word, _CFG)


def _needs_fix(text: str) -> bool:
    if text.isascii():
        return False
    if not unicodedata.is_normalized("NFC", text):
        return True
    return _fix_word(text) != text


def clean_mapped(mt: MappedText, *, markdown: bool = False) -> MappedText:
    """Clean a mapped text (see the module docstring for the steps) and keep its map."""
    if _needs_fix(mt.text):
        mt = mt.sub(_TOKEN_RE, lambda m: _fix_word(m.group(0)))
    mt = mt.sub(_ZERO_WIDTH_RE, lambda m: "")
    mt = mt.sub(_SPACES_RE, lambda m: " ")
    mt = mt.sub(_APOS_RE, lambda m: "'")
    if markdown:
        mt = mt.sub(_MD_EMPH_RE, lambda m: "")
    mt = mt.sub(_WS_RUN_RE, lambda m: " ")
    return mt.strip()


def normalise_text(text: str, *, markdown: bool = False) -> str:
    """Clean a plain string the way speech is cleaned (no map, no redaction)."""
    n = len(text)
    return clean_mapped(MappedText(text, list(range(n)), list(range(1, n + 1))),
                        markdown=markdown).text


def speech_from_source(source: str, *, markdown: bool = False,
                       pattern: re.Pattern | None = None) -> str:
    """Return the cleaned speech of a source slice (stage directions out, then normalised).

    This is what the parser and :func:`clean_turns` make of the same characters, so for a
    segment without redaction, ``speech_from_source(source[char_start:char_end])`` equals the
    segment's text.
    """
    spans, last = [], 0
    for a, b in stage_direction_spans(source, pattern=pattern) + [(len(source), len(source))]:
        chunk = source[last:a]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            spans.append((last + lead, last + len(chunk.rstrip())))
        last = b
    return clean_mapped(MappedText.from_spans(source, spans), markdown=markdown).text


# --------------------------------------------------------------------------- frames

def clean_turns(raw_turns: pd.DataFrame, sources: dict[str, str]) -> pd.DataFrame:
    """Clean parsed turns: build each turn's speech from its source spans, keep the map.

    Args:
        raw_turns: turns from :func:`consultations.ingest.turns.parse_transcript` (column
            ``speech_spans``: source ``(start, end)`` spans of speech, ``source_file``).
        sources: decoded source text per ``source_file``.

    Returns:
        A new frame with ``text`` (cleaned, not yet redacted) and the private map column
        ``_map`` (a :class:`MappedText`).

    """
    maps = []
    for spans, src in zip(raw_turns["speech_spans"], raw_turns["source_file"], strict=False):
        source = sources[src]
        mt = MappedText.from_spans(source, spans, sep=" ")
        maps.append(clean_mapped(mt, markdown=src.lower().endswith(".md")))
    return raw_turns.assign(text=[m.text for m in maps], _map=maps)
