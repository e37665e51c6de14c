"""Recommendations: link each one to the codes it addresses, cluster near-duplicates.

Rules (defaults in :data:`DEFAULTS`, override with ``settings.extra["recommendations"]``):

- **Normalised words.** Text (or ``lemmas`` when the table has them) is lower-cased,
  accent-folded and split on non-letters; a final ``s``/``x`` is dropped from words of more
  than three letters, so ``milices`` meets the keyword ``milice``.
- **Links** (``rec_links``): the similarity of a recommendation and a code is the cosine of
  word TF-IDF vectors (accent-folded words cut to their first ``stem`` (6) letters, French stop
  words out, fitted on the recommendations and the codes' label + definition + include +
  keywords + examples). A code is linked when the similarity is ≥ ``link_threshold`` (0.30),
  or when one of the code's keywords (``codebook.keywords``, ``; ``-separated; a multi-word
  keyword must occur as a contiguous sequence) occurs in the recommendation *and* the
  similarity is ≥ ``keyword_min_similarity`` (0.12): one shared word alone (« rapprocher »
  in a recommendation on detention) is not a link. Both thresholds were chosen on the
  labelled recommendations of ATL1–ATL3 and checked on ATL4–ATL5
  (``benchmarks/recommendations.py``, labels in ``benchmarks/data/rec_code_labels.csv``).
  ``score`` = 1.0 when a keyword matched, else the cosine (the cosine is always kept in
  ``similarity``). ``method`` ∈ ``règle`` (keyword, similarity below ``link_threshold``),
  ``similarité``, ``règle + similarité``. A recommendation with no link gets no row in
  ``rec_links``; it stays in ``rec_clusters`` with ``link_status`` = « non rattachée », no
  code and no axis.
- **Clusters** (``rec_clusters``): similarity = mean of the cosine of character 3–5-gram
  TF-IDF and of word TF-IDF (plus, optionally, an embedding cosine given by the caller,
  averaged in with the same weight). Average-linkage agglomerative clustering on 1 −
  similarity, cut at ``1 − cluster_threshold`` (0.35): two recommendations end in one cluster
  when their average similarity is at least 0.35. Deterministic: inputs sorted by ``rec_id``,
  clusters numbered ``R01…`` by their first recommendation. The representative is the
  recommendation most similar on average to the others (ties: smallest ``rec_id``).
- **Groups.** ``groups`` = the groups whose position (``rec_group_matrix``, see
  :mod:`consultations.compare.endorsements`) is « soutient » on at least one recommendation of
  the cluster — who spoke for it in the discussion, not who was in the room;
  ``opposing_groups`` likewise for « s'oppose ». ``workshop_groups`` keeps who was in the
  room: the stakeholder groups of the non-facilitator speakers of the cluster's workshops,
  and ``workshop_group_weights`` their weight (sum, over the cluster's workshops, of the
  group's share of the workshop's non-facilitator speakers; a workshop weighs 1 in total).
  ``contested_note``: the clause of a recommendation's own text saying it is disputed
  (« position contestée par l'élu présent »); it never counts as support.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from consultations.compare import endorsements
from consultations.core.textutils import fold

__all__ = ["DEFAULTS", "cluster_recommendations", "link_recommendations", "normalise",
           "run", "workshop_groups"]

DEFAULTS: dict = {"link_threshold": 0.30, "keyword_min_similarity": 0.12, "stem": 6,
                  "cluster_threshold": 0.35, **endorsements.DEFAULTS}

_LINK_COLS = ["rec_id", "code_id", "score", "method", "similarity", "keywords_matched"]
_CLUSTER_COLS = ["cluster_id", "rec_id", "workshop_id", "text", "is_representative",
                 "workshops", "groups", "n_workshops", "n_recs", "opposing_groups",
                 "workshop_groups", "workshop_group_weights", "code_ids", "axes",
                 "link_status", "contested_note", "similarity_to_representative"]


def normalise(text: str) -> list[str]:
    """Lower-case, fold accents, split on non-letters and drop a plural ``s``/``x``."""
    words = re.findall(r"[a-z]+", fold(str(text)))
    return [w[:-1] if len(w) > 3 and w[-1] in "sx" else w for w in words]


def _stop() -> list[str]:
    from consultations.core.textutils import stop_word_tokens

    return sorted({t for w in stop_word_tokens() for t in normalise(w)})


def _keywords(cell) -> list[list[str]]:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return []
    items = cell if isinstance(cell, list | tuple | np.ndarray) else str(cell).split(";")
    return [normalise(k) for k in items if normalise(k)]


def _contains(words: list[str], kw: list[str]) -> bool:
    n = len(kw)
    return any(words[i:i + n] == kw for i in range(len(words) - n + 1))


def _rec_words(recs: pd.DataFrame) -> list[list[str]]:
    col = "lemmas" if "lemmas" in recs.columns else "text"
    return [normalise(t) for t in recs[col].fillna("")]


def _examples(cell) -> str:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return ""
    if isinstance(cell, list | tuple | np.ndarray):
        return " ".join(map(str, cell))
    return str(cell)


def _stems(text: str, stem: int) -> str:
    return " ".join(w[:stem] for w in normalise(text) if len(w) > 1)


def link_recommendations(recs: pd.DataFrame, codebook: pd.DataFrame, *,
                         threshold: float = 0.30, keyword_min_similarity: float = 0.12,
                         stem: int = 6, keep_all: bool = False) -> pd.DataFrame:
    """Link recommendations to codes by similarity, and by keyword when not too dissimilar.

    Args:
        recs: the recommendations table (``rec_id``, ``text``; ``lemmas`` used if present).
        codebook: the flattened codebook.
        threshold: minimum cosine for a link on similarity alone.
        keyword_min_similarity: minimum cosine for a link by keyword.
        stem: letters kept per word.
        keep_all: return every (recommendation, code) pair with its features, linked or
            not (``linked`` column), for benchmarks.

    Returns:
        ``rec_links`` sorted by ``rec_id`` then descending score.

    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    cols = _LINK_COLS + (["linked"] if keep_all else [])
    if recs.empty or codebook.empty:
        return pd.DataFrame(columns=cols)
    recs = recs.sort_values("rec_id")
    words = _rec_words(recs)
    codes = codebook.astype({"code_id": str}).sort_values("code_id")
    kws = [_keywords(k) for k in codes.get("keywords", pd.Series([None] * len(codes)))]
    desc = [_stems(" ".join(str(r.get(c, "") or "") for c in ("label", "definition", "include"))
                   + " " + _examples(r.get("keywords")) + " " + _examples(r.get("examples")),
                   stem) for _, r in codes.iterrows()]
    stop = sorted({w[:stem] for w in _stop()})
    vec = TfidfVectorizer(stop_words=stop, sublinear_tf=True, token_pattern=r"[a-z]{2,}")
    docs = [" ".join(w[:stem] for w in ws if len(w) > 1) for ws in words]
    try:
        vec.fit(desc + docs)
        sim = cosine_similarity(vec.transform(docs), vec.transform(desc))
    except ValueError:  # only stop words
        sim = np.zeros((len(docs), len(desc)))
    rows = []
    for i, rec_id in enumerate(recs["rec_id"]):
        for j, code_id in enumerate(codes["code_id"]):
            hit = [" ".join(k) for k in kws[j] if _contains(words[i], k)]
            s = float(sim[i, j])
            linked = s >= threshold or (bool(hit) and s >= keyword_min_similarity)
            if not linked and not keep_all:
                continue
            method = ("règle + similarité" if hit and s >= threshold
                      else "règle" if hit else "similarité")
            row = {"rec_id": rec_id, "code_id": code_id, "score": 1.0 if hit else s,
                   "method": method, "similarity": s, "keywords_matched": "; ".join(hit)}
            if keep_all:
                row["linked"] = linked
            rows.append(row)
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["rec_id", "score", "code_id"], ascending=[True, False, True]
                           ).reset_index(drop=True)


