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
from dataclasses import dataclass, field

import pandas as pd
from spacy.lang.fr.stop_words import STOP_WORDS as _SPACY_STOP

from consultations.core.config import FACILITATION
from consultations.core.textutils import fold, fold_same_length, yes_no
from consultations.ingest.clean import MappedText

__all__ = [
    "COMMON_FIRST_NAMES",
    "COMMON_SURNAMES",
    "NameIndex",
    "PLACEHOLDER_RE",
    "apply_redactions",
    "assign_pseudonyms",
    "find_redactions",
    "first_name_patterns",
    "name_patterns",
    "person_key",
    "redact_field",
    "redact_file_label",
    "split_label",
    "pseudonym_key",
    "pseudonymise",
]

#: Placeholders written by redaction (never names).
PLACEHOLDER_RE = re.compile(r"\[(?:[A-Z][A-Z0-9]{1,4}-\d{2,3}|PERSONNE|TÉLÉPHONE|COURRIEL)\]")


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


#: Words of a label that are never a name even when capitalised (role or collective labels).
_LABEL_ROLE_WORDS = _ROLE_WORDS | {
    "femme", "homme", "jeune", "auditeur", "auditrice", "question", "reponse", "plusieurs",
    "depute", "deputee", "deputes", "ministre", "membre", "representant", "representante",
    "delegue", "deleguee", "un", "une", "des", "le", "la", "les", "l", "quelques", "tous",
    "groupe", "chef",
}
#: Lower-case particles inside a name (« Jean-Yves Le Bouillonnec », « Ould », « ag »).
_PARTICLES = {"de", "du", "des", "le", "la", "van", "von", "ben", "ould", "ag", "el", "ibn",
              "bin", "dit", "d", "di", "da", "mac"}
#: First names frequent in Mali (and a few in France) that mark a person even when the person
#: is not a participant (« modibo keita » → [PERSONNE]). Only used next to a name or
#: capitalised.
COMMON_FIRST_NAMES = frozenset("""
abdoulaye abdou adama alassane aliou alou amadou aminata assitan awa aissata aicha baba
bakary boubacar bourama brahima cheick cheickna dado daouda djeneba drissa fanta fatoumata
fatim hamadoun hamidou hawa ibrahim ibrahima issa issiaka kadiatou karim lassana lassina
mahamadou mamadou mariam mariame modibo moctar mohamed moussa nana oumar oumou ousmane rokia
rokiatou safiatou salif salimata samba sekou seydou siaka souleymane tiemoko yacouba
youssouf zeinab idrissa allaye boureima nouhoum bintou korotoumou sira assetou adiaratou
kalifa sidiki soumaila yaya dramane tidiane boubou hamadi mamoutou madou
""".split())
#: Family names frequent in Mali: capitalised, they mark a person (« Traoré » → [PERSONNE]).
COMMON_SURNAMES = frozenset("""
traore diarra coulibaly keita konate toure sangare diallo cisse maiga dembele sidibe kone
camara doumbia sissoko sylla kante diakite togola samake daou dicko guindo tounkara bagayoko
ballo fofana kouyate dao sanogo konare tangara diawara sow barry tembely togo kassogue tapily
kassambara bocoum saye yattara koumare ouologuem berthe kouma danioko diagouraga fomba kondo
samassekou haidara niangaly dolo ongoiba tamboura kamissoko soumare niare magassa
""".split())


def _is_title_word(word: str) -> bool:
    """Whether a word is a title (« Col. », « Lt-Col. », « Lieutenant-colonel », « Mme »)."""
    f = fold(word).strip(".'’-")
    parts = [x for x in re.split(r"[-.]+", f) if x]
    return bool(parts) and (f in _TITLES or all(x in _TITLES | {"div", "col", "lt", "chef", "sous"}
                                                 for x in parts))


