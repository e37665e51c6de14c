"""The brief's sections on who holds what: caveats, agreement, contest, open decisions, axes.

Every sentence here states a number or a stance read from the tables ``positions``,
``group_positions``, ``position_summary``, ``open_decisions``, ``position_quotes``,
``participation``, ``consensus``, ``code_group_tests``, ``evidence_by_theme`` and
``rec_group_matrix``; nothing is inferred here. A stance that rests only on unconfident
automatic codings is never stated: the brief says it is to be confirmed and lists the segments.
Two notions stay apart and are named so: *saillance* (who raises a theme) and *accord*
(whether the stances of those who took a position agree).
"""

from __future__ import annotations

import pandas as pd

from consultations.core.schema import truthy
from consultations.report.brief_blocks import (
    Block,
    axis_name,
    fr_int,
    fr_num,
    fr_pct,
    get_table,
    join_cell,
    plural,
    quote_reference,
    scrub,
    table_block,
)

__all__ = ["axis_sections", "caveats", "open_decisions_section", "participation_block",
           "position_lines"]


def _options(codebook: pd.DataFrame) -> dict[str, str]:
    """Option code → « label of the position » (as the codebook words it)."""
    if "position" not in codebook:
        return {}
    return {str(c): (str(p) if isinstance(p, str) and p.strip() else str(lab))
            for c, p, lab in zip(codebook["code_id"], codebook["position"], codebook["label"],
                                 strict=True)}


def _small_groups(tables) -> list[str]:
    gp = get_table(tables, "group_positions")
    if "small_group" in gp and len(gp):
        return sorted(set(gp.loc[gp["small_group"].astype(bool), "group_code"]))
    part = get_table(tables, "participation")
    if len(part):
        p = part[~part["is_facilitation"].astype(bool)]
        return sorted(p.loc[p["participants"] < 3, "group_code"])
    return []


def caveats(tables) -> list[Block]:
    """« Avant de lire »: what the figures rest on, and what they cannot say."""
    out = [Block("heading", "Avant de lire : sur quoi reposent ces constats", level=1,
                 name="avertissements")]
    codings = get_table(tables, "codings")
    items = []
    if len(codings) and "source" in codings:
        pairs = codings.drop_duplicates(["segment_id", "code_id", "source"])
        human = pairs[pairs["source"].isin(["manual", "review"])][["segment_id", "code_id"]]
        human = set(map(tuple, human.to_numpy()))
        allp = set(map(tuple, pairs[["segment_id", "code_id"]].to_numpy()))
        auto = len(allp - human)
        rest = ("; les autres ont été codés ou confirmés par un codeur." if auto < len(allp)
                else "; aucun n'a encore été codé ni confirmé par un codeur.")
        items.append(("Codage", f"{fr_pct(auto / len(allp) if allp else 0)} des "
                                f"{fr_int(len(allp))} couples segment-thème viennent du seul "
                                f"codage automatique {rest}"))
    rq = get_table(tables, "rule_quality")
    if len(rq):
        held = rq[(rq["split"] == "test") & (rq["reference"] == "consensus")
                  & (rq["code_id"] == "_macro")]
        if len(held):
            f1 = float(held["f1"].iloc[0])
            items.append(("Qualité mesurée", f"sur des ateliers non utilisés pour régler les "
                                             f"règles, le codage automatique retrouve les codes "
                                             f"des codeurs avec un F1 moyen de "
                                             f"{fr_num(f1, 2)} (1 = parfait) : les thèmes qui "
                                             "reposent surtout sur lui sont à lire avec "
                                             "prudence."))
    pos = get_table(tables, "positions")
    summ = get_table(tables, "position_summary")
    if not len(summ):
        items.append(("Désaccords", "la grille de codage ne contient aucune question de "
                                    "position (codes enfants portant une « position » "
                                    "opposée sous un même thème) : les désaccords entre groupes "
                                    "ne peuvent pas être détectés. Pour les mesurer, ajoutez à "
                                    "la grille, sous le thème concerné, un code par option avec "
                                    "le champ « position » (voir l'en-tête de codebook.yaml)."))
    elif len(pos):
        n_ver = int(pos["verified"].astype(bool).sum())
        n_unc = int((pos["status"] == "à vérifier").sum())
        items.append(("Positions", f"{plural(len(pos), 'position')} d'intervenants sur "
                                   f"{plural(len(summ), 'question')} : {fr_int(n_ver)} "
                                   f"vérifiée(s) par un codeur, "
                                   f"{fr_int(len(pos) - n_ver - n_unc)} détectée(s) "
                                   f"automatiquement avec une confiance suffisante, "
                                   f"{fr_int(n_unc)} à vérifier (jamais présentées comme "
                                   "des positions)."))
    small = _small_groups(tables)
    if small:
        items.append(("Petits groupes", f"{join_cell(small)} : moins de trois intervenants ; "
                                        "leurs chiffres sont montrés mais ne fondent aucun "
                                        "constat de la synthèse ni aucun écart « significatif »."))
    items.append(("Unité", "l'unité de preuve est l'intervenant : un thème ou une position "
                           "compte les personnes qui l'ont exprimé, pas le nombre de phrases."))
    segs = get_table(tables, "segments")
    if len(segs) and "is_collective" in segs:
        coll = segs[truthy(segs["is_collective"])]
        if len(coll):
            items.append(("Voix collectives", f"{plural(coll['turn_id'].nunique(), 'prise')} "
                          f"de parole de {plural(coll['speaker'].nunique(), 'libellé')} qui ne "
                          "désignent personne en particulier (« plusieurs participants », « un "
                          "participant ») restent dans le corpus mais ne comptent pour aucun "
                          "intervenant ni aucune position."))
    out.append(Block("bullets", items=tuple(items)))
    return out


