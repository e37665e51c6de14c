"""Who spoke for or against each recommendation, in the discussion of its own workshop.

Rules (defaults in :data:`DEFAULTS`, override with ``settings.extra["recommendations"]``):

- **Who counts.** Only participants: a facilitator's turn (``is_facilitator``) is never an
  endorsement (it may still give the context of a reference, below). Only segments of the
  recommendation's own workshop are read.
- **By number** (``method = "numéro"``): « la recommandation 12 », « recommandations 3 et 5 »,
  « le point 3 », « au point deux », « R12 », « la proposition n° 4 » (digits or French number
  words up to vingt). A bare « la 4 » counts only *in context*: when the same turn or one of
  the ``context_turns`` (2) turns before it mentions « recommandation(s) » or « point ». A number
  with no recommendation of that number in the workshop is ignored.
- **By paraphrase** (``method = "paraphrase"``): cosine similarity between a participant's
  segment and each recommendation of its workshop, averaging a word TF-IDF (accent-folded
  words cut to their first ``stem`` (6) letters, French stop words out, unigrams + bigrams)
  and a character 3–5-gram TF-IDF, both fitted on that workshop's segments and
  recommendations. A segment of at least ``min_words`` (4) words matches the recommendations
  with similarity ≥ ``paraphrase_threshold`` (validated on the labelled sample, see
  ``benchmarks/recommendations.py``), at most ``max_matches`` (2) per segment, best first.
- **In answer to the facilitation** (``method = "réponse"``): when a facilitator's turn words
  a recommendation (similarity ≥ ``response_threshold``, 0.35: « Je propose une formulation… »),
  a participant's turn of at most ``response_max_words`` (40) words within the next
  ``response_turns`` (4) turns that accepts or refuses (« D'accord », « je peux accepter »,
  « pas d'objection », « je refuse », « désaccord »…) and matches no recommendation itself is
  that participant's stance on the proposed recommendation(s) (confidence × 0.7).
- **Stance** (:func:`stance_of`, isolated so that a better stance detector can replace it):
  cues in the segment, else in the sentence just before it in the same turn when that one is
  short (at most ``short_cue`` (8) words: « Je soutiens le maire. », confidence × 0.8).
  Against cues are read first: « je ne suis pas d'accord », « contre », « pas question »,
  « c'est une erreur », « je refuse », « contesté », « inacceptable », « il ne faut pas »,
  « dangereux »… Support:
  « je soutiens », « j'appuie », « d'accord », « il faut », « nous proposons », « je demande »,
  « acceptable », « doit »… No cue: a mention, not an endorsement (no row). A paraphrase of a
  recommendation that is itself a refusal (« Ne pas intégrer… ») turns the stance over: being
  against integration supports « Ne pas intégrer ». A reference by number is never turned.
- **One row per speaker and recommendation** (``rec_endorsements``): the speaker's last stance
  counts when they changed their mind (``segment_ids`` keeps every segment, in order);
  ``method`` = ``numéro`` when any reference was by number, else ``paraphrase``, else
  ``réponse``;
  ``confidence`` = the last stance's confidence (paraphrase: cue confidence × min(1,
  similarity / 0.6)).
- **Group matrix** (``rec_group_matrix``): every recommendation × every group with a
  participant in its workshop. ``position``: the majority of the group's endorsing speakers'
  stances (``soutient`` / ``s'oppose``); a tie → ``partagé``; no speaker → ``non discuté``.
- **Contested text.** A recommendation whose own text says it is disputed (« position
  contestée par l'élu présent », « désaccord noté : … ») gets that clause in ``contested_note``;
  the text itself never counts as anyone's support.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from consultations.core.schema import participant_mask, participant_segments
from consultations.core.textutils import fold

__all__ = ["DEFAULTS", "ENDORSEMENT_COLS", "MATRIX_COLS", "contested_note",
           "detect_endorsements", "group_matrix", "is_refusal", "number_references",
           "paraphrase_similarity", "run", "segment_matches", "stance_of"]

DEFAULTS: dict = {"paraphrase_threshold": 0.20, "max_matches": 2, "min_words": 4,
                  "context_turns": 2, "stem": 6, "short_cue": 8, "response_threshold": 0.35,
                  "response_turns": 4, "response_max_words": 40}

ENDORSEMENT_COLS = ["rec_id", "speaker", "stakeholder_group", "group_code", "stance",
                    "segment_ids", "method", "confidence", "workshop_id"]
MATRIX_COLS = ["rec_id", "stakeholder_group", "group_code", "position", "n_support",
               "n_oppose", "segment_ids", "workshop_id", "contested_note"]
_MATCH_COLS = ["segment_id", "rec_id", "workshop_id", "speaker", "stakeholder_group",
               "group_code", "method", "similarity", "stance", "confidence", "seg_order"]

SUPPORT, OPPOSE = "soutient", "s'oppose"

# ------------------------------------------------------------------------------- stance
_AGAINST = [  # (pattern on folded text, confidence)
    (r"\b(?:je ne suis|nous ne sommes|on n'est) pas d'accord", 0.9),
    (r"\bpas d'accord\b", 0.85),
    (r"\b(?:je suis|nous sommes|suis|sommes|on est|reste|restons)\s+(?:[a-z]+\s+){0,2}"
     r"(?:contre|opposee?s?|hostiles?)\b", 0.9),
    (r"\bvot(?:e|er|ons|erons)\s+contre\b|\bcontre\s+(?:cette|la|ce|le)\s+(?:proposition|"
     r"idee|mesure|recommandation|formulation|point|texte)\b|\bcontre\s+toute?s?\b", 0.8),
    (r"\bpas question\b", 0.9),
    (r"\b(?:je|nous)\s+(?:refuse|refusons|rejette|rejetons|m'oppose|nous opposons)\b", 0.9),
    (r"\bc'est une erreur\b|\bce serait une erreur\b|\berreur\b", 0.7),
    (r"\bcontest(?:e|ee|ees|ons|er|ent)\b", 0.7),
    (r"\binacceptable\b|\b(?:ne peux|ne pouvons|ne peut) pas accepter\b", 0.85),
    (r"\bmon desaccord\b|\bnotre desaccord\b", 0.85),
    (r"\bil ne faut (?:surtout )?pas\b|\bne (?:doit|doivent) pas\b", 0.7),
    (r"\b(?:tres |trop )?dangereu(?:x|se)\b", 0.6),
]
_SUPPORT = [
    (r"\b(?:je|nous)\s+(?:la\s+|le\s+|les\s+|l')?(?:soutiens|soutenons|appuie|appuyons|"
     r"approuve|approuvons)\b", 0.9),
    (r"\bj'appuie\b|\bsoutient\b|\bsoutiennent\b", 0.85),
    (r"\b(?:je suis|nous sommes|tout a fait)\s+d'accord\b|\bd'accord\b", 0.8),
    (r"\b(?:je suis|nous sommes)\s+(?:pour|favorables?)\b|\bfavorables?\b", 0.8),
    (r"\bacceptable\b|\b(?:peux|pouvons|peut)\s+accepter\b", 0.75),
    (r"\b(?:je|nous)\s+(?:propose|proposons|demande|demandons|recommande|recommandons|"
     r"suggere|suggerons|insiste|insistons)\b", 0.7),
    (r"\bil faut\b|\bil faudrait\b|\b(?:doit|doivent)\b", 0.65),
    (r"\b(?:je|nous)\s+voudrions?\s+qu|\bje voudrais qu|\b(?:je|nous) souhait", 0.6),
    (r"^(?:et |mais |donc |alors )?(?:pour [^,]{0,60}, |sur [^,]{0,60}, )?"
     r"(?:qu'(?:on|il|elle|ils|elles)|que (?:le|la|les|l'|chaque|ce|cette))\b", 0.6),
    (r"\bdevrai(?:t|ent)\b|\b(?:nous|je) encourage|\bj'ajoute\b|\bajoutez\b|"
     r"\bil faut ajouter\b|\bcompleter\b", 0.6),
]


def stance_of(text: str) -> tuple[str | None, float]:
    """Return ``(stance, confidence)`` from the cues in ``text``.

    ``stance`` is ``"soutient"``, ``"s'oppose"`` or ``None`` (no cue: a mention only). Against
    cues are read first, so « je ne suis pas d'accord » is not read as « d'accord ».

    Args:
        text: a sentence or turn.

    Returns:
        The stance and a confidence in [0, 1] (0.0 when there is no cue).

    """
    t = fold(str(text or "")).replace("’", "'")
    for pats, stance in ((_AGAINST, OPPOSE), (_SUPPORT, SUPPORT)):
        for pat, conf in pats:
            if re.search(pat, t):
                return stance, conf
    return None, 0.0


_CONTESTED = re.compile(
    r"\(([^()]*(?:contest|desaccord|reserve|s'oppose|oppose)[^()]*)\)"
    r"|((?:position|point|mesure)\s+contestee?[^.;()]*)"
    r"|(desaccord note[^.()]*)", re.IGNORECASE)


def contested_note(text: str) -> str:
    """Return the clause of a recommendation saying it is disputed, as written (or ``""``)."""
    raw = str(text or "")
    low = _fold_same(raw)
    m = _CONTESTED.search(low)
    if not m:
        return ""
    a, b = m.span(1) if m.group(1) else m.span(2) if m.group(2) else m.span(3)
    return raw[a:b].strip()


def _fold_same(text: str) -> str:
    from consultations.core.textutils import fold_same_length

    return fold_same_length(text).lower().replace("’", "'")


def is_refusal(text: str) -> bool:
    """Tell whether a recommendation is itself a refusal (« Ne pas intégrer… »)."""
    t = fold(str(text or "")).replace("’", "'")
    t = re.sub(r"^[^a-z]*", "", t)
    return bool(re.match(r"(?:ne (?:pas|jamais|plus)|refuser|renoncer a|interdire)\b", t))


# ------------------------------------------------------------------------- by number
_WORDS = {"un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
          "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13,
          "quatorze": 14, "quinze": 15, "seize": 16, "dix-sept": 17, "dix-huit": 18,
          "dix-neuf": 19, "vingt": 20}
_NUM = r"(?:\d{1,2}|" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")"
_LIST = rf"{_NUM}(?:\s*(?:,|et|a|ou|-)\s*{_NUM})*"
_EXPLICIT = re.compile(
    rf"\b(?:recommandations?|points?|propositions?|mesures?)\s+(?:n\s?[o°]\s*|numeros?\s+)?"
    rf"({_LIST})\b|\bR\s?(\d{{1,2}})\b")
_BARE = re.compile(rf"\b(?:la|a la|sur la|pour la)\s+({_LIST})\b"
                   r"(?!\s+(?!et\b|ou\b|aussi\b|oui\b|non\b|je\b|nous\b)[a-z])")
_CONTEXT = re.compile(rf"\brecommandations?\b|\bpoints?\s+(?:n\s?o\s*)?{_NUM}\b|\bliste\b")


def _numbers(span: str) -> list[int]:
    out = []
    for tok in re.findall(_NUM, span):
        out.append(int(tok) if tok.isdigit() else _WORDS[tok])
    if re.search(rf"{_NUM}\s*a\s*{_NUM}", span) and len(out) == 2 and out[0] < out[1]:
        out = list(range(out[0], out[1] + 1))  # « points 2 à 4 »
    return out


def number_references(text: str, *, context: bool = False) -> list[int]:
    """Recommendation numbers ``text`` refers to.

    Args:
        text: a participant's sentence.
        context: the turn or the turns just before speak of recommendations or points, so
            a bare « la 4 » counts.

    Returns:
        Sorted distinct numbers (``R12`` uses the capital R of the original text).

    """
    raw = str(text or "").replace("’", "'")
    t = fold(raw)
    found: list[int] = []
    for m in _EXPLICIT.finditer(t):
        if m.group(1):
            found += _numbers(m.group(1))
    for m in re.finditer(r"\bR\s?(\d{1,2})\b", raw):  # « R12 »: capital R only
        found.append(int(m.group(1)))
    if context:
        for m in _BARE.finditer(t):
            nums = _numbers(m.group(1))
            if m.group(1).strip() in ("un", "une"):
                continue  # « la une » is not a number here
            found += nums
    return sorted(set(found))


# ----------------------------------------------------------------------- by paraphrase
def _words(text: str) -> list[str]:
    words = re.findall(r"[a-z]+", fold(str(text)))
    return [w[:-1] if len(w) > 3 and w[-1] in "sx" else w for w in words]


def _stem_text(text: str, stem: int) -> str:
    return " ".join(w[:stem] for w in _words(text) if len(w) > 1)


def _stop_stems(stem: int) -> list[str]:
    from consultations.core.textutils import stop_word_tokens

    return sorted({w[:stem] for t in stop_word_tokens() for w in _words(t)})


def paraphrase_similarity(seg_texts: list[str], rec_texts: list[str], *,
                          stem: int = 6) -> np.ndarray:
    """Cosine similarity (segments × recommendations), mean of word and char TF-IDF.

    Both vectorisers are fitted on the given segments and recommendations together (one
    workshop at a time), so the result depends on nothing else.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    if not seg_texts or not rec_texts:
        return np.zeros((len(seg_texts), len(rec_texts)))
    stop = _stop_stems(stem)
    docs = [_stem_text(t, stem) for t in list(seg_texts) + list(rec_texts)]
    n = len(seg_texts)
    sims = []
    word = TfidfVectorizer(ngram_range=(1, 2), stop_words=stop, sublinear_tf=True,
                           token_pattern=r"[a-z]{2,}")
    try:
        x = word.fit_transform(docs)
        sims.append(cosine_similarity(x[:n], x[n:]))
    except ValueError:  # only stop words
        pass
    nostop = [" ".join(w for w in d.split() if w not in set(stop)) for d in docs]
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    try:
        x = char.fit_transform(nostop)
        sims.append(cosine_similarity(x[:n], x[n:]))
    except ValueError:
        pass
    if not sims:
        return np.zeros((n, len(rec_texts)))
    return np.clip(np.mean(sims, axis=0), 0.0, 1.0)


