r"""Ingest: validate the workshops and participants, parse transcripts into speaker turns.

This module reads what a user puts in ``data/transcripts/`` (see the input contract in
docs/design): files are decoded by :mod:`consultations.ingest.readers` (which also reads the CSV
tables and recommendation lists); this module validates workshops.csv and participants.csv,
parses speaker turns with their provenance (source file, lines, character offsets into the
decoded source text) and accounts for every character read. The stage entry point
:func:`run_stage` then composes cleaning (:mod:`consultations.ingest.clean`), pseudonymisation
(:mod:`consultations.ingest.redact`) and segmentation (:mod:`consultations.ingest.segment`).

Turn syntax: an optional timestamp ``[00:14:05]``, then ``LABEL : text`` or ``LABEL: text``
(in Markdown the label may be bold: ``**LABEL :** text``). The label is matched case- and
accent-insensitively against participants.csv for that workshop (a shortened label, e.g. the
surname alone, matches when it is unambiguous in that workshop). A line that does not open with
a known label continues the previous turn. Stage directions (``[inaudible]``, ``(rires)``) are
kept apart from speech. A ``.docx`` transcript is read as its paragraphs joined by ``"\n"``:
that text is its "decoded source text" and its line numbers are paragraph numbers.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from consultations.core import io as cio
from consultations.core.config import (
    GROUPS_FILE,
    GroupSet,
    Paths,
    Settings,
    default_groups,
    group_code,
    load_groups,
)
from consultations.core.errors import InputError, InputWarning, warn_input
from consultations.core.progress import progress_bar
from consultations.core.schema import TABLES
from consultations.core.textutils import fold, yes_no
from consultations.ingest import clean, redact
from consultations.ingest.readers import (
    TEXT_SUFFIXES,
    decode_bytes,
    parse_date,
    read_csv_rows,
    read_recommendations,
    read_text_file,
    split_lines,
)

__all__ = [
    "Parsed",
    "parse_transcript",
    "read_participants",
    "read_workshops",
    "run_stage",
    "turns_from_documents",
]


# --------------------------------------------------------------------------- metadata

def read_workshops(path: str | Path) -> pd.DataFrame:
    """Read and validate workshops.csv.

    Returns:
        The workshops table (contract columns, ISO dates, sorted by ``workshop_id``) plus the
        ``line`` of each row.

    Raises:
        InputError: missing file/columns, malformed row, duplicate id, unparseable date.

    """
    cols = TABLES["workshops"]
    rows, _ = read_csv_rows(path, ["workshop_id", "file"])
    seen: dict[str, int] = {}
    out = []
    for line, r in rows:
        wid = r["workshop_id"]
        if not wid:
            raise InputError(path, line, "workshop_id vide.",
                             "donnez un identifiant à chaque atelier.")
        if wid in seen:
            raise InputError(path, line, f"identifiant d'atelier {wid!r} en double (déjà ligne "
                             f"{seen[wid]}).", "donnez à chaque atelier un workshop_id unique.")
        seen[wid] = line
        if not r.get("file"):
            raise InputError(path, line, f"l'atelier {wid!r} n'a pas de fichier de transcription.",
                             "remplissez la colonne « file » (chemin relatif à "
                             "data/transcripts/).")
        d = r.get("date", "")
        out.append({
            "workshop_id": wid, "title": r.get("title", ""),
            "date": parse_date(d, path, line) if d else "",
            "location": r.get("location", ""), "file": r["file"],
            "recommendations_file": r.get("recommendations_file", ""), "line": line,
        })
    if not out:
        raise InputError(path, None, "aucune ligne d'atelier.", "ajoutez une ligne par atelier.")
    return (pd.DataFrame(out, columns=cols + ["line"])
            .sort_values("workshop_id", kind="mergesort").reset_index(drop=True))


def read_participants(path: str | Path, workshops: pd.DataFrame,
                      groups: GroupSet | None = None) -> pd.DataFrame:
    """Read and validate participants.csv against the workshops and the declared groups.

    A row for an unknown workshop is left out with a warning; a duplicate label in a
    workshop, or an empty label or group, is an error. A group that is not declared (in
    ``groups.csv``, or the defaults) gets a unique generated code, with one warning per label.
    An optional ``person_id`` column joins one person's labels across workshops.

    Returns:
        ``workshop_id, speaker, stakeholder_group, role, gender, line`` (plus ``person_id``
        when the file has that column).

    """
    groups = groups if groups is not None else default_groups()
    rows, _ = read_csv_rows(path, ["workshop_id", "speaker", "stakeholder_group"])
    known = set(workshops["workshop_id"])
    seen: dict[tuple, int] = {}
    out = []
    has_pid = any("person_id" in r for _, r in rows[:1])
    has_coll = any("collective" in r for _, r in rows[:1])
    for line, r in rows:
        wid, spk, grp = r["workshop_id"], r["speaker"], r["stakeholder_group"]
        if wid not in known:
            warn_input(path, line, f"ce participant est rattaché à l'atelier {wid!r}, "
                       "absent de workshops.csv ; la ligne est ignorée.",
                       "corrigez le workshop_id ou ajoutez l'atelier à workshops.csv")
            continue
        if not spk or not grp:
            raise InputError(path, line, "speaker ou stakeholder_group vide.",
                             "chaque participant a un libellé et un groupe d'acteurs.")
        key = (wid, fold(spk))
        if key in seen:
            raise InputError(path, line, f"le libellé {spk!r} apparaît deux fois pour "
                             f"l'atelier {wid} (déjà ligne {seen[key]}).",
                             "gardez une ligne par libellé.")
        seen[key] = line
        group, new = groups.resolve(grp)
        if new:
            declared = ", ".join(g.label for g in groups if g.declared)
            warn_input(path, line, f"groupe d'acteurs {grp!r} non déclaré ; son code sera "
                       f"{group.code!r} (avertissement donné une fois pour ce libellé).",
                       f"déclarez-le dans transcripts/{GROUPS_FILE} (stakeholder_group,code,"
                       f"colour,order) ou utilisez un groupe déclaré ({declared})")
        row = {"workshop_id": wid, "speaker": spk, "stakeholder_group": group.label,
               "role": r.get("role", ""), "gender": r.get("gender", ""), "line": line}
        if has_pid:
            row["person_id"] = r.get("person_id", "")
        if has_coll:
            c = fold(r.get("collective", "") or "").strip()
            try:
                yes_no(c)
            except ValueError:
                raise InputError(path, line, f"collective vaut {r.get('collective')!r}.",
                                 "écrivez « oui » (libellé qui ne désigne aucune personne "
                                 "précise : « Plusieurs participants ») ou « non », ou laissez "
                                 "vide (reconnu d'après le libellé).") from None
            row["collective"] = c
        out.append(row)
    cols = ["workshop_id", "speaker", "stakeholder_group", "role", "gender", "line"]
    return pd.DataFrame(out, columns=cols + (["person_id"] if has_pid else [])
                        + (["collective"] if has_coll else []))


# --------------------------------------------------------------------------- turn parser

_TS = r"\d{1,2}:\d{2}(?::\d{2})?"
_TURN_RE = re.compile(
    r"(?P<lead>[ \t\ufeff]*)"
    r"(?:(?P<ts>\[\s*" + _TS + r"\s*\]|\(\s*" + _TS + r"\s*\))[ \t]*)?"
    r"(?P<label>(?:\*\*|__)?[^:\n\r\[\]()*_]+?(?:\*\*|__)?[ \t\u00a0\u202f]*:"
    r"(?:\*\*|__)?)(?P<after>[ \t\u00a0\u202f]*)"
)
_LABEL_STRIP = " \t\u00a0\u202f*_:"


@dataclass
class Parsed:
    """A parsed transcript.

    Attributes:
        turns: one row per turn (label, timestamp, lines, offsets, ``speech_spans``,
            ``stage_directions``).
        report: the character accounting of the file (file_report columns).
        lines: line offsets of the decoded source text (see :func:`split_lines`).

    """

    turns: pd.DataFrame
    report: dict
    lines: list = field(default_factory=list)
    #: ``(line, label)`` of lines that look like a speaker label but match no participant
    #: (kept in the current turn).
    unmatched: list = field(default_factory=list)
    #: Speech characters attributed to each label (the character accounting per speaker).
    chars_by_speaker: dict = field(default_factory=dict)


def _looks_like_label(cand: str, has_ts: bool, bold: bool) -> bool:
    words = cand.split()
    if not words or len(words) > 6 or any(c in cand for c in ".!?;,") and len(words) > 4:
        return False
    if has_ts or bold:
        return True
    if any(sum(c.isalpha() for c in w) >= 3 and w.strip(".,'-").isupper() for w in words):
        return True
    first = fold(words[0]).strip(".")
    if first in redact._TITLES and len(words) >= 2 and words[1][:1].isupper():
        return True
    return len(words) == 1 and first in redact._ROLE_WORDS


def _label_lookup(labels: Sequence[str]) -> dict[str, str]:
    """Folded label -> label, plus unambiguous short forms (name without title, surname).

    A label's person-name part (before a comma or role: « Erwann Binet » of « Erwann Binet,
    rapporteur de la commission des lois ») also finds it, so the variants of one
    participant's label written in a transcript match that participant.
    """
    exact = {fold(lab): lab for lab in labels}
    alias: dict[str, set] = {}
    by_name: dict[str, list] = {}
    for lab in labels:
        for form in redact.name_patterns(lab):
            alias.setdefault(form, set()).add(lab)
        title, name, _ = redact.split_label(lab)
        if name:
            by_name.setdefault(fold(name), []).append(lab)
            if title:
                by_name.setdefault(fold(f"{title} {name}"), []).append(lab)
    out = {k: next(iter(v)) for k, v in alias.items() if len(v) == 1 and k not in exact}
    for k, labs in by_name.items():
        if k not in exact:
            out[k] = labs[0]  # variants of one name part: the first row of participants.csv
    out.update(exact)
    return out


def _match_label(cand: str, by_fold: dict[str, str]) -> str | None:
    """Find the participant of a label as written: exactly, or by its name part."""
    hit = by_fold.get(fold(cand))
    if hit is not None:
        return hit
    if len(cand) > 200:
        return None
    title, name, _ = redact.split_label(cand)
    if name:
        return by_fold.get(fold(f"{title} {name}")) or by_fold.get(fold(name))
    return None


def parse_transcript(text: str, labels: Sequence[str], source: str = "<transcript>",
                     workshop_id: str = "", *, markdown: bool | None = None,
                     kind: str = "transcript", encoding: str = "", note: str = "",
                     strict: bool = False, stage_directions=None) -> Parsed:
    """Parse speaker turns from decoded transcript text, accounting for every character.

    Args:
        text: the decoded source text.
        labels: the workshop's speaker labels (from participants.csv).
        source: the file (relative path) for provenance and messages.
        workshop_id: the workshop (for turn ids).
        markdown: treat ``**`` as markup (default: ``source`` ends with ``.md``).
        kind: the file kind for the report.
        encoding: the encoding found, for the report.
        note: a note on decoding, for the report.
        strict: stop at a line that looks like a speaker label but matches no participant
            (default: the line stays in the current turn and is listed in ``unmatched``).
        stage_directions: a compiled stage-direction pattern (default
            :data:`consultations.ingest.clean.STAGE_DIRECTION_RE`).

    Returns:
        A :class:`Parsed` (turns, character report, line offsets, unmatched label lines).

    Raises:
        InputError: (``strict``) a line opens with what looks like a speaker label that
            matches no participant; the transcript has no turn at all.

    """
    if markdown is None:
        markdown = source.lower().endswith(".md")
    by_fold = _label_lookup(labels)
    lines = split_lines(text)
    acc = {"speech": 0, "sd": 0, "header": 0, "label": 0, "newline": 0, "blank": 0,
           "markup": 0}
    turns: list[dict] = []
    cur: dict | None = None
    header_warned = False
    candidates: list[tuple[int, str]] = []
    unmatched: list[tuple[int, str]] = []
    sd_re = stage_directions if stage_directions is not None else clean.STAGE_DIRECTION_RE

    def body(a: int, b: int, ln: int) -> None:
        nonlocal cur
        last = a
        for s, e in clean.stage_direction_spans(text, a, b, sd_re):
            _speech(last, s, ln)
            acc["sd"] += e - s
            if cur is not None:
                cur["stage_directions"].append(text[s:e])
                cur["line_end"] = ln
                cur["char_end"] = max(cur["char_end"], e)
            last = e
        _speech(last, b, ln)

    def _speech(a: int, b: int, ln: int) -> None:
        if b <= a:
            return
        chunk = text[a:b]
        if not chunk.strip():
            acc["blank"] += b - a
            return
        if cur is None:
            acc["header"] += b - a
            return
        lead = len(chunk) - len(chunk.lstrip())
        trail = len(chunk) - len(chunk.rstrip())
        acc["blank"] += lead + trail
        a, b = a + lead, b - trail
        n_markup = 2 * len(re.findall(r"\*\*|__", text[a:b])) if markdown else 0
        acc["markup"] += n_markup
        acc["speech"] += (b - a) - n_markup
        cur["speech_spans"].append((a, b))
        cur["line_end"] = ln
        cur["char_end"] = max(cur["char_end"], b)

    for ln, (start, cend, end) in enumerate(lines, start=1):
        acc["newline"] += end - cend
        content = text[start:cend]
        if not content.strip():
            acc["blank"] += cend - start
            continue
        m = _TURN_RE.match(text, start, cend)
        matched = None
        if m:
            cand = m.group("label").strip(_LABEL_STRIP)
            cand = " ".join(cand.replace("**", " ").replace("__", " ").split())
            matched = _match_label(cand, by_fold)
            if matched is None:
                bold = "**" in m.group("label") or "__" in m.group("label")
                if _looks_like_label(cand, bool(m.group("ts")), bold):
                    if cur is None:
                        candidates.append((ln, cand))
                    elif strict:
                        raise InputError(
                            source, ln, f"le libellé de tour {cand!r} ne correspond à aucun "
                            f"participant de l'atelier {workshop_id or '?'}.",
                            "ajoutez-le à participants.csv (workshop_id,speaker,"
                            "stakeholder_group,role,gender) avec le libellé exactement tel "
                            "qu'écrit, ou corrigez le libellé dans la transcription.")
                    else:
                        unmatched.append((ln, cand))
        if matched is not None:
            lead_len = len(m.group("lead"))
            acc["blank"] += lead_len
            acc["label"] += m.end() - start - lead_len
            ts = m.group("ts")
            cur = {
                "turn_id": f"{workshop_id}-T{len(turns) + 1:03d}",
                "workshop_id": workshop_id, "turn_n": len(turns) + 1, "speaker": matched,
                "timestamp": re.sub(r"[\[\]()\s]", "", ts) if ts else "",
                "source_file": source, "line_start": ln, "line_end": ln,
                "char_start": start + lead_len, "char_end": m.end(),
                "speech_spans": [], "stage_directions": [],
            }
            turns.append(cur)
            body(m.end(), cend, ln)
            cur["char_end"] = max(cur["char_end"], m.end())
            continue
        if cur is None:
            stripped = content.strip()
            only_sd = not sd_re.sub("", stripped).strip()
            if not only_sd and not header_warned:
                header_warned = True
                warn_input(source, ln, "le texte avant le premier tour de parole est gardé comme "
                           "en-tête, non analysé.",
                           "si c'est de la parole, commencez la ligne par un libellé "
                           "d'intervenant « LIBELLÉ : »")
        body(start, cend, ln)

    if not turns:
        hint = (f"lignes attendues de la forme « {labels[0]} : … » (libellés de "
                "participants.csv)"
                if labels else "ajoutez les intervenants de cet atelier à participants.csv")
        if candidates:
            seen = ", ".join(repr(c) for _, c in candidates[:5])
            hint = (f"ces libellés ne correspondent à aucun participant : {seen} — "
                    "ajoutez-les à participants.csv ou corrigez les libellés")
        raise InputError(source, candidates[0][0] if candidates else None,
                         "aucun tour de parole trouvé dans la transcription.", hint)
    chars_read = len(text)
    headers = acc["header"] + acc["label"] + acc["newline"] + acc["blank"] + acc["markup"]
    dropped = chars_read - acc["speech"] - acc["sd"] - headers
    report = {
        "file": source, "kind": kind, "encoding": encoding, "chars_read": chars_read,
        "chars_speech": acc["speech"], "chars_stage_directions": acc["sd"],
        "chars_headers": headers, "chars_dropped": dropped,
        "note": "; ".join(x for x in [
            note, f"caractères d'en-tête = {acc['header']} (lignes d'en-tête) + "
            f"{acc['label']} (libellés/horodatages) + {acc['newline']} (sauts de ligne) + "
            f"{acc['blank']} (blancs/retraits)"
            + (f" + {acc['markup']} (balisage Markdown)" if markdown else ""),
        ] if x),
    }
    df = pd.DataFrame(turns, columns=[
        "turn_id", "workshop_id", "turn_n", "speaker", "timestamp", "source_file", "line_start",
        "line_end", "char_start", "char_end", "speech_spans", "stage_directions"])
    df["stage_directions"] = [" ".join(clean.normalise_text(s) for s in sd)
                              for sd in df["stage_directions"]]
    by_speaker: dict[str, int] = {}
    for t in turns:
        n = sum(b - a for a, b in t["speech_spans"])
        by_speaker[t["speaker"]] = by_speaker.get(t["speaker"], 0) + n
    if unmatched:
        # Lines only: a label may carry a name, and warnings reach run_summary.json.
        shown = ", ".join(f"l. {ln}" for ln, _ in unmatched[:8])
        more = f" et {len(unmatched) - 8} autre(s)" if len(unmatched) > 8 else ""
        warn_input(source, unmatched[0][0], f"{len(unmatched)} ligne(s) ressemblent à un "
                   f"libellé d'intervenant mais ne correspondent à aucun participant de "
                   f"l'atelier {workshop_id or '?'} : {shown}{more} ; elles restent dans le "
                   "tour en cours.",
                   "si ce sont des intervenants, ajoutez-les à participants.csv ; le réglage "
                   "[ingest] strict = true arrête l'analyse sur ces lignes")
    return Parsed(df, report, lines, unmatched, by_speaker)


# --------------------------------------------------------------------------- documents

def turns_from_documents(texts: Sequence[str], groups: Sequence[str],
                         workshop_id: str = "DOC", ids: Sequence | None = None,
                         ) -> tuple[pd.DataFrame, dict[str, str], pd.DataFrame]:
    """Make one-turn documents (e.g. survey answers) look like parsed transcript turns.

    Each document is its own source (``doc-<id>``); its group is the stakeholder group and
    its speaker label ``<group>-<n>``.

    Returns:
        ``(raw_turns, sources, participants)`` ready for :func:`clean.clean_turns`,
        :func:`redact.assign_pseudonyms` and :func:`redact.pseudonymise`.

    """
    ids = list(ids) if ids is not None else list(range(1, len(texts) + 1))
    sources, turns, parts = {}, [], []
    for n, (doc_id, t, g) in enumerate(zip(ids, texts, groups, strict=False), start=1):
        src = f"doc-{doc_id}"
        sources[src] = t
        lines = split_lines(t)
        spans = [(s, e) for s, e, _ in lines if t[s:e].strip()]
        label = f"{group_code(g)}-{n}"
        turns.append({"turn_id": f"{workshop_id}-T{n:03d}", "workshop_id": workshop_id,
                      "turn_n": n, "speaker": label,
                      "timestamp": "", "source_file": src, "line_start": 1,
                      "line_end": len(lines), "char_start": 0, "char_end": len(t),
                      "speech_spans": spans, "stage_directions": ""})
        parts.append({"workshop_id": workshop_id, "speaker": label, "stakeholder_group": g,
                      "role": "", "gender": "", "line": n})
    return pd.DataFrame(turns), sources, pd.DataFrame(parts)


# --------------------------------------------------------------------------- stage

def _summary(workshops, speakers, turns, segments, recs, report, encodings) -> dict:
    seg = segments[~segments["is_facilitator"]] if len(segments) else segments
    words = (segments.groupby("group_code")["n_words"].sum().sort_index() if len(segments)
             else pd.Series(dtype=int))
    return {
        "workshops": int(len(workshops)),
        "speakers": int(speakers["pseudonym"].nunique()),
        "turns": int(len(turns)),
        "segments": int(len(segments)),
        "segments_without_facilitators": int(len(seg)),
        "recommendations": int(len(recs)),
        "words": int(segments["n_words"].sum()) if len(segments) else 0,
        "words_per_group": {k: int(v) for k, v in words.items()},
        "turns_per_group": {k: int(v) for k, v in
                            turns.groupby("group_code").size().sort_index().items()},
        "encodings": encodings,
        "characters": {r["file"]: {k: int(r[k]) for k in
                                   ("chars_read", "chars_speech", "chars_stage_directions",
                                    "chars_headers", "chars_dropped")}
                       for r in report.to_dict("records")},
    }


def _lexicon(nlp) -> frozenset:
    """Folded ordinary French words known to the spaCy model's lemmatizer (may be empty)."""
    try:
        lookups = nlp.get_pipe("lemmatizer").lookups
    except (KeyError, AttributeError, ValueError):
        return frozenset()
    words: set[str] = set()
    if lookups.has_table("lemma_index"):
        for v in lookups.get_table("lemma_index").values():
            words.update(v)
    if lookups.has_table("lemma_lookup"):
        table = lookups.get_table("lemma_lookup")
        words.update(str(v) for v in table.values())
    return frozenset(fold(w) for w in words if isinstance(w, str) and w.isalpha())


