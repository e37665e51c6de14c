"""Clean speech with an offset map back to the source, pseudonymise speakers, redact names.

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

Pseudonymisation: :func:`assign_pseudonyms` gives each speaker ``{group_code}-{n:02d}``;
:func:`find_redactions` finds, in cleaned speech, participants' names (→ ``[FDS-02]``), other
person names (spaCy French NER plus titles such as « le commandant X », → ``[PERSONNE]``),
phone numbers (→ ``[TÉLÉPHONE]``) and e-mail addresses (→ ``[COURRIEL]``);
:func:`apply_redactions` rewrites the text and its map.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from .config import FACILITATION, group_code

__all__ = [
    "MappedText",
    "PLACEHOLDER_RE",
    "STAGE_DIRECTION_RE",
    "apply_redactions",
    "assign_pseudonyms",
    "clean_mapped",
    "clean_turns",
    "find_redactions",
    "fold",
    "fold_same_length",
    "name_patterns",
    "normalise_text",
    "pseudonymise",
    "speech_from_source",
    "stage_direction_spans",
]

# --------------------------------------------------------------------------- stage directions

_SD_WORDS = (
    r"rires?|sourires?|applaudissements?|applaudit|brouhaha|silence|inaudible|inaudibles|"
    r"pause|murmures?|toux|tousse|h[ée]sitations?|coupure|interruption|interrompu|"
    r"en\s+bambara|en\s+anglais|en\s+peul|en\s+songha[iï]|traduction|traduit|"
    r"bruits?|chahut|protestations?|exclamations?|acquiescements?|approbations?|"
    r"[a-zé]+\s+(?:rit|rient|applaudit|applaudissent)|fin\s+de\s+l|d[ée]but\s+de\s+l|"
    r"suspension|reprise|micro|enregistrement|\d{1,2}:\d{2}"
)
#: A stage direction: anything in square brackets (a transcriber's note, a timestamp), or a
#: parenthesis whose first word is a known stage-direction word ((rires), (applaudissements)…).
STAGE_DIRECTION_RE = re.compile(
    r"\[[^\[\]\n]{0,200}\]|\(\s*(?:" + _SD_WORDS + r")\b[^()\n]{0,120}\)",
    re.IGNORECASE,
)
#: Placeholders written by redaction (never names).
PLACEHOLDER_RE = re.compile(r"\[(?:[A-Z]{2,4}-\d{2,3}|PERSONNE|TÉLÉPHONE|COURRIEL)\]")


def stage_direction_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple]:
    """Return ``(start, end)`` spans of stage directions in ``text[start:end]`` (absolute)."""
    end = len(text) if end is None else end
    return [(m.start(), m.end()) for m in STAGE_DIRECTION_RE.finditer(text, start, end)]


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
_ZERO_WIDTH_RE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
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


def speech_from_source(source: str, *, markdown: bool = False) -> str:
    """Return the cleaned speech of a source slice (stage directions out, then normalised).

    This is what the parser and :func:`clean_turns` make of the same characters, so for a
    segment without redaction, ``speech_from_source(source[char_start:char_end])`` equals the
    segment's text.
    """
    spans, last = [], 0
    for a, b in stage_direction_spans(source) + [(len(source), len(source))]:
        chunk = source[last:a]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            spans.append((last + lead, last + len(chunk.rstrip())))
        last = b
    return clean_mapped(MappedText.from_spans(source, spans), markdown=markdown).text


# --------------------------------------------------------------------------- folding

def fold(text: str) -> str:
    """Case- and accent-insensitive key (may change length; for comparing labels)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


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


# --------------------------------------------------------------------------- pseudonyms

