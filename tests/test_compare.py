"""Tests of consultations.compare.groups: matrices, tests, log-odds, consensus (+ Pol.is check)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from consultations.compare import consensus, distinctive
from consultations.compare import groups as compare
from consultations.core.config import Settings

G = {"FDS": "Forces de défense et de sécurité", "OSC": "Organisations de la société civile",
     "DEC": "Acteurs de la décentralisation", "FAC": "Facilitation"}

# (segment_id, workshop, speaker, text, codes) — codes are non-negated rule codings.
ROWS = [
    ("W1-T001-S01", "W1", "FAC-01", "Nous parlons des véhicules et du racket.",
     ["SEC.LOG", "SEC.RACK"]),
    ("W1-T002-S01", "W1", "FDS-01", "Nous manquons de véhicules et de carburant pour les "
     "patrouilles.", ["SEC.LOG"]),
    ("W1-T002-S02", "W1", "FDS-01", "Les véhicules sont en panne depuis des mois.",
     ["SEC.LOG"]),
    ("W2-T001-S01", "W2", "FDS-02", "Le carburant manque pour les patrouilles de nuit.",
     ["SEC.LOG"]),
    ("W2-T001-S02", "W2", "FDS-02", "Il faut intégrer les milices dans l'armée.", ["MIL.INT"]),
    ("W1-T003-S01", "W1", "OSC-01", "Le racket aux postes de contrôle détruit la confiance.",
     ["SEC.RACK"]),
    ("W1-T003-S02", "W1", "OSC-01", "Les femmes ne sont pas écoutées.", []),
    ("W2-T002-S01", "W2", "OSC-02", "Les policiers rackettent les commerçants au poste.",
     ["SEC.RACK"]),
    ("W2-T003-S01", "W2", "OSC-03", "Il faut désarmer les milices avant tout dialogue.",
     ["MIL.DES"]),
    ("W2-T003-S02", "W2", "OSC-03", "Les véhicules manquent aussi.", ["SEC.LOG"]),
    ("W1-T004-S01", "W1", "DEC-01", "Le maire doit présider le comité local.", []),
    ("W1-T004-S02", "W1", "DEC-01", "Il faut intégrer les milices locales.", ["MIL.INT"]),
]


def make_segments(rows=ROWS) -> pd.DataFrame:
    recs = []
    for sid, ws, spk, text, _ in rows:
        g = spk.split("-")[0]
        recs.append({"segment_id": sid, "turn_id": sid[:-4], "workshop_id": ws,
                     "seg_n": int(sid[-2:]), "speaker": spk, "stakeholder_group": G[g],
                     "group_code": g, "is_facilitator": g == "FAC", "text": text,
                     "lemmas": text.lower().replace(".", "").replace("'", " "),
                     "n_words": len(text.split()), "source_file": f"{ws.lower()}.txt",
                     "line_start": 1, "line_end": 1, "char_start": 0,
                     "char_end": len(text)})
    return pd.DataFrame(recs)


def make_codebook() -> pd.DataFrame:
    rows = [
        ("SEC", "Sécurité", None, "", ""), ("SEC.LOG", "Logistique", "SEC", "", "véhicule"),
        ("SEC.RACK", "Racket", "SEC", "", "racket"), ("MIL", "Milices", None, "", "milice"),
        ("MIL.INT", "Intégrer les milices", "MIL", "intégrer", "intégrer"),
        ("MIL.DES", "Désarmer les milices", "MIL", "désarmer", "désarmer"),
        ("UNUSED", "Thème jamais codé", None, "", ""),
    ]
    df = pd.DataFrame(rows, columns=["code_id", "label", "parent", "position", "keywords"])
    df["definition"] = "Définition de " + df["label"]
    df["include"] = df["exclude"] = df["examples"] = ""
    df["axis"] = np.where(df["code_id"].str.startswith("MIL"), "A1", "")
    df["line"] = range(1, len(df) + 1)
    return df


def make_codings(rows=ROWS) -> pd.DataFrame:
    recs = [{"segment_id": sid, "code_id": c, "source": "rule", "coder": "règles",
             "negated": False} for sid, _, _, _, codes in rows for c in codes]
    # A negated match must not count: DEC-01 says the racket is *not* a problem.
    recs.append({"segment_id": "W1-T004-S01", "code_id": "SEC.RACK", "source": "rule",
                 "coder": "règles", "negated": True})
    return pd.DataFrame(recs)


@pytest.fixture()
def corpus():
    return {"segments": make_segments(), "codebook": make_codebook(), "codings": make_codings()}


def _counts(corpus):
    pres = compare.code_presence(corpus["codings"], corpus["codebook"])
    return compare.code_group_counts(corpus["segments"], pres, corpus["codebook"])


def test_compare_presence_rolls_up_and_ignores_negated(corpus):
    pres = compare.code_presence(corpus["codings"], corpus["codebook"])
    pairs = set(map(tuple, pres.to_numpy()))
    assert ("W1-T002-S01", "SEC") in pairs          # parent of SEC.LOG
    assert ("W1-T004-S01", "SEC.RACK") not in pairs  # negated
    assert ("W1-T004-S01", "SEC") not in pairs
    assert len(pres) == len(pres.drop_duplicates())


def test_compare_matrices_equal_hand_counts(corpus):
    before = corpus["segments"].copy()
    c = _counts(corpus).set_index(["code_id", "group_code"])
    pd.testing.assert_frame_equal(corpus["segments"], before)  # input not mutated
    assert "FAC" not in c.index.get_level_values("group_code")
    log_fds = c.loc[("SEC.LOG", "FDS")]
    assert (log_fds.n_segments, log_fds.n_speakers, log_fds.n_workshops) == (3, 2, 2)
    assert log_fds.group_segments == 4
    words_fds = sum(len(r[3].split()) for r in ROWS if r[2].startswith("FDS"))
    assert log_fds.group_words == words_fds
    assert log_fds.rate_segments == pytest.approx(3 / 4)
    assert log_fds.per_1000_words == pytest.approx(1000 * 3 / words_fds)
    sec_osc = c.loc[("SEC", "OSC")]  # 2 racket + 1 logistics, 3 speakers, 2 workshops
    assert (sec_osc.n_segments, sec_osc.n_speakers, sec_osc.n_workshops) == (3, 3, 2)
    assert c.loc[("SEC", "DEC")].n_segments == 0  # only a negated coding
    assert c.loc[("UNUSED", "OSC")].n_segments == 0  # unused code still listed
    assert c.loc[("MIL", "DEC")].rate_segments == pytest.approx(1 / 2)


def test_compare_group_without_coded_segments_is_listed(corpus):
    extra = pd.DataFrame({"group_code": ["JUS"], "stakeholder_group": ["Secteur de la justice"]})
    pres = compare.code_presence(corpus["codings"], corpus["codebook"])
    c = compare.code_group_counts(corpus["segments"], pres, corpus["codebook"], groups=extra)
    jus = c[c["group_code"] == "JUS"]
    assert len(jus) == len(corpus["codebook"]) and (jus["n_segments"] == 0).all()
    assert jus["rate_segments"].isna().all()
    tests, _ = compare.code_group_tests(c)
    assert (tests["n_groups_tested"] <= 3).all()  # JUS, with no segment, is not tested


def _synthetic_counts():
    present = {"A": [30, 10, 20], "B": [5, 6, 7], "C": [50, 20, 22], "D": [0, 0, 0]}
    totals = [100, 120, 90]
    rows = []
    for code, ns in present.items():
        for g, n, t in zip(["DEC", "FDS", "OSC"], ns, totals, strict=True):
            rows.append({"code_id": code, "label": code, "group_code": g,
                         "stakeholder_group": g, "n_segments": n, "n_speakers": n,
                         "n_workshops": 1, "group_segments": t, "group_words": 10 * t,
                         "rate_segments": n / t, "per_1000_words": 100 * n / t})
    return pd.DataFrame(rows), present, totals


def test_compare_chi2_and_bh_equal_scipy_statsmodels():
    counts, present, totals = _synthetic_counts()
    tests, resid = compare.code_group_tests(counts)
    t = tests.set_index("code_id")
    pvals = []
    for code in ("A", "B", "C"):
        table = np.array([present[code], np.array(totals) - present[code]])
        ref = stats.chi2_contingency(table, correction=False)
        assert t.loc[code, "chi2"] == pytest.approx(ref.statistic)
        assert t.loc[code, "dof"] == ref.dof
        assert t.loc[code, "p_value"] == pytest.approx(ref.pvalue)
        assert t.loc[code, "method"].startswith("khi-deux (asymptotique)")
        assert t.loc[code, "cramers_v"] == pytest.approx(
            stats.contingency.association(table, method="cramer"))
        # adjusted standardised residuals, Haberman's formula
        n, rows, cols = table.sum(), table.sum(axis=1), table.sum(axis=0)
        exp = ref.expected_freq
        adj = (table - exp) / np.sqrt(exp * (1 - rows[:, None] / n) * (1 - cols[None, :] / n))
        got = resid[resid["code_id"] == code].sort_values("group_code")["residual"]
        np.testing.assert_allclose(got.to_numpy(), adj[0])
        pvals.append(ref.pvalue)
    ref_adj = multipletests(pvals, method="fdr_bh")[1]
    np.testing.assert_allclose(t.loc[["A", "B", "C"], "p_adj"].to_numpy(), ref_adj)
    assert np.isnan(t.loc["D", "p_value"]) and "jamais" in t.loc["D", "warning"]
    assert t.loc["A", "significant"]
    assert "Le groupe DEC (DEC) évoque ce thème plus souvent que les autres (résidu ajusté +" \
        in t.loc["A", "interpretation"]
    assert "moins souvent" in t.loc["A", "interpretation"]


def test_compare_small_counts_use_monte_carlo_or_fisher(corpus):
    counts = _counts(corpus)
    tests, _ = compare.code_group_tests(counts, seed=7, n_resamples=999)
    log = tests.set_index("code_id").loc["SEC.LOG"]
    assert log["method"].startswith("khi-deux Monte-Carlo") and "prudence" in log["warning"]
    table = np.array([[0, 3, 1], [2, 1, 4]])  # DEC, FDS, OSC present/absent
    ref = stats.chi2_contingency(table, correction=False, method=stats.MonteCarloMethod(
        n_resamples=999, rng=compare._code_seed(7, "SEC.LOG")))
    assert log["p_value"] == pytest.approx(ref.pvalue)
    again, _ = compare.code_group_tests(counts, seed=7, n_resamples=999)
    pd.testing.assert_frame_equal(tests, again)
    two = counts[counts["group_code"].isin(["FDS", "OSC"])]
    t2 = compare.code_group_tests(two)[0].set_index("code_id").loc["SEC.LOG"]
    assert t2["method"] == "test exact de Fisher (2×2)"
    assert t2["p_value"] == pytest.approx(stats.fisher_exact([[3, 1], [1, 4]]).pvalue)


def test_compare_single_group_corpus_descriptive_only(corpus):
    segs = corpus["segments"]
    one = {"segments": segs[segs["group_code"].isin(["OSC", "FAC"])],
           "codebook": corpus["codebook"], "codings": corpus["codings"]}
    with pytest.warns(UserWarning, match="un seul groupe"):
        out = compare.run_stage(one, None, Settings())
    assert out["code_group_tests"]["p_value"].isna().all()
    assert out["code_group_tests"]["warning"].str.contains("Moins de deux groupes").all()
    assert out["code_group_counts"]["n_segments"].sum() > 0
    assert out["_summary"]["codes_tested"] == 0


def test_compare_log_odds_equals_hand_formula():
    yi = pd.Series({"milice": 10, "racket": 2, "route": 5})
    yj = pd.Series({"milice": 3, "racket": 12, "route": 5})
    prior = (yi + yj) * 0.5
    res = distinctive.log_odds_dirichlet(yi, yj, prior)
    a0, ni, nj = prior.sum(), yi.sum(), yj.sum()
    for w in yi.index:
        a = prior[w]
        d = (math.log((yi[w] + a) / (ni + a0 - yi[w] - a))
             - math.log((yj[w] + a) / (nj + a0 - yj[w] - a)))
        z = d / math.sqrt(1 / (yi[w] + a) + 1 / (yj[w] + a))
        assert res.loc[w, "log_odds"] == pytest.approx(d)
        assert res.loc[w, "z"] == pytest.approx(z)
    assert res.loc["milice", "z"] > 0 > res.loc["racket", "z"]


def test_compare_distinctive_terms_have_examples(corpus):
    terms = distinctive.distinctive_terms(corpus["segments"], min_count=2, top_n=5)
    assert set(terms["group_code"]) <= {"FDS", "OSC", "DEC"}
    fds = terms[terms["group_code"] == "FDS"]
    assert "carburant" in set(fds["term"]) or "véhicules" in set(fds["term"])
    segs = corpus["segments"].set_index("segment_id")
    for r in terms.itertuples():
        assert r.term in segs.loc[r.example_segment_id, "lemmas"].split()
        assert segs.loc[r.example_segment_id, "group_code"] == r.group_code
        assert r.z > 0


def test_compare_consensus_classes(corpus):
    cons = consensus.consensus_table(_counts(corpus), corpus["codebook"],
                                     agreement={"MIL": "contesté"}).set_index("code_id")
    # agreement comes from the positions and applies to the question and its options;
    # salience is named apart
    assert cons.loc["MIL", "classification"] == "contesté"
    assert cons.loc["MIL", "agreement"] == "contesté"
    assert cons.loc["SEC.RACK", "classification"] == "un seul groupe"
    assert cons.loc["SEC.RACK", "agreement"].startswith("non mesuré")
    # FDS: 2 speakers; OSC: a single speaker, below min_speakers = 2 → one group only.
    assert cons.loc["SEC.LOG", "salience"] == "un seul groupe"
    loose = consensus.consensus_table(_counts(corpus), corpus["codebook"], min_speakers=1,
                                      rel_share=0).set_index("code_id")
    assert loose.loc["SEC.LOG", "salience"] == "majorité des groupes"
    assert cons.loc["UNUSED", "salience"] == "non évoqué"
    assert cons.loc["SEC", "groups_above"] == "FDS, OSC"
    # Pol.is-style index: product over groups of (n + 1) / (N + 2)
    assert cons.loc["MIL", "consensus_index"] == pytest.approx((2 / 6) * (2 / 7) * (2 / 4))
    strict = consensus.consensus_table(_counts(corpus), corpus["codebook"], min_share=0.3,
                                     min_speakers=0, rel_share=0).set_index("code_id")
    assert strict.loc["SEC.LOG", "salience"] == "un seul groupe"


def test_compare_run_stage_outputs_follow_contract(corpus):
    from consultations.core.schema import TABLES

    tables = dict(corpus)
    tables["recommendations"] = pd.DataFrame({
        "rec_id": ["W1-R01", "W2-R01", "W2-R02"], "workshop_id": ["W1", "W2", "W2"],
        "rec_n": [1, 1, 2], "text": ["Désarmer les milices.", "Désarmer toutes les milices.",
                                     "Planter des arbres."],
        "source_file": "r.txt", "line_start": 1, "line_end": 1})
    out = compare.run_stage(tables, None, Settings(seed=3))
    for name, df in out.items():
        if name in TABLES:
            assert list(df.columns[:len(TABLES[name])]) == TABLES[name], name
    assert set(out) >= {"code_group_counts", "code_group_tests", "code_group_residuals",
                        "distinctive_terms", "consensus", "rec_links", "rec_clusters",
                        "_summary"}
    again = compare.run_stage(tables, None, Settings(seed=3))
    for name in out:
        if name != "_summary":
            pd.testing.assert_frame_equal(out[name], again[name])


# --- Pol.is: our consensus classification against Pol.is' group-informed consensus --------

def polis_counts(folder) -> pd.DataFrame:
    """Map Pol.is votes to our counts: a comment is a parent code with two position children
    (agree / disagree); the 'segments' of a group on a comment are its members' votes seen."""
    pv = pd.read_csv(folder / "participants-votes.csv")
    comments = pd.read_csv(folder / "comments.csv")
    keep = comments.loc[comments["moderated"] != -1, "comment-id"].astype(str)
    pv = pv[pv["group-id"].notna()]
    rows = []
    for cid in [c for c in pv.columns[6:] if c in set(keep)]:
        for g, sub in pv.groupby("group-id"):
            v = sub[cid].dropna()
            seen, agree, disagree = len(v), int((v == 1).sum()), int((v == -1).sum())
            for code, n in ((cid, agree), (f"{cid}:agree", agree),
                            (f"{cid}:disagree", disagree)):
                rows.append({"code_id": code, "label": code, "group_code": str(int(g)),
                             "stakeholder_group": str(int(g)), "n_segments": n,
                             "n_speakers": n, "n_workshops": 1, "group_segments": seen,
                             "group_words": seen,
                             "rate_segments": n / seen if seen else np.nan,
                             "per_1000_words": np.nan})
    return pd.DataFrame(rows)


