import shutil
import warnings

import pandas as pd
import pytest

from consultations.coding.codebook import load_codebook, parse_codebook
from consultations.coding.coder import RuleCoder, merge_codings, read_manual_codes
from consultations.coding.stage import run_stage
from consultations.core.config import Settings, get_paths
from consultations.core.errors import InputError, InputWarning
from consultations.core.schema import TABLES

CB = """\
version: "v-test"
axes: [{id: A1, label: "A1 — Test"}]
codes:
  - id: RACK
    label: Racket
    axis: A1
    definition: Racket aux postes.
    keywords: [racket, "poste de contrôle"]
  - id: CLS
    label: Comités
    axis: A1
    definition: Comités locaux.
    keywords: ["comité local de sécurité"]
  - id: CLS.M
    parent: CLS
    label: Maire préside
    axis: A1
    definition: Le maire préside.
    patterns:
      - name: maire préside
        pattern: [{LEMMA: maire}, {OP: "{0,3}"}, {LEMMA: présider}]
  - id: LOG
    label: Logistique
    axis: A1
    definition: Moyens.
    keywords: [véhicule, carburant]
"""


@pytest.fixture()
def codebook():
    return parse_codebook(CB, "cb.yaml")["codebook"]


@pytest.fixture()
def sample_codebook(sample_data_dir):
    return load_codebook(sample_data_dir / "coded" / "codebook.yaml")["codebook"]


def test_code_rules_match_keywords_patterns_with_provenance(tiny_segments, codebook):
    before = tiny_segments.copy()
    out = RuleCoder(codebook_version="v9").fit(codebook).transform(tiny_segments)
    pd.testing.assert_frame_equal(tiny_segments, before)  # input untouched
    assert list(out.columns) == TABLES["codings"]
    got = set(zip(out["segment_id"], out["code_id"], strict=False))
    # the most specific code is kept: CLS.M without its parent CLS
    assert got == {("W1-T002-S01", "LOG"), ("W1-T003-S01", "RACK"), ("W2-T001-S01", "CLS.M")}
    rack = out[out["code_id"] == "RACK"].iloc[0]
    assert rack["source"] == "rule" and rack["coder"] == "règles"
    assert rack["codebook_version"] == "v9"
    assert rack["evidence"] == "racket; poste de contrôle"
    assert "postes de contrôle" in rack["matched_text"]


def test_code_rules_most_specific_can_be_off(tiny_segments, codebook):
    out = RuleCoder(most_specific=False).fit(codebook).transform(tiny_segments)
    got = set(zip(out["segment_id"], out["code_id"], strict=False))
    assert {("W2-T001-S01", "CLS"), ("W2-T001-S01", "CLS.M")} <= got


@pytest.mark.parametrize("lemmas, negated", [
    ("il y avoir pas de racket ici", True),
    ("aucun racket être signaler", True),
    ("sans racket le route être sûr", True),
    ("le racket être partout", False),
    ("RACKET partout", False),
])
def test_code_rules_mark_negation(codebook, lemmas, negated):
    seg = pd.DataFrame({"segment_id": ["X-T001-S01"], "lemmas": [lemmas], "text": [lemmas]})
    out = RuleCoder().fit(codebook).transform(seg)
    assert len(out) == 1 and bool(out["negated"].iloc[0]) is negated


def test_code_rules_negation_can_be_off(codebook):
    seg = pd.DataFrame({"segment_id": ["X-T001-S01"], "lemmas": ["pas de racket"],
                        "text": ["Pas de racket"]})
    out = RuleCoder(negation=False).fit(codebook).transform(seg)
    assert not out["negated"].iloc[0]


def test_code_rules_are_accent_and_case_insensitive(codebook):
    seg = pd.DataFrame({"segment_id": ["X-T001-S01"],
                        "lemmas": ["le COMITE LOCAL DE SECURITE se réunir"],
                        "text": ["Le COMITE LOCAL DE SECURITE se réunit"]})
    out = RuleCoder().fit(codebook).transform(seg)
    assert out["code_id"].tolist() == ["CLS"]
    assert out["matched_text"].iloc[0] == "COMITE LOCAL DE SECURITE"