_TITLES = {
    "m", "mr", "mme", "mlle", "melle", "madame", "monsieur", "mademoiselle", "dr", "docteur",
    "pr", "professeur", "me", "maitre", "col", "colonel", "cdt", "commandant", "cne", "capt",
    "capitaine", "lt", "lieutenant", "gal", "gen", "general", "generale", "adj", "adjudant",
    "sgt", "sergent", "chef", "imam", "cadi", "hon", "honorable", "el", "hadj", "elhadj",
    "commissaire", "inspecteur", "inspectrice", "juge", "procureur", "maire", "prefet",
    "sous-prefet", "gouverneur", "lcl", "cba", "ltn", "sous-lieutenant", "abbe", "pere",
    "pasteur", "mgr", "sheikh", "cheick", "dame", "mm",
}
_ROLE_WORDS = {
    "facilitateur", "facilitatrice", "moderateur", "moderatrice", "animateur", "animatrice",
    "intervenant", "intervenante", "participant", "participante", "president", "presidente",
    "rapporteur", "rapporteuse", "secretaire", "public", "salle", "voix", "inconnu",
    "interprete", "traducteur", "traductrice",
}
#: Capitalised words that must never be redacted as person names (places, institutions …).
_NOT_NAMES = {
    "mali", "bamako", "segou", "mopti", "sevare", "kati", "niono", "bandiagara", "gao",
    "tombouctou", "kidal", "kayes", "sikasso", "koulikoro", "menaka", "taoudeni", "douentza",
    "niger", "senegal", "kenya", "burkina", "france", "dieu", "allah", "inch", "amitie",
    "salam", "usip", "minusma", "onu", "fds", "osc", "ptf", "jus", "dec", "fac", "ccs", "cls",
    "ccls", "opj", "ong", "gendarmerie", "police", "garde", "nationale", "etat", "republique",
    "ministre", "ministere", "commune", "communes", "prefet", "maire", "mairie", "cadi",
    "imam", "dozo", "dozos", "monsieur", "madame", "merci", "bonjour", "oui", "non", "aw",
    "ni", "ce", "an", "ala", "ka", "i", "bien", "voila", "donc", "alors", "ok", "okay",
    "community", "policing", "ownership", "frank", "let", "me", "be", "numero", "vert",
    "commissariat", "eupcap", "eucap", "pnud", "unicef", "union", "europeenne", "cedeao",
    "sini", "kɛnɛya", "se", "hɛrɛ", "di", "ma", "barka", "tabaski",
    "mesdames", "messieurs", "mesdemoiselles", "mon", "mes", "notre", "nos", "cher",
    "chere", "chers", "cheres", "votre", "vos", "le", "la", "les", "excellence", "porter",
    "peul", "peuls", "dogon", "dogons", "bambara", "songhai", "touareg", "maliens", "malien",
    "koglweogo", "whatsapp", "facebook", "macina", "djenne", "markala", "centre", "nord",
    "sud", "etats-unis", "etats", "unis", "nations", "unies", "ramadan", "coran",
}


@dataclass(frozen=True)
class _Person:
    pseudonym: str
    patterns: tuple[str, ...]


def _label_words(label: str) -> list[str]:
    return [w for w in re.split(r"[\s.]+", label.strip()) if w]


def name_patterns(label: str) -> list[str]:
    """Name forms of a speaker label to redact in speech (folded): full name, surname.

    Titles (Col., Mme …) are dropped; a single-word label is a name only when it is written in
    capitals and is not a role word (``Facilitatrice`` is a role, ``SANGARÉ`` a name).
    """
    words = [w for w in _label_words(label) if fold(w).strip("-'") not in _TITLES]
    folded = [fold(w) for w in words]
    if not words:
        return []
    if len(words) == 1:
        w = words[0]
        if not (w.isupper() and len(w) >= 3) or folded[0] in _ROLE_WORDS:
            return []
    if any(f in _ROLE_WORDS for f in folded):
        return []
    out = [" ".join(folded)]
    surname = folded[-1]
    if len(surname) >= 3 and surname not in _NOT_NAMES:
        out.append(surname)
    if len(words) >= 3:  # e.g. "Aminata Diallo TOURÉ": also the two last words
        out.append(" ".join(folded[-2:]))
    return sorted(set(out), key=lambda s: (-len(s), s))


