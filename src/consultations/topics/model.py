"""Topics stage: BERTopic over French consultation segments, offline, seeded from the codebook.

The inductive half of the coding: topics show analysts what the codebook missed and how each
stakeholder group talks. :class:`TopicModel` wraps BERTopic with one slot per step, swapped by
short names:

=============== ==============================================================================
slot            choices (``"default"`` in bold)
=============== ==============================================================================
embedding       **tfidf-svd** (LSA over lemmas), sif, concat, ``st:<local folder>``
reduction       umap, pca, **none** (with k-means); **umap** with HDBSCAN
clustering      **kmeans** (spherical; k from corpus size or ``n_topics``), hdbscan
representation  c-TF-IDF over lemmas (French stop words + consultation filler, 1–2-grams)
                plus **keybert** (KeyBERTInspired, offline) or mmr (MaximalMarginalRelevance)
=============== ==============================================================================

The defaults were chosen by measurement on real French consultation text (Grand Débat 2019,
MEL; see ``benchmarks/topics.py``): TF-IDF+SVD with k-means gave the best NMI against the
human themes, HDBSCAN left most segments as outliers on such short texts, and skipping UMAP
saves its numba compile (≈20 s per process). Embeddings are cached by content hash in
``data/interim/embeddings/`` when a cache folder is given; BERTopic never sees a hub because
it always gets precomputed embeddings and an offline embedding backend.

:func:`run_stage` then relates the topics to the codebook and the stakeholder groups with the
functions of :mod:`consultations.topics.tables`; :mod:`consultations.topics.evaluate` scores topics
against human labels for the benchmark and the tests.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from consultations.core.errors import warn_input
from consultations.core.schema import TABLES
from consultations.topics.embeddings import (
    as_bertopic_backend,
    cached_embeddings,
    lemma_vectorizer,
    make_embedder,
    place_stop_words,
)
from consultations.topics.forms import LemmaForms, learn_forms
from consultations.topics.slots import SphericalKMeans, auto_params, candidate_ks, choose_k

__all__ = [
    "MIN_CONTENT_LEMMAS",
    "MIN_SEGMENTS",
    "SAMPLE_SIZE",
    "SphericalKMeans",
    "TopicModel",
    "auto_params",
    "empty_table",
]

#: Below this many distinct segments there is nothing to model: one topic holds them all.
MIN_SEGMENTS = 10
#: Above this outlier share after HDBSCAN, the model falls back to k-means.
MAX_OUTLIER_SHARE = 0.5
#: Segments with fewer content lemmas (stop words, filler and places left out) are not used to
#: fit the topics: they are assigned afterwards to the nearest topic centroid, or, with no
#: content lemma at all ("Oui, tout à fait."), to their turn's most frequent topic. Measured on
#: the sample corpus (spherical k-means, k = 11): 1 gave a mean best-code Jaccard of 0.305 and
#: a largest topic of 20 %; 4 gave 0.285 and 18 %; 0 let the empty segments join one topic.
MIN_CONTENT_LEMMAS = 1
#: Above this many segments to fit on, topics are fitted on a seeded sample of this size and
#: the others assigned to the nearest topic centroid (see ``benchmarks/topics.py --scale``).
SAMPLE_SIZE = 20_000
#: At most this many spherical k-means steps refine a sampled fit's centroids on every
#: segment (see :meth:`TopicModel._assign_short`).
REFINE_STEPS = 30


def _refine_centroids(x: np.ndarray, cent: np.ndarray, steps: int = REFINE_STEPS,
                      chunk: int = 50_000) -> tuple[np.ndarray, np.ndarray, int]:
    """Spherical k-means steps from ``cent`` on the rows of ``x``; centroids, labels, steps.

    Rows are L2-normalised and assigned in chunks (no n × k matrix of a large corpus at
    once); an emptied cluster keeps its centroid.
    """
    from scipy import sparse

    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    cent = cent.astype(np.float64, copy=True)
    labels = np.full(len(x), -1)
    n_steps = 0
    while n_steps < steps:
        n_steps += 1
        new = np.concatenate([(x[i:i + chunk] @ cent.T).argmax(axis=1)
                              for i in range(0, len(x), chunk)])
        if np.array_equal(new, labels):
            break
        labels = new
        member = sparse.csr_matrix((np.ones(len(x)), (labels, np.arange(len(x)))),
                                   shape=(len(cent), len(x)))
        sums = np.asarray(member @ x)
        filled = np.bincount(labels, minlength=len(cent)) > 0
        cent[filled] = sums[filled] / np.maximum(
            np.linalg.norm(sums[filled], axis=1, keepdims=True), 1e-12)
    return cent, labels, n_steps


def empty_table(name: str, extra: list[str] | tuple = ()) -> pd.DataFrame:
    """Return an empty frame with the contract's columns for ``name`` (plus ``extra``)."""
    return pd.DataFrame(columns=[*TABLES.get(name, []), *extra])


