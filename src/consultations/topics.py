"""Topics stage: BERTopic over French consultation segments, offline, seeded from the codebook.

The inductive half of the coding: topics show analysts what the codebook missed and how each
stakeholder group talks. :class:`TopicModel` wraps BERTopic with one slot per step, swapped by
short names:

=============== ==============================================================================
slot            choices (``"default"`` in bold)
=============== ==============================================================================
embedding       **tfidf-svd** (LSA over lemmas), sif, concat, ``st:<local folder>``
reduction       umap, pca, **none** (with k-means); **umap** with HDBSCAN
clustering      **kmeans** (k from corpus size or ``n_topics``), hdbscan
representation  c-TF-IDF over lemmas (French stop words + consultation filler, 1–2-grams)
                plus **keybert** (KeyBERTInspired, offline) or mmr (MaximalMarginalRelevance)
=============== ==============================================================================

The defaults were chosen by measurement on real French consultation text (Grand Débat 2019,
MEL; see ``benchmarks/topics.py``): TF-IDF+SVD with k-means gave the best NMI against the
human themes, HDBSCAN left most segments as outliers on such short texts, and skipping UMAP
saves its numba compile (≈20 s per process). Embeddings are cached by content hash in
``data/interim/embeddings/`` when a cache folder is given; BERTopic never sees a hub because
it always gets precomputed embeddings and an offline embedding backend.

Evaluation helpers at the end (:func:`evaluate_topics`, :func:`baseline_topics`) score topics
against human labels (NMI, ARI), NPMI coherence and diversity, for the benchmark and the tests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .embeddings import (
    as_bertopic_backend,
    cached_embeddings,
    french_stop_words,
    make_embedder,
)
from .errors import warn_input
from .schema import TABLES, check_columns

__all__ = [
    "MIN_SEGMENTS",
    "NEW_THEME",
    "TopicModel",
    "auto_params",
    "baseline_topics",
    "evaluate_topics",
    "npmi_coherence",
    "topic_diversity",
    "code_terms",
    "crosswalk",
    "empty_table",
    "run_stage",
    "seed_words_from_codebook",
    "topics_per_group",
    "zero_shot_codes",
]

#: Below this many distinct segments there is nothing to model: one topic holds them all.
MIN_SEGMENTS = 10
#: What the crosswalk calls a topic that no code covers (analysts read it: French).
NEW_THEME = "nouveau thème"
#: A topic matches a code when their Jaccard overlap reaches this value.
JACCARD_THRESHOLD = 0.10
#: A topic is assigned zero-shot to a code when their cosine similarity reaches this value.
ZERO_SHOT_THRESHOLD = 0.30
#: Above this outlier share after HDBSCAN, the model falls back to k-means.
MAX_OUTLIER_SHARE = 0.5


def empty_table(name: str, extra: list[str] | tuple = ()) -> pd.DataFrame:
    """Return an empty frame with the contract's columns for ``name`` (plus ``extra``)."""
    return pd.DataFrame(columns=[*TABLES.get(name, []), *extra])