# ------------------------------------------------------------------------ detection
def _params(settings) -> dict:
    extra = getattr(settings, "extra", None) or {}
    user = extra.get("recommendations") or {}
    return {**DEFAULTS, **{k: v for k, v in user.items() if k in DEFAULTS}}


def _order(segments: pd.DataFrame) -> pd.DataFrame:
    segs = segments.copy()
    keys = [c for c in ("workshop_id", "turn_id", "seg_n", "segment_id") if c in segs]
    return segs.sort_values(keys, kind="stable").reset_index(drop=True)


_RESPONSE = re.compile(
    r"\bd'accord\b|\baccept|\bje (?:la |le |l')?soutiens\b|\bsoutient\b|\bj'appuie\b|"
    r"\bvalid|\bpas d'objection\b|\bvivre avec\b|\bje refuse\b|\bdesaccord\b|"
    r"\binacceptable\b|\b(?:suis|sommes) contre\b")


def _facilitator_proposals(fac_segs: pd.DataFrame, wrecs: pd.DataFrame, threshold: float,
                           stem: int) -> dict[str, list[str]]:
    """Per facilitator turn, the recommendations its wording paraphrases (≥ threshold)."""
    if fac_segs.empty:
        return {}
    sim = paraphrase_similarity(fac_segs["text"].astype(str).tolist(),
                                wrecs["text"].astype(str).tolist(), stem=stem)
    out: dict[str, list[str]] = {}
    rec_ids = wrecs["rec_id"].tolist()
    for k, tid in enumerate(fac_segs["turn_id"]):
        for j in np.flatnonzero(sim[k] >= threshold):
            out.setdefault(tid, [])
            if rec_ids[j] not in out[tid]:
                out[tid].append(rec_ids[j])
    return out