def _topic_label(terms: list[str], topic: int, forms: LemmaForms | None = None) -> str:
    """Readable French label from the top three terms (``police · confiance · population``).

    A term whose words are all in a term already chosen is skipped, and a two-word term
    replaces the single word it extends: "chef · chef village · village · cadi" reads
    "chef village · cadi · …" rather than repeating "chef" and "village". The terms are
    chosen on lemmas, then shown in their most frequent written form (``forms``):
    « chefs de village · cadi · … ».
    """
    words: list[str] = []
    for term in (t for t in terms if t):
        parts = term.split()
        if any(set(parts) <= set(w.split()) for w in words):
            continue
        words = [w for w in words if not set(w.split()) <= set(parts)] + [term]
        if len(words) == 3:
            break
    if forms is not None:
        words = forms.display_all(words)
    return " · ".join(words) if words else f"thème {topic}"


class TopicModel:
    """BERTopic with swappable, offline slots (scikit-learn style).

    Args:
        embedding: ``"default"`` (= ``"tfidf-svd"``), ``"sif"``, ``"concat"`` or
            ``"st:<local folder>"``.
        reduction: ``"default"``, ``"umap"``, ``"pca"`` or ``"none"``.
        clustering: ``"default"`` (= ``"kmeans"``) or ``"hdbscan"``.
        representation: second representation, ``"keybert"`` (default) or ``"mmr"``.
        n_topics: number of topics for k-means; None ("auto") chooses it by stability
            across seeds (:func:`~consultations.topics.slots.choose_k`, table
            ``selection_``); clamped, with a warning, to what the corpus allows.
        min_topic_size: HDBSCAN minimum cluster size (default from corpus size).
        seed_words: lists of seed lemmas (one per codebook code) for seeded topic modelling,
            or a mapping ``code_id -> words``.
        random_state: seed for every random step.
        embedding_model_path: a local sentence-transformers folder (same as
            ``embedding="st:<folder>"``).
        cache_dir: where embeddings are cached by content hash (None: no cache).
        min_content_lemmas: segments with fewer content lemmas are left out of the fit and
            assigned to the nearest topic centroid afterwards (0: fit on every segment).
        place_names: lemmas of places left out of the embedding and the topic terms
            (:data:`~consultations.topics.embeddings.MALIAN_PLACES` is always left out).
        sample_size: above this many segments to fit on, fit on a seeded sample of this size
            and assign the others to the nearest topic (0 or None: never sample).

    Attributes:
        assignments_: ``topic_assignments`` table (one row per modelled segment).
        topic_info_: ``topic_info`` table (one row per topic).
        model_: the fitted BERTopic object (None for the single-topic fallback).
        embeddings_: segment embeddings (rows in ``assignments_`` order).
        lemma_terms_: top terms of each topic as lemmas (``topic_info_`` shows their written
            forms, see :mod:`consultations.topics.forms`).
        forms_: the :class:`~consultations.topics.forms.LemmaForms` learned from the segments.
        summary_: settings used, outliers, fallbacks, seconds per step, cache hits.

    """

    def __init__(self, embedding="default", reduction="default", clustering="default",
                 representation="keybert", n_topics=None, min_topic_size=None, seed_words=None,
                 random_state=42, embedding_model_path=None, cache_dir=None,
                 min_content_lemmas=MIN_CONTENT_LEMMAS, place_names=(),
                 sample_size=SAMPLE_SIZE):
        self.embedding = embedding
        self.reduction = reduction
        self.clustering = clustering
        self.representation = representation
        self.n_topics = n_topics
        self.min_topic_size = min_topic_size
        self.seed_words = seed_words
        self.random_state = random_state
        self.embedding_model_path = embedding_model_path
        self.cache_dir = cache_dir
        self.min_content_lemmas = min_content_lemmas
        self.place_names = place_names
        self.sample_size = sample_size

    # -- slot resolution ---------------------------------------------------------------
    def _embedding_name(self) -> str:
        if self.embedding in ("default", None):
            return f"st:{self.embedding_model_path}" if self.embedding_model_path else "tfidf-svd"
        return self.embedding

    def _clustering_name(self) -> str:
        name = "kmeans" if self.clustering in ("default", None) else self.clustering
        if name not in ("kmeans", "hdbscan"):
            raise ValueError(f"partitionnement inconnu « {name} » ; choisissez « kmeans » ou "
                             "« hdbscan ».")
        return name

    def _reduction_name(self, clustering: str) -> str:
        if self.reduction in ("default", None):
            return "none" if clustering == "kmeans" else "umap"
        if self.reduction not in ("umap", "pca", "none"):
            raise ValueError(f"réduction inconnue « {self.reduction} » ; choisissez umap, pca "
                             "ou none.")
        return self.reduction

    def _reducer(self, name: str, p: dict, dim: int):
        if name == "umap":
            from umap import UMAP

            return UMAP(n_neighbors=p["n_neighbors"], n_components=p["n_components"],
                        min_dist=0.0, metric="cosine", random_state=self.random_state,
                        low_memory=True)
        if name == "pca":
            from sklearn.decomposition import PCA

            return PCA(n_components=min(p["pca_components"], dim), random_state=self.random_state)
        from bertopic.dimensionality import BaseDimensionalityReduction

        return BaseDimensionalityReduction()

    def _clusterer(self, name: str, p: dict):
        if name == "hdbscan":
            from hdbscan import HDBSCAN

            return HDBSCAN(min_cluster_size=p["min_topic_size"], metric="euclidean",
                           cluster_selection_method="eom", prediction_data=True)
        return SphericalKMeans(n_clusters=p["k"], n_init=10, random_state=self.random_state)

    def _representation_model(self):
        if self.representation in ("default", "keybert", None):
            from bertopic.representation import KeyBERTInspired

            return {"KeyBERT": KeyBERTInspired(top_n_words=10, random_state=self.random_state)}
        if self.representation == "mmr":
            from bertopic.representation import MaximalMarginalRelevance

            return {"MMR": MaximalMarginalRelevance(diversity=0.3, top_n_words=10)}
        raise ValueError(f"représentation inconnue « {self.representation} » ; utilisez "
                         "keybert ou mmr.")

    def _seed_list(self) -> list[list[str]] | None:
        seeds = self.seed_words
        if not seeds:
            return None
        lists = list(seeds.values()) if isinstance(seeds, Mapping) else list(seeds)
        lists = [[w for w in ws if w] for ws in lists]
        return [ws for ws in lists if ws] or None

    # -- fitting -------------------------------------------------------------------------
    def fit(self, segments: pd.DataFrame) -> TopicModel:
        """Fit topics on the segments (facilitators and empty segments left out)."""
        missing = [c for c in ("segment_id", "lemmas") if c not in segments.columns]
        if missing:
            raise ValueError(f"segments : colonne(s) manquante(s) {missing}, nécessaire(s) "
                             "aux thèmes.")
        timings: dict[str, float] = {}
        data = segments
        if "is_facilitator" in data.columns:
            data = data[~data["is_facilitator"].fillna(False).astype(bool)]
        data = data[data["lemmas"].fillna("").str.strip().str.len() > 0]
        data = data.sort_values("segment_id", kind="stable").reset_index(drop=True)
        self.segments_ = data
        self.selection_ = pd.DataFrame(columns=TABLES["topic_selection"])
        n = len(data)
        emb_name = self._embedding_name()
        clus = self._clustering_name()
        self.forms_ = learn_forms(data, place_stop_words(self.place_names),
                                  random_state=self.random_state)
        self.stop_extra_ = sorted({*place_stop_words(self.place_names), *self.forms_.artefacts})
        self.summary_ = {"embedding": emb_name, "clustering": clus, "n_segments": int(n),
                         "random_state": self.random_state, "fallback": None,
                         "outlier_strategy": None, "cache_hits": 0, "seconds": timings,
                         "word_forms": self.forms_.summary()}
        if data["lemmas"].nunique() < MIN_SEGMENTS:
            return self._fit_single_topic(data, n, data["lemmas"].nunique())
        candidates = self._fit_mask(data)
        fit_mask = self._sample_mask(candidates)
        n_distinct = data.loc[fit_mask, "lemmas"].nunique()

        t0 = time.perf_counter()
        try:
            import bertopic  # noqa: F401 - heavy import, timed on its own (4-8 s cold)
        except ImportError as exc:
            raise ImportError(
                "BERTopic is not installed. `python3 bootstrap.py setup` installs it (without "
                "torch); by hand: `pip install --no-deps bertopic==0.17.4` (its other needs "
                "are the package's dependencies), or `pip install -e '.[transformers]'` for "
                "the full stack with torch==2.13.0.") from exc

        timings["import_bertopic"] = round(time.perf_counter() - t0, 3)
        p = auto_params(n, self.n_topics, self.min_topic_size)
        red = self._reduction_name(clus)

        t0 = time.perf_counter()
        embedder = make_embedder(emb_name, self.random_state, self.stop_extra_)
        docs_in = data[embedder.input_column].fillna("").astype(str).tolist()
        # Vocabulary, IDF and SVD on every candidate (cheap, and the same space as a full
        # fit); only the clustering runs on the sample.
        embedder.fit([d for d, keep in zip(docs_in, candidates, strict=True) if keep])
        emb, hit = cached_embeddings(embedder, docs_in, self.cache_dir)
        self.embedder_ = embedder
        self.embeddings_ = emb
        self.summary_["cache_hits"] = int(hit)
        timings["embedding"] = round(time.perf_counter() - t0, 3)

        if emb_name == "tfidf-svd":  # no term left in the vocabulary: nothing to place
            fit_mask = fit_mask & (np.linalg.norm(emb, axis=1) > 0)
            candidates = candidates & (np.linalg.norm(emb, axis=1) > 0)
            self.summary_["short_segments"]["n_fit"] = int(fit_mask.sum())
            self.summary_["short_segments"]["n_assigned_after"] = int((~fit_mask).sum())
        all_docs = data["lemmas"].astype(str).tolist()
        docs = [d for d, keep in zip(all_docs, fit_mask, strict=True) if keep]
        fit_emb = emb[fit_mask]
        if not self.n_topics:  # "auto": the most stable number of topics across seeds
            t0 = time.perf_counter()
            p["k"], rows = choose_k(fit_emb, candidate_ks(len(fit_emb)),
                                    random_state=self.random_state)
            self.selection_ = pd.DataFrame(rows, columns=TABLES["topic_selection"])
            self.summary_["k_selection"] = {
                "criterion": "stabilité entre graines (ARI moyen par paires)",
                "candidates": [r["k"] for r in rows],
                "scores": [r["stability"] for r in rows], "chosen_k": int(p["k"])}
            timings["choose_k"] = round(time.perf_counter() - t0, 3)
        k_max = max(2, n_distinct - 1)
        if p["k"] > k_max:
            warn_input(None, None, f"{p['k']} thèmes demandés mais seulement {n_distinct} segments "
                       f"distincts à modéliser : {k_max} thèmes retenus.",
                       "demandez moins de thèmes (n_topics).")
            p["k"] = k_max
        self.vectorizer_ = lemma_vectorizer("count", extra_stop_words=self.stop_extra_,
                                            ngram_range=(1, 2), min_df=p["min_df"])
        topics, model = self._fit_bertopic(docs, fit_emb, embedder, p, red, clus, timings)
        outliers = float(np.mean(np.asarray(topics) == -1))
        self.summary_["outlier_share_before"] = round(outliers, 4)
        if clus == "hdbscan" and (outliers > MAX_OUTLIER_SHARE or len(set(topics) - {-1}) < 2):
            self.summary_["fallback"] = (f"HDBSCAN laissait {outliers:.0%} de segments hors "
                                         f"thème : k-means (k={p['k']}) avec ACP à la "
                                         "place")
            clus, red = "kmeans", "pca"
            topics, model = self._fit_bertopic(docs, fit_emb, embedder, p, red, clus, timings)
        elif outliers > 0:
            t0 = time.perf_counter()
            topics = model.reduce_outliers(docs, topics, strategy="embeddings",
                                           embeddings=fit_emb)
            model.update_topics(docs, topics=topics, vectorizer_model=self.vectorizer_,
                                representation_model=self._representation_model())
            self.summary_["outlier_strategy"] = "embeddings"
            timings["outliers"] = round(time.perf_counter() - t0, 3)
        self.summary_.update(reduction=red, clustering_used=clus, params=p,
                             seeded=self._seed_list() is not None)
        if not fit_mask.all():
            t0 = time.perf_counter()
            sampled = self.summary_["sample"]["sampled"] and clus == "kmeans"
            topics = self._assign_short(np.asarray(topics), fit_mask, emb, data,
                                        refine=candidates if sampled else None)
            model.update_topics(all_docs, topics=topics.tolist(), vectorizer_model=self.vectorizer_,
                                representation_model=self._representation_model())
            timings["assign_short"] = round(time.perf_counter() - t0, 3)
        self.model_ = model
        self._tables(np.asarray(topics), model)
        return self

    def _sample_mask(self, fit_mask: np.ndarray) -> np.ndarray:
        """Above ``sample_size`` segments to fit on, a seeded sample of that size.

        The others are assigned afterwards to the nearest topic centroid, as short segments
        are (same seed, same sample, same topics).
        """
        size = int(self.sample_size or 0)
        n_fit = int(fit_mask.sum())
        self.summary_["sample"] = {"sample_size": size, "n_candidates": n_fit,
                                   "n_sampled": n_fit, "sampled": False}
        if not size or n_fit <= size:
            return fit_mask
        rng = np.random.default_rng(self.random_state)
        keep = np.sort(rng.choice(np.flatnonzero(fit_mask), size, replace=False))
        out = np.zeros(len(fit_mask), dtype=bool)
        out[keep] = True
        self.summary_["sample"].update(n_sampled=size, sampled=True)
        return out

    def _fit_mask(self, data: pd.DataFrame) -> np.ndarray:
        """Segments long enough to fit on (all of them when too few are long enough)."""
        analyzer = lemma_vectorizer("count", extra_stop_words=self.stop_extra_).build_analyzer()
        n_content = data["lemmas"].map(lambda d: len(analyzer(str(d)))).to_numpy()
        mask = n_content >= (self.min_content_lemmas or 0)
        enough = data.loc[mask, "lemmas"].nunique() >= max(2 * MIN_SEGMENTS, len(data) // 4)
        self.summary_["short_segments"] = {
            "min_content_lemmas": int(self.min_content_lemmas or 0),
            "n_fit": int(mask.sum() if enough else len(data)),
            "n_assigned_after": int((~mask).sum() if enough else 0),
            "assignment": "nearest topic centroid (cosine); segments without any content "
                          "lemma take their turn's most frequent topic, else -1 (hors thème)",
        }
        return mask if enough else np.ones(len(data), dtype=bool)

    def _assign_short(self, topics: np.ndarray, fit_mask: np.ndarray, emb: np.ndarray,
                      data: pd.DataFrame, refine: np.ndarray | None = None) -> np.ndarray:
        """Assign the segments left out of the fit to the nearest topic centroid (cosine).

        ``refine`` (a sampled k-means fit): the segments the full fit would have clustered;
        the sample's centroids are refined on all of them by spherical k-means steps
        (assign to the nearest centroid, recompute the centroids, until nothing moves or
        :data:`REFINE_STEPS`), so that the topics are those of the whole corpus, started
        from the sample's. The other segments then join the nearest refined centroid.
        """
        ids = sorted(set(topics.tolist()) - {-1})
        cent = np.vstack([emb[fit_mask][topics == t].mean(axis=0) for t in ids])
        cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
        out = np.full(len(data), -1, dtype=int)
        out[fit_mask] = topics
        done = fit_mask.copy()
        if refine is not None and refine.any():
            rows = np.flatnonzero(refine)
            cent, labels, steps = _refine_centroids(emb[rows], cent)
            out[rows] = np.asarray(ids)[labels]
            done |= refine
            self.summary_["sample"]["refinement_steps"] = steps
        short = np.flatnonzero(~done)
        sims = emb[short] @ cent.T
        has = np.linalg.norm(emb[short], axis=1) > 0
        out[short[has]] = np.asarray(ids)[sims[has].argmax(axis=1)]
        empty = short[~has]
        if len(empty) and "turn_id" in data.columns:
            turns = data["turn_id"].to_numpy()
            known = pd.DataFrame({"turn": turns, "topic": out})
            known = known[(out != -1) & ~np.isin(np.arange(len(out)), empty)]
            mode = (known.groupby(["turn", "topic"]).size().rename("n").reset_index()
                    .sort_values(["turn", "n", "topic"], ascending=[True, False, True])
                    .drop_duplicates("turn").set_index("turn")["topic"])
            out[empty] = pd.Series(turns[empty]).map(mode).fillna(-1).astype(int).to_numpy()
        self.summary_["short_segments"]["n_outliers"] = int((out[short] == -1).sum())
        return out

    def _fit_bertopic(self, docs, emb, embedder, p, red, clus, timings):
        from bertopic import BERTopic
        from bertopic.vectorizers import ClassTfidfTransformer

        reducer = self._reducer(red, p, emb.shape[1])
        clusterer = self._clusterer(clus, p)
        model = BERTopic(
            embedding_model=as_bertopic_backend(embedder), umap_model=reducer,
            hdbscan_model=clusterer, vectorizer_model=self.vectorizer_,
            ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
            representation_model=self._representation_model(), top_n_words=10,
            seed_topic_list=self._seed_list(), calculate_probabilities=False, verbose=False,
        )
        t0 = time.perf_counter()
        topics, _ = model.fit_transform(docs, embeddings=emb.copy())
        timings[f"bertopic_{red}_{clus}"] = round(time.perf_counter() - t0, 3)
        self.summary_["outlier_share"] = round(float(np.mean(np.asarray(topics) == -1)), 4)
        return list(topics), model

    def _fit_single_topic(self, data: pd.DataFrame, n: int, n_distinct: int) -> TopicModel:
        warn_input(None, None, f"seulement {n_distinct} segment(s) distinct(s) à modéliser (il en "
                   f"faut au moins {MIN_SEGMENTS}) : tous les segments sont placés dans un "
                   "seul thème.",
                   "ajoutez des transcriptions, ou vérifiez que les segments n'ont pas "
                   "tous été écartés.")
        self.summary_["fallback"] = "un seul thème (trop peu de segments)"
        terms: list[str] = []
        if n:
            vec = lemma_vectorizer("count", extra_stop_words=self.stop_extra_)
            try:
                counts = np.asarray(vec.fit_transform(data["lemmas"]).sum(axis=0)).ravel()
                vocab = vec.get_feature_names_out()
                terms = [vocab[i] for i in np.lexsort((vocab, -counts))[:10]]
            except ValueError:
                terms = []
        self.model_ = None
        self.embedder_ = None
        self.embeddings_ = np.zeros((n, 1), dtype=np.float32)
        self.lemma_terms_ = {0: terms}
        label = _topic_label(terms, 0, self.forms_)
        shown = "; ".join(self.forms_.display_all(terms))
        self.assignments_ = pd.DataFrame({"segment_id": data["segment_id"], "topic": 0,
                                          "topic_label": label, "probability": 1.0})
        self.topic_info_ = pd.DataFrame([{
            "topic": 0, "label": label, "count": n, "terms": shown,
            "representation": shown,
            "representative_segments": "; ".join(data["segment_id"].head(3)),
        }]) if n else empty_table("topic_info", ["representative_segments"])
        return self

    def _tables(self, topics: np.ndarray, model) -> None:
        data, emb = self.segments_, self.embeddings_
        ids = sorted(set(topics.tolist()))
        aspect = next(iter(self._representation_model()))
        centroids, labels, rows = {}, {}, []
        self.lemma_terms_ = {}
        used: dict[str, int] = {}
        for t in ids:
            members = np.flatnonzero(topics == t)
            c = emb[members].mean(axis=0)
            c = c / (np.linalg.norm(c) or 1.0)
            centroids[t] = c
            terms = [w for w, _ in (model.get_topic(t) or []) if w]
            second = [w for w, _ in (model.topic_aspects_.get(aspect, {}).get(t, [])) if w]
            self.lemma_terms_[int(t)] = terms
            label = _topic_label(terms, t, self.forms_) if t != -1 else "hors thème"
            if label in used:
                used[label] += 1
                label = f"{label} ({used[label]})"
            else:
                used[label] = 1
            labels[t] = label
            sims = emb[members] @ c
            order = members[np.lexsort((data["segment_id"].to_numpy()[members], -sims))]
            rows.append({"topic": int(t), "label": label, "count": int(len(members)),
                         "terms": "; ".join(self.forms_.display_all(terms)),
                         "representation": "; ".join(self.forms_.display_all(second)),
                         "representative_segments": "; ".join(data["segment_id"].iloc[order[:3]])})
        self.topic_centroids_ = centroids
        prob = np.einsum("ij,ij->i", emb, np.vstack([centroids[t] for t in topics]))
        self.assignments_ = pd.DataFrame({
            "segment_id": data["segment_id"].to_numpy(), "topic": topics.astype(int),
            "topic_label": [labels[t] for t in topics],
            "probability": np.clip(prob, 0, 1).round(6),
        })
        self.topic_info_ = pd.DataFrame(rows).sort_values("topic").reset_index(drop=True)
        self.summary_["n_topics"] = int(len([t for t in ids if t != -1]))

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Embed free texts (lemma strings) with the fitted embedder."""
        if self.embedder_ is None:
            raise ValueError("no embedder: the model fell back to a single topic.")
        return self.embedder_.transform(list(texts))


# --- stage -----------------------------------------------------------------------------
