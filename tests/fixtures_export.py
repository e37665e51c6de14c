"""A small, realistic set of upstream tables (following consultations.core.schema) for export tests.

Everything here is fictional and already pseudonymised, as the export stage receives it.
:data:`PRIVATE_NAMES` are the kind of strings that must never reach an output: they are only
used by the tests to check the outputs, never put into a table.
"""

from __future__ import annotations

import pandas as pd

from consultations.core.schema import TABLES

__all__ = ["PRIVATE_NAMES", "PRIVATE_CONTACTS", "make_tables", "empty_tables"]

PRIVATE_NAMES = ["Moussa Traoré", "Aminata Ouédraogo", "Jean-Pierre Kaboré", "Fatoumata Diarra"]
PRIVATE_CONTACTS = ["m.traore@example.org", "+223 76 12 34 56", "76 12 34 56"]

GROUP_LABELS = {
    "FDS": "Forces de défense et de sécurité",
    "DEC": "Acteurs de la décentralisation",
    "OSC": "Organisations de la société civile",
    "PTF": "Partenaires internationaux",
    "JUS": "Secteur de la justice",
    "FAC": "Facilitation",
}

WORKSHOPS = [
    ("ATL1", "Atelier de lancement", "2019-06-18", "Ségou", "atelier1.txt", "atelier1_reco.txt"),
    ("ATL2", "Atelier régional Centre", "2019-09-10", "Mopti", "atelier2.txt", "atelier2_reco.txt"),
    ("ATL3", "Atelier régional Nord", "2019-11-05", "Gao", "atelier3.md", "atelier3_reco.md"),
    (
        "ATL4",
        "Atelier des partenaires",
        "2020-01-22",
        "Bamako",
        "atelier4.docx",
        "atelier4_reco.csv",
    ),
    (
        "ATL5",
        "Atelier de validation",
        "2020-03-04",
        "Bamako, Hôtel de l'Amitié",
        "atelier5.txt",
        "atelier5_reco.txt",
    ),
]

CODES = [
    (
        "CONF",
        "Confiance entre population et FDS",
        "A1",
        "Relations de confiance ou de méfiance entre habitants et forces de sécurité.",
    ),
    ("RACK", "Racket et corruption", "A1", "Extorsion, pots-de-vin, abus aux postes de contrôle."),
    (
        "COLL",
        "Comités locaux de sécurité",
        "A2",
        "Rôle des collectivités et des comités consultatifs locaux.",
    ),
    (
        "INCL",
        "Inclusion des femmes et des jeunes",
        "A2",
        "Participation des femmes et des jeunes à la sécurité locale.",
    ),
    ("MOY", "Moyens logistiques", "A3", "Véhicules, carburant, communications, effectifs."),
    (
        "FORM",
        "Formation des agents",
        "A3",
        "Formation initiale et continue à la police de proximité.",
    ),
    ("JUST", "Chaîne pénale", "A4", "Suivi judiciaire des plaintes, détention, délais."),
]
AXES = {
    "A1": "Confiance et redevabilité",
    "A2": "Gouvernance locale de la sécurité",
    "A3": "Capacités des forces",
    "A4": "Articulation avec la justice",
}

