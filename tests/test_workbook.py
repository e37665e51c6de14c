"""The evidence workbook: one sheet per table, French headers, formats, filters, colour scales."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fixtures_export import empty_tables, make_tables
from openpyxl import load_workbook

from consultations.report.workbook import COLUMN_LABELS, P_FORMAT, SHEETS, render_workbook


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
    # raising an axis's themes is not being in favour: the header says what the cell counts
    axes = _headers(wb["Axes"])
    assert "Groupes qui évoquent ces thèmes" in axes and "Groupes favorables" not in axes


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
    assert tests.cell(row=2, column=pcol).number_format == P_FORMAT
    assert ws.column_dimensions["A"].width >= 8


def test_workbook_p_values_indices_and_counts_read_well(book):
    wb, _ = book
    tests = wb["Tests"]
    heads = _headers(tests)
    for name in ("p", "p ajusté"):
        col = heads.index(name) + 1
        assert all(tests.cell(row=r, column=col).number_format == P_FORMAT
                   for r in range(2, tests.max_row + 1))
    # The format shows « < 0,001 » below one in a thousand, three decimals otherwise.
    assert P_FORMAT.startswith('[<0.001]"<') and P_FORMAT.endswith(";0.000")
    cons = wb["Consensus"]
    col = _headers(cons).index("Indice de consensus") + 1
    values = [cons.cell(row=r, column=col).value for r in range(2, cons.max_row + 1)]
    assert values and all(v is None or round(v, 3) == v for v in values)
    assert cons.cell(row=2, column=col).number_format == "0.000"
    cg = wb["Codes × groupes"]
    col = _headers(cg).index("Segments") + 1
    assert cg.cell(row=2, column=col).number_format == "#,##0"


def test_workbook_every_sheet_prints_landscape_fitted_with_header_row(book):
    wb, _ = book
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
        if ws.title != "Lisez-moi":
            assert ws.print_title_rows == "$1:$1", ws.title
            assert ws.cell(row=2, column=1).alignment.wrap_text, ws.title


def test_workbook_text_has_french_spacing(book):
    wb, _ = book
    import re

    bad = re.compile(r" [:;!?]|« | »")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str):
                    assert not bad.search(c.value), (ws.title, c.coordinate, c.value)


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
