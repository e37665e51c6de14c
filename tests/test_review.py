import datetime as dt

import pandas as pd
import pytest
from openpyxl import load_workbook

from consultations.coding import review
from consultations.coding.codebook import parse_codebook
from consultations.coding.coder import RuleCoder, merge_codings
from consultations.core import io as cio
from consultations.core.config import Settings, get_paths
from consultations.core.errors import InputError
from consultations.pipeline import Catalog

CB = """\
version: "v-rev"
axes: [{id: A1, label: "A1 — Test"}]
codes:
  - {id: RACK, label: Racket, axis: A1, definition: Racket., keywords: [racket]}
  - {id: CONF, label: Confiance, axis: A1, definition: Confiance., keywords: [confiance]}
  - {id: LOG, label: Logistique, axis: A1, definition: Moyens., keywords: [véhicule, carburant]}
"""


@pytest.fixture()
def project(tmp_path, tiny_segments, monkeypatch):
    """A data folder with a codebook and the code stage's tables in the catalog."""
    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    paths.coded.mkdir(parents=True)
    (paths.coded / "codebook.yaml").write_text(CB, encoding="utf-8")
    codebook = parse_codebook(CB)["codebook"]
    rule = RuleCoder().fit(codebook).transform(tiny_segments)
    for name, df in {"segments": tiny_segments, "codebook": codebook,
                     "codings_rule": rule}.items():
        cio.save_table(paths, name, df)
    return paths


def _fill(path, edits, out):
    """Fill decision cells like an analyst would (Excel), saving to ``out``."""
    wb = load_workbook(path)
    ws = wb[review.SHEET]
    col = {c.value: c.column for c in ws[1]}
    for row, values in edits.items():
        for name, value in values.items():
            ws.cell(row, col[name], value)
    wb.save(out)
    return out


def test_review_export_writes_new_dated_workbooks(project):
    day = dt.date(2020, 3, 5)
    p1 = review.export_review(Catalog(project), project, date=day)
    p2 = review.export_review(Catalog(project), project, date=day)
    assert p1.name == "revue_codage_2020-03-05.xlsx"
    assert p2.name == "revue_codage_2020-03-05_2.xlsx"
    wb = load_workbook(p1)
    ws = wb[review.SHEET]
    assert [c.value for c in ws[1]] == review.HEADER
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    assert wb[review.ORIGIN].sheet_state == "hidden"
    dvs = ws.data_validations.dataValidation
    assert any('"accepter,rejeter,recoder"' == dv.formula1 for dv in dvs)
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 3  # the tiny segments' rule codings (LOG, RACK, CONF)
    code, spk = review.PROTECTED.index("code_id"), review.PROTECTED.index("locuteur")
    assert {r[code] for r in rows} == {"RACK", "CONF", "LOG"}
    assert all(r[spk] and "-" in r[spk] for r in rows)  # speaker pseudonyms
    assert ws.column_dimensions["D"].width >= 40  # the segment's text
    by = {r[code]: dict(zip(review.PROTECTED, r, strict=False)) for r in rows}
    assert by["LOG"]["phrase_après"] == "La formation des agents reste insuffisante."
    assert by["LOG"]["fichier"] == "w1.txt" and by["LOG"]["ligne"] == 2
    assert review.REVIEWER_SHEET in wb.sheetnames
    assert sum(1 for dv in dvs if "Codes!" in str(dv.formula1)) == 1
    assert "ajouter_code" in str([dv.sqref for dv in dvs]) or any(
        review.HEADER.index("ajouter_code") >= 0 for _ in dvs)