def split_label(label: str) -> tuple[str, str, str]:
    """Split a speaker label into ``(title, name, role)``.

    The role is what follows the first comma (« Erwann Binet, rapporteur de la commission »);
    leading titles (« Mme », « Col. », « Commissaire div. », « Lt-Col. ») go to ``title``; a
    label whose remaining words start with an article or a role word (« le président »,
    « Un député du groupe UMP », « Facilitatrice ») has no name. A single word is a name when
    it is not a role word (« SANGARÉ », « Bruno »).

    Returns:
        The title, the person-name part (``""`` when the label names no one) and the role, as
        written.

    """
    head, _, role = label.partition(",")
    words = [w for w in re.split(r"\s+", head.strip()) if w]
    titles = []
    while words and (_is_title_word(words[0]) or fold(words[0]).strip(".") in {"ms", "mrs"}):
        titles.append(words.pop(0))
    role = role.strip()
    name_words = [w.strip(".") for w in words if w.strip(".")]
    if not name_words:
        return " ".join(titles), "", role
    folded = [fold(w).strip("'-") for w in name_words]
    if (folded[0] in _LABEL_ROLE_WORDS or not name_words[0][:1].isupper()
            or any(f in _LABEL_ROLE_WORDS - {"le", "la", "des", "l"} for f in folded)):
        return " ".join(titles), "", (head.strip() + (", " + role if role else "")).strip()
    if len(name_words) == 1 and (folded[0] in _NOT_NAMES or len(folded[0]) < 2):
        return " ".join(titles), "", role
    return " ".join(titles), " ".join(name_words), role


def _name_parts(name: str) -> tuple[list[str], list[str]]:
    """First-name words and surname words of a name (capitals mark the surname)."""
    words = name.split()
    upper = [w for w in words if sum(c.isalpha() for c in w) >= 2 and w.isupper()]
    if upper and len(upper) < len(words):
        first = [w for w in words if w not in upper]
        return first, upper
    if len(words) == 1:
        return [], words
    # « Jean-Yves Le Bouillonnec »: the first word is the first name.
    return words[:1], words[1:]


def name_patterns(label: str) -> list[str]:
    """Name forms of a speaker label to redact in speech (folded): full name, surname.

    Only the person-name part of the label counts (see :func:`split_label`): titles and
    roles never become redaction targets. A single-word label is a name when it is written in
    capitals and is not a role word (``Facilitatrice`` is a role, ``SANGARÉ`` a name).
    """
    _, name, _ = split_label(label)
    if not name:
        return []
    words = name.split()
    if len(words) == 1 and not (words[0].isupper() and len(words[0]) >= 3):
        return []
    folded = [fold(w) for w in words]
    out = [" ".join(folded)]
    _, last = _name_parts(name)
    surname = " ".join(fold(w) for w in last)
    if len(surname) >= 3 and surname not in _NOT_NAMES and surname not in _PARTICLES:
        out.append(surname)
    if len(words) >= 3:  # e.g. "Aminata Diallo TOURÉ": also the two last words
        out.append(" ".join(folded[-2:]))
    return sorted(set(out), key=lambda s: (-len(s), s))


def first_name_patterns(label: str) -> list[str]:
    """Folded first names of a label's person (« Bakary » of « Col. Bakary SANGARÉ »)."""
    _, name, _ = split_label(label)
    if not name:
        return []
    first, last = _name_parts(name)
    if not last and len(name.split()) == 1:
        first = name.split()
    if len(name.split()) == 1 and not name.isupper():
        first = name.split()  # « Bruno »: a first name alone
    out = []
    for w in first:
        f = fold(w).strip("'-")
        if len(f) >= 3 and f not in _NOT_NAMES and f not in _TITLES and f not in _PARTICLES:
            out.append(f)
    return out


#: Labels that name no single person: a group speaking at once or an unnamed speaker
#: (« Plusieurs députés du groupe UMP », « Un participant », « La salle », « Des voix »).
_COLLECTIVE_RE = re.compile(
    r"^(?:plusieurs|quelques|de nombreux|de nombreuses|nombreux|nombreuses|divers|diverses|"
    r"d'autres|d’autres|autres|certains|certaines|tous|toutes|des|les|la salle|l'assistance|"
    r"l’assistance|le public|voix|une voix|un membre|une membre|"
    r"(?:un|une)\s+(?:depute|deputee|participant|participante|intervenant|intervenante|"
    r"membre|representant|representante|delegue|deleguee|elu|elue|senateur|senatrice|"
    r"personne|voix|auditeur|auditrice|habitant|habitante|citoyen|citoyenne|femme|homme|"
    r"jeune|militaire|agent|officier))\b")


