"""REFI-QDA exchange: .qdc/.qdpx export, XSD validation, round trip and import from other tools."""

from __future__ import annotations

import io
import re
import warnings
import zipfile

import pandas as pd
import pytest
from lxml import etree

from consultations.core.errors import InputError, InputWarning
from consultations.core.schema import TABLES
from consultations.interop import refiqda, refiqda_common, refiqda_import


@pytest.fixture()
def codebook() -> pd.DataFrame:
    """A small hierarchical codebook (flattened, as the code stage passes it)."""
    return pd.DataFrame([
        dict(code_id="MOY", label="Moyens matériels", definition="Manque de moyens logistiques.",
             include=["véhicules", "carburant"], exclude="formation", parent=None),
        dict(code_id="MOY-FORM", label="Formation des agents",
             definition="Formation initiale ou continue.", include="stages, écoles",
             exclude="", parent="MOY"),
        dict(code_id="CONF", label="Confiance police-population",
             definition="Relations entre forces de sécurité et habitants.",
             include="racket, abus", exclude="moyens", parent=None),
        dict(code_id="CONF-RACK", label="Racket", definition="Extorsion aux postes.",
             include="", exclude="", parent="CONF"),
        dict(code_id="GOUV", label="Gouvernance locale", definition="Rôle des élus locaux.",
             include="maire, comité", exclude="", parent=None),
    ])


@pytest.fixture()
def codings() -> pd.DataFrame:
    """Codings by two human coders and the rule coder (a segment coded twice by one coder)."""
    rows = [
        ("W1-T002-S01", "MOY", "manual", "Awa"),
        ("W1-T002-S02", "MOY-FORM", "manual", "Awa"),
        ("W1-T002-S02", "MOY-FORM", "manual", "Ibrahim"),
        ("W1-T003-S01", "CONF", "manual", "Ibrahim"),
        ("W1-T003-S01", "CONF-RACK", "manual", "Ibrahim"),
        ("W1-T003-S01", "CONF-RACK", "rule", "règles"),
        ("W2-T001-S01", "GOUV", "rule", "règles"),
    ]
    df = pd.DataFrame(rows, columns=["segment_id", "code_id", "source", "coder"])
    for col in TABLES["codings"]:
        if col not in df:
            df[col] = None
    return df[TABLES["codings"]]


@pytest.fixture()
def workshops() -> pd.DataFrame:
    return pd.DataFrame([
        dict(workshop_id="W1", title="Atelier de Ségou", date="2019-06-12", location="Ségou",
             file="w1.txt", recommendations_file=""),
        dict(workshop_id="W2", title="Atelier de validation", date="2020-03-04",
             location="Hôtel de l'Amitié, Bamako", file="w2.txt", recommendations_file=""),
    ])


@pytest.fixture()
def speakers(tiny_segments) -> pd.DataFrame:
    return tiny_segments[["workshop_id", "speaker", "stakeholder_group"]].drop_duplicates()


@pytest.fixture()
def qdpx(tmp_path, tiny_segments, codings, codebook, speakers, workshops):
    path = tmp_path / "project.qdpx"
    refiqda.project_to_qdpx(tiny_segments, codings, codebook, speakers, workshops, "1.2", path)
    return path


