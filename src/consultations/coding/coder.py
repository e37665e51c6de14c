"""The coding stage: codebook rules, manual codes and review decisions → codings.

Three sources of codings, each row with its provenance (``source``, ``coder``,
``codebook_version``, ``evidence``, ``matched_text``, ``origin_file``, ``origin_line``):

- ``rule``: :class:`RuleCoder` matches the codebook's lemma keywords (spaCy ``PhraseMatcher``)
  and token patterns (spaCy ``Matcher``) on the segments' lemmas, case- and accent-insensitively.
  A match preceded by a French negation cue (``pas``, ``aucun``, ``sans``, ``ni``, ``jamais`` …)
  within a few words is kept and marked ``negated=True`` (never hidden).
- ``manual``: CSV/XLSX files in ``data/coded/manual/`` (``segment_id`` or ``turn_id``,
  ``code_id``, ``coder``, optional ``note``), validated row by row, never rewritten.
- ``review``: decisions from the review workbooks imported into ``data/coded/review/``
  (see :mod:`consultations.coding.review`).

The final ``codings`` table: rule codings, where a review decision on the same (segment, code)
replaces the rule row (accepter → a review row for the code, rejeter → no row, recoder → a
review row for the new code); plus every manual coding with its coder. A child code's coding
does not create a coding of its parent here: roll-up to parents is done in the comparison.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from pathlib import Path

import pandas as pd

from consultations.coding.codebook import (
    ancestors,
    code_units,
    fold,
    keyword_tokens,
    normalise_pattern,
)
from consultations.coding.codings import empty_codings, finish_codings
from consultations.core.errors import InputError, warn_input
from consultations.core.schema import TABLES

__all__ = [
    "NEGATION_CUES",
    "NO_CODE_MARKERS",
    "STANCE_AGAINST_BEFORE",
    "RuleCoder",
    "codebook_rule_coder",
    "empty_codings",
    "manual_coverage",
    "merge_codings",
    "read_manual_codes",
    "read_qdpx_codes",
    "manual_files",
    "merge_manual",
]

CODINGS = TABLES["codings"]
#: Folded lemmas that negate a following match ("pas de racket", "aucun comité", "sans radio").
NEGATION_CUES = frozenset({"pas", "aucun", "sans", "ni", "jamais", "nul", "guere", "nullement",
                           "rien", "personne"})
#: Folded lemmas that, before a position code's match, state the speaker is against it
#: ("contre l'intégration des milices", "refuser d'intégrer"); with the negation cues they turn
#: the match into the opposing position (see :class:`RuleCoder`). The codebook may add cues.
STANCE_AGAINST_BEFORE = frozenset({"contre", "refuser", "refus", "rejeter", "rejet", "opposer",
                                   "oppose", "hostile", "question"})
#: A manual row with one of these as code_id marks a segment as coded with no code.
NO_CODE_MARKERS = frozenset({"aucun", "none", "-", "0"})
RULE_CODER = "règles"
_TEXT_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


# --------------------------------------------------------------------------- rule coder
@functools.lru_cache(maxsize=200_000)
def _fold_token(token: str) -> str:
    return fold(token)


def _anchors(pattern: list[dict]) -> set[str] | None:
    """Literal lemmas of which one must be present for ``pattern`` to match (None: unknown)."""
    for tok in pattern:
        if tok.get("OP", "1") not in ("1", "!", "+") or tok.get("OP") == "!":
            continue
        val = tok.get("LEMMA")
        if isinstance(val, str):
            return {val}
        if isinstance(val, dict) and isinstance(val.get("IN"), list) and len(val) == 1:
            return set(val["IN"])
    return None


def _align(lemmas: list[str], text: str) -> tuple[list[tuple[int, int]], dict[int, int]]:
    """Align folded lemma tokens with the words of the text (for the matched words)."""
    words = [(m.start(), m.end()) for m in _TEXT_WORD.finditer(text)]
    wkeys = [fold(text[s:e])[:4] for s, e in words]
    lkeys = [lem[:4] for lem in lemmas]
    mapping: dict[int, int] = {}
    sm = difflib.SequenceMatcher(None, lkeys, wkeys, autojunk=False)
    for a, b, size in sm.get_matching_blocks():
        for k in range(size):
            mapping[a + k] = b + k
    return words, mapping


def _matched_text(lemmas: list[str], text: str, start: int, end: int,
                  aligned: tuple | None = None) -> str:
    words, mapping = aligned or _align(lemmas, text)
    if not words:
        return ""
    hits = [mapping[i] for i in range(start, end) if i in mapping]
    if not hits:  # proportional fallback when the lemmatiser changed every word
        ratio = len(words) / max(len(lemmas), 1)
        hits = [min(int(start * ratio), len(words) - 1),
                min(int(max(end - 1, start) * ratio), len(words) - 1)]
    lo, hi = min(hits), max(hits)
    return text[words[lo][0]:words[hi][1]]


class RuleCoder:
    """Code segments with the codebook's keywords and patterns (scikit-learn style).

    Args:
        codebook_version: version recorded on every coding (default: the codebook's own).
        negation: mark matches preceded by a negation cue as ``negated``.
        negation_window: how many lemmas before a match are searched for a cue.
        ignore_patterns: ``[{"name", "pattern"}]`` token patterns (the codebook's ``ignore``);
            a match that lies inside a span they match (e.g. a speaker introducing themself,
            "je suis maire de …") is dropped.
        stance: the codebook's ``stance`` settings: ``against_before`` / ``against_after``
            (lemmas added to the default cues), ``window`` (lemmas searched, default 6),
            ``negation_window`` (default 2).
        most_specific: drop a code's coding in a segment where one of its descendants is coded
            (human coders code the most specific code; the comparison rolls children up).

    Position codes (codes with a ``position`` that share a parent, e.g. MIL.INT / MIL.DES): a
    match right after a negation (within ``stance["negation_window"]`` lemmas, default 2: "ne
    pas intégrer", not "ne peut pas déléguer le monopole"), preceded by an "against" cue
    (``contre``, ``refuser``, ``pas question`` …) or followed by an ``against_after`` cue
    within ``window`` lemmas is counted for the opposing position when there is exactly one
    (evidence ``… → position inversée``), and dropped otherwise. A code with ``unless`` is
    dropped from a segment that carries one of the listed codes (e.g. AUTL unless a committee
    code).

    Attributes:
        matcher_: the spaCy ``Matcher`` of token patterns (after ``fit``).
        phrase_matcher_: the spaCy ``PhraseMatcher`` of keywords (after ``fit``).
        rules_: one row per rule (code_id, kind, evidence).
        codebook_version_: the version written on codings.
        opposite_: position code → its opposing position code (or ``None``).

    """

    def __init__(self, codebook_version: str | None = None, negation: bool = True,
                 negation_window: int = 3, ignore_patterns: list[dict] | None = None,
                 stance: dict | None = None, most_specific: bool = True):
        self.codebook_version = codebook_version
        self.negation = negation
        self.negation_window = negation_window
        self.ignore_patterns = ignore_patterns
        self.stance = stance
        self.most_specific = most_specific

    def fit(self, codebook: pd.DataFrame, y=None) -> RuleCoder:
        """Build the matchers from a codebook table (``load_codebook(...)["codebook"]``)."""
        import spacy
        from spacy.matcher import Matcher, PhraseMatcher

        self.nlp_ = spacy.blank("fr")
        vocab = self.nlp_.vocab
        self.matcher_ = Matcher(vocab, validate=True)
        self.phrase_matcher_ = PhraseMatcher(vocab, attr="LOWER")
        self._rules: dict[int, tuple[str, str]] = {}
        rows = []
        for rec in codebook.itertuples(index=False):
            for kw in [k.strip() for k in str(rec.keywords or "").split(";") if k.strip()]:
                toks = keyword_tokens(kw)
                key = f"{rec.code_id}::kw::{kw}"
                self._rules[vocab.strings.add(key)] = (rec.code_id, kw)
                self.phrase_matcher_.add(key, [self._doc(toks)])
                rows.append((rec.code_id, "keyword", kw))
            pats = json.loads(getattr(rec, "patterns", "") or "[]")
            for p in pats:
                key = f"{rec.code_id}::pat::{p['name']}"
                self._rules[vocab.strings.add(key)] = (rec.code_id, f"motif {p['name']}")
                self.matcher_.add(key, [normalise_pattern(p["pattern"])])
                rows.append((rec.code_id, "pattern", p["name"]))
        anchors: set[str] | None = set()
        for p in (json.loads(getattr(r, "patterns", "") or "[]")
                  for r in codebook.itertuples(index=False)):
            for q in p:
                a = _anchors(normalise_pattern(q["pattern"]))
                anchors = None if a is None or anchors is None else anchors | a
        self.anchors_ = anchors
        self.ignore_matcher_ = Matcher(vocab, validate=True)
        for p in self.ignore_patterns or []:
            self.ignore_matcher_.add(f"ignore::{p['name']}", [normalise_pattern(p["pattern"])])
        stance = self.stance or {}
        self.against_before_ = STANCE_AGAINST_BEFORE | {
            fold(t) for t in stance.get("against_before", [])}
        self.against_after_ = frozenset(fold(t) for t in stance.get("against_after", []))
        self.stance_window_ = int(stance.get("window", 6))
        self.stance_negation_window_ = int(stance.get("negation_window", 2))
        parent = {c: (p or "") for c, p in zip(codebook["code_id"], codebook.get(
            "parent", pd.Series([""] * len(codebook))).fillna(""), strict=True)}
        position = dict(zip(codebook["code_id"], codebook.get(
            "position", pd.Series([""] * len(codebook))).fillna(""), strict=True))
        siblings: dict[str, list[str]] = {}
        for c, pos in position.items():
            if pos and parent.get(c):
                siblings.setdefault(parent[c], []).append(c)
        self.opposite_ = {c: ([o for o in siblings[parent[c]] if o != c] or [None])[0]
                          if len(siblings[parent[c]]) == 2 else None
                          for c, pos in position.items() if pos and parent.get(c)}
        self.ancestors_ = {c: ancestors(c, {k: v for k, v in parent.items() if v})
                           for c in parent}
        unless = codebook["unless"] if "unless" in codebook.columns else pd.Series(
            [""] * len(codebook))
        self.unless_ = {c: {u.strip() for u in str(v or "").split(";") if u.strip()}
                        for c, v in zip(codebook["code_id"], unless, strict=True)}
        self.rules_ = pd.DataFrame(rows, columns=["code_id", "kind", "evidence"])
        version = self.codebook_version
        if version is None and "codebook_version" in codebook.columns and len(codebook):
            version = str(codebook["codebook_version"].iloc[0])
        self.codebook_version_ = version or ""
        return self

    def _doc(self, folded: list[str]):
        from spacy.tokens import Doc

        return Doc(self.nlp_.vocab, words=folded or [""], lemmas=folded or [""])

    def _negated(self, toks: list[str], start: int) -> bool:
        window = toks[max(0, start - self.negation_window):start]
        return self.negation and any(t in NEGATION_CUES for t in window)

    def _against(self, toks: list[str], start: int, end: int) -> str:
        """Return the cue that puts the speaker against a position match, or ''."""
        near = toks[max(0, start - self.stance_negation_window_):start]
        if any(t in NEGATION_CUES for t in near):
            return "négation"
        w = self.stance_window_
        before = toks[max(0, start - w):start]
        for t in reversed(before):
            if t in self.against_before_:
                if t == "question" and "pas" not in before:
                    continue
                return t
        for t in toks[end:end + w]:
            if t in self.against_after_:
                return t
        return ""

    def match_segment(self, lemmas: str) -> list[tuple[str, str, int, int, bool]]:
        """Return (code_id, evidence, start, end, negated) for every match in a lemma string.

        Matches inside an ``ignore`` span are dropped; position codes are resolved (see the
        class docstring); ``unless`` and ``most_specific`` are applied.
        """
        toks = [_fold_token(t) for t in str(lemmas or "").split()]
        if not toks:
            return []
        doc = self._doc(toks)
        hits = list(self.phrase_matcher_(doc)) if len(self.phrase_matcher_) else []
        if len(self.matcher_) and (self.anchors_ is None or not self.anchors_.isdisjoint(toks)):
            hits += list(self.matcher_(doc))
        if not hits:
            return []
        ignored = [(s, e) for _k, s, e in self.ignore_matcher_(doc)] \
            if len(self.ignore_matcher_) else []
        found = []
        for key, s, e in hits:
            if any(a <= s and e <= b for a, b in ignored):
                continue
            code_id, evidence = self._rules[key]
            negated = self._negated(toks, s)
            if code_id in self.opposite_:
                cue = self._against(toks, s, e)
                if cue:
                    other = self.opposite_[code_id]
                    if other is None:
                        continue
                    code_id, evidence = other, f"{evidence} → position inversée ({cue})"
                    negated = False
            found.append((code_id, evidence, s, e, negated))
        codes = {f[0] for f in found}
        drop = {c for c in codes if self.unless_.get(c, set()) & codes}
        if self.most_specific:
            drop |= {a for c in codes for a in self.ancestors_.get(c, [])}
        return sorted({f for f in found if f[0] not in drop},
                      key=lambda f: (f[0], f[2], f[3], f[1]))

    def transform(self, segments: pd.DataFrame, progress=None) -> pd.DataFrame:
        """Code segments; one row per (segment, code) with every evidence joined by ``; ``.

        ``negated`` is True when every match of the code in the segment is negated.
        ``progress``: a bar (:func:`consultations.core.progress.progress_bar`) advanced by
        the segments coded.
        """
        # column lists, not a dict per coding: a million segments give about as many codings
        seg_ids, code_ids, evidence, matched, negated = [], [], [], [], []
        for i, (seg_id, lemmas, text) in enumerate(zip(segments["segment_id"],
                                                       segments["lemmas"], segments["text"],
                                                       strict=True), 1):
            if progress is not None and not i % 1000:
                progress.update(1000)
            matches = self.match_segment(lemmas)
            if not matches:
                continue
            toks = [_fold_token(t) for t in str(lemmas).split()]
            aligned = _align(toks, str(text))
            by_code: dict[str, list] = {}
            for m in matches:
                by_code.setdefault(m[0], []).append(m)
            for code_id, ms in by_code.items():
                evid = list(dict.fromkeys(m[1] for m in ms))
                texts = list(dict.fromkeys(_matched_text(toks, str(text), m[2], m[3], aligned)
                                           for m in ms))
                seg_ids.append(seg_id)
                code_ids.append(code_id)
                evidence.append("; ".join(evid))
                matched.append(" | ".join(t for t in texts if t))
                negated.append(all(m[4] for m in ms))
        if progress is not None:
            progress.update(len(segments) % 1000)
        if not seg_ids:
            return finish_codings(pd.DataFrame())
        n = len(seg_ids)
        return finish_codings(pd.DataFrame({
            "segment_id": seg_ids, "code_id": code_ids, "source": ["rule"] * n,
            "coder": [RULE_CODER] * n, "codebook_version": [self.codebook_version_] * n,
            "evidence": evidence, "matched_text": matched, "negated": negated,
            "note": [""] * n, "origin_file": [""] * n, "origin_line": [pd.NA] * n,
        }))

    def fit_transform(self, codebook: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
        """Fit on a codebook, then code ``segments``."""
        return self.fit(codebook).transform(segments)


def codebook_rule_coder(cb: dict, **params) -> RuleCoder:
    """Return a :class:`RuleCoder` fitted on a loaded codebook (``load_codebook`` result).

    Passes the codebook's version, ``ignore`` patterns and ``stance`` settings; ``params`` go
    to :class:`RuleCoder` (they win over the codebook's).
    """
    params = {"codebook_version": cb.get("version"), "ignore_patterns": cb.get("ignore"),
              "stance": cb.get("stance"), **params}
    return RuleCoder(**params).fit(cb["codebook"])


# --------------------------------------------------------------------------- manual codes
def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".xlsx":
        from consultations.core.io import check_zip

        check_zip(path)  # refuse an archive bomb before openpyxl reads it whole
        return pd.read_excel(path, dtype=str, keep_default_na=False)
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    import io

    sep = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)


def read_manual_codes(files: list[Path], segments: pd.DataFrame, codebook: pd.DataFrame,
                      codebook_version: str = "", root: Path | None = None, anchors=None
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and validate manual coding files (CSV or XLSX; never modified).

    Args:
        files: the files to read.
        segments: the segments table (to check IDs and expand turn codes).
        codebook: the codebook table (to check code IDs).
        codebook_version: recorded on the codings.
        root: folder that ``origin_file`` is written relative to.
        anchors: an :class:`consultations.coding.anchors.AnchorStore`: each row is applied to
            the text it was first applied to (re-anchored), orphaned rows are left out.

    Returns:
        ``(codings, coverage)``: manual codings (source ``manual``; a code on a turn becomes one
        row per segment of the turn, or one row on the turn's first segment when the code's
        coding unit is ``turn``, so that segment counts count the turn once) and the segments
        each coder coded (``segment_id, coder``;
        rows with code ``AUCUN`` mark a segment coded with no code).

    Raises:
        InputError: when a file lacks the required columns or has unknown ones.

    Bad rows (unknown segment, turn or code, empty coder, duplicates) are reported with file and
    row as an :class:`~consultations.core.errors.InputWarning` and skipped.

    """
    seg_ids = set(segments["segment_id"])
    turn_segs = segments.groupby("turn_id", sort=False)["segment_id"].apply(list).to_dict()
    codes = set(codebook["code_id"])
    turn_unit = {c for c, u in code_units(codebook).items() if u == "turn"}
    folded_codes = {fold(c): c for c in codes}
    rows, cover, seen = [], [], {}
    allowed = {"segment_id", "turn_id", "code_id", "coder", "note"}
    for path in files:
        rel = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
        try:
            df = _read_table(path)
        except Exception as exc:
            raise InputError(path, None, f"fichier de codage manuel illisible ({exc})",
                             "enregistrez-le en CSV UTF-8 ou en XLSX avec une ligne "
                             "d'en-tête.") from exc
        df.columns = [str(c).strip().lower() for c in df.columns]
        missing = [c for c in ("code_id", "coder") if c not in df.columns]
        if not ({"segment_id", "turn_id"} & set(df.columns)):
            missing.insert(0, "segment_id ou turn_id")
        unknown = [c for c in df.columns if c not in allowed]
        if missing or unknown:
            what = (f"colonne(s) manquante(s) {missing}" if missing else "") + \
                   (" ; " if missing and unknown else "") + \
                   (f"colonne(s) inconnue(s) {unknown}" if unknown else "")
            raise InputError(path, 1, f"colonnes incorrectes : {what}",
                             "l'en-tête doit être segment_id (ou turn_id), code_id, coder et, "
                             "au besoin, note.")
        for i, rec in enumerate(df.to_dict("records")):
            line = i + 2
            seg = str(rec.get("segment_id", "")).strip()
            turn = str(rec.get("turn_id", "")).strip()
            code = str(rec.get("code_id", "")).strip()
            coder = str(rec.get("coder", "")).strip()
            note = str(rec.get("note", "")).strip()
            if not any([seg, turn, code, coder, note]):
                continue
            if not coder:
                warn_input(path, line, "coder vide : ligne ignorée",
                           "indiquez qui a codé.")
                continue
            targets = None
            if anchors is not None and (seg or turn):
                proposed = ([seg] if seg in seg_ids and (not turn or seg.startswith(turn + "-"))
                            else None) if seg else turn_segs.get(turn)
                got = anchors.resolve("manual", rel, line, seg or turn, code, coder, proposed)
                if got is not None and not got:
                    continue  # orphaned: reported by the anchor store, never applied
                if got is not None:
                    targets, unit = got, "segment" if seg else f"tour {turn}"
            if targets is not None:
                pass  # re-anchored to the text the row was first applied to
            elif seg:
                if seg not in seg_ids:
                    warn_input(path, line, f"segment inconnu « {seg} » : ligne ignorée",
                               "vérifiez l'identifiant dans la table segments.")
                    continue
                if turn and not seg.startswith(turn + "-"):
                    warn_input(path, line, f"le segment « {seg} » n'est pas dans le tour "
                               f"« {turn} » : ligne ignorée",
                               "indiquez soit segment_id, soit turn_id.")
                    continue
                targets, unit = [seg], "segment"
            elif turn:
                if turn not in turn_segs:
                    warn_input(path, line, f"tour inconnu « {turn} » : ligne ignorée",
                               "vérifiez l'identifiant dans la table turns.")
                    continue
                targets, unit = turn_segs[turn], f"tour {turn}"
            else:
                warn_input(path, line, "ni segment_id ni turn_id : ligne ignorée",
                           "remplissez segment_id ou turn_id.")
                continue
            if fold(code) in NO_CODE_MARKERS:
                cover += [(s, coder) for s in targets]
                continue
            if not code:
                warn_input(path, line, "code_id vide : ligne ignorée",
                           "écrivez AUCUN pour marquer un segment codé sans code.")
                continue
            if code not in codes:
                if fold(code) in folded_codes:
                    code = folded_codes[fold(code)]
                else:
                    warn_input(path, line, f"code inconnu « {code} » : ligne ignorée",
                               "utilisez un identifiant de code de codebook.yaml.")
                    continue
            key = (tuple(targets), code, coder)
            if key in seen:
                warn_input(path, line, f"doublon de {seen[key]} ({code}, {coder}) : ligne "
                           "ignorée")
                continue
            seen[key] = f"{rel}:{line}"
            if unit != "segment" and code in turn_unit:
                targets = sorted(targets)[:1]  # the turn's coding, recorded once (unit: turn)
            for s in targets:
                cover.append((s, coder))
                rows.append({"segment_id": s, "code_id": code, "source": "manual",
                             "coder": coder, "codebook_version": codebook_version,
                             "evidence": unit, "matched_text": "", "negated": False,
                             "note": note, "origin_file": rel, "origin_line": line})
    codings = finish_codings(pd.DataFrame(rows))
    # a segment coded through both a turn row and a segment row keeps one row per coder/code
    codings = codings.drop_duplicates(["segment_id", "code_id", "coder"]).reset_index(drop=True)
    coverage = (pd.DataFrame(cover, columns=["segment_id", "coder"]).drop_duplicates()
                .sort_values(["coder", "segment_id"]).reset_index(drop=True))
    return codings, coverage


def manual_coverage(codings: pd.DataFrame, coverage: pd.DataFrame | None = None) -> pd.DataFrame:
    """Segments each human coder coded (from their codings and explicit AUCUN rows)."""
    parts = [codings[["segment_id", "coder"]]]
    if coverage is not None:
        parts.append(coverage[["segment_id", "coder"]])
    return (pd.concat(parts).drop_duplicates().sort_values(["coder", "segment_id"])
            .reset_index(drop=True))


# --------------------------------------------------------------------------- merge
def merge_codings(rule: pd.DataFrame, manual: pd.DataFrame, review: pd.DataFrame
                  ) -> pd.DataFrame:
    """Build the final codings table (see module docstring for the rules)."""
    settled = review[review["final"].astype(bool)] if len(review) and "final" in review \
        else review
    reviewed = set(zip(settled.get("segment_id", []), settled.get("original_code_id", []),
                       strict=True)) if len(settled) else set()
    keep_rule = rule[[(s, c) not in reviewed
                      for s, c in zip(rule["segment_id"], rule["code_id"], strict=True)]]
    final_review = review
    if len(review):
        final_review = review[(review["decision"] != "rejeter") & review["final"]]
    parts = [p for p in (keep_rule, manual, final_review) if len(p)]
    if not parts:
        return empty_codings()
    return finish_codings(pd.concat(parts, ignore_index=True)[CODINGS])


# --------------------------------------------------------------------------- stage
def manual_files(folder: Path) -> list[Path]:
    """Return the manual-code files of a folder (CSV, XLSX), in name order."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in (".csv", ".xlsx") and not p.name.startswith((".", "~$")))


def read_qdpx_codes(folder: Path, segments: pd.DataFrame, codebook: pd.DataFrame,
                    codebook_version: str = "", root: Path | None = None) -> pd.DataFrame:
    """Read the codings of every ``*.qdpx`` in ``folder`` as manual codings (never modified).

    Each file is read with :func:`consultations.interop.refiqda.import_qdpx` (codes matched by GUID,
    identifier or name; selections mapped to our segments by character overlap); the coder is
    the tool's user. ``origin_file`` is written relative to ``root``.

    Returns:
        A codings table (source ``manual``); empty when the folder is absent or has no file.

    """
    from consultations.interop.refiqda import import_qdpx

    if not folder.exists():
        return empty_codings()
    parts = []
    for path in sorted(p for p in folder.iterdir()
                       if p.suffix.lower() == ".qdpx" and not p.name.startswith((".", "~$"))):
        got = import_qdpx(path, segments, codebook, version=codebook_version)
        rel = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
        parts.append(got.assign(origin_file=rel, codebook_version=codebook_version))
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_codings()
    return finish_codings(pd.concat(parts, ignore_index=True))


def merge_manual(files: pd.DataFrame, qdpx: pd.DataFrame) -> pd.DataFrame:
    """Manual codings from files and from .qdpx; one row per (segment, code, coder)."""
    parts = [p for p in (files, qdpx) if len(p)]
    if not parts:
        return empty_codings()
    both = finish_codings(pd.concat(parts, ignore_index=True))
    return both.drop_duplicates(["segment_id", "code_id", "coder"]).reset_index(drop=True)