def _answered(turn_id: str, turns: list[str], proposed: dict[str, list[str]],
              window: int) -> list[str]:
    """Recommendations proposed by the facilitation in the ``window`` turns before."""
    i = turns.index(turn_id)
    out: list[str] = []
    for t in turns[max(0, i - window):i]:
        out += [r for r in proposed.get(t, []) if r not in out]
    return out


def segment_matches(segments: pd.DataFrame, recommendations: pd.DataFrame, *,
                    paraphrase_threshold: float = DEFAULTS["paraphrase_threshold"],
                    max_matches: int = DEFAULTS["max_matches"],
                    min_words: int = DEFAULTS["min_words"],
                    context_turns: int = DEFAULTS["context_turns"],
                    stem: int = DEFAULTS["stem"], short_cue: int = DEFAULTS["short_cue"],
                    response_threshold: float = DEFAULTS["response_threshold"],
                    response_turns: int = DEFAULTS["response_turns"],
                    response_max_words: int = DEFAULTS["response_max_words"],
                    keep_mentions: bool = False) -> pd.DataFrame:
    """Every (participant segment, recommendation) pair found by number or paraphrase.

    Args:
        segments: the segments table.
        recommendations: the recommendations table.
        paraphrase_threshold: minimum similarity for a paraphrase match.
        max_matches: most recommendations one segment can match by paraphrase.
        min_words: shortest segment read for a paraphrase.
        context_turns: turns before a bare « la 4 » that may give its context.
        stem: letters kept per word for the word TF-IDF.
        short_cue: a segment without a stance cue takes the cue of the sentence just before
            it in the same turn when that sentence has at most this many words.
        response_threshold: similarity from which a facilitator's wording proposes a
            recommendation.
        response_turns: how many turns after that proposal a short answer still answers it.
        response_max_words: longest participant turn read as an answer.
        keep_mentions: keep pairs without a stance cue (``stance`` empty), for benchmarks.

    Returns:
        One row per pair: ``segment_id, rec_id, …, method, similarity, stance, confidence``.

    """
    if segments.empty or recommendations.empty:
        return pd.DataFrame(columns=_MATCH_COLS)
    segs = _order(segments)
    segs["seg_order"] = np.arange(len(segs))
    fac = ~participant_mask(segs)  # only identified participants endorse
    turn_text = segs.groupby("turn_id", sort=False)["text"].apply(
        lambda s: " ".join(map(str, s)))
    prev_text = segs.groupby("turn_id", sort=False)["text"].shift(1).fillna("").astype(str)
    segs["prev_cue"] = [t if 0 < len(t.split()) <= short_cue else "" for t in prev_text]
    recs = recommendations.sort_values("rec_id")
    rows = []
    for wid, wsegs in segs.groupby("workshop_id", sort=True):
        wrecs = recs[recs["workshop_id"] == wid]
        if wrecs.empty:
            continue
        by_n = {int(n): r for n, r in zip(wrecs["rec_n"], wrecs["rec_id"], strict=True)}
        refusal = {r: is_refusal(t) for r, t in zip(wrecs["rec_id"], wrecs["text"],
                                                    strict=True)}
        turns = list(dict.fromkeys(wsegs["turn_id"]))
        ctx_turn = {}
        for i, tid in enumerate(turns):
            window = turns[max(0, i - context_turns):i + 1]
            ctx_turn[tid] = any(_CONTEXT.search(fold(turn_text[t])) for t in window)
        part = wsegs[~fac.loc[wsegs.index].to_numpy()]
        if part.empty:
            continue
        rec_ids = wrecs["rec_id"].tolist()
        proposed = _facilitator_proposals(wsegs[fac.loc[wsegs.index].to_numpy()], wrecs,
                                          response_threshold, stem)
        first_seg = set(part.drop_duplicates("turn_id")["segment_id"])
        long_enough = [len(str(t).split()) >= min_words for t in part["text"]]
        sim = paraphrase_similarity(part["text"].astype(str).tolist(),
                                    wrecs["text"].astype(str).tolist(), stem=stem)
        for k, seg in enumerate(part.itertuples(index=False)):
            stance, conf = stance_of(seg.text)
            if stance is None and seg.prev_cue:  # « Je soutiens le maire. » then the content
                stance, conf = stance_of(seg.prev_cue)
                conf = round(conf * 0.8, 3)
            hits: dict[str, tuple[str, float]] = {}
            for n in number_references(seg.text, context=ctx_turn[seg.turn_id]):
                if n in by_n:
                    hits[by_n[n]] = ("numéro", 1.0)
            if long_enough[k]:
                order = np.argsort(-sim[k], kind="stable")[:max_matches]
                for j in order:
                    if sim[k, j] >= paraphrase_threshold and rec_ids[j] not in hits:
                        hits[rec_ids[j]] = ("paraphrase", float(sim[k, j]))
            if seg.segment_id in first_seg and not any(h[0] != "réponse" for h in hits.values()):
                for rec_id in _answered(seg.turn_id, turns, proposed, response_turns):
                    if _RESPONSE.search(fold(turn_text[seg.turn_id]).replace("’", "'")) and \
                            len(turn_text[seg.turn_id].split()) <= response_max_words:
                        hits.setdefault(rec_id, ("réponse", 0.0))
            for rec_id, (method, s) in hits.items():
                st, c = stance, conf
                if method == "paraphrase" and st is not None:
                    if refusal[rec_id]:
                        st = SUPPORT if st == OPPOSE else OPPOSE
                    c = round(c * min(1.0, s / 0.6), 3)
                if method == "réponse":
                    st, c = stance_of(turn_text[seg.turn_id])
                    c = round(c * 0.7, 3)
                if st is None and not keep_mentions:
                    continue
                rows.append({"segment_id": seg.segment_id, "rec_id": rec_id,
                             "workshop_id": wid, "speaker": seg.speaker,
                             "stakeholder_group": seg.stakeholder_group,
                             "group_code": seg.group_code, "method": method,
                             "similarity": round(s, 4), "stance": st or "",
                             "confidence": c, "seg_order": seg.seg_order})
    out = pd.DataFrame(rows, columns=_MATCH_COLS)
    return out.sort_values(["rec_id", "seg_order"]).reset_index(drop=True)


