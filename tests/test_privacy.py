"""End to end on the privacy corpus: no secret in any output, ordinary words untouched.

The corpus (tests/privacy_corpus.py, fictional) is three sample workshops with at least 60
secrets added in speech, recommendations, a file name, workshops.csv and participants.csv
fields, a Word table and a Word header. The whole pipeline runs once (module fixture); every
output is read as a user could (zip members of docx/xlsx/qdpx, PDF text when pdftotext is
installed, html, json, svg), folded for case and accents, and searched for each secret as a
whole word.
"""

from __future__ import annotations

import html
import re
import stat
import warnings

import pandas as pd
import pytest
from privacy_corpus import (
    ORDINARY,
    ORDINARY_SENTENCE,
    SECRETS,
    build_privacy_corpus,
    output_text,
)

from consultations.core.config import Settings, get_paths
from consultations.core.textutils import fold
from consultations.pipeline import Catalog, run_pipeline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def privacy_run(sample_data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy")
    data = build_privacy_corpus(sample_data_dir, root / "data")
    paths = get_paths(data, root / "reports")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = run_pipeline(paths, Settings(), progress=lambda m: None)
    outputs = {p.relative_to(paths.reports).as_posix(): fold(html.unescape(output_text(p)))
               for p in sorted(paths.reports.rglob("*")) if p.is_file()}
    return {"paths": paths, "summary": summary, "outputs": outputs, "catalog": Catalog(paths)}


def _found(secret: str, outputs: dict[str, str]) -> list[str]:
    pat = re.compile(r"(?<![\w])" + re.escape(fold(secret)) + r"(?![\w])")
    return [name for name, text in outputs.items() if pat.search(text)]


def test_privacy_corpus_has_60_varied_secrets():
    assert len(SECRETS) >= 60 and len(set(map(fold, SECRETS))) == len(SECRETS)


def test_privacy_no_secret_in_any_output(privacy_run):
    outputs = privacy_run["outputs"]
    assert {"brief.docx", "brief.html", "evidence_tables.xlsx", "project.qdpx",
            "run_summary.json"} <= set(outputs)
    leaks = {s: _found(s, outputs) for s in SECRETS}
    leaks = {s: w for s, w in leaks.items() if w}
    recall = 1 - len(leaks) / len(SECRETS)
    assert not leaks, f"secret recall {recall:.1%}; leaked: {leaks}"


def test_privacy_ordinary_words_survive(privacy_run):
    segs = privacy_run["catalog"]["segments"]
    text = " ".join(segs["text"])
    assert ORDINARY_SENTENCE in text
    for w in ORDINARY:
        assert w in text, w


def test_privacy_file_name_and_fields_redacted(privacy_run):
    cat = privacy_run["catalog"]
    ws = cat["workshops"].set_index("workshop_id")
    assert ws.loc["ATL2", "file"] == "ATL2_transcription.docx"
    assert set(cat["segments"].loc[cat["segments"]["workshop_id"] == "ATL2", "source_file"]) \
        == {"ATL2_transcription.docx"}
    assert "[DEC-" in ws.loc["ATL1", "location"] or "[PERSONNE]" in ws.loc["ATL1", "location"]
    labels = pd.read_csv(privacy_run["paths"].private / "file_labels.csv")
    assert dict(zip(labels["label"], labels["file"], strict=True))[
        "ATL2_transcription.docx"] == "atelier2_dec_SANOGO_Drissa.docx"


def test_privacy_private_folder_and_key_permissions(privacy_run):
    private = privacy_run["paths"].private
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert stat.S_IMODE((private / "pseudonym_key.csv").stat().st_mode) == 0o600


def test_privacy_groups_table_in_catalog(privacy_run):
    groups = privacy_run["catalog"]["groups"]
    assert list(groups["group_code"]) == ["FDS", "DEC", "OSC", "JUS", "FAC"]
    assert groups["colour"].str.fullmatch(r"#[0-9A-F]{6}").all()
    assert privacy_run["summary"]["stages"]["ingest"]["groups"] == 4
