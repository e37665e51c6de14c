"""Learned code suggestions (coding/learn.py): labels, combination rule, no group features."""

import numpy as np
import pandas as pd
import pytest

from consultations.coding import learn
from consultations.coding.codebook import parse_codebook
from consultations.coding.coder import RuleCoder

CB = """\
version: "v-learn"
axes: [{id: A1, label: "A1 — Test"}]
codes:
  - {id: LOG, label: Logistique, axis: A1, definition: Moyens matériels., keywords: [véhicule],
     examples: ["Il nous faut du carburant et des motos."]}
  - {id: CONF, label: Confiance, axis: A1, definition: Confiance., keywords: [confiance]}
"""

_LOG = ["Nous manquons de carburant pour les patrouilles.", "Le carburant arrive en retard.",
        "Sans carburant nous restons au poste.", "Les véhicules sont en panne."]
_CONF = ["La population a confiance dans les agents.", "La confiance est rompue."]
_OTHER = ["Merci pour la parole.", "Nous en reparlerons demain.", "Je suis d'accord.",
          "Le climat est chaud cette année."]


def _corpus(n_ws: int = 4) -> pd.DataFrame:
    rows = []
    for w in range(1, n_ws + 1):
        texts = _LOG + _CONF + _OTHER
        for t, text in enumerate(texts, start=1):
            grp = "FDS" if t % 2 else "OSC"
            rows.append({"segment_id": f"W{w}-T{t:03d}-S01", "turn_id": f"W{w}-T{t:03d}",
                         "workshop_id": f"W{w}", "seg_n": 1, "speaker": f"{grp}-0{w}",
                         "stakeholder_group": grp, "group_code": grp, "is_facilitator": False,
                         "text": text, "lemmas": text.lower().replace("véhicules", "véhicule")
                         .rstrip(".")})
    return pd.DataFrame(rows)


def _human(segs: pd.DataFrame) -> pd.DataFrame:
    """Human coders: LOG wherever fuel or vehicles are named, CONF on trust."""
    rows = []
    for s, text in zip(segs["segment_id"], segs["text"], strict=True):
        for coder in ("A", "B"):
            if "carburant" in text or "véhicule" in text:
                rows.append((s, "LOG", coder))
            if "onfiance" in text:
                rows.append((s, "CONF", coder))
    return pd.DataFrame(rows, columns=["segment_id", "code_id", "coder"])


@pytest.fixture(scope="module")
def setup():
    cb = parse_codebook(CB)["codebook"]
    segs = _corpus()
    rule = RuleCoder().fit(cb).transform(segs)
    return cb, segs, rule, _human(segs)


def test_training_labels_from_manual_and_review(setup):
    cb, segs, _rule, manual = setup
    subset = list(segs["segment_id"][:5])
    review = pd.DataFrame({
        "segment_id": [subset[0], segs["segment_id"].iloc[20]],
        "code_id": ["CONF", "LOG"], "original_code_id": ["LOG", "LOG"],
        "decision": ["recoder", "accepter"], "final": [True, True]})
    lab = learn.training_labels(manual, review, ["LOG", "CONF"], subset=subset)
    got = {(s, c): v for s, c, v in zip(lab["segment_id"], lab["code_id"], lab["label"],
                                        strict=True)}
    assert got[(subset[0], "LOG")] == 0 and got[(subset[0], "CONF")] == 1  # review wins
    assert got[(segs["segment_id"].iloc[20], "LOG")] == 1  # a reviewed segment outside
    assert got[(subset[1], "LOG")] == 1 and got[(subset[1], "CONF")] == 0
    assert set(lab["origin"]) == {"manuel", "revue"}


def test_training_labels_soft_and_consensus():
    manual = pd.DataFrame({"segment_id": ["S1", "S1", "S2"], "code_id": ["LOG", "LOG", "LOG"],
                           "coder": ["A", "B", "A"]})
    mean = learn.training_labels(manual, None, ["LOG", "CONF"], subset=["S1", "S2", "S3"],
                                 agreement="mean").set_index(["segment_id", "code_id"])["label"]
    assert mean[("S1", "LOG")] == 1.0 and mean[("S2", "LOG")] == 0.5
    assert mean[("S3", "LOG")] == 0.0
    cons = learn.training_labels(manual, None, ["LOG"], subset=["S1", "S2", "S3"],
                                 agreement="consensus")
    assert set(cons["segment_id"]) == {"S1", "S3"}  # the coders disagree on S2


