"""Codings anchored to their text: transcripts edited after coding and review (issue 14)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from consultations.coding import review
from consultations.coding.anchors import ANCHOR_DIR, AnchorStore
from consultations.core import io as cio
from consultations.core.config import Settings, get_paths
from consultations.pipeline import Catalog, run_pipeline

TRANSCRIPT = "atelier1_fds.txt"
_TURN = re.compile(r"^\[\d\d:\d\d:\d\d\] ")


def _run(paths):
    return run_pipeline(paths, Settings(extra={"coding": {"n_boot": 20}}), stages=["code"],
                        progress=lambda m: None)


def _turn_blocks(text: str) -> list[tuple[int, int]]:
    """Character spans of the turns of a transcript (a turn starts with a timestamp)."""
    starts = [m.start() for m in re.finditer(r"(?m)^\[\d\d:\d\d:\d\d\] ", text)]
    return [(a, b) for a, b in zip(starts, starts[1:] + [len(text)], strict=True)]


def _similar(a: str, b: str) -> float:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio()


def _seg_text(paths) -> dict[str, str]:
    segs = cio.load_table(paths, "segments")
    return dict(zip(segs["segment_id"], segs["text"], strict=True))


@pytest.fixture(scope="module")
def edited(sample_data_dir, tmp_path_factory):
    """Code and review a copy of the sample, then insert, delete and edit turns."""
    root = tmp_path_factory.mktemp("anchors")
    data = root / "data"
    for sub in ("transcripts", "coded"):
        # the sample as committed: no anchor store left by an earlier run on data/
        shutil.copytree(sample_data_dir / sub, data / sub,
                        ignore=shutil.ignore_patterns(".anchors"))
    # Workshop 1 only, few bootstrap resamples: the test is about anchors, not agreement.
    wfile = data / "transcripts" / "workshops.csv"
    wfile.write_text("".join(wfile.read_text(encoding="utf-8").splitlines(True)[:2]),
                     encoding="utf-8")
    (data / "coded" / "double_coding_subset.csv").unlink()
    paths = get_paths(data, root / "reports")
    _run(paths)
    segs = cio.load_table(paths, "segments")
    w1 = segs[segs["source_file"].str.endswith(TRANSCRIPT)]
    turns = list(dict.fromkeys(w1["turn_id"]))
    # Manual codes by turn (people write turn IDs too), on top of the sample's segment codes.
    (paths.coded / "manual" / "coder_C.csv").write_text(
        "turn_id,code_id,coder\n" + "".join(f"{t},CONF,codeuse_C\n" for t in turns[2:9]),
        encoding="utf-8")
    # A review workbook: every rule coding of workshop 1 decided.
    tables = Catalog(paths)
    out = review.export_review(tables, paths)
    from openpyxl import load_workbook

    wb = load_workbook(out)
    ws = wb[review.SHEET]
    col = {c.value: i for i, c in enumerate(ws[1], start=1)}
    decided = 0
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, col["segment_id"]).value in set(w1["segment_id"]):
            ws.cell(r, col["décision"]).value = "accepter" if r % 3 else "rejeter"
            ws.cell(r, col["relecteur"]).value = "AK"
            decided += 1
    wb.save(out)
    review.import_review(out, paths, Settings())
    (paths.coded / "manual" / "coder_B.csv").unlink()  # keep the run short: one sample coder
    before = _run(paths)
    made = {"manual": cio.load_table(paths, "codings_manual"),
            "review": cio.load_table(paths, "codings_review"),
            "text": _seg_text(paths), "anchors": cio.load_table(paths, "coding_anchors"),
            "summary": before["stages"]["code"]}
    # Edit the transcript: one turn inserted near the top, one deleted, one sentence edited.
    file = paths.transcripts / TRANSCRIPT
    text = file.read_text(encoding="utf-8-sig")
    blocks = _turn_blocks(text)
    first_turn = text[blocks[0][0]:blocks[0][1]]
    speaker = first_turn[:first_turn.index(" : ") + 3]
    inserted = (speaker.replace("00:02:14", "00:03:00")
                + "Je donne la parole au premier intervenant, merci de rester bref.\n\n")
    deleted = text[blocks[5][0]:blocks[5][1]]
    edited_turn = text[blocks[3][0]:blocks[3][1]]
    sentence = re.search(r"[^.?!]{40,}[.?!]", edited_turn[len(speaker):]).group(0).strip()
    new = (text[:blocks[1][0]] + inserted + text[blocks[1][0]:blocks[3][0]]
           + edited_turn.replace(sentence, sentence[:-1] + ", je crois.", 1)
           + text[blocks[3][1]:blocks[5][0]] + text[blocks[5][1]:])
    file.write_text(new, encoding="utf-8")
    after = _run(paths)
    return {"paths": paths, "before": made, "after": after["stages"]["code"],
            "deleted": deleted, "deleted_turn": turns[5], "sentence": sentence, "decided": decided,
            "anchors": cio.load_table(paths, "coding_anchors"),
            "manual": cio.load_table(paths, "codings_manual"),
            "review": cio.load_table(paths, "codings_review"), "text": _seg_text(paths)}


def test_anchors_first_run_records_every_human_coding(edited):
    first = edited["before"]["anchors"]
    assert set(first["kind"]) == {"manual", "review"}
    review_rows = first[first["kind"] == "review"]
    assert len(review_rows) == edited["decided"] and (review_rows["status"] == "kept").all()
    manual = first[(first["kind"] == "manual") & (first["quote"] != "")]
    assert len(manual) and manual["status"].isin(["new", "kept"]).all()
    assert (Path(edited["paths"].coded) / ANCHOR_DIR / "anchors.json").exists()


def test_anchors_every_coding_stays_on_its_text_or_is_orphaned(edited):
    before, text_now = edited["before"], edited["text"]
    anchors = edited["anchors"]
    assert {"kept", "moved", "orphaned"} <= set(anchors["status"])
    applied = anchors[anchors["status"] != "orphaned"]
    old_text = before["text"]
    for rec in applied.itertuples(index=False):
        quote = old_text.get(rec.recorded_segment_id, rec.quote)
        if rec.similarity == 1.0:
            assert text_now[rec.segment_id] == quote, rec
        else:  # the edited sentence: re-anchored to its new wording
            assert _similar(quote, text_now[rec.segment_id]) >= 0.85, rec
    # No manual coding sits on text it was not made on.
    made = {(r.segment_id, r.code_id, r.coder): old_text[r.segment_id]
            for r in before["manual"].itertuples(index=False)}
    old_texts = set(made.values())
    for r in edited["manual"].itertuples(index=False):
        now = text_now[r.segment_id]
        assert now in old_texts or max(_similar(now, t) for t in old_texts) >= 0.85, r
    orphans = anchors[(anchors["status"] == "orphaned") & (anchors["quote"] != "")]
    gone = {re.sub(r"\s+", " ", t).strip() for sid, t in old_text.items()
            if sid.startswith(edited["deleted_turn"] + "-")}
    assert len(orphans) and set(orphans["quote"]) <= gone  # the deleted turn, nothing else


def test_anchors_review_decisions_stay_on_their_sentences(edited):
    """The issue's case: one turn inserted near the top must not move review decisions."""
    before, after = edited["before"]["review"], edited["review"]
    old_text, text_now = edited["before"]["text"], edited["text"]
    was = {(old_text[r.segment_id], r.code_id, r.decision) for r in before.itertuples()}
    now = {(text_now[r.segment_id], r.code_id, r.decision) for r in after.itertuples()}
    for text, code, decision in now - was:  # only the edited sentence, re-anchored
        assert any(c == code and d == decision and _similar(t, text) >= 0.85
                   for t, c, d in was), (text, code, decision)
    assert len(now - was) <= 2  # every other decision is on the sentence it was made on
    lost = len(before) - len(after)
    anchors = edited["anchors"]
    n_orphan = int(((anchors["kind"] == "review") & (anchors["status"] == "orphaned")).sum())
    assert lost == n_orphan and n_orphan > 0
    moved = anchors[(anchors["kind"] == "review") & (anchors["status"] == "moved")]
    assert len(moved) > 0  # the inserted turn renumbered them: re-anchored, not moved away
    assert edited["after"]["anchors_orphaned"] > 0
    assert edited["after"]["anchors_moved"] >= len(moved)


