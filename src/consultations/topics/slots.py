"""Topic-model parts chosen by corpus size, the number of topics, and spherical k-means.

The number of topics is chosen by stability across seeds (:func:`choose_k` over
:func:`candidate_ks`): on the labelled sets of ``benchmarks/topics.py`` it agrees better with
human themes than the former k = √n/3.

Used by :class:`consultations.topics.model.TopicModel` (and by the baselines of
:mod:`consultations.topics.evaluate`, so that they get the same parameters).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["K_MAX", "MIN_MEAN_TOPIC_SIZE", "STABILITY_RUNS", "STABILITY_STARTS",
           "TIE_MARGIN", "SphericalKMeans",
           "auto_params", "candidate_ks", "choose_k"]

#: Most topics the automatic choice considers: a brief with more emergent themes than this
#: cannot be read (the drafting team names and checks each one); set n_topics to go beyond.
K_MAX = 20
#: The automatic choice keeps k ≤ segments / this: a topic needs about this many segments on
#: average for a reader to name it.
MIN_MEAN_TOPIC_SIZE = 10
#: Spherical k-means fits (different seeds) per candidate k, and k-means++ starts per fit.
STABILITY_RUNS = 5
STABILITY_STARTS = 3
#: Candidates whose stability is within this margin of the best count as tied: the smallest
#: of them is chosen (fewer topics are easier to read).
TIE_MARGIN = 0.01


def auto_params(n: int, n_topics: int | None = None, min_topic_size: int | None = None) -> dict:
    """Choose model sizes from the number of segments ``n``.

    Returns:
        ``k`` (k-means topics: ``n_topics``, else the former rule √n/3, which
        :class:`~consultations.topics.model.TopicModel` replaces by :func:`choose_k`),
        ``min_topic_size`` (HDBSCAN), ``n_neighbors`` and
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


class SphericalKMeans:
    """k-means on the unit sphere: cosine assignment to L2-normalised centroids.

    Plain k-means on unit vectors favours centroids of small norm (diffuse clusters), since
    ``|x - c|² = 1 + |c|² - 2 x·c``: short, vague segments then gather in one residual
    catch-all topic. Normalising the centroids at every step removes that pull.

    Args:
        n_clusters: number of clusters.
        n_init: k-means++ restarts of the Euclidean start (best inertia kept).
        max_iter: spherical refinement steps.
        random_state: seed of the start.

    """

    def __init__(self, n_clusters=8, n_init=10, max_iter=50, random_state=42):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    @staticmethod
    def _unit(x: np.ndarray) -> np.ndarray:
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    def fit(self, x, y=None) -> SphericalKMeans:
        """Start from Euclidean k-means on unit rows, then iterate cosine assignments."""
        from sklearn.cluster import KMeans

        x = self._unit(np.asarray(x, dtype=np.float64))
        km = KMeans(n_clusters=self.n_clusters, n_init=self.n_init,
                    random_state=self.random_state).fit(x)
        centers, labels = self._unit(km.cluster_centers_), km.labels_
        for _ in range(self.max_iter):
            new = (x @ centers.T).argmax(axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            for j in range(self.n_clusters):  # an emptied cluster keeps its centre
                if np.any(labels == j):
                    centers[j] = x[labels == j].sum(axis=0)
            centers = self._unit(centers)
        self.cluster_centers_, self.labels_ = centers, labels.astype(int)
        return self

    def predict(self, x) -> np.ndarray:
        """Nearest centroid by cosine."""
        return (self._unit(np.asarray(x, dtype=np.float64)) @ self.cluster_centers_.T).argmax(1)


def candidate_ks(n: int, k_max: int = K_MAX, min_mean_size: int = MIN_MEAN_TOPIC_SIZE) -> list[int]:
    """Candidate numbers of topics for ``n`` segments: a roughly geometric grid from 3.

    The grid (3, 4, 5, 6, 8, 10, 12, 15, 18, 20, 22, 27, 33, 40) is cut at
    ``min(k_max, n // min_mean_size)``; at least ``[2]``.
    """
    top = min(k_max, n // max(1, min_mean_size))
    grid = [k for k in (3, 4, 5, 6, 8, 10, 12, 15, 18, 20, 22, 27, 33, 40) if k <= top]
    return grid or [2]


def choose_k(x, candidates=None, runs: int = STABILITY_RUNS, random_state: int = 42,
             tie_margin: float = TIE_MARGIN, starts: int = STABILITY_STARTS
             ) -> tuple[int, list[dict]]:
    """Choose the number of topics by stability across seeds.

    For each candidate k, :class:`SphericalKMeans` (best of ``starts`` k-means++ starts) is
    fitted ``runs`` times with different seeds on the embeddings ``x``; the score is the mean
    pairwise adjusted Rand index between those partitions (1 = every seed finds the same
    topics; 0 = chance agreement).
    The k with the best score is chosen; candidates within ``tie_margin`` — or within one
    standard error of the best score, when that is larger (the « one-standard-error » rule:
    seed-to-seed noise is not a reason for more topics) — are tied and the smallest wins.

    Returns:
        The chosen k and one row per candidate: ``k, stability, stability_sd, chosen``.

    """
    from itertools import combinations

    from sklearn.metrics import adjusted_rand_score

    x = np.asarray(x, dtype=np.float64)
    cands = list(candidates) if candidates is not None else candidate_ks(len(x))
    cands = sorted({int(k) for k in cands if 2 <= k < len(x)}) or [2]
    rows = []
    for k in cands:
        labels = [SphericalKMeans(n_clusters=k, n_init=starts, random_state=random_state * 1000 + r)
                  .fit(x).labels_ for r in range(runs)]
        scores = [adjusted_rand_score(a, b) for a, b in combinations(labels, 2)] or [1.0]
        rows.append({"k": k, "stability": round(float(np.mean(scores)), 4),
                     "stability_sd": round(float(np.std(scores)), 4)})
    top = max(rows, key=lambda r: (r["stability"], -r["k"]))
    n_pairs = max(1, runs * (runs - 1) // 2)
    margin = max(tie_margin, top["stability_sd"] / np.sqrt(n_pairs))
    chosen = min(r["k"] for r in rows if r["stability"] >= top["stability"] - margin)
    for r in rows:
        r["chosen"] = r["k"] == chosen
    return chosen, rows