def test_model_learns_what_rules_miss_and_keeps_rule_codings(setup):
    cb, segs, rule, manual = setup
    units = list(segs["segment_id"])
    params = {"add": 0.5, "max_codes": 0}
    ev = learn.evaluate(segs, rule, manual, cb, units, ["W1", "W2", "W3"], ["W4"], params)
    f1 = ev[(ev["reference"] == "consensus") & (ev["code_id"] == "LOG")].set_index(
        "method")["f1"]
    assert f1["règles"] < 0.5  # the rules only know « véhicule »
    assert f1["combiné"] > f1["règles"] and f1["combiné"] >= 0.99
    lab = learn.training_labels(manual, None, list(cb["code_id"]), subset=units,
                                agreement="mean")
    res = learn.suggest(segs, rule, lab, cb, params)
    auto = res["automatic"]
    assert set(auto["source"]) <= {"rule", "model"} and "probability" in auto
    kept = set(zip(auto["segment_id"], auto["code_id"], strict=True))
    assert set(zip(rule["segment_id"], rule["code_id"], strict=True)) <= kept  # keep = 0
    added = auto[auto["source"] == "model"]
    assert len(added) and added["probability"].between(0, 1).all()
    assert (added["probability"] >= res["thresholds"]["add"]).all()


def test_default_thresholds_add_nothing_and_tune_chooses_by_lowo(setup):
    cb, segs, rule, manual = setup
    units = list(segs["segment_id"])
    lab = learn.training_labels(manual, None, list(cb["code_id"]), subset=units,
                                agreement="mean")
    res = learn.suggest(segs, rule, lab, cb)
    assert res["fitted"] and np.isinf(res["thresholds"]["add"])
    assert (res["automatic"]["source"] == "rule").all()
    tuned = learn.suggest(segs, rule, lab, cb, {"tune": True})
    # out of fold the rules miss half of LOG: adding model codings is chosen
    assert tuned["thresholds"]["add"] < 1 and tuned["thresholds"]["cv_macro_f1"] > 0.9
    assert (tuned["automatic"]["source"] == "model").any()


def _toy_proba():
    codes = ["P", "P.A", "Q", "R"]
    cb = pd.DataFrame({"code_id": codes, "parent": ["", "P", "", ""]})
    proba = pd.DataFrame([[0.9, 0.8, 0.02, 0.6], [0.3, 0.1, 0.2, 0.95]],
                         index=pd.Index(["S1", "S2"], name="segment_id"), columns=codes)
    rule = pd.DataFrame({"segment_id": ["S1", "S1", "S2", "S2"],
                         "code_id": ["P", "Q", "P", "Q"], "source": "rule", "coder": "règles",
                         "codebook_version": "", "evidence": "", "matched_text": "",
                         "negated": False, "note": "", "origin_file": "",
                         "origin_line": pd.NA})
    return cb, proba, rule


def _keys(df):
    return list(zip(df["segment_id"], df["code_id"], strict=True))


def _pairs(df):
    return set(_keys(df))


def test_veto_drops_rule_codings_the_model_rejects():
    cb, proba, rule = _toy_proba()
    th = {"keep": 0.05, "add": float("inf"), "max_codes": 0}
    auto, _ = learn.combine(rule, proba, th, cb, most_specific=False)
    assert _pairs(auto) == {("S1", "P"), ("S2", "P"), ("S2", "Q")}  # S1/Q: p = 0.02
    auto, _ = learn.combine(rule, proba, th, cb, veto_rules=False, most_specific=False)
    assert _pairs(auto) == _pairs(rule)


def test_parent_dropped_where_child_added_and_cap_per_segment():
    cb, proba, rule = _toy_proba()
    th = {"keep": 0.0, "add": 0.7, "max_codes": 0}
    auto, _ = learn.combine(rule, proba, th, cb, most_specific=True)
    # S1: the model adds the child P.A (0.8): the rule's parent P goes; S2: R added (0.95)
    assert _pairs(auto) == {("S1", "P.A"), ("S1", "Q"), ("S2", "P"), ("S2", "Q"), ("S2", "R")}
    src = dict(zip(_keys(auto), auto["source"], strict=True))
    assert src[("S1", "P.A")] == "model" and src[("S1", "Q")] == "rule"
    capped, _ = learn.combine(rule, proba, {**th, "max_codes": 2}, cb, most_specific=True)
    # S2 keeps its two most probable codes: R (0.95) and P (0.3), not Q (0.2)
    assert _pairs(capped) == {("S1", "P.A"), ("S1", "Q"), ("S2", "P"), ("S2", "R")}


def test_macro_f1_matches_rule_quality():
    from consultations.coding.agreement import rule_quality

    rng = np.random.default_rng(3)
    codes = ["A", "B", "C", "D"]
    units = [f"W{1 + i % 2}-T{i:03d}-S01" for i in range(40)]
    segs = pd.DataFrame({"segment_id": units, "workshop_id": [u[:2] for u in units]})
    cb = pd.DataFrame({"code_id": codes, "label": codes})
    pred = rng.random((40, 4)) < 0.3
    a, b = rng.random((40, 4)) < 0.3, rng.random((40, 4)) < 0.3
    b[:, 3] = a[:, 3] = False  # a code nobody uses …
    pred[:, 3] = False  # … and nobody predicts drops out of the macro

    def long(m, coder=None):
        i, j = np.nonzero(m)
        d = pd.DataFrame({"segment_id": [units[x] for x in i], "code_id": [codes[x] for x in j]})
        return d if coder is None else d.assign(coder=coder)

    q = rule_quality(long(pred), pd.concat([long(a, "A"), long(b, "B")]), segs, cb, units,
                     {"all": ["W1", "W2"]})
    q = q[(q["split"] == "all") & (q["reference"] == "consensus")].set_index("code_id")["f1"]
    Y = (a.astype(float) + b.astype(float)) / 2
    ref, valid = learn._reference(Y)
    macro, micro = learn.macro_f1(pred, ref, valid)
    assert macro == pytest.approx(q["_macro"]) and micro == pytest.approx(q["_micro"])


