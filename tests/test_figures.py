"""Figures: every mark comes from a table, files are deterministic, empty input draws nothing."""

from __future__ import annotations

import pandas as pd
import pytest
from fixtures_export import make_tables

from consultations.report import figures as F


@pytest.fixture(scope="module")
def tables():
    return make_tables()


def test_figures_heatmap_values_and_marks_come_from_tables(tables):
    cgc, res = tables["code_group_counts"], tables["code_group_residuals"]
    fig, data = F.fig_code_group_heatmap(cgc, res)
    assert fig is not None
    merged = data.merge(cgc, on=["code_id", "group_code"])
    assert len(merged) == len(cgc)
    assert (merged["rate_pct"] - 100 * merged["rate_segments"]).abs().max() < 1e-9
    marked = set(map(tuple, data.loc[data["mark"] != "", ["code_id", "group_code"]].values))
    sig = set(map(tuple, res.loc[res["significant"], ["code_id", "group_code"]].values))
    assert marked == sig and marked


def test_figures_heatmap_french_labels(tables):
    fig, _ = F.fig_code_group_heatmap(tables["code_group_counts"],
                                      tables["code_group_residuals"])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Groupe d'acteurs"
    assert "segments" in ax.get_title()
    ticks = {t.get_text() for t in ax.get_yticklabels()}
    assert "Moyens logistiques" in ticks


def test_figures_other_figures_trace_to_tables(tables):
    _, cons = F.fig_consensus_map(tables["consensus"], tables["code_group_counts"])
    assert set(cons["code_id"]) == set(tables["consensus"]["code_id"])
    _, terms = F.fig_distinctive_terms(tables["distinctive_terms"])
    dt = tables["distinctive_terms"]
    assert set(map(tuple, terms[["group_code", "term"]].values)) <= \
        set(map(tuple, dt[["group_code", "term"]].values))
    _, topics = F.fig_topics_per_group(tables["topics_per_group"])
    assert -1 not in set(topics["topic"])
    assert set(topics["topic"]) <= set(tables["topic_info"]["topic"])
    _, recs = F.fig_rec_clusters(tables["rec_clusters"])
    rc = tables["rec_clusters"]
    assert set(recs["text"]) <= set(rc.loc[rc["is_representative"], "text"])


def test_figures_files_are_deterministic(tables, tmp_path):
    a = F.make_figures(tables, tmp_path / "a")
    b = F.make_figures(tables, tmp_path / "b")
    assert [f["name"] for f in a] == list(F.FIGURES)
    for fa, fb in zip(a, b, strict=True):
        for fmt in ("png", "svg"):
            assert fa[fmt].read_bytes() == fb[fmt].read_bytes(), (fa["name"], fmt)
        assert fa["png"].read_bytes().startswith(b"\x89PNG")
        assert b"<svg" in fa["svg"].read_bytes()[:2000]
        pd.testing.assert_frame_equal(fa["data"], fb["data"])


def test_figures_empty_tables_draw_nothing(tmp_path):
    empty = {k: v.iloc[0:0] for k, v in make_tables().items()}
    assert F.make_figures(empty, tmp_path) == []
    assert not list(tmp_path.glob("*"))


def test_figures_inputs_not_mutated(tables):
    before = {k: tables[k].copy() for k in ("code_group_counts", "topics_per_group")}
    F.fig_code_group_heatmap(tables["code_group_counts"], tables["code_group_residuals"])
    F.fig_topics_per_group(tables["topics_per_group"])
    for k, df in before.items():
        pd.testing.assert_frame_equal(df, tables[k])