def auto_params(n: int, n_topics: int | None = None, min_topic_size: int | None = None) -> dict:
    """Choose model sizes from the number of segments ``n``.

    Returns:
        ``k`` (k-means topics), ``min_topic_size`` (HDBSCAN), ``n_neighbors`` and
        ``n_components`` (UMAP), ``pca_components``, ``min_df`` (term vectorizer).

    """
    k = n_topics or int(min(40, max(2, round(math.sqrt(n) / 3))))
    mts = min_topic_size or int(min(50, max(3, n // 100)))
    return {
        "k": int(k),
        "min_topic_size": int(mts),
        "n_neighbors": int(min(15, max(2, n // 20))),
        "n_components": int(min(5, max(2, n // 50))),
        "pca_components": int(min(10, max(2, n // 20))),
        "min_df": 1 if n < 200 else 2 if n < 20_000 else 3,
    }


def _topic_label(terms: list[str], topic: int) -> str:
    """Readable French label from the top three terms (``police · confiance · population``)."""
    words = [t for t in terms if t][:3]
    return " · ".join(words) if words else f"thème {topic}"


class TopicModel:
    """BERTopic with swappable, offline slots (scikit-learn style).

    Args:
        embedding: ``"default"`` (= ``"tfidf-svd"``), ``"sif"``, ``"concat"`` or
            ``"st:<local folder>"``.
        reduction: ``"default"``, ``"umap"``, ``"pca"`` or ``"none"``.
        clustering: ``"default"`` (= ``"kmeans"``) or ``"hdbscan"``.
        representation: second representation, ``"keybert"`` (default) or ``"mmr"``.
        n_topics: number of topics for k-means (default from corpus size); clamped, with a
            warning, to what the corpus allows.
        min_topic_size: HDBSCAN minimum cluster size (default from corpus size).
        seed_words: lists of seed lemmas (one per codebook code) for seeded topic modelling,
            or a mapping ``code_id -> words``.
        random_state: seed for every random step.
        embedding_model_path: a local sentence-transformers folder (same as
            ``embedding="st:<folder>"``).
        cache_dir: where embeddings are cached by content hash (None: no cache).

    Attributes:
        assignments_: ``topic_assignments`` table (one row per modelled segment).
        topic_info_: ``topic_info`` table (one row per topic).
        model_: the fitted BERTopic object (None for the single-topic fallback).
        embeddings_: segment embeddings (rows in ``assignments_`` order).
        summary_: settings used, outliers, fallbacks, seconds per step, cache hits.

    """

    def __init__(self, embedding="default", reduction="default", clustering="default",
                 representation="keybert", n_topics=None, min_topic_size=None, seed_words=None,
                 random_state=42, embedding_model_path=None, cache_dir=None):
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

    # -- slot resolution ---------------------------------------------------------------
    def _embedding_name(self) -> str:
        if self.embedding in ("default", None):
            return f"st:{self.embedding_model_path}" if self.embedding_model_path else "tfidf-svd"
        return self.embedding

    def _clustering_name(self) -> str:
        name = "kmeans" if self.clustering in ("default", None) else self.clustering
        if name not in ("kmeans", "hdbscan"):
            raise ValueError(f"unknown clustering '{name}'; choose 'kmeans' or 'hdbscan'.")
        return name

    def _reduction_name(self, clustering: str) -> str:
        if self.reduction in ("default", None):
            return "none" if clustering == "kmeans" else "umap"
        if self.reduction not in ("umap", "pca", "none"):
            raise ValueError(f"unknown reduction '{self.reduction}'; choose umap, pca or none.")
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
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=p["k"], n_init=10, random_state=self.random_state)

    def _representation_model(self):
        if self.representation in ("default", "keybert", None):
            from bertopic.representation import KeyBERTInspired

            return {"KeyBERT": KeyBERTInspired(top_n_words=10, random_state=self.random_state)}
        if self.representation == "mmr":
            from bertopic.representation import MaximalMarginalRelevance

            return {"MMR": MaximalMarginalRelevance(diversity=0.3, top_n_words=10)}
        raise ValueError(f"unknown representation '{self.representation}'; use keybert or mmr.")

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
        from sklearn.feature_extraction.text import CountVectorizer

        missing = [c for c in ("segment_id", "lemmas") if c not in segments.columns]
        if missing:
            raise ValueError(f"segments: missing column(s) {missing} needed to model topics.")
        timings: dict[str, float] = {}
        data = segments
        if "is_facilitator" in data.columns:
            data = data[~data["is_facilitator"].fillna(False).astype(bool)]
        data = data[data["lemmas"].fillna("").str.strip().str.len() > 0]
        data = data.sort_values("segment_id", kind="stable").reset_index(drop=True)
        self.segments_ = data
        n = len(data)
        n_distinct = data["lemmas"].nunique()
        emb_name = self._embedding_name()
        clus = self._clustering_name()
        self.summary_ = {"embedding": emb_name, "clustering": clus, "n_segments": int(n),
                         "random_state": self.random_state, "fallback": None,
                         "outlier_strategy": None, "cache_hits": 0, "seconds": timings}
        if n_distinct < MIN_SEGMENTS:
            return self._fit_single_topic(data, n, n_distinct)

        t0 = time.perf_counter()
        import bertopic  # noqa: F401 - heavy import, timed on its own (6-13 s cold)

        timings["import_bertopic"] = round(time.perf_counter() - t0, 3)
        p = auto_params(n, self.n_topics, self.min_topic_size)
        k_max = max(2, n_distinct - 1)
        if p["k"] > k_max:
            warn_input(None, None, f"{p['k']} topics requested but only {n_distinct} distinct "
                       f"segments can be modelled; using {k_max} topics.",
                       "ask for fewer topics (n_topics).")
            p["k"] = k_max
        red = self._reduction_name(clus)

        t0 = time.perf_counter()
        embedder = make_embedder(emb_name, self.random_state)
        docs_in = data[embedder.input_column].fillna("").astype(str).tolist()
        embedder.fit(docs_in)
        emb, hit = cached_embeddings(embedder, docs_in, self.cache_dir)
        self.embedder_ = embedder
        self.embeddings_ = emb
        self.summary_["cache_hits"] = int(hit)
        timings["embedding"] = round(time.perf_counter() - t0, 3)

        docs = data["lemmas"].astype(str).tolist()
        stop = french_stop_words()
        self.vectorizer_ = CountVectorizer(stop_words=stop, ngram_range=(1, 2), min_df=p["min_df"],
                                           token_pattern=r"(?u)\b\w[\w-]+\b")
        topics, model = self._fit_bertopic(docs, emb, embedder, p, red, clus, timings)
        outliers = float(np.mean(np.asarray(topics) == -1))
        self.summary_["outlier_share_before"] = round(outliers, 4)
        if clus == "hdbscan" and (outliers > MAX_OUTLIER_SHARE or len(set(topics) - {-1}) < 2):
            self.summary_["fallback"] = (f"HDBSCAN left {outliers:.0%} outliers: k-means "
                                         f"(k={p['k']}) with PCA instead")
            clus, red = "kmeans", "pca"
            topics, model = self._fit_bertopic(docs, emb, embedder, p, red, clus, timings)
        elif outliers > 0:
            t0 = time.perf_counter()
            topics = model.reduce_outliers(docs, topics, strategy="embeddings",
                                           embeddings=emb)
            model.update_topics(docs, topics=topics, vectorizer_model=self.vectorizer_,
                                representation_model=self._representation_model())
            self.summary_["outlier_strategy"] = "embeddings"
            timings["outliers"] = round(time.perf_counter() - t0, 3)
        self.summary_.update(reduction=red, clustering_used=clus, params=p,
                             seeded=self._seed_list() is not None)
        self.model_ = model
        self._tables(np.asarray(topics), model)
        return self

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
        warn_input(None, None, f"only {n_distinct} distinct segment(s) to model (at least "
                   f"{MIN_SEGMENTS} are needed): every segment is put in a single topic.",
                   "add transcripts, or check that segments were not all left out.")
        from sklearn.feature_extraction.text import CountVectorizer

        self.summary_["fallback"] = "single topic (too few segments)"
        terms: list[str] = []
        if n:
            vec = CountVectorizer(stop_words=french_stop_words(), token_pattern=r"(?u)\b\w[\w-]+\b")
            try:
                counts = np.asarray(vec.fit_transform(data["lemmas"]).sum(axis=0)).ravel()
                vocab = vec.get_feature_names_out()
                terms = [vocab[i] for i in np.lexsort((vocab, -counts))[:10]]
            except ValueError:
                terms = []
        self.model_ = None
        self.embedder_ = None
        self.embeddings_ = np.zeros((n, 1), dtype=np.float32)
        label = _topic_label(terms, 0)
        self.assignments_ = pd.DataFrame({"segment_id": data["segment_id"], "topic": 0,
                                          "topic_label": label, "probability": 1.0})
        self.topic_info_ = pd.DataFrame([{
            "topic": 0, "label": label, "count": n, "terms": "; ".join(terms),
            "representation": "; ".join(terms),
            "representative_segments": "; ".join(data["segment_id"].head(3)),
        }]) if n else empty_table("topic_info", ["representative_segments"])
        return self

    def _tables(self, topics: np.ndarray, model) -> None:
        data, emb = self.segments_, self.embeddings_
        ids = sorted(set(topics.tolist()))
        aspect = next(iter(self._representation_model()))
        centroids, labels, rows = {}, {}, []
        used: dict[str, int] = {}
        for t in ids:
            members = np.flatnonzero(topics == t)
            c = emb[members].mean(axis=0)
            c = c / (np.linalg.norm(c) or 1.0)
            centroids[t] = c
            terms = [w for w, _ in (model.get_topic(t) or []) if w]
            second = [w for w, _ in (model.topic_aspects_.get(aspect, {}).get(t, [])) if w]
            label = _topic_label(terms, t) if t != -1 else "hors thème"
            if label in used:
                used[label] += 1
                label = f"{label} ({used[label]})"
            else:
                used[label] = 1
            labels[t] = label
            sims = emb[members] @ c
            order = members[np.lexsort((data["segment_id"].to_numpy()[members], -sims))]
            rows.append({"topic": int(t), "label": label, "count": int(len(members)),
                         "terms": "; ".join(terms), "representation": "; ".join(second),
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


# --- codebook guidance ----------------------------------------------------------------------
def seed_words_from_codebook(codebook: pd.DataFrame) -> dict[str, list[str]]:
    """Seed lemmas per code from the codebook's ``keywords`` ("; "-separated, lemma-based)."""
    seeds: dict[str, list[str]] = {}
    for row in codebook.sort_values("code_id").itertuples():
        kws = str(getattr(row, "keywords", "") or "")
        words = []
        for kw in kws.split(";"):
            kw = " ".join(w for w in kw.strip().lower().split() if w.isalpha() or "-" in w)
            if kw and kw not in words:
                words.append(kw)
        if words:
            seeds[str(row.code_id)] = words
    return seeds


def _code_text(row) -> str:
    parts = [str(getattr(row, c, "") or "") for c in ("label", "definition")]
    parts.append(str(getattr(row, "keywords", "") or "").replace(";", " "))
    return " ".join(" ".join(parts).lower().replace("'", " ").replace("’", " ").split())


def zero_shot_codes(model: TopicModel, codebook: pd.DataFrame,
                    threshold: float = ZERO_SHOT_THRESHOLD) -> pd.DataFrame:
    """Match each topic to the most similar codebook code (cosine of embeddings).

    The code is embedded from its label, definition and keywords; the topic from the mean of
    its segments' embeddings. Returns ``topic, zero_shot_code, zero_shot_similarity``; the code
    is empty when the similarity stays below ``threshold``.
    """
    cols = ["topic", "zero_shot_code", "zero_shot_similarity"]
    if model.model_ is None or codebook is None or codebook.empty:
        return pd.DataFrame(columns=cols)
    cb = codebook.sort_values("code_id").reset_index(drop=True)
    code_emb = model.embed_texts([_code_text(r) for r in cb.itertuples()])
    rows = []
    for t, c in sorted(model.topic_centroids_.items()):
        sims = code_emb @ c
        best = int(np.argmax(sims))
        ok = sims[best] >= threshold
        rows.append({"topic": t, "zero_shot_code": cb["code_id"][best] if ok else "",
                     "zero_shot_similarity": round(float(sims[best]), 4)})
    return pd.DataFrame(rows, columns=cols)


def code_terms(model: TopicModel, codings: pd.DataFrame, codebook: pd.DataFrame | None = None,
               top_n: int = 10) -> pd.DataFrame:
    """Describe each analyst code in c-TF-IDF terms (manual topic modelling).

    Codes become topics through BERTopic's empty clustering step (``BaseCluster``): the
    segments of each code (rule, manual and review codings; topic codings left out) form a
    class and c-TF-IDF finds its distinctive lemmas.

    Returns:
        ``code_id, label, n_segments, terms`` (terms "; "-separated), one row per code.

    """
    cols = ["code_id", "label", "n_segments", "terms"]
    if model.model_ is None or codings is None or codings.empty:
        return pd.DataFrame(columns=cols)
    from bertopic import BERTopic
    from bertopic.cluster import BaseCluster
    from bertopic.dimensionality import BaseDimensionalityReduction
    from bertopic.vectorizers import ClassTfidfTransformer
    from sklearn.feature_extraction.text import CountVectorizer

    seg = model.segments_.reset_index(drop=True)
    pos = pd.Series(range(len(seg)), index=seg["segment_id"])
    cod = codings[codings["source"] != "topic"] if "source" in codings.columns else codings
    pairs = (cod[cod["segment_id"].isin(pos.index)][["segment_id", "code_id"]]
             .drop_duplicates().sort_values(["code_id", "segment_id"]))
    codes = sorted(pairs["code_id"].unique())
    if len(codes) < 2:
        return pd.DataFrame(columns=cols)
    y = pairs["code_id"].map({c: i for i, c in enumerate(codes)}).to_numpy()
    idx = pos[pairs["segment_id"]].to_numpy()
    docs = seg["lemmas"].to_numpy()[idx].tolist()
    vec = CountVectorizer(stop_words=french_stop_words(), ngram_range=(1, 2),
                          token_pattern=r"(?u)\b\w[\w-]+\b")
    bt = BERTopic(embedding_model=as_bertopic_backend(model.embedder_),
                  umap_model=BaseDimensionalityReduction(), hdbscan_model=BaseCluster(),
                  vectorizer_model=vec,
                  ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
                  top_n_words=top_n, verbose=False)
    topics, _ = bt.fit_transform(docs, embeddings=model.embeddings_[idx].copy(), y=y)
    topics = np.asarray(topics)
    labels = ({} if codebook is None
              else dict(zip(codebook["code_id"], codebook["label"], strict=True)))
    rows = []
    for i, code in enumerate(codes):
        t = pd.Series(topics[y == i]).mode().iloc[0]
        rows.append({"code_id": code, "label": labels.get(code, ""),
                     "n_segments": int((y == i).sum()),
                     "terms": "; ".join(w for w, _ in (bt.get_topic(int(t)) or []) if w)})
    return pd.DataFrame(rows, columns=cols)


# --- tables for analysts ----------------------------------------------------------------
def crosswalk(assignments: pd.DataFrame, topic_info: pd.DataFrame, codings: pd.DataFrame | None,
              segments: pd.DataFrame, codebook: pd.DataFrame | None = None,
              zero_shot: pd.DataFrame | None = None,
              threshold: float = JACCARD_THRESHOLD) -> pd.DataFrame:
    """Overlap of every topic with every code: shared segments, Jaccard, lift, best code.

    Only segments that were modelled count (facilitators are out). Each topic gets one row per
    code it shares segments with (or a single row with an empty ``code_id`` when it shares none).
    ``best_code`` is the code with the highest Jaccard if it reaches ``threshold``, else
    :data:`NEW_THEME`. Extra columns give the analyst what to review: code label, sizes,
    zero-shot match, top terms and representative segments (``segment_id`` : pseudonymised text).
    """
    extra = ["code_label", "topic_size", "code_size", "zero_shot_code", "zero_shot_similarity",
             "top_terms", "representative_segments"]
    cols = [*TABLES["topic_crosswalk"], *extra]
    if assignments.empty:
        return pd.DataFrame(columns=cols)
    n = len(assignments)
    modelled = set(assignments["segment_id"])
    if codings is None or codings.empty:
        cod = pd.DataFrame(columns=["segment_id", "code_id"])
    else:
        cod = codings[codings["source"] != "topic"] if "source" in codings.columns else codings
        cod = cod[cod["segment_id"].isin(modelled)][["segment_id", "code_id"]].drop_duplicates()
    code_size = cod.groupby("code_id").size()
    topic_size = assignments.groupby("topic").size()
    joined = assignments[["segment_id", "topic"]].merge(cod, on="segment_id")
    shared = joined.groupby(["topic", "code_id"]).size().rename("shared").reset_index()
    shared["topic_size"] = shared["topic"].map(topic_size).astype(int)
    shared["code_size"] = shared["code_id"].map(code_size).astype(int)
    shared["jaccard"] = (shared["shared"] / (shared["topic_size"] + shared["code_size"]
                                             - shared["shared"])).round(4)
    shared["lift"] = (shared["shared"] * n / (shared["topic_size"] * shared["code_size"])).round(4)
    missing = sorted(set(topic_size.index) - set(shared["topic"]))
    none_rows = pd.DataFrame({"topic": missing, "code_id": "", "shared": 0,
                              "topic_size": [int(topic_size[t]) for t in missing],
                              "code_size": 0, "jaccard": 0.0, "lift": 0.0})
    out = pd.concat([shared, none_rows], ignore_index=True) if missing else shared
    out = out.sort_values(["topic", "jaccard", "code_id"], ascending=[True, False, True])
    best = out.drop_duplicates("topic").set_index("topic")
    is_new = best["jaccard"] < threshold
    out["best_code"] = out["topic"].map(best["code_id"].where(~is_new, NEW_THEME))
    out["is_new_theme"] = out["topic"].map(is_new).astype(bool)
    info = topic_info.set_index("topic")
    out["topic_label"] = out["topic"].map(info["label"])
    out["top_terms"] = out["topic"].map(info["terms"])
    text = segments.drop_duplicates("segment_id").set_index("segment_id")["text"]

    def _examples(ids: str) -> str:
        return " | ".join(f"{i} : {text.get(i, '')}" for i in str(ids).split("; ") if i)

    out["representative_segments"] = out["topic"].map(
        info.get("representative_segments", pd.Series(dtype=str)).map(_examples))
    labels = (dict(zip(codebook["code_id"], codebook["label"], strict=True))
              if codebook is not None and not codebook.empty else {})
    out["code_label"] = out["code_id"].map(lambda c: labels.get(c, ""))
    if zero_shot is not None and not zero_shot.empty:
        zs = zero_shot.set_index("topic")
        out["zero_shot_code"] = out["topic"].map(zs["zero_shot_code"])
        out["zero_shot_similarity"] = out["topic"].map(zs["zero_shot_similarity"])
    else:
        out["zero_shot_code"], out["zero_shot_similarity"] = "", np.nan
    return out[cols].reset_index(drop=True)


def topics_per_group(model: TopicModel) -> pd.DataFrame:
    """Topics per stakeholder group, normalised by each group's number of modelled segments.

    Uses BERTopic's ``topics_per_class`` (raw counts and the group-specific terms) and adds
    ``group_segments`` and ``share_of_group`` (count / group_segments). Every topic × group
    pair is present (0 when the group never speaks of the topic).
    """
    cols = [*TABLES["topics_per_group"], "group_terms"]
    seg = model.segments_
    if seg.empty or "group_code" not in seg.columns:
        return pd.DataFrame(columns=cols)
    asg = model.assignments_.set_index("segment_id").loc[seg["segment_id"]]
    groups = seg[["group_code", "stakeholder_group"]].astype(str)
    sizes = groups.groupby("group_code").size()
    names = groups.drop_duplicates("group_code").set_index("group_code")["stakeholder_group"]
    words = {}
    if model.model_ is not None:
        tpc = model.model_.topics_per_class(seg["lemmas"].tolist(),
                                            classes=groups["group_code"].tolist())
        words = {(int(r.Topic), str(r.Class)): r.Words for r in tpc.itertuples()}
    counts = (pd.DataFrame({"topic": asg["topic"].to_numpy(), "group_code": groups["group_code"]
                            .to_numpy()}).groupby(["topic", "group_code"]).size())
    labels = model.topic_info_.set_index("topic")["label"]
    rows = []
    for t in sorted(labels.index):
        for g in sorted(sizes.index):
            c = int(counts.get((t, g), 0))
            rows.append({"topic": int(t), "topic_label": labels[t], "group_code": g,
                         "stakeholder_group": names[g], "count": c,
                         "group_segments": int(sizes[g]),
                         "share_of_group": round(c / sizes[g], 6),
                         "group_terms": str(words.get((int(t), g), "")).replace(", ", "; ")})
    return pd.DataFrame(rows, columns=cols)


# --- stage -----------------------------------------------------------------------------
def run_stage(tables, paths, settings) -> dict:
    """Fit topics on the segments and build the tables analysts review.

    Returns:
        ``topic_assignments``, ``topic_info``, ``topic_crosswalk``, ``topics_per_group``,
        ``code_terms`` and ``_summary``.

    """
    t_start = time.perf_counter()
    segments = tables["segments"]
    check_columns(segments, "segments", "topics stage")
    codebook = tables["codebook"] if "codebook" in tables else None
    codings = tables["codings"] if "codings" in tables else None
    extra = getattr(settings, "extra", {}) or {}
    seeded = extra.get("topics_seeded", True)
    seeds = seed_words_from_codebook(codebook) if codebook is not None and seeded else None
    for g, sub in segments.groupby("group_code"):
        if sub["is_facilitator"].fillna(False).astype(bool).all():
            continue
        if not (sub["lemmas"].fillna("").str.strip() != "").any():
            warn_input(None, None, f"the group {g} has no segment with words to model; it is "
                       "left out of the topics.", "check its transcripts and participants rows.")
    cache = paths.interim / "embeddings" if paths is not None else None
    model = TopicModel(embedding=settings.embedding, reduction=settings.reduction,
                       clustering=settings.clustering, n_topics=settings.n_topics,
                       seed_words=seeds, random_state=settings.seed,
                       embedding_model_path=settings.embedding_model_path,
                       cache_dir=cache).fit(segments)
    timings = model.summary_["seconds"]
    t0 = time.perf_counter()
    zs = zero_shot_codes(model, codebook) if codebook is not None else None
    info = model.topic_info_
    if zs is not None and not zs.empty:
        info = info.merge(zs, on="topic", how="left")
    cw = crosswalk(model.assignments_, model.topic_info_, codings, segments, codebook, zs)
    terms = code_terms(model, codings, codebook) if codings is not None \
        else pd.DataFrame(columns=["code_id", "label", "n_segments", "terms"])
    tpg = topics_per_group(model)
    timings["guided_crosswalk_groups"] = round(time.perf_counter() - t0, 3)
    timings["total"] = round(time.perf_counter() - t_start, 3)
    summary = {**model.summary_, "guided": codebook is not None,
               "crosswalk": codings is not None,
               "new_themes": int(cw.drop_duplicates("topic")["is_new_theme"].sum())
               if not cw.empty else 0}
    return {"topic_assignments": model.assignments_, "topic_info": info,
            "topic_crosswalk": cw, "topics_per_group": tpg, "code_terms": terms,
            "_summary": summary}


# --- evaluation ------------------------------------------------------------------------
def _doc_sets(docs: list[str]) -> list[set[str]]:
    return [set(d.split()) for d in docs]


def npmi_coherence(topic_terms: list[list[str]], docs: list[str], top_n: int = 10) -> float:
    """Mean NPMI of the top terms' pairs, counted by document co-occurrence in ``docs``.

    A term of several words counts as present when all its words are. Pairs that never
    co-occur score -1 (the usual convention).
    """
    sets = _doc_sets(docs)
    n = len(sets)
    cache: dict[str, set[int]] = {}

    def where(term: str) -> set[int]:
        if term not in cache:
            words = term.split()
            cache[term] = {i for i, s in enumerate(sets) if all(w in s for w in words)}
        return cache[term]

    scores = []
    for terms in topic_terms:
        terms = [t for t in terms if t][:top_n]
        for i in range(len(terms)):
            for j in range(i + 1, len(terms)):
                a, b = where(terms[i]), where(terms[j])
                both = len(a & b)
                if not a or not b:
                    continue
                if both == 0:
                    scores.append(-1.0)
                    continue
                p_ab, p_a, p_b = both / n, len(a) / n, len(b) / n
                scores.append(1.0 if p_ab == 1 else math.log(p_ab / (p_a * p_b)) / -math.log(p_ab))
    return float(np.mean(scores)) if scores else float("nan")


def topic_diversity(topic_terms: list[list[str]], top_n: int = 10) -> float:
    """Share of unique terms among all topics' top terms (1 = no term repeated)."""
    allt = [t for terms in topic_terms for t in [x for x in terms if x][:top_n]]
    return len(set(allt)) / len(allt) if allt else float("nan")


def evaluate_topics(labels_true, topics, topic_terms: list[list[str]], docs: list[str]) -> dict:
    """NMI and ARI of topics against human labels, NPMI coherence and diversity of the terms."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {"nmi": float(normalized_mutual_info_score(labels_true, topics)),
            "ari": float(adjusted_rand_score(labels_true, topics)),
            "npmi": npmi_coherence(topic_terms, docs),
            "diversity": topic_diversity(topic_terms),
            "n_topics": int(len(set(topics)))}


def baseline_topics(docs: list[str], method: str, n_topics: int, random_state: int = 42,
                    top_n: int = 10) -> tuple[np.ndarray, list[list[str]]]:
    """Baselines: ``"lda"`` (scikit-learn LDA on counts) or ``"tfidf-kmeans"``.

    Both use the same French stop words and ``min_df`` as the topic model.

    Returns:
        One topic per document and the top terms of each topic.

    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    kw = {"stop_words": french_stop_words(), "token_pattern": r"(?u)\b\w[\w-]+\b",
          "min_df": auto_params(len(docs))["min_df"]}
    if method == "lda":
        vec = CountVectorizer(**kw)
        x = vec.fit_transform(docs)
        lda = LatentDirichletAllocation(n_components=n_topics, random_state=random_state,
                                        learning_method="batch", max_iter=20)
        labels = lda.fit_transform(x).argmax(axis=1)
        weights = lda.components_
    elif method == "tfidf-kmeans":
        vec = TfidfVectorizer(sublinear_tf=True, **kw)
        x = vec.fit_transform(docs)
        km = KMeans(n_clusters=n_topics, n_init=10, random_state=random_state).fit(x)
        labels, weights = km.labels_, km.cluster_centers_
    else:
        raise ValueError(f"unknown baseline '{method}'; use 'lda' or 'tfidf-kmeans'.")
    vocab = vec.get_feature_names_out()
    terms = [[vocab[i] for i in np.argsort(-w, kind="stable")[:top_n]] for w in weights]
    return np.asarray(labels), terms