def participation_block(tables, tab_n) -> list[Block]:
    """Who was consulted and who spoke how much (groups, women and men)."""
    part = get_table(tables, "participation")
    if not len(part):
        return []
    rows = []
    for r in part.itertuples():
        share = "—" if pd.isna(r.share_words) else fr_pct(r.share_words)
        label = scrub(r.stakeholder_group)
        rows.append((r.group_code if label == r.group_code else f"{r.group_code} — {label}",
                     fr_int(r.participants),
                     fr_int(r.women), fr_int(r.men), fr_int(r.speakers), fr_int(r.words),
                     share))
    return [Block("heading", "Qui a été consulté", level=2),
            table_block("Participants et prise de parole par groupe (la facilitation est à "
                        "part et n'entre dans aucune comparaison)",
                        ["Groupe", "Participants", "Femmes", "Hommes", "Ont parlé", "Mots",
                         "Part des mots"], rows, tab_n)]


def position_lines(tables, question: str) -> list[str]:
    """One line per option: the groups whose majority holds it and the speakers holding it."""
    gp = get_table(tables, "group_positions")
    pos = get_table(tables, "positions")
    cb = get_table(tables, "codebook")
    opts = _options(cb)
    g = gp[gp["question"] == question]
    p = pos[(pos["question"] == question) & (pos["status"] != "à vérifier")] if len(pos) else pos
    lines = []
    options = sorted({c[2:] for c in g.columns if c.startswith("n_") and c[2:] in opts
                      and g[c].sum() > 0} | set(g["majority"]) & set(opts))
    for o in options:
        groups = sorted(g.loc[(g["majority"] == o) & ~g["small_group"].astype(bool),
                              "group_code"])
        who = sorted(set(p.loc[p["stance"] == o, "speaker"])) if len(p) else []
        lines.append(f"« {opts.get(o, o)} » ({o}) — majorité de : "
                     f"{join_cell(groups) if groups else 'aucun groupe'} ; "
                     f"{plural(len(who), 'intervenant')} : {join_cell(who) if who else '—'}")
    split = sorted(g.loc[g["majority"] == "partagé", "group_code"])
    if split:
        lines.append(f"Groupes partagés (pas de majorité nette) : {join_cell(split)}")
    unc = pos[(pos["question"] == question) & (pos["status"] == "à vérifier")] \
        if len(pos) else pos
    if len(unc):
        lines.append(f"À vérifier ({plural(len(unc), 'position')} détectée(s) sans confiance "
                     f"suffisante) : segments {join_cell(sorted(unc['evidence_segment_id']))}")
    return lines