def test_code_sample_codebook_codes_typical_sentences(sample_codebook):
    texts = {
        "a": ("il falloir désarmer le milice et le dozo", {"MIL.DES"}),
        "b": ("un numéro vert pour dénoncer le bavure", {"COMM.NV", "ABUS", "RENS"}),
        "c": ("le détention préventif prolonger le surpopulation carcéral", {"PEN"}),
        "d": ("le coordination entrer le police le gendarmerie et le garde national",
              {"COORD"}),
        "e": ("un module de droit humain dans le école de police", {"FORM.DH"}),
    }
    seg = pd.DataFrame({"segment_id": [f"S-T001-S0{i}" for i in range(1, 6)],
                        "lemmas": [t for t, _ in texts.values()],
                        "text": [t for t, _ in texts.values()]})
    out = RuleCoder().fit(sample_codebook).transform(seg)
    for i, (_, expected) in enumerate(texts.values(), start=1):
        got = set(out.loc[out["segment_id"] == f"S-T001-S0{i}", "code_id"])
        assert expected <= got, (i, got)
        assert not {"MIL", "FORM"} & got, (i, got)  # parents of a coded child are dropped


@pytest.mark.parametrize("lemmas, expected, inverted", [
    ("il falloir intégrer le milice dans le dispositif", "MIL.INT", False),
    ("nous être contre le intégration de milice", "MIL.DES", True),
    ("on ne pouvoir pas intégrer de milice", "MIL.DES", True),
    ("pas question de intégrer le dozo", "MIL.DES", True),
    ("intégrer le milice ce être fait entrer le impunité", "MIL.DES", True),
    ("nous refuser de désarmer le chasseur", "MIL.INT", True),
    # the negation bears on "déléguer", not on the position: kept (and marked negated)
    ("le état ne pouvoir pas déléguer le monopole de le force", "MIL.DES", False),
])
def test_code_rules_stance_turns_position_to_its_opposite(sample_data_dir, lemmas, expected,
                                                          inverted):
    from consultations.coding.coder import codebook_rule_coder

    cb = load_codebook(sample_data_dir / "coded" / "codebook.yaml")
    seg = pd.DataFrame({"segment_id": ["X-T001-S01"], "lemmas": [lemmas], "text": [lemmas]})
    out = codebook_rule_coder(cb).transform(seg)
    positions = set(out["code_id"]) & {"MIL.INT", "MIL.DES"}
    assert positions == {expected}
    row = out[out["code_id"] == expected].iloc[0]
    assert ("position inversée" in row["evidence"]) is inverted
    if inverted:
        assert not row["negated"]


STANCE_CB = CB + """  - id: CLS.E
    parent: CLS
    label: Préfet préside
    axis: A1
    definition: Le préfet préside.
    position: état
    keywords: ["préfet présider"]
  - id: AUTL
    label: Autorités
    axis: A1
    definition: Maires et préfets.
    keywords: [maire]
    unless: [CLS, CLS.M]
ignore:
  - name: présentation
    pattern: [{LEMMA: je}, {LEMMA: être}, {LEMMA: {NOT_IN: [contre, de]}}, {OP: "{0,4}"}]
stance:
  against_before: [contre]
"""


