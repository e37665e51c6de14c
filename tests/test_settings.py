"""One settings file per project, read alike by the CLI, the notebooks and the API; a cache
per stage (a topic change reruns topics and later stages only; a codebook comment reruns
nothing)."""

from __future__ import annotations

import json
import re
import shutil
import sys
import types

import pandas as pd
import pytest

import consultations as cs
from consultations import pipeline
from consultations.cli import main as cli_main
from consultations.core.config import Settings, get_paths
from consultations.core.errors import InputError
from consultations.core.settings import load_settings, render_settings

CODEBOOK = """\
# a comment
version: "t-1"
codes:
  - {id: LOG, label: Logistique, definition: Moyens., keywords: [véhicule]}
"""


def test_settings_file_read_with_overrides(tmp_path):
    f = tmp_path / "consultations.toml"
    f.write_text('seed = 7\nworkshops = ["ATL1"]\n[topics]\nn_topics = 6\n'
                 '[compare]\nmin_group_speakers = 4\n', encoding="utf-8")
    s = load_settings(f)
    assert (s.seed, s.workshops, s.n_topics) == (7, ("ATL1",), 6)
    assert s.section("compare", {"alpha": 0.05}) == {"alpha": 0.05, "min_group_speakers": 4}
    assert load_settings(f, n_topics=3, seed=None).n_topics == 3  # flags win, None ignored
    assert load_settings(tmp_path / "absent.toml") == Settings()


@pytest.mark.parametrize("text,line,what", [
    ("seed = 1\n[topics]\nn_topic = 5\n", 3, "n_topic"),
    ("[topcs]\nn_topics = 5\n", 1, "topcs"),
    ("seed = \n", 1, "illisible"),
    ("[topics]\nn_topics = 1\n", 2, "n_topics"),
])
def test_settings_bad_file_names_file_and_line(tmp_path, text, line, what):
    f = tmp_path / "consultations.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_settings(f)
    assert exc.value.line == line and what in str(exc.value) and str(f) in str(exc.value)


def test_settings_init_writes_every_default_and_never_overwrites(tmp_path):
    (tmp_path / "data").mkdir()
    p = cs.open(tmp_path / "data", tmp_path / "out")
    path = p.init_settings()
    text = path.read_text(encoding="utf-8")
    for key in ("seed = 42", 'n_topics = "auto"', "[compare]", "min_group_speakers = 3",
                "[coding]", "n_boot = 1000", "[evidence]"):
        assert key in text
    assert cs.open(tmp_path / "data").settings.n_topics is None
    with pytest.raises(InputError, match="existe déjà"):
        p.init_settings()
    assert render_settings(Settings(), {}) in text or "seed = 42" in text


def test_settings_api_errors_name_what_is_missing(tmp_path):
    with pytest.raises(InputError, match="n'existe pas"):
        cs.open(tmp_path / "nowhere")
    (tmp_path / "data").mkdir()
    p = cs.open(tmp_path / "data", tmp_path / "out")
    with pytest.raises(InputError, match="table inconnue « segmnts »"):
        p.table("segmnts")
    with pytest.raises(InputError) as exc:
        p.table("topic_info")
    assert "étape topics" in str(exc.value) and "consultations topics" in str(exc.value)


@pytest.fixture()
def logged_stages(monkeypatch):
    """Stand-ins for the six stages under their real names (real cache specs)."""
    log = []

    def make(name):
        def run_stage(tables, paths, settings):
            log.append(name)
            if name == "ingest":
                text = (paths.transcripts / "t.txt").read_text(encoding="utf-8")
                return {"segments": pd.DataFrame({"text": [text]})}
            if name == "code":
                from consultations.coding.codebook import load_codebook

                cb = load_codebook(paths.coded / "codebook.yaml")["codebook"]
                return {"codebook": cb[["code_id", "keywords"]]}
            if name == "topics":
                return {"topic_info": pd.DataFrame({"n": [settings.n_topics or 0]})}
            if name == "export":
                (paths.reports / "brief.txt").write_text("note")
                return {}
            return {f"{name}_table": pd.DataFrame({"x": [1]})}
        return run_stage

    for name in pipeline.STAGES:
        mod = types.ModuleType(f"fake_{name}")
        mod.run_stage = make(name)
        monkeypatch.setitem(sys.modules, f"fake_{name}", mod)
    monkeypatch.setattr(pipeline, "STAGES", {n: f"fake_{n}" for n in pipeline.STAGES})
    return log


