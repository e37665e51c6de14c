"""Tests of consultations.evidence.grades: theme and axis tables, quotes, strength grades."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from consultations.core.config import Settings
from consultations.core.schema import TABLES
from consultations.evidence import grades as evidence

SMALL_OK = Settings(extra={"compare": {"min_group_speakers": 2}})


def _corpus():
    """Three groups over three workshops; a 'SEC' theme everyone raises, a contested 'MIL'."""
    groups = {"FDS": "Forces de défense et de sécurité",
              "OSC": "Organisations de la société civile",
              "DEC": "Acteurs de la décentralisation", "FAC": "Facilitation"}
    texts = {
        "SEC": "la sécurité du quartier demande des patrouilles régulières de police la nuit",
        "MIL.INT": "il faut intégrer les milices locales dans les forces de défense du pays",
        "MIL.DES": "il faut désarmer les milices locales avant tout dialogue avec elles ici",
    }
    plan = [  # (workshop, speaker, code)
        ("W1", "FDS-01", "SEC"), ("W1", "FDS-02", "SEC"), ("W2", "FDS-03", "SEC"),
        ("W1", "OSC-01", "SEC"), ("W3", "OSC-02", "SEC"), ("W2", "DEC-01", "SEC"),
        ("W3", "DEC-02", "SEC"), ("W2", "FDS-03", "MIL.INT"), ("W3", "DEC-02", "MIL.INT"),
        ("W1", "OSC-01", "MIL.DES"), ("W3", "OSC-02", "MIL.DES"), ("W1", "FAC-01", "SEC"),
        ("W2", "OSC-03", None),
    ]
    segs, cods = [], []
    for i, (ws, spk, code) in enumerate(plan, start=1):
        sid = f"{ws}-T{i:03d}-S01"
        g = spk[:3]
        text = f"{texts.get(code, 'merci pour cette occasion de parler ensemble')} ({spk})."
        if i == 2:
            text = "Sécurité."  # too short to be quoted
        segs.append({"segment_id": sid, "turn_id": sid[:-4], "workshop_id": ws, "seg_n": 1,
                     "speaker": spk, "stakeholder_group": groups[g], "group_code": g,
                     "is_facilitator": g == "FAC", "text": text,
                     "lemmas": text.lower().strip(".").replace("(", "").replace(")", ""),
                     "n_words": len(text.split()), "source_file": f"{ws}.txt",
                     "line_start": 10 + i, "line_end": 10 + i, "char_start": 0,
                     "char_end": len(text)})
        if code:
            cods.append({"segment_id": sid, "code_id": code, "source": "rule",
                         "coder": "règles", "negated": False,
                         "matched_text": {"SEC": "sécurité", "MIL.INT": "intégrer les milices",
                                          "MIL.DES": "désarmer les milices"}[code]})
    cb = pd.DataFrame({
        "code_id": ["SEC", "MIL", "MIL.INT", "MIL.DES", "UNUSED"],
        "label": ["Sécurité", "Milices", "Intégrer les milices", "Désarmer les milices",
                  "Jamais codé"],
        "definition": ["Déf. sécurité", "Déf. milices", "Déf. intégrer", "Déf. désarmer",
                       "Déf. jamais"],
        "include": "", "exclude": "", "parent": [None, None, "MIL", "MIL", None],
        "axis": ["A1", "A2", "A2", "A2", ""], "keywords": ["sécurité", "milice", "intégrer",
                                                          "désarmer", ""],
        "examples": "", "line": range(5), "position": ["", "", "intégrer", "désarmer", ""]})
    axes = pd.DataFrame({"axis": ["A1", "A2"], "axis_label": ["Sécurité de proximité",
                                                              "Milices et groupes armés"]})
    recs = pd.DataFrame({"rec_id": ["W1-R01", "W3-R01"], "workshop_id": ["W1", "W3"],
                         "rec_n": [1, 1], "text": ["Désarmer les milices.",
                                                   "Désarmer toutes les milices."],
                         "source_file": "r.txt", "line_start": 1, "line_end": 1})
    return {"segments": pd.DataFrame(segs), "codings": pd.DataFrame(cods), "codebook": cb,
            "axes": axes, "recommendations": recs,
            "agreement": pd.DataFrame({"code_id": ["SEC", "MIL.INT"], "alpha": [0.9, 0.5],
                                       "kappa": [0.9, 0.5]})}


@pytest.fixture(scope="module")
def out():
    # groups of two speakers count here (the default leaves groups under three out)
    return evidence.run_stage(_corpus(), None, SMALL_OK)


@pytest.mark.parametrize("args, alpha, expected", [
    ((3, 3, 6, 10), None, "fort"), ((3, 3, 6, 10), 0.9, "fort"),
    ((3, 3, 6, 10), 0.7, "moyen"), ((3, 3, 6, 10), 0.5, "faible"),
    ((3, 3, 5, 10), None, "moyen"), ((2, 2, 3, 5), None, "moyen"),
    ((2, 1, 3, 5), None, "faible"), ((1, 5, 9, 50), math.nan, "faible"),
    ((0, 0, 0, 0), None, "faible"),
])
def test_evidence_grade_follows_rule(args, alpha, expected):
    level, reason = evidence.grade(*args, alpha=alpha)
    assert level == expected
    # « 1 groupe, 5 ateliers »: singular at 0 or 1, as French writes it
    words = ("groupe", "atelier", "intervenant", "segment")
    facts = reason.split(" → ")[0].split(", ")
    assert facts == [f"{n} {w}{'s' if n > 1 else ''}" for n, w in zip(args, words, strict=True)]
    if alpha is None or (isinstance(alpha, float) and math.isnan(alpha)):
        assert "non mesurée" in reason


def test_evidence_tables_follow_contract(out):
    for name in ("evidence_by_theme", "evidence_quotes", "evidence_by_axis"):
        cols = list(out[name].columns[:len(TABLES[name])])
        assert cols == TABLES[name], name


def test_evidence_every_quote_resolves(out):
    segs = _corpus()["segments"].set_index("segment_id")
    q = out["evidence_quotes"]
    assert len(q) > 0
    for r in q.itertuples():
        s = segs.loc[r.segment_id]
        assert r.text in s["text"]
        assert (r.workshop_id, r.source_file, r.line_start, r.speaker) == (
            s["workshop_id"], s["source_file"], s["line_start"], s["speaker"])
        assert not s["is_facilitator"]
        assert 8 <= s["n_words"] <= 60  # "Sécurité." is too short


def test_evidence_quotes_come_from_different_groups(out):
    q = out["evidence_quotes"]
    sec = q[q["code_id"] == "SEC"]
    assert len(sec) == 3 and sec["group_code"].nunique() == 3
    assert list(sec["rank"]) == [1, 2, 3]
    mil = q[q["code_id"] == "MIL"]
    assert mil["group_code"].nunique() == 3  # integrate: FDS, DEC; disarm: OSC
    assert "UNUSED" not in set(q["code_id"])


def test_evidence_quote_ties_broken_by_segment_id():
    c = _corpus()
    segs = c["segments"]
    # identical texts → identical centrality: the smallest segment_id wins
    segs.loc[segs["group_code"] == "FDS", ["text", "lemmas"]] = [
        "la sécurité du quartier demande des patrouilles régulières", "la sécurité du "
        "quartier demande des patrouilles régulières"]
    from consultations.compare.groups import code_presence

    pres = code_presence(c["codings"], c["codebook"])
    q = evidence.select_quotes(segs.assign(n_words=8), pres)
    fds = q[(q["code_id"] == "SEC") & (q["group_code"] == "FDS")]
    assert fds["segment_id"].iloc[0] == min(
        segs.loc[(segs["group_code"] == "FDS") & segs["segment_id"].isin(
            pres.loc[pres["code_id"] == "SEC", "segment_id"]), "segment_id"])


def test_evidence_by_theme_rows(out):
    t = out["evidence_by_theme"].set_index("code_id")
    assert set(t.index) == {"SEC", "MIL", "MIL.INT", "MIL.DES", "UNUSED"}
    sec = t.loc["SEC"]
    assert (sec.n_segments, sec.n_speakers, sec.n_workshops, sec.n_groups) == (7, 7, 3, 3)
    # 3 groups, 3 workshops, 7 speakers but 7 < 10 segments: moyen by the rule
    # every group raises it: salience « tous les groupes », never called a consensus
    assert sec.consensus_class == "tous les groupes" and sec.salience == "tous les groupes"
    assert sec.strength == "moyen"
    strict = evidence.run_stage(_corpus(), None, Settings(extra={
        "compare": {"min_group_speakers": 2}, "evidence": {"strength": {
            "fort": {"n_groups": 3, "n_workshops": 3, "n_speakers": 6, "n_segments": 7}}}}))
    # « fort » by breadth, but every coding is automatic and unverified: at most « moyen »
    row = strict["evidence_by_theme"].set_index("code_id").loc["SEC"]
    assert row["strength"] == "moyen" and "codage automatique seul" in row["strength_reason"]
    assert sec.agreement_alpha == pytest.approx(0.9)
    assert sec.axis_label == "Sécurité de proximité"
    # OSC's two speakers disarm; FDS and DEC have one speaker each for integration: no
    # majority there, so the question is « partagé », not « contesté »
    assert t.loc["MIL", "consensus_class"] == "partagé"
    assert t.loc["MIL.INT", "strength"] == "faible"
    assert "alpha = 0,50" in t.loc["MIL.INT", "strength_reason"]
    assert t.loc["UNUSED", "n_segments"] == 0 and t.loc["UNUSED", "strength"] == "faible"
    assert t.loc["MIL.DES", "rec_clusters"].startswith("R01 (2 ateliers)")
    assert t.loc["MIL", "rec_clusters"].startswith("R01")  # rolled up from the child
    assert t.loc["SEC", "group_rates"].count("%") == 3
    for s in t["strength"]:
        assert s in {"fort", "moyen", "faible"}


def test_evidence_by_axis(out):
    a = out["evidence_by_axis"].set_index("axis")
    assert list(a.index) == ["A1", "A2"]
    assert a.loc["A2", "axis_label"] == "Milices et groupes armés"
    assert a.loc["A2", "position_holders"] == "« Désarmer les milices » : OSC"
    assert "R01" in a.loc["A2", "recommendations"]
    assert a.loc["A1", "opposing_groups"] == "aucune position opposée codée"
    assert a.loc["A1", "strength"] == "moyen"  # the best of its codes (SEC)


def test_evidence_without_optional_tables():
    c = _corpus()
    for k in ("axes", "agreement", "recommendations"):
        c.pop(k)
    res = evidence.run_stage(c, None, Settings())
    t = res["evidence_by_theme"]
    assert t["agreement_alpha"].isna().all()
    assert t["strength_reason"].str.contains("non mesurée").all()
    assert (t["rec_clusters"] == "").all()
    assert t.loc[t["code_id"] == "MIL", "axis_label"].iloc[0] == "A2"


def test_evidence_uses_intercoder_alpha_not_rule_rows():
    corpus = _corpus()
    corpus["agreement"] = pd.DataFrame({
        "comparison": ["intercodeurs", "règles vs codeur_B"], "code_id": ["SEC", "SEC"],
        "alpha": [0.9, 0.1], "kappa": [0.9, 0.1]})
    t = evidence.run_stage(corpus, None, Settings())["evidence_by_theme"].set_index("code_id")
    assert t.loc["SEC", "agreement_alpha"] == pytest.approx(0.9)
