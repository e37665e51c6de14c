"""Positions, not mentions: stances per speaker, group majorities, agreement vs salience."""

from __future__ import annotations

import pandas as pd
import pytest

from consultations.compare.consensus import consensus_table
from consultations.compare.groups import code_group_counts, code_presence, speaker_group_tests
from consultations.compare.positions import (
    group_positions,
    position_questions,
    position_summary,
    speaker_positions,
)
from consultations.evidence.decisions import open_decisions, position_quotes
from consultations.evidence.grades import (
    PREAMBLE,
    evidence_by_theme,
    quote_candidates,
    select_quotes,
)
from consultations.report.brief import brief_text, build_brief

GROUPS = {"FDS": "Forces de défense et de sécurité", "DEC": "Acteurs de la décentralisation",
          "OSC": "Organisations de la société civile", "PTF": "Partenaires internationaux"}

CODEBOOK = pd.DataFrame({
    "code_id": ["MIL", "MIL.INT", "MIL.DES", "LOG"],
    "label": ["Milices", "Intégrer", "Désarmer", "Logistique"],
    "definition": ["Milices.", "Intégrer.", "Désarmer.", "Moyens."],
    "parent": [None, "MIL", "MIL", None],
    "position": ["", "intégrer", "désarmer", ""],
    "axis": ["A3", "A3", "A3", "A5"],
})


def _seg(sid, spk, text, ws="W1"):
    g = spk.split("-")[0]
    turn = sid.rsplit("-", 1)[0]
    return {"segment_id": sid, "turn_id": turn, "workshop_id": ws,
            "seg_n": int(sid[-2:]), "speaker": spk, "stakeholder_group": GROUPS[g],
            "group_code": g, "is_facilitator": False, "text": text,
            "lemmas": text.lower(), "n_words": len(text.split()), "source_file": "a.txt",
            "line_start": int(sid[4:7]), "line_end": int(sid[4:7]), "char_start": 0,
            "char_end": len(text)}


def _coding(sid, code, source="manual", coder="A", evidence="", matched=""):
    return {"segment_id": sid, "code_id": code, "source": source, "coder": coder,
            "codebook_version": "t", "evidence": evidence, "matched_text": matched,
            "negated": False, "note": "", "origin_file": "", "origin_line": pd.NA}


@pytest.fixture()
def corpus():
    """Three groups of three speakers or more; DEC for integration, FDS and OSC against."""
    segs, cods = [], []
    plan = {"DEC": ["MIL.INT", "MIL.INT", "MIL.INT"], "FDS": ["MIL.DES", "MIL.DES", "MIL.DES"],
            "OSC": ["MIL.DES", "MIL.DES", "MIL.INT", "MIL.DES"]}
    t = 1
    for g, stances in plan.items():
        for i, st in enumerate(stances, start=1):
            sid = f"W1-T{t:03d}-S01"
            segs.append(_seg(sid, f"{g}-{i:02d}", f"Sur les milices, je suis pour {st}."))
            cods.append(_coding(sid, st))
            t += 1
    # one PTF speaker only: a small group, strongly for integration
    segs.append(_seg(f"W1-T{t:03d}-S01", "PTF-01", "Il faut intégrer les milices, vraiment."))
    cods.append(_coding(f"W1-T{t:03d}-S01", "MIL.INT"))
    return pd.DataFrame(segs), pd.DataFrame(cods)


def test_positions_questions_from_codebook():
    assert position_questions(CODEBOOK) == {"MIL": ["MIL.DES", "MIL.INT"]}
    assert position_questions(CODEBOOK.drop(columns="position")) == {}


def test_positions_group_majorities_and_contested(corpus):
    segs, cods = corpus
    pos = speaker_positions(segs, cods, CODEBOOK)
    assert len(pos) == 11 and pos["verified"].all()
    gp = group_positions(pos, segs, CODEBOOK)
    maj = gp.set_index("group_code")["majority"].to_dict()
    assert maj == {"DEC": "MIL.INT", "FDS": "MIL.DES", "OSC": "MIL.DES", "PTF": "partagé"}
    assert gp.set_index("group_code").loc["OSC", "n_MIL.DES"] == 3
    assert (gp["classification"] == "contesté").all()
    # a small group (one speaker) is flagged and never counted as holding a majority
    assert gp.set_index("group_code").loc["PTF", "small_group"]


def test_positions_group_never_on_both_sides(corpus):
    segs, cods = corpus
    # OSC: two speakers each way → « partagé », never both options
    cods = cods.copy()
    osc = segs.loc[segs["group_code"] == "OSC", "segment_id"].tolist()
    cods.loc[cods["segment_id"] == osc[0], "code_id"] = "MIL.INT"  # 2 for, 2 against
    gp = group_positions(speaker_positions(segs, cods, CODEBOOK), segs, CODEBOOK)
    assert gp.set_index("group_code").loc["OSC", "majority"] == "partagé"
    for _, g in gp.groupby("group_code"):
        assert len(set(g["majority"])) == 1


