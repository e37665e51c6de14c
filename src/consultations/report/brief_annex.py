"""The brief's annexes: A (methods) and B (provenance of the quotes).

Annex A states the corpus, codebook and coding, inter-coder agreement, topic model, tests,
evidence-grading rule and limits; annex B gives each quoted segment's workshop, file and lines.
"""

from __future__ import annotations

from pathlib import PurePath

import pandas as pd

from consultations.core.config import FACILITATION
from consultations.report.brief_blocks import (
    ALPHA,
    Block,
    fr_date,
    fr_int,
    fr_num,
    get_table,
    group_label_map,
    participant_rows,
    plural,
    report_units,
    scrub,
    strength_rank,
    table_block,
)

__all__ = ["SOURCE_NAMES", "methods_annex", "provenance_annex"]

#: Origin of a coding (``codings.source``) → how the brief names it.
SOURCE_NAMES = {"rule": "règles de la grille", "manual": "codage manuel",
                "review": "décisions de revue", "topic": "modèle de thèmes",
                "suggestion": "suggestions acceptées", "model": "modèle appris (suggestions)",
                "qdpx": "codage importé (.qdpx)"}
_SETTING_NAMES = {"default": "par défaut", "auto": "automatique", "none": "aucun"}


def _setting(value) -> str:
    """Name a topic-model setting as the brief does (« default » → « par défaut »)."""
    return _SETTING_NAMES.get(str(value).strip().lower(), str(value))


