"""Issue 14's case: insert one turn near the top of a coded and reviewed transcript.

Prints how many review decisions and manual codings would sit on another sentence if IDs
were taken as written, and where the anchored run puts them (kept, moved, orphaned, and how
many end on text they were not made on: must be 0).

    PYTHONPATH=src python benchmarks/anchors_insert_turn.py
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

from openpyxl import load_workbook

from consultations.coding import review
from consultations.core import io as cio
from consultations.core.config import Settings, get_paths
from consultations.pipeline import Catalog, run_pipeline

REPO = Path(__file__).resolve().parents[1]
SETTINGS = Settings(extra={"coding": {"n_boot": 20}})


def run(paths):
    run_pipeline(paths, SETTINGS, stages=["code"], progress=lambda m: None)


def texts(paths):
    s = cio.load_table(paths, "segments")
    return dict(zip(s["segment_id"], s["text"], strict=True))


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="anchors-bench-"))
    data = root / "data"
    for sub in ("transcripts", "coded"):
        shutil.copytree(REPO / "data" / sub, data / sub)
    paths = get_paths(data, root / "reports")
    run(paths)
    out = review.export_review(Catalog(paths), paths)
    wb = load_workbook(out)
    ws = wb[review.SHEET]
    col = {c.value: i for i, c in enumerate(ws[1], start=1)}
    for r in range(2, ws.max_row + 1):
        if str(ws.cell(r, col["segment_id"]).value).startswith("ATL1-"):
            ws.cell(r, col["décision"]).value = "accepter"
            ws.cell(r, col["relecteur"]).value = "AK"
    wb.save(out)
    review.import_review(out, paths, SETTINGS)
    run(paths)
    before_text = texts(paths)
    before = {k: cio.load_table(paths, k) for k in ("codings_review", "codings_manual")}
    file = paths.transcripts / "atelier1_fds.txt"
    text = file.read_text(encoding="utf-8-sig")
    starts = [m.start() for m in re.finditer(r"(?m)^\[\d\d:\d\d:\d\d\] ", text)]
    head = text[starts[0]:]
    speaker = head[:head.index(" : ") + 3]
    file.write_text(text[:starts[1]] + speaker + "Je donne la parole, merci de rester bref.\n\n"
                    + text[starts[1]:], encoding="utf-8")
    run(paths)
    now_text = texts(paths)
    anchors = cio.load_table(paths, "coding_anchors")
    for key, kind in (("codings_review", "review"), ("codings_manual", "manual")):
        old = before[key]
        old = old[old["segment_id"].str.startswith("ATL1-")]
        by_id = sum(now_text.get(s) != before_text[s] for s in old["segment_id"])
        new = cio.load_table(paths, key)
        new = new[new["segment_id"].str.startswith("ATL1-")]
        made_on = set(before_text[s] for s in old["segment_id"])
        wrong = sum(now_text[s] not in made_on for s in new["segment_id"])
        a = anchors[(anchors["kind"] == kind)
                    & anchors["recorded_segment_id"].str.startswith("ATL1-")]
        counts = a["status"].value_counts().to_dict()
        print(f"{kind}: {len(old)} codings on workshop 1; IDs as written: {by_id} would sit on "
              f"another sentence; anchored: {counts}, on another sentence: {wrong}")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
