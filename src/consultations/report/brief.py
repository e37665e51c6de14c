"""The brief's content, computed from the tables: one list of blocks for every renderer.

:func:`build_brief` turns the stage tables into a list of :class:`Block` (title, heading,
paragraph, bullets, table, figure, quote, toc, pagebreak). Every number and claim in a block is
read or counted from a table; free text from the corpus (quotes, recommendations) is copied
verbatim, after a last safety pass that masks e-mail addresses and phone numbers. The renderers
(:mod:`consultations.report.brief_docx`, :mod:`consultations.report.brief_html`,
:mod:`consultations.report.brief_pdf`)
only lay these blocks out.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from consultations.report.brief_annex import methods_annex, provenance_annex
from consultations.report.brief_blocks import (
    ALPHA,
    DEFAULT_UNITS,
    REPORT_DEFAULTS,
    Block,
    Units,
    as_list,
    axis_name,
    codebook_version,
    figure_block,
    fr_date,
    fr_int,
    fr_num,
    fr_p_eq,
    fr_pct,
    get_table,
    group_label_map,
    join_cell,
    participant_rows,
    plural,
    pseudonym_example,
    quote_reference,
    rec_id_list,
    rec_ref,
    report_setting,
    report_units,
    scrub,
    short,
    strength_rank,
    table_block,
)
from consultations.report.brief_positions import (
    agreement_summary,
    axis_sections,
    caveats,
    open_decisions_section,
    participation_block,
)

__all__ = [
    "build_brief",
    "brief_quotes",
    "brief_text",
    "codebook_version",  # re-exported: export.py imports it from here
    "quote_reference",  # re-exported: workbook.py imports it from here
]

MAX_THEMES = 8
MAX_QUOTES = 3


# --------------------------------------------------------------------------- sections


def _corpus_paragraph(tables, units: Units = DEFAULT_UNITS) -> Block:
    ws = get_table(tables, "workshops")
    segs = get_table(tables, "segments")
    part = participant_rows(tables)
    n_ws = len(ws)
    dates = sorted(d for d in ws.get("date", pd.Series(dtype=str)).dropna().astype(str) if d)
    period = (f", {units.held(n_ws)} entre le {fr_date(dates[0])} et le {fr_date(dates[-1])}"
              if len(dates) > 1 else (f", {units.held(n_ws)} le {fr_date(dates[0])}"
                                      if dates else ""))
    # Distinct people (one pseudonym per person across workshops), as in the comparison.
    n_spk = part["speaker"].nunique() if len(part) else 0
    n_groups = part["group_code"].nunique() if len(part) else 0
    n_words = int(pd.to_numeric(part.get("n_words", pd.Series(dtype=float))).sum()) \
        if len(part) else 0
    example = pseudonym_example(tables)
    text = (f"Cette note rend compte de {units.count(n_ws)}"
            f"{' de consultation' if units.default else ''}{period}. "
            f"Elle repose sur {plural(len(segs), 'segment')} de parole transcrits, dont "
            f"{fr_int(len(part))} prononcés par {plural(n_spk, 'intervenant')} de "
            f"{plural(n_groups, 'groupe')} d'acteurs (hors facilitation, soit "
            f"{plural(n_words, 'mot')}). Les intervenants sont désignés par un pseudonyme "
            f"(groupe et numéro{', par exemple ' + example if example else ''}) ; chaque "
            "citation renvoie à son segment, à son fichier et à sa ligne (annexe B).")
    return Block("paragraph", text)


def _synthesis(tables, glabels, tab_n, units: Units = DEFAULT_UNITS) -> list[Block]:
    out = [Block("heading", "1. Synthèse", level=1, name="synthese"),
           _corpus_paragraph(tables, units)]
    ev = get_table(tables, "evidence_by_theme")
    tests = get_table(tables, "code_group_tests")
    recs = get_table(tables, "rec_clusters")

    out += participation_block(tables, tab_n)
    out += agreement_summary(tables)
    out += open_decisions_section(tables, tab_n)

    out.append(Block("heading", "Différences de priorité entre groupes (saillance)", level=2))
    res = get_table(tables, "code_group_residuals")
    sig = tests[tests["significant"].fillna(False).astype(bool)] if len(tests) else tests
    if len(sig):
        items = []
        for r in sig.sort_values(["p_adj", "cramers_v", "code_id"],
                                 ascending=[True, False, True]).head(4).itertuples():
            cells = res[(res["code_id"] == r.code_id) & res["significant"].astype(bool)
                        & (res["residual"] > 0)] if len(res) else res
            desc = "; ".join(
                f"{c.group_code} : {fr_int(c.observed)} intervenant(s) sur "
                f"{fr_int(c.group_speakers)}" for c in cells.itertuples()) \
                if "group_speakers" in cells else ""
            items.append((scrub(r.label), (f"évoqué plus souvent par {desc} ; " if desc else "")
                          + f"p ajusté {fr_p_eq(r.p_adj)} "
                          f"(V de Cramér {fr_num(r.cramers_v, 2)})."))
        out.append(Block("bullets", items=tuple(items)))
        out.append(Block("paragraph",
                         f"{fr_int(len(sig))} des {fr_int(len(tests))} thèmes testés "
                         f"diffèrent nettement entre groupes dans la part de leurs intervenants "
                         f"qui les évoquent (test par permutation sur les intervenants, p "
                         f"ajusté < {fr_num(ALPHA, 2)}, correction de Benjamini-Hochberg ; "
                         f"groupes de moins de trois intervenants exclus)."))
    elif len(tests):
        out.append(Block("paragraph", f"Aucun des {fr_int(len(tests))} thèmes testés ne "
                                      f"diffère nettement entre groupes (p ajusté < "
                                      f"{fr_num(ALPHA, 2)})."))
    else:
        out.append(Block("paragraph", "Aucun test de comparaison entre groupes n'a été produit "
                                      "(pas de thème codé)."))

    out.append(Block("heading", "Recommandations les plus soutenues", level=2))
    if len(recs):
        reps = _rec_representatives(recs).head(4)
        items = [(rec_ref(r.cluster_id), f"{short(r.text, 150)} — "
                  f"{units.count(int(r.n_workshops))}"
                  f" ({join_cell(r.workshops)}) ; soutenue dans la discussion par : "
                  f"{join_cell(r.groups) if as_list(r.groups) else 'aucun groupe identifié'}"
                  + (f" ; contestée par : {join_cell(r.opposing_groups)}"
                     if as_list(getattr(r, "opposing_groups", "")) else "") + ".")
                 for r in reps.itertuples()]
        out.append(Block("bullets", items=tuple(items)))
    else:
        out.append(Block("paragraph", "Aucune recommandation regroupée pour cette exécution."))

    out.append(Block("heading", "Thèmes les mieux étayés", level=2))
    if len(ev):
        top = _rank_themes(ev)
        top = top[top["_rank"] == top["_rank"].max()].head(4)
        items = [(scrub(r.label), f"élément probant « {r.strength} » : "
                                  f"{plural(int(r.n_groups), 'groupe')}, "
                                  f"{units.count(int(r.n_workshops))}, "
                                  f"{plural(int(r.n_speakers), 'intervenant')}, "
                                  f"{plural(int(r.n_segments), 'segment')}"
                                  + (f" ; axe {axis_name(r.axis, r.axis_label)}."
                                     if str(r.axis or "").strip() else "."))
                 for r in top.itertuples()]
        out.append(Block("bullets", items=tuple(items)))
    else:
        out.append(Block("paragraph", "Aucun thème n'a été codé : le tableau des éléments "
                                      "probants est vide. Vérifiez la grille de codage et les "
                                      "codages (étape « code »)."))
    out.append(Block("pagebreak"))
    return out


def _rec_representatives(recs: pd.DataFrame) -> pd.DataFrame:
    rep = (recs.sort_values(["cluster_id", "is_representative", "rec_id"],
                            ascending=[True, False, True]).drop_duplicates("cluster_id"))
    size = recs.groupby("cluster_id").size()
    rep = rep.assign(n_recs=rep["cluster_id"].map(size).astype(int))
    rep = rep.assign(n_groups=[len(as_list(g)) for g in rep["groups"]])
    return rep.sort_values(["n_workshops", "n_groups", "n_recs", "cluster_id"],
                           ascending=[False, False, False, True]).reset_index(drop=True)


def _rank_themes(ev: pd.DataFrame) -> pd.DataFrame:
    return (ev.assign(_rank=[strength_rank(s) for s in ev["strength"]])
            .sort_values(["_rank", "n_segments", "code_id"], ascending=[False, False, True])
            .reset_index(drop=True))


def _overview_figures(figs, fig_n) -> list[Block]:
    out = [Block("heading", "Vue d'ensemble des thèmes par groupe", level=2)]
    more = (figure_block(figs, "heatmap_codes_groupes", fig_n)
            + figure_block(figs, "carte_consensus", fig_n))
    return out + (more or [Block("paragraph", "Pas de figure : aucun thème codé.")])


def _theme_sections(tables, glabels, figs, tab_n, units: Units = DEFAULT_UNITS) -> list[Block]:
    out = [Block("heading", "3. Thèmes principaux", level=1, name="themes")]
    ev = get_table(tables, "evidence_by_theme")
    if not len(ev):
        out.append(Block("paragraph", "Aucun thème n'a été codé dans cette exécution : il n'y a "
                                      "pas de section par thème."))
        return out
    cgc = get_table(tables, "code_group_counts")
    res = get_table(tables, "code_group_residuals")
    tests = get_table(tables, "code_group_tests").drop_duplicates("code_id").set_index("code_id")
    quotes = get_table(tables, "evidence_quotes")
    recs = get_table(tables, "rec_clusters")
    reps = _rec_representatives(recs).set_index("cluster_id") if len(recs) else None
    ranked = _rank_themes(ev).head(MAX_THEMES)
    out.append(Block("paragraph",
                     f"Les {fr_int(len(ranked))} thèmes ci-dessous sont ceux dont l'élément "
                     f"probant est le plus fort, puis les plus fréquents, parmi les "
                     f"{fr_int(len(ev))} thèmes du tableau des éléments probants."))
    for k, e in enumerate(ranked.to_dict("records"), start=1):
        code = e["code_id"]
        out.append(Block("heading", f"3.{k} {scrub(e['label'])}", level=2,
                         name=f"theme-{code}"))
        if pd.notna(e["definition"]) and str(e["definition"]).strip():
            out.append(Block("paragraph", scrub(e["definition"]), lead="Définition : "))
        out.append(Block("paragraph",
                         f"{plural(int(e['n_segments']), 'segment')}, "
                         f"{plural(int(e['n_speakers']), 'intervenant')}, "
                         f"{units.count(int(e['n_workshops']))}, "
                         f"{plural(int(e['n_groups']), 'groupe')} ({join_cell(e['groups'])}) ; "
                         + (f"axe {axis_name(e['axis'], e['axis_label'])} ; "
                            if str(e["axis"] or "").strip() else "")
                         + "accord : "
                         f"{e['consensus_class'] if pd.notna(e['consensus_class']) else '—'} ; "
                         f"élément probant « {e['strength']} » "
                         f"({units.reword(scrub(e['strength_reason']))}).",
                         lead="Ampleur : "))
        if code in tests.index:
            t = tests.loc[code]
            interp = f" — {scrub(t['interpretation']).rstrip('.')}" \
                if pd.notna(t["interpretation"]) \
                and str(t["interpretation"]).strip() else ""
            warn = f" Attention : {scrub(t['warning']).rstrip('.')}." \
                if pd.notna(t["warning"]) \
                and str(t["warning"]).strip() else ""
            out.append(Block("paragraph",
                             f"{t['method']} : χ² = {fr_num(t['chi2'], 2)} "
                             f"({fr_int(t['dof']) if pd.notna(t['dof']) else '—'} ddl), "
                             f"p {fr_p_eq(t['p_value'])}, p ajusté {fr_p_eq(t['p_adj'])}, "
                             f"V de Cramér = {fr_num(t['cramers_v'], 2)}{interp}.{warn}",
                             lead="Comparaison entre groupes : "))
        sub = cgc[cgc["code_id"] == code].sort_values("group_code")
        if len(sub):
            marks = {}
            if len(res):
                for r in res[res["code_id"] == code].itertuples():
                    if bool(r.significant):
                        marks[r.group_code] = ("sur-représenté" if r.residual > 0
                                               else "sous-représenté")
            rows = [(f"{r.group_code} — {glabels.get(r.group_code, r.stakeholder_group)}",
                     f"{fr_int(r.n_speakers)} sur {fr_int(getattr(r, 'group_speakers', 0))}"
                     if pd.notna(getattr(r, "group_speakers", None)) else fr_int(r.n_speakers),
                     fr_pct(r.rate_speakers) if pd.notna(getattr(r, "rate_speakers", None))
                     else "—",
                     fr_int(r.n_segments), marks.get(r.group_code, "—"))
                    for r in sub.itertuples()]
            out.append(table_block(f"Qui évoque ce thème (saillance) — {scrub(e['label'])}",
                              ["Groupe", "Intervenants", "% des intervenants du groupe",
                               "Segments", "Écart significatif"], rows, tab_n))
        q = quotes[quotes["code_id"] == code].sort_values(["rank", "segment_id"]).head(MAX_QUOTES) \
            if len(quotes) else quotes
        if len(q):
            out.append(Block("paragraph", "Ce qu'en disent les participants :"))
            for row in q.to_dict("records"):
                out.append(Block("quote", text=scrub(row["text"]), ref=quote_reference(row),
                                 segment_id=str(row["segment_id"])))
        else:
            out.append(Block("paragraph", "Aucune citation retenue pour ce thème."))
        rec_ids = rec_id_list(e.get("rec_clusters"))
        if reps is not None and rec_ids:
            items = []
            for rid in rec_ids:
                key = next((k for k in reps.index if rec_ref(k) == rec_ref(rid)), None)
                if key is not None:
                    items.append((rec_ref(key), f"{scrub(reps.loc[key, 'text'])} "
                                             f"(groupes : {join_cell(reps.loc[key, 'groups'])})."))
            if len(items) > 4:
                items = items[:4] + [("", f"… et {fr_int(len(items) - 4)} autre(s) "
                                          f"(section 5).")]
            if items:
                out.append(Block("paragraph", "Recommandations liées :"))
                out.append(Block("bullets", items=tuple(items)))
    return out


def _groups_section(tables, glabels, figs, fig_n, tab_n) -> list[Block]:
    out = [Block("heading", "4. Ce que chaque groupe met en avant", level=1, name="groupes")]
    dt = get_table(tables, "distinctive_terms")
    if len(dt):
        top = dt.sort_values(["group_code", "rank", "term"]).groupby("group_code").head(6)
        rows = [(f"{g} — {glabels.get(g, g)}", ", ".join(scrub(t) for t in sub["term"]))
                for g, sub in top.groupby("group_code", sort=True)]
        out.append(Block("paragraph", "Les termes ci-dessous sont ceux qu'un groupe emploie "
                                      "nettement plus que les autres (score de spécificité, "
                                      "classés par rang)."))
        out.append(table_block("Termes distinctifs par groupe (tableau distinctive_terms)",
                          ["Groupe", "Termes les plus distinctifs"], rows, tab_n))
        out += figure_block(figs, "termes_distinctifs", fig_n)
    else:
        out.append(Block("paragraph", "Aucun terme distinctif n'a été calculé."))
    ti = get_table(tables, "topic_info")
    ti = ti[ti["topic"] != -1] if len(ti) else ti
    out.append(Block("heading", "Thèmes émergents (modèle de thèmes)", level=2))
    if len(ti):
        cw = get_table(tables, "topic_crosswalk")
        new = set(cw.loc[cw["is_new_theme"].fillna(False).astype(bool), "topic"]) \
            if len(cw) else set()
        best = (cw[cw["best_code"].fillna(False).astype(bool)].drop_duplicates("topic")
                .set_index("topic")["code_id"]) if len(cw) else pd.Series(dtype=str)
        rows = [(fr_int(r.topic), scrub(str(r.label).replace("_", " ")), fr_int(r.count),
                 short(join_cell(r.terms), 90),
                 "nouveau thème" if r.topic in new else str(best.get(r.topic, "—")))
                for r in ti.sort_values(["count", "topic"], ascending=[False, True])
                .head(12).itertuples()]
        out.append(table_block("Thèmes émergents les plus fréquents (tableaux topic_info et "
                          "topic_crosswalk)",
                          ["N°", "Thème", "Segments", "Termes", "Code le plus proche"],
                          rows, tab_n))
        out += figure_block(figs, "themes_emergents_groupes", fig_n)
    else:
        out.append(Block("paragraph", "Le modèle de thèmes n'a produit aucun thème pour cette "
                                      "exécution."))
    return out


def _recs_section(tables, figs, fig_n, tab_n) -> list[Block]:
    out = [Block("heading", "5. Recommandations regroupées", level=1, name="recommandations")]
    recs = get_table(tables, "rec_clusters")
    allrecs = get_table(tables, "recommendations")
    if not len(recs):
        n_recs = plural(len(allrecs), "recommandation")
        out.append(Block("paragraph", f"Aucun regroupement de recommandations n'a été produit "
                                      f"({n_recs} dans les listes des ateliers)."))
        return out
    reps = _rec_representatives(recs)
    out.append(Block("paragraph",
                     f"Les {plural(recs['rec_id'].nunique(), 'recommandation')} des listes "
                     f"d'ateliers forment {plural(len(reps), 'groupe')} de formulations "
                     f"proches ; le tableau les classe par nombre d'ateliers, puis de groupes "
                     f"d'acteurs."))
    shown = reps
    if len(reps) > 20:
        shown = reps[reps["n_workshops"] >= 2]
        shown = shown if len(shown) else reps.head(20)
        out.append(Block("paragraph", f"Le tableau montre les {fr_int(len(shown))} groupes "
                                      f"proposés dans au moins deux ateliers ; les "
                                      f"{fr_int(len(reps) - len(shown))} autres figurent dans "
                                      f"le classeur evidence_tables.xlsx (feuille "
                                      f"« Recommandations »)."))
    rows = [(rec_ref(r.cluster_id), scrub(r.text), fr_int(r.n_recs), join_cell(r.workshops),
             join_cell(r.groups)) for r in shown.itertuples()]
    out.append(table_block("Groupes de recommandations : groupes qui les ont soutenues dans "
                           "la discussion",
                      ["N°", "Formulation représentative", "Formulations", "Ateliers",
                       "Soutenue par"], rows, tab_n))
    out += figure_block(figs, "recommandations_groupes", fig_n)
    out += _endorsement_matrix(tables, tab_n)
    return out


def _endorsement_matrix(tables, tab_n) -> list[Block]:
    """Recommendation × group: who spoke for or against each discussed recommendation."""
    m = get_table(tables, "rec_group_matrix")
    if not len(m):
        return []
    m = m[m["position"] != "non discuté"]
    if not len(m):
        return [Block("paragraph", "Aucune recommandation n'a été discutée de façon repérable "
                                   "(ni par son numéro, ni par une reformulation).")]
    piv = m.pivot_table(index="rec_id", columns="group_code", values="position",
                        aggfunc="first").fillna("non discuté").sort_index()
    recs = get_table(tables, "recommendations")
    text = dict(zip(recs["rec_id"], recs["text"], strict=True)) if len(recs) else {}
    rows = [(str(i), short(scrub(text.get(i, "")), 90), *[str(v) for v in row])
            for i, row in piv.iterrows()]
    return [Block("heading", "Qui soutient quelle recommandation", level=2),
            Block("paragraph", "Positions exprimées dans la discussion de l'atelier (par le "
                               "numéro cité, une reformulation ou une réponse à la "
                               "facilitation) ; la majorité des intervenants de chaque groupe "
                               "compte, une égalité donne « partagé »."),
            table_block("Recommandations × groupes : soutient, s'oppose, partagé, non discuté",
                        ["Recommandation", "Texte", *piv.columns], rows, tab_n)]


def build_brief(tables: Mapping[str, pd.DataFrame], figures: list[dict] | None = None,
                settings=None) -> list[Block]:
    """Compute the brief's blocks from the tables.

    Args:
        tables: the stage tables (missing ones count as empty).
        figures: what :func:`consultations.report.figures.make_figures` returned (name, caption,
            sources); figures not listed are left out.
        settings: the run's :class:`~consultations.core.config.Settings` (for the methods annex).

    Returns:
        The list of blocks, in reading order.

    """
    figs = {f["name"]: f for f in (figures or [])}
    glabels = group_label_map(tables)
    version = codebook_version(tables)
    ws = get_table(tables, "workshops")
    fig_n, tab_n = [0], [0]
    dates = sorted(str(d) for d in ws.get("date", pd.Series(dtype=str)).dropna())
    units = report_units(settings)
    meta = (f"{units.corpus()}, {fr_date(dates[0])} – {fr_date(dates[-1])}"
            if dates else units.corpus())
    blocks = [
        Block("title", report_setting(settings, "title")),
        Block("paragraph", _subtitle(settings, units), lead=""),
        Block("paragraph", f"{meta} · grille de codage version {version} · données "
                           f"pseudonymisées"),
        Block("toc"),
    ]
    blocks += caveats(tables)
    blocks += _synthesis(tables, glabels, tab_n, units)
    blocks += axis_sections(tables, glabels, tab_n, "2")
    blocks += _overview_figures(figs, fig_n)
    blocks += _theme_sections(tables, glabels, figs, tab_n, units)
    blocks += _groups_section(tables, glabels, figs, fig_n, tab_n)
    blocks += _recs_section(tables, figs, fig_n, tab_n)
    blocks += methods_annex(tables, settings, version, tab_n)
    blocks += provenance_annex(tables, blocks, tab_n)
    return blocks


def _subtitle(settings, units: Units) -> str:
    """``[report] subtitle``; unset, the default names the corpus's own unit noun."""
    text = report_setting(settings, "subtitle")
    if text == REPORT_DEFAULTS["subtitle"] and not units.default:
        return f"Synthèse des {units.many} — note à l'équipe de rédaction"
    return text


def brief_quotes(blocks: list[Block]) -> list[Block]:
    """Return the quote blocks of a brief."""
    return [b for b in blocks if b.kind == "quote"]


def brief_text(blocks: list[Block]) -> str:
    """All the brief's text, one block per line (for checks and tests)."""
    lines = []
    for b in blocks:
        if b.kind == "bullets":
            lines += [f"{lead} {text}".strip() for lead, text in b.items]
        elif b.kind == "table":
            lines.append(b.caption)
            lines += [" | ".join(b.columns)] + [" | ".join(r) for r in b.rows]
        elif b.kind == "figure":
            lines.append(b.caption)
        elif b.kind == "quote":
            lines.append(f"« {b.text} » ({b.ref})")
        elif b.text or b.lead:
            lines.append(f"{b.lead}{b.text}")
    return "\n".join(lines)