def collective_label(label: str, declared: str = "") -> bool:
    """Return whether a speaker label names no single person.

    Args:
        label: the speaker label as written in participants.csv.
        declared: the optional ``collective`` cell of participants.csv (``oui``/``non``),
            which wins over the label's wording.

    """
    try:
        stated = yes_no(declared)
    except ValueError:  # read_participants rejects such cells; a hand-built frame counts no
        stated = False
    if stated is not None:
        return stated
    return bool(_COLLECTIVE_RE.match(fold(str(label)).strip()))


def person_key(label: str, group_code: str, person_id: str = "") -> str:
    """Return the identity of a participant: ``person_id`` if given, else name part and group.

    Label variants of one person (« …, ministre déléguée. » and « …, ministre déléguée chargée
    de la famille. ») share their name part, hence their pseudonym.
    """
    if person_id and str(person_id).strip() and str(person_id) != "nan":
        return "id:" + fold(str(person_id), space="strip")
    _, name, _ = split_label(label)
    return fold(name or label, space="strip") + "|" + group_code


def assign_pseudonyms(speakers: pd.DataFrame, first_turn: pd.DataFrame | None = None,
                      previous: pd.DataFrame | None = None, groups=None) -> pd.DataFrame:
    """Give each person a stable pseudonym ``{group_code}-{n:02d}``.

    A person is a ``person_id`` of participants.csv when given, else a label's name part with
    its group (see :func:`person_key`). Persons already in ``previous`` (the private key of an
    earlier run) keep their pseudonym, so adding or removing workshops never renumbers anyone.
    New persons are numbered per group code after the highest number in use, in order of
    first appearance: workshops sorted by id, then the speaker's first turn in that workshop
    (speakers who never speak come after, in their participants.csv order).

    Args:
        speakers: participants (``workshop_id, speaker, stakeholder_group`` …, plus ``line``
            for the participants.csv row and an optional ``person_id``).
        first_turn: optional ``workshop_id, speaker, turn_n`` of the first turn of each label.
        previous: optional earlier key (``pseudonym``, ``person_key`` or ``label`` and
            ``group_code``).
        groups: the project's :class:`~consultations.core.config.GroupSet` (default groups
            otherwise).

    Returns:
        A new frame: the speakers with ``group_code``, ``pseudonym`` and ``person_key``.

    """
    from consultations.core.config import default_groups

    groups = groups if groups is not None else default_groups()
    df = speakers.copy()
    df["group_code"] = df["stakeholder_group"].map(groups.code)
    pid = df["person_id"] if "person_id" in df.columns else pd.Series([""] * len(df),
                                                                      index=df.index)
    decl = df["collective"] if "collective" in df.columns else pd.Series([""] * len(df),
                                                                         index=df.index)
    df["is_collective"] = [collective_label(s, d) for s, d in
                           zip(df["speaker"], decl.fillna(""), strict=True)]
    # A collective or unnamed label is a voice of its own in each workshop, never one person
    # across workshops (« Un participant » of ATL1 is not « Un participant » of ATL2).
    df["person_key"] = [
        f"voix:{w}:{fold(s, space='strip')}|{c}" if coll else person_key(s, c, p)
        for s, c, p, w, coll in zip(df["speaker"], df["group_code"], pid.fillna(""),
                                    df["workshop_id"], df["is_collective"], strict=True)]
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
    if previous is not None and len(previous) and "pseudonym" in previous.columns:
        prev = previous.copy()
        if "person_key" not in prev.columns or prev["person_key"].isna().all():
            prev["person_key"] = [person_key(str(lab), str(c)) for lab, c in
                                  zip(prev["label"], prev["group_code"], strict=True)]
        for k, p in zip(prev["person_key"], prev["pseudonym"], strict=True):
            if pd.isna(k) or pd.isna(p):
                continue
            pseudo.setdefault(str(k), str(p))
            code, _, num = str(p).rpartition("-")
            prefix = f"{code}-V" if num[:1] == "V" else f"{code}-"
            num = num[1:] if num[:1] == "V" else num
            if num.isdigit():
                counters[prefix] = max(counters.get(prefix, 0), int(num))
    for key, code, coll in zip(order["person_key"], order["group_code"],
                               order["is_collective"], strict=False):
        # Collective voices are numbered apart: « SRC-V01 » is never a person « SRC-01 ».
        prefix = f"{code}-V" if coll else f"{code}-"
        if key not in pseudo or not (pseudo[key].startswith(prefix)
                                     and pseudo[key][len(prefix):].isdigit()):
            counters[prefix] = counters.get(prefix, 0) + 1
            pseudo[key] = f"{prefix}{counters[prefix]:02d}"
    df["pseudonym"] = df["person_key"].map(pseudo)
    return df.drop(columns=["_order", "_row", "turn_n"])


