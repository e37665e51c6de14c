"""Tests of consultations.compare.endorsements: who spoke for or against each recommendation."""

from __future__ import annotations

import pandas as pd
import pytest

from consultations.compare import endorsements as E

GROUPS = {"FAC": "Facilitation", "FDS": "Forces de défense et de sécurité",
          "DEC": "Acteurs de la décentralisation", "OSC": "Organisations de la société civile",
          "JUS": "Secteur de la justice"}


def _segments(turns: list[tuple[str, str, list[str]]], workshop: str = "W1") -> pd.DataFrame:
    """Turns as (speaker, group_code, sentences) → a segments table of the contract."""
    rows = []
    for t, (speaker, group, sentences) in enumerate(turns, 1):
        for s, text in enumerate(sentences, 1):
            rows.append({"segment_id": f"{workshop}-T{t:03d}-S{s:02d}",
                         "turn_id": f"{workshop}-T{t:03d}", "workshop_id": workshop,
                         "seg_n": s, "speaker": speaker, "stakeholder_group": GROUPS[group],
                         "group_code": group, "is_facilitator": group == "FAC", "text": text,
                         "lemmas": text.lower(), "n_words": len(text.split())})
    return pd.DataFrame(rows)


RECS = pd.DataFrame({
    "rec_id": ["W1-R01", "W1-R02", "W1-R03", "W1-R04"], "workshop_id": "W1",
    "rec_n": [1, 2, 3, 4],
    "text": ["Publier chaque année la liste officielle des postes de contrôle autorisés et "
             "supprimer les postes illégaux.",
             "Ne pas intégrer les groupes d'autodéfense armés dans le dispositif de sécurité ; "
             "préparer leur désarmement (position contestée par l'élu présent).",
             "Créer un numéro vert gratuit pour signaler les abus des agents.",
             "Inscrire une ligne budgétaire pour les comités communaux de sécurité."]})


@pytest.fixture()
def workshop() -> pd.DataFrame:
    return _segments([
        ("FAC-01", "FAC", ["Je vous lis les recommandations.",
                           "La recommandation 3 : un numéro vert gratuit, je la soutiens."]),
        ("FDS-01", "FDS", ["Je soutiens la recommandation 1.",
                           "La liste doit être affichée dans chaque gare."]),
        ("OSC-01", "OSC", ["Il faut publier la liste officielle des postes de contrôle "
                           "autorisés et supprimer tous les postes illégaux."]),
        ("DEC-01", "DEC", ["Sur le point 2, je ne suis pas d'accord.",
                           "Les villages seront sans protection."]),
        ("FDS-02", "FDS", ["Intégrer les groupes d'autodéfense armés dans le dispositif de "
                           "sécurité serait une erreur dangereuse."]),
        ("JUS-01", "JUS", ["Le climat était lourd ce matin au tribunal de la ville."]),
    ])


# ------------------------------------------------------------------------------ stance
@pytest.mark.parametrize("text, stance", [
    ("Je soutiens cette proposition.", "soutient"),
    ("Nous proposons un cadre de concertation.", "soutient"),
    ("Je suis d'accord avec le colonel.", "soutient"),
    ("Il faut une ligne budgétaire.", "soutient"),
    ("Je ne suis pas d'accord avec ce texte.", "s'oppose"),
    ("Nous sommes contre l'intégration des milices.", "s'oppose"),
    ("Pas question de payer deux fois.", "s'oppose"),
    ("C'est une erreur de confier cela aux milices.", "s'oppose"),
    ("Cette mesure est contestée par les maires.", "s'oppose"),
    ("Le climat était lourd ce matin.", None),
    ("Il reçoit les plaintes contre les agents.", None),  # « contre » here is no stance
])
def test_endorsements_stance_of_cues(text, stance):
    got, conf = E.stance_of(text)
    assert got == stance
    assert (conf > 0) == (stance is not None)


def test_endorsements_against_is_read_before_support():
    assert E.stance_of("Je ne suis pas d'accord.")[0] == "s'oppose"  # not « d'accord »


# ------------------------------------------------------------------------ by number
@pytest.mark.parametrize("text, context, nums", [
    ("Je soutiens la recommandation 12.", False, [12]),
    ("Sur les recommandations 3 et 5, rien à ajouter.", False, [3, 5]),
    ("Au point deux, ajoutez les services.", False, [2]),
    ("Le point 3 me va.", False, [3]),
    ("Je reviens sur R12 : c'est trop vague.", False, [12]),
    ("Les points 2 à 4 sont acceptables.", False, [2, 3, 4]),
    ("Et la 4, je la soutiens.", True, [4]),
    ("Et la 4, je la soutiens.", False, []),  # bare number without context
    ("Les quatre ateliers ont été utiles.", True, []),
    ("Je voudrais insister sur un point du premier atelier.", False, []),
])
def test_endorsements_number_references(text, context, nums):
    assert E.number_references(text, context=context) == nums


