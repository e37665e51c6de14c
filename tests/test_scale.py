"""Streaming ingest: same tables whichever engine runs the batches; an interrupted run resumes.

Runs on a subset of the sample corpus (the first turns of two workshops) cut into small
batches, with the small French model, so the whole module stays well under a minute.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from consultations.core.config import Settings
from consultations.core.engine import Engine
from consultations.core.errors import InputError
from consultations.core.settings import load_settings
from consultations.ingest import clean, readers, redact, segment
from consultations.ingest import turns as ingest
from consultations.pipeline import Catalog, table_hash

MODEL = "fr_core_news_sm"
BATCH = 1500  # characters of speech per batch: several batches, two of them in one file


@pytest.fixture(scope="module")
def corpus(sample_data_dir):
    """``(raw, sources, speakers)`` of the first turns of two sample workshops."""
    tdir = sample_data_dir / "transcripts"
    workshops = ingest.read_workshops(tdir / "workshops.csv")
    participants = ingest.read_participants(tdir / "participants.csv", workshops)
    raws, sources = [], {}
    for w in workshops.head(2).itertuples(index=False):
        dec = readers.read_text_file(tdir / w.file)
        labels = list(participants.loc[participants["workshop_id"] == w.workshop_id,
                                       "speaker"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = ingest.parse_transcript(dec.text, labels, w.file, w.workshop_id)
        raws.append(p.turns.head(14))
        sources[w.file] = dec.text
    raw = pd.concat(raws, ignore_index=True)
    speakers = redact.assign_pseudonyms(participants, raw[["workshop_id", "speaker", "turn_n"]])
    return raw, sources, speakers


@pytest.fixture(scope="module")
def reference(corpus):
    """The tables made the in-memory way (every turn parsed at once, whole sources)."""
    raw, sources, speakers = corpus
    cleaned = clean.clean_turns(raw, sources)
    docs = segment.parse_texts(list(cleaned["text"]), segment.load_nlp(MODEL))
    turns, _ = redact.pseudonymise(cleaned, speakers, docs)
    segs = segment.segment_turns(turns, docs=docs, sources=sources)
    return segment.finish_turns(turns, segs), segs


def _stream(corpus, tmp_path, engine, **kw):
    raw, sources, speakers = corpus
    return segment.stream_segments(raw, sources, speakers, model=MODEL, cache_dir=tmp_path,
                                   engine=engine, batch_chars=BATCH, **kw)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return table_hash(a) == table_hash(b)


def test_scale_batches_cut_a_file_and_carry_only_their_slice(corpus):
    raw, sources, _ = corpus
    batches = list(segment.plan_batches(raw, sources, batch_chars=BATCH))
    assert len(batches) >= 4
    assert sum(b["n_turns"] for b in batches) == len(raw)
    first_file = raw["source_file"].iloc[0]
    in_first = [b for b in batches if first_file in b["windows"]]
    assert len(in_first) >= 2  # one file, several batches
    for b in in_first:
        assert len(b["windows"][first_file]) < len(sources[first_file])


def test_scale_local_engine_gives_the_in_memory_tables(corpus, reference, tmp_path):
    turns, segs, stats = _stream(corpus, tmp_path / "one", Engine("local", 1))
    assert stats["batches"] >= 4 and stats["batches_reused"] == 0
    assert _same(turns, reference[0]) and _same(segs, reference[1])
    turns2, segs2, stats2 = _stream(corpus, tmp_path / "two", Engine("local", 2))
    assert stats2["engine"] == "local×2"
    assert _same(turns2, turns) and _same(segs2, segs)
    assert list(segs2.columns) == list(segs.columns) and len(segs2) > 20
    # the 2 workers wrote their batches' parts themselves: the same files, byte for byte
    one = {p.name: p.read_bytes() for p in (tmp_path / "one").glob("part-*.parquet")}
    two = {p.name: p.read_bytes() for p in (tmp_path / "two").glob("part-*.parquet")}
    assert one == two and len(one) == 2 * stats["batches"]


def test_scale_dask_engine_gives_the_same_tables(corpus, reference, tmp_path):
    pytest.importorskip("distributed", reason="dask.distributed is not installed "
                        "(pip install \"consultations[dask]\")")
    engine = Engine("dask", 2, processes=False)  # a 2-worker LocalCluster (threads: quick)
    turns, segs, stats = _stream(corpus, tmp_path, engine)
    assert stats["engine"] == "dask×2"
    assert _same(turns, reference[0]) and _same(segs, reference[1])


def test_scale_interrupted_ingest_resumes_from_finished_batches(corpus, reference, tmp_path):
    class Stop(Exception):
        pass

    def stop_after_two(done):
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        _stream(corpus, tmp_path, Engine("local", 1), on_batch=stop_after_two)
    assert len(list(tmp_path.glob("part-*.turns.parquet"))) == 2
    parsed = []
    n_batches = len(list(segment.plan_batches(corpus[0], corpus[1], batch_chars=BATCH)))
    orig = segment.parse_texts

    def counting(texts, nlp, **kw):
        parsed.append(len(texts))
        return orig(texts, nlp, **kw)

    segment.parse_texts = counting
    try:
        turns, segs, stats = _stream(corpus, tmp_path, Engine("local", 1))
    finally:
        segment.parse_texts = orig
    assert stats["batches_reused"] == 2
    assert len(parsed) == n_batches - 2  # only the remaining batches were parsed
    assert _same(turns, reference[0]) and _same(segs, reference[1])
    # A run on other input drops the parts it does not use.
    raw, sources, speakers = corpus
    segment.stream_segments(raw.head(1), sources, speakers, model=MODEL, cache_dir=tmp_path,
                            engine=Engine("local", 1), batch_chars=BATCH)
    assert len(list(tmp_path.glob("part-*.turns.parquet"))) == 1


def test_scale_engine_settings_and_errors(tmp_path):
    f = tmp_path / "consultations.toml"
    f.write_text('[ingest]\nengine = "dask"\nscheduler = "tcp://10.0.0.5:8786"\n'
                 'workers = 4\n', encoding="utf-8")
    s = load_settings(f)
    assert (s.engine, s.scheduler, s.workers) == ("dask", "tcp://10.0.0.5:8786", 4)
    assert segment.engine_for(s) == Engine("dask", 4, "tcp://10.0.0.5:8786")
    assert load_settings(f, engine="local").engine == "local"  # a flag wins over the file
    f.write_text('[ingest]\nbatch_chars = 2000\n', encoding="utf-8")
    assert load_settings(f).section("ingest")["batch_chars"] == 2000
    f.write_text('[ingest]\nengine = "local"\nbatch_chars = "beaucoup"\n', encoding="utf-8")
    with pytest.raises(InputError, match="batch_chars") as err:
        load_settings(f)
    assert err.value.line == 3
    f.write_text('[ingest]\nengine = "spark"\n', encoding="utf-8")
    with pytest.raises(InputError, match="engine") as err:
        load_settings(f)
    assert err.value.line == 2
    assert Settings().engine == "local" and Engine().n_workers >= 1
    with pytest.raises(ValueError):
        Engine("spark")


def test_scale_engine_reports_worker_errors():
    with pytest.raises(InputError, match="boom"):
        list(Engine("local", 1).map(_fail, [1]))
    with pytest.raises(InputError, match="boom"):
        list(Engine("local", 2).map(_fail, [1, 2, 3]))


def _fail(item, shared):
    raise InputError("x.txt", 3, "boom", "fix it")


def test_scale_catalog_reads_columns(tmp_path, tiny_segments):
    from consultations.core.config import get_paths

    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    Catalog(paths).put("segments", tiny_segments)
    fresh = Catalog(paths)
    part = fresh.read("segments", columns=["segment_id", "n_words"])
    assert list(part.columns) == ["segment_id", "n_words"] and len(part) == len(tiny_segments)
    assert "segments" not in fresh._mem  # a partial read is not cached as the table
    assert list(fresh.read("segments").columns) == list(tiny_segments.columns)


def test_scale_progress_off_without_terminal_and_forced_by_environment(monkeypatch):
    from consultations.core.progress import PROGRESS_ENV, progress_on

    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    assert not progress_on()  # pytest captures stderr: not a terminal
    monkeypatch.setenv(PROGRESS_ENV, "1")
    assert progress_on()
    monkeypatch.setenv(PROGRESS_ENV, "0")
    assert not progress_on()


def test_scale_run_writes_one_progress_line_per_stage_with_counts(sample_data_dir, tmp_path,
                                                                   monkeypatch, capfd):
    import re
    import shutil

    from consultations.core.config import get_paths
    from consultations.core.progress import PROGRESS_ENV
    from consultations.pipeline import STAGES, run_pipeline

    data = tmp_path / "data"
    for sub in ("transcripts", "coded"):
        shutil.copytree(sample_data_dir / sub, data / sub,
                        ignore=shutil.ignore_patterns(".anchors"))
    monkeypatch.setenv(PROGRESS_ENV, "1")
    settings = Settings(spacy_model=MODEL, workshops=("ATL1",), workers=1,
                        extra={"coding": {"n_boot": 20, "learn": False}})
    capfd.readouterr()
    summary = run_pipeline(get_paths(data, tmp_path / "reports"), settings,
                           progress=lambda m: None)
    err = capfd.readouterr().err
    (tmp_path / "err.txt").write_text(err)
    # A bar's last state (after its last carriage return) holds the final counts ``n/n``;
    # other output (a library's warning) may cut a bar's line in two: keep its last state.
    states = [s.strip() for line in err.split("\n") for s in line.split("\r")]
    last = {s.split(":")[0]: s for s in states if s.startswith("[") and ":" in s}
    bars = list(last.values())
    finals = states
    for stage in STAGES:
        mine = [b for b in bars if b.startswith(f"[{stage}]")]
        assert mine, f"no progress line for {stage}: {finals}"
        for b in mine:
            m = re.search(r"\|\s*(\d+)/(\d+)", b)
            assert m and m.group(1) == m.group(2), b  # complete, with its counts
    counts = {b.split(":")[0]: re.search(r"(\d+)/(\d+)", b).group(2) for b in bars}
    assert counts["[ingest] fichiers lus"] == "1"
    n_seg = summary["stages"]["ingest"]["segments"]
    assert counts["[code] segments codés (règles)"] == str(n_seg)
    assert sum(b.startswith("[ingest]") for b in bars) == 2  # files, then NLP batches
    assert f"segments={n_seg}" in next(b for b in bars if b.startswith("[ingest] lots"))


def test_scale_large_file_parsed_in_chunks_of_turns_same_tables(sample_data_dir, tmp_path):
    import shutil

    from consultations.core.config import get_paths
    from consultations.pipeline import run_pipeline, stage_keys

    tables, summaries, keys = {}, {}, {}
    for name, batch_chars in (("whole", None), ("chunks", 2000)):
        data = tmp_path / name / "data"
        shutil.copytree(sample_data_dir / "transcripts", data / "transcripts")
        paths = get_paths(data, tmp_path / name / "reports")
        extra = {"ingest": {"batch_chars": batch_chars}} if batch_chars else {}
        settings = Settings(spacy_model=MODEL, workshops=("ATL1",), workers=1, extra=extra)
        summaries[name] = run_pipeline(paths, settings, ["ingest"], progress=lambda m: None)
        keys[name] = stage_keys(paths, settings)["ingest"]
        cat = Catalog(paths)
        tables[name] = {t: table_hash(cat[t]) for t in ("turns", "segments", "speakers")}
    whole = summaries["whole"]["stages"]["ingest"]["nlp"]
    chunks = summaries["chunks"]["stages"]["ingest"]["nlp"]
    assert whole["batches"] == 1  # one workshop file, one batch by default
    assert chunks["batches"] >= 5  # the same file in chunks of whole turns
    assert tables["chunks"] == tables["whole"]
    assert keys["chunks"] == keys["whole"]  # the chunk size is not part of the cache key
