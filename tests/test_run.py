"""End to end: `consultations run` on the bundled sample corpus, as a user runs it.

Checks what no stage test can: every output is produced from the real sample, nothing in
reports/ carries a name, phone number or e-mail address from the transcripts, quotes and
figures in the brief resolve to the tables, a second run gives identical tables and brief text,
and a warm re-run is served from the cache.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from privacy_corpus import output_text

from consultations.cli import main as cli_main
from consultations.core import io as cio
from consultations.core.config import Settings, get_paths
from consultations.core.textutils import fold
from consultations.ingest import readers, redact
from consultations.pipeline import Catalog, run_pipeline

pytestmark = pytest.mark.slow

#: Third persons the corpus writers put inside speech (invented); they must be redacted.
THIRD_PERSONS = ["Mamadou Sangho", "Aïssata Kané", "Tiémoko Sylla", "Bréhima Daffé",
                 "Moussa Dara", "Yaya Kounta", "Kadia Tounkara", "Kadia Dicko",
                 "Bréhima Sissoko", "Ousmane Diakité", "Hassane Cissé"]
OUTPUTS = ["brief.docx", "brief.html", "brief.pdf", "evidence_tables.xlsx", "codebook.qdc",
           "project.qdpx", "run_summary.json", "figures/heatmap_codes_groupes.png",
           "figures/heatmap_codes_groupes.svg"]


def _copy_sample(src: Path, dst: Path) -> Path:
    for sub in ("transcripts", "coded"):
        shutil.copytree(src / sub, dst / sub, ignore=shutil.ignore_patterns(".anchors"))
    return dst


@pytest.fixture(scope="session")
def sample_runs(sample_data_dir, tmp_path_factory):
    """Two independent cold runs of the whole pipeline on copies of the sample."""
    runs = []
    for name in ("a", "b"):
        root = tmp_path_factory.mktemp(f"run_{name}")
        paths = get_paths(_copy_sample(sample_data_dir, root / "data"), root / "reports")
        summary = run_pipeline(paths, Settings(), progress=lambda m: None)
        runs.append({"paths": paths, "summary": summary})
    return runs


def _name_forms(sample_data_dir: Path) -> set[str]:
    labels = pd.read_csv(sample_data_dir / "transcripts" / "participants.csv")["speaker"]
    forms = set()
    for name in [*labels, *THIRD_PERSONS]:
        forms.update(redact.name_patterns(name) or [fold(name)])
        forms.update(fold(w) for w in name.split()[-1:] if len(w) > 3)
    return forms - {"facilitatrice", "facilitateur"}


def test_run_produces_every_output_from_the_sample(sample_runs):
    reports = sample_runs[0]["paths"].reports
    for rel in OUTPUTS:
        assert (reports / rel).is_file() and (reports / rel).stat().st_size > 0, rel
    assert (reports / "brief.pdf").read_bytes().startswith(b"%PDF")
    summary = sample_runs[0]["summary"]
    assert set(summary["stages"]) == {"ingest", "code", "topics", "compare", "evidence",
                                      "export"}
    assert summary["stages"]["ingest"]["workshops"] == 5
    assert not list(reports.glob(".staging-*")) and not list(reports.parent.glob(".staging-*"))


def test_run_reports_carry_no_name_phone_or_email(sample_runs, sample_data_dir):
    raw = " ".join(readers.read_text_file(p).text
                   for p in sorted((sample_data_dir / "transcripts").iterdir())
                   if p.suffix in {".txt", ".md", ".docx"} and p.name != "README.md")
    phones = [m.group(0) for m in redact._PHONE_RE.finditer(raw)]
    emails = redact._EMAIL_RE.findall(raw)
    assert len(phones) >= 5 and len(emails) >= 2  # the sample carries them on purpose
    forms = _name_forms(sample_data_dir)
    reports = sample_runs[0]["paths"].reports
    files = [p for p in sorted(reports.rglob("*")) if p.is_file()]
    assert len(files) >= len(OUTPUTS)
    for path in files:
        text = output_text(path)
        folded = fold(text)
        digits = re.sub(r"\D", "", text)
        for phone in phones:
            assert phone not in text and re.sub(r"\D", "", phone) not in digits, (path, phone)
        for email in emails:
            assert email.lower() not in text.lower(), (path, email)
        for form in forms:
            assert not re.search(r"(?<!\w)" + re.escape(form) + r"(?!\w)", folded), (path, form)


class _Quotes(HTMLParser):
    """Collect the text of <blockquote> elements and segment references in brief.html."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.quotes: list[list[str]] = []  # [segment_id, text]

    def handle_starttag(self, tag, attrs):
        if tag == "blockquote":
            self.depth += 1
            self.quotes.append([dict(attrs).get("data-segment", ""), ""])

    def handle_endtag(self, tag):
        if tag == "blockquote":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.quotes[-1][1] += data