def _qde(path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("project.qde")


def _rezip(path, out, replace: dict[str, bytes | None]):
    """Copy a .qdpx, replacing (or dropping, with None) some members."""
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w") as zout:
        for name in zin.namelist():
            data = replace.get(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)
    return out


# --------------------------------------------------------------------------- codebook .qdc


def test_refiqda_qdc_validates_and_keeps_descriptions_and_hierarchy(tmp_path, codebook):
    path = refiqda.write_codebook_qdc(codebook, "1.2", tmp_path / "codebook.qdc")
    data = path.read_bytes()
    refiqda_common.validate_codebook(data)  # raises on failure
    root = etree.fromstring(data)
    assert etree.QName(root).namespace == refiqda_common.CODEBOOK_NS
    back = refiqda_import.read_codebook_qdc(data, codebook).set_index("code_id")
    assert set(back.index) == set(codebook["code_id"])
    for _, row in codebook.iterrows():
        got = back.loc[row["code_id"]]
        assert got["name"] == row["label"]
        assert got["description"] == refiqda.code_description(row)
        assert got["parent"] == (row["parent"] or "")
        assert got["guid"] == refiqda_common.code_guid(row["code_id"])
        assert got["is_codable"]
    desc = back.loc["MOY", "description"]
    assert desc.startswith("Manque de moyens logistiques.")
    assert "Inclure : véhicules; carburant" in desc and "Exclure : formation" in desc


def test_refiqda_qdc_is_deterministic_and_guids_stable_across_versions(codebook):
    a = refiqda.codebook_to_qdc(codebook, "1.2")
    assert a == refiqda.codebook_to_qdc(codebook.copy(), "1.2")
    b = refiqda.codebook_to_qdc(codebook, "1.3")
    guids = lambda x: re.findall(rb'guid="([^"]+)"', x)  # noqa: E731
    assert guids(a) == guids(b) and a != b


@pytest.mark.parametrize("broken, needle", [
    (b' isCodable="true"', "isCodable"),
    (b'guid="', "guid"),
])
def test_refiqda_validate_codebook_reports_first_error_with_line(codebook, broken, needle):
    data = refiqda.codebook_to_qdc(codebook, "1.2")
    bad = data.replace(broken, b' isCodable="peut-etre"' if needle == "isCodable"
                       else b'guid="not-a-guid', 1)
    with pytest.raises(InputError) as exc:
        refiqda_common.validate_codebook(bad, "codebook.qdc")
    assert exc.value.line == 4  # the first <Code> element
    assert needle in exc.value.message and "schéma" in exc.value.message


def test_refiqda_validate_codebook_accepts_standard_example_with_sets():
    doc = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
           b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="x"><Codes>'
           b'<Code guid="{5215cc69-b628-4e02-afb9-9beeaee55808}" name="Topics" '
           b'isCodable="false"><Code guid="d7aa29da-519b-4946-9b90-253b6db8fd0a" '
           b'name="Economy" isCodable="true" color="#ffff00"/></Code></Codes>'
           b'<Sets><Set guid="9fa9bcb7-5b59-47a9-8c3e-f65cffdc7520" name="S">'
           b'<MemberCode guid="d7aa29da-519b-4946-9b90-253b6db8fd0a"/></Set></Sets></CodeBook>')
    refiqda_common.validate_codebook(doc)
    with pytest.raises(InputError):
        refiqda_common.validate_codebook(doc.replace(b"CodeBook", b"Project"))


# --------------------------------------------------------------------------- project .qdpx


def test_refiqda_qdpx_validates_against_project_xsd(qdpx):
    qde = _qde(qdpx)
    refiqda_common.validate_project(qde)
    root = etree.fromstring(qde)
    assert etree.QName(root).namespace == refiqda_common.PROJECT_NS
    with zipfile.ZipFile(qdpx) as zf:
        names = zf.namelist()
    assert names[0] == "project.qde"
    assert sorted(names[1:]) == names[1:] and len(names) == 3
    for src in root.iter("{*}TextSource"):
        member = refiqda.SOURCES_FOLDER + "/" + src.get("plainTextPath").removeprefix(
            "internal://")
        assert member in names


def test_refiqda_qdpx_positions_point_at_segment_text(qdpx, tiny_segments):
    text_of = dict(zip(tiny_segments["segment_id"], tiny_segments["text"], strict=True))
    speaker_of = dict(zip(tiny_segments["turn_id"], tiny_segments["speaker"], strict=True))
    root = etree.fromstring(_qde(qdpx))
    n_coded = 0
    with zipfile.ZipFile(qdpx) as zf:
        for src in root.iter("{*}TextSource"):
            raw = zf.read(refiqda.SOURCES_FOLDER + "/"
                          + src.get("plainTextPath").removeprefix("internal://"))
            assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
            text = raw.decode("utf-8")
            for sel in src.iter("{*}PlainTextSelection"):
                a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
                name = sel.get("name")
                if sel.find("{*}Coding") is not None:
                    assert text[a:b] == text_of[name]
                    n_coded += 1
                else:  # a turn selection, linked to its speaker's case, never empty
                    assert text[a:b].startswith(f"{speaker_of[name]} : ")
                    assert sel.find("{*}Description").text == refiqda.turn_description(
                        name, speaker_of[name])
    assert n_coded == 6  # 7 codings → 6 (segment, coder) selections


