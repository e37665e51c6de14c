"""Tests of consultations.compare.recommendations: links to codes and near-duplicate clusters."""

from __future__ import annotations

import pandas as pd
import pytest

from consultations.compare import recommendations as rec


@pytest.fixture()
def codebook():
    return pd.DataFrame({
        "code_id": ["MIL.DES", "RACK", "CLS"],
        "label": ["Désarmer les milices", "Racket aux postes de contrôle",
                  "Comités locaux de sécurité"],
        "definition": ["Désarmement ou encadrement des groupes d'autodéfense.",
                       "Paiements illicites exigés par les agents aux barrières.",
                       "Création et composition des comités consultatifs de sécurité."],
        "include": "", "keywords": ["désarmer; milice", "racket; poste de contrôle",
                                    "comité local de sécurité; comité consultatif"],
    })


@pytest.fixture()
def recs():
    return pd.DataFrame({
        "rec_id": ["ATL1-R01", "ATL1-R02", "ATL2-R01", "ATL3-R01", "ATL3-R02"],
        "workshop_id": ["ATL1", "ATL1", "ATL2", "ATL3", "ATL3"],
        "rec_n": [1, 2, 1, 1, 2],
        "text": ["Désarmer les milices avant toute intégration.",
                 "Supprimer le racket aux postes de contrôle routiers.",
                 "Désarmer toutes les milices avant l'intégration.",
                 "Mettre fin au racket aux postes de contrôle sur les routes.",
                 "Planter des arbres fruitiers dans les écoles."],
        "source_file": "r.txt", "line_start": [1, 2, 1, 1, 2], "line_end": [1, 2, 1, 1, 2]})


def test_recommendations_normalise_folds_accents_and_plurals():
    assert rec.normalise("Désarmer les Milices !") == ["desarmer", "les", "milice"]


def test_recommendations_links_by_rule_and_similarity(recs, codebook):
    links = rec.link_recommendations(recs, codebook)
    got = set(zip(links["rec_id"], links["code_id"], strict=True))
    assert ("ATL1-R01", "MIL.DES") in got and ("ATL2-R01", "MIL.DES") in got
    assert ("ATL3-R01", "RACK") in got
    r = links.set_index(["rec_id", "code_id"]).loc[("ATL1-R02", "RACK")]
    assert r["method"].startswith("règle") and r["score"] == 1.0
    assert "racket" in r["keywords_matched"]
    assert "ATL3-R02" not in set(links["rec_id"])  # no match: no row
    assert links["method"].isin(["règle", "similarité", "règle + similarité"]).all()


def test_recommendations_similarity_only_link(codebook):
    one = pd.DataFrame({"rec_id": ["X-R01"], "workshop_id": ["X"], "rec_n": [1],
                        "text": ["Créer des comités consultatifs de sécurité dans chaque "
                                 "commune."]})
    kb = codebook.assign(keywords="")
    links = rec.link_recommendations(one, kb, threshold=0.1)
    assert list(links["code_id"]) == ["CLS"] and links["method"].iloc[0] == "similarité"
    assert links["score"].iloc[0] == pytest.approx(links["similarity"].iloc[0])


def test_recommendations_cluster_near_duplicates_across_workshops(recs, tiny_segments):
    seg = tiny_segments.assign(workshop_id=tiny_segments["workshop_id"].map(
        {"W1": "ATL1", "W2": "ATL2"}))
    cl = rec.cluster_recommendations(recs, seg)
    by = cl.set_index("rec_id")["cluster_id"]
    assert by["ATL1-R01"] == by["ATL2-R01"]
    assert by["ATL1-R02"] == by["ATL3-R01"]
    assert by["ATL3-R02"] not in {by["ATL1-R01"], by["ATL1-R02"]}
    assert by["ATL1-R01"] == "R01"  # numbered by first rec_id
    c = cl[cl["cluster_id"] == by["ATL1-R01"]]
    assert c["workshops"].iloc[0] == "ATL1, ATL2" and c["n_workshops"].iloc[0] == 2
    # ATL1: FDS-01 + OSC-01 (facilitator out); ATL2: DEC-01 + OSC-02
    assert c["groups"].iloc[0] == "DEC, FDS, OSC"
    assert c["group_weights"].iloc[0].startswith("OSC (1,00)")
    assert c["is_representative"].sum() == 1
    assert cl.groupby("cluster_id")["is_representative"].sum().eq(1).all()
    again = rec.cluster_recommendations(recs.sample(frac=1, random_state=1), seg)
    pd.testing.assert_frame_equal(cl, again)  # input order does not matter


def test_recommendations_empty_inputs(codebook):
    empty = pd.DataFrame(columns=["rec_id", "workshop_id", "rec_n", "text"])
    assert rec.link_recommendations(empty, codebook).empty
    assert rec.cluster_recommendations(empty).empty
