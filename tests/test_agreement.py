import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from consultations.coding.agreement import (
    binary_alpha,
    bootstrap_binary,
    cohen_kappa,
    krippendorff_alpha,
    percent_agreement,
    reliability_matrix,
    reliability_table,
)


def _k2011(shared_datasets):
    df = pd.read_csv(shared_datasets / "krippendorff-2011-example" / "reliability_matrix_4x12.csv")
    return df.drop(columns="observer").to_numpy(dtype=float)


@pytest.mark.shared_data
@pytest.mark.parametrize("level, expected", [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_agreement_krippendorff_2011_published_values(shared_datasets, level, expected):
    assert round(krippendorff_alpha(_k2011(shared_datasets), level), 3) == expected


@pytest.mark.shared_data
def test_agreement_krippendorff_long_table_matches_wide(shared_datasets):
    long = pd.read_csv(shared_datasets / "krippendorff-2011-example" / "reliability_long_4x12.csv")
    m, coders, units = reliability_matrix(long, "unit", "observer", "value")
    assert coders == ["A", "B", "C", "D"]
    assert round(krippendorff_alpha(m, "nominal"), 3) == 0.743


@pytest.mark.shared_data
def test_agreement_tidycomm_fbposts_reference(shared_datasets):
    posts = pd.read_csv(shared_datasets / "icr-tidycomm-fbposts" / "fbposts.csv")
    variables = ["type", "n_pictures", "pop_elite", "pop_people", "pop_othering"]
    res = reliability_table(posts, "post_id", "coder_id", variables).set_index("variable")
    expected = {  # tidycomm vignette "Intercoder reliability tests" (see SOURCE.md)
        "type": (1.0, 1.0, 1.0), "n_pictures": (0.822, 0.930, 0.880),
        "pop_elite": (0.733, 0.861, 0.339), "pop_people": (0.778, 0.916, 0.287),
        "pop_othering": (0.867, 0.945, 0.566)}
    for var, (agree, holsti, alpha) in expected.items():
        assert round(res.loc[var, "agreement"], 3) == agree, var
        assert round(res.loc[var, "holsti"], 3) == holsti, var
        assert round(res.loc[var, "alpha"], 3) == alpha, var
    assert (res["n_units"] == 45).all() and (res["n_coders"] == 6).all()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_agreement_kappa_equals_sklearn_on_random_data(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, 200)
    b = np.where(rng.random(200) < 0.6, a, rng.integers(0, 3, 200))
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_agreement_kappa_ignores_missing_units():
    a = np.array([1, 0, 1, np.nan, 0, 1])
    b = np.array([1, 0, 0, 1, 0, np.nan])
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score([1, 0, 1, 0], [1, 0, 0, 0]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agreement_binary_alpha_matches_krippendorff_package(seed):
    rng = np.random.default_rng(seed)
    m = (rng.random((3, 80)) < 0.3).astype(float)
    m[rng.random((3, 80)) < 0.1] = np.nan
    assert binary_alpha(m) == pytest.approx(krippendorff_alpha(m, "nominal"))


def test_agreement_percent_agreement_and_undefined_alpha():
    m = np.array([[1, 0, 0, 1], [1, 0, 1, 1]], dtype=float)
    assert percent_agreement(m) == 0.75
    assert np.isnan(krippendorff_alpha(np.zeros((2, 5)), "nominal"))


def test_agreement_bootstrap_is_seeded_and_brackets_estimate():
    rng = np.random.default_rng(5)
    a = (rng.random(150) < 0.3).astype(float)
    b = np.where(rng.random(150) < 0.85, a, 1 - a)
    m = np.vstack([a, b])
    ci1 = bootstrap_binary(m, n_boot=500, seed=7)
    ci2 = bootstrap_binary(m, n_boot=500, seed=7)
    assert ci1 == ci2
    assert ci1["alpha"][0] < binary_alpha(m) < ci1["alpha"][1]
    k = cohen_kappa(a, b)
    assert ci1["kappa"][0] < k < ci1["kappa"][1]
    assert ci1["percent_agreement"][0] <= percent_agreement(m) <= ci1["percent_agreement"][1]


# --------------------------------------------------------------------------- subset and rules
def _cod(rows):
    from consultations.coding.codings import finish_codings as _finish

    return _finish(pd.DataFrame(rows, columns=["segment_id", "code_id", "source", "coder"]))


@pytest.fixture()
def cb_small():
    return pd.DataFrame({"code_id": ["LOG", "RACK"], "label": ["Logistique", "Racket"]})


def test_agreement_subset_file_validates_ids_with_file_and_row(tmp_path, tiny_segments):
    import warnings

    from consultations.coding.agreement import read_double_coding_subset
    from consultations.core.errors import InputError, InputWarning

    f = tmp_path / "double_coding_subset.csv"
    f.write_text("segment_id\nW1-T002-S01\nW9-T001-S01\nW1-T003-S01\nW1-T002-S01\n",
                 encoding="utf-8")
    before = f.read_bytes()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = read_double_coding_subset(f, tiny_segments)
    assert ids == ["W1-T002-S01", "W1-T003-S01"] and f.read_bytes() == before
    msgs = [w.message for w in caught if isinstance(w.message, InputWarning)]
    assert [(m.line, m.path) for m in msgs] == [(3, str(f)), (5, str(f))]
    assert "segment inconnu « W9-T001-S01 »" in msgs[0].message and "doublon" in msgs[1].message
    f.write_text("segment\nW1-T002-S01\n", encoding="utf-8")
    with pytest.raises(InputError, match="pas de colonne segment_id"):
        read_double_coding_subset(f, tiny_segments)


def test_agreement_subset_units_are_exactly_the_listed_segments(tiny_segments, cb_small):
    from consultations.coding.agreement import coding_agreement

    manual = _cod([("W1-T002-S01", "LOG", "manual", "A"), ("W1-T002-S01", "LOG", "manual", "B"),
                   ("W1-T003-S01", "RACK", "manual", "A"),
                   ("W2-T001-S01", "RACK", "manual", "B")])  # outside the subset: ignored
    rule = _cod([("W1-T002-S01", "LOG", "rule", "règles"),
                 ("W1-T002-S02", "RACK", "rule", "règles")])
    subset = ["W1-T001-S01", "W1-T002-S01", "W1-T002-S02", "W1-T003-S01"]
    out = coding_agreement(rule, manual, tiny_segments, cb_small, subset=subset, n_boot=20,
                           subset_name="double_coding_subset.csv")
    assert (out["unit"] == "segment").all()
    assert out["unit_set"].str.contains("double_coding_subset.csv, 4 segments").all()
    inter = out[out["comparison"] == "intercodeurs"].set_index("code_id")
    assert inter.loc["LOG", "n_units"] == 4 and inter.loc["LOG", "percent_agreement"] == 1.0
    # A coded RACK on W1-T003-S01, B did not: absent for B (not missing) → 3 of 4 agree
    assert inter.loc["RACK", "percent_agreement"] == 0.75
    assert inter.loc["_ensemble", "n_units"] == 8
    ra = out[out["comparison"] == "règles vs A"].set_index("code_id")
    assert ra.loc["LOG", "precision"] == 1.0 and ra.loc["RACK", "precision"] == 0.0
    assert ra.loc["RACK", "recall"] == 0.0


def test_agreement_rule_quality_per_split_reference_and_macro(tiny_segments, cb_small):
    from consultations.coding.agreement import MACRO, MICRO, rule_quality, split_workshops

    manual = _cod([("W1-T002-S01", "LOG", "manual", "A"), ("W1-T002-S01", "LOG", "manual", "B"),
                   ("W1-T003-S01", "RACK", "manual", "A"),
                   ("W2-T001-S01", "RACK", "manual", "A"),
                   ("W2-T001-S01", "RACK", "manual", "B")])
    rule = _cod([("W1-T002-S01", "LOG", "rule", "règles"),
                 ("W1-T003-S01", "RACK", "rule", "règles"),
                 ("W2-T002-S01", "RACK", "rule", "règles")])
    units = ["W1-T002-S01", "W1-T003-S01", "W2-T001-S01", "W2-T002-S01"]
    splits = split_workshops(["W1", "W2"])
    assert splits == {"développement": ["W1"], "test": ["W2"]}
    q = rule_quality(rule, manual, tiny_segments, cb_small, units, splits).set_index(
        ["split", "reference", "code_id"])
    assert set(q.index.get_level_values(0)) == {"développement", "test", "ensemble"}
    assert set(q.index.get_level_values(1)) == {"A", "B", "consensus"}
    # consensus leaves out W1-T003-S01 for RACK (A coded it, B did not)
    assert q.loc[("développement", "consensus", "RACK"), "n_units"] == 1
    assert q.loc[("développement", "A", "RACK"), "f1"] == 1.0
    assert q.loc[("développement", "B", "RACK"), "precision"] == 0.0
    t = q.loc[("test", "A", "RACK")]
    assert (t["n_reference"], t["n_rule"], t["n_both"]) == (1, 1, 0)
    assert q.loc[("ensemble", "A", MICRO), "precision"] == pytest.approx(2 / 3)
    assert q.loc[("ensemble", "A", MACRO), "f1"] == pytest.approx((1.0 + 0.5) / 2)


def test_agreement_workbook_has_rule_quality_sheet(tmp_path, tiny_segments, cb_small):
    from openpyxl import load_workbook

    from consultations.coding.agreement import coding_agreement, rule_quality
    from consultations.report.agreement_workbook import write_agreement_workbook

    manual = _cod([("W1-T002-S01", "LOG", "manual", "A"), ("W1-T002-S01", "LOG", "manual", "B")])
    rule = _cod([("W1-T002-S01", "LOG", "rule", "règles")])
    units = ["W1-T002-S01", "W2-T001-S01"]
    table = coding_agreement(rule, manual, tiny_segments, cb_small, subset=units, n_boot=10)
    quality = rule_quality(rule, manual, tiny_segments, cb_small, units)
    out = write_agreement_workbook(table, tmp_path / "a.xlsx", quality=quality)
    wb = load_workbook(out)
    assert wb.sheetnames == ["Méthode", "Inter-codeurs", "Règles vs humains", "Qualité des règles"]
    header = [c.value for c in wb["Qualité des règles"][1]]
    assert "Référence (codeur ou consensus)" in header and "F1 (règles)" in header
    assert "Unités retenues" in [c.value for c in wb["Inter-codeurs"][1]]


def test_verdicts_and_disagreements_for_analysts(tmp_path):
    from openpyxl import load_workbook

    from consultations.coding.agreement import disagreements, verdict
    from consultations.report.agreement_workbook import VERDICT_FILLS, write_agreement_workbook

    assert [verdict(a) for a in (0.85, 0.7, 0.5, float("nan"))] == [
        "fiable", "provisoire", "code à réviser", ""]
    manual = pd.DataFrame({"segment_id": ["S1", "S1", "S2", "S3"],
                           "code_id": ["A", "A", "B", "A"], "coder": ["x", "y", "x", "y"]})
    segs = pd.DataFrame({"segment_id": ["S1", "S2", "S3", "S4"], "text": ["t1", "t2", "t3", "t4"]})
    dis = disagreements(manual, segs, ["S1", "S2", "S3", "S4"])
    assert dis[["segment_id", "code_id"]].values.tolist() == [["S2", "B"], ["S3", "A"]]
    assert dis["codes_by_coder"].iloc[0] == "x : B | y : —" and dis["text"].iloc[1] == "t3"
    table = pd.DataFrame({"comparison": ["intercodeurs", "intercodeurs"], "code_id": ["A", "B"],
                          "alpha": [0.9, 0.4]})
    out = write_agreement_workbook(table, tmp_path / "a.xlsx", disagreements=dis)
    wb = load_workbook(out)
    ws = wb["Inter-codeurs"]
    head = [c.value for c in ws[1]]
    j = next(i for i, h in enumerate(head, start=1) if h.startswith("Verdict"))
    assert [ws.cell(r, j).value for r in (2, 3)] == ["fiable", "code à réviser"]
    assert ws.cell(3, j).fill.fgColor.rgb.endswith(VERDICT_FILLS["code à réviser"])
    assert wb["Désaccords"].max_row == 3


def test_agreement_workbook_per_code_intervals_verdict_units_and_coders(tmp_path,
                                                                       tiny_segments, cb_small):
    """Per code: alpha and kappa with 95 % intervals, verdict, units; coders reported apart."""
    from openpyxl import load_workbook

    from consultations.coding.agreement import coding_agreement, disagreements
    from consultations.coding.coders import coders_table
    from consultations.report.agreement_workbook import write_agreement_workbook

    manual = _cod([("W1-T002-S01", "LOG", "manual", "A"), ("W1-T002-S01", "LOG", "manual", "B"),
                   ("W1-T002-S02", "LOG", "manual", "A"), ("W1-T003-S01", "RACK", "manual", "A"),
                   ("W1-T003-S01", "RACK", "manual", "B")])
    rule = _cod([("W1-T002-S01", "LOG", "rule", "règles")])
    units = list(tiny_segments["segment_id"])
    table = coding_agreement(rule, manual, tiny_segments, cb_small, subset=units, n_boot=200)
    extra = pd.concat([manual, _cod([("W2-T001-S01", "LOG", "manual", "Nouvelle")])])
    roles = coders_table(extra, None, ["A", "B"], units)
    dis = disagreements(manual, tiny_segments, units)
    out = write_agreement_workbook(table, tmp_path / "a.xlsx", disagreements=dis, coders=roles)
    wb = load_workbook(out)
    ws = wb["Inter-codeurs"]
    head = [c.value for c in ws[1]]
    for col in ("Code", "Unités", "Unité", "Alpha de Krippendorff", "Alpha IC95 bas",
                "Alpha IC95 haut", "Kappa de Cohen", "Kappa IC95 bas", "Kappa IC95 haut"):
        assert col in head, col
    rows = {ws.cell(r, head.index("Code") + 1).value: r for r in range(2, ws.max_row + 1)}
    assert set(rows) == {"LOG", "RACK", "_ensemble"}
    j = next(i for i, h in enumerate(head, start=1) if h.startswith("Verdict"))
    assert ws.cell(rows["RACK"], j).value == "fiable"
    assert ws.cell(rows["LOG"], j).value == "code à réviser"
    assert ws.cell(rows["LOG"], j).fill.fgColor.rgb.endswith("FFC7CE")
    lo, hi = (ws.cell(rows["_ensemble"], head.index(h) + 1).value
              for h in ("Alpha IC95 bas", "Alpha IC95 haut"))
    alpha = ws.cell(rows["_ensemble"], head.index("Alpha de Krippendorff") + 1).value
    assert lo <= alpha <= hi and lo < hi
    assert ws.cell(rows["LOG"], head.index("Unités") + 1).value == 6
    dws = wb["Désaccords"]
    assert [c.value for c in dws[2]][:3] == ["W1-T002-S02", "segment", "LOG"]
    cws = wb["Codeurs"]
    got = {cws.cell(r, 1).value: [c.value for c in cws[r]] for r in range(2, cws.max_row + 1)}
    assert set(got) == {"A", "B", "Nouvelle"}
    assert "autre codeur" in got["Nouvelle"][-1] and "double codeur" in got["A"][-1]


def test_agreement_verdict_note_flags_intervals_that_span_another_verdict(tmp_path):
    from openpyxl import load_workbook

    from consultations.coding.agreement import verdict_note
    from consultations.report.agreement_workbook import write_agreement_workbook

    assert verdict_note(0.9, 0.85, 0.95) == ""
    note = verdict_note(0.85, 0.56, 1.0, 8)
    assert "« code à réviser »" in note and "(8 unités codées)" in note and "0,56" in note
    assert "« fiable »" in verdict_note(0.56, -0.01, 1.0) and "\u22120,01" in verdict_note(
        0.56, -0.01, 1.0)
    assert verdict_note(float("nan"), 0.1, 0.9) == ""
    table = pd.DataFrame({"comparison": ["intercodeurs"] * 2, "code_id": ["A", "B"],
                          "alpha": [0.85, 0.9], "alpha_ci_low": [0.5, 0.86],
                          "alpha_ci_high": [1.0, 0.94], "n_positive": [6, 40],
                          "note": ["", ""]})
    ws = load_workbook(write_agreement_workbook(table, tmp_path / "a.xlsx"))["Inter-codeurs"]
    head = [c.value for c in ws[1]]
    col = head.index("Remarque") + 1
    assert "verdict incertain" in ws.cell(2, col).value and not ws.cell(3, col).value