@dataclass
class NameIndex:
    """Participants' name forms, for redaction.

    Attributes:
        forms: folded form -> ``{pseudonym: kind}`` (kind: ``full``, ``last`` or ``first``).
        workshops: pseudonym -> workshops where that person takes part.
        first_names: folded first names of every participant (to tell another person sharing
            a participant's surname, « Modibo KEITA » when the participant is Moussa KEITA).
        common: folded ordinary French words (a single-word name that is also a word, such as
            « Fort », is only redacted when capitalised and not opening a sentence).

    """

    forms: dict = field(default_factory=dict)
    workshops: dict = field(default_factory=dict)
    first_names: dict = field(default_factory=dict)
    common: frozenset = frozenset()
    _pattern: object = field(default=None, repr=False, compare=False)

    @classmethod
    def build(cls, speakers: pd.DataFrame, common=frozenset()) -> NameIndex:
        """Index ``speakers`` (``speaker`` = label, ``pseudonym``, ``workshop_id``)."""
        idx = cls(common=frozenset(common))
        for lab, p, w in zip(speakers["speaker"], speakers["pseudonym"],
                             speakers["workshop_id"], strict=True):
            idx.workshops.setdefault(p, set()).add(w)
            pats = name_patterns(lab)
            for f in pats:
                kind = "full" if f == pats[0] and " " in f else "last"
                idx.forms.setdefault(f, {})
                if idx.forms[f].get(p) != "full":
                    idx.forms[f][p] = kind
            for f in first_name_patterns(lab):
                idx.forms.setdefault(f, {}).setdefault(p, "first")
                idx.first_names.setdefault(p, set()).add(f)
        return idx

    def regex(self) -> re.Pattern:
        """Return the pattern of every form, longest first (compiled once per index)."""
        if self._pattern is None or self._pattern[0] != len(self.forms):
            key = tuple(sorted(self.forms, key=lambda s: (-len(s), s)))
            self._pattern = (len(self.forms), _forms_regex(key))
        return self._pattern[1]

    def resolve(self, form: str, workshop: str | None = None) -> str:
        """Return the placeholder of a form: the one person's pseudonym, else PERSONNE."""
        cands = self.forms.get(form) or {}
        if len(cands) == 1:
            return f"[{next(iter(cands))}]"
        if workshop is not None:
            here = [p for p in cands if workshop in self.workshops.get(p, ())]
            full = [p for p in here if cands[p] == "full"]
            if len(full) == 1:
                return f"[{full[0]}]"
            if len(here) == 1:
                return f"[{here[0]}]"
        return "[PERSONNE]"


# --------------------------------------------------------------------------- redaction

_TLD = r"(?:com|org|net|fr|ml|info|gov|edu|int|io|co|sn|bf|ci|ne|gn|be|ch|ca|eu)"
_AT = (r"(?:\(\s*(?:at|arobase|@)\s*\)|\[\s*(?:at|arobase|@)\s*\]|\{\s*at\s*\}"
       r"|\s(?:at|AT|arobase|chez)\s|\s@\s)")
