"""Pseudonymise speakers and redact names, phone numbers and e-mail addresses in speech.

:func:`assign_pseudonyms` gives each speaker ``{group_code}-{n:02d}``; :func:`find_redactions`
finds, in cleaned speech, participants' names (→ ``[FDS-02]``), other person names (spaCy
French NER plus titles such as « le commandant X », → ``[PERSONNE]``), phone numbers
(→ ``[TÉLÉPHONE]``) and e-mail addresses (→ ``[COURRIEL]``); :func:`apply_redactions`
rewrites the text and its offset map (see :class:`consultations.ingest.clean.MappedText`);
:func:`pseudonymise` does all of it for a turns table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from consultations.core.config import FACILITATION, group_code
from consultations.core.textutils import fold, fold_same_length
from consultations.ingest.clean import MappedText

__all__ = [
    "PLACEHOLDER_RE",
    "apply_redactions",
    "assign_pseudonyms",
    "find_redactions",
    "name_patterns",
    "pseudonymise",
]

#: Placeholders written by redaction (never names).
PLACEHOLDER_RE = re.compile(r"\[(?:[A-Z]{2,4}-\d{2,3}|PERSONNE|TÉLÉPHONE|COURRIEL)\]")


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
