"""Tests of the stance detector for position questions (consultations.coding.stance)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

try:
    from consultations.coding.stance import (
        DEFAULT_THRESHOLD,
        FORMS,
        OUTPUT_COLUMNS,
        RESERVED,
        detect_stances,
    )
except ImportError:  # standalone: stance.py beside this file
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from stance import DEFAULT_THRESHOLD, FORMS, OUTPUT_COLUMNS, RESERVED, detect_stances

QUESTIONS = {
    "MIL": ["MIL.INT", "MIL.DES"],
    "RACK": ["RACK.SYS", "RACK.ISO"],
    "CLS": ["CLS.MAIRE", "CLS.ETAT"],
    "PM": ["PM.ARM", "PM.NARM"],
    "REC": ["REC.LOC", "REC.NAT"],
}


def _inputs(text: str, mentions: list[tuple[str, str]], before: str = "", after: str = ""):
    """One turn: optional previous sentence, the sentence (S02), optional next sentence."""
    segs = []
    for n, (sid, txt) in enumerate([("T001-S01", before), ("T001-S02", text),
                                    ("T001-S03", after)], 1):
        if txt or sid == "T001-S02":
            segs.append({"segment_id": sid, "turn_id": "T001", "seg_n": n, "text": txt,
                         "lemmas": ""})
    cands = [{"segment_id": "T001-S02", "code_id": c, "matched_text": m} for c, m in mentions]
    return pd.DataFrame(segs), pd.DataFrame(cands)


def _detect(text, mentions, before="", after="", cues=None):
    segs, cands = _inputs(text, mentions, before, after)
    out = detect_stances(segs, cands, QUESTIONS, cues)
    assert len(out) == 1
    return out.iloc[0]


# (form, text, mentions, expected stance, context before, context after)
CASES = [
    # the three failures of the keyword rule quoted in the brief
    ("évaluation", "Intégrer les milices, c'est légaliser des armes qui échappent à la chaîne "
     "de commandement.", [("MIL.INT", "Intégrer les milices")], "MIL.DES", "", ""),
    ("condition", "Si on écrit dans une stratégie nationale que le racket est systémique, on "
     "accuse tous les agents.", [("RACK.SYS", "racket est systémique")], "RACK.ISO", "", ""),
    ("question rhétorique", "Alors quand on vient nous dire de les désarmer, je demande : et "
     "après, qui protège ?", [("MIL.DES", "les désarmer")], "MIL.INT", "", ""),
    # direct
    ("direct", "Le comité communal doit être présidé par le maire.",
     [("CLS.MAIRE", "présidé par le maire")], "CLS.MAIRE", "", ""),
    ("direct", "Plutôt que de les intégrer, il faut les désarmer.",
     [("MIL.INT", "les intégrer"), ("MIL.DES", "les désarmer")], "MIL.DES", "", ""),
    ("direct", "Au niveau de la commune, c'est le maire, sans discussion.",
     [("CLS.MAIRE", "c'est le maire")], "CLS.MAIRE", "", ""),
    # négation
    ("négation", "On ne peut pas intégrer les milices dans une police républicaine.",
     [("MIL.INT", "intégrer les milices")], "MIL.DES", "", ""),
    ("négation", "Pas question de désarmer les dozos tant que l'armée n'est pas revenue.",
     [("MIL.DES", "désarmer les dozos")], "MIL.INT", "", ""),
    ("négation", "Ce n'est pas un cas isolé, c'est un système.",
     [("RACK.ISO", "cas isolé"), ("RACK.SYS", "système")], "RACK.SYS", "", ""),
    ("négation", "Je ne suis pas contre le recrutement local, au contraire.",
     [("REC.LOC", "recrutement local")], "REC.LOC", "", ""),
    ("négation", "L'État ne peut pas déléguer le monopole de la force.",
     [("MIL.DES", "monopole de la force")], "MIL.DES", "", ""),
    # évaluation
    ("évaluation", "Ce serait une erreur d'armer la police municipale.",
     [("PM.ARM", "armer la police municipale")], "PM.NARM", "", ""),
    ("évaluation", "Désarmer les milices est indispensable si l'on veut la paix.",
     [("MIL.DES", "Désarmer les milices")], "MIL.DES", "", ""),
    # question rhétorique
    ("question rhétorique", "Pourquoi ne pas confier la présidence au maire ?",
     [("CLS.MAIRE", "présidence au maire")], "CLS.MAIRE", "", ""),
    ("question rhétorique", "On nous demande de désarmer les chasseurs.",
     [("MIL.DES", "désarmer les chasseurs")], "MIL.INT", "",
     "Mais qui défendra les greniers la nuit ?"),
    ("question rhétorique", "Monsieur le maire, faut-il à votre avis intégrer les groupes "
     "d'autodéfense ?", [("MIL.INT", "intégrer les groupes d'autodéfense")], "", "", ""),
    # concession
    ("concession", "Je comprends ceux qui veulent intégrer les milices, mais ce serait une "
     "erreur.", [("MIL.INT", "intégrer les milices")], "MIL.DES", "", ""),
    ("concession", "Certes, il y a quelques agents indélicats, mais le problème est bien plus "
     "large.", [("RACK.ISO", "agents indélicats")], "RACK.SYS", "", ""),
    ("concession", "Bien sûr, désarmer prendra des années, mais c'est la seule voie.",
     [("MIL.DES", "désarmer")], "MIL.DES", "", ""),
    # discours rapporté
    ("discours rapporté", "Certains disent que le racket est systémique ; c'est faux.",
     [("RACK.SYS", "racket est systémique")], "RACK.ISO", "", ""),
    ("discours rapporté", "Le maire dit que c'est à lui de présider le comité.",
     [("CLS.MAIRE", "à lui de présider")], "", "", ""),
    ("discours rapporté", "Les syndicats réclament le port d'arme, et ils ont raison.",
     [("PM.ARM", "port d'arme")], "PM.ARM", "", ""),
    ("discours rapporté", "Le désaccord est clair : pour certains, le racket est systémique, "
     "pour d'autres ce sont des cas isolés.",
     [("RACK.SYS", "racket est systémique"), ("RACK.ISO", "cas isolés")], "", "", ""),
    # condition
    ("condition", "Si on intègre les milices, on légalise l'impunité.",
     [("MIL.INT", "intègre les milices")], "MIL.DES", "", ""),
    ("condition", "Si l'État ne protège pas les villages, il faudra intégrer les milices.",
     [("MIL.INT", "intégrer les milices")], "MIL.INT", "", ""),
    ("condition", "Si c'est le commandant qui préside, les jeunes ne viendront jamais.",
     [("CLS.ETAT", "commandant qui préside")], "CLS.MAIRE", "", ""),
    # ironie
    ("ironie", "Bien sûr, intégrons-les, et donnons-leur des galons.",
     [("MIL.INT", "intégrons-les")], "MIL.DES", "", ""),
    ("ironie", "Des cas isolés, oui, isolés à chaque poste de contrôle du pays.",
     [("RACK.ISO", "cas isolés")], "RACK.SYS", "", ""),
    ("ironie", "Bien sûr qu'il faut désarmer les milices, personne ne dit le contraire.",
     [("MIL.DES", "désarmer les milices")], "MIL.DES", "", ""),
    # réserve
    ("réserve", "Sur l'intégration des milices, je n'ai pas d'avis tranché.",
     [("MIL.INT", "intégration des milices")], RESERVED, "", ""),
    ("réserve", "Armer la police municipale ? Ça dépend des communes.",
     [("PM.ARM", "Armer la police municipale")], RESERVED, "", ""),
    ("réserve", "Il faut étudier les modalités, mais je soutiens la présidence par le maire.",
     [("CLS.MAIRE", "présidence par le maire")], "CLS.MAIRE", "", ""),
]


@pytest.mark.parametrize(("form", "text", "mentions", "expected", "before", "after"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_forms(form, text, mentions, expected, before, after):
    row = _detect(text, mentions, before, after)
    assert row["stance"] == expected, (row["form"], row["cue"])
    assert row["form"] in FORMS
    assert 0.0 <= row["confidence"] <= 1.0


def test_every_form_is_covered():
    assert {c[0] for c in CASES} == set(FORMS)


def test_forms_reported():
    assert _detect(*CASES[0][1:3])["form"] == "évaluation"
    assert _detect("Si on intègre les milices, on légalise l'impunité.",
                   [("MIL.INT", "intègre les milices")])["form"] == "condition"
    assert _detect("Quatorze cas isolés sur la même route, mon colonel ?",
                   [("RACK.ISO", "cas isolés")])["form"] == "question rhétorique"


@pytest.mark.parametrize("text", [
    "Je n'ai pas d'avis tranché sur l'intégration des milices.",
    "L'intégration des milices ? Ça dépend des zones.",
    "Sur l'intégration des milices, il faut étudier la question avant de trancher.",
    "L'intégration des milices, je reste partagé.",
])
def test_hedge_gives_reserved(text):
    row = _detect(text, [("MIL.INT", "intégration des milices")])
    assert row["stance"] == RESERVED
    assert row["form"] == "réserve"


def test_negated_hedge_is_not_reserved():
    row = _detect("Je n'hésite pas une seconde : le recrutement local.",
                  [("REC.LOC", "recrutement local")])
    assert row["stance"] == "REC.LOC"


def test_irony_and_conditional_support_have_low_confidence():
    irony = _detect("Bien sûr, intégrons-les, et donnons-leur des galons.",
                    [("MIL.INT", "intégrons-les")])
    assert irony["form"] == "ironie"
    assert irony["confidence"] < DEFAULT_THRESHOLD
    cond = _detect("Si l'État ne protège pas les villages, il faudra intégrer les milices.",
                   [("MIL.INT", "intégrer les milices")])
    direct = _detect("Il faut intégrer les milices.", [("MIL.INT", "intégrer les milices")])
    assert cond["confidence"] < direct["confidence"]


def test_output_columns_and_types():
    segs, cands = _inputs("Il faut désarmer les milices.", [("MIL.DES", "désarmer les milices")])
    out = detect_stances(segs, cands, QUESTIONS)
    assert list(out.columns) == OUTPUT_COLUMNS
    row = out.iloc[0]
    assert row["segment_id"] == "T001-S02"
    assert row["question"] == "MIL"
    assert row["matched_code"] == "MIL.DES"
    assert row["stance"] == "MIL.DES"
    assert not row["verified"]
    assert out["confidence"].dtype == "float64"
    assert out["verified"].dtype == "bool"


def test_one_row_per_segment_and_question():
    segs, cands = _inputs("Le racket est organisé, et il faut désarmer les milices.",
                          [("RACK.SYS", "racket est organisé"),
                           ("MIL.DES", "désarmer les milices")])
    out = detect_stances(segs, cands, QUESTIONS)
    assert out[["segment_id", "question"]].values.tolist() == [["T001-S02", "MIL"],
                                                               ["T001-S02", "RACK"]]
    assert out["stance"].tolist() == ["MIL.DES", "RACK.SYS"]


def test_inputs_not_mutated():
    segs, cands = _inputs("Intégrer les milices, c'est légaliser des armes.",
                          [("MIL.INT", "Intégrer les milices")],
                          after="Je suis contre.")
    cands["evidence"] = ["motif"]
    segs0, cands0 = segs.copy(deep=True), cands.copy(deep=True)
    questions = {k: list(v) for k, v in QUESTIONS.items()}
    cues = {"against_before": ["refuser"], "against_after": ["danger"]}
    detect_stances(segs, cands, questions, cues)
    pd.testing.assert_frame_equal(segs, segs0)
    pd.testing.assert_frame_equal(cands, cands0)
    assert questions == QUESTIONS
    assert cues == {"against_before": ["refuser"], "against_after": ["danger"]}


def test_deterministic_and_order_independent():
    segs, cands = _inputs("Plutôt que de les intégrer, il faut les désarmer.",
                          [("MIL.INT", "les intégrer"), ("MIL.DES", "les désarmer")],
                          before="Les villages ont peur.", after="C'est la seule voie.")
    first = detect_stances(segs, cands, QUESTIONS)
    again = detect_stances(segs, cands, QUESTIONS)
    shuffled = detect_stances(segs.iloc[::-1].reset_index(drop=True),
                              cands.iloc[::-1].reset_index(drop=True), QUESTIONS)
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(first, shuffled)


def test_empty_inputs():
    segs, cands = _inputs("Il faut désarmer les milices.", [])
    empty_cands = pd.DataFrame(columns=["segment_id", "code_id", "matched_text"])
    for s, c in [(segs, empty_cands),
                 (pd.DataFrame(columns=["segment_id", "turn_id", "seg_n", "text", "lemmas"]),
                  empty_cands)]:
        out = detect_stances(s, c, QUESTIONS)
        assert out.empty
        assert list(out.columns) == OUTPUT_COLUMNS
    segs, cands = _inputs("Il faut désarmer les milices.", [("MIL.DES", "désarmer")])
    assert detect_stances(segs, cands, {}).empty
    other = cands.assign(code_id="CONF")  # not an option of any question
    assert detect_stances(segs, other, QUESTIONS).empty


def test_missing_columns():
    segs, cands = _inputs("Il faut désarmer les milices.", [("MIL.DES", "désarmer")])
    with pytest.raises(KeyError):
        detect_stances(segs.drop(columns="text"), cands, QUESTIONS)
    with pytest.raises(KeyError):
        detect_stances(segs, cands.drop(columns="code_id"), QUESTIONS)


def test_works_without_turn_context_or_matched_text():
    segs = pd.DataFrame({"segment_id": ["A"], "text": ["On ne peut pas intégrer les milices."]})
    cands = pd.DataFrame({"segment_id": ["A"], "code_id": ["MIL.INT"]})
    row = detect_stances(segs, cands, QUESTIONS).iloc[0]
    assert row["stance"] in ("MIL.INT", "MIL.DES")
    assert row["confidence"] < DEFAULT_THRESHOLD + 0.2


def test_flipped_rule_coding_is_read_as_the_matched_option():
    # the rule coder already turned "intégrer" into MIL.DES (evidence "… position inversée")
    segs, cands = _inputs("On ne peut pas intégrer les milices.",
                          [("MIL.DES", "intégrer les milices")])
    cands["evidence"] = ["motif intégrer … milice → position inversée (négation)"]
    row = detect_stances(segs, cands, QUESTIONS).iloc[0]
    assert row["matched_code"] == "MIL.INT"
    assert row["stance"] == "MIL.DES"


def test_codebook_cues_are_used():
    text = "Nous voulons bannir l'intégration des milices."
    mention = [("MIL.INT", "intégration des milices")]
    assert _detect(text, mention)["stance"] == "MIL.INT"
    row = _detect(text, mention, cues={"against_before": ["bannir"], "window": 6})
    assert row["stance"] == "MIL.DES"


def test_against_one_of_three_options_gives_no_single_stance():
    questions = {"Q": ["Q.A", "Q.B", "Q.C"]}
    segs, cands = _inputs("Nous refusons l'option du préfet.", [("Q.B", "option du préfet")])
    row = detect_stances(segs, cands, questions).iloc[0]
    assert row["stance"] == ""
    assert "Q.B" in row["cue"]