def assign_pseudonyms(speakers: pd.DataFrame, first_turn: pd.DataFrame | None = None,
                      ) -> pd.DataFrame:
    """Give each speaker a stable pseudonym ``{group_code}-{n:02d}``.

    Numbering is per group code, in order of first appearance: workshops sorted by id, then
    the speaker's first turn in that workshop (speakers who never speak come after, in their
    participants.csv order). The same folded label with the same group in several workshops
    gets the same pseudonym.

    Args:
        speakers: participants (``workshop_id, speaker, stakeholder_group`` …, plus ``line``
            for the participants.csv row).
        first_turn: optional ``workshop_id, speaker, turn_n`` of the first turn of each label.

    Returns:
        A new frame: the speakers with ``group_code``, ``pseudonym`` and ``person_key``.

    """
    df = speakers.copy()
    df["group_code"] = df["stakeholder_group"].map(group_code)
    df["person_key"] = df["speaker"].map(fold) + "|" + df["group_code"]
    big = 10 ** 9
    if first_turn is not None and len(first_turn):
        ft = first_turn.assign(_k=first_turn["speaker"].map(fold))
        ft = ft.groupby(["workshop_id", "_k"], as_index=False)["turn_n"].min()
        df = df.assign(_k=df["speaker"].map(fold)).merge(ft, on=["workshop_id", "_k"],
                                                         how="left")
        df = df.drop(columns="_k")
    else:
        df["turn_n"] = float("nan")
    df["_order"] = df["turn_n"].fillna(big)
    df["_row"] = df["line"] if "line" in df.columns else range(len(df))
    order = df.sort_values(["workshop_id", "_order", "_row"], kind="mergesort")
    pseudo: dict[str, str] = {}
    counters: dict[str, int] = {}
    for key, code in zip(order["person_key"], order["group_code"], strict=False):
        if key not in pseudo:
            counters[code] = counters.get(code, 0) + 1
            pseudo[key] = f"{code}-{counters[code]:02d}"
    df["pseudonym"] = df["person_key"].map(pseudo)
    return df.drop(columns=["_order", "_row", "turn_n"])


# --------------------------------------------------------------------------- redaction

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_PHONE_RE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\s?\d{3}[\s.\-]?)?(?:\(?\d{2}\)?[\s.\-]?){3}\d{2}(?![\w])"
    r"|(?<![\w+])\+\d{1,3}(?:[\s.\-]?\d{2,4}){2,5}(?![\w])"
)
_TITLE_NAME_RE = re.compile(
    r"\b(?:M\.|Mme|Mlle|Dr|Me|Pr|[Cc]olonel|[Cc]ommandant|[Cc]apitaine|[Ll]ieutenant|"
    r"[Aa]djudant|[Ss]ergent|[Gg]énéral|[Ii]mam|[Cc]adi|[Mm]adame|[Mm]onsieur|[Dd]octeur|"
    r"[Cc]ommissaire|[Ii]nspect(?:eur|rice)|[Jj]uge|[Cc]hef\s+de\s+village|[Ss]ergent-chef|"
    r"El\s+[Hh]adj|[Hh]onorable)\s+"
    r"([A-ZÀ-ÖØ-Þ][\w'’\-]*(?:[ \t]+[A-ZÀ-ÖØ-Þ][\w'’\-]*){0,2})"
)
_NAME_WORD_RE = re.compile(r"^[A-ZÀ-ÖØ-Þ][\w'’\-]*$")


def _overlaps(a: tuple[int, int], spans: Sequence[tuple]) -> bool:
    return any(a[0] < s[1] and s[0] < a[1] for s in spans)


