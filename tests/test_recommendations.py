"""Tests of consultations.compare.recommendations: links to codes and near-duplicate clusters."""

from __future__ import annotations

import pandas as pd
import pytest

from consultations.compare import recommendations as rec
from consultations.core.config import Settings


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
    links = rec.link_recommendations(recs, codebook, threshold=0.2, keyword_min_similarity=0.05)
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
    # who was in the room — ATL1: FDS-01 + OSC-01 (facilitator out); ATL2: DEC-01 + OSC-02
    assert c["workshop_groups"].iloc[0] == "DEC, FDS, OSC"
    assert c["workshop_group_weights"].iloc[0].startswith("OSC (1,00)")
    assert c["groups"].iloc[0] == ""  # no discussion given: nobody is credited with support
    assert c["is_representative"].sum() == 1
    assert cl.groupby("cluster_id")["is_representative"].sum().eq(1).all()
    again = rec.cluster_recommendations(recs.sample(frac=1, random_state=1), seg)
    pd.testing.assert_frame_equal(cl, again)  # input order does not matter


def test_recommendations_empty_inputs(codebook):
    empty = pd.DataFrame(columns=["rec_id", "workshop_id", "rec_n", "text"])
    assert rec.link_recommendations(empty, codebook).empty
    assert rec.cluster_recommendations(empty).empty


def test_recommendations_one_shared_keyword_is_not_a_link(codebook):
    """« rapprocher » is a CONF keyword; a recommendation on detention is not about trust."""
    kb = pd.concat([codebook, pd.DataFrame({
        "code_id": ["CONF"], "label": ["Confiance entre population et forces"],
        "definition": ["Relation de confiance ou de méfiance entre la population et les "
                       "forces : peur, défiance, collaboration, rapprochement."],
        "include": "", "keywords": ["confiance; méfiance; rapprocher"]})], ignore_index=True)
    one = pd.DataFrame({"rec_id": ["X-R01"], "workshop_id": ["X"], "rec_n": [1],
                        "text": ["Rapprocher la justice des justiciables par des audiences "
                                 "foraines et réduire la détention préventive."]})
    loose = rec.link_recommendations(one, kb, threshold=0.3, keyword_min_similarity=0.0)
    assert "CONF" in set(loose["code_id"])  # the old rule: one keyword was enough
    strict = rec.link_recommendations(one, kb)
    assert "CONF" not in set(strict["code_id"])
    cl = rec.cluster_recommendations(one, links=strict, codebook=kb)
    assert cl.loc[0, "link_status"] == "non rattachée"
    assert cl.loc[0, "axes"] == "" and cl.loc[0, "code_ids"] == ""
    assert list(cl["rec_id"]) == ["X-R01"]  # still listed


def test_recommendations_linked_rec_gets_codes_and_axes(recs, codebook):
    kb = codebook.assign(axis=["A3", "A1", "A2"])
    links = rec.link_recommendations(recs, kb, threshold=0.2, keyword_min_similarity=0.05)
    cl = rec.cluster_recommendations(recs, links=links, codebook=kb).set_index("rec_id")
    assert cl.loc["ATL1-R01", "link_status"] == "rattachée"
    assert "MIL.DES" in cl.loc["ATL1-R01", "code_ids"] and cl.loc["ATL1-R01", "axes"] == "A3"
    assert cl.loc["ATL3-R02", "link_status"] == "non rattachée"


def test_recommendations_keep_all_marks_unlinked_pairs(recs, codebook):
    allp = rec.link_recommendations(recs, codebook, keep_all=True)
    assert len(allp) == len(recs) * len(codebook)
    linked = rec.link_recommendations(recs, codebook)
    assert allp["linked"].sum() == len(linked)


def test_recommendations_run_groups_are_supporters_not_the_room(tiny_segments, codebook):
    segs = tiny_segments.copy()
    extra = pd.DataFrame([
        ("W1-T004-S01", "W1-T004", "W1", 1, "DEC-02", "Acteurs de la décentralisation", "DEC",
         False, "Je soutiens la recommandation 1, il faut désarmer les milices.",
         "je soutenir le recommandation 1 il falloir désarmer le milice")],
        columns=["segment_id", "turn_id", "workshop_id", "seg_n", "speaker",
                 "stakeholder_group", "group_code", "is_facilitator", "text", "lemmas"])
    extra["is_collective"] = False
    segs = pd.concat([segs, extra], ignore_index=True)
    recs = pd.DataFrame({"rec_id": ["W1-R01", "W1-R02"], "workshop_id": ["W1", "W1"],
                         "rec_n": [1, 2],
                         "text": ["Désarmer les milices.", "Planter des arbres."]})
    before = segs.copy(), recs.copy()
    out = rec.run({"segments": segs, "recommendations": recs, "codebook": codebook},
                  Settings())
    assert set(out) == {"rec_links", "rec_clusters", "rec_endorsements", "rec_group_matrix"}
    cl = out["rec_clusters"].set_index("rec_id")
    assert cl.loc["W1-R01", "groups"] == "DEC"
    assert cl.loc["W1-R01", "workshop_groups"] == "DEC, FDS, OSC"
    assert cl.loc["W1-R02", "groups"] == ""
    pd.testing.assert_frame_equal(segs, before[0])
    pd.testing.assert_frame_equal(recs, before[1])
