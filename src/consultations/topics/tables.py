"""Topics against the codebook and the stakeholder groups: the tables analysts review.

Given a fitted :class:`~consultations.topics.model.TopicModel`:

- codebook guidance: seed lemmas per code for seeded topic modelling
  (:func:`seed_words_from_codebook`), the closest code of each topic (:func:`zero_shot_codes`)
  and each code described in c-TF-IDF terms (:func:`code_terms`, manual topic modelling);
- :func:`crosswalk`: overlap of every topic with every code (shared segments, Jaccard, lift),
  with :data:`NEW_THEME` for a topic no code covers;
- :func:`topics_per_group`: topics per stakeholder group, normalised by group size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from consultations.core.schema import TABLES
from consultations.topics.embeddings import as_bertopic_backend, lemma_vectorizer

__all__ = [
    "JACCARD_THRESHOLD",
    "NEW_THEME",
    "ZERO_SHOT_THRESHOLD",
    "code_terms",
    "crosswalk",
    "seed_words_from_codebook",
    "topics_per_group",
    "zero_shot_codes",
]

#: What the crosswalk calls a topic that no code covers (analysts read it: French).
NEW_THEME = "nouveau thème"
#: A topic matches a code when their Jaccard overlap reaches this value.
JACCARD_THRESHOLD = 0.10
#: A topic is assigned zero-shot to a code when their cosine similarity reaches this value.
ZERO_SHOT_THRESHOLD = 0.30


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


def zero_shot_codes(model, codebook: pd.DataFrame,
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


def code_terms(model, codings: pd.DataFrame, codebook: pd.DataFrame | None = None,
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
    vec = lemma_vectorizer("count", extra_stop_words=model.stop_extra_, ngram_range=(1, 2))
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
                     "terms": "; ".join(model.forms_.display_all(
                         w for w, _ in (bt.get_topic(int(t)) or []) if w))})
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


def topics_per_group(model) -> pd.DataFrame:
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
        words = {(int(r.Topic), str(r.Class)):
                 "; ".join(model.forms_.display_all(w.strip() for w in str(r.Words).split(",")
                                                    if w.strip()))
                 for r in tpc.itertuples()}
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
                         "group_terms": words.get((int(t), g), "")})
    return pd.DataFrame(rows, columns=cols)
