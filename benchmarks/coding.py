"""Rule autocoding throughput vs spaCy's own ``nlp.pipe``; rules vs learned suggestions.

Usage::

    .venv/bin/python benchmarks/coding.py [--n 100000] [--pipe-n N] [--model fr_core_news_md]
    .venv/bin/python benchmarks/coding.py --quality [--test ATL4,ATL5] [--lowo]

``--quality`` (needs ``consultations code`` run first) first selects the model setting and
the combination rule by leave-one-workshop-out on the training workshops only (default
ATL1–3; :func:`consultations.coding.learn.select`) and prints that table and its figure;
then, once, on the held-out workshops (default ATL4–5; the model trained on the human codes
of the other workshops only), macro and micro F1 against the coders' consensus of the rules,
the learned model alone and the combined codings, per code, then the learning curve (F1
against the number of human decisions) and with ``--lowo`` the leave-one-workshop-out
figures over every workshop, with the time each step took.

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


#: Model settings compared by leave-one-workshop-out on the training workshops (selection).
CANDIDATES = [
    {}, {"C": 0.03}, {"C": 0.3}, {"C": 1.0},
    {"agreement": "union"}, {"agreement": "consensus"},
    {"drop": ("vectors",)}, {"drop": ("neighbours",)}, {"drop": ("competition",)},
    {"drop": ("hierarchy",)}, {"drop": ("context",)}, {"drop": ("track_record",)},
]


def quality(test: list[str], lowo: bool) -> None:
    """Select on the training workshops, then print rules vs learned vs combined on ``test``."""
    from consultations.coding import learn
    from consultations.coding.agreement import SUBSET_FILE
    from consultations.core.config import get_paths
    from consultations.core.io import load_table

    paths = get_paths()
    seg = load_table(paths, "segments")
    rule = load_table(paths, "codings_rule")
    manual = load_table(paths, "codings_manual")
    cb = load_table(paths, "codebook")
    units = pd.read_csv(paths.coded / SUBSET_FILE)["segment_id"].astype(str).tolist()
    ws = sorted({u.split("-")[0] for u in units} | set(seg["workshop_id"].astype(str)))
    train = [w for w in ws if w not in test]
    t0 = time.perf_counter()
    ctx = learn.PairContext(seg, cb, rule)
    t_ctx = time.perf_counter() - t0
    t0 = time.perf_counter()
    sel = learn.select(seg, rule, manual, cb, units, train, CANDIDATES, ctx)
    t_sel = time.perf_counter() - t0
    best = sel.iloc[0]
    rules_cv = sel.attrs["rules"]
    print(f"Sélection par validation croisée par atelier sur {', '.join(train)} seulement "
          f"({len(CANDIDATES)} réglages × {len(sel) // max(len(CANDIDATES), 1)} règles de "
          f"combinaison, {t_sel:.1f} s ; contexte {t_ctx:.1f} s) :")
    cols = ["C", "agreement", "drop", "keep", "add", "max_codes", "cv_macro_f1", "cv_micro_f1"]
    print(sel[cols].head(8).round(3).to_string(index=False))
    print(f"  F1 VC {'–'.join([train[0], train[-1]])} : règles macro {rules_cv[0]:.3f} · "
          f"micro {rules_cv[1]:.3f} ; choisi (combiné) macro {best['cv_macro_f1']:.3f} · "
          f"micro {best['cv_micro_f1']:.3f}")
    params = {"C": float(best["C"]), "agreement": best["agreement"],
              "drop": tuple(x for x in str(best["drop"]).split(",") if x),
              "keep": float(best["keep"]), "add": float(best["add"]),
              "max_codes": int(best["max_codes"])}
    same = all(learn.DEFAULTS[k] == v for k, v in params.items())
    print(f"  réglage choisi : {params} ({'= DEFAULTS' if same else '≠ DEFAULTS'})")
    t0 = time.perf_counter()
    ev = learn.evaluate(seg, rule, manual, cb, units, train, test, params, context=ctx)
    t_fit = time.perf_counter() - t0
    ev = ev[ev["reference"] == "consensus"]
    print(f"\nTest une fois : entraînement {', '.join(train)} (codes humains seulement) ; test "
          f"{', '.join(test)} ; référence : consensus des codeurs ({t_fit:.1f} s)")
    for code in ("_macro", "_micro"):
        row = {m: float(g.loc[g["code_id"] == code, "f1"].iloc[0])
               for m, g in ev.groupby("method", sort=False)}
        print(f"  F1 {code[1:]:<5} : " + " · ".join(f"{m} {v:.3f}" for m, v in row.items()))
    per = ev.pivot_table(index="code_id", columns="method", values="f1", sort=False)
    n = ev.pivot_table(index="code_id", columns="method", values="n_rule", sort=False)
    per["n_réf"] = ev[ev["method"] == "règles"].set_index("code_id")["n_reference"]
    for m in ("règles", "combiné"):
        per[f"n_{m}"] = n[m]
    print("\nF1 par code (test ; n_réf : positifs du consensus, n_* : codages proposés) :")
    print(per.round(2).to_string())
    print("\nCourbe d'apprentissage (F1 macro / micro sur le test) :")
    curve = learn.learning_curve(seg, rule, manual, cb, units, train, test, params=params,
                                 context=ctx)
    print(curve.round(3).to_string(index=False))
    if lowo:
        cv = learn.cross_validate(seg, rule, manual, cb, units, params, context=ctx)
        cv = cv[(cv["reference"] == "consensus") & (cv["code_id"] == "_macro")]
        print("\nValidation croisée par atelier sur les 5 ateliers (F1 macro ; ensemble = "
              "codages des 5 plis réunis) :")
        print(cv.pivot_table(index="split", columns="method", values="f1").round(3)
              .to_string())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--pipe-n", type=int, default=None)
    ap.add_argument("--model", default="fr_core_news_md")
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--test", default="ATL4,ATL5")
    ap.add_argument("--lowo", action="store_true")
    args = ap.parse_args()
    if args.quality:
        quality(args.test.split(","), args.lowo)
        return

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
