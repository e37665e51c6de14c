"""Recommendations: code links and endorsements against the labelled sample.

Usage::

    .venv/bin/python benchmarks/recommendations.py [--interim data/interim] [--matrix]

Needs the sample's ``segments``, ``recommendations`` and ``codebook`` tables (run
``consultations run`` — or its ingest and code stages — on ``data/`` first). Labels, made by
reading the sample (ids only, no text copied):

- ``benchmarks/data/rec_code_labels.csv``: the code(s) of each of the 70 recommendations.
- ``benchmarks/data/rec_endorsement_labels.csv``: (segment, recommendation) pairs labelled
  ``soutient`` / ``s'oppose`` / ``aucun`` — candidate pairs drawn by similarity band plus the
  turns where the validation workshop settles the three disagreements.

Split by workshop: thresholds are chosen on ATL1–ATL3 (dev) only and the figures that matter
are those of ATL4–ATL5 (held out). Codes are rolled up to their parents on both sides (a
link to MIL.DES is also a link to MIL). Endorsement precision and recall are measured on the
labelled pairs only (a prediction on an unlabelled pair is not counted either way); a pair
is right when the stance is right.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "benchmarks" / "data"
DEV = {"ATL1", "ATL2", "ATL3"}


def _load(interim: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for name in ("segments", "recommendations", "codebook"):
        f = interim / f"{name}.parquet"
        if not f.exists():
            raise SystemExit(f"{f} manque : lancer d'abord `consultations run --data "
                             f"{interim.parent}`.")
        out[name] = pd.read_parquet(f)
    return out


def _prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _fmt(p: float, r: float, f: float) -> str:
    return f"P {p:.2f}  R {r:.2f}  F1 {f:.2f}"


# ------------------------------------------------------------------------------ links
def _rollup(codebook: pd.DataFrame):
    parent = {str(c): (str(p) if isinstance(p, str) and p else None)
              for c, p in zip(codebook["code_id"], codebook["parent"], strict=True)}

    def up(code: str) -> set[str]:
        out, cur = {code}, parent.get(code)
        while cur and cur not in out:
            out.add(cur)
            cur = parent.get(cur)
        return out
    return up


def _link_eval(pairs, gold, recs, up, axis=None):
    def expand(ps):
        out = {(r, c2) for r, c in ps if r in recs for c2 in up(c)}
        return {(r, axis.get(c, "")) for r, c in out} if axis else out
    p, g = expand(pairs), expand(gold)
    return _prf(len(p & g), len(p), len(g))


def links(t: dict) -> dict:
    from consultations.compare.recommendations import DEFAULTS, link_recommendations

    recs, cb = t["recommendations"], t["codebook"]
    lab = pd.read_csv(LABELS / "rec_code_labels.csv")
    gold = {(r, c) for r, cs in zip(lab["rec_id"], lab["code_ids"], strict=True)
            for c in str(cs).split(";") if c}
    up = _rollup(cb)
    axis = {str(c): str(a) for c, a in zip(cb["code_id"], cb["axis"], strict=True)}
    allp = link_recommendations(recs, cb, keep_all=True)
    kw = allp["keywords_matched"].fillna("") != ""
    sim = allp["similarity"]
    dev = set(recs.loc[recs["workshop_id"].isin(DEV), "rec_id"])
    held = set(recs["rec_id"]) - dev

    def pred(th, kmin):
        m = sim >= th
        if kmin is not None:
            m |= kw & (sim >= kmin)
        return set(zip(allp.loc[m, "rec_id"], allp.loc[m, "code_id"], strict=True))

    grid = []
    for th in np.round(np.arange(0.04, 0.51, 0.02), 2):
        for kmin in [None, 0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.15, 0.20]:
            f = _link_eval(pred(th, kmin), gold, dev, up)[2]
            grid.append((round(f, 4), th, -1.0 if kmin is None else kmin))
    f, th, kmin = max(grid)  # ties: higher thresholds
    kmin = None if kmin < 0 else kmin
    chosen = pred(th, kmin)
    base = pred(0.20, 0.0)  # the former rule: any keyword, or cosine ≥ 0.20
    print("== Liens recommandation → code (codes remontés aux parents)")
    print(f"seuils choisis sur ATL1–3 : link_threshold = {th:.2f}, keyword_min_similarity = "
          f"{'mot-clé ignoré' if kmin is None else f'{kmin:.2f}'} "
          f"(défauts du module : {DEFAULTS['link_threshold']:.2f} / "
          f"{DEFAULTS['keyword_min_similarity']:.2f})")
    for name, ps in (("choisi", chosen), ("mot-clé seul suffit, cos ≥ 0,20", base)):
        print(f"  {name:34s} dev {_fmt(*_link_eval(ps, gold, dev, up))} | "
              f"held-out {_fmt(*_link_eval(ps, gold, held, up))}")
    print(f"  {'axes (choisi)':34s} dev {_fmt(*_link_eval(chosen, gold, dev, up, axis))} | "
          f"held-out {_fmt(*_link_eval(chosen, gold, held, up, axis))}")
    linked = {r for r, _ in chosen}
    print(f"  non rattachées : {len(set(recs['rec_id']) - linked)} / {len(recs)}")
    return {"link_threshold": th, "keyword_min_similarity": kmin}


# ----------------------------------------------------------------------- endorsements
def endorsements(t: dict) -> float:
    from consultations.compare import endorsements as E

    lab = pd.read_csv(LABELS / "rec_endorsement_labels.csv")
    lab["workshop_id"] = lab["segment_id"].str.split("-").str[0]
    cache: dict[float, dict] = {}

    def evaluate(th, ws):
        if th not in cache:
            m = E.segment_matches(t["segments"], t["recommendations"],
                                  paraphrase_threshold=th)
            cache[th] = {(a, r): st for a, r, st in zip(m["segment_id"], m["rec_id"],
                                                         m["stance"], strict=True)}
        pred = cache[th]
        sub = lab[lab["workshop_id"].isin(ws)]
        tp = n_pred = n_gold = det = 0
        for s, r, y in zip(sub["segment_id"], sub["rec_id"], sub["label"], strict=True):
            got = pred.get((s, r))
            n_pred += got is not None
            n_gold += y != "aucun"
            tp += got is not None and got == y
            det += got is not None and y != "aucun"
        return _prf(tp, n_pred, n_gold), det

    grid = []
    for th in np.round(np.arange(0.10, 0.62, 0.02), 2):
        (p, r, f), _ = evaluate(th, DEV)
        grid.append((round(f, 4), th))
    f, th = max(grid)
    held = set(lab["workshop_id"]) - DEV
    print("\n== Soutiens et oppositions (paires segment × recommandation étiquetées)")
    print(f"{len(lab)} paires ({(lab['label'] != 'aucun').sum()} soutiens ou oppositions) ; "
          f"seuil de paraphrase choisi sur ATL1–3 : {th:.2f} (défaut du module : "
          f"{E.DEFAULTS['paraphrase_threshold']:.2f})")
    for name, ws in (("dev ATL1–3", DEV), ("held-out ATL4–5", held)):
        (p, r, f1), det = evaluate(th, ws)
        n = int(((lab["label"] != "aucun") & lab["workshop_id"].isin(ws)).sum())
        print(f"  {name:16s} {_fmt(p, r, f1)}  (paires trouvées, position ignorée : "
              f"{det}/{n})")
    return th


def matrix(t: dict) -> None:
    from consultations.compare import endorsements as E

    e = E.detect_endorsements(t["segments"], t["recommendations"])
    mx = E.group_matrix(e, t["segments"], t["recommendations"])
    discussed = mx.groupby("rec_id")["position"].apply(lambda s: (s != "non discuté").any())
    mx = mx[mx["rec_id"].isin(discussed[discussed].index)]
    short = {"soutient": "+", "s'oppose": "−", "partagé": "±", "non discuté": "·"}
    wide = mx.assign(p=mx["position"].map(short)).pivot_table(
        index="rec_id", columns="group_code", values="p", aggfunc="first").fillna("")
    print(f"\n== Matrice recommandation × groupe ({len(wide)} recommandations discutées ; "
          "+ soutient, − s'oppose, ± partagé, · non discuté, vide : groupe absent)")
    print(wide.to_string())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interim", type=Path, default=ROOT / "data" / "interim")
    ap.add_argument("--matrix", action="store_true", help="print the rec × group matrix")
    args = ap.parse_args()
    t = _load(args.interim)
    links(t)
    endorsements(t)
    if args.matrix:
        matrix(t)


if __name__ == "__main__":
    main()