# (workshop, speaker, text, codes)
SPEECH = [
    ("ATL1", "FAC-01", "Bienvenue à tous, nous ouvrons l'atelier sur la police de proximité.", []),
    (
        "ATL1",
        "FDS-01",
        "Nos brigades manquent de véhicules et de carburant pour patrouiller.",
        ["MOY"],
    ),
    ("ATL1", "FDS-01", "Sans moyens, la police de proximité restera un slogan.", ["MOY"]),
    (
        "ATL1",
        "OSC-01",
        "Le racket aux postes de contrôle détruit la confiance des habitants.",
        ["RACK", "CONF"],
    ),
    ("ATL1", "DEC-01", "Le maire doit présider le comité local de sécurité.", ["COLL"]),
    (
        "ATL1",
        "OSC-02",
        "Les femmes ne sont jamais consultées sur la sécurité du quartier.",
        ["INCL"],
    ),
    (
        "ATL2",
        "FDS-02",
        "La formation initiale ne prépare pas au contact avec la population.",
        ["FORM", "CONF"],
    ),
    (
        "ATL2",
        "DEC-02",
        "Les comités consultatifs existent sur le papier mais ne se réunissent pas.",
        ["COLL"],
    ),
    (
        "ATL2",
        "OSC-03",
        "Quand on porte plainte, on doit payer pour que l'agent se déplace.",
        ["RACK"],
    ),
    ("ATL2", "JUS-01", "Les plaintes déposées à la brigade n'arrivent pas au parquet.", ["JUST"]),
    (
        "ATL2",
        "OSC-03",
        "Les jeunes se méfient des patrouilles depuis les arrestations de 2018.",
        ["CONF", "INCL"],
    ),
    ("ATL3", "FDS-03", "Nous avons besoin de radios et d'effectifs supplémentaires.", ["MOY"]),
    (
        "ATL3",
        "DEC-03",
        "La commune peut financer une partie du carburant des patrouilles.",
        ["MOY", "COLL"],
    ),
    ("ATL3", "OSC-04", "La confiance se gagne par la présence régulière et le respect.", ["CONF"]),
    ("ATL3", "JUS-02", "La détention préventive dépasse souvent les délais légaux.", ["JUST"]),
    ("ATL3", "FAC-02", "Merci, passons à la question des comités.", []),
    (
        "ATL4",
        "PTF-01",
        "Les partenaires peuvent appuyer la formation continue des agents.",
        ["FORM"],
    ),
    (
        "ATL4",
        "PTF-02",
        "Un mécanisme de plainte indépendant renforcerait la redevabilité.",
        ["RACK", "CONF"],
    ),
    ("ATL4", "FDS-04", "La formation aux droits humains doit être systématique.", ["FORM"]),
    ("ATL4", "PTF-01", "Il faut associer les femmes aux comités de sécurité.", ["INCL", "COLL"]),
    ("ATL5", "FDS-05", "Les véhicules promis en 2019 ne sont jamais arrivés.", ["MOY"]),
    (
        "ATL5",
        "OSC-05",
        "Il faut sanctionner les agents pris en flagrant délit de racket.",
        ["RACK"],
    ),
    ("ATL5", "DEC-04", "Le comité local doit rendre compte au conseil communal.", ["COLL"]),
    (
        "ATL5",
        "JUS-03",
        "Les officiers de police judiciaire doivent être formés à la procédure.",
        ["JUST", "FORM"],
    ),
    ("ATL5", "OSC-06", "Les jeunes veulent être associés aux patrouilles mixtes.", ["INCL"]),
]


def _segments() -> pd.DataFrame:
    rows = []
    turn_n: dict[str, int] = {}
    files = {w[0]: w[4] for w in WORKSHOPS}
    last_speaker: dict[str, str] = {}
    seg_n = 0
    line = {}
    for ws, speaker, text, _codes in SPEECH:
        if last_speaker.get(ws) != speaker:
            turn_n[ws] = turn_n.get(ws, 0) + 1
            seg_n = 0
            last_speaker[ws] = speaker
        seg_n += 1
        line[ws] = line.get(ws, 10) + 3
        gcode = speaker.split("-")[0]
        turn_id = f"{ws}-T{turn_n[ws]:03d}"
        rows.append(
            {
                "segment_id": f"{turn_id}-S{seg_n:02d}",
                "turn_id": turn_id,
                "workshop_id": ws,
                "seg_n": seg_n,
                "speaker": speaker,
                "stakeholder_group": GROUP_LABELS[gcode],
                "group_code": gcode,
                "is_facilitator": gcode == "FAC",
                "is_collective": False,
                "text": text,
                "lemmas": text.lower(),
                "n_words": len(text.split()),
                "source_file": files[ws],
                "line_start": line[ws],
                "line_end": line[ws] + 1,
                "char_start": 0,
                "char_end": len(text),
            }
        )
    return pd.DataFrame(rows, columns=TABLES["segments"])