def test_positions_majority_needs_two_speakers_and_a_margin(corpus):
    segs, cods = corpus
    keep = segs["speaker"].isin(["FDS-01", "DEC-01", "DEC-02", "DEC-03"])
    segs2 = segs[keep | segs["group_code"].isin(["OSC"])]
    cods2 = cods[cods["segment_id"].isin(segs2["segment_id"])]
    gp = group_positions(speaker_positions(segs2, cods2, CODEBOOK), segs, CODEBOOK)
    assert gp.set_index("group_code").loc["FDS", "majority"] == "partagé"  # one speaker only


def test_positions_last_stance_counts_history_kept(corpus):
    segs, cods = corpus
    extra = _seg("W1-T001-S02", "DEC-01", "Finalement, il faut les désarmer.")
    segs = pd.concat([segs, pd.DataFrame([extra])], ignore_index=True)
    cods = pd.concat([cods, pd.DataFrame([_coding("W1-T001-S02", "MIL.DES")])])
    pos = speaker_positions(segs, cods, CODEBOOK).set_index("speaker")
    assert pos.loc["DEC-01", "stance"] == "MIL.DES"
    assert pos.loc["DEC-01", "history"] == "MIL.INT → MIL.DES"
    assert pos.loc["DEC-01", "segment_ids"] == "W1-T001-S01, W1-T001-S02"


def test_positions_coders_disagreeing_leave_it_to_check(corpus):
    segs, cods = corpus
    sid = segs.loc[segs["speaker"] == "FDS-01", "segment_id"].item()
    cods = pd.concat([cods, pd.DataFrame([_coding(sid, "MIL.INT", coder="B")])])
    pos = speaker_positions(segs, cods, CODEBOOK).set_index("speaker")
    assert pos.loc["FDS-01", "status"] == "à vérifier" and not pos.loc["FDS-01", "verified"]


@pytest.mark.parametrize("text,matched,expected", [
    # the three sample sentences: arguments AGAINST the option the keywords name
    ("Intégrer les milices, c'est légaliser des armes dans nos villages.",
     "Intégrer les milices", "MIL.DES"),
    ("Vous voulez les désarmer, je demande : et après, qui protège ?", "désarmer", "MIL.INT"),
])
def test_positions_automatic_stance_reads_direction(corpus, text, matched, expected):
    segs, cods = corpus
    seg = _seg("W1-T099-S01", "DEC-09", text)
    segs = pd.concat([segs, pd.DataFrame([seg])], ignore_index=True)
    code = "MIL.INT" if matched.lower().startswith("intégr") else "MIL.DES"
    cods = pd.concat([cods, pd.DataFrame([_coding("W1-T099-S01", code, "rule", "règles",
                                                  "motif", matched)])])
    pos = speaker_positions(segs, cods, CODEBOOK).set_index("speaker")
    row = pos.loc["DEC-09"]
    assert row["source"] == "automatique" and not row["verified"]
    assert row["stance"] == expected or row["status"] == "à vérifier"
    assert row["stance"] != code or row["status"] == "à vérifier"


def test_positions_unconfident_stance_never_counted(corpus):
    segs, cods = corpus
    pos = speaker_positions(segs, cods, CODEBOOK)
    pos.loc[pos["speaker"] == "FDS-01", ["status", "verified", "confidence"]] = \
        ["à vérifier", False, 0.3]
    gp = group_positions(pos, segs, CODEBOOK).set_index("group_code")
    assert gp.loc["FDS", "n_MIL.DES"] == 2 and gp.loc["FDS", "n_a_verifier"] == 1


def test_positions_consensus_when_all_stated_majorities_agree(corpus):
    segs, cods = corpus
    cods = cods.copy()
    cods["code_id"] = "MIL.DES"
    gp = group_positions(speaker_positions(segs, cods, CODEBOOK), segs, CODEBOOK)
    assert set(gp["classification"]) == {"consensus"}


def test_positions_salience_is_not_consensus():
    counts = pd.DataFrame({
        "code_id": ["LOG"] * 3, "label": ["Logistique"] * 3, "group_code": ["A", "B", "C"],
        "stakeholder_group": ["A", "B", "C"], "n_segments": [5, 5, 5], "n_speakers": [3, 3, 3],
        "group_segments": [50, 50, 50], "rate_segments": [0.1, 0.1, 0.1],
        "group_speakers": [5, 5, 5]})
    cons = consensus_table(counts, CODEBOOK)
    row = cons.iloc[0]
    assert row["salience"] == "tous les groupes"
    assert row["agreement"].startswith("non mesuré") and row["classification"] != "consensus"