def workshop_groups(segments: pd.DataFrame) -> pd.DataFrame:
    """Per workshop and group, the share of the workshop's non-facilitator speakers."""
    from consultations.core.schema import participant_segments

    segs = participant_segments(segments)
    n = segs.groupby(["workshop_id", "group_code"])["speaker"].nunique().rename("n_speakers")
    n = n.reset_index()
    n["weight"] = n["n_speakers"] / n.groupby("workshop_id")["n_speakers"].transform("sum")
    return n.sort_values(["workshop_id", "group_code"]).reset_index(drop=True)


def _similarity(texts: list[str], extra: np.ndarray | None = None) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    folded = [" ".join(normalise(t)) for t in texts]
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    word = TfidfVectorizer(stop_words=_stop(), sublinear_tf=True, token_pattern=r"[a-z]{2,}")
    sims = [cosine_similarity(char.fit_transform(folded))]
    try:
        sims.append(cosine_similarity(word.fit_transform(folded)))
    except ValueError:  # only stop words
        pass
    if extra is not None:
        sims.append(cosine_similarity(extra))
    s = np.mean(sims, axis=0)
    np.fill_diagonal(s, 1.0)
    return np.clip(s, 0.0, 1.0)


def _join(values) -> str:
    return ", ".join(sorted({str(v) for v in values if str(v)}))


