"""The topics stage: fit the topic model, then its tables (crosswalk, per group, code terms)."""

from __future__ import annotations

import time

import pandas as pd

from consultations.core.errors import warn_input
from consultations.core.io import read_columns
from consultations.core.progress import progress_bar
from consultations.topics.model import SAMPLE_SIZE, TopicModel
from consultations.topics.tables import (
    code_terms,
    crosswalk,
    seed_words_from_codebook,
    topics_per_group,
    zero_shot_codes,
)

__all__ = ["SEGMENT_COLUMNS", "run_stage"]

#: The columns of ``segments`` the stage uses (read alone from the catalog: provenance
#: columns such as lines, characters and source file never reach memory here).
SEGMENT_COLUMNS = ["segment_id", "turn_id", "workshop_id", "speaker", "stakeholder_group",
                   "group_code", "is_facilitator", "text", "lemmas"]


def run_stage(tables, paths, settings) -> dict:
    """Fit topics on the segments and build the tables analysts review.

    Returns:
        ``topic_assignments``, ``topic_info``, ``topic_crosswalk``, ``topics_per_group``,
        ``code_terms``, ``topic_selection`` (candidates of the automatic number of topics
        and their stability; empty when ``n_topics`` is set) and ``_summary``.

    """
    t_start = time.perf_counter()
    segments = read_columns(tables, "segments", SEGMENT_COLUMNS)
    missing = [c for c in SEGMENT_COLUMNS if c not in segments.columns]
    if missing:
        raise ValueError(f"étape topics : il manque à la table « segments » la ou les colonnes "
                         f"{missing} ; attendu au moins {SEGMENT_COLUMNS}.")
    codebook = tables["codebook"] if "codebook" in tables else None
    codings = tables["codings"] if "codings" in tables else None
    extra = getattr(settings, "extra", {}) or {}
    seeded = extra.get("topics_seeded", True)
    seeds = seed_words_from_codebook(codebook) if codebook is not None and seeded else None
    for g, sub in segments.groupby("group_code"):
        if sub["is_facilitator"].fillna(False).astype(bool).all():
            continue
        if not (sub["lemmas"].fillna("").str.strip() != "").any():
            warn_input(None, None, f"le groupe {g} n'a aucun segment avec des mots à modéliser : "
                       "il est laissé hors des thèmes.",
                       "vérifiez ses transcriptions et ses lignes de participants.csv.")
    cache = paths.interim / "embeddings" if paths is not None else None
    workshops = tables["workshops"] if "workshops" in tables else None
    places = (tuple(workshops["location"].dropna().astype(str))
              if workshops is not None and "location" in workshops.columns else ())
    bar = progress_bar(2, "[topics] ajustement, affectation, tableaux", "étapes")
    model = TopicModel(embedding=settings.embedding, reduction=settings.reduction,
                       clustering=settings.clustering, n_topics=settings.n_topics,
                       seed_words=seeds, random_state=settings.seed,
                       embedding_model_path=settings.embedding_model_path,
                       cache_dir=cache, place_names=places,
                       sample_size=getattr(settings, "topic_sample_size", SAMPLE_SIZE)
                       ).fit(segments)
    sample = model.summary_.get("sample") or {}
    bar.set_postfix(ajustés=sample.get("n_sampled", len(model.assignments_)),
                    affectés=len(model.assignments_), thèmes=model.summary_.get("n_topics"),
                    refresh=False)
    bar.update(1)
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
    bar.update(1)
    bar.close()
    timings["total"] = round(time.perf_counter() - t_start, 3)
    summary = {**model.summary_, "guided": codebook is not None,
               "crosswalk": codings is not None,
               "new_themes": int(cw.drop_duplicates("topic")["is_new_theme"].sum())
               if not cw.empty else 0}
    return {"topic_assignments": model.assignments_, "topic_info": info,
            "topic_crosswalk": cw, "topics_per_group": tpg, "code_terms": terms,
            "topic_selection": model.selection_,
            "_summary": summary}