def test_review_import_round_trip(project, tmp_path):
    exported = review.export_review(Catalog(project), project, date=dt.date(2020, 3, 5))
    code = review.PROTECTED.index("code_id")
    rows = {r[1] + "|" + r[code]: i for i, r in enumerate(
        load_workbook(exported)[review.SHEET].iter_rows(min_row=2, values_only=True), start=2)}
    filled = _fill(exported, {
        rows["W1-T003-S01|RACK"]: {"décision": "accepter", "relecteur": "AK"},
        rows["W1-T003-S01|CONF"]: {"décision": "rejeter", "relecteur": "AK",
                                   "commentaire": "hors sujet"},
        rows["W1-T002-S01|LOG"]: {"décision": "recoder", "nouveau_code": "CONF",
                                  "relecteur": "AK"},
    }, tmp_path / "filled.xlsx")
    before = filled.read_bytes()
    summary = review.import_review(filled, project, Settings())
    assert filled.read_bytes() == before  # never rewritten
    assert summary["décisions"] == {"accepter": 1, "rejeter": 1, "recoder": 1}
    copy = project.coded / "review" / summary["copie"].split("/")[-1]
    assert copy.read_bytes() == before and copy.name != filled.name
    again = review.import_review(filled, project, Settings())
    assert again["déjà_importé"] and len(list((project.coded / "review").glob("*.xlsx"))) == 1
    segs = cio.load_table(project, "segments")
    codebook = cio.load_table(project, "codebook")
    dec = review.read_review_decisions(project, segs, codebook)
    rc = review.decisions_to_codings(dec, "v-rev")
    assert set(rc["source"]) == {"review"} and set(rc["coder"]) == {"AK"}
    final = merge_codings(cio.load_table(project, "codings_rule"), rc.iloc[0:0][
        [c for c in rc.columns if c not in ("decision", "original_code_id", "final")]], rc)
    pairs = set(zip(final["segment_id"], final["code_id"], final["source"], strict=False))
    assert ("W1-T003-S01", "RACK", "review") in pairs
    assert not any(p[:2] == ("W1-T003-S01", "CONF") for p in pairs)
    assert ("W1-T002-S01", "CONF", "review") in pairs
    assert not any(p[:2] == ("W1-T002-S01", "LOG") for p in pairs)


@pytest.mark.parametrize("edit, needle", [
    ({"décision": "peut-être", "relecteur": "AK"}, "décision invalide"),
    ({"décision": "recoder", "nouveau_code": "NOPE", "relecteur": "AK"}, "code inconnu"),
    ({"décision": "accepter", "relecteur": "AK", "texte": "texte changé"}, "modifiée"),
    ({"décision": "accepter"}, "nom du relecteur manquant"),
    ({"ajouter_code": "NOPE", "relecteur": "AK"}, "code ajouté inconnu"),
])
def test_review_import_rejects_bad_rows(project, tmp_path, edit, needle):
    exported = review.export_review(Catalog(project), project, date=dt.date(2020, 3, 5))
    filled = _fill(exported, {3: edit}, tmp_path / "bad.xlsx")
    with pytest.raises(InputError) as err:
        review.import_review(filled, project, Settings())
    assert needle in str(err.value) and "ligne 3" in str(err.value)
    assert not (project.coded / "review").exists() or not list(
        (project.coded / "review").glob("*.xlsx"))


def test_review_edit_detected_by_hash_without_origin_sheet(project, tmp_path):
    exported = review.export_review(Catalog(project), project, date=dt.date(2020, 3, 5))
    wb = load_workbook(exported)
    del wb[review.ORIGIN]
    wb[review.SHEET].cell(2, 3, "modifié")
    wb.save(tmp_path / "nohidden.xlsx")
    with pytest.raises(InputError, match="empreinte"):
        review.import_review(tmp_path / "nohidden.xlsx", project, Settings())


def test_review_conflicts_between_reviewers(project, tmp_path):
    """Same import date, different reviewers, different decisions: unresolved, unverified."""
    exported = review.export_review(Catalog(project), project, date=dt.date(2020, 3, 5))
    a = _fill(exported, {2: {"décision": "accepter", "relecteur": "AK"}}, tmp_path / "a.xlsx")
    b = _fill(exported, {2: {"décision": "rejeter", "relecteur": "BD"}}, tmp_path / "b.xlsx")
    review.import_review(a, project, Settings())
    summary = review.import_review(b, project, Settings())
    assert len(summary["conflits"]) == 1
    assert summary["conflits"][0]["reviewers"] == "AK, BD"
    assert summary["conflits"][0]["status"] == review.UNRESOLVED
    dec = review.read_review_decisions(project, cio.load_table(project, "segments"),
                                       cio.load_table(project, "codebook"))
    rc = review.decisions_to_codings(dec)
    assert rc["final"].sum() == 0  # no decision stands: the pair stays unverified
    rule = cio.load_table(project, "codings_rule")
    final = merge_codings(rule, rule.iloc[0:0], rc)
    first = load_workbook(exported)[review.SHEET].cell(2, review.HEADER.index("code_id") + 1)
    seg = load_workbook(exported)[review.SHEET].cell(2, 2).value
    assert ((final["segment_id"] == seg) & (final["code_id"] == first.value)
            & (final["source"] == "rule")).any()  # the automatic coding is kept as is


