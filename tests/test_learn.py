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


def test_model_learns_what_rules_miss_and_keeps_rule_codings(setup):
    cb, segs, rule, manual = setup
    units = list(segs["segment_id"])
    ev = learn.evaluate(segs, rule, manual, cb, units, ["W1", "W2", "W3"], ["W4"])
    f1 = ev[(ev["reference"] == "consensus") & (ev["code_id"] == "LOG")].set_index(
        "method")["f1"]
    assert f1["règles"] < 0.5  # the rules only know « véhicule »
    assert f1["combiné"] > f1["règles"] and f1["combiné"] >= 0.99
    lab = learn.training_labels(manual, None, list(cb["code_id"]), subset=units)
    res = learn.suggest(segs, rule, lab, cb)
    auto = res["automatic"]
    assert set(auto["source"]) <= {"rule", "model"} and "probability" in auto
    kept = set(zip(auto["segment_id"], auto["code_id"], strict=True))
    assert set(zip(rule["segment_id"], rule["code_id"], strict=True)) <= kept  # union
    added = auto[auto["source"] == "model"]
    assert len(added) and added["probability"].between(0, 1).all()
    assert (added["probability"] >= added["code_id"].map(res["thresholds"])).all()


def test_group_is_never_a_feature(setup):
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