def test_code_rules_unless_ignore_and_lone_position(tiny_segments):
    from consultations.coding.coder import codebook_rule_coder

    cb = parse_codebook(STANCE_CB.replace("  - id: CLS.M\n", "  - id: CLS.M\n    position: "
                                          "maire\n"), "cb.yaml")
    seg = pd.DataFrame({"segment_id": ["X-T001-S01", "X-T002-S01", "X-T003-S01",
                                       "X-T004-S01"],
                        "lemmas": ["le maire devoir présider le comité local de sécurité",
                                   "le maire manquer de moyen",
                                   "je être maire de un commune",
                                   "nous être contre le maire qui présider"]})
    seg["text"] = seg["lemmas"]
    out = codebook_rule_coder(cb).transform(seg)
    got = set(zip(out["segment_id"], out["code_id"], strict=False))
    assert ("X-T001-S01", "AUTL") not in got          # unless: a committee code is there
    assert ("X-T001-S01", "CLS.M") in got
    assert ("X-T002-S01", "AUTL") in got
    assert not any(s == "X-T003-S01" for s, _ in got)  # introduction span ignored
    # "contre" before the mayor's presidency: counted for the opposing position (CLS.E)
    assert ("X-T004-S01", "CLS.E") in got and ("X-T004-S01", "CLS.M") not in got


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_code_manual_reads_and_expands_turns(tmp_path, tiny_segments, codebook):
    f = _write(tmp_path / "a.csv", "segment_id,code_id,coder,note\n"
               "W1-T003-S01,RACK,A,racket\n"
               "W2-T002-S01,AUCUN,A,\n")
    g = _write(tmp_path / "b.csv", "turn_id,code_id,coder\nW1-T002,LOG,B\n")
    before = f.read_bytes()
    codings, coverage = read_manual_codes([f, g], tiny_segments, codebook, "v1", root=tmp_path)
    assert f.read_bytes() == before
    assert list(codings.columns) == TABLES["codings"]
    assert set(zip(codings["segment_id"], codings["code_id"], codings["coder"], strict=False)) == {
        ("W1-T003-S01", "RACK", "A"), ("W1-T002-S01", "LOG", "B"), ("W1-T002-S02", "LOG", "B")}
    assert (codings["source"] == "manual").all()
    assert codings.loc[codings["coder"] == "A", "origin_line"].tolist() == [2]
    assert codings.loc[codings["coder"] == "B", "evidence"].eq("tour W1-T002").all()
    assert ("W2-T002-S01", "A") in set(zip(coverage["segment_id"], coverage["coder"], strict=False))


def test_code_manual_bad_rows_warn_with_file_and_row(tmp_path, tiny_segments, codebook):
    f = _write(tmp_path / "bad.csv", "segment_id,code_id,coder\n"
               "W1-T003-S01,RACK,A\n"      # ok (line 2)
               "W9-T001-S01,RACK,A\n"      # unknown segment (3)
               "W1-T003-S01,NOPE,A\n"      # unknown code (4)
               "W1-T003-S01,LOG,\n"        # empty coder (5)
               "W1-T003-S01,RACK,A\n")     # duplicate (6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        codings, _ = read_manual_codes([f], tiny_segments, codebook)
    msgs = [(w.message.line, w.message.message) for w in caught
            if isinstance(w.message, InputWarning)]
    assert len(codings) == 1
    assert [m[0] for m in msgs] == [3, 4, 5, 6]
    assert "segment inconnu" in msgs[0][1] and "code inconnu" in msgs[1][1]
    assert "coder vide" in msgs[2][1] and "doublon" in msgs[3][1]
    assert all(str(f) == w.message.path for w in caught if isinstance(w.message, InputWarning))


def test_code_manual_wrong_columns_is_an_error(tmp_path, tiny_segments, codebook):
    f = _write(tmp_path / "bad.csv", "segment,code,codeur\nW1-T003-S01,RACK,A\n")
    with pytest.raises(InputError, match="colonnes incorrectes") as err:
        read_manual_codes([f], tiny_segments, codebook)
    assert err.value.line == 1


def test_code_manual_reads_xlsx(tmp_path, tiny_segments, codebook):
    p = tmp_path / "c.xlsx"
    pd.DataFrame({"segment_id": ["W1-T003-S01"], "code_id": ["RACK"], "coder": ["C"]}
                 ).to_excel(p, index=False)
    codings, _ = read_manual_codes([p], tiny_segments, codebook)
    assert codings[["segment_id", "code_id", "coder"]].values.tolist() == [
        ["W1-T003-S01", "RACK", "C"]]