def _side_quotes(tables, question: str) -> list[Block]:
    q = get_table(tables, "position_quotes")
    q = q[q["question"] == question] if len(q) else q
    if not len(q):
        return []
    opts = _options(get_table(tables, "codebook"))
    out = [Block("paragraph", "Les deux côtés, dans les mots des participants :")]
    for r in q.sort_values("option").to_dict("records"):
        side = opts.get(r["option"], r["option"])
        out.append(Block("paragraph", f"{r['speaker']} ({r['group_code']}), position "
                                      f"{r['status']}", lead=f"Pour « {side} » : "))
        out.append(Block("quote", text=scrub(r["text"]), ref=quote_reference(r),
                         segment_id=str(r["segment_id"])))
    return out


def open_decisions_section(tables, tab_n) -> list[Block]:
    """List the open decisions: options, holders, strength and verification status."""
    od = get_table(tables, "open_decisions")
    summ = get_table(tables, "position_summary")
    out = [Block("heading", "Décisions à trancher", level=2)]
    if not len(summ):
        out.append(Block("paragraph", "Aucune question de position dans la grille de codage : "
                                      "les désaccords ne peuvent pas être détectés (voir "
                                      "« Avant de lire »)."))
        return out
    if not len(od):
        out.append(Block("paragraph", "Aucune question de position n'est contestée ou "
                                      "partagée entre les groupes."))
        return out
    rows = [(f"{scrub(r.label)} ({r.question})", str(r.classification),
             "\n".join(scrub(x) for x in str(r.holders).split(" ; ")),
             str(r.strength), scrub(r.verification))
            for r in od.itertuples()]
    out.append(table_block("Décisions à trancher : options, groupes qui les portent, force des "
                           "éléments et état de vérification",
                           ["Question", "Accord", "Options et groupes majoritaires", "Force",
                            "Vérification"], rows, tab_n))
    return out


def agreement_summary(tables) -> list[Block]:
    """Points of agreement (stance consensus) and of contest, then shared priorities."""
    summ = get_table(tables, "position_summary")
    cons = get_table(tables, "consensus")
    out = [Block("heading", "Ce qui fait accord", level=2)]
    items = []
    for r in summ[summ["classification"] == "consensus"].itertuples() if len(summ) else []:
        items.append((scrub(r.label), "consensus sur la position : "
                      + "; ".join(position_lines(tables, r.question)[:1]) + "."))
    if items:
        out.append(Block("bullets", items=tuple(items)))
    elif len(summ):
        out.append(Block("paragraph", "Aucune question de position ne fait consensus entre "
                                      "les groupes qui se sont exprimés."))
    else:
        out.append(Block("paragraph", "Accord sur les positions non mesurable : la grille ne "
                                      "contient aucune question de position."))
    shared = cons[cons["salience"] == "tous les groupes"] if "salience" in cons else cons[:0]
    if len(shared):
        out.append(Block("paragraph", "Priorités partagées (saillance : thème évoqué par "
                                      "tous les groupes comparés ; cela ne dit pas que leurs "
                                      "demandes concordent) : "
                         + ", ".join(scrub(x) for x in shared.sort_values("code_id")["label"])
                         + "."))
    out.append(Block("heading", "Ce qui est contesté", level=2))
    contested = summ[summ["classification"].isin(["contesté", "partagé"])] if len(summ) \
        else summ
    if len(contested):
        for r in contested.itertuples():
            lines = position_lines(tables, r.question)
            out.append(Block("paragraph", "", lead=f"{scrub(r.label)} — {r.classification} :"))
            out.append(Block("bullets", items=tuple(("", scrub(x)) for x in lines)))
    elif len(summ):
        out.append(Block("paragraph", "Aucune question de position n'oppose les groupes."))
    else:
        out.append(Block("paragraph", "Non mesurable : la grille ne contient aucune question "
                                      "de position."))
    return out