def test_review_conflict_settled_by_later_import_not_file_name(project, tmp_path):
    """The latest import date wins, whatever the file names' order."""
    exported = review.export_review(Catalog(project), project, date=dt.date(2020, 3, 5))
    folder = project.coded / "review"
    folder.mkdir(parents=True)
    z = _fill(exported, {2: {"décision": "accepter", "relecteur": "AK"}}, tmp_path / "z.xlsx")
    a = _fill(exported, {2: {"décision": "rejeter", "relecteur": "BD"}}, tmp_path / "a.xlsx")
    (folder / "z_import_2020-03-01.xlsx").write_bytes(z.read_bytes())  # older, later name
    (folder / "a_import_2020-03-09.xlsx").write_bytes(a.read_bytes())  # newer, earlier name
    dec = review.read_review_decisions(project, cio.load_table(project, "segments"),
                                       cio.load_table(project, "codebook"))
    rc = review.decisions_to_codings(dec, folder=folder)
    assert rc.loc[rc["final"], "decision"].tolist() == ["rejeter"]
    conf = review.review_conflicts(dec, folder)
    assert conf["status"].tolist() == [review.RESOLVED]
    assert "2020-03-09" in conf["files"].iloc[0]


def test_review_name_once_added_code_and_queue(project, tmp_path):
    """Name on the Relecteur sheet; an added code becomes a review coding; decided rows leave."""
    exported = review.export_review(Catalog(project), project, date=dt.date(2020, 3, 5))
    wb = load_workbook(exported)
    ws = wb[review.SHEET]
    col = {c.value: c.column for c in ws[1]}
    seg = ws.cell(2, col["segment_id"]).value
    ws.cell(2, col["décision"], "accepter")
    ws.cell(2, col["ajouter_code"], "LOG" if ws.cell(2, col["code_id"]).value != "LOG"
            else "CONF")
    ws.cell(3, col["décision"], "accepter")
    wb[review.REVIEWER_SHEET]["B1"] = "AK"
    wb.save(tmp_path / "once.xlsx")
    summary = review.import_review(tmp_path / "once.xlsx", project, Settings())
    assert summary["relecteurs"] == ["AK"] and summary["ajouts"] == 1
    dec = review.read_review_decisions(project, cio.load_table(project, "segments"),
                                       cio.load_table(project, "codebook"))
    rc = review.decisions_to_codings(dec)
    assert (rc["decision"] == review.ADDED).sum() == 1
    assert set(rc.loc[rc["decision"] == review.ADDED, "segment_id"]) == {seg}
    cio.save_table(project, "codings_review", rc)
    again = review.export_review(Catalog(project), project, date=dt.date(2020, 3, 6))
    left = list(load_workbook(again)[review.SHEET].iter_rows(min_row=2, values_only=True))
    assert len(left) == 1  # the two decided rows are not offered again


def test_review_import_groups_problems_and_refuses_ods(project, tmp_path):
    exported = review.export_review(Catalog(project), project, date=dt.date(2020, 3, 5))
    filled = _fill(exported, {2: {"décision": "accepter"}, 3: {"décision": "accepter"},
                              4: {"décision": "peut-être"}}, tmp_path / "noname.xlsx")
    with pytest.raises(InputError) as err:
        review.import_review(filled, project, Settings())
    msg = str(err.value)
    assert "lignes 2, 3 : nom du relecteur manquant" in msg and "décision invalide" in msg
    assert msg.count("nom du relecteur manquant") == 1 and "Relecteur" in msg
    ods = tmp_path / "revue.ods"
    ods.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match="OpenDocument") as err2:
        review.import_review(ods, project, Settings())
    assert ".xlsx" in str(err2.value)


def test_review_queue_order_and_facilitators(tiny_segments):
    """Position codes first, then their parents, then others; uncertain first; no FAC rows."""
    codebook = pd.DataFrame({
        "code_id": ["CLS", "CLS.MAIRE", "LOG"], "label": ["C", "M", "L"],
        "definition": ["d", "d", "d"], "parent": ["", "CLS", ""],
        "position": ["", "présidence par le maire", ""]})
    auto = pd.DataFrame({
        "segment_id": ["W1-T002-S01", "W2-T001-S01", "W2-T001-S01", "W1-T001-S01",
                       "W1-T002-S02"],
        "code_id": ["LOG", "CLS", "CLS.MAIRE", "LOG", "LOG"],
        "source": ["rule", "rule", "model", "rule", "model"],
        "evidence": [""] * 5, "matched_text": [""] * 5, "negated": [False] * 5,
        "probability": [0.9, float("nan"), 0.8, 0.5, 0.55]})
    rows = review.review_rows(auto, tiny_segments, codebook)
    assert rows["code_id"].tolist() == ["CLS.MAIRE", "CLS", "LOG", "LOG"]
    assert rows["segment_id"].tolist()[2:] == ["W1-T002-S02", "W1-T002-S01"]  # 0.55 before 0.9
    assert "W1-T001-S01" not in set(rows["segment_id"])  # facilitator out by default
    with_fac = review.review_rows(auto, tiny_segments, codebook, facilitators=True)
    assert "W1-T001-S01" in set(with_fac["segment_id"])
    assert rows.loc[0, "source"] == "modèle" and rows.loc[0, "probabilité"] == "0.80"