def detect_endorsements(segments: pd.DataFrame, recommendations: pd.DataFrame,
                        **params) -> pd.DataFrame:
    """Build ``rec_endorsements``: one row per recommendation and endorsing speaker.

    Args:
        segments: the segments table.
        recommendations: the recommendations table.
        **params: thresholds of :func:`segment_matches`.

    Returns:
        ``rec_endorsements`` sorted by ``rec_id, speaker``.

    """
    m = segment_matches(segments, recommendations, **params)
    m = m[m["stance"] != ""]
    rows = []
    for (rec_id, speaker), sub in m.groupby(["rec_id", "speaker"], sort=True):
        sub = sub.sort_values("seg_order")
        last = sub.iloc[-1]
        rows.append({"rec_id": rec_id, "workshop_id": last["workshop_id"], "speaker": speaker,
                     "stakeholder_group": last["stakeholder_group"],
                     "group_code": last["group_code"], "stance": last["stance"],
                     "segment_ids": ", ".join(dict.fromkeys(sub["segment_id"])),
                     "method": next(m for m in ("numéro", "paraphrase", "réponse")
                                    if (sub["method"] == m).any()),
                     "confidence": float(last["confidence"])})
    return pd.DataFrame(rows, columns=ENDORSEMENT_COLS)


def group_matrix(endorsements: pd.DataFrame, segments: pd.DataFrame,
                 recommendations: pd.DataFrame) -> pd.DataFrame:
    """Build ``rec_group_matrix``: each recommendation × each group present in its workshop.

    Args:
        endorsements: output of :func:`detect_endorsements`.
        segments: to know which groups had participants in each workshop.
        recommendations: every recommendation gets its rows, discussed or not.

    Returns:
        ``rec_group_matrix`` sorted by ``rec_id, group_code``.

    """
    segs = participant_segments(segments)
    present = segs.drop_duplicates(["workshop_id", "group_code"])[
        ["workshop_id", "group_code", "stakeholder_group"]]
    rows = []
    for rec in recommendations.sort_values("rec_id").itertuples(index=False):
        note = contested_note(rec.text)
        groups = present[present["workshop_id"] == rec.workshop_id].sort_values("group_code")
        e = endorsements[endorsements["rec_id"] == rec.rec_id]
        for g in groups.itertuples(index=False):
            ge = e[e["group_code"] == g.group_code]
            ns = int((ge["stance"] == SUPPORT).sum())
            no = int((ge["stance"] == OPPOSE).sum())
            pos = ("non discuté" if ns + no == 0 else SUPPORT if ns > no
                   else OPPOSE if no > ns else "partagé")
            ids = ", ".join(dict.fromkeys(i for cell in ge["segment_ids"]
                                          for i in str(cell).split(", ") if i))
            rows.append({"rec_id": rec.rec_id, "workshop_id": rec.workshop_id,
                         "stakeholder_group": g.stakeholder_group,
                         "group_code": g.group_code, "position": pos, "n_support": ns,
                         "n_oppose": no, "segment_ids": ids, "contested_note": note})
    return pd.DataFrame(rows, columns=MATRIX_COLS)


def run(tables, settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build ``rec_endorsements`` and ``rec_group_matrix`` from the catalog."""
    recs = tables["recommendations"]
    segments = tables["segments"]
    p = _params(settings)
    e = detect_endorsements(segments, recs, **p)
    return e, group_matrix(e, segments, recs)