def test_run_brief_quotes_and_references_resolve(sample_runs):
    paths = sample_runs[0]["paths"]
    cat = Catalog(paths)
    segments = cat["segments"].set_index("segment_id")
    quotes = cat["evidence_quotes"]
    html = (paths.reports / "brief.html").read_text(encoding="utf-8")
    refs = set(re.findall(r"\b(ATL\d-T\d{3}-S\d{2})\b", html))
    assert refs and refs <= set(segments.index)
    for q in quotes.itertuples():
        assert q.text in segments.loc[q.segment_id, "text"]
        assert q.line_start == segments.loc[q.segment_id, "line_start"]
    parser = _Quotes()
    parser.feed(html)
    assert parser.quotes
    # Every quote shown in the brief is one of the evidence tables' quotes (by theme, or one
    # per side of a position question).
    shown = set(quotes["segment_id"]) | set(cat["position_quotes"]["segment_id"])
    assert {seg_id for seg_id, _ in parser.quotes} <= shown
    for seg_id, text in parser.quotes:
        body = re.search(r"«\s*(.+?)\s*»", re.sub(r"\s+", " ", text))
        assert body and seg_id in segments.index, (seg_id, text)
        assert body.group(1).rstrip("…").strip() in segments.loc[seg_id, "text"], (seg_id, text)


def test_run_two_runs_identical_tables_and_brief_text(sample_runs):
    import docx

    a, b = (r["paths"] for r in sample_runs)
    names = sorted(p.stem for p in a.interim.glob("*.parquet"))
    assert {"segments", "codings", "topic_assignments", "evidence_by_theme"} <= set(names)
    for name in names:
        assert cio.frame_to_parquet_bytes(cio.load_table(a, name)) == \
            cio.frame_to_parquet_bytes(cio.load_table(b, name)), name
    assert (a.reports / "brief.html").read_bytes() == (b.reports / "brief.html").read_bytes()
    text = [" ".join(p.text for p in docx.Document(r.reports / "brief.docx").paragraphs)
            for r in (a, b)]
    assert text[0] == text[1]
    assert (a.reports / "evidence_tables.xlsx").read_bytes() == \
        (b.reports / "evidence_tables.xlsx").read_bytes()


def test_run_warm_rerun_is_served_from_cache(sample_runs):
    paths = sample_runs[1]["paths"]
    before = (paths.reports / "brief.html").read_bytes()
    summary = run_pipeline(paths, Settings(), progress=lambda m: None)
    assert all(st["cached"] for st in summary["stages"].values())
    assert (paths.reports / "brief.html").read_bytes() == before


def test_run_cli_bad_data_folder_exits_with_message(tmp_path, capsys):
    (tmp_path / "data" / "transcripts").mkdir(parents=True)
    rc = cli_main(["ingest", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "workshops.csv" in err


def test_run_cli_stage_runs_its_upstream_stages(sample_data_dir, tmp_path, capsys):
    data = _copy_sample(sample_data_dir, tmp_path / "data")
    rc = cli_main(["code", "--data", str(data), "--out", str(tmp_path / "out")])
    assert rc == 0
    paths = get_paths(data, tmp_path / "out")
    assert {"segments", "codings"} <= set(Catalog(paths))
    assert "topic_assignments" not in Catalog(paths)  # downstream stages are not run


def test_run_brief_states_group_positions_from_the_tables(sample_runs):
    """Who holds what, in the brief, is exactly the group_positions table's majorities."""
    from consultations.core.typography import plain

    paths = sample_runs[0]["paths"]
    cat = Catalog(paths)
    gp, summ = cat["group_positions"], cat["position_summary"]
    assert set(summ["question"]) == {"CLS", "MIL", "RACK"}
    html = plain(re.sub(r"<[^>]+>", " ", (paths.reports / "brief.html").read_text("utf-8")))
    html = re.sub(r"\s+", " ", html)
    for q, sub in gp[~gp["small_group"].astype(bool)].groupby("question"):
        for option, holders in sub.groupby("majority"):
            if option in {"partagé", "non exprimé", "à vérifier"}:
                continue
            groups = ", ".join(sorted(holders["group_code"]))
            assert f"({option}) — majorité de : {groups} ;" in html, (q, option, groups)
    # a group never holds two options of one question
    assert not gp.groupby(["question", "group_code"])["majority"].nunique().gt(1).any()


def test_run_qualcoder_round_trip_of_project_qdpx_changes_nothing(sample_runs, tmp_path):
    """project.qdpx → QualCoder (import, export unchanged) → coded/qdpx/: same results."""
    from qualcoder_style import rewrite_as_qualcoder

    src = sample_runs[0]["paths"]
    data = tmp_path / "data"
    shutil.copytree(src.data, data)
    paths = get_paths(data, tmp_path / "reports")
    made = rewrite_as_qualcoder(src.reports / "project.qdpx",
                                paths.coded / "qdpx" / "retour_qualcoder.qdpx")
    assert made["annotations"] and all(made["annotations"])  # no empty annotation
    summary = run_pipeline(paths, Settings(), stages=["code"], progress=lambda m: None)
    assert not summary["stages"]["code"]["cached"]
    before, after = Catalog(src), Catalog(paths)
    for name in ("codings", "codings_manual", "agreement", "rule_quality", "coders"):
        pd.testing.assert_frame_equal(after[name], before[name], obj=name)
    codings = before["codings"]
    n_auto = int((~codings["source"].isin(["manual", "review"])).sum())
    dropped = [w["message"] for w in summary["warnings"]
               if "codage(s) automatique(s)" in w["message"]]
    assert dropped and dropped[0].startswith(f"{n_auto} codage(s) automatique(s)")
    same = [w["message"] for w in summary["warnings"] if "porte le nom d'un codeur" in
            w["message"]]
    assert len(same) == 2  # codeuse_A and codeur_B: the CSV coders' own codings, counted once
    assert summary["stages"]["code"]["double_coders"] == ["codeur_B", "codeuse_A"]