def make_tables() -> dict[str, pd.DataFrame]:
    """Return a full, consistent set of upstream tables (fictional, pseudonymised)."""
    segments = _segments()
    seg_codes = [c for *_, c in SPEECH]
    workshops = pd.DataFrame(WORKSHOPS, columns=TABLES["workshops"])
    speakers = (
        segments[["workshop_id", "speaker", "stakeholder_group", "group_code", "is_facilitator",
                  "is_collective"]]
        .drop_duplicates()
        .assign(
            role=lambda d: d["group_code"].map({"FAC": "facilitateur"}).fillna("participant"),
            gender=lambda d: ["F" if i % 3 == 0 else "M" for i in range(len(d))],
        )[TABLES["speakers"]]
        .reset_index(drop=True)
    )
    codebook = pd.DataFrame(
        [
            {
                "code_id": c,
                "label": lab,
                "definition": d,
                "include": "",
                "exclude": "",
                "parent": None,
                "axis": ax,
                "keywords": "",
                "examples": "",
                "line": 3 + 9 * i,
            }
            for i, (c, lab, ax, d) in enumerate(CODES)
        ],
        columns=TABLES["codebook"],
    )
    axes = pd.DataFrame([{"axis": k, "axis_label": v} for k, v in AXES.items()])
    codings = pd.DataFrame(
        [
            {
                "segment_id": sid,
                "code_id": c,
                "source": "rule",
                "coder": "regles",
                "codebook_version": "1.2.0",
                "evidence": f"motif:{c.lower()}",
                "matched_text": "",
                "negated": False,
                "note": "",
                "origin_file": "codebook.yaml",
                "origin_line": 3,
            }
            for sid, codes in zip(segments["segment_id"], seg_codes, strict=True)
            for c in codes
        ],
        columns=TABLES["codings"],
    )
    agreement = pd.DataFrame(
        [
            {
                "comparison": "intercodeurs",
                "coder_a": "analyste1",
                "coder_b": "analyste2",
                "code_id": c,
                "label": lab,
                "unit": "segment",
                "n_units": 25,
                "n_coders": 2,
                "n_positive": 6,
                "percent_agreement": pa,
                "pa_ci_low": pa - 0.08,
                "pa_ci_high": min(pa + 0.05, 1.0),
                "kappa": a - 0.02,
                "kappa_ci_low": a - 0.2,
                "kappa_ci_high": a + 0.1,
                "alpha": a,
                "alpha_ci_low": a - 0.2,
                "alpha_ci_high": min(a + 0.1, 1.0),
                "precision": None,
                "recall": None,
                "f1": None,
                "note": "",
            }
            for c, lab, a, pa in [
                ("CONF", "Confiance entre population et FDS", 0.81, 0.92),
                ("RACK", "Racket et corruption", 0.74, 0.88),
                ("_ensemble", "", 0.78, 0.90),
            ]
        ]
    )
    labels = {c: lab for c, lab, _, _ in CODES}
    part = segments[~segments["is_facilitator"]]
    gsegs = part.groupby("group_code").size()
    gwords = part.groupby("group_code")["n_words"].sum()
    counts = []
    for code, label, _, _ in CODES:
        mask = [code in c for c in seg_codes]
        hit = segments[mask]
        hit = hit[~hit["is_facilitator"]]
        for g in ["DEC", "FDS", "JUS", "OSC", "PTF"]:
            h = hit[hit["group_code"] == g]
            counts.append(
                {
                    "code_id": code,
                    "label": label,
                    "group_code": g,
                    "stakeholder_group": GROUP_LABELS[g],
                    "n_segments": len(h),
                    "n_speakers": h["speaker"].nunique(),
                    "n_workshops": h["workshop_id"].nunique(),
                    "group_segments": int(gsegs[g]),
                    "group_words": int(gwords[g]),
                    "rate_segments": len(h) / gsegs[g],
                    "per_1000_words": 1000 * h["n_words"].sum() / gwords[g],
                }
            )
    cgc = pd.DataFrame(counts, columns=TABLES["code_group_counts"])
    p = {
        "CONF": 0.41,
        "RACK": 0.012,
        "COLL": 0.03,
        "INCL": 0.22,
        "MOY": 0.002,
        "FORM": 0.35,
        "JUST": 0.004,
    }
    p_adj = {
        "CONF": 0.48,
        "RACK": 0.028,
        "COLL": 0.053,
        "INCL": 0.31,
        "MOY": 0.014,
        "FORM": 0.41,
        "JUST": 0.014,
    }
    tests = pd.DataFrame(
        [
            {
                "code_id": c,
                "label": labels[c],
                "chi2": 12.0 * (1 - p[c]),
                "dof": 4,
                "p_value": p[c],
                "p_adj": p_adj[c],
                "method": "exact (Monte-Carlo)",
                "cramers_v": 0.3 + p[c] / 3,
                "significant": p_adj[c] < 0.05,
                "min_expected": 0.4,
                "warning": "effectifs attendus < 5" if c != "MOY" else "",
                "interpretation": "écart entre groupes" if p_adj[c] < 0.05 else "pas d'écart net",
            }
            for c in labels
        ],
        columns=TABLES["code_group_tests"],
    )
    resid = []
    for r in cgc.itertuples():
        expected = (
            r.group_segments
            * cgc.loc[cgc["code_id"] == r.code_id, "n_segments"].sum()
            / cgc.drop_duplicates("group_code")["group_segments"].sum()
        )
        res = (r.n_segments - expected) / max(expected, 0.1) ** 0.5
        resid.append(
            {
                "code_id": r.code_id,
                "group_code": r.group_code,
                "observed": r.n_segments,
                "expected": expected,
                "residual": res,
                "significant": bool(abs(res) > 1.96 and p_adj[r.code_id] < 0.05),
            }
        )
    residuals = pd.DataFrame(resid, columns=TABLES["code_group_residuals"])
    terms = []
    for g, words in {
        "FDS": ["véhicule", "carburant", "formation"],
        "OSC": ["racket", "confiance", "jeune"],
        "DEC": ["comité", "maire", "commune"],
        "JUS": ["plainte", "parquet", "détention"],
        "PTF": ["partenaire", "mécanisme", "appui"],
    }.items():
        ex = part[part["group_code"] == g].iloc[0]
        for i, w in enumerate(words):
            terms.append(
                {
                    "group_code": g,
                    "term": w,
                    "log_odds": 2.5 - 0.5 * i,
                    "z": 3.1 - 0.6 * i,
                    "rank": i + 1,
                    "example_segment_id": ex["segment_id"],
                    "example_text": ex["text"],
                }
            )
    distinctive = pd.DataFrame(terms, columns=TABLES["distinctive_terms"])
    consensus = pd.DataFrame(
        [
            {
                "code_id": "CONF",
                "label": labels["CONF"],
                "n_groups_above": 4,
                "groups_above": "FDS, OSC, PTF, DEC",
                "consensus_index": 0.8,
                "classification": "consensus",
            },
            {
                "code_id": "FORM",
                "label": labels["FORM"],
                "n_groups_above": 3,
                "groups_above": "FDS, PTF, JUS",
                "consensus_index": 0.6,
                "classification": "consensus",
            },
            {
                "code_id": "COLL",
                "label": labels["COLL"],
                "n_groups_above": 3,
                "groups_above": "DEC, PTF, FDS",
                "consensus_index": 0.5,
                "classification": "partagé",
            },
            {
                "code_id": "MOY",
                "label": labels["MOY"],
                "n_groups_above": 2,
                "groups_above": "FDS, DEC",
                "consensus_index": 0.3,
                "classification": "divergence",
            },
            {
                "code_id": "RACK",
                "label": labels["RACK"],
                "n_groups_above": 2,
                "groups_above": "OSC, PTF",
                "consensus_index": 0.25,
                "classification": "divergence",
            },
            {
                "code_id": "INCL",
                "label": labels["INCL"],
                "n_groups_above": 2,
                "groups_above": "OSC, PTF",
                "consensus_index": 0.3,
                "classification": "spécifique",
            },
            {
                "code_id": "JUST",
                "label": labels["JUST"],
                "n_groups_above": 1,
                "groups_above": "JUS",
                "consensus_index": 0.1,
                "classification": "spécifique",
            },
        ],
        columns=TABLES["consensus"],
    )
    recs = pd.DataFrame(
        [
            (
                "ATL1-R01",
                "ATL1",
                1,
                "Doter chaque brigade de véhicules et de carburant.",
                "atelier1_reco.txt",
                2,
            ),
            (
                "ATL1-R02",
                "ATL1",
                2,
                "Créer un comité local de sécurité présidé par le maire.",
                "atelier1_reco.txt",
                3,
            ),
            (
                "ATL2-R01",
                "ATL2",
                1,
                "Mettre en place un numéro vert pour dénoncer le racket.",
                "atelier2_reco.txt",
                2,
            ),
            (
                "ATL3-R01",
                "ATL3",
                1,
                "Renforcer les moyens logistiques des unités.",
                "atelier3_reco.md",
                4,
            ),
            (
                "ATL4-R01",
                "ATL4",
                1,
                "Former tous les agents à la police de proximité.",
                "atelier4_reco.csv",
                2,
            ),
            (
                "ATL5-R01",
                "ATL5",
                1,
                "Instituer des comités consultatifs communaux de sécurité.",
                "atelier5_reco.txt",
                2,
            ),
            (
                "ATL5-R02",
                "ATL5",
                2,
                "Intégrer la police de proximité dans la formation initiale.",
                "atelier5_reco.txt",
                3,
            ),
            (
                "ATL5-R03",
                "ATL5",
                3,
                "Sanctionner les actes de racket et publier les sanctions.",
                "atelier5_reco.txt",
                4,
            ),
        ],
        columns=["rec_id", "workshop_id", "rec_n", "text", "source_file", "line_start"],
    )
    recs["line_end"] = recs["line_start"]
    recs = recs[TABLES["recommendations"]]
    clusters = {
        1: ["ATL1-R01", "ATL3-R01"],
        2: ["ATL1-R02", "ATL5-R01"],
        3: ["ATL4-R01", "ATL5-R02"],
        4: ["ATL2-R01", "ATL5-R03"],
    }
    cl_groups = {1: "FDS, DEC", 2: "DEC, PTF, OSC", 3: "FDS, PTF, JUS", 4: "OSC, PTF"}
    rc = []
    for cid, ids in clusters.items():
        ws = sorted({i.split("-")[0] for i in ids})
        for j, rid in enumerate(ids):
            rec = recs[recs["rec_id"] == rid].iloc[0]
            rc.append(
                {
                    "cluster_id": cid,
                    "rec_id": rid,
                    "workshop_id": rec["workshop_id"],
                    "text": rec["text"],
                    "is_representative": j == 0,
                    "workshops": ", ".join(ws),
                    "groups": cl_groups[cid],
                    "n_workshops": len(ws),
                }
            )
    rec_clusters = pd.DataFrame(rc, columns=TABLES["rec_clusters"])
    rec_of_code = {"MOY": "1", "COLL": "2", "FORM": "3", "RACK": "4"}
    strength = {
        "CONF": "forte",
        "RACK": "forte",
        "MOY": "forte",
        "COLL": "moyenne",
        "FORM": "moyenne",
        "INCL": "faible",
        "JUST": "faible",
    }
    ev = []
    tests_i = tests.set_index("code_id")
    cons_i = consensus.set_index("code_id")
    for code, label, ax, definition in CODES:
        c = cgc[cgc["code_id"] == code]
        mask = [code in cc for cc in seg_codes]
        hit = segments[mask]
        hit = hit[~hit["is_facilitator"]]
        groups = sorted(c.loc[c["n_segments"] > 0, "group_code"])
        ev.append(
            {
                "code_id": code,
                "label": label,
                "axis": ax,
                "axis_label": AXES[ax],
                "definition": definition,
                "n_segments": len(hit),
                "n_speakers": hit["speaker"].nunique(),
                "n_workshops": hit["workshop_id"].nunique(),
                "n_groups": len(groups),
                "groups": ", ".join(groups),
                "group_rates": "; ".join(
                    f"{r.group_code} {100 * r.rate_segments:.0f} %" for r in c.itertuples()
                ),
                "p_adj": tests_i.loc[code, "p_adj"],
                "test_summary": f"test exact, p ajusté = {tests_i.loc[code, 'p_adj']:.3f}",
                "consensus_class": cons_i.loc[code, "classification"],
                "rec_clusters": rec_of_code.get(code, ""),
                "agreement_alpha": {"CONF": 0.81, "RACK": 0.74}.get(code),
                "strength": strength[code],
                "strength_reason": (
                    f"{len(groups)} groupes, {hit['workshop_id'].nunique()} ateliers"
                ),
            }
        )
    evidence = pd.DataFrame(ev, columns=TABLES["evidence_by_theme"])
    quotes = []
    for code, *_ in CODES:
        mask = [code in cc for cc in seg_codes]
        hit = segments[mask]
        hit = hit[~hit["is_facilitator"]].head(3)
        for k, r in enumerate(hit.itertuples(), start=1):
            quotes.append(
                {
                    "code_id": code,
                    "rank": k,
                    "segment_id": r.segment_id,
                    "speaker": r.speaker,
                    "stakeholder_group": r.stakeholder_group,
                    "workshop_id": r.workshop_id,
                    "source_file": r.source_file,
                    "line_start": r.line_start,
                    "text": r.text,
                }
            )
    evidence_quotes = pd.DataFrame(quotes, columns=TABLES["evidence_quotes"])
    by_axis = []
    for ax, axl in AXES.items():
        codes = [c for c, _, a, _ in CODES if a == ax]
        by_axis.append(
            {
                "axis": ax,
                "axis_label": axl,
                "codes": ", ".join(codes),
                "options_summary": "; ".join(labels[c] for c in codes),
                "supporting_groups": "OSC, PTF" if ax in ("A1", "A2") else "FDS, JUS",
                "opposing_groups": "" if ax != "A3" else "OSC",
                "recommendations": ", ".join(rec_of_code[c] for c in codes if c in rec_of_code),
                "strength": "forte" if ax in ("A1", "A3") else "moyenne",
            }
        )
    evidence_by_axis = pd.DataFrame(by_axis, columns=TABLES["evidence_by_axis"])
    topic_info = pd.DataFrame(
        [
            {"topic": -1, "label": "Hors thème", "count": 4, "terms": "", "representation": ""},
            {
                "topic": 0,
                "label": "0_véhicule_carburant_moyen",
                "count": 6,
                "terms": "véhicule, carburant, moyen",
                "representation": "véhicule carburant moyen",
            },
            {
                "topic": 1,
                "label": "1_comité_maire_commune",
                "count": 5,
                "terms": "comité, maire, commune",
                "representation": "comité maire commune",
            },
            {
                "topic": 2,
                "label": "2_racket_plainte_agent",
                "count": 5,
                "terms": "racket, plainte, agent",
                "representation": "racket plainte agent",
            },
            {
                "topic": 3,
                "label": "3_formation_agent_droit",
                "count": 5,
                "terms": "formation, agent, droit",
                "representation": "formation agent droit",
            },
        ],
        columns=TABLES["topic_info"],
    )
    tpg = []
    for t, lab in zip(topic_info["topic"][1:], topic_info["label"][1:], strict=True):
        for i, g in enumerate(["DEC", "FDS", "JUS", "OSC", "PTF"]):
            cnt = (t + i) % 3
            tpg.append(
                {
                    "topic": t,
                    "topic_label": lab,
                    "group_code": g,
                    "stakeholder_group": GROUP_LABELS[g],
                    "count": cnt,
                    "group_segments": int(gsegs[g]),
                    "share_of_group": cnt / gsegs[g],
                }
            )
    topics_per_group = pd.DataFrame(tpg, columns=TABLES["topics_per_group"])
    crosswalk = pd.DataFrame(
        [
            {
                "topic": 0,
                "topic_label": "0_véhicule_carburant_moyen",
                "code_id": "MOY",
                "shared": 5,
                "jaccard": 0.7,
                "lift": 3.2,
                "best_code": True,
                "is_new_theme": False,
            },
            {
                "topic": 1,
                "topic_label": "1_comité_maire_commune",
                "code_id": "COLL",
                "shared": 4,
                "jaccard": 0.6,
                "lift": 3.0,
                "best_code": True,
                "is_new_theme": False,
            },
        ],
        columns=TABLES["topic_crosswalk"],
    )
    from consultations.compare.positions import (
        group_positions,
        position_summary,
        speaker_positions,
    )
    from consultations.evidence.decisions import open_decisions, participation, position_quotes

    positions = speaker_positions(segments, codings, codebook)
    gpos = group_positions(positions, segments, codebook, workshops=workshops)
    psum = position_summary(gpos, positions, codebook)
    return {
        "positions": positions,
        "group_positions": gpos,
        "position_summary": psum,
        "open_decisions": open_decisions(psum, gpos, positions, codebook),
        "position_quotes": position_quotes(positions, gpos, segments, codebook),
        "participation": participation(segments, speakers),
        "rec_endorsements": pd.DataFrame(columns=TABLES["rec_endorsements"]),
        "rec_group_matrix": pd.DataFrame(columns=TABLES["rec_group_matrix"]),
        "workshops": workshops,
        "speakers": speakers,
        "segments": segments,
        "recommendations": recs,
        "codebook": codebook,
        "axes": axes,
        "codings": codings,
        "agreement": agreement,
        "topic_info": topic_info,
        "topics_per_group": topics_per_group,
        "topic_crosswalk": crosswalk,
        "code_group_counts": cgc,
        "code_group_tests": tests,
        "code_group_residuals": residuals,
        "distinctive_terms": distinctive,
        "consensus": consensus,
        "rec_clusters": rec_clusters,
        "evidence_by_theme": evidence,
        "evidence_quotes": evidence_quotes,
        "evidence_by_axis": evidence_by_axis,
        # What the workbook sheet « Codages orphelins » shows (orphans, changed codes).
        "coding_anchors": pd.DataFrame([
            ("manual", "coded/manual/coder_A.csv", 4, "RACK", "codeuse_A", "ATL1-T006-S02", "",
             "orphaned", 0.0, False, "Une phrase supprimée de la transcription.",
             "atelier1.txt", 812, 853),
            ("review", "coded/review/revue_import.xlsx", 9, "CONF", "AK", "ATL1-T004-S01",
             "ATL1-T005-S01", "moved", 1.0, True, "Une phrase toujours là.", "atelier1.txt",
             900, 923),
        ], columns=TABLES["coding_anchors"]),
        "review_conflict_decisions": pd.DataFrame([
            ("ATL1-T004-S01", "CONF", "Une phrase toujours là.", "AK", "accepter", "2020-03-01",
             "revue_a_import_2020-03-01.xlsx", 9, False,
             "remplacée par une revue plus récente (2020-03-09)"),
            ("ATL1-T004-S01", "CONF", "Une phrase toujours là.", "BD", "rejeter", "2020-03-09",
             "revue_b_import_2020-03-09.xlsx", 9, True,
             "décision de la revue la plus récente (2020-03-09), sans désaccord à cette date : "
             "elle s'applique"),
        ], columns=TABLES["review_conflict_decisions"]),
    }


def empty_tables() -> dict[str, pd.DataFrame]:
    """The tables of a run that found nothing: corpus present, no codes, topics or evidence."""
    full = make_tables()
    keep = {"workshops", "speakers", "segments", "recommendations"}
    return {name: (df if name in keep else df.iloc[0:0]) for name, df in full.items()}