def _project(tmp_path):
    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    paths.transcripts.mkdir(parents=True)
    paths.coded.mkdir(parents=True)
    (paths.transcripts / "t.txt").write_text("X : bonjour", encoding="utf-8")
    (paths.coded / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    return paths


def test_settings_topic_change_reruns_topics_and_later_only(tmp_path, logged_stages):
    paths = _project(tmp_path)
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    assert logged_stages == list(pipeline.STAGES)
    logged_stages.clear()
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    assert logged_stages == []  # everything current
    pipeline.run_pipeline(paths, Settings(n_topics=8), progress=lambda m: None)
    assert logged_stages == ["topics", "compare", "evidence", "export"]
    logged_stages.clear()
    # only the topics stage asked for, with other settings: later stages are not reported
    # as current, and the next full run rebuilds them on the new topics
    s = pipeline.run_pipeline(paths, Settings(n_topics=5), ["topics"], progress=lambda m: None)
    assert logged_stages == ["topics"] and set(s["stages"]) == {"ingest", "code", "topics"}
    pipeline.run_pipeline(paths, Settings(n_topics=5), progress=lambda m: None)
    assert logged_stages == ["topics", "compare", "evidence", "export"]


def test_settings_codebook_comment_reruns_nothing(tmp_path, logged_stages):
    paths = _project(tmp_path)
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    logged_stages.clear()
    cb = paths.coded / "codebook.yaml"
    cb.write_text("# a new comment line\n\n" + CODEBOOK, encoding="utf-8")
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    assert logged_stages == []
    cb.write_text(CODEBOOK.replace("[véhicule]", "[véhicule, moto]"), encoding="utf-8")
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    # the topics stage reads the codebook (seed words): it reruns too
    assert logged_stages == ["code", "topics", "compare", "evidence", "export"]


def test_settings_cached_warnings_follow_a_copied_folder(tmp_path, logged_stages, monkeypatch):
    from consultations.core.errors import warn_input

    paths = _project(tmp_path / "a")
    real = sys.modules["fake_ingest"].run_stage

    def warn_then_run(tables, p, settings):
        warn_input(p.transcripts / "t.txt", 1, "avertissement de test")
        return real(tables, p, settings)

    monkeypatch.setattr(sys.modules["fake_ingest"], "run_stage", warn_then_run)
    pipeline.run_pipeline(paths, Settings(), progress=lambda m: None)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    paths_b = get_paths(tmp_path / "b" / "data", tmp_path / "b" / "reports")
    s = pipeline.run_pipeline(paths_b, Settings(), progress=lambda m: None)
    assert s["stages"]["ingest"]["cached"]
    assert s["warnings"][0]["file"] == str(paths_b.transcripts / "t.txt")


@pytest.mark.slow
def test_settings_file_drives_cli_api_and_notebook_alike(tmp_path, sample_data_dir, repo_root):
    """n_topics = 4 in the settings file: the API, the CLI and notebook 03 all fit 4 topics."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    data = tmp_path / "data"
    shutil.copytree(sample_data_dir, data,
                    ignore=shutil.ignore_patterns("interim", "private", ".anchors"))
    (data / "consultations.toml").write_text("[topics]\nn_topics = 4\n", encoding="utf-8")
    out = tmp_path / "reports"
    p = cs.open(data, out)
    p.run("topics", progress=None)
    info = p.table("topic_info")
    assert (info["topic"] >= 0).sum() == 4
    assert cli_main(["topics", "--data", str(data), "--out", str(out)]) == 0
    summary = json.loads((out / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["settings"]["topics"]["n_topics"] == 4
    assert summary["stages"]["topics"]["cached"]  # same settings: nothing rebuilt
    nb = nbformat.read(repo_root / "notebooks" / "03-topics.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = f"DATA_DIR = {str(data)!r}\nOUT_DIR = {str(out)!r}\nSETTINGS_FILE = None"
    nb.cells = [c for c in nb.cells if "figure(" not in c.source]
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "nombre de thèmes demandé : 4" in printed
    # a flag overrides the file, and only topics and later stages rerun
    assert cli_main(["topics", "--data", str(data), "--out", str(out), "--n-topics", "3"]) == 0
    summary = json.loads((out / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["stages"]["ingest"]["cached"] and summary["stages"]["code"]["cached"]
    assert not summary["stages"]["topics"]["cached"]
    assert (cs.open(data, out, n_topics=3).table("topic_info")["topic"] >= 0).sum() == 3


def test_settings_unknown_stage_key_names_file_and_line(tmp_path):
    (tmp_path / "data").mkdir()
    f = tmp_path / "data" / "consultations.toml"
    f.write_text("seed = 3\n[compare]\nmin_group_speaker = 4\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        cs.open(tmp_path / "data", tmp_path / "out")
    assert exc.value.line == 3 and "min_group_speaker" in str(exc.value)
    assert "min_group_speakers" in str(exc.value)  # the hint lists the real keys
    f.write_text("[compare]\nmin_group_speakers = 4\n[report]\ntitle = \"Plan\"\n",
                 encoding="utf-8")
    p = cs.open(tmp_path / "data", tmp_path / "out")
    assert p.settings.extra["report"]["title"] == "Plan"


def test_report_title_and_pseudonym_example_come_from_settings_and_data(tmp_path):
    import io
    import zipfile

    from fixtures_export import make_tables
    from openpyxl import load_workbook

    from consultations.report.brief import build_brief
    from consultations.report.brief_docx import render_docx
    from consultations.report.workbook import render_workbook

    tables = make_tables()
    s = load_settings(None).with_(extra={"report": {"title": "Plan d'action communal",
                                                    "subtitle": "Note de synthèse"}})
    blocks = build_brief(tables, [], s)
    assert blocks[0].kind == "title" and blocks[0].text == "Plan d'action communal"
    assert blocks[1].text == "Note de synthèse"
    text = " ".join(b.text for b in blocks)
    assert not any("Stratégie nationale" in b.text for b in blocks[:3])
    speakers = sorted(tables["segments"].loc[~tables["segments"]["is_facilitator"]
                                             .astype(bool), "speaker"].unique())
    assert f"par exemple {speakers[0]}" in text
    footer = zipfile.ZipFile(io.BytesIO(render_docx(blocks, {}))).read("word/footer1.xml")
    assert "Plan d’action communal".encode() in footer or b"Plan d'action communal" in footer
    wb = load_workbook(io.BytesIO(render_workbook(tables, title="Plan d'action communal")[0]))
    assert wb["Lisez-moi"]["A1"].value.endswith("Plan d'action communal")
    default = build_brief(tables, [], Settings())
    assert default[0].text == "Synthèse de la consultation"  # generic, not Mali's strategy


def test_report_unit_noun_names_the_corpus_sources(tmp_path):
    """``[report] unit``: parliamentary sittings are not « ateliers » in the brief."""
    from fixtures_export import make_tables

    from consultations.report.brief import brief_text, build_brief
    from consultations.report.brief_blocks import report_units
    from consultations.report.brief_glossary import add_glossary

    tables = make_tables()
    ws = sorted(tables["workshops"]["workshop_id"].astype(str))
    seg0 = sorted(tables["segments"].loc[tables["segments"]["workshop_id"].astype(str)
                                         == ws[0], "segment_id"].astype(str))[0]
    s = load_settings(None).with_(extra={"report": {"unit": "séance",
                                                    "unit_feminine": "oui"}})
    units = report_units(s)
    assert (units.one, units.many, units.feminine) == ("séance", "séances", True)
    blocks = add_glossary(build_brief(tables, [], s), tables, units)
    text = brief_text(blocks)
    n = len(ws)
    assert f"Cette note rend compte de {n} séances, tenues entre le" in text
    assert blocks[2].text.startswith("Séances, ")
    assert f"identifiant de séance ; un segment s'écrit séance-tour-phrase (ex. {seg0})" in text
    assert "ateliers de consultation" not in text.lower().split("sigles")[0]
    assert not re.search(r"\d ateliers?\b", text)  # grade reasons too (« 6 séances »)
    assert re.search(r"élément probant « \w+ » \(\d+ groupes?, \d+ séances?[,)]", text)
    # the default wording is unchanged, and the identifiers are the corpus's own
    default = brief_text(add_glossary(build_brief(tables, [], Settings()), tables))
    assert f"Cette note rend compte de {n} ateliers de consultation, tenus entre" in default
    assert f"identifiant d'atelier ; un segment s'écrit atelier-tour-phrase (ex. {seg0})" \
        in default
    bad = load_settings(None).with_(extra={"report": {"unit_feminine": "peut-être"}})
    with pytest.raises(InputError, match="unit_feminine"):
        report_units(bad)
