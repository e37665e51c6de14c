"""Rule autocoding throughput vs spaCy's own ``nlp.pipe`` over the same text.

Usage::

    .venv/bin/python benchmarks/coding.py [--n 100000] [--pipe-n N] [--model fr_core_news_md]

Segments come from the sample corpus (``data/interim/segments.parquet`` when the pipeline has
run, else a small built-in set), replicated to ``--n`` rows. The rule coder reads the segments'
lemmas (as in the code stage); ``nlp.pipe`` runs the lemmatising components of the spaCy model
(tok2vec, morphologizer, attribute_ruler, lemmatizer: what the segment stage needs) on the same
texts. ``--pipe-n`` times ``nlp.pipe`` on the first N texts only (rate extrapolated) when the
full run would take too long; the default runs it on all of them.
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")

_FALLBACK = [
    ("Nous manquons de véhicules et de carburant.", "nous manquer de véhicule et de carburant"),
    ("Le racket aux postes de contrôle détruit la confiance.",
     "le racket à poste de contrôle détruire le confiance"),
    ("Le maire doit présider le comité local de sécurité.",
     "le maire devoir présider le comité local de sécurité"),
    ("Il n'y a aucun comité dans notre commune.", "il y avoir aucun comité dans notre commune"),
    ("Il faut désarmer les milices et les dozos.", "il falloir désarmer le milice et le dozo"),
]


def _segments(n: int) -> pd.DataFrame:
    from consultations.core.config import get_paths
    from consultations.core.io import load_table, table_exists

    paths = get_paths()
    if table_exists(paths, "segments"):
        base = load_table(paths, "segments")[["segment_id", "text", "lemmas"]]
    else:
        base = pd.DataFrame([(f"B-T{i:03d}-S01", t, lem) for i, (t, lem) in
                             enumerate(_FALLBACK, 1)], columns=["segment_id", "text", "lemmas"])
    reps = -(-n // len(base))
    df = pd.concat([base] * reps, ignore_index=True).iloc[:n]
    df["segment_id"] = [f"{s}-R{i}" for i, s in enumerate(df["segment_id"])]
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--pipe-n", type=int, default=None)
    ap.add_argument("--model", default="fr_core_news_md")
    args = ap.parse_args()

    import spacy

    from consultations.coding.codebook import load_codebook
    from consultations.coding.coder import codebook_rule_coder
    from consultations.core.config import get_paths

    segs = _segments(args.n)
    words = int(segs["text"].str.split().str.len().sum())
    cb = load_codebook(get_paths().coded / "codebook.yaml")
    t0 = time.perf_counter()
    coder = codebook_rule_coder(cb)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    codings = coder.transform(segs)
    t_rule = time.perf_counter() - t0
    rule_rate = len(segs) / t_rule

    nlp = spacy.load(args.model, exclude=["parser", "ner", "senter"])
    texts = segs["text"].tolist()[: args.pipe_n or len(segs)]
    t0 = time.perf_counter()
    for _doc in nlp.pipe(texts, batch_size=256):
        pass
    t_pipe = time.perf_counter() - t0
    pipe_rate = len(texts) / t_pipe

    print(f"segments : {len(segs):,} ({words:,} mots) ; codes : {len(cb['codebook'])} ; "
          f"règles : {len(coder.rules_)}")
    print(f"RuleCoder.fit       : {t_fit:.2f} s")
    print(f"RuleCoder.transform : {t_rule:.1f} s → {rule_rate:,.0f} segments/s "
          f"({len(codings):,} codages)")
    print(f"nlp.pipe ({args.model}, {len(texts):,} segments) : {t_pipe:.1f} s → "
          f"{pipe_rate:,.0f} segments/s")
    print(f"ratio règles / nlp.pipe : {rule_rate / pipe_rate:.1f}×")


if __name__ == "__main__":
    main()