def test_refiqda_qdpx_positions_are_code_points_with_accents_and_astral_chars(
        tmp_path, tiny_segments, codebook):
    segs = tiny_segments.copy()
    segs.loc[0, "text"] = "Écoutez 🙏 les élus."
    cod = pd.DataFrame({"segment_id": ["W1-T002-S01"], "code_id": ["MOY"],
                        "source": ["manual"], "coder": ["Awa"]})
    texts, spans = refiqda_common.source_texts(segs)
    row = spans[spans["id"] == "W1-T002-S01"].iloc[0]
    assert texts["W1"][row["start"]:row["end"]] == "Nous manquons de véhicules et de carburant."
    path = refiqda.project_to_qdpx(segs, cod, codebook, None, None, "1", tmp_path / "p.qdpx")
    back = refiqda_import.import_qdpx(path, segs, codebook)
    assert list(back["segment_id"]) == ["W1-T002-S01"]


def test_refiqda_qdpx_cases_users_and_variables(qdpx, speakers):
    root = etree.fromstring(_qde(qdpx))
    users = {u.get("name") for u in root.iter("{*}User")}
    assert {"Awa", "Ibrahim", refiqda.AUTO_USER} <= users and "règles" not in users
    variables = {v.get("guid"): v.get("name") for v in root.iter("{*}Variable")}
    assert set(variables.values()) == {"Groupe d'acteurs", "Atelier"}
    cases = {c.get("name"): c for c in root.iter("{*}Case")}
    assert set(cases) == set(speakers["speaker"])
    fds = {variables[v.find("{*}VariableRef").get("targetGUID")]: v.find("{*}TextValue").text
           for v in cases["FDS-01"].iter("{*}VariableValue")}
    assert fds == {"Groupe d'acteurs": "Forces de défense et de sécurité", "Atelier": "W1"}
    turn_guids = {s.get("guid") for s in root.iter("{*}PlainTextSelection")
                  if s.get("name") == "W1-T002"}
    assert {r.get("targetGUID") for r in cases["FDS-01"].iter("{*}SelectionRef")} == turn_guids
    # Every coding's creating user is the coder of its selection.
    user_name = {u.get("guid"): u.get("name") for u in root.iter("{*}User")}
    for sel in root.iter("{*}PlainTextSelection"):
        for c in sel.iter("{*}Coding"):
            assert c.get("creatingUser") == sel.get("creatingUser") in user_name


def test_refiqda_qdpx_is_byte_identical_across_runs_and_row_orders(
        tmp_path, tiny_segments, codings, codebook, speakers, workshops):
    a = refiqda.project_to_qdpx(tiny_segments, codings, codebook, speakers, workshops, "1.2",
                                tmp_path / "a.qdpx").read_bytes()
    shuffled = codings.sample(frac=1, random_state=3)
    b = refiqda.project_to_qdpx(tiny_segments, shuffled, codebook, speakers, workshops, "1.2",
                                tmp_path / "b.qdpx").read_bytes()
    assert a == b
    with zipfile.ZipFile(io.BytesIO(a)) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_refiqda_export_does_not_mutate_inputs(tmp_path, tiny_segments, codings, codebook,
                                                speakers, workshops):
    before = [df.copy() for df in (tiny_segments, codings, codebook, speakers, workshops)]
    refiqda.project_to_qdpx(tiny_segments, codings, codebook, speakers, workshops, "1.2",
                            tmp_path / "p.qdpx")
    after = (tiny_segments, codings, codebook, speakers, workshops)
    for old, new in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(old, new)


def test_refiqda_export_warns_and_skips_codings_of_unknown_codes(tmp_path, tiny_segments,
                                                                 codings, codebook):
    extra = pd.concat([codings, codings.head(1).assign(code_id="ABSENT")], ignore_index=True)
    with pytest.warns(InputWarning, match="absent"):
        path = refiqda.project_to_qdpx(tiny_segments, extra, codebook, None, None, "1",
                                       tmp_path / "p.qdpx")
    assert b"ABSENT" not in _qde(path)