_DOT = r"(?:\.|\(\s*(?:dot|point)\s*\)|\[\s*(?:dot|point)\s*\]|\s(?:dot|point)\s)"
_EMAIL_RE = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|[\w.+-]*\w\s*" + _AT + r"\s*[\w-]+(?:\s*" + _DOT + r"\s*[\w-]+)*\s*" + _DOT + r"\s*"
    + _TLD + r"\b",
    re.UNICODE | re.IGNORECASE,
)
_SEPS = r"[ \t.\-/\u00a0\u202f]"
_PHONE_RE = re.compile(
    # International prefix (+223, 00223, +33, (+223) …): any separators after it.
    r"(?<![\w+])(?:\(\s*\+\d{2,3}\s*\)|(?:\+|00)\s?\d{2,3})" + _SEPS + r"?(?:\(0\)\s?)?"
    r"\d{1,2}(?:" + _SEPS + r"?\d{2}){3,4}(?![\w])"
    # Ten digits in pairs (France: 06 12 34 56 78) or eight (Mali: 76 12 34 57), one separator
    # kind throughout (so that dates such as 12/03/2019 are not phones).
    r"|(?<![\w+/.\-])\(?\d{2}\)?(?P<s>" + _SEPS + r"?)\d{2}(?P=s)\d{2}(?P=s)\d{2}"
    r"(?:(?P=s)\d{2})?(?![\w]|[/.\-]\d)"
    r"|(?<![\w+])\+\d{1,3}(?:[\s.\-]?\d{2,4}){2,5}(?![\w])"
)
_TITLE_NAME_RE = re.compile(
    r"\b(?:M\.|Mme|Mlle|Dr|Me|Pr|[Cc]olonel|[Cc]ommandant|[Cc]apitaine|[Ll]ieutenant|"
    r"[Aa]djudant|[Ss]ergent|[Gg]énéral|[Ii]mam|[Cc]adi|[Mm]adame|[Mm]onsieur|[Dd]octeur|"
    r"[Cc]ommissaire|[Ii]nspect(?:eur|rice)|[Jj]uge|[Cc]hef\s+de\s+village|[Ss]ergent-chef|"
    r"El\s+[Hh]adj|[Hh]onorable|[Cc]ol\.|[Cc]dt\.?|[Ll]t\.?)\s+"
    r"([A-ZÀ-ÖØ-Þ][\w'’\-]*(?:[ \t]+[A-ZÀ-ÖØ-Þ][\w'’\-]*){0,2})"
)
_STOP = frozenset(fold(w) for w in _SPACY_STOP)
_NAME_WORD_RE = re.compile(r"^[A-ZÀ-ÖØ-Þ][\w'’\-]*$")
_WORD_RE = re.compile(r"[^\W\d_][\w'’\-]*")
_SENTENCE_END = set(".!?…:;«»\"—–(")


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


def _sentence_initial(text: str, a: int) -> bool:
    before = text[:a].rstrip()
    return not before or before[-1] in _SENTENCE_END


def _prev_word(text: str, a: int) -> tuple[int, int] | None:
    m = re.search(r"([^\W\d_][\w'’\-]*)[ \t]+$", text[max(0, a - 60):a])
    if not m:
        return None
    off = max(0, a - 60)
    return off + m.start(1), off + m.end(1)


def _next_word(text: str, b: int) -> tuple[int, int] | None:
    m = re.match(r"[ \t]+([^\W\d_][\w'’\-]*)", text[b:b + 60])
    return (b + m.start(1), b + m.end(1)) if m else None


def _is_title_before(text: str, a: int) -> bool:
    pw = _prev_word(text, a)
    if pw is None:
        before = text[:a].rstrip()
        return before.endswith(("M.", "Col.", "Cdt.", "Lt."))
    return _is_title_word(text[pw[0]:pw[1]]) or text[pw[0]:pw[1] + 1] == "M."


def _looks_like_other_name(word: str, text: str, a: int, idx: NameIndex) -> bool:
    """Whether a word next to a participant's name is another person's name part."""
    f = fold(word).strip("'’-")
    if _is_title_word(word) or f in _NOT_NAMES or f in _ROLE_WORDS or len(f) < 3:
        return False
    if f in COMMON_FIRST_NAMES or f in COMMON_SURNAMES:
        return True
    if any(f in names for names in idx.first_names.values()):
        return True
    return (word[:1].isupper() and f not in idx.common and not _sentence_initial(text, a)
            and not word.isupper())