def test_code_merge_review_overrides_rules(tiny_segments, codebook):
    rule = RuleCoder().fit(codebook).transform(tiny_segments)
    review = pd.DataFrame({
        "segment_id": ["W1-T003-S01", "W1-T002-S01"], "code_id": ["RACK", "CLS"],
        "source": "review", "coder": "R", "codebook_version": "",
        "evidence": ["rejeter", "recoder"],
        "matched_text": "", "negated": False, "note": "", "origin_file": "f.xlsx",
        "origin_line": [2, 3], "decision": ["rejeter", "recoder"],
        "original_code_id": ["RACK", "LOG"], "final": True})
    final = merge_codings(rule, rule.iloc[0:0], review)
    pairs = set(zip(final["segment_id"], final["code_id"], final["source"], strict=False))
    assert ("W1-T003-S01", "RACK", "rule") not in pairs
    assert ("W1-T002-S01", "LOG", "rule") not in pairs
    assert ("W1-T002-S01", "CLS", "review") in pairs
    assert ("W2-T001-S01", "CLS.M", "rule") in pairs


def test_code_run_stage_without_manual_or_review(tmp_path, tiny_segments):
    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    (paths.coded).mkdir(parents=True)
    _write(paths.coded / "codebook.yaml", CB)
    out = run_stage({"segments": tiny_segments}, paths, Settings(seed=1))
    assert set(out) >= {"codebook", "axes", "codings_rule", "codings_manual", "codings_review",
                        "codings", "agreement", "_summary"}
    assert out["codings_manual"].empty and list(out["codings_manual"].columns) == \
        TABLES["codings"]
    assert out["codings_review"].empty
    assert len(out["codings"]) == len(out["codings_rule"]) == 3
    assert out["_summary"]["codebook_version"] == "v-test"


def test_code_run_stage_with_two_coders(tmp_path, tiny_segments):
    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    (paths.coded / "manual").mkdir(parents=True)
    _write(paths.coded / "codebook.yaml", CB)
    _write(paths.coded / "manual" / "coder_A.csv", "segment_id,code_id,coder,note\n"
           "W1-T001-S01,AUCUN,A,\nW1-T002-S01,LOG,A,\nW1-T003-S01,RACK,A,\n")
    _write(paths.coded / "manual" / "coder_B.csv", "segment_id,code_id,coder,note\n"
           "W1-T002-S01,LOG,B,\nW1-T003-S01,RACK,B,\nW1-T002-S02,LOG,B,\n")
    out = run_stage({"segments": tiny_segments}, paths, Settings(seed=1,
                    extra={"coding": {"n_boot": 50}}))
    agree = out["agreement"]
    inter = agree[agree["comparison"] == "intercodeurs"].set_index("code_id")
    assert inter.loc["RACK", "percent_agreement"] == 1.0
    # B saw T002-S01..T003-S01 only: T001-S01 (A only) is not pairable
    assert inter.loc["LOG", "n_units"] == 3
    assert set(agree["comparison"]) == {"intercodeurs", "règles vs A", "règles vs B"}
    ra = agree[agree["comparison"] == "règles vs A"].set_index("code_id")
    assert ra.loc["LOG", "precision"] == 1.0 and ra.loc["LOG", "recall"] == 1.0
    final = out["codings"]
    assert set(final["source"]) == {"rule", "manual"}
    assert set(final.loc[final["source"] == "manual", "coder"]) == {"A", "B"}
    shutil.rmtree(paths.coded / "manual")