def test_select_reads_only_the_given_workshops(setup):
    cb, segs, rule, manual = setup
    units = list(segs["segment_id"])
    ctx = learn.PairContext(segs, cb, rule, vectors="")
    sel = learn.select(segs, rule, manual, cb, units, ["W1", "W2", "W3"], [{}], ctx)
    flipped = pd.concat([manual[~manual["segment_id"].str.startswith("W4")],
                         manual[manual["segment_id"].str.startswith("W4")].assign(
                             code_id="CONF")])
    sel2 = learn.select(segs, rule, flipped, cb, units, ["W1", "W2", "W3"], [{}], ctx)
    pd.testing.assert_frame_equal(sel, sel2)
    assert sel["cv_macro_f1"].iloc[0] >= sel["cv_macro_f1"].max() - 1e-12
    assert sel["cv_macro_f1"].iloc[0] > sel.attrs["rules"][0]  # LOG is learnable here


def test_group_is_never_a_feature(setup):
    assert not any(w in f for f in learn.FEATURES for w in ("group", "speaker", "workshop",
                                                              "pseudonym"))
    cb, segs, rule, manual = setup
    lab = learn.training_labels(manual, None, list(cb["code_id"]),
                                subset=list(segs["segment_id"]))
    p1 = learn.suggest(segs, rule, lab, cb)["probabilities"]
    swapped = segs.assign(stakeholder_group=segs["stakeholder_group"][::-1].to_numpy(),
                          group_code="X", speaker="X-01")
    p2 = learn.suggest(swapped, rule, lab, cb)["probabilities"]
    assert np.allclose(p1.to_numpy(dtype=float), p2.to_numpy(dtype=float), atol=1e-9)


def test_without_labels_the_rules_stand(setup):
    cb, segs, rule, _manual = setup
    empty = learn.training_labels(_manual.iloc[:0], None, list(cb["code_id"]), subset=[])
    res = learn.suggest(segs, rule, empty, cb)
    assert len(res["model"]) == 0
    assert len(res["automatic"]) == len(rule) and res["automatic"]["probability"].isna().all()


def test_large_corpus_path_gives_the_same_features(setup, monkeypatch):
    """Issue 12: above ``dense_limit`` rows are made batch by batch and on demand, same values."""
    cb, segs, rule, manual = setup
    dense = learn.PairContext(segs, cb, rule, vectors="")
    monkeypatch.setattr(learn, "_BATCH", 3)  # several batches, a last one shorter
    lazy = learn.PairContext(segs, cb, rule, vectors="", dense_limit=2, fit_sample=10**9)
    assert lazy.char._whole is None and dense.char._whole is not None
    for name in ("rule", "rule_near", "rule_turn", "sim_char", "rank_char", "sim_vec",
                 "keyword_vec", "log_words"):
        assert np.allclose(getattr(dense, name), getattr(lazy, name), atol=1e-12), name
    rows = np.array([4, 0, 2])
    assert np.allclose(dense.char[rows].toarray(), lazy.char[rows].toarray(), atol=1e-12)
    lab = learn.training_labels(manual, None, list(cb["code_id"]),
                                subset=list(segs["segment_id"]))
    p1 = learn.suggest(segs, rule, lab, cb, {"vectors": ""}, context=dense)["probabilities"]
    p2 = learn.suggest(segs, rule, lab, cb, {"vectors": ""}, context=lazy)["probabilities"]
    assert np.allclose(p1.to_numpy(dtype=float), p2.to_numpy(dtype=float), atol=1e-9)
    # the n-gram fit on a seeded sample: the same seed gives the same features
    s1 = learn.PairContext(segs, cb, rule, vectors="", dense_limit=2, fit_sample=5)
    s2 = learn.PairContext(segs, cb, rule, vectors="", dense_limit=2, fit_sample=5)
    assert np.array_equal(s1.sim_char, s2.sim_char)


def test_without_labels_no_features_are_computed(setup, monkeypatch):
    cb, segs, rule, manual = setup
    monkeypatch.setattr(learn, "PairContext", lambda *a, **k: pytest.fail("features made"))
    empty = learn.training_labels(manual.iloc[:0], None, list(cb["code_id"]), subset=[])
    res = learn.suggest(segs, rule, empty, cb)
    assert not res["fitted"] and len(res["automatic"]) == len(rule)