def _participant_spans(text: str, idx: NameIndex, workshop: str | None,
                       ) -> list[tuple[int, int, str, int]]:
    found = []
    if not idx.forms:
        return found
    folded = fold_same_length(text)
    for m in idx.regex().finditer(folded):
        a, b = m.span()
        key = " ".join(m.group(0).split())
        cands = idx.forms.get(key) or {}
        orig = text[a:b]
        single = " " not in key
        kinds = set(cands.values())
        if single:
            titled = _is_title_before(text, a)
            if key in idx.common or key in _STOP:
                # An ordinary word (« Fort », « Roman »): only as a name, capitalised, not
                # opening a sentence, or after a title.
                if not (orig[:1].isupper() and (titled or not _sentence_initial(text, a))):
                    continue
            if kinds == {"first"} and not orig[:1].isupper() and key not in COMMON_FIRST_NAMES:
                continue
            # Another person sharing a participant's surname or first name (« Modibo KEITA »
            # when the participant is Moussa KEITA): the whole name is [PERSONNE].
            own_first = set().union(*(idx.first_names.get(p, set()) for p in cands)) \
                if cands else set()
            pw = _prev_word(text, a)
            if "last" in kinds and pw is not None:
                w = text[pw[0]:pw[1]]
                if fold(w).strip("'’-") not in own_first and \
                        _looks_like_other_name(w, text, pw[0], idx):
                    found.append((pw[0], b, "[PERSONNE]", 1))
                    continue
            nw = _next_word(text, b)
            if "first" in kinds and nw is not None:
                w = text[nw[0]:nw[1]]
                if _looks_like_other_name(w, text, nw[0], idx) or (
                        w[:1].isupper() and fold(w) not in idx.common
                        and fold(w).strip("'’-") not in _NOT_NAMES | _TITLES | _ROLE_WORDS):
                    found.append((a, nw[1], "[PERSONNE]", 1))
                    continue
        found.append((a, b, idx.resolve(key, workshop), 1))
    return found


def _common_name_spans(text: str) -> list[tuple[int, int, str, int]]:
    """Frequent Malian first names and family names (not participants): [PERSONNE]."""
    found = []
    for m in _WORD_RE.finditer(text):
        w = m.group(0)
        f = fold(w).strip("'’-")
        if f in COMMON_SURNAMES or f in COMMON_FIRST_NAMES:
            nw = _next_word(text, m.end())
            lower_pair = (nw is not None and f in COMMON_FIRST_NAMES
                          and fold(text[nw[0]:nw[1]]) in COMMON_SURNAMES)
            if lower_pair:
                found.append((m.start(), nw[1], "[PERSONNE]", 2))
            elif w[:1].isupper():
                found.append((m.start(), m.end(), "[PERSONNE]", 3))
    return found


def find_redactions(text: str, persons: NameIndex | dict, doc=None, workshop: str | None = None,
                    ) -> list[tuple[int, int, str]]:
    """Find what to redact in cleaned speech (or any text that reaches an output).

    Args:
        text: cleaned speech (the text ``doc`` was parsed from, if given).
        persons: participants' name forms: a :class:`NameIndex`, or a mapping
            ``folded name form -> pseudonym``.
        doc: an optional spaCy Doc of ``text`` (its ``PER`` entities are redacted too).
        workshop: the workshop the text comes from (decides a surname shared by participants
            of different workshops).

    Returns:
        Sorted, non-overlapping ``(start, end, placeholder)`` spans of ``text``: e-mails
        (also written ``(at)``, `` arobase ``), phone numbers (Mali and France forms),
        participants' names (full name, surname, first name alone: their pseudonym when the
        context decides who it is, else ``[PERSONNE]``), other persons' names (titles, frequent
        Malian names, NER): always ``[PERSONNE]``.

    """
    if isinstance(persons, NameIndex):
        idx = persons
    else:
        idx = NameIndex(forms={f: {p: "full"} for f, p in (persons or {}).items()})
    found: list[tuple[int, int, str, int]] = []  # (start, end, placeholder, priority)
    for m in _EMAIL_RE.finditer(text):
        found.append((m.start(), m.end(), "[COURRIEL]", 0))
    for m in _PHONE_RE.finditer(text):
        found.append((m.start(), m.end(), "[TÉLÉPHONE]", 0))
    found += _participant_spans(text, idx, workshop)
    found += _common_name_spans(text)
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
        pat = re.compile(r"(?<![\w\-])(?:" + alts + r")(?![\w\-])")
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

