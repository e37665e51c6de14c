"""Word forms behind the lemmas: topic terms shown as people wrote them, lemma artefacts out.

The French lemmatiser makes mistakes that reach topic labels: pronouns and prepositions get a
verb's lemma (« lui » → *luire*, « cela » → *celer*, « sous » → *sou*, « entre » → *entrer*),
and past participles used as adjectives become infinitives (« violences basées » → *violence
baser*, « services déconcentrés » → *service déconcentrer*). Two general fixes, learned from
the segments themselves (their ``text`` aligned token by token with their ``lemmas``):

- **artefact lemmas out of the vocabulary**: a lemma that is not a stop word but that, most of
  the time, stands for a word that is one (a pronoun, an auxiliary, a preposition) is added to
  the stop words (:attr:`LemmaForms.artefacts`);
- **terms shown in their most frequent written form**: each lemma term (one or two lemmas, as
  the topic vectorizer makes them) is displayed as the span of text it most often comes from,
  lower-cased (*violence baser* → « violences basées », *garde vue* → « garde à vue »;
  :meth:`LemmaForms.display`). Models keep working on lemmas; only what analysts read changes.

The text is re-tokenised with spaCy's rule-based French tokenizer (no model, no statistics),
the tokenizer the segment stage's pipeline uses, so tokens and lemmas line up one to one; a
segment where they do not (edited text) is skipped. At most :data:`MAX_SEGMENTS` segments (a
seeded sample beyond that) are read: enough to learn the forms of the terms shown.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np
import pandas as pd

from consultations.core.textutils import french_stop_words

__all__ = ["ARTEFACT_SHARE", "MAX_SEGMENTS", "MAX_SPAN_GAP", "LemmaForms", "learn_forms"]

#: A non-stop-word lemma is an artefact when at least this share of its occurrences are
#: written as a stop word (« lui » for *luire*: 19 of 19 on the sample corpus).
ARTEFACT_SHARE = 0.5
#: At most this many segments are read to learn the forms (a seeded sample beyond).
MAX_SEGMENTS = 20_000
#: Redaction placeholders of the segment text ([PERSONNE], [FDS-01]…): never a word.
_PLACEHOLDER = re.compile(r"\[[^\]\s]{2,20}\]")
_TOKEN = re.compile(r"(?u)\b\w[\w-]+\b")  # the topic vectorizers' token pattern
#: A two-lemma term is shown as a span of text only when at most this many words (stop words)
#: sit between its two words and no punctuation does (« garde à vue », not « police, la
#: gendarmerie »); otherwise each word is shown in its own most frequent form.
MAX_SPAN_GAP = 2
_BREAK = re.compile(r"[,;:.!?()«»\"…/]")


class LemmaForms:
    """What each lemma (and lemma bigram) was written as, and which lemmas are artefacts.

    Args:
        unigrams: lemma → Counter of written forms (lower-case).
        bigrams: "lemma lemma" (consecutive content lemmas) → Counter of text spans.
        artefacts: lemmas to treat as stop words.
        n_aligned: segments whose tokens and lemmas lined up (the others were skipped).

    """

    def __init__(self, unigrams=None, bigrams=None, artefacts=(), n_aligned=0, n_read=0):
        self.unigrams: dict[str, Counter] = dict(unigrams or {})
        self.bigrams: dict[str, Counter] = dict(bigrams or {})
        self.artefacts: tuple[str, ...] = tuple(sorted(artefacts))
        self.n_aligned = int(n_aligned)
        self.n_read = int(n_read)

    @staticmethod
    def _top(counter: Counter | None) -> str | None:
        if not counter:
            return None
        return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]

    def display(self, term: str) -> str:
        """Return the most frequent written form of a lemma term (the term itself when unseen).

        A bigram seen as a span takes that span; otherwise each of its words takes its own
        most frequent form.
        """
        words = str(term).split()
        if not words:
            return str(term)
        if len(words) > 1:
            span = self._top(self.bigrams.get(" ".join(words)))
            if span:
                return span
        return " ".join(self._top(self.unigrams.get(w)) or w for w in words)

    def display_all(self, terms) -> list[str]:
        """:meth:`display` for each term, dropping a repeat of a form already shown."""
        out: list[str] = []
        for t in terms:
            d = self.display(t)
            if d not in out:
                out.append(d)
        return out

    def summary(self) -> dict:
        """Return counts for the run summary."""
        return {"segments_read": self.n_read, "segments_aligned": self.n_aligned,
                "artefact_lemmas": list(self.artefacts)}


def _tokenizer():
    import spacy

    return spacy.blank("fr").tokenizer


def learn_forms(segments: pd.DataFrame, extra_stop_words=(), max_segments: int = MAX_SEGMENTS,
                random_state: int = 42, share: float = ARTEFACT_SHARE) -> LemmaForms:
    """Learn :class:`LemmaForms` from segments with ``text`` and ``lemmas`` columns.

    Args:
        segments: segments (``text``: the written sentence; ``lemmas``: its lemmas, one per
            word token, as the segment stage makes them).
        extra_stop_words: more stop words (e.g. place names).
        max_segments: read at most this many segments (a seeded sample beyond).
        random_state: seed of that sample.
        share: :data:`ARTEFACT_SHARE`.

    Returns:
        The forms; empty (every term shown as its lemma) without a ``text`` column.

    """
    if "text" not in segments.columns or "lemmas" not in segments.columns or segments.empty:
        return LemmaForms()
    data = segments[["text", "lemmas"]]
    if len(data) > max_segments:
        rng = np.random.default_rng(random_state)
        data = data.iloc[np.sort(rng.choice(len(data), max_segments, replace=False))]
    stop = set(french_stop_words(extra_stop_words))
    tok = _tokenizer()
    uni: dict[str, Counter] = defaultdict(Counter)
    pairs: list[tuple[list[str], list[str], list[tuple[int, int]], str]] = []
    n_aligned = 0
    for text, lem in zip(data["text"].fillna("").astype(str),
                         data["lemmas"].fillna("").astype(str), strict=True):
        lemmas = lem.split()
        clean = _PLACEHOLDER.sub(lambda m: " " * len(m.group()), text)
        words = [t for t in tok(clean)
                 if not (t.is_punct or t.is_space or not any(c.isalpha() for c in t.text))]
        if len(words) != len(lemmas) or not lemmas:
            continue
        n_aligned += 1
        for le, w in zip(lemmas, words, strict=True):
            uni[le][w.text.lower()] += 1
        pairs.append((lemmas, [w.text.lower() for w in words],
                      [(w.idx, w.idx + len(w.text)) for w in words], clean))
    artefacts = set()
    for le, forms in uni.items():
        if le in stop:
            continue
        as_stop = sum(n for f, n in forms.items() if f in stop)
        if as_stop >= share * sum(forms.values()):
            artefacts.add(le)
    stop |= artefacts
    big: dict[str, Counter] = defaultdict(Counter)
    for lemmas, _, spans, clean in pairs:
        seq = []  # (vectorizer token, token index) of content lemmas, in order
        for i, le in enumerate(lemmas):
            seq.extend((t, i) for t in _TOKEN.findall(le) if t not in stop)
        for (a, i), (b, j) in zip(seq, seq[1:], strict=False):
            span = clean[spans[i][0]:spans[j][1]]
            if i != j and j - i <= MAX_SPAN_GAP + 1 and not _BREAK.search(span):
                big[f"{a} {b}"][" ".join(span.lower().split())] += 1
    return LemmaForms(uni, big, artefacts, n_aligned, len(data))