def methods_annex(tables, settings, version, tab_n) -> list[Block]:
    """Annex A (methods), computed from the tables; ``tab_n`` is the running table number."""
    out = [Block("pagebreak"),
           Block("heading", "Annexe A — Méthodes", level=1, name="annexe-methodes")]
    ws = get_table(tables, "workshops")
    segs = get_table(tables, "segments")
    part = participant_rows(tables)
    out.append(Block("heading", "A.1 Corpus", level=2))
    if len(ws):
        rows = []
        for r in ws.sort_values(["date", "workshop_id"]).itertuples():
            s = segs[segs["workshop_id"] == r.workshop_id] if len(segs) else segs
            p = part[part["workshop_id"] == r.workshop_id] if len(part) else part
            rows.append((r.workshop_id, scrub(r.title), fr_date(r.date), scrub(r.location),
                         fr_int(len(s)), fr_int(p["speaker"].nunique() if len(p) else 0)))
        out.append(table_block("Ateliers du corpus", ["Atelier", "Titre", "Date", "Lieu",
                                                      "Segments",
                                                 "Intervenants (hors facilitation)"],
                          rows, tab_n))
    if len(part):
        g = part.groupby("group_code").agg(seg=("segment_id", "size"),
                                           spk=("speaker", "nunique"),
                                           words=("n_words", "sum")).sort_index()
        glab = group_label_map(tables)
        rows = [(f"{k} — {glab.get(k, k)}", fr_int(v.spk), fr_int(v.seg), fr_int(v.words))
                for k, v in g.iterrows()]
        out.append(table_block("Prises de parole par groupe d'acteurs (hors facilitation)",
                          ["Groupe", "Intervenants", "Segments", "Mots"], rows, tab_n))
    n_fac = int(segs["is_facilitator"].fillna(False).astype(bool).sum()) \
        if "is_facilitator" in segs and len(segs) else 0
    recs = get_table(tables, "recommendations")
    out.append(Block("paragraph",
                     f"Les transcriptions sont découpées en segments (phrases, analyse spaCy "
                     f"du français). Les {plural(n_fac, 'segment')} de la facilitation "
                     f"({FACILITATION}) sont conservés mais exclus des comparaisons entre "
                     f"groupes. Les listes de recommandations comptent "
                     f"{plural(len(recs), 'recommandation')}."))

    out.append(Block("heading", "A.2 Grille de codage et codage", level=2))
    cb = get_table(tables, "codebook")
    codings = get_table(tables, "codings")
    src = (codings.groupby("source").size().sort_index() if len(codings)
           else pd.Series(dtype=int))
    src_txt = ", ".join(f"{SOURCE_NAMES.get(str(k), str(k))} : {fr_int(v)}"
                        for k, v in src.items()) or "aucun"
    out.append(Block("paragraph",
                     f"Grille de codage version {version}, {plural(len(cb), 'code')}. "
                     f"{plural(len(codings), 'codage')} au total, par origine : {src_txt}. "
                     f"La grille de codage complète figure dans le classeur "
                     f"evidence_tables.xlsx (feuille « Grille de codage ») et dans le "
                     f"fichier codebook.qdc (format d'échange REFI-QDA)."))
    conf = get_table(tables, "review_conflicts")
    if len(conf):
        unresolved = int((conf["status"].astype(str) == "non résolu").sum()) \
            if "status" in conf else len(conf)
        out.append(Block("paragraph",
                         f"{plural(len(conf), 'paire')} (segment, code) sur lesquelles des "
                         f"relecteurs ont décidé différemment ; {fr_int(unresolved)} non "
                         "résolue(s) comptent comme non vérifiées (le codage automatique est "
                         "conservé tel quel). La décision retenue est la plus récente par date "
                         "d'import, jamais l'ordre des noms de fichiers.",
                         lead="Conflits de revue : "))
    anchors = get_table(tables, "coding_anchors")
    if len(anchors) and "status" in anchors:
        orphans = int((anchors["status"] == "orphaned").sum())
        moved = int((anchors["status"] == "moved").sum())
        if orphans or moved:
            out.append(Block("paragraph",
                             f"{plural(moved, 'codage humain')} suivi(s) sur un texte modifié "
                             f"ou déplacé ; {plural(orphans, 'codage')} dont le texte a disparu "
                             "(non appliqué(s), feuille « Codages orphelins »).",
                             lead="Codages ancrés au texte : "))

    out.append(Block("heading", "A.3 Accord inter-codeurs", level=2))
    out += _agreement_blocks(get_table(tables, "agreement"), tab_n,
                             get_table(tables, "rule_quality"))

    out.append(Block("heading", "A.4 Modèle de thèmes", level=2))
    ti = get_table(tables, "topic_info")
    n_top = int((ti["topic"] != -1).sum()) if len(ti) else 0
    n_out = int(ti.loc[ti["topic"] == -1, "count"].sum()) if len(ti) else 0
    cw = get_table(tables, "topic_crosswalk")
    n_new = int(cw.loc[cw["is_new_theme"].fillna(False).astype(bool), "topic"].nunique()) \
        if len(cw) else 0
    s = settings
    setting_txt = (f"réglages : plongements « {_setting(s.embedding)} », réduction "
                   f"« {_setting(s.reduction)} », regroupement « {_setting(s.clustering)} », "
                   f"nombre de thèmes "
                   f"{'automatique' if s.n_topics is None else fr_int(s.n_topics)}, graine "
                   f"{s.seed}") if s is not None else "réglages non transmis"
    out.append(Block("paragraph",
                     f"BERTopic, hors ligne ({setting_txt}) : {plural(n_top, 'thème')}, "
                     f"{plural(n_out, 'segment')} hors thème ; "
                     f"{plural(n_new, 'thème')} sans code correspondant dans la grille de codage "
                     f"(« nouveau thème »)."))

    out.append(Block("heading", "A.5 Tests statistiques", level=2))
    tests = get_table(tables, "code_group_tests")
    if len(tests):
        meth = tests["method"].astype(str).value_counts().sort_index()
        meth_txt = ", ".join(f"{k} ({fr_int(v)})" for k, v in meth.items())
        n_sig = int(tests["significant"].fillna(False).astype(bool).sum())
        n_warn = int(tests["warning"].fillna("").astype(str).str.strip().ne("").sum())
        out.append(Block("paragraph",
                         f"Pour chaque thème, la répartition des segments codés entre groupes "
                         f"d'acteurs (facilitation exclue) est testée contre l'indépendance : "
                         f"{meth_txt}. Les p-valeurs des {fr_int(len(tests))} tests sont "
                         f"corrigées pour comparaisons multiples par la procédure de "
                         f"Benjamini-Hochberg (taux de fausses découvertes) ; un thème est dit "
                         f"différer entre groupes si p ajusté < {fr_num(ALPHA, 2)} "
                         f"({fr_int(n_sig)} cas). La taille d'effet est le V de Cramér, de 0 "
                         f"(aucun lien entre thème et groupe) à 1 (thème propre à un groupe) ; "
                         f"p est la probabilité d'observer un tel écart si les groupes ne "
                         f"différaient pas ; ddl désigne les degrés de liberté du test. Les "
                         f"cellules marquantes sont repérées par les résidus ajustés. "
                         f"Tests avec avertissement (effectifs faibles) : {fr_int(n_warn)}."))
    else:
        out.append(Block("paragraph", "Aucun test n'a été calculé (pas de thème codé)."))

    out.append(Block("heading", "A.6 Règle de gradation des éléments probants", level=2))
    ev = get_table(tables, "evidence_by_theme")
    units = report_units(settings)
    rule = units.reword(_grading_rule(settings) or "")
    if rule:
        out.append(Block("paragraph", rule))
    if len(ev):
        counts = ev["strength"].astype(str).value_counts()
        order = sorted(counts.index, key=lambda s: (-strength_rank(s), s))
        rows = []
        for lvl in order:
            sub = ev[ev["strength"].astype(str) == lvl].sort_values("code_id")
            rows.append((lvl, fr_int(counts[lvl]),
                         units.reword(scrub(sub.iloc[0]["strength_reason"]))))
        out.append(table_block("Niveaux d'élément probant attribués",
                          ["Niveau", "Thèmes", "Exemple de justification"], rows, tab_n))
    else:
        out.append(Block("paragraph", "Aucun élément probant n'a été gradué."))

    out.append(Block("heading", "A.7 Limites", level=2))
    out.append(Block("bullets", items=(
        ("Représentativité", "les participants ont été invités aux ateliers ; leurs propos ne "
                             "valent pas sondage de la population ni de chaque institution."),
        ("Fréquence", "un thème souvent évoqué n'est pas nécessairement prioritaire : les "
                      "fréquences dépendent du temps de parole et de l'ordre du jour."),
        ("Codage", "le codage par règles peut manquer des formulations ou en retenir à tort ; "
                   "l'accord inter-codeurs (A.3) et la revue des codes en donnent la mesure."),
        ("Petits effectifs", "avec peu d'intervenants par groupe, un seul intervenant prolixe "
                             "peut peser sur un taux ; les effectifs par intervenant et par "
                             "atelier sont donnés avec chaque taux."),
        ("Transcription", "les transcriptions sont des comptes rendus, non des verbatims "
                          "intégraux ; les passages inaudibles sont exclus."),
    )))
    return out


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "—"
    if isinstance(v, bool):
        return "oui" if v else "non"
    if isinstance(v, int):
        return fr_int(v)
    if isinstance(v, float):
        return fr_num(v, 2)
    return scrub(v)