def cluster_recommendations(recs: pd.DataFrame, segments: pd.DataFrame | None = None, *,
                            threshold: float = 0.35, embeddings: np.ndarray | None = None,
                            matrix: pd.DataFrame | None = None,
                            links: pd.DataFrame | None = None,
                            codebook: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cluster near-duplicate recommendations across workshops.

    Args:
        recs: the recommendations table.
        segments: to know which groups took part in each workshop (optional).
        threshold: minimum average similarity within a cluster.
        embeddings: optional document vectors, one row per recommendation in ``rec_id``
            order, whose cosine is averaged with the lexical similarities.
        matrix: ``rec_group_matrix`` (who supported / opposed each recommendation); without
            it, ``groups`` and ``opposing_groups`` are empty.
        links: ``rec_links``, for ``code_ids``, ``axes`` and ``link_status``.
        codebook: to read each linked code's axis.

    Returns:
        ``rec_clusters``: one row per recommendation, clusters numbered ``R01…``.

    """
    from sklearn.cluster import AgglomerativeClustering

    if recs.empty:
        return pd.DataFrame(columns=_CLUSTER_COLS)
    recs = recs.sort_values("rec_id").reset_index(drop=True)
    sim = _similarity(recs["text"].fillna("").tolist(), embeddings)
    if len(recs) == 1:
        labels = np.array([0])
    else:
        labels = AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average",
            distance_threshold=1.0 - threshold).fit_predict(1.0 - sim)
    order = {lab: k for k, lab in enumerate(dict.fromkeys(labels))}
    width = max(2, len(str(len(order))))
    recs["cluster_id"] = [f"R{order[lab] + 1:0{width}d}" for lab in labels]
    wg = workshop_groups(segments) if segments is not None else pd.DataFrame(
        columns=["workshop_id", "group_code", "n_speakers", "weight"])
    mx = matrix if matrix is not None else pd.DataFrame(
        columns=["rec_id", "group_code", "position"])
    lk = links if links is not None else pd.DataFrame(columns=["rec_id", "code_id"])
    axis_of = {}
    if codebook is not None and "axis" in codebook:
        axis_of = {str(c): ("" if pd.isna(a) else str(a)) for c, a in
                   zip(codebook["code_id"], codebook["axis"], strict=True)}
    rows = []
    for cid, idx in recs.groupby("cluster_id", sort=True).groups.items():
        idx = list(idx)
        sub = sim[np.ix_(idx, idx)]
        mean = (sub.sum(axis=1) - 1) / max(len(idx) - 1, 1)
        rep = idx[int(np.argmax(np.round(mean, 10)))]
        ws = sorted(recs.loc[idx, "workshop_id"].unique())
        w = wg[wg["workshop_id"].isin(ws)].groupby("group_code")["weight"].sum()
        w = w.sort_index().sort_values(ascending=False, kind="stable")
        cm = mx[mx["rec_id"].isin(recs.loc[idx, "rec_id"])]
        for i in idx:
            rec = recs.loc[i]
            codes = lk.loc[lk["rec_id"] == rec["rec_id"], "code_id"].astype(str).tolist()
            rows.append({"cluster_id": cid, "rec_id": rec["rec_id"],
                         "workshop_id": rec["workshop_id"], "text": rec["text"],
                         "is_representative": i == rep, "workshops": ", ".join(ws),
                         "groups": _join(cm.loc[cm["position"] == endorsements.SUPPORT,
                                                "group_code"]),
                         "n_workshops": len(ws), "n_recs": len(idx),
                         "opposing_groups": _join(cm.loc[cm["position"] == endorsements.OPPOSE,
                                                         "group_code"]),
                         "workshop_groups": ", ".join(sorted(w.index)),
                         "workshop_group_weights": ", ".join(
                             f"{g} ({v:.2f})".replace(".", ",") for g, v in w.items()),
                         "code_ids": ", ".join(sorted(set(codes))),
                         "axes": _join(axis_of.get(c, "") for c in codes),
                         "link_status": "rattachée" if codes else "non rattachée",
                         "contested_note": endorsements.contested_note(rec["text"]),
                         "similarity_to_representative": float(sim[i, rep])})
    return pd.DataFrame(rows, columns=_CLUSTER_COLS).sort_values(
        ["cluster_id", "rec_id"]).reset_index(drop=True)


def run(tables, settings) -> dict[str, pd.DataFrame]:
    """Build the recommendation tables from the catalog (used by compare).

    Returns:
        ``rec_links``, ``rec_clusters``, ``rec_endorsements`` and ``rec_group_matrix``
        (the last two empty when there is no ``segments`` table).

    """
    extra = getattr(settings, "extra", None) or {}
    p = {**DEFAULTS, **(extra.get("recommendations") or {})}
    recs = tables["recommendations"]
    segments = tables["segments"] if "segments" in tables else None
    links = link_recommendations(recs, tables["codebook"], threshold=p["link_threshold"],
                                 keyword_min_similarity=p["keyword_min_similarity"],
                                 stem=p["stem"])
    if segments is not None:
        endorse, matrix = endorsements.run(tables, settings)
    else:
        endorse = pd.DataFrame(columns=endorsements.ENDORSEMENT_COLS)
        matrix = pd.DataFrame(columns=endorsements.MATRIX_COLS)
    clusters = cluster_recommendations(recs, segments, threshold=p["cluster_threshold"],
                                       matrix=matrix, links=links, codebook=tables["codebook"])
    return {"rec_links": links, "rec_clusters": clusters, "rec_endorsements": endorse,
            "rec_group_matrix": matrix}