def test_endorsements_by_number_and_facilitator_excluded(workshop):
    e = E.detect_endorsements(workshop, RECS)
    by = {(r.rec_id, r.speaker): r for r in e.itertuples()}
    assert by[("W1-R01", "FDS-01")].stance == "soutient"
    assert by[("W1-R01", "FDS-01")].method == "numéro"
    assert by[("W1-R02", "DEC-01")].stance == "s'oppose"
    assert by[("W1-R02", "DEC-01")].method == "numéro"
    assert not (e["speaker"] == "FAC-01").any()  # « je la soutiens » by the facilitator
    assert "W1-R03" not in set(e["rec_id"])


def test_endorsements_bare_number_needs_context():
    segs = _segments([("OSC-01", "OSC", ["Et la 4, je la soutiens pleinement."])])
    assert E.detect_endorsements(segs, RECS).empty
    segs = _segments([("FAC-01", "FAC", ["Passons aux recommandations."]),
                      ("OSC-01", "OSC", ["Et la 4, je la soutiens pleinement."])])
    e = E.detect_endorsements(segs, RECS)
    assert list(zip(e["rec_id"], e["stance"], strict=True)) == [("W1-R04", "soutient")]


def test_endorsements_by_paraphrase(workshop):
    e = E.detect_endorsements(workshop, RECS).set_index(["rec_id", "speaker"])
    r = e.loc[("W1-R01", "OSC-01")]
    assert r["method"] == "paraphrase" and r["stance"] == "soutient"
    assert r["segment_ids"] == "W1-T003-S01"
    assert 0 < r["confidence"] <= 1
    m = E.segment_matches(workshop, RECS, keep_mentions=True)
    assert not m["segment_id"].eq("W1-T006-S01").any()  # unrelated sentence matches nothing


def test_endorsements_opposition_to_a_refusal_is_support(workshop):
    """« Intégrer … serait une erreur » against « Ne pas intégrer … » is support."""
    assert E.is_refusal(RECS.loc[1, "text"]) and not E.is_refusal(RECS.loc[0, "text"])
    e = E.detect_endorsements(workshop, RECS).set_index(["rec_id", "speaker"])
    r = e.loc[("W1-R02", "FDS-02")]
    assert r["method"] == "paraphrase" and r["stance"] == "soutient"


def test_endorsements_short_cue_sentence_before_gives_the_stance():
    segs = _segments([("DEC-01", "DEC", [
        "Je soutiens le maire.",
        "Publier la liste officielle des postes de contrôle autorisés chaque année."])])
    e = E.detect_endorsements(segs, RECS)
    assert list(e["rec_id"]) == ["W1-R01"] and e["stance"].iloc[0] == "soutient"
    assert e["confidence"].iloc[0] < 0.9  # borrowed cue: lower confidence


def test_endorsements_last_stance_counts():
    segs = _segments([("DEC-01", "DEC", ["Je ne suis pas d'accord avec la recommandation 4."]),
                      ("FAC-01", "FAC", ["Et si les communes contribuent ?"]),
                      ("DEC-01", "DEC", ["Alors je soutiens la recommandation 4."])])
    e = E.detect_endorsements(segs, RECS)
    assert len(e) == 1 and e["stance"].iloc[0] == "soutient"
    assert e["segment_ids"].iloc[0] == "W1-T001-S01, W1-T003-S01"


# ------------------------------------------------------------------------- matrix
def test_endorsements_group_matrix_positions(workshop):
    extra = _segments([("FDS-03", "FDS", ["Je ne suis pas d'accord avec la recommandation 1."]),
                       ("OSC-02", "OSC", ["Je soutiens la recommandation 2."]),
                       ("OSC-03", "OSC", ["Je suis contre la recommandation 2."])])
    extra["segment_id"] = extra["segment_id"].str.replace("-T", "-X")
    extra["turn_id"] = extra["turn_id"].str.replace("-T", "-X")
    segs = pd.concat([workshop, extra], ignore_index=True)
    e = E.detect_endorsements(segs, RECS)
    mx = E.group_matrix(e, segs, RECS).set_index(["rec_id", "group_code"])
    assert mx.loc[("W1-R02", "DEC"), "position"] == "s'oppose"
    # FDS on R01: FDS-01 for, FDS-03 against → tie
    assert mx.loc[("W1-R01", "FDS"), "position"] == "partagé"
    assert mx.loc[("W1-R01", "FDS"), ["n_support", "n_oppose"]].tolist() == [1, 1]
    assert mx.loc[("W1-R02", "OSC"), "position"] == "partagé"
    assert mx.loc[("W1-R02", "FDS"), "position"] == "soutient"  # FDS-02 by paraphrase
    assert mx.loc[("W1-R03", "JUS"), "position"] == "non discuté"
    assert "FAC" not in set(mx.index.get_level_values("group_code"))
    assert set(mx["position"]) <= {"soutient", "s'oppose", "partagé", "non discuté"}
    for g in ("DEC", "FDS", "OSC", "JUS"):  # every group present, every recommendation
        assert ("W1-R04", g) in mx.index
    assert mx.loc[("W1-R01", "FDS"), "segment_ids"].count("W1-") == 2