def test_anchors_survive_deleting_interim(edited, tmp_path):
    paths = edited["paths"]
    root = tmp_path / "copy"
    shutil.copytree(paths.data, root / "data", ignore=shutil.ignore_patterns("interim"))
    again = get_paths(root / "data", root / "reports")
    _run(again)
    anchors = cio.load_table(again, "coding_anchors")
    assert (anchors["status"] == "orphaned").sum() == \
        (edited["anchors"]["status"] == "orphaned").sum()


def test_anchors_flag_codings_whose_code_changed(edited):
    segs = pd.DataFrame({"segment_id": ["A-T001-S01", "A-T002-S01"], "text": ["un", "deux"],
                         "source_file": "a.txt", "char_start": [0, 3], "char_end": [2, 7]})
    cb = pd.DataFrame({"code_id": ["X"], "definition": ["d"], "keywords": ["k"]})
    folder = edited["paths"].coded.parent / "flag"
    store = AnchorStore(folder, segs, cb)
    assert store.resolve("manual", "m.csv", 2, "A-T002-S01", "X", "c", ["A-T002-S01"]) == \
        ["A-T002-S01"]
    store.save()
    cb2 = cb.assign(keywords=["k; autre"])
    moved = pd.DataFrame({"segment_id": ["A-T001-S01", "A-T002-S01", "A-T003-S01"],
                          "text": ["zéro", "un", "deux"], "source_file": "a.txt",
                          "char_start": [0, 5, 8], "char_end": [4, 7, 12]})
    store = AnchorStore(folder, moved, cb2)
    assert store.resolve("manual", "m.csv", 2, "A-T002-S01", "X", "c", ["A-T002-S01"]) == \
        ["A-T003-S01"]
    row = store.table().iloc[0]
    assert row["status"] == "moved" and bool(row["code_changed"])