def test_positions_speaker_level_test_ignores_one_talkative_speaker():
    """30 sentences by one FDS speaker are one speaker, not 30 independent observations."""
    segs = []
    for g in ("FDS", "OSC"):
        for i in range(1, 6):
            n = 31 if (g == "FDS" and i == 1) else 1
            for k in range(1, n + 1):
                segs.append(_seg(f"W1-T{i + (10 if g == 'OSC' else 0):03d}-S{k:02d}",
                                 f"{g}-{i:02d}", "Il manque des véhicules."))
    segs = pd.DataFrame(segs)
    fds1 = segs.loc[segs["speaker"] == "FDS-01", "segment_id"]
    osc1 = segs.loc[segs["speaker"] == "OSC-01", "segment_id"]
    pres = pd.DataFrame({"segment_id": list(fds1) + list(osc1), "code_id": "LOG"})
    tests, _ = speaker_group_tests(segs, pres, CODEBOOK, n_resamples=999, seed=1)
    row = tests.set_index("code_id").loc["LOG"]
    assert row["unit"] == "intervenants" and not row["significant"]
    assert row["p_value"] > 0.5


def test_positions_small_group_never_tested_or_headlined(corpus):
    segs, cods = corpus
    pres = code_presence(cods, CODEBOOK)
    tests, resid = speaker_group_tests(segs, pres, CODEBOOK, n_resamples=199)
    assert "PTF" not in set(resid["group_code"])
    assert (tests["small_groups_excluded"] == "PTF").all()


def _tables(segs, cods, codebook=CODEBOOK):
    pos = speaker_positions(segs, cods, codebook)
    gp = group_positions(pos, segs, codebook)
    summ = position_summary(gp, pos, codebook)
    counts = code_group_counts(segs, code_presence(cods, codebook), codebook)
    agreement = dict(zip(summ["question"], summ["classification"], strict=True))
    cons = consensus_table(counts, codebook, agreement=agreement, min_group_speakers=3)
    tests, resid = speaker_group_tests(segs, code_presence(cods, codebook), codebook,
                                       n_resamples=99)
    t = {"segments": segs, "codings": cods, "codebook": codebook, "positions": pos,
         "group_positions": gp, "position_summary": summ, "consensus": cons,
         "code_group_counts": counts, "code_group_tests": tests,
         "code_group_residuals": resid,
         "open_decisions": open_decisions(summ, gp, pos, codebook),
         "position_quotes": position_quotes(pos, gp, segs, codebook)}
    t["evidence_by_theme"] = evidence_by_theme(t, code_presence(cods, codebook))
    return t


def test_positions_brief_states_who_holds_what(corpus):
    segs, cods = corpus
    text = brief_text(build_brief(_tables(segs, cods)))
    assert "Ce qui est contesté" in text and "Décisions à trancher" in text
    assert "« intégrer » (MIL.INT) — majorité de : DEC" in text
    assert "« désarmer » (MIL.DES) — majorité de : FDS, OSC" in text
    assert "Pour « intégrer »" in text and "Pour « désarmer »" in text
    assert "PTF : moins de trois intervenants" in text
    # the one-speaker group never makes a majority in the brief
    assert "majorité de : DEC, PTF" not in text and "majorité de : PTF" not in text


def test_positions_brief_without_position_codes_says_so(corpus):
    segs, cods = corpus
    cb = CODEBOOK.assign(position="")
    text = brief_text(build_brief(_tables(segs, cods, cb)))
    assert "ne peuvent pas être détectés" in text and "« position »" in text
    # no heading left empty: « Ce qui fait accord » says why nothing is measured
    agreed = text.split("Ce qui fait accord", 1)[1].split("Ce qui est contesté", 1)[0]
    assert "Accord sur les positions non mesurable" in agreed


def test_positions_brief_without_axes_has_theme_sections(corpus):
    segs, cods = corpus
    cb = CODEBOOK.assign(axis="")
    t = _tables(segs, cods, cb)
    text = brief_text(build_brief(t))
    assert "2. Par thème" in text and "axe ." not in text.lower()


def test_positions_quotes_state_their_option_and_skip_preambles(corpus):
    segs, cods = corpus
    pre = _seg("W1-T098-S01", "FDS-02", "Pour les milices, je veux dire une chose.")
    against = _seg("W1-T097-S01", "FDS-03", "Intégrer les milices serait une erreur grave "
                                            "pour tout le pays.")
    segs = pd.concat([segs, pd.DataFrame([pre, against])], ignore_index=True)
    cods = pd.concat([cods, pd.DataFrame([
        _coding("W1-T098-S01", "MIL", "rule", "règles", "kw", "milices"),
        _coding("W1-T097-S01", "MIL.INT", "rule", "règles", "kw", "Intégrer les milices")])])
    assert PREAMBLE.match("Pour les milices, je veux dire une chose.")
    pos = speaker_positions(segs, cods, CODEBOOK)
    qc = quote_candidates(cods, CODEBOOK, pos)
    q = select_quotes(segs, qc, n_quotes=3, quote_words=(1, 60), order=["MIL", "MIL.INT"])
    assert "W1-T098-S01" not in set(q["segment_id"])  # a preamble is never a quote
    assert "W1-T097-S01" not in set(q.loc[q["code_id"] == "MIL.INT", "segment_id"])
    assert not q["segment_id"].duplicated().any()  # one quote serves one theme
