"""The agreed columns of the tables passed between stages (the data contract).

Stages take and return pandas DataFrames with at least these columns, in this order first.
:func:`check_columns` lets a stage say clearly when a frame does not follow the contract.
All text columns of tables passed downstream hold pseudonymised text only.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["OPTIONAL_COLUMNS", "TABLES", "check_columns", "participant_mask",
           "participant_segments", "truthy"]

TABLES: dict[str, list[str]] = {
    # workshops.csv, validated; dates as ISO strings (YYYY-MM-DD).
    "workshops": ["workshop_id", "title", "date", "location", "file", "recommendations_file"],
    # One row per speaker label per workshop, without names (names stay in data/private/).
    # `is_collective`: a label that names no single person (« Plusieurs députés du groupe
    # UMP », « Un participant »): kept in the corpus, out of every count of people.
    "speakers": ["workshop_id", "speaker", "stakeholder_group", "group_code", "role",
                 "gender", "is_facilitator", "is_collective"],
    # One row per speaker turn. `speaker` is the pseudonym (e.g. FDS-03); `text` is cleaned,
    # redacted speech without stage directions; offsets are into the decoded source text
    # (char_end exclusive), lines are 1-based and inclusive.
    "turns": ["turn_id", "workshop_id", "turn_n", "speaker", "stakeholder_group", "group_code",
              "role", "gender", "is_facilitator", "is_collective", "timestamp", "text",
              "stage_directions", "n_words", "source_file", "line_start", "line_end",
              "char_start", "char_end"],
    # One row per sentence segment (spaCy French). `lemmas`: space-joined lower-case lemmas
    # of the alphabetic, non-punctuation tokens, stop words included.
    "segments": ["segment_id", "turn_id", "workshop_id", "seg_n", "speaker",
                 "stakeholder_group", "group_code", "is_facilitator", "is_collective", "text",
                 "lemmas",
                 "n_words", "source_file", "line_start", "line_end", "char_start", "char_end"],
    # One row per recommendation of a workshop's list.
    "recommendations": ["rec_id", "workshop_id", "rec_n", "text", "source_file", "line_start",
                        "line_end"],
    # The stakeholder groups (transcripts/groups.csv, or the defaults, plus any undeclared
    # label met in participants.csv): every output takes labels and colours from here.
    "groups": ["group_code", "stakeholder_group", "colour", "order", "declared",
               "is_facilitation"],
    # Per input file: where every character went (nothing is lost silently).
    "file_report": ["file", "kind", "encoding", "chars_read", "chars_speech",
                    "chars_stage_directions", "chars_headers", "chars_dropped", "note"],
    # The codebook, flattened (one row per code).
    "codebook": ["code_id", "label", "definition", "include", "exclude", "parent", "axis",
                 "keywords", "examples", "line"],
    # One row per (segment, code, source, coder). source ∈ rule | model | manual | review |
    # topic; the code stage adds an extra column `probability` (automatic codings).
    "codings": ["segment_id", "code_id", "source", "coder", "codebook_version", "evidence",
                "matched_text", "negated", "note", "origin_file", "origin_line"],
    # One row per anchored part of a human coding (manual row, review decision, .qdpx
    # coding): where it was made (recorded_segment_id, quote), where it is now (segment_id,
    # empty when orphaned), status ∈ kept | moved | orphaned | new, similarity of the text
    # (1 = same), code_changed (the code's definition/patterns changed since: re-review).
    "coding_anchors": ["kind", "origin_file", "origin_line", "code_id", "coder",
                       "recorded_segment_id", "segment_id", "status", "similarity",
                       "code_changed", "quote", "source_file", "char_start", "char_end"],
    # Every coder (declared in coded/coders.csv or found in the codings): only double coders
    # count in agreement and as references of the rules' quality (consultations.coding.coders).
    "coders": ["coder", "declared", "double_coder", "description", "n_codings", "n_segments",
               "n_subset_segments", "role"],
    # Each decision of a review conflict (« Conflits de revue »): who decided what, when, and
    # whether it stands (the rule of consultations.coding.review).
    "review_conflict_decisions": ["segment_id", "code_id", "text", "reviewer", "decision",
                                  "import_date", "origin_file", "origin_line", "stands",
                                  "why"],
    # Review decisions on which different reviewers disagree (« Conflits de revue »): the pair
    # stays unverified (its automatic coding is kept as is) until one decision settles it.
    "review_conflicts": ["segment_id", "code_id", "reviewers", "decisions", "files",
                         "status"],
    # Topic assignment per segment (topic -1 = outlier when not reduced).
    "topic_assignments": ["segment_id", "topic", "topic_label", "probability"],
    "topic_info": ["topic", "label", "count", "terms", "representation"],
    # Automatic number of topics: one row per candidate k (stability across seeds).
    "topic_selection": ["k", "stability", "stability_sd", "chosen"],
    # Topic ↔ code crosswalk and topics per stakeholder group.
    "topic_crosswalk": ["topic", "topic_label", "code_id", "shared", "jaccard", "lift",
                        "best_code", "is_new_theme"],
    "topics_per_group": ["topic", "topic_label", "group_code", "stakeholder_group", "count",
                         "group_segments", "share_of_group"],
    # Code × group, counted three ways (segments, distinct speakers, workshops), facilitators out.
    "code_group_counts": ["code_id", "label", "group_code", "stakeholder_group", "n_segments",
                          "n_speakers", "n_workshops", "group_segments", "group_words",
                          "rate_segments", "per_1000_words"],
    "code_group_tests": ["code_id", "label", "chi2", "dof", "p_value", "p_adj", "method",
                         "cramers_v", "significant", "min_expected", "warning",
                         "interpretation"],
    "code_group_residuals": ["code_id", "group_code", "observed", "expected", "residual",
                             "significant"],
    "distinctive_terms": ["group_code", "term", "log_odds", "z", "rank", "example_segment_id",
                          "example_text"],
    "consensus": ["code_id", "label", "n_groups_above", "groups_above", "consensus_index",
                  "classification"],
    "rec_links": ["rec_id", "code_id", "score", "method"],
    "rec_clusters": ["cluster_id", "rec_id", "workshop_id", "text", "is_representative",
                     "workshops", "groups", "n_workshops"],
    # Who spoke for or against each recommendation in its workshop (one row per speaker);
    # method ∈ numéro | paraphrase | réponse. `groups` of rec_clusters = groups whose position is
    # « soutient ».
    "rec_endorsements": ["rec_id", "speaker", "stakeholder_group", "group_code", "stance",
                         "segment_ids", "method", "confidence"],
    # Recommendation × group present in its workshop: soutient | s'oppose | partagé |
    # non discuté.
    "rec_group_matrix": ["rec_id", "stakeholder_group", "group_code", "position",
                         "n_support", "n_oppose", "segment_ids"],
    # One row per theme (code): the evidence the drafting team reads.
    "evidence_by_theme": ["code_id", "label", "axis", "axis_label", "definition", "n_segments",
                          "n_speakers", "n_workshops", "n_groups", "groups", "group_rates",
                          "p_adj", "test_summary", "consensus_class", "rec_clusters",
                          "agreement_alpha", "strength", "strength_reason"],
    "evidence_quotes": ["code_id", "rank", "segment_id", "speaker", "stakeholder_group",
                        "workshop_id", "source_file", "line_start", "text"],
    "evidence_by_axis": ["axis", "axis_label", "codes", "options_summary", "supporting_groups",
                         "opposing_groups", "recommendations", "strength"],
    # One row per (workshop, speaker, position question): the speaker's stance.
    "positions": ["workshop_id", "speaker", "stakeholder_group", "question", "stance", "source",
                  "confidence", "verified", "segment_ids"],
    # Per question and group: then n_<option> (one per option code), n_reserve, majority
    # (option id, « partagé », « à vérifier » or « non exprimé ») and classification.
    "group_positions": ["question", "stakeholder_group", "n_speakers"],
    "position_summary": ["question", "label", "options", "classification", "holders"],
    "open_decisions": ["question", "label", "axis", "classification", "options", "holders",
                       "speakers_by_option", "strength", "verification"],
    "position_quotes": ["question", "option", "segment_id", "speaker", "stakeholder_group",
                        "workshop_id", "source_file", "line_start", "text"],
    "participation": ["group_code", "stakeholder_group", "participants", "women", "men",
                      "speakers", "segments", "words", "share_words"],
}


#: Columns a table may lack (tables made before they existed, or by hand): read as false.
OPTIONAL_COLUMNS = {"is_collective"}


def check_columns(df: pd.DataFrame, table: str, where: str = "") -> None:
    """Raise a clear error when ``df`` lacks a column the contract requires for ``table``."""
    missing = [c for c in TABLES[table] if c not in df.columns and c not in OPTIONAL_COLUMNS]
    if missing:
        raise ValueError(
            f"{where or table} : il manque à la table « {table} » la ou les colonnes "
            f"{missing} ; attendu au moins {TABLES[table]}."
        )


def truthy(s: pd.Series) -> pd.Series:
    """Return a boolean column from booleans or from text (true/1/yes/oui/vrai)."""
    if s.dtype == bool:
        return s
    return s.map(lambda v: str(v).strip().lower() in {"true", "1", "yes", "oui", "vrai"}
                 if pd.notna(v) else False).astype(bool)


def participant_mask(segments: pd.DataFrame) -> pd.Series:
    """Return ``True`` on the rows of identified participants (see :func:`participant_segments`)."""
    keep = pd.Series(True, index=segments.index)
    for col in ("is_facilitator", "is_collective"):
        if col in segments:
            keep &= ~truthy(segments[col])
    return keep


def participant_segments(segments: pd.DataFrame) -> pd.DataFrame:
    """Rows of identified participants only.

    Facilitators and collective or anonymous voices (``is_collective``: « Plusieurs
    députés… », « Un participant ») are kept in the corpus, out of every comparison: the unit
    of evidence is a person.
    """
    keep = participant_mask(segments)
    return segments if bool(keep.all()) else segments[keep]