def redact_field(text: str, persons: NameIndex | dict, workshop: str | None = None) -> str:
    """Redact a short text that reaches an output (a csv field, a title, a location)."""
    if not isinstance(text, str) or not text.strip():
        return text
    n = len(text)
    mt = MappedText(text, list(range(n)), list(range(1, n + 1)))
    return apply_redactions(mt, find_redactions(text, persons, workshop=workshop)).text


def redact_file_label(name: str, persons: NameIndex, workshop_id: str, kind: str) -> str:
    """Return the file name as published: ``<workshop>_<kind><suffix>`` when it carries a name.

    A token of the file name (split on ``_ - . /`` and spaces) that is a participant's name
    form or a frequent Malian name, or the redaction of the name with spaces, marks it.
    """
    from pathlib import PurePosixPath

    pp = PurePosixPath(name)
    tokens = [t for t in re.split(r"[_\-.\s/]+", str(pp.with_suffix(""))) if t]
    named = any(fold(t) in persons.forms or fold(t) in COMMON_SURNAMES
                or fold(t) in COMMON_FIRST_NAMES for t in tokens)
    spaced = " ".join(tokens)
    if not named and redact_field(spaced, persons, workshop_id) != spaced:
        named = any(ph in redact_field(spaced, persons, workshop_id)
                    for ph in ("[PERSONNE]", "-", "[TÉLÉPHONE]", "[COURRIEL]"))
    return f"{workshop_id}_{kind}{pp.suffix}" if named else name


def pseudonymise(turns: pd.DataFrame, speakers: pd.DataFrame, docs: Sequence | None = None,
                 names: NameIndex | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Swap speaker labels for pseudonyms and redact names, phones and e-mails in speech.

    Args:
        turns: cleaned turns (``workshop_id, speaker`` = label, ``text``, ``_map``).
        speakers: participants with pseudonyms (from :func:`assign_pseudonyms`).
        docs: optional spaCy Docs of ``turns.text`` (same order) for NER.
        names: the participants' :class:`NameIndex` (built from ``speakers`` if not given).

    Returns:
        ``(turns, key)``: new turns with ``speaker`` = pseudonym, redacted ``text``, and the
        private columns ``_clean`` (unredacted map), ``_redactions`` and ``_map`` (redacted);
        ``key``: the private pseudonym key (pseudonym, workshop, label, group, person key).

    """
    lookup = {(w, fold(s)): row for w, s, row in zip(
        speakers["workshop_id"], speakers["speaker"], speakers.to_dict("records"), strict=False)}
    idx = names if names is not None else NameIndex.build(speakers)
    pseudos, groups, codes, roles, genders, facil, texts, red, newmaps, coll = (
        [] for _ in range(10))
    docs = list(docs) if docs is not None else [None] * len(turns)
    for w, label, mt, doc in zip(turns["workshop_id"], turns["speaker"], turns["_map"], docs,
                                 strict=True):
        row = lookup[(w, fold(label))]
        pseudos.append(row["pseudonym"])
        groups.append(row["stakeholder_group"])
        codes.append(row["group_code"])
        roles.append(redact_field(row.get("role", ""), idx, w))
        genders.append(row.get("gender", ""))
        facil.append(row["stakeholder_group"] == FACILITATION or row["group_code"] == "FAC")
        coll.append(bool(row.get("is_collective", False)))
        spans = find_redactions(mt.text, idx, doc, workshop=w)
        red.append(spans)
        new = apply_redactions(mt, spans)
        newmaps.append(new)
        texts.append(new.text)
    out = turns.assign(
        speaker=pseudos, stakeholder_group=groups, group_code=codes, role=roles,
        gender=genders, is_facilitator=facil, is_collective=coll, text=texts,
        _clean=list(turns["_map"]), _redactions=red, _map=newmaps,
    )
    return out, pseudonym_key(speakers)


def pseudonym_key(speakers: pd.DataFrame) -> pd.DataFrame:
    """Return the private pseudonym key of participants with pseudonyms (never exported)."""
    cols = ["pseudonym", "workshop_id", "speaker", "stakeholder_group", "group_code", "role",
            "gender", "person_key"]
    if "person_id" in speakers.columns:
        cols.append("person_id")
    key = speakers[[c for c in cols if c in speakers.columns]].rename(
        columns={"speaker": "label"})
    return key.sort_values(["pseudonym", "workshop_id"], kind="mergesort").reset_index(drop=True)
