"""Tests of consultations.ingest.clean: normalisation with offset map, pseudonyms, redaction."""

from __future__ import annotations

import pandas as pd

from consultations.ingest import clean, redact


def _mt(text: str) -> clean.MappedText:
    return clean.MappedText(text, list(range(len(text))), list(range(1, len(text) + 1)))


def test_clean_typography_and_whitespace():
    raw = "  L\u2019état\u00a0: « oui »\u202f!\t\tbien  "
    assert clean.normalise_text(raw) == "L'état : « oui » ! bien"


def test_clean_mojibake_and_nfc_keep_map():
    raw = "Le prÃ©fet de SÃ©gou a dit e\u0301tat."
    mt = clean.clean_mapped(_mt(raw))
    assert mt.text == "Le préfet de Ségou a dit état."
    # every cleaned word maps back to the source word it came from
    a = mt.text.index("Ségou")
    s, e = mt.source_span(a, a + len("Ségou"))
    assert raw[s:e] == "SÃ©gou"
    a = mt.text.index("préfet")
    assert raw.__getitem__(slice(*mt.source_span(a, a + 6))) == "prÃ©fet"


def test_clean_markdown_markers_removed_only_in_markdown():
    assert clean.normalise_text("le **budget**", markdown=True) == "le budget"
    assert clean.normalise_text("le **budget**") == "le **budget**"


def test_clean_stage_directions():
    text = "Oui (rires) et [inaudible] puis (la police) [00:41:10 — coupure]"
    found = [text[a:b] for a, b in clean.stage_direction_spans(text)]
    assert found == ["(rires)", "[inaudible]", "[00:41:10 — coupure]"]
    assert clean.speech_from_source("Ségou (rires). Bien") == "Ségou. Bien"
    assert clean.speech_from_source("Ségou (rires) et\n(brouhaha)\nBien") == "Ségou et Bien"


def test_clean_name_patterns():
    assert redact.name_patterns("Col. Bakary SANGARÉ") == ["bakary sangare", "sangare"]
    assert redact.name_patterns("Facilitatrice") == []
    assert redact.name_patterns("DIARRA") == ["diarra"]


def test_clean_assign_pseudonyms_deterministic_order():
    speakers = pd.DataFrame({
        "workshop_id": ["W2", "W1", "W1", "W1", "W2"],
        "speaker": ["Awa KONÉ", "Awa Kone", "Ali TOURÉ", "Facilitatrice", "Facilitatrice"],
        "stakeholder_group": ["Organisations de la société civile"] * 3 + ["Facilitation"] * 2,
        "line": [1, 2, 3, 4, 5],
    })
    first = pd.DataFrame({"workshop_id": ["W1", "W1", "W1", "W2"],
                          "speaker": ["Ali TOURÉ", "Awa Kone", "Facilitatrice", "Awa KONÉ"],
                          "turn_n": [2, 3, 1, 5]})
    before = speakers.copy()
    out = redact.assign_pseudonyms(speakers, first)
    keys = zip(out["workshop_id"], out["speaker"], strict=True)
    pseudo = dict(zip(keys, out["pseudonym"], strict=True))
    assert pseudo[("W1", "Ali TOURÉ")] == "OSC-01"
    assert pseudo[("W1", "Awa Kone")] == "OSC-02" == pseudo[("W2", "Awa KONÉ")]
    assert pseudo[("W1", "Facilitatrice")] == "FAC-01"
    pd.testing.assert_frame_equal(speakers, before)  # input not mutated


def test_clean_redactions_contacts_and_titles():
    text = ("Le commandant Issa Dembélé et le colonel Sangaré : appelez le 76 45 12 38, "
            "le +223 66 12 34 56 ou a.b@ong.ml. Mme Rokia Maïga viendra à Ségou en 2020 "
            "avec 10 000 000 francs.")
    spans = redact.find_redactions(text, {"bakary sangare": "FDS-01", "sangare": "FDS-01",
                                         "maiga": "JUS-01"})
    out = redact.apply_redactions(_mt(text), spans).text
    assert out == ("Le commandant [PERSONNE] et le colonel [FDS-01] : appelez le [TÉLÉPHONE], "
                   "le [TÉLÉPHONE] ou [COURRIEL]. Mme [PERSONNE] viendra à Ségou en 2020 "
                   "avec 10 000 000 francs.")


def test_clean_redaction_map_covers_source_span():
    text = "Merci Mme Awa Traoré pour tout."
    spans = redact.find_redactions(text, {})
    mt = redact.apply_redactions(_mt(text), spans)
    a = mt.text.index("[PERSONNE]")
    s, e = mt.source_span(a, a + len("[PERSONNE]"))
    assert text[s:e] == "Awa Traoré"