def _previous_key(paths: Paths) -> pd.DataFrame | None:
    path = paths.private / "pseudonym_key.csv"
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError):
        warn_input(path, None, "la clé des pseudonymes existante est illisible ; les "
                   "pseudonymes sont renumérotés.", "restaurez-la depuis une sauvegarde")
        return None


def run_stage(tables: Mapping, paths: Paths, settings: Settings) -> dict:
    """Ingest, clean, pseudonymise and segment the transcripts of ``paths.transcripts``.

    Warnings that name a file whose name carries a person's name are re-issued under the
    file's published label (warnings reach ``run_summary.json``).

    See :func:`_run_stage` for the settings and the tables returned.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        result = _run_stage(tables, paths, settings)
    labels = result.pop("_file_labels", {})
    tdir = paths.transcripts
    for w in caught:
        msg = w.message
        if not isinstance(msg, InputWarning):
            warnings.warn_explicit(msg, w.category, w.filename, w.lineno)
            continue
        path = msg.path
        if path is not None:
            rel = Path(path)
            try:
                rel = rel.relative_to(tdir)
            except ValueError:
                pass
            if rel.as_posix() in labels:
                path = labels[rel.as_posix()]
        warn_input(path, msg.line, msg.message, msg.hint)
    return result


def _run_stage(tables: Mapping, paths: Paths, settings: Settings) -> dict:
    """Run the ingest stage (see :func:`run_stage`).

    Settings (section ``[ingest]`` of the settings file): ``strict`` (stop at a line that
    looks like a speaker label but matches no participant; default false: the line stays in
    the current turn and is listed), ``stage_directions`` (extra words or phrases that open a
    stage direction in parentheses), ``batch_chars`` (characters of speech per NLP batch,
    default :data:`consultations.ingest.segment.BATCH_CHARS`: a large transcript is parsed in
    chunks of whole turns of about that size; the tables do not depend on it).

    Returns:
        ``workshops, speakers, turns, segments, recommendations, file_report, groups``
        (downstream tables, pseudonymised), ``private_pseudonym_key``,
        ``private_file_labels`` and ``_summary``.

    """
    from consultations.ingest import segment

    opts = settings.section("ingest", {"strict": False, "stage_directions": [],
                                       "batch_chars": None})
    extra_sd = opts.get("stage_directions") or []
    if isinstance(extra_sd, str):
        extra_sd = [extra_sd]
    sd_re = clean.stage_direction_pattern(extra_sd) if extra_sd else None
    strict = bool(opts.get("strict"))
    tdir = paths.transcripts
    wpath = tdir / "workshops.csv"
    groups = load_groups(tdir)
    workshops = read_workshops(wpath)
    if settings.workshops:
        unknown = sorted(set(settings.workshops) - set(workshops["workshop_id"]))
        if unknown:
            raise InputError(settings.source, None,
                             f"atelier(s) {', '.join(unknown)} absent(s) de workshops.csv.",
                             "corrigez la liste « workshops » du fichier de réglages "
                             f"(ateliers connus : {', '.join(workshops['workshop_id'])}).")
    participants = read_participants(tdir / "participants.csv", workshops, groups)
    if settings.workshops:
        keep = workshops["workshop_id"].isin(settings.workshops)
        workshops = workshops[keep].reset_index(drop=True)
        participants = participants[participants["workshop_id"].isin(settings.workshops)]
        participants = participants.reset_index(drop=True)
    reports, sources, parsed, recs_raw, encodings = [], {}, [], [], {}
    unmatched, by_speaker, file_kinds = [], {}, {}
    meta = ["workshops.csv", "participants.csv"]
    if (tdir / GROUPS_FILE).is_file():
        meta.append(GROUPS_FILE)
    for name in meta:
        dec = decode_bytes(cio.read_bytes(tdir / name), tdir / name)
        reports.append({"file": name, "kind": "metadata", "encoding": dec.encoding,
                        "chars_read": len(dec.text), "chars_speech": 0,
                        "chars_stage_directions": 0, "chars_headers": len(dec.text),
                        "chars_dropped": 0, "note": "tableau de métadonnées (tous les "
                        "caractères comptés comme en-têtes)"})
        encodings[name] = dec.encoding
    bar = progress_bar(len(workshops), "[ingest] fichiers lus", "fichiers")
    for w in workshops.itertuples(index=False):
        bar.update(1)
        path = tdir / w.file
        if not path.is_file():
            raise InputError(wpath, w.line, f"le fichier de transcription {w.file!r} de l'atelier "
                             f"{w.workshop_id} n'existe pas dans {tdir}.",
                             "vérifiez la colonne « file » (chemin relatif à "
                             "data/transcripts/).")
        if path.suffix.lower() not in TEXT_SUFFIXES:
            raise InputError(wpath, w.line, f"format de transcription {path.suffix!r} non pris en "
                             "charge.", "utilisez .txt, .md ou .docx.")
        rel = Path(w.file).as_posix()
        dec = read_text_file(path)
        labels = list(participants.loc[participants["workshop_id"] == w.workshop_id,
                                       "speaker"])
        p = parse_transcript(dec.text, labels, rel, w.workshop_id, encoding=dec.encoding,
                             note=dec.note, strict=strict, stage_directions=sd_re)
        sources[rel] = dec.text
        parsed.append(p.turns)
        if dec.extra_headers:
            p.report["chars_read"] += dec.extra_headers
            p.report["chars_headers"] += dec.extra_headers
        reports.append(p.report)
        encodings[rel] = dec.encoding
        file_kinds[rel] = (w.workshop_id, "transcription")
        unmatched += [{"file": rel, "line": ln, "label": c} for ln, c in p.unmatched]
        by_speaker[rel] = {(w.workshop_id, lab): n for lab, n in p.chars_by_speaker.items()}
        if w.recommendations_file:
            rpath = tdir / w.recommendations_file
            if not rpath.is_file():
                raise InputError(wpath, w.line, f"le fichier de recommandations "
                                 f"{w.recommendations_file!r} n'existe pas.",
                                 "vérifiez la colonne « recommendations_file », ou laissez-la "
                                 "vide.")
            recs, rep = read_recommendations(rpath, Path(w.recommendations_file).as_posix())
            recs_raw.append(recs.assign(workshop_id=w.workshop_id,
                                        source_file=rep["file"]))
            reports.append(rep)
            encodings[rep["file"]] = rep["encoding"]
            file_kinds[rep["file"]] = (w.workshop_id, "recommandations")
    bar.set_postfix(interventions=sum(len(p) for p in parsed), refresh=False)
    bar.close()
    raw = pd.concat(parsed, ignore_index=True)
    first = raw[["workshop_id", "speaker", "turn_n"]]
    speakers_full = redact.assign_pseudonyms(participants, first, _previous_key(paths), groups)
    names = redact.NameIndex.build(speakers_full, _lexicon(segment.load_nlp(settings.spacy_model)))
    # Clean, NLP, pseudonymise, segment: batch by batch on the chosen engine, each batch
    # written as it finishes (bounded memory; an interrupted run resumes), see segment.py.
    turns, segments, nlp_stats = segment.stream_segments(
        raw, sources, speakers_full, model=settings.spacy_model,
        cache_dir=paths.interim / "cache" / "ingest", engine=segment.engine_for(settings),
        names=names, batch_chars=opts.get("batch_chars") or None)
    key = redact.pseudonym_key(speakers_full)

    # File names that carry a name are published under a neutral label.
    labels_map = {f: redact.redact_file_label(f, names, *file_kinds[f]) for f in file_kinds}
    file_labels = pd.DataFrame({"label": list(labels_map.values()),
                                "file": list(labels_map.keys())})

    def relabel(df: pd.DataFrame, col: str) -> pd.DataFrame:
        if not len(df) or col not in df.columns:
            return df
        return df.assign(**{col: df[col].map(lambda f: labels_map.get(f, f))})

    turns, segments = relabel(turns, "source_file"), relabel(segments, "source_file")
    if recs_raw:
        recs = pd.concat(recs_raw, ignore_index=True)
        recs["text"] = [redact.redact_field(t, names, w)
                        for t, w in zip(recs["text"], recs["workshop_id"], strict=True)]
        recs["rec_id"] = [f"{w}-R{n:02d}" for w, n in
                          zip(recs["workshop_id"], recs["rec_n"], strict=True)]
        recs = recs[TABLES["recommendations"]].sort_values(["workshop_id", "rec_n"],
                                                           kind="mergesort")
        recs = relabel(recs, "source_file")
    else:
        recs = pd.DataFrame(columns=TABLES["recommendations"])
    speakers = (speakers_full.assign(
        speaker=speakers_full["pseudonym"],
        role=[redact.redact_field(r, names, w) for r, w in
              zip(speakers_full["role"], speakers_full["workshop_id"], strict=True)],
        is_facilitator=[bool(groups.get(g) and groups.get(g).is_facilitation)
                        for g in speakers_full["stakeholder_group"]],
        is_collective=speakers_full["is_collective"].astype(bool))
        [TABLES["speakers"]].drop_duplicates(["workshop_id", "speaker"])
        .sort_values(["workshop_id", "speaker"], kind="mergesort").reset_index(drop=True))
    report = relabel(pd.DataFrame(reports, columns=TABLES["file_report"]), "file")
    ws_out = workshops[TABLES["workshops"]].reset_index(drop=True)
    ws_out = ws_out.assign(
        title=[redact.redact_field(t, names, w) for t, w in
               zip(ws_out["title"], ws_out["workshop_id"], strict=True)],
        location=[redact.redact_field(t, names, w) for t, w in
                  zip(ws_out["location"], ws_out["workshop_id"], strict=True)],
        file=ws_out["file"].map(lambda f: labels_map.get(Path(f).as_posix(), f)),
        recommendations_file=ws_out["recommendations_file"].map(
            lambda f: labels_map.get(Path(f).as_posix(), f) if f else f))
    pseudo_of = dict(zip(zip(speakers_full["workshop_id"], speakers_full["speaker"].map(fold),
                             strict=True), speakers_full["pseudonym"], strict=True))
    chars = {labels_map.get(f, f): {} for f in by_speaker}
    for f, d in by_speaker.items():
        out = chars[labels_map.get(f, f)]
        for (w, lab), n in d.items():
            ps = pseudo_of.get((w, fold(lab)), "?")
            out[ps] = out.get(ps, 0) + int(n)
    used = set(speakers_full["group_code"])
    group_table = groups.table(used=used)
    encodings = {labels_map.get(f, f): e for f, e in encodings.items()}
    summary = _summary(ws_out, speakers_full, turns, segments, recs, report, encodings)
    summary["groups"] = int(sum(1 for g in groups if g.code in used and not g.is_facilitation))
    summary["groups_source"] = "transcripts/" + GROUPS_FILE if groups.source != "défauts" \
        else "défauts"
    summary["characters_per_speaker"] = chars
    summary["unmatched_labels"] = [{**u, "file": labels_map.get(u["file"], u["file"]),
                                    "label": redact.redact_field(u["label"], names)}
                                   for u in unmatched]
    return {
        "workshops": ws_out,
        "speakers": speakers,
        "turns": turns.reset_index(drop=True),
        "segments": segments.reset_index(drop=True),
        "recommendations": recs.reset_index(drop=True),
        "file_report": report,
        "groups": group_table,
        "private_pseudonym_key": _merge_key(key, _previous_key(paths)),
        "private_file_labels": file_labels,
        "_file_labels": {k: v for k, v in labels_map.items() if k != v},
        "_summary": {**summary, "nlp": nlp_stats},
    }


def _merge_key(key: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Keep earlier persons in the key (a removed workshop's people keep their pseudonym)."""
    if previous is None or not len(previous) or "pseudonym" not in previous.columns:
        return key
    prev = previous.copy()
    if "person_key" not in prev.columns:
        prev["person_key"] = [redact.person_key(str(lab), str(c)) for lab, c in
                              zip(prev["label"], prev["group_code"], strict=True)]
    current = set(zip(key["workshop_id"].astype(str), key["label"].map(fold), strict=True))
    keep = [(str(w), fold(str(lab))) not in current for w, lab in
            zip(prev["workshop_id"], prev["label"], strict=True)]
    old = prev[keep]
    if not len(old):
        return key
    old = old[[c for c in key.columns if c in old.columns]]
    return (pd.concat([key, old], ignore_index=True)
            .sort_values(["pseudonym", "workshop_id"], kind="mergesort").reset_index(drop=True))