def _is_name_like(text: str) -> bool:
    words = text.split()
    if not words or not all(_NAME_WORD_RE.match(w) for w in words):
        return False
    keys = [fold(w).strip("'-") for w in words]
    if all(k in _NOT_NAMES or k in _TITLES for k in keys):
        return False
    # Acronyms (FDS, OPJ …) are not names.
    return not all(w.isupper() and len(w) <= 5 for w in words)


def find_redactions(text: str, persons: Sequence[_Person] | dict, doc=None,
                    ) -> list[tuple[int, int, str]]:
    """Find what to redact in cleaned speech.

    Args:
        text: cleaned speech (the text ``doc`` was parsed from, if given).
        persons: participants' name forms: a mapping ``folded name form -> pseudonym``.
        doc: an optional spaCy Doc of ``text`` (its ``PER`` entities are redacted too).

    Returns:
        Sorted, non-overlapping ``(start, end, placeholder)`` spans of ``text``.

    """
    found: list[tuple[int, int, str, int]] = []  # (start, end, placeholder, priority)
    for m in _EMAIL_RE.finditer(text):
        found.append((m.start(), m.end(), "[COURRIEL]", 0))
    for m in _PHONE_RE.finditer(text):
        found.append((m.start(), m.end(), "[TÉLÉPHONE]", 0))
    forms = persons if isinstance(persons, dict) else {}
    if forms:
        folded = fold_same_length(text)
        for m in _forms_regex(tuple(sorted(forms, key=lambda s: (-len(s), s)))).finditer(folded):
            key = " ".join(m.group(0).split())
            found.append((m.start(), m.end(), f"[{forms[key]}]", 1))
    for m in _TITLE_NAME_RE.finditer(text):
        a, b = m.span(1)
        name = text[a:b].rstrip()
        if _is_name_like(name):
            found.append((a, a + len(name), "[PERSONNE]", 2))
    if doc is not None:
        for ent in doc.ents:
            if ent.label_ != "PER":
                continue
            a, b = ent.start_char, ent.end_char
            span = text[a:b]
            # Trim leading titles (« Mme Rokia Maïga » → redact the name, keep the title).
            words = span.split()
            while words and fold(words[0]).strip(".") in _TITLES:
                a = text.index(words[0], a) + len(words[0])
                words = words[1:]
                while a < b and text[a].isspace():
                    a += 1
            if not words or not _is_name_like(text[a:b]):
                continue
            # One capitalised word opening a sentence (« Porter plainte… ») is too weak.
            before = text[:a].rstrip()
            if len(words) == 1 and (not before or before[-1] in ".!?:;«»\"—–-…("):
                continue
            found.append((a, b, "[PERSONNE]", 3))
    # A participant's surname inside a longer person name that is not theirs (« Rokia
    # Maïga » when the participant is « Ibrahim MAÏGA ») is another person: keep the longer
    # [PERSONNE] span.
    persons_spans = [(a, b) for a, b, _, pr in found if pr >= 2]
    found = [r for r in found if not (
        r[3] == 1 and " " not in fold(text[r[0]:r[1]]).strip()
        and any(a <= r[0] and r[1] <= b and (b - a) > (r[1] - r[0]) and
                any(fold(w).strip(".") not in _TITLES for w in
                    (text[a:r[0]] + " " + text[r[1]:b]).split())
                for a, b in persons_spans))]
    # Overlapping candidates merge into their union; the placeholder comes from the most
    # specific source (contacts, then participants, then other persons).
    found.sort(key=lambda r: (r[0], -r[1]))
    merged: list[list] = []
    for a, b, ph, pr in found:
        if b <= a:
            continue
        if merged and a < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], b)
            if pr < last[3]:
                last[2], last[3] = ph, pr
        else:
            merged.append([a, b, ph, pr])
    return [(a, b, ph) for a, b, ph, _ in merged]


_FORMS_CACHE: dict[tuple, re.Pattern] = {}


