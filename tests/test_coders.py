"""Declared double coders, coder-name collisions and the codebook's coding unit."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from consultations.coding import coders
from consultations.coding.agreement import coding_agreement, disagreements, rule_quality
from consultations.coding.codebook import code_units, parse_codebook
from consultations.coding.coder import read_manual_codes
from consultations.coding.stage import run_stage
from consultations.core.config import Settings, get_paths
from consultations.core.errors import InputError, InputWarning
from consultations.core.schema import TABLES
from consultations.interop import refiqda, refiqda_common

CB = """\
version: "v-test"
{unit}axes: [{{id: A1, label: "A1 — Test"}}]
codes:
  - id: RACK
    label: Racket
    axis: A1
    definition: Racket aux postes.
    keywords: [racket]
  - id: LOG
    label: Logistique
    axis: A1
    definition: Moyens.
    keywords: [véhicule, carburant, formation]
"""
SUBSET = "segment_id\nW1-T001-S01\nW1-T002-S01\nW1-T002-S02\nW1-T003-S01\nW2-T001-S01\n"


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _codings(rows):
    df = pd.DataFrame(rows, columns=["segment_id", "code_id", "coder"]).assign(source="manual")
    for col in TABLES["codings"]:
        if col not in df:
            df[col] = None
    return df[TABLES["codings"]]


@pytest.fixture()
def project(tmp_path):
    """Two declared double coders (A, B) on a 5-segment subset."""
    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    _write(paths.coded / "codebook.yaml", CB.format(unit=""))
    _write(paths.coded / "manual" / "coder_A.csv", "segment_id,code_id,coder\n"
           "W1-T002-S01,LOG,A\nW1-T003-S01,RACK,A\nW1-T002-S02,LOG,A\n")
    _write(paths.coded / "manual" / "coder_B.csv", "segment_id,code_id,coder\n"
           "W1-T002-S01,LOG,B\nW1-T003-S01,RACK,B\n")
    _write(paths.coded / "double_coding_subset.csv", SUBSET)
    return paths


def _run(paths, tiny_segments, record=False):
    settings = Settings(seed=1, extra={"coding": {"n_boot": 20, "learn": False}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run_stage({"segments": tiny_segments}, paths, settings)
    msgs = [w.message for w in caught if isinstance(w.message, InputWarning)]
    return (out, msgs) if record else out


def _qdpx(paths, tiny_segments, rows, name="qualcoder.qdpx"):
    cb = parse_codebook(CB.format(unit=""), "cb.yaml")["codebook"]
    return refiqda.project_to_qdpx(tiny_segments, _codings(rows), cb, None, None, "v-test",
                                   paths.coded / "qdpx" / name)


# --------------------------------------------------------------------------- coders.csv


def test_coders_file_is_read_and_bad_rows_are_listed_with_their_lines(tmp_path):
    f = _write(tmp_path / "coders.csv", "coder,double_codeur,description\n"
               "A,oui,première codeuse\nB,non,\n")
    got = coders.read_coders(f)
    assert got[["coder", "double_coder"]].values.tolist() == [["A", True], ["B", False]]
    assert got["line"].tolist() == [2, 3]
    _write(f, "coder,double_codeur\nA,oui\n,oui\nB,peut-être\nA,non\n")
    before = f.read_bytes()
    with pytest.raises(InputError) as exc:
        coders.read_coders(f)
    err = exc.value
    assert err.line == 3 and err.path == str(f) and f.read_bytes() == before
    assert "3 ligne(s) incorrecte(s)" in err.message
    for needle in ("ligne 3 : nom de codeur vide", "ligne 4 : double_codeur de « B »",
                   "ligne 5 : « A » déjà déclaré ligne 2"):
        assert needle in err.message
    assert "oui ou non" in err.hint
    _write(f, "codeur,double\nA,oui\n")
    with pytest.raises(InputError, match="colonne\\(s\\) manquante\\(s\\)") as exc:
        coders.read_coders(f)
    assert exc.value.line == 1
    _write(f, "coder,double_codeur,role\nA,oui,x\n")
    with pytest.raises(InputError, match="colonne\\(s\\) inconnue\\(s\\) \\['role'\\]"):
        coders.read_coders(f)


def test_coders_without_file_every_coder_counts_with_a_warning(project, tiny_segments):
    out, msgs = _run(project, tiny_segments, record=True)
    assert [m for m in msgs if "pas de liste des codeurs" in m.message]
    assert "coders.csv" in next(m.hint for m in msgs if "pas de liste" in m.message)
    assert out["_summary"]["double_coders"] == ["A", "B"]
    assert set(out["coders"]["double_coder"]) == {True}


def test_coders_only_declared_double_coders_count_in_agreement_and_rule_quality(
        project, tiny_segments):
    """A new QualCoder user who coded 2 segments is reported apart, never as a double coder."""
    _write(project.coded / coders.CODERS_FILE, "coder,double_codeur\nA,oui\nB,oui\n")
    base = _run(project, tiny_segments)
    _qdpx(project, tiny_segments, [("W1-T003-S01", "LOG", "Nouvelle"),
                                   ("W2-T002-S01", "RACK", "Nouvelle")])
    out, msgs = _run(project, tiny_segments, record=True)
    warned = [m for m in msgs if "absent(s) de la liste des codeurs" in m.message]
    assert len(warned) == 1 and "« Nouvelle » (2 codage(s))" in warned[0].message
    # The agreement and the rules' quality are those of A and B alone, unchanged.
    pd.testing.assert_frame_equal(out["agreement"], base["agreement"])
    pd.testing.assert_frame_equal(out["rule_quality"], base["rule_quality"])
    assert set(out["rule_quality"]["reference"]) == {"A", "B", "consensus"}
    # Reported separately, and still a human coding in the analysis.
    roles = out["coders"].set_index("coder")
    assert list(out["coders"].columns) == TABLES["coders"]
    assert not roles.loc["Nouvelle", "double_coder"] and not roles.loc["Nouvelle", "declared"]
    assert roles.loc["Nouvelle", "n_codings"] == 2 and roles.loc["Nouvelle",
                                                                 "n_subset_segments"] == 1
    assert out["_summary"]["other_coders"] == {"Nouvelle": 2}
    final = out["codings"]
    assert ((final["coder"] == "Nouvelle") & (final["source"] == "manual")).sum() == 2
    # Without the file, the same project would have let the new coder into the agreement.
    (project.coded / coders.CODERS_FILE).unlink()
    loose = _run(project, tiny_segments)
    inter = loose["agreement"][loose["agreement"]["comparison"] == "intercodeurs"]
    assert (inter["n_coders"] == 3).all()


def test_coders_declared_non_double_coder_is_reported_apart(project, tiny_segments):
    _write(project.coded / coders.CODERS_FILE,
           "coder,double_codeur,description\nA,oui,\nB,non,a relu une partie\n")
    out = _run(project, tiny_segments)
    assert out["agreement"].empty or not (out["agreement"]["comparison"]
                                          == "intercodeurs").any()
    assert set(out["rule_quality"]["reference"]) == {"A"}
    roles = out["coders"].set_index("coder")
    assert roles.loc["B", "declared"] and not roles.loc["B", "double_coder"]
    assert roles.loc["B", "description"] == "a relu une partie"


# --------------------------------------------------------------------------- name collisions


def test_coders_qdpx_user_named_like_a_csv_coder_with_the_same_codings_is_counted_once(
        project, tiny_segments):
    _write(project.coded / coders.CODERS_FILE, "coder,double_codeur\nA,oui\nB,oui\n")
    base = _run(project, tiny_segments)
    _qdpx(project, tiny_segments, [("W1-T002-S01", "LOG", "A"), ("W1-T003-S01", "RACK", "A"),
                                   ("W1-T002-S02", "LOG", "A")])
    out, msgs = _run(project, tiny_segments, record=True)
    same = [m for m in msgs if "porte le nom d'un codeur" in m.message]
    assert len(same) == 1 and same[0].path.endswith("qualcoder.qdpx")
    assert "manual/coder_A.csv" in same[0].message and "comptés une fois" in same[0].message
    pd.testing.assert_frame_equal(out["codings_manual"], base["codings_manual"])
    pd.testing.assert_frame_equal(out["agreement"], base["agreement"])


def test_coders_qdpx_user_named_like_a_csv_coder_with_other_codings_stops(project,
                                                                          tiny_segments):
    _qdpx(project, tiny_segments, [("W1-T002-S01", "LOG", "A"), ("W2-T001-S01", "RACK", "A")])
    with pytest.raises(InputError) as exc:
        _run(project, tiny_segments)
    err = exc.value
    assert err.path.endswith("qualcoder.qdpx") and "manual/coder_A.csv" in err.message
    assert "1 seulement dans le .qdpx, 2 seulement dans" in err.message
    assert "renommez l'utilisateur" in err.hint


# --------------------------------------------------------------------------- coding unit


def test_codebook_unit_is_parsed_per_codebook_and_per_code():
    cb = parse_codebook(CB.format(unit="unit: turn\n"), "cb.yaml")
    assert cb["unit"] == "turn" and code_units(cb["codebook"]) == {"RACK": "turn", "LOG": "turn"}
    mixed = CB.format(unit="").replace("    keywords: [racket]",
                                       "    keywords: [racket]\n    unit: tour")
    assert code_units(parse_codebook(mixed, "cb.yaml")["codebook"]) == {"RACK": "turn",
                                                                       "LOG": "segment"}
    assert code_units(parse_codebook(CB.format(unit=""), "cb.yaml")["codebook"]) == {
        "RACK": "segment", "LOG": "segment"}
    with pytest.raises(InputError) as exc:
        parse_codebook(CB.format(unit="unit: paragraphe\n"), "cb.yaml")
    assert exc.value.line == 2 and "« segment » ou « turn »" in exc.value.message


def test_agreement_at_turn_unit_counts_a_turn_once_whatever_its_sentence(tiny_segments):
    cb = pd.DataFrame({"code_id": ["LOG", "RACK"], "label": ["Logistique", "Racket"]})
    manual = _codings([("W1-T002-S01", "LOG", "A"), ("W1-T002-S02", "LOG", "B"),
                       ("W1-T003-S01", "RACK", "A"), ("W1-T003-S01", "RACK", "B")])
    rule = _codings([("W1-T002-S02", "LOG", "règles")]).assign(source="rule")
    subset = ["W1-T001-S01", "W1-T002-S01", "W1-T002-S02", "W1-T003-S01"]
    seg = coding_agreement(rule, manual, tiny_segments, cb, subset=subset, n_boot=20)
    turn = coding_agreement(rule, manual, tiny_segments, cb, subset=subset, n_boot=20,
                            unit_of={"LOG": "turn", "RACK": "turn"})
    s = seg[seg["comparison"] == "intercodeurs"].set_index("code_id")
    t = turn[turn["comparison"] == "intercodeurs"].set_index("code_id")
    assert s.loc["LOG", "percent_agreement"] == 0.5 and s.loc["LOG", "n_units"] == 4
    assert t.loc["LOG", "percent_agreement"] == 1.0 and t.loc["LOG", "n_units"] == 3
    assert set(t["unit"]) == {"tour"} and t["unit_set"].str.contains("3 tours").all()
    mixed = coding_agreement(rule, manual, tiny_segments, cb, subset=subset, n_boot=20,
                             unit_of={"LOG": "turn", "RACK": "segment"})
    m = mixed[mixed["comparison"] == "intercodeurs"].set_index("code_id")
    assert m.loc["_ensemble", "unit"] == "mixte" and m.loc["_ensemble", "n_units"] == 3 + 4
    # The rules' quality on the same unit: B's LOG on S02 and the rule's on S02 → the turn.
    q = rule_quality(rule, manual, tiny_segments, cb, subset,
                     unit_of={"LOG": "turn", "RACK": "turn"}).set_index(
        ["split", "reference", "code_id"])
    log_a = q.loc[("ensemble", "A", "LOG")]
    assert (log_a["n_units"], log_a["n_reference"], log_a["n_both"]) == (3, 1, 1)
    qs = rule_quality(rule, manual, tiny_segments, cb, subset).set_index(
        ["split", "reference", "code_id"])
    assert qs.loc[("ensemble", "A", "LOG"), "n_both"] == 0
    dis = disagreements(manual, tiny_segments, subset, {"LOG": "turn", "RACK": "turn"})
    assert dis.empty
    dis = disagreements(manual, tiny_segments, subset)
    assert dis["segment_id"].tolist() == ["W1-T002-S01", "W1-T002-S02"]
    assert set(dis["unit"]) == {"segment"}


def test_manual_turn_code_is_recorded_once_when_the_code_unit_is_turn(tmp_path,
                                                                     tiny_segments):
    f = _write(tmp_path / "c.csv", "turn_id,code_id,coder\nW1-T002,LOG,A\nW1-T002,RACK,A\n")
    mixed = CB.format(unit="").replace("    keywords: [véhicule, carburant, formation]",
                                       "    keywords: [véhicule, carburant, formation]\n"
                                       "    unit: turn")
    cb = parse_codebook(mixed, "cb.yaml")["codebook"]
    got, cover = read_manual_codes([f], tiny_segments, cb)
    pairs = sorted(zip(got["segment_id"], got["code_id"], strict=True))
    # LOG (unit: turn) once, on the turn's first sentence; RACK (segment) on every sentence.
    assert pairs == [("W1-T002-S01", "LOG"), ("W1-T002-S01", "RACK"), ("W1-T002-S02", "RACK")]
    assert (got.loc[got["code_id"] == "LOG", "evidence"] == "tour W1-T002").all()


def test_coders_hint_when_qualcoder_codings_come_back_under_the_tool_user(tmp_path):
    """QualCoder names new codings after the first user of the imported project."""
    declared = pd.DataFrame({"coder": ["A"], "double_coder": [True], "description": [""],
                             "line": [2]})
    manual = _codings([("S1", "LOG", "A"), ("S2", "LOG", refiqda_common.TOOL_USER)])
    with pytest.warns(InputWarning) as caught:
        got = coders.double_coders(manual, declared, tmp_path / "coders.csv")
    assert got == ["A"]
    hint = next(w.message.hint for w in caught if "absent(s)" in w.message.message)
    assert "QualCoder" in hint and "nom de codeur" in hint


def test_coders_file_from_a_french_spreadsheet_semicolons_and_cp1252(tmp_path):
    f = tmp_path / "coders.csv"
    f.write_bytes("coder;double_codeur;description\r\ncodeuse_A;Oui;relue, corrigée; "
                  "complète\r\nRémi;non;\r\n".encode("cp1252").replace(b"; compl", b" compl"))
    got = coders.read_coders(f)
    assert got["coder"].tolist() == ["codeuse_A", "Rémi"]
    assert got["double_coder"].tolist() == [True, False]
    assert got["description"].iloc[0] == "relue, corrigée complète"