def test_code_run_stage_uses_double_coding_subset(tmp_path, tiny_segments):
    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    (paths.coded / "manual").mkdir(parents=True)
    _write(paths.coded / "codebook.yaml", CB)
    _write(paths.coded / "manual" / "coder_A.csv", "segment_id,code_id,coder\n"
           "W1-T002-S01,LOG,A\nW1-T003-S01,RACK,A\n")
    _write(paths.coded / "manual" / "coder_B.csv", "segment_id,code_id,coder\n"
           "W1-T002-S01,LOG,B\nW2-T001-S01,CLS,B\n")
    _write(paths.coded / "double_coding_subset.csv",
           "segment_id\nW1-T001-S01\nW1-T002-S01\nW1-T003-S01\nW2-T002-S01\nW9-T001-S01\n")
    _write(paths.coded / "coders.csv", "coder,double_codeur\nA,oui\nB,oui\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run_stage({"segments": tiny_segments}, paths,
                        Settings(seed=1,
                    extra={"coding": {"n_boot": 20}}))
    bad = [w.message for w in caught if isinstance(w.message, InputWarning)]
    assert [(m.line, "W9-T001-S01" in m.message) for m in bad] == [(6, True)]
    agree = out["agreement"]
    assert (agree["n_units"][agree["code_id"] != "_ensemble"] == 4).all()
    assert agree["unit_set"].str.startswith("sous-ensemble double-codé").all()
    inter = agree[agree["comparison"] == "intercodeurs"].set_index("code_id")
    assert inter.loc["RACK", "percent_agreement"] == 0.75   # B did not code it: absent
    assert inter.loc["CLS", "n_positive"] == 0               # W2-T001-S01 is not in the subset
    assert out["_summary"]["agreement_n_units"] == 4
    q = out["rule_quality"]
    assert set(q["split"]) == {"développement", "test", "ensemble"}
    assert set(q["reference"]) == {"A", "B", "consensus"}


def test_code_run_stage_imports_qdpx_codings_as_manual(tmp_path, tiny_segments):
    from consultations.interop import refiqda

    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    (paths.coded / "qdpx").mkdir(parents=True)
    _write(paths.coded / "codebook.yaml", CB)
    cb = parse_codebook(CB, "cb.yaml")["codebook"]
    other = pd.DataFrame({"segment_id": ["W1-T003-S01", "W2-T002-S01", "W1-T002-S02"],
                          "code_id": ["RACK", "CLS", "LOG"], "source": "manual",
                          "coder": ["Mariam (NVivo)", "Mariam (NVivo)", "Oumar"]})
    for col in TABLES["codings"]:
        if col not in other:
            other[col] = None
    qdpx = refiqda.project_to_qdpx(tiny_segments, other[TABLES["codings"]], cb, None, None,
                                   "v-test", paths.coded / "qdpx" / "relecture.qdpx")
    before = qdpx.read_bytes()
    out = run_stage({"segments": tiny_segments}, paths, Settings(seed=1,
                    extra={"coding": {"n_boot": 20}}))
    manual = out["codings_manual"]
    assert list(manual.columns) == TABLES["codings"]
    assert set(zip(manual["segment_id"], manual["code_id"], manual["coder"], strict=True)) == {
        ("W1-T003-S01", "RACK", "Mariam (NVivo)"), ("W2-T002-S01", "CLS", "Mariam (NVivo)"),
        ("W1-T002-S02", "LOG", "Oumar")}
    assert (manual["source"] == "manual").all()
    assert (manual["origin_file"] == "coded/qdpx/relecture.qdpx").all()
    assert (manual["codebook_version"] == "v-test").all()
    assert out["_summary"]["n_codings_qdpx"] == 3
    final = out["codings"]
    assert ("W2-T002-S01", "CLS", "manual") in set(
        zip(final["segment_id"], final["code_id"], final["source"], strict=True))
    assert qdpx.read_bytes() == before                       # the file is never rewritten
    # two human coders (from the .qdpx) → intercoder agreement is computed
    assert (out["agreement"]["comparison"] == "intercodeurs").any()