def _forms_regex(forms: tuple[str, ...]) -> re.Pattern:
    pat = _FORMS_CACHE.get(forms)
    if pat is None:
        alts = "|".join(r"\s+".join(re.escape(w) for w in f.split()) for f in forms)
        pat = re.compile(r"(?<![\w])(?:" + alts + r")(?![\w])")
        _FORMS_CACHE[forms] = pat
    return pat


def apply_redactions(mt: MappedText, spans: Sequence[tuple[int, int, str]]) -> MappedText:
    """Replace ``(start, end, placeholder)`` spans of a mapped text; keep the map."""
    if not spans:
        return mt
    text, starts, ends = mt.text, mt.starts, mt.ends
    out, o_s, o_e = [], [], []
    last = 0
    for a, b, ph in spans:
        out.append(text[last:a])
        o_s.extend(starts[last:a])
        o_e.extend(ends[last:a])
        out.append(ph)
        o_s.extend([starts[a]] * len(ph))
        o_e.extend([ends[b - 1]] * len(ph))
        last = b
    out.append(text[last:])
    o_s.extend(starts[last:])
    o_e.extend(ends[last:])
    return MappedText("".join(out), o_s, o_e)


# --------------------------------------------------------------------------- frames

def clean_turns(raw_turns: pd.DataFrame, sources: dict[str, str]) -> pd.DataFrame:
    """Clean parsed turns: build each turn's speech from its source spans, keep the map.

    Args:
        raw_turns: turns from :func:`consultations.ingest.parse_transcript` (column
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


def pseudonymise(turns: pd.DataFrame, speakers: pd.DataFrame, docs: Sequence | None = None,
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Swap speaker labels for pseudonyms and redact names, phones and e-mails in speech.

    Args:
        turns: cleaned turns (``workshop_id, speaker`` = label, ``text``, ``_map``).
        speakers: participants with pseudonyms (from :func:`assign_pseudonyms`).
        docs: optional spaCy Docs of ``turns.text`` (same order) for NER.

    Returns:
        ``(turns, key)``: new turns with ``speaker`` = pseudonym, redacted ``text``, and the
        private columns ``_clean`` (unredacted map), ``_redactions`` and ``_map`` (redacted);
        ``key``: the private pseudonym key (pseudonym, workshop, label, group).

    """
    lookup = {(w, fold(s)): row for w, s, row in zip(
        speakers["workshop_id"], speakers["speaker"], speakers.to_dict("records"), strict=False)}
    forms: dict[str, str] = {}
    pairs = zip(speakers["speaker"], speakers["pseudonym"], strict=True)
    for s, p in sorted(pairs, key=lambda r: r[1]):
        for f in name_patterns(s):
            forms.setdefault(f, p)
    pseudos, groups, codes, roles, genders, facil, texts, red, newmaps = ([] for _ in range(9))
    docs = list(docs) if docs is not None else [None] * len(turns)
    for w, label, mt, doc in zip(turns["workshop_id"], turns["speaker"], turns["_map"], docs,
                                 strict=True):
        row = lookup[(w, fold(label))]
        pseudos.append(row["pseudonym"])
        groups.append(row["stakeholder_group"])
        codes.append(row["group_code"])
        roles.append(row.get("role", ""))
        genders.append(row.get("gender", ""))
        facil.append(row["stakeholder_group"] == FACILITATION or row["group_code"] == "FAC")
        spans = find_redactions(mt.text, forms, doc)
        red.append(spans)
        new = apply_redactions(mt, spans)
        newmaps.append(new)
        texts.append(new.text)
    out = turns.assign(
        speaker=pseudos, stakeholder_group=groups, group_code=codes, role=roles,
        gender=genders, is_facilitator=facil, text=texts, _clean=list(turns["_map"]),
        _redactions=red, _map=newmaps,
    )
    key = speakers[["pseudonym", "workshop_id", "speaker", "stakeholder_group", "group_code",
                    "role", "gender"]].rename(columns={"speaker": "label"})
    key = key.sort_values(["pseudonym", "workshop_id"], kind="mergesort").reset_index(drop=True)
    return out, key