# --------------------------------------------------------------------------- round trip


def test_refiqda_round_trip_gives_back_the_same_codings(qdpx, tiny_segments, codings,
                                                        codebook):
    with pytest.warns(UserWarning, match="2 codage"):
        back = refiqda_import.import_qdpx(qdpx, tiny_segments, codebook)
    assert list(back.columns) == TABLES["codings"]
    assert back.attrs["report"]["automatic_dropped"] == 2  # the rules' codings stay out
    human = codings[codings["source"] == "manual"]
    want = set(human[["segment_id", "code_id", "coder"]].itertuples(index=False, name=None))
    got = set(back[["segment_id", "code_id", "coder"]].itertuples(index=False, name=None))
    assert got == want
    assert set(back["source"]) == {"manual"}
    assert set(back["origin_file"]) == {str(qdpx)}
    assert set(back["codebook_version"]) == {"1.2"}
    text_of = dict(zip(tiny_segments["segment_id"], tiny_segments["text"], strict=True))
    assert all(back["matched_text"] == back["segment_id"].map(text_of))
    assert back["origin_line"].gt(1).all()
    # The project's own codebook round-trips too.
    cb = etree.tostring(etree.fromstring(_qde(qdpx)).find("{*}CodeBook"))
    codes = refiqda_import.read_codebook_qdc(cb, codebook).set_index("code_id")
    assert dict(codes["parent"]) == {r.code_id: r.parent or "" for r in codebook.itertuples()}


# --------------------------------------------------------------------------- other tools


def _foreign_qdpx(tmp_path, tiny_segments, selections, codes=None, user_name="Mariam"):
    """A .qdpx as another tool writes it: its own GUIDs, CRLF text, a different header."""
    w1 = tiny_segments[tiny_segments["workshop_id"] == "W1"]
    text = "Transcription importée\r\n\r\n" + "\r\n".join(
        f"{r.speaker}: {r.text}" for r in w1.itertuples())
    if codes is None:
        codes = [("Moyens matériels", "AAAAAAAA-0000-4000-8000-000000000001"),
                 ("Racket", "AAAAAAAA-0000-4000-8000-000000000002"),
                 ("Thème inconnu", "AAAAAAAA-0000-4000-8000-000000000003")]
    code_xml = "".join(f'<Code guid="{{{g}}}" name="{n}" isCodable="true"/>' for n, g in codes)
    user = "BBBBBBBB-0000-4000-8000-000000000001"
    sel_xml = ""
    for i, (start, end, code_guid) in enumerate(selections):
        sel_xml += (f'<PlainTextSelection guid="CCCCCCCC-0000-4000-8000-{i:012d}" '
                    f'startPosition="{start}" endPosition="{end}" creatingUser="{user}">'
                    f'<Coding guid="DDDDDDDD-0000-4000-8000-{i:012d}" creatingUser="{user}">'
                    f'<CodeRef targetGUID="{code_guid}"/></Coding></PlainTextSelection>')
    qde = (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" '
           f'name="NVivo" origin="NVivo 14"><Users><User guid="{user}" name="{user_name}"/>'
           f'</Users>'
           f'<CodeBook><Codes>{code_xml}</Codes></CodeBook><Sources>'
           f'<TextSource guid="EEEEEEEE-0000-4000-8000-000000000001" name="W1" '
           f'plainTextPath="internal://w1.txt">{sel_xml}</TextSource></Sources></Project>')
    path = tmp_path / "nvivo.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", qde)
        zf.writestr("sources/w1.txt", "\ufeff" + text)  # lower-case folder, BOM: both seen
    return path, text


