"""Pipeline mechanics: caching, warnings, private tables, staging of reports."""

from __future__ import annotations

import sys
import types

import pandas as pd
import pytest

from consultations import pipeline
from consultations.core.config import Settings, get_paths
from consultations.core.errors import InputError, warn_input


@pytest.fixture()
def fake_stages(monkeypatch):
    calls = {"a": 0, "export": 0}

    def stage_a(tables, paths, settings):
        calls["a"] += 1
        warn_input("x.txt", 3, "something odd", "check it")
        text = (paths.transcripts / "f.txt").read_text()
        v = [1, 2] if "bonjour" in text or "bonsoir" in text else [1, 5]
        return {"alpha": pd.DataFrame({"v": v}), "private_key": pd.DataFrame({"k": ["n"]}),
                "_summary": {"n": 2}}

    def stage_export(tables, paths, settings):
        calls["export"] += 1
        (paths.reports / "out.txt").write_text(str(tables["alpha"]["v"].sum()))
        if settings.extra.get("report", {}).get("fail"):
            raise RuntimeError("boom")
        return {"_summary": {}}

    for name, fn in {"a": stage_a, "export": stage_export}.items():
        mod = types.ModuleType(f"fake_{name}")
        mod.run_stage = fn
        monkeypatch.setitem(sys.modules, f"fake_{name}", mod)
    monkeypatch.setattr(pipeline, "STAGES", {"a": "fake_a", "export": "fake_export"})
    return calls


def _paths(tmp_path):
    (tmp_path / "data" / "transcripts").mkdir(parents=True)
    (tmp_path / "data" / "transcripts" / "f.txt").write_text("X : bonjour")
    return get_paths(tmp_path / "data", tmp_path / "reports")


def test_pipeline_caches_unchanged_inputs(tmp_path, fake_stages):
    paths = _paths(tmp_path)
    s1 = pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    s2 = pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    assert fake_stages == {"a": 1, "export": 1}
    assert s2["stages"]["a"]["cached"] is True
    assert s1["warnings"] == s2["warnings"] and s1["warnings"][0]["line"] == 3
    # The input changed but stage a gives the same table: the export stays cached.
    (paths.transcripts / "f.txt").write_text("X : bonsoir")
    s3 = pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    assert fake_stages == {"a": 2, "export": 1} and s3["stages"]["export"]["cached"]
    # A different table upstream: the export reruns.
    (paths.transcripts / "f.txt").write_text("X : au revoir")
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    assert fake_stages == {"a": 3, "export": 2}


def test_pipeline_private_tables_stay_out_of_catalog(tmp_path, fake_stages):
    paths = _paths(tmp_path)
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    assert (paths.private / "key.csv").exists()
    assert not (paths.interim / "private_key.parquet").exists()
    assert pipeline.Catalog(paths)["alpha"]["v"].tolist() == [1, 2]


def test_pipeline_failed_export_keeps_previous_reports(tmp_path, fake_stages):
    paths = _paths(tmp_path)
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    assert (paths.reports / "out.txt").read_text() == "3"
    with pytest.raises(RuntimeError):
        pipeline.run_pipeline(paths, Settings(extra={"report": {"fail": True}}),
                              progress=lambda m: None)
    assert (paths.reports / "out.txt").read_text() == "3"
    assert not list(paths.reports.glob(".staging-*"))
    assert not list(paths.reports.parent.glob(".staging-*"))


def test_pipeline_stages_inside_reports_and_cleans_leftovers(tmp_path, fake_stages,
                                                             monkeypatch):
    paths = _paths(tmp_path)
    seen = []
    real = pipeline._publish

    def spy(staging, reports, previous, expected=None):
        seen.append(staging)
        return real(staging, reports, previous, expected)

    monkeypatch.setattr(pipeline, "_publish", spy)
    left = paths.reports / ".staging-killed"
    (left / "figures").mkdir(parents=True)
    (left / "brief.docx").write_bytes(b"half")
    messages = []
    pipeline.run_pipeline(paths, Settings(), progress=messages.append)
    assert seen and seen[0].parent == paths.reports  # same file system as the reports
    assert not left.exists() and not list(paths.reports.glob(".staging-*"))
    assert any(".staging-killed" in m for m in messages)
    assert (paths.reports / "out.txt").read_text() == "3"


def test_pipeline_incomplete_output_is_not_published(tmp_path, fake_stages, monkeypatch):
    paths = _paths(tmp_path)
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    state = pipeline._load_state(paths)["export"]

    def truncated(tables, p, settings):
        (p.reports / "out.txt").write_text("9")
        (p.reports / "brief.pdf").write_bytes(b"")  # a writer stopped by a full disk
        return {"_summary": {"files": ["out.txt", "brief.pdf"]}}

    monkeypatch.setattr(sys.modules["fake_export"], "run_stage", truncated)
    with pytest.raises(InputError, match="brief.pdf : vide"):
        pipeline.run_pipeline(paths, Settings(), force=["export"], progress=lambda m: None)
    assert (paths.reports / "out.txt").read_text() == "3"
    assert not (paths.reports / "brief.pdf").exists()
    assert pipeline._load_state(paths)["export"] == state  # the old export still counts


@pytest.mark.parametrize("name, data, why", [
    ("a.pdf", b"<html>", "%PDF"), ("a.docx", b"PK\x03\x04 not really", "illisible"),
    ("a.xlsx", b"", "vide"), ("b.pdf", None, "absent")])
def test_pipeline_check_staged_names_each_incomplete_file(tmp_path, name, data, why):
    if data is not None:
        (tmp_path / name).write_bytes(data)
    with pytest.raises(InputError, match=why) as exc:
        pipeline.check_staged(tmp_path, [name])
    assert name in exc.value.message


def test_pipeline_unwritable_output_fails_before_work(tmp_path, fake_stages, monkeypatch):
    paths = _paths(tmp_path)
    blocker = tmp_path / "blocked"
    blocker.write_text("a file, not a folder")
    with pytest.raises(InputError, match="pas accessible en écriture"):
        pipeline.run_pipeline(get_paths(paths.data, blocker / "reports"), Settings(),
                              progress=lambda m: None)
    assert fake_stages["a"] == 0


def test_pipeline_single_stage_summary_keeps_current_stages(tmp_path, fake_stages):
    paths = _paths(tmp_path)
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    summary = pipeline.run_pipeline(paths, Settings(), stages=["export"], force=True,
                                    progress=lambda m: None)
    assert fake_stages == {"a": 1, "export": 2}
    assert set(summary["stages"]) == {"a", "export"}
    assert summary["stages"]["a"]["cached"] is True and summary["warnings"]
    (paths.transcripts / "f.txt").write_text("X : autre chose")
    summary = pipeline.run_pipeline(paths, Settings(), stages=["a"], progress=lambda m: None)
    assert set(summary["stages"]) == {"a"}  # export is stale now: not reported as current