def _agreement_blocks(ag: pd.DataFrame, tab_n, quality: pd.DataFrame | None = None
                      ) -> list[Block]:
    """Agreement figures (without coder names: only the comparison, code and measures).

    One table for the human coders per code, one line per comparison of the rule coder with
    a human reference, and the rule coder's macro-F1 on held-out workshops when measured.
    """
    if not len(ag):
        return [Block("paragraph", "Aucune mesure d'accord inter-codeurs n'est disponible "
                                   "(pas de double codage pour cette exécution).")]
    from consultations.coding.agreement import OVERALL, human_rows

    units = ag["unit_set"].dropna().astype(str) if "unit_set" in ag else pd.Series(dtype=str)
    note = ("Unité : le segment (phrase) ; chaque code est une variable binaire (présent / "
            "absent) par segment. Intervalles de confiance : bootstrap percentile à 95 % sur "
            "les segments, graine fixée.")
    if len(units):
        note += f" Unités retenues : {scrub(units.iloc[0])}."
    out = [Block("paragraph", note)]

    def ci(r, name, low, high):
        v = _cell(r.get(name))
        if low in r and high in r and pd.notna(r.get(low)) and pd.notna(r.get(high)):
            v += f" [{fr_num(r[low], 2)} ; {fr_num(r[high], 2)}]"
        return v

    def row(r, first):
        return (first, _cell(r.get("n_units")),
                ci(r, "percent_agreement", "pa_ci_low", "pa_ci_high"),
                ci(r, "kappa", "kappa_ci_low", "kappa_ci_high"),
                ci(r, "alpha", "alpha_ci_low", "alpha_ci_high"))

    comp = ag["comparison"].astype(str) if "comparison" in ag else pd.Series("", index=ag.index)
    human = human_rows(ag)
    human = human if len(human) else ag
    human = human.assign(_o=(human["code_id"].astype(str) != OVERALL).astype(int)) \
        .sort_values(["_o", "code_id"])
    rows = [row(r, "ensemble des codes" if str(r["code_id"]) == OVERALL else str(r["code_id"]))
            for r in human.to_dict("records")]
    headers = ["Accord brut", "Kappa de Cohen", "Alpha de Krippendorff"]
    out.append(table_block("Accord entre codeurs humains par code, intervalle de confiance "
                           "à 95 %", ["Code", "Unités", *headers], rows, tab_n))
    # Coders are named "codeur 1", "codeur 2"… in alphabetical order of their names.
    names = sorted({str(v) for col in ("coder_a", "coder_b") if col in human
                    for v in human[col].dropna()})
    alias = {n: f"codeur {i}" for i, n in enumerate(names, 1)}
    rules = ag[comp.str.startswith("règles")]
    if len(rules):
        rules = rules[rules["code_id"].astype(str) == OVERALL]
        rows = sorted(row(r, "Règles vs " + alias.get(str(r.get("coder_b")), "un codeur"))
                      for r in rules.to_dict("records"))
        out.append(table_block("Codage automatique par règles comparé à chaque codeur humain, "
                          "ensemble des codes",
                          ["Comparaison", "Unités", *headers], rows, tab_n))
    if quality is not None and len(quality) and {"split", "code_id", "f1"} <= set(quality):
        q = quality[quality["code_id"].astype(str) == "_macro"]
        split_names = {"développement": "ateliers de mise au point des règles",
                       "test": "ateliers tenus à l'écart (test)", "ensemble": "tous"}
        refs = {"consensus": "consensus des codeurs", **alias}
        rows = []
        for r in q.sort_values(["split", "reference"]).to_dict("records"):
            ref = refs.get(str(r["reference"]), "un codeur")
            rows.append((split_names.get(str(r["split"]), str(r["split"])), ref,
                         _cell(r.get("n_units")), fr_num(r["precision"], 2),
                         fr_num(r["recall"], 2), fr_num(r["f1"], 2)))
        out.append(table_block("Qualité des règles : précision, rappel et F1 (moyennes par code) "
                          "contre les codes humains",
                          ["Ateliers", "Référence", "Unités", "Précision", "Rappel", "F1"],
                          rows, tab_n))
    return out