def test_refiqda_import_maps_foreign_selections_by_overlap(tmp_path, tiny_segments, codebook):
    w1 = tiny_segments[tiny_segments["workshop_id"] == "W1"]
    probe, text = _foreign_qdpx(tmp_path, tiny_segments, [])
    s1, s2, s3 = (text.index(t) for t in w1["text"].iloc[1:4])
    l1, l2 = len(w1["text"].iloc[1]), len(w1["text"].iloc[2])
    moy, rack, unknown = ("AAAAAAAA-0000-4000-8000-00000000000" + d for d in "123")
    path, _ = _foreign_qdpx(tmp_path, tiny_segments, [
        (s1 + 5, s1 + 15, moy),                 # a quote inside S01 → S01
        (s1 + l1 - 10, s2 + l2 - 3, moy),       # a sliver of S01, most of S02 → S02 only
        (s3 - 8, s3 + 5, rack),                 # speaker label + 5 chars of OSC-01: < 50%
        (s3, s3 + 20, unknown),                 # a code we do not know
    ])
    with pytest.warns(InputWarning) as record:
        back = refiqda_import.import_qdpx(path, tiny_segments, codebook, version="1.2")
    messages = " ".join(str(w.message) for w in record)
    assert "Thème inconnu" in messages and "couvrent aucun segment" in messages
    got = set(back[["segment_id", "code_id", "coder"]].itertuples(index=False, name=None))
    assert got == {("W1-T002-S01", "MOY", "Mariam"), ("W1-T002-S02", "MOY", "Mariam")}
    assert back.attrs["report"]["unknown_codes"] == ["Thème inconnu"]


def test_refiqda_import_keeps_human_codings_under_the_tool_user_and_says_why(
        tmp_path, tiny_segments, codebook):
    """QualCoder names its coder after the project's first user (ours): codings made there."""
    w1 = tiny_segments[tiny_segments["workshop_id"] == "W1"]
    _, text = _foreign_qdpx(tmp_path, tiny_segments, [])
    s1 = text.index(w1["text"].iloc[1])
    path, _ = _foreign_qdpx(tmp_path, tiny_segments,
                            [(s1, s1 + 15, "AAAAAAAA-0000-4000-8000-000000000001")],
                            user_name=refiqda_import.TOOL_USER)
    with pytest.warns(InputWarning, match="QualCoder donne à un projet importé") as record:
        back = refiqda_import.import_qdpx(path, tiny_segments, codebook, version="1.2")
    assert any("Paramètres" in str(w.message) for w in record)
    assert list(back["coder"]) == [refiqda_import.TOOL_USER]  # kept, never dropped
    assert back.attrs["report"]["tool_user_kept"] == 1
    assert back.attrs["report"]["automatic_dropped"] == 0


def test_refiqda_import_matches_codes_by_description_identifier(tmp_path, tiny_segments,
                                                                codebook):
    _, text = _foreign_qdpx(tmp_path, tiny_segments, [])
    start = text.index("Le racket")
    path, _ = _foreign_qdpx(tmp_path, tiny_segments, [(start, start + 30, "A-1")], codes=[])
    qde = _qde(path).replace(b"<Codes></Codes>", (
        b'<Codes><Code guid="F0000000-0000-4000-8000-000000000001" name="Extorsion" '
        b'isCodable="true"><Description>Renomm\xc3\xa9\nIdentifiant : CONF-RACK</Description>'
        b'</Code></Codes>')).replace(b'targetGUID="A-1"',
                                     b'targetGUID="F0000000-0000-4000-8000-000000000001"')
    out = _rezip(path, tmp_path / "renamed.qdpx", {"project.qde": qde})
    back = refiqda_import.import_qdpx(out, tiny_segments, codebook)
    pairs = list(zip(back["segment_id"], back["code_id"], strict=True))
    assert pairs == [("W1-T003-S01", "CONF-RACK")]


# --------------------------------------------------------------------------- bad input


def test_refiqda_import_rejects_a_file_that_is_not_a_zip(tmp_path, tiny_segments, codebook):
    path = tmp_path / "projet.qdpx"
    path.write_text("ceci n'est pas une archive", encoding="utf-8")
    with pytest.raises(InputError, match="pas une archive de projet REFI-QDA") as exc:
        refiqda_import.import_qdpx(path, tiny_segments, codebook)
    assert exc.value.path == str(path)


def test_refiqda_import_rejects_an_archive_without_project_qde(qdpx, tmp_path, tiny_segments,
                                                              codebook):
    out = _rezip(qdpx, tmp_path / "sans.qdpx", {"project.qde": None})
    with pytest.raises(InputError, match="pas de project.qde"):
        refiqda_import.import_qdpx(out, tiny_segments, codebook)