def test_endorsements_contested_text_gives_no_support():
    """R12-style: « position contestée par l'élu présent » is a note, not DEC's support."""
    assert E.contested_note(RECS.loc[1, "text"]) == "position contestée par l'élu présent"
    assert E.contested_note("Groupes d'autodéfense : dialogue (désaccord noté : des maires "
                            "demandent leur encadrement).").startswith("désaccord noté")
    assert E.contested_note(RECS.loc[0, "text"]) == ""
    segs = _segments([("DEC-01", "DEC", ["Le marché de la commune a rouvert hier matin."]),
                      ("FDS-01", "FDS", ["La météo était bonne pendant la tournée."])])
    e = E.detect_endorsements(segs, RECS)
    mx = E.group_matrix(e, segs, RECS).set_index(["rec_id", "group_code"])
    assert mx.loc[("W1-R02", "DEC"), "position"] == "non discuté"
    assert mx.loc[("W1-R02", "DEC"), "contested_note"].startswith("position contestée")
    assert mx.loc[("W1-R01", "DEC"), "contested_note"] == ""


def test_endorsements_only_own_workshop():
    segs = _segments([("OSC-01", "OSC", ["Je soutiens la recommandation 1."])], workshop="W2")
    assert E.detect_endorsements(segs, RECS).empty


def test_endorsements_deterministic_and_inputs_unchanged(workshop):
    before_s, before_r = workshop.copy(), RECS.copy()
    a = E.detect_endorsements(workshop, RECS)
    b = E.detect_endorsements(workshop.sample(frac=1, random_state=3),
                              RECS.sample(frac=1, random_state=4))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(workshop, before_s)
    pd.testing.assert_frame_equal(RECS, before_r)
    assert list(a.columns[:8]) == ["rec_id", "speaker", "stakeholder_group", "group_code",
                                   "stance", "segment_ids", "method", "confidence"]


def test_endorsements_threshold_behaviour(workshop):
    hi = E.segment_matches(workshop, RECS, paraphrase_threshold=0.99)
    assert set(hi["method"]) <= {"numéro"}  # only references by number survive
    lo = E.segment_matches(workshop, RECS, paraphrase_threshold=0.05)
    assert (lo["method"] == "paraphrase").sum() > (hi["method"] == "paraphrase").sum()


def test_endorsements_empty_inputs():
    empty = pd.DataFrame(columns=["segment_id", "turn_id", "workshop_id", "seg_n", "speaker",
                                  "stakeholder_group", "group_code", "is_facilitator", "text",
                                  "lemmas"])
    e = E.detect_endorsements(empty, RECS)
    assert e.empty and list(e.columns) == E.ENDORSEMENT_COLS
    assert E.group_matrix(e, empty, RECS).empty


def test_endorsements_answer_to_a_facilitator_proposal():
    segs = _segments([
        ("FAC-01", "FAC", ["Je propose d'écrire : publier chaque année la liste officielle des "
                           "postes de contrôle autorisés et supprimer les postes illégaux.",
                           "Est-ce acceptable ?"]),
        ("DEC-01", "DEC", ["D'accord.", "Nous pouvons vivre avec ça."]),
        ("OSC-01", "OSC", ["Je refuse, c'est trop timide."]),
    ])
    e = E.detect_endorsements(segs, RECS).set_index("speaker")
    assert e.loc["DEC-01", "rec_id"] == "W1-R01" and e.loc["DEC-01", "method"] == "réponse"
    assert e.loc["DEC-01", "stance"] == "soutient"
    assert e.loc["OSC-01", "stance"] == "s'oppose"
    assert "FAC-01" not in e.index
    alone = _segments([("FAC-01", "FAC", ["Passons à la pause café."]),
                       ("DEC-01", "DEC", ["D'accord."])])
    assert E.detect_endorsements(alone, RECS).empty  # nothing proposed: no answer
