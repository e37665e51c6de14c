"""Scoring topics: agreement with human labels, coherence, diversity, and two baselines.

Used by ``benchmarks/topics.py`` and the tests to choose and check the topic model's
defaults: :func:`evaluate_topics` gives NMI and ARI against human themes, NPMI coherence
(:func:`npmi_coherence`) and diversity (:func:`topic_diversity`) of the top terms;
:func:`baseline_topics` fits scikit-learn LDA or TF-IDF + k-means with the topic model's
stop words and ``min_df``.
"""

from __future__ import annotations

import math

import numpy as np

from consultations.topics.embeddings import lemma_vectorizer
from consultations.topics.slots import auto_params

__all__ = ["baseline_topics", "evaluate_topics", "npmi_coherence", "topic_diversity"]


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
    """NMI, AMI and ARI of topics against human labels, NPMI coherence and diversity of terms.

    NMI grows with the number of topics even by chance; AMI (adjusted for chance) does not,
    so compare numbers of topics on both.
    """
    from sklearn.metrics import (
        adjusted_mutual_info_score,
        adjusted_rand_score,
        normalized_mutual_info_score,
    )

    return {"nmi": float(normalized_mutual_info_score(labels_true, topics)),
            "ami": float(adjusted_mutual_info_score(labels_true, topics)),
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

    min_df = auto_params(len(docs))["min_df"]
    if method == "lda":
        vec = lemma_vectorizer("count", min_df=min_df)
        x = vec.fit_transform(docs)
        lda = LatentDirichletAllocation(n_components=n_topics, random_state=random_state,
                                        learning_method="batch", max_iter=20)
        labels = lda.fit_transform(x).argmax(axis=1)
        weights = lda.components_
    elif method == "tfidf-kmeans":
        vec = lemma_vectorizer("tfidf", sublinear_tf=True, min_df=min_df)
        x = vec.fit_transform(docs)
        km = KMeans(n_clusters=n_topics, n_init=10, random_state=random_state).fit(x)
        labels, weights = km.labels_, km.cluster_centers_
    else:
        raise ValueError(f"référence inconnue « {method} » ; utilisez « lda » ou « tfidf-kmeans ».")
    vocab = vec.get_feature_names_out()
    terms = [[vocab[i] for i in np.argsort(-w, kind="stable")[:top_n]] for w in weights]
    return np.asarray(labels), terms