def axis_sections(tables, glabels, tab_n, number: str = "2") -> list[Block]:
    """Write a section per strategy axis (per theme when the codebook has no axes).

    Each says what is agreed, what is contested (options, holders, a quote per side), the
    themes with the speakers who raise them, and the recommendations' endorsements.
    """
    ev = get_table(tables, "evidence_by_theme")
    summ = get_table(tables, "position_summary")
    has_axes = len(ev) and ev["axis"].astype(str).str.strip().ne("").any()
    title = "Par axe de la stratégie" if has_axes else "Par thème"
    out = [Block("heading", f"{number}. {title}", level=1, name="axes")]
    if not len(ev):
        out.append(Block("paragraph", "Aucun thème codé : pas de section."))
        return out
    cb = get_table(tables, "codebook")
    parent = dict(zip(cb["code_id"], cb["parent"].fillna(""), strict=True)) \
        if "parent" in cb else {}
    question_of = {str(c): str(p) for c, p in parent.items() if p in set(summ["question"])} \
        if len(summ) else {}
    question_of.update({q: q for q in summ["question"]} if len(summ) else {})
    if has_axes:
        units = [(a, sub) for a, sub in ev[ev["axis"].astype(str).str.strip() != ""]
                 .groupby("axis", sort=True)]
    else:
        units = [(c, ev[ev["code_id"] == c]) for c in sorted(ev["code_id"])
                 if not parent.get(c)]
    rgm = get_table(tables, "rec_group_matrix")
    links = get_table(tables, "rec_links")
    for k, (key, sub) in enumerate(units, start=1):
        if has_axes:
            head = axis_name(key, sub["axis_label"].iloc[0])
        else:
            head = scrub(sub["label"].iloc[0])
        out.append(Block("heading", f"{number}.{k} {head}", level=2, name=f"axe-{key}"))
        codes = set(sub["code_id"])
        if not has_axes:
            codes |= {c for c, p in parent.items() if p == key}
            sub = ev[ev["code_id"].isin(codes)]
        qs = sorted({question_of[c] for c in codes if c in question_of})
        agreed = [q for q in qs if (summ["question"] == q).any() and
                  summ.loc[summ["question"] == q, "classification"].iloc[0] == "consensus"]
        contested = [q for q in qs if q not in agreed]
        lab = dict(zip(summ["question"], summ["label"], strict=True)) if len(summ) else {}
        cls = dict(zip(summ["question"], summ["classification"], strict=True)) \
            if len(summ) else {}
        if agreed:
            out.append(Block("paragraph", "", lead="Ce qui fait accord :"))
            out.append(Block("bullets", items=tuple(
                (scrub(lab.get(q, q)), "; ".join(scrub(x) for x in position_lines(tables, q)))
                for q in agreed)))
        for q in contested:
            out.append(Block("heading", f"{scrub(lab.get(q, q))} — {cls.get(q, '')}", level=3))
            lines = position_lines(tables, q)
            if cls.get(q) in {"à vérifier", "non exprimé"}:
                out.append(Block("paragraph", "Position à confirmer : aucune position n'est "
                                              "établie de façon sûre ; voir les segments "
                                              "listés."))
            out.append(Block("bullets", items=tuple(("", scrub(x)) for x in lines)))
            out += _side_quotes(tables, q)
        rows = []
        for r in sub.sort_values(["n_speakers", "code_id"], ascending=[False, True]) \
                .itertuples():
            agr = str(getattr(r, "agreement", "") or "")
            rows.append((f"{scrub(r.label)} ({r.code_id})", fr_int(r.n_speakers),
                         join_cell(r.groups), str(getattr(r, "salience", "") or "—"),
                         "—" if not agr or agr.startswith("non mesuré") else agr,
                         str(r.strength)))
        out.append(table_block(f"Thèmes — {head} : intervenants qui les évoquent, groupes "
                               "qui les portent (saillance), accord entre positions, force",
                               ["Thème", "Intervenants", "Groupes", "Saillance",
                                "Accord entre positions", "Force"], rows, tab_n))
        if len(rgm) and len(links):
            recs = sorted(set(links.loc[links["code_id"].isin(codes), "rec_id"]))
            m = rgm[rgm["rec_id"].isin(recs) & (rgm["position"] != "non discuté")]
            if len(m):
                piv = m.pivot_table(index="rec_id", columns="group_code", values="position",
                                    aggfunc="first").fillna("non discuté")
                out.append(table_block(f"Recommandations liées — {head} : position des "
                                       "groupes dans la discussion",
                                       ["Recommandation", *piv.columns],
                                       [(str(i), *[str(v) for v in row])
                                        for i, row in piv.iterrows()], tab_n))
    return out