def test_review_agreement_report_writes_french_workbook(project, tiny_segments):
    from consultations.coding import agreement

    codings = pd.DataFrame({"segment_id": ["W1-T002-S01", "W1-T003-S01", "W1-T002-S01"],
                            "code_id": ["LOG", "RACK", "LOG"], "coder": ["A", "A", "B"]})
    table = agreement.coding_agreement(cio.load_table(project, "codings_rule"), codings,
                                       tiny_segments, cio.load_table(project, "codebook"),
                                       n_boot=20)
    cio.save_table(project, "agreement", table)
    from consultations.report.agreement_workbook import write_agreement_workbook

    out = write_agreement_workbook(table, project.reports / "accord_intercodeurs.xlsx")
    assert out == project.reports / "accord_intercodeurs.xlsx"
    wb = load_workbook(out)
    assert wb.sheetnames == ["Méthode", "Inter-codeurs", "Règles vs humains"]
    assert "Unité : le segment" in wb["Méthode"]["A3"].value
    assert wb["Inter-codeurs"]["A1"].value == "Comparaison"
    assert "Alpha de Krippendorff" in [c.value for c in wb["Inter-codeurs"][1]]


def test_review_conflicts_sheet_lists_each_decision_which_stands_and_why(project, tmp_path):
    """« Conflits de revue » in the evidence workbook: who decided what, when, which stands."""
    import io

    from consultations.core.schema import TABLES
    from consultations.report.workbook import render_workbook

    exported = review.export_review(Catalog(project), project, date=dt.date(2020, 3, 5))
    folder = project.coded / "review"
    folder.mkdir(parents=True)
    old = _fill(exported, {2: {"décision": "accepter", "relecteur": "AK"},
                           3: {"décision": "accepter", "relecteur": "AK"}}, tmp_path / "o.xlsx")
    new = _fill(exported, {2: {"décision": "rejeter", "relecteur": "BD"}}, tmp_path / "n.xlsx")
    same_day = _fill(exported, {3: {"décision": "rejeter", "relecteur": "CE"}},
                     tmp_path / "s.xlsx")
    (folder / "z_import_2020-03-01.xlsx").write_bytes(old.read_bytes())
    (folder / "a_import_2020-03-09.xlsx").write_bytes(new.read_bytes())
    (folder / "b_import_2020-03-01.xlsx").write_bytes(same_day.read_bytes())
    segments = cio.load_table(project, "segments")
    dec = review.read_review_decisions(project, segments, cio.load_table(project, "codebook"))
    rows = review.review_conflict_decisions(dec, segments, folder)
    assert list(rows.columns) == TABLES["review_conflict_decisions"]
    assert len(rows) == 4  # two conflicting pairs, two decisions each
    settled = rows[rows["reviewer"].isin(["AK", "BD"]) & (rows["import_date"] != "")]
    by = {(r.reviewer, r.import_date): r for r in rows.itertuples()}
    assert by[("BD", "2020-03-09")].stands and "la plus récente" in by[("BD", "2020-03-09")].why
    assert not by[("AK", "2020-03-01")].stands
    assert any("remplacée" in r.why for r in settled.itertuples())
    # Row 3: AK and CE disagree on the same (latest) date: unresolved, nothing stands.
    unresolved = rows[rows["reviewer"] == "CE"].iloc[0]
    pair = rows[(rows["segment_id"] == unresolved["segment_id"])
                & (rows["code_id"] == unresolved["code_id"])]
    assert not pair["stands"].any() and pair["why"].str.contains("non résolu").all()
    text = dict(zip(segments["segment_id"], segments["text"], strict=True))
    assert (rows["text"] == rows["segment_id"].map(text)).all()
    data, names = render_workbook({"review_conflict_decisions": rows})
    assert "Conflits de revue" in names
    ws = load_workbook(io.BytesIO(data))["Conflits de revue"]
    header = [c.value for c in ws[1]]
    assert {"Segment", "Code", "Relecteur", "Décision", "Date d'import de la revue",
            "Décision retenue"} <= set(header)
    col = header.index("Relecteur")
    assert sorted(ws.cell(r, col + 1).value for r in range(2, ws.max_row + 1)) == [
        "AK", "AK", "BD", "CE"]