@pytest.mark.shared_data
@pytest.mark.parametrize("conversation", ["scoop-hivemind.ubi", "london.youth.policing"])
def test_compare_consensus_agrees_with_polis(shared_datasets, conversation):
    from sklearn.metrics import cohen_kappa_score, roc_auc_score

    counts = polis_counts(shared_datasets / "polis-opendata" / conversation)
    ids = sorted({c for c in counts["code_id"] if ":" not in c})
    book = pd.DataFrame({"code_id": ids + [f"{c}:{p}" for c in ids for p in ("agree",
                                                                              "disagree")]})
    book["parent"] = [None] * len(ids) + [c for c in ids for _ in range(2)]
    book["position"] = [""] * len(ids) + ["oui"] * (2 * len(ids))
    cons = consensus.consensus_table(counts, book, min_share=0.5, min_speakers=0, rel_share=0,
                                   include_empty_groups=True)
    cons = cons[cons["code_id"].isin(ids)].set_index("code_id")
    agree = counts[counts["code_id"].isin(ids)]
    # Pol.is group-informed consensus: product over groups of (A + 1) / (S + 2)
    gic = agree.assign(p=(agree["n_segments"] + 1) / (agree["group_segments"] + 2)) \
        .groupby("code_id")["p"].prod()
    np.testing.assert_allclose(cons.loc[gic.index, "consensus_index"], gic)
    # In Pol.is the "code" is an agree vote: every group agreeing is our salience class
    # « tous les groupes » on the agree counts.
    ours = (cons.loc[gic.index, "salience"] == "tous les groupes").to_numpy()
    k = int(ours.sum())
    assert 0 < k < len(ours)
    # Pol.is has no yes/no consensus flag: its report ranks comments by GIC. Compare our class
    # with that ranking (AUC) and with Pol.is' top-k comments, k = our number of consensus.
    auc = roc_auc_score(ours, gic.to_numpy())
    top = set(gic.sort_values(ascending=False, kind="stable").index[:k])
    overlap = len(top & set(gic.index[ours])) / k
    kappa = cohen_kappa_score(ours, gic.index.isin(top))
    print(f"\n{conversation}: {len(ids)} comments, consensus={k}, "
          f"non-consensual={(cons['salience'] != 'tous les groupes').sum()}, "
          f"AUC(GIC | consensus)={auc:.3f}, top-{k} overlap={overlap:.2f}, kappa={kappa:.2f}")
    assert auc > 0.9
    assert overlap >= 0.4