def test_refiqda_import_reports_the_first_schema_error_with_its_line(qdpx, tmp_path,
                                                                    tiny_segments, codebook):
    qde = _qde(qdpx)
    lines = qde.decode("utf-8").split("\n")
    n = next(i for i, line in enumerate(lines, 1) if "<PlainTextSelection" in line)
    bad = qde.replace(b"<PlainTextSelection ", b"<PlainTextSelection bogus=\"1\" ", 1)
    out = _rezip(qdpx, tmp_path / "bad.qdpx", {"project.qde": bad})
    with pytest.raises(InputError) as exc:
        refiqda_import.import_qdpx(out, tiny_segments, codebook)
    assert exc.value.line == n
    assert "bogus" in exc.value.message and "project.qde" in exc.value.path


def test_refiqda_import_rejects_malformed_xml_with_its_line(qdpx, tmp_path, tiny_segments,
                                                           codebook):
    out = _rezip(qdpx, tmp_path / "bad.qdpx", {"project.qde": b"<?xml version='1.0'?>\n<a>\n"})
    with pytest.raises(InputError, match="mal formé") as exc:
        refiqda_import.import_qdpx(out, tiny_segments, codebook)
    assert exc.value.line == 3


def test_refiqda_import_rejects_positions_outside_the_source(qdpx, tmp_path, tiny_segments,
                                                            codebook):
    qde = _qde(qdpx)
    bad = re.sub(rb'endPosition="\d+"', b'endPosition="99999"', qde, count=1)
    line = bad[:bad.index(b'endPosition="99999"')].count(b"\n") + 1
    out = _rezip(qdpx, tmp_path / "bad.qdpx", {"project.qde": bad})
    with pytest.raises(InputError, match="sort de sa source") as exc:
        refiqda_import.import_qdpx(out, tiny_segments, codebook)
    assert exc.value.line == line


def test_refiqda_export_without_codings_is_valid_and_imports_empty(tmp_path, tiny_segments,
                                                                   codebook, workshops):
    empty = pd.DataFrame(columns=TABLES["codings"])
    path = refiqda.project_to_qdpx(tiny_segments, empty, codebook, None, workshops, "1",
                                   tmp_path / "p.qdpx")
    refiqda_common.validate_project(_qde(path))
    back = refiqda_import.import_qdpx(path, tiny_segments, codebook)
    assert back.empty and list(back.columns) == TABLES["codings"]


def test_refiqda_source_text_has_one_paragraph_per_turn(tiny_segments, workshops):
    texts, spans = refiqda_common.source_texts(tiny_segments, workshops)
    assert texts["W1"].startswith("Atelier W1 — Atelier de Ségou\n2019-06-12, Ségou\n\n")
    assert ("FDS-01 : Nous manquons de véhicules et de carburant. La formation des agents "
            "reste insuffisante.\n\nOSC-01 : ") in texts["W1"]
    assert (spans["kind"] == "segment").sum() == len(tiny_segments)
    assert (spans["kind"] == "turn").sum() == tiny_segments["turn_id"].nunique()


def test_refiqda_codebook_with_a_parent_cycle_is_refused(codebook):
    cyclic = codebook.assign(parent=codebook["parent"].where(codebook["code_id"] != "MOY",
                                                             "MOY-FORM"))
    with pytest.raises(ValueError, match="cycle"):
        refiqda.codebook_to_qdc(cyclic, "1")


# --------------------------------------------------------------------------- hostile files

_XXE = (b'<?xml version="1.0" encoding="utf-8"?>\n'
        b'<!DOCTYPE Project [<!ENTITY x SYSTEM "file:///etc/hostname">]>\n')
_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY a "aaaaaaaaaa">'
           b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
           b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>\n')


def _with_doctype(qde: bytes, prolog: bytes, entity: bytes) -> bytes:
    body = qde.split(b"?>", 1)[1].lstrip()
    return prolog + body.replace(b"<Description>", b"<Description>" + entity, 1)


