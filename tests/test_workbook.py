"""The evidence workbook: one sheet per table, French headers, formats, filters, colour scales."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fixtures_export import empty_tables, make_tables
from openpyxl import load_workbook

from consultations.report.workbook import COLUMN_LABELS, SHEETS, render_workbook


@pytest.fixture(scope="module")
def book():
    data, names = render_workbook(make_tables(), "1.2.0")
    return load_workbook(io.BytesIO(data)), names


def _headers(ws):
    return [c.value for c in ws[1]]


def test_workbook_one_sheet_per_table(book):
    wb, names = book
    assert wb.sheetnames == names == ["Lisez-moi"] + list(SHEETS)
    assert all(len(n) <= 31 for n in names)


def test_workbook_french_headers_frozen_and_filtered(book):
    wb, _ = book
    tables = make_tables()
    for sheet, (table, _) in SHEETS.items():
        ws = wb[sheet]
        heads = _headers(ws)
        assert heads[0] == COLUMN_LABELS.get(tables[table].columns[0], tables[table].columns[0])
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        # an empty table keeps one row that says so under its header
        assert ws.max_row == max(len(tables[table]), 1) + 1, sheet
    assert "% des segments du groupe" in _headers(wb["Codes × groupes"])
    assert "p ajusté" in _headers(wb["Tests"])


def test_workbook_number_formats_and_colour_scale(book):
    wb, _ = book
    ws = wb["Codes × groupes"]
    col = _headers(ws).index("% des segments du groupe") + 1
    assert ws.cell(row=2, column=col).number_format == "0.0%"
    assert 0 <= ws.cell(row=2, column=col).value <= 1
    rules = [r for rng in ws.conditional_formatting for r in rng.rules]
    assert any(r.type == "colorScale" for r in rules)
    tests = wb["Tests"]
    pcol = _headers(tests).index("p ajusté") + 1
    assert tests.cell(row=2, column=pcol).number_format == "0.000"
    assert ws.column_dimensions["A"].width >= 8


def test_workbook_quotes_carry_references(book):
    wb, _ = book
    ws = wb["Citations"]
    heads = _headers(ws)
    ref = heads.index("Référence") + 1
    seg = heads.index("Segment") + 1
    for row in range(2, ws.max_row + 1):
        assert ws.cell(row=row, column=seg).value in ws.cell(row=row, column=ref).value


def test_workbook_empty_tables_say_so():
    data, _ = render_workbook(empty_tables())
    wb = load_workbook(io.BytesIO(data))
    assert "aucune ligne" in wb["Thèmes"]["A2"].value
    assert "inconnue" in wb["Lisez-moi"]["A2"].value


def test_workbook_missing_table_sheet_explains():
    t = make_tables()
    del t["topic_info"]
    wb = load_workbook(io.BytesIO(render_workbook(t)[0]))
    assert "non produit" in wb["Thèmes émergents"]["A1"].value


def test_workbook_does_not_mutate_inputs():
    t = make_tables()
    before = t["evidence_quotes"].copy()
    render_workbook(t)
    pd.testing.assert_frame_equal(before, t["evidence_quotes"])


def test_workbook_orphan_sheet_lists_what_needs_a_person():
    tables = make_tables()
    kept = tables["coding_anchors"].iloc[[1]].assign(status="kept", code_changed=False)
    tables["coding_anchors"] = pd.concat([tables["coding_anchors"], kept], ignore_index=True)
    data, _ = render_workbook(tables)
    ws = load_workbook(io.BytesIO(data))["Codages orphelins"]
    heads = _headers(ws)
    rows = [dict(zip(heads, r, strict=False)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert len(rows) == 2  # the kept coding is not listed
    assert rows[0]["État"] == "orphelin (non appliqué)" and rows[0]["Nature"] == "codage manuel"
    assert rows[1]["Code modifié depuis"] == "oui" and rows[1]["État"] == "déplacé"
