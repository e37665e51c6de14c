"""Groups as data, names from labels, every person and place, and inputs read whole.

Fast tests (no spaCy model): issue 13 (groups, redaction rules) and issue 14 items 2, 4, 5, 6
and the NUL byte / ambiguous date.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from consultations.core.config import GroupSet, load_groups, read_groups
from consultations.core.errors import InputError, InputWarning
from consultations.ingest import clean, readers, redact
from consultations.ingest import turns as ingest


def _warnings(fn, *a, **k):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        out = fn(*a, **k)
    return out, [w.message for w in caught if isinstance(w.message, InputWarning)]


# --------------------------------------------------------------------------- groups

def test_groups_csv_declares_codes_colours_order(tmp_path):
    p = tmp_path / "groups.csv"
    p.write_text("stakeholder_group,code,colour,order\nUMP,UMP,#0055A4,2\nUDI,,#00AAFF,1\n"
                 "Gouvernement,GOUV,,3\n", encoding="utf-8")
    g = read_groups(p)
    assert [x.code for x in g] == ["UDI", "UMP", "GOUV", "FAC"]
    assert g.get("ump").colour == "#0055A4" and g.get("Gouvernement").colour.startswith("#")
    assert g.get("Facilitation").is_facilitation  # added when not declared
    table = g.table()
    assert list(table["group_code"]) == ["UDI", "UMP", "GOUV", "FAC"]


def test_groups_code_collision_names_both_labels(tmp_path):
    p = tmp_path / "groups.csv"
    p.write_text("stakeholder_group,code\nGDR,GD\nGouvernement,GD\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_groups(p)
    assert "GDR" in str(e.value) and "Gouvernement" in str(e.value) and e.value.line == 3


def test_groups_sample_file_is_the_mali_list(sample_data_dir):
    g = load_groups(sample_data_dir / "transcripts")
    assert g.labels() == {"FDS": "Forces de défense et de sécurité",
                          "DEC": "Acteurs de la décentralisation",
                          "OSC": "Organisations de la société civile",
                          "PTF": "Partenaires internationaux",
                          "JUS": "Secteur de la justice", "FAC": "Facilitation"}


def test_undeclared_groups_unique_codes_one_warning_per_label(tmp_path):
    wpath = tmp_path / "participants.csv"
    labels = ["UMP", "UDI", "GDR", "Gouvernement", "SRC", "Écologiste", "Non-inscrits",
              "Non renseigné", "RRDP"]
    rows = ["workshop_id,speaker,stakeholder_group,role,gender"]
    for i in range(40):
        rows.append(f"S1,Personne {i},{labels[i % len(labels)]},,")
    rows.append("S1,le président,Facilitation,,")
    wpath.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ws = pd.DataFrame({"workshop_id": ["S1"]})
    groups = GroupSet([])
    parts, warns = _warnings(ingest.read_participants, wpath, ws, groups)
    codes = {lab: groups.code(lab) for lab in labels}
    assert len(set(codes.values())) == len(labels), codes
    assert codes["UMP"] != codes["UDI"] and codes["GDR"] != codes["Gouvernement"]
    group_warns = [w for w in warns if "non déclaré" in w.message]
    assert len(group_warns) == len(labels)
    assert all(redact.PLACEHOLDER_RE.fullmatch(f"[{c}-01]") for c in codes.values())


# --------------------------------------------------------------------------- names from labels

def test_split_label_name_part_titles_and_roles():
    assert redact.split_label("Erwann Binet, rapporteur de la commission des lois de la "
                              "République")[1] == "Erwann Binet"
    assert redact.split_label("Commissaire div. Abdoulaye MAÏGA")[1] == "Abdoulaye MAÏGA"
    assert redact.split_label("Lieutenant-colonel Issa TRAORÉ")[1] == "Issa TRAORÉ"
    assert redact.split_label("Imam Ousmane YATTARA")[1] == "Ousmane YATTARA"
    for role_only in ("le président", "Un député du groupe UMP", "Facilitatrice",
                      "Mme la garde des sceaux"):
        assert redact.split_label(role_only)[1] == "", role_only
    forms = redact.name_patterns("Dominique Bertinotti,ministre déléguée chargée de la famille.")
    assert forms == ["dominique bertinotti", "bertinotti"]
    assert not {"famille", "la famille", "avis", "republique", "parlement"} & set(
        redact.name_patterns("Jean Dupont, rapporteur pour avis de la famille, de la "
                             "République et du Parlement"))


def _index(rows):
    sp = pd.DataFrame(rows, columns=["workshop_id", "speaker", "pseudonym"])
    return redact.NameIndex.build(sp, common={"fort", "roman", "famille"})


def _red(text, idx, workshop=None):
    return redact.redact_field(text, idx, workshop)


def test_ordinary_words_of_labels_survive():
    idx = _index([("S1", "Marie-Louise Fort", "UMP-01"),
                  ("S1", "Erwann Binet, rapporteur pour avis de la République", "SRC-01"),
                  ("S1", "Bernard Roman", "SRC-02")])
    text = ("Fort bien ! Notre avis est fort, pour la République et la famille. "
            "Mme Marie-Louise Fort et M. Binet ; le roman national.")
    out = _red(text, idx, "S1")
    assert out == ("Fort bien ! Notre avis est fort, pour la République et la famille. "
                   "Mme [UMP-01] et M. [SRC-01] ; le roman national.")


def test_ambiguous_surname_needs_context():
    idx = _index([("W1", "M. Adama BALLO", "OSC-02"), ("W5", "Mme Haoua BALLO", "DEC-16"),
                  ("W1", "Mme Awa KONÉ", "OSC-03"), ("W1", "M. Issa KONÉ", "FDS-04")])
    assert _red("Monsieur Ballo ?", idx, "W1") == "Monsieur [OSC-02] ?"  # the workshop decides
    assert _red("Monsieur Ballo ?", idx, "W9") == "Monsieur [PERSONNE] ?"
    assert _red("Madame Koné a raison.", idx, "W1") == "Madame [PERSONNE] a raison."
    assert _red("Awa Koné a raison.", idx, "W1") == "[OSC-03] a raison."


def test_first_names_and_non_participants():
    idx = _index([("W1", "Mme Kadiatou TRAORÉ", "OSC-01"), ("W1", "Lt. Moussa KEITA", "FDS-01"),
                  ("W1", "Capitaine Ibrahim KANTÉ", "FDS-02")])
    assert _red("celle de Kadiatou et Ibrahim", idx, "W1") == "celle de [OSC-01] et [FDS-02]"
    out = _red("selon modibo keita, Modibo Keita et Oumar Keita", idx, "W1")
    assert "FDS-01" not in out and "modibo" not in out.lower() and "oumar" not in out.lower()
    assert out.count("[PERSONNE]") == 3
    # A non-participant is never given a participant's pseudonym.
    assert _red("Ibrahim Sidibé est venu", idx, "W1") == "[PERSONNE] est venu"
    assert _red("Mme Rokia Tessougué et le colonel Siriman Kodio", idx, "W1") == \
        "Mme [PERSONNE] et le colonel [PERSONNE]"


@pytest.mark.parametrize("phone", [
    "76/12/34/57", "76 12 34 57", "76.12.34.57", "76-12-34-57", "76123457",
    "+223 76 12 34 57", "00223 76 12 34 57", "(+223) 76.12.34.57", "+22376123457",
    "06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "0033 6 12 34 56 78",
    "+33 (0)6 12 34 56 78",
])
def test_phone_forms(phone):
    assert _red(f"Appelez le {phone} demain.", {}) == "Appelez le [TÉLÉPHONE] demain."


@pytest.mark.parametrize("mail", [
    "oumar.togola@gmail.com", "oumar.togola (at) gmail.com", "oumar.togola[at]gmail.com",
    "oumar.togola arobase gmail.com", "oumar.togola at gmail dot com",
    "oumar.togola (arobase) yahoo (point) fr",
])
def test_email_forms(mail):
    assert _red(f"Écrivez à {mail} svp.", {}) == "Écrivez à [COURRIEL] svp."


def test_dates_and_amounts_are_not_phones():
    text = "Le 12/03/2019, 10 000 000 FCFA, en 2019-2020, article 12.34."
    assert _red(text, {}) == text


def test_file_label_redacted_when_it_carries_a_name():
    idx = _index([("ATL1", "Col. Bakary SANGARÉ", "FDS-01")])
    assert redact.redact_file_label("atelier1_fds_SANGARE_Bakary.txt", idx, "ATL1",
                                    "transcription") == "ATL1_transcription.txt"
    assert redact.redact_file_label("atelier1_fds.txt", idx, "ATL1",
                                    "transcription") == "atelier1_fds.txt"


def test_csv_field_with_a_name():
    idx = _index([("ATL2", "M. Siaka DAOU", "DEC-01")])
    assert _red("Domicile de M. Siaka DAOU", idx, "ATL2") == "Domicile de M. [DEC-01]"
    assert _red("Domicile de M. Seydou DOLO", idx, "ATL2") == "Domicile de M. [PERSONNE]"


# --------------------------------------------------------------------------- stable pseudonyms

def _participants(rows):
    return pd.DataFrame([{"workshop_id": w, "speaker": s, "stakeholder_group": g, "role": "",
                          "gender": "", "line": i + 2} for i, (w, s, g) in enumerate(rows)])


def test_pseudonyms_stable_when_a_workshop_is_removed():
    rows = [("W1", "M. Ali DIA", "Secteur de la justice"),
            ("W1", "Mme Awa SY", "Forces de défense et de sécurité"),
            ("W2", "M. Oumar BA", "Forces de défense et de sécurité"),
            ("W2", "M. Issa TALL", "Forces de défense et de sécurité")]
    first = redact.assign_pseudonyms(_participants(rows))
    key = first.rename(columns={"speaker": "label"})
    again = redact.assign_pseudonyms(_participants(rows[2:]), previous=key)
    before = dict(zip(first["speaker"], first["pseudonym"], strict=True))
    after = dict(zip(again["speaker"], again["pseudonym"], strict=True))
    assert after == {k: before[k] for k in after}
    added = redact.assign_pseudonyms(_participants(rows + [
        ("W3", "Mme Fanta DIALL", "Forces de défense et de sécurité")]), previous=key)
    assert added.set_index("speaker").loc["Mme Fanta DIALL", "pseudonym"] == "FDS-04"


def test_person_id_and_label_variants_join_one_person():
    df = _participants([("S1", "Dominique Bertinotti,ministre déléguée.", "Gouvernement"),
                        ("S1", "Dominique Bertinotti,ministre déléguée chargée de la famille.",
                         "Gouvernement"),
                        ("S2", "Mme D. Bertinotti", "Gouvernement")])
    df["person_id"] = ["", "", "DB"]
    out = redact.assign_pseudonyms(df)
    assert out["pseudonym"].iloc[0] == out["pseudonym"].iloc[1] != out["pseudonym"].iloc[2]
    df["person_id"] = ["DB", "DB", "DB"]
    assert len(set(redact.assign_pseudonyms(df)["pseudonym"])) == 1


def test_collective_labels_are_voices_not_people(tmp_path):
    """« Plusieurs députés… » and « Un participant » name nobody: numbered apart, never one
    person across workshops, out of every count of people (participant_segments)."""
    from consultations.core.schema import participant_segments

    df = _participants([("S1", "Mme Awa SY", "SRC"),
                        ("S1", "Plusieurs députés du groupe SRC", "SRC"),
                        ("S1", "Un député du groupe SRC", "SRC"),
                        ("S2", "Un député du groupe SRC", "SRC"),
                        ("S2", "M. Ali DIA", "SRC")])
    out = redact.assign_pseudonyms(df)
    assert list(out["is_collective"]) == [False, True, True, True, False]
    assert list(out["pseudonym"]) == ["SRC-01", "SRC-V01", "SRC-V02", "SRC-V03", "SRC-02"]
    # a later run keeps every pseudonym and numbers a new voice after the highest in use
    key = out.rename(columns={"speaker": "label"})
    more = redact.assign_pseudonyms(pd.concat([df, _participants(
        [("S3", "Plusieurs voix", "SRC")])], ignore_index=True), previous=key)
    assert list(more["pseudonym"]) == ["SRC-01", "SRC-V01", "SRC-V02", "SRC-V03", "SRC-02",
                                       "SRC-V04"]
    # the participants.csv column wins over the wording
    df["collective"] = ["", "non", "", "", "oui"]
    flags = redact.assign_pseudonyms(df)["is_collective"].tolist()
    assert flags == [False, False, True, True, True]
    segs = pd.DataFrame({"segment_id": ["a", "b", "c"], "is_facilitator": [False, False, True],
                         "is_collective": [False, True, False]})
    assert participant_segments(segs)["segment_id"].tolist() == ["a"]


def test_participants_collective_column_is_checked(tmp_path):
    ws = pd.DataFrame({"workshop_id": ["S1"]})
    p = tmp_path / "participants.csv"
    p.write_text("workshop_id,speaker,stakeholder_group,collective\n"
                 "S1,Plusieurs voix,OSC,oui\nS1,Mme Awa SY,OSC,peut-être\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        ingest.read_participants(p, ws)
    assert exc.value.line == 3 and "collective" in str(exc.value)


# --------------------------------------------------------------------------- encodings

FRENCH = ("Le préfet\u00a0: « la sécurité » à Ségou\u00a0; c’est l’État… — déjà\u00a0! "
          "Où êtes-vous\u00a0?\nIl a dit\u00a0: été, élève, à côté.\n")


def test_cp1252_french_with_no_break_spaces_decodes():
    dec = readers.decode_bytes(FRENCH.encode("cp1252"))
    assert dec.text == FRENCH and dec.encoding == "cp1252"


def test_latin1_french_with_no_break_spaces_decodes():
    text = FRENCH.replace("’", "'").replace("…", "...").replace("—", "-")
    dec = readers.decode_bytes(text.encode("latin-1"))
    assert dec.text == text and dec.encoding == "latin-1"


def test_mixed_encodings_still_reported_with_line():
    data = (FRENCH * 3).encode("utf-8") + "Une ligne en Windows : été\n".encode("cp1252")
    with pytest.raises(InputError) as e:
        readers.decode_bytes(data, "x.txt")
    assert e.value.line == 7 and "mélangés" in str(e.value)


def test_nul_byte_warned_and_removed_from_speech():
    text = "A : bonjour\nB : au\x00revoir\n"
    dec, warns = _warnings(readers.decode_bytes, text.encode("utf-8"), "t.txt")
    assert warns and warns[0].line == 2 and "NUL" in warns[0].message
    p = ingest.parse_transcript(dec.text, ["A", "B"], "t.txt", "W")
    cleaned = clean.clean_turns(p.turns, {"t.txt": dec.text})
    assert "\x00" not in "".join(cleaned["text"]) and cleaned["text"].iloc[1] == "aurevoir"


def test_ambiguous_date_warned():
    iso, warns = _warnings(readers.parse_date, "03/04/2019", "workshops.csv", 3)
    assert iso == "2019-04-03"
    assert warns and "03/04/2019" in warns[0].message and warns[0].line == 3
    _, warns = _warnings(readers.parse_date, "25/07/2019", "workshops.csv", 2)
    assert not warns


# --------------------------------------------------------------------------- inputs read whole

_TEXTBOX = (
    '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
    '<mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:txbx><w:txbxContent>'
    '<w:p><w:r><w:t>M. Ali DIA : Une intervention dans une zone de texte.</w:t></w:r></w:p>'
    '</w:txbxContent></wps:txbx></w:drawing></mc:Choice><mc:Fallback><w:pict>'
    '<w:txbxContent><w:p><w:r><w:t>M. Ali DIA : Une intervention dans une zone de texte.</w:t>'
    '</w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>'
)


def test_docx_tables_text_boxes_and_headers_read(tmp_path):
    import docx
    from lxml import etree

    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = "Atelier 9 — document de travail"
    d.add_paragraph("Facilitatrice : Bienvenue.")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "M. Ali DIA", "Je parle dans un tableau."
    t.cell(1, 0).text, t.cell(1, 1).text = "Mme Awa SY", "Moi aussi."
    p = d.add_paragraph("Facilitatrice : Merci.")
    p._p.append(etree.fromstring(_TEXTBOX))
    d.add_paragraph("Mme Awa SY : Fin.")
    path = tmp_path / "w.docx"
    d.save(path)
    dec = readers.read_text_file(path)
    assert dec.text.split("\n") == [
        "Facilitatrice : Bienvenue.", "M. Ali DIA : Je parle dans un tableau.",
        "Mme Awa SY : Moi aussi.", "Facilitatrice : Merci.",
        "M. Ali DIA : Une intervention dans une zone de texte.", "Mme Awa SY : Fin."]
    assert dec.extra_headers == len("Atelier 9 — document de travail")
    parsed = ingest.parse_transcript(dec.text, ["Facilitatrice", "M. Ali DIA", "Mme Awa SY"],
                                     "w.docx", "W9")
    assert len(parsed.turns) == 6
    assert parsed.chars_by_speaker["M. Ali DIA"] == len("Je parle dans un tableau.") + len(
        "Une intervention dans une zone de texte.")


def test_xlsx_title_row_merged_and_second_sheet(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Liste"
    ws.append(["Recommandations de l'atelier 4", None])
    ws.merge_cells("A1:B1")
    ws.append(["numero", "recommandation"])
    ws.append([1, "Former les agents."])
    ws.append([2, "Financer les communes."])
    other = wb.create_sheet("Notes")
    other.append(["Une note à ne pas perdre de vue."])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    (recs, rep), warns = _warnings(readers.read_recommendations, path)
    assert list(recs["text"]) == ["Former les agents.", "Financer les communes."]
    assert list(recs["line_start"]) == [3, 4]
    assert "Liste" in rep["note"] and "titre 1" in rep["note"]
    assert any("Notes" in w.message for w in warns)


# --------------------------------------------------------------------------- transcript conventions

LONG = ("Erwann Binet, rapporteur de la commission des lois constitutionnelles, de la "
        "législation et de l'administration générale de la République")


def test_long_labels_and_label_variants():
    labels = ["le président", LONG, "Dominique Bertinotti,ministre déléguée.",
              "Hervé Mariton"]
    text = (f"le président : La parole est au rapporteur.\n{LONG} : Merci.\n"
            "Hervé Mariton : C'est faux !\nErwann Binet,rapporteur : Je maintiens.\n"
            "Dominique Bertinotti,ministre déléguée chargée de la famille. : Avis favorable.\n"
            "Erwann Binet : Encore.\n")
    p = ingest.parse_transcript(text, labels, "s.txt", "S1")
    assert list(p.turns["speaker"]) == ["le président", LONG, "Hervé Mariton", LONG,
                                        "Dominique Bertinotti,ministre déléguée.", LONG]
    assert p.report["chars_dropped"] == 0


def test_label_like_paragraph_stays_in_turn_and_is_listed():
    text = ("A : Bonjour.\nDe même pour la GPA : c'est parce que nous avons relancé le sujet.\n"
            "B : Oui.\n")
    p, warns = _warnings(ingest.parse_transcript, text, ["A", "B"], "s.txt", "S1")
    assert len(p.turns) == 2 and p.unmatched == [(2, "De même pour la GPA")]
    assert warns and warns[0].line == 2 and "s.txt" in str(warns[0])
    with pytest.raises(InputError) as e:
        ingest.parse_transcript(text, ["A", "B"], "s.txt", "S1", strict=True)
    assert e.value.line == 2


def test_stage_directions_by_form_and_configurable():
    text = ("A : Oui. (Vives exclamations sur les bancs du groupe UMP.) Je continue.\n"
            "(Mêmes mouvements.)\nA : (maire, préfet ou commandant) et (Bruits de couloir) "
            "(tambours)\n")
    p = ingest.parse_transcript(text, ["A"], "s.txt", "S1")
    sd = " ".join(p.turns["stage_directions"])
    assert "Vives exclamations" in sd and "Mêmes mouvements" in sd
    cleaned = clean.clean_turns(p.turns, {"s.txt": text})
    assert cleaned["text"].iloc[1] == "(maire, préfet ou commandant) et (tambours)"
    pat = clean.stage_direction_pattern(["tambours"])
    p2 = ingest.parse_transcript(text, ["A"], "s.txt", "S1", stage_directions=pat)
    assert "(tambours)" in p2.turns["stage_directions"].iloc[1]


def test_docs_path_beside_checkout_is_used_by_shared_tests():
    # The shared-data tests read ../shared/datasets beside the checkout.
    here = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
    from conftest import SHARED_DATASETS

    assert SHARED_DATASETS == here