@pytest.mark.parametrize("prolog, entity", [(_XXE, b"&x;"), (_LAUGHS, b"&c;")])
def test_refiqda_import_refuses_a_doctype_with_a_clear_error(qdpx, tmp_path, tiny_segments,
                                                             codebook, prolog, entity):
    bad = _with_doctype(_qde(qdpx), prolog, entity)
    assert entity in bad
    out = _rezip(qdpx, tmp_path / "hostile.qdpx", {"project.qde": bad})
    with pytest.raises(InputError) as exc:
        refiqda_import.import_qdpx(out, tiny_segments, codebook)
    assert "DOCTYPE" in exc.value.message and "project.qde" in exc.value.path
    assert "hostname" not in str(exc.value)  # the entity was never resolved


def test_refiqda_read_codebook_qdc_refuses_an_external_entity(codebook):
    data = refiqda.codebook_to_qdc(codebook, "1.2")
    bad = _with_doctype(data, _XXE.replace(b"Project", b"CodeBook"), b"&x;")
    with pytest.raises(InputError, match="DOCTYPE"):
        refiqda_import.read_codebook_qdc(bad, codebook, where="hostile.qdc")
    with pytest.raises(InputError, match="DOCTYPE"):
        refiqda_common.validate_codebook(bad, "hostile.qdc")