def _grading_rule(settings=None) -> str:
    """State the evidence-grading rule from the evidence module's thresholds."""
    try:
        from consultations.evidence.grades import STRENGTH
    except Exception:  # noqa: BLE001 - the module may be absent or broken; say nothing then
        return ""
    extra = (getattr(settings, "extra", None) or {}).get("evidence") or {}
    rule = {**STRENGTH, **(extra.get("strength") or {})}
    names = {"n_groups": "groupes", "n_workshops": "ateliers", "n_speakers": "intervenants",
             "n_segments": "segments"}

    def mins(level):
        return ", ".join(f"≥ {fr_int(v)} {names.get(k, k)}" for k, v in rule[level].items())

    try:
        return (f"Un thème est gradué « fort » s'il réunit {mins('fort')} ; « moyen » s'il "
                f"réunit {mins('moyen')} ; « faible » sinon. Les « groupes » sont ceux qui "
                f"évoquent le thème au-dessus du seuil de l'analyse comparative. La fiabilité du "
                f"codage plafonne ensuite la note : alpha de Krippendorff (accord entre "
                f"codeurs corrigé du hasard, 1 = accord parfait) < "
                f"{fr_num(rule['alpha_faible'], 3)} → « faible » ; < "
                f"{fr_num(rule['alpha_moyen'], 2)} → au plus « moyen » ; sans double codage, "
                f"pas de plafond (la justification le signale).")
    except (KeyError, TypeError):
        return ""


def provenance_annex(tables, blocks: list[Block], tab_n) -> list[Block]:
    """Annex B: where each segment quoted in ``blocks`` comes from (workshop, file, lines)."""
    out = [Block("heading", "Annexe B — Provenance des citations", level=1,
                 name="annexe-provenance")]
    cited = []
    for b in blocks:
        if b.kind == "quote" and b.segment_id not in cited:
            cited.append(b.segment_id)
    if not cited:
        out.append(Block("paragraph", "Aucune citation dans cette note."))
        return out
    segs = get_table(tables, "segments").drop_duplicates("segment_id").set_index("segment_id")
    ws = get_table(tables, "workshops").drop_duplicates("workshop_id").set_index("workshop_id")
    quotes = get_table(tables, "evidence_quotes").drop_duplicates("segment_id")
    quotes = quotes.set_index("segment_id")
    rows = []
    for sid in sorted(cited):
        q = quotes.loc[sid] if sid in quotes.index else None
        s = segs.loc[sid] if sid in segs.index else None
        src = s if s is not None else q
        wid = str(src["workshop_id"]) if src is not None else "?"
        w = ws.loc[wid] if wid in ws.index else None
        lines = "?"
        if s is not None:
            lines = (fr_int(s["line_start"]) if s["line_start"] == s["line_end"]
                     else f"{fr_int(s['line_start'])}–{fr_int(s['line_end'])}")
        elif q is not None:
            lines = fr_int(q["line_start"])
        rows.append((sid, str(src["speaker"]) if src is not None else "?", wid,
                     fr_date(w["date"]) if w is not None else "—",
                     PurePath(str(src["source_file"])).name if src is not None else "?", lines))
    out.append(Block("paragraph", "Chaque référence de citation (segment) renvoie à un atelier, "
                                  "à un fichier de transcription et à ses lignes. Les noms des "
                                  "participants ne figurent dans aucun fichier exporté."))
    out.append(table_block("Provenance des citations (ateliers : voir A.1)",
                      ["Segment", "Intervenant", "Atelier", "Date", "Fichier", "Lignes"],
                      rows, tab_n))
    return out