def _zeros_member(qdpx, out, name: str, size: int):
    """Copy a .qdpx and add a member of ``size`` zero bytes (streamed: small in memory)."""
    _rezip(qdpx, out, {})
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as zf, zf.open(name, "w") as fh:
        chunk = bytes(1 << 20)
        for _ in range(size // len(chunk)):
            fh.write(chunk)
    return out


def _point_source_at(qdpx, out, member: str):
    """Make the first coded source read its text from ``member`` of the archive."""
    qde = re.sub(rb'plainTextPath="[^"]*"', f'plainTextPath="internal://{member}"'.encode(),
                 _qde(qdpx), count=1)
    return _rezip(qdpx, out, {"project.qde": qde})


def test_refiqda_import_refuses_an_oversized_member_before_reading_it(qdpx, tmp_path,
                                                                      tiny_segments, codebook):
    src = _point_source_at(qdpx, tmp_path / "src.qdpx", "big.txt")
    out = _zeros_member(src, tmp_path / "big.qdpx", "Sources/big.txt", 8 << 20)
    assert out.stat().st_size < 100_000  # 8 MiB of zeros, tiny on disk
    with pytest.raises(InputError, match="trop volumineux") as exc:
        refiqda_import.import_qdpx(out, tiny_segments, codebook, member_limit=1 << 20,
                                   max_ratio=10_000)
    assert exc.value.path.endswith("!Sources/big.txt")
    with pytest.raises(InputError, match="bombe zip"):  # default limit: the ratio refuses it
        refiqda_import.import_qdpx(out, tiny_segments, codebook)


def test_refiqda_import_never_reads_members_it_does_not_need(qdpx, tmp_path, tiny_segments,
                                                             codings, codebook):
    out = _zeros_member(qdpx, tmp_path / "extra.qdpx", "Media/huge.bin", 8 << 20)
    back = refiqda_import.import_qdpx(out, tiny_segments, codebook, member_limit=1 << 20)
    assert len(back) == len(refiqda_import.import_qdpx(qdpx, tiny_segments, codebook))


def test_safe_zip_read_stops_at_the_limit_even_when_the_header_lies(tmp_path):
    from consultations.core.io import safe_zip_read

    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("m.txt", b"x" * 5000)
    with zipfile.ZipFile(path) as zf:
        assert safe_zip_read(zf, "m.txt", limit=5000) == b"x" * 5000
        zf.getinfo("m.txt").file_size = 100  # a header that understates the size
        with pytest.raises(InputError):
            safe_zip_read(zf, "m.txt", limit=1000)
        with pytest.raises(InputError, match="absent"):
            safe_zip_read(zf, "nope.txt")


def test_check_zip_refuses_a_bomb_before_a_library_opens_it(tmp_path):
    from consultations.core.io import check_zip

    ok = tmp_path / "ok.docx"
    with zipfile.ZipFile(ok, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", "<w:document/>" * 100)
    check_zip(ok)  # an ordinary archive passes
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf, \
            zf.open("xl/worksheets/sheet1.xml", "w") as fh:
        for _ in range(4):
            fh.write(bytes(1 << 20))
    with pytest.raises(InputError, match="trop compressé") as exc:
        check_zip(bomb)
    assert exc.value.path.endswith("!xl/worksheets/sheet1.xml")
    with pytest.raises(InputError, match="trop volumineuse"):
        check_zip(bomb, max_ratio=1e9, total_limit=1 << 20)


def test_refiqda_taguette_csv_and_empty_sets_read_with_warning(tmp_path, codebook):
    import csv

    from consultations.interop.refiqda_common import validate_codebook

    path = refiqda.write_taguette_csv(codebook, tmp_path / "codebook_taguette.csv")
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["tag", "description"] and len(rows) == len(codebook) + 1
    assert {r[0] for r in rows[1:]} == set(codebook["code_id"])
    qdc = refiqda.codebook_to_qdc(codebook, "1").replace(b"</CodeBook>", b"<Sets/></CodeBook>")
    with pytest.warns(UserWarning, match="Sets"):
        validate_codebook(qdc)


# --------------------------------------------------------------------------- QualCoder round trip


def test_refiqda_archive_folder_is_lower_case_sources_and_import_accepts_both(qdpx, tmp_path,
                                                                             tiny_segments,
                                                                             codebook):
    with zipfile.ZipFile(qdpx) as zf:
        folders = {n.split("/", 1)[0] for n in zf.namelist() if "/" in n}
    assert folders == {"sources"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        want = refiqda_import.import_qdpx(qdpx, tiny_segments, codebook)
        with zipfile.ZipFile(qdpx) as zf:
            renamed = {n.replace("sources/", "Sources/"): zf.read(n) for n in zf.namelist()}
        capital = tmp_path / "capital.qdpx"
        with zipfile.ZipFile(capital, "w") as zf:
            for name, data in renamed.items():
                zf.writestr(name, data)
        got = refiqda_import.import_qdpx(capital, tiny_segments, codebook)
    pd.testing.assert_frame_equal(got.drop(columns="origin_file"),
                                  want.drop(columns="origin_file"))
    assert len(got) == 5  # the 5 human codings of the fixture


def test_refiqda_qualcoder_round_trip_keeps_codings_agreement_and_rule_quality(
        qdpx, tmp_path, tiny_segments, codings, codebook):
    from qualcoder_style import rewrite_as_qualcoder

    from consultations.coding.agreement import coding_agreement, rule_quality

    out = tmp_path / "qualcoder.qdpx"
    made = rewrite_as_qualcoder(qdpx, out)
    # QualCoder's archive: lower-case sources/, text with a BOM, its own GUIDs everywhere.
    with zipfile.ZipFile(out) as zf:
        qde = zf.read("project.qde")
        assert {n.split("/", 1)[0] for n in zf.namelist() if "/" in n} == {"sources"}
    refiqda_common.validate_project(qde)
    root = etree.fromstring(qde)
    ours = {el.get("guid") for el in etree.fromstring(_qde(qdpx)).iter() if el.get("guid")}
    assert not ours & {el.get("guid") for el in root.iter() if el.get("guid")}
    # Uncoded turn selections became annotations, none of them empty.
    n_turns = tiny_segments["turn_id"].nunique()
    assert len(made["annotations"]) == n_turns and all(made["annotations"])
    assert all(n.findtext("{*}PlainTextContent") for n in root.iter("{*}Note"))
    with pytest.warns(InputWarning, match="2 codage"):
        back = refiqda_import.import_qdpx(out, tiny_segments, codebook)
    assert back.attrs["report"]["automatic_dropped"] == 2
    human = codings[codings["source"] == "manual"]
    key = ["segment_id", "code_id", "coder"]
    assert set(back[key].itertuples(index=False, name=None)) == set(
        human[key].itertuples(index=False, name=None))
    rule = codings[codings["source"] == "rule"]
    units = list(tiny_segments["segment_id"])
    before = coding_agreement(rule, human, tiny_segments, codebook, subset=units, n_boot=50)
    after = coding_agreement(rule, back, tiny_segments, codebook, subset=units, n_boot=50)
    pd.testing.assert_frame_equal(before, after)
    pd.testing.assert_frame_equal(rule_quality(rule, human, tiny_segments, codebook, units),
                                  rule_quality(rule, back, tiny_segments, codebook, units))
