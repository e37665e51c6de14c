"""Evidence tables for the drafting team: one row per theme, one row per strategy axis.

Rules (defaults in :data:`DEFAULTS` and :data:`STRENGTH`; override them with
``settings.extra["evidence"]``):

- **Counts** are those of the compare stage: facilitators out, a code present on a segment
  from any non-negated coding, child codes rolled up to their parents.
- **Quotes.** Candidates are the non-facilitator segments carrying the code with 8 to 60
  words (all of them when none fits). Each is scored by the cosine between its TF-IDF vector
  (lemmas, stop words out, fitted on all participant segments) and the centroid of the
  code's segments: the most *central* wording of the theme. Candidates are ranked by score
  (rounded to 10 decimals) then ``segment_id``; the first quote is the best one, the next
  ones are the best of groups not quoted yet, and only when every group has been quoted does
  a group get a second quote. Up to ``n_quotes`` (3). A quote is the segment's whole text.
- **Evidence strength** (:func:`grade`), from breadth (groups with at least
  ``min_group_speakers`` participants, workshops), depth (speakers first, segments second),
  the reliability of the code (human agreement) and its verification status:

  - *fort*: raised by ≥ 3 groups, in ≥ 3 workshops, by ≥ 6 speakers, in ≥ 10 segments;
  - *moyen*: ≥ 2 groups, ≥ 2 workshops, ≥ 3 speakers, ≥ 5 segments;
  - *faible*: anything less;
  - then agreement caps the grade: Krippendorff's alpha < 0.667 → *faible*; 0.667 ≤ alpha
    < 0.8 → at most *moyen*; no alpha (no double coding) → no cap, and the reason says so.

  then a theme that rests only on automatic codings is capped at *moyen* (at *faible* when
  the rule coder's held-out F1 for the code is below 0.5). "Groups" are those raising the
  code above the compare stage's threshold.
- **Axis table.** Per strategy axis: its codes; each option (code) with its consensus
  class; supporting groups (groups raising an option); opposing groups (for position codes,
  the groups holding another position exclusively); linked recommendation clusters (those
  put forward by the most workshops first, at most 8); the strength of the best-supported
  option.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from consultations.compare.groups import code_presence, fr_num
from consultations.core.progress import progress_bar
from consultations.core.schema import participant_segments
from consultations.evidence.decisions import open_decisions, participation, position_quotes

__all__ = ["DEFAULTS", "PREAMBLE", "STRENGTH", "evidence_by_axis", "evidence_by_theme", "grade",
           "quote_candidates", "run_stage", "select_quotes"]

DEFAULTS: dict = {"n_quotes": 3, "quote_words": (8, 60)}

#: The evidence-strength rule: minimums per grade, then the agreement caps.
STRENGTH: dict = {
    "fort": {"n_groups": 3, "n_workshops": 3, "n_speakers": 6, "n_segments": 10},
    "moyen": {"n_groups": 2, "n_workshops": 2, "n_speakers": 3, "n_segments": 5},
    "alpha_faible": 0.667,   # below: capped at faible
    "alpha_moyen": 0.8,      # below: capped at moyen
    "f1_min": 0.5,           # automatic-only theme with a lower held-out F1: faible
}

_ORDER = {"faible": 0, "moyen": 1, "fort": 2}
_NAMES = {"n_groups": "groupes", "n_workshops": "ateliers", "n_speakers": "intervenants",
          "n_segments": "segments"}


def grade(n_groups: int, n_workshops: int, n_speakers: int, n_segments: int,
          alpha: float | None = None, rule: dict | None = None, *,
          verified_share: float | None = None, rule_f1: float | None = None
          ) -> tuple[str, str]:
    """Grade the evidence for a theme and say why, in French.

    Args:
        n_groups: groups raising the theme above the threshold (breadth).
        n_workshops: workshops where it was raised (breadth).
        n_speakers: distinct participants who raised it (depth).
        n_segments: segments carrying it (depth).
        alpha: Krippendorff's alpha of the code, or ``None``/NaN when not measured.
        rule: thresholds (default :data:`STRENGTH`).
        verified_share: share of the theme's segments coded or confirmed by a person
            (manual code, review decision); ``None`` when unknown.
        rule_f1: the automatic coder's F1 for this code on held-out workshops (``None``
            when not measured).

    Returns:
        ``(strength, reason)`` with strength ∈ fort / moyen / faible. A theme that rests
        only on automatic codings is at most *moyen*, and at most *faible* when the automatic
        coder's measured F1 for it is below ``rule["f1_min"]`` (0.5).

    """
    rule = rule or STRENGTH
    vals = {"n_groups": n_groups, "n_workshops": n_workshops, "n_speakers": n_speakers,
            "n_segments": n_segments}
    level = "faible"
    for name in ("fort", "moyen"):
        if all(vals[k] >= v for k, v in rule[name].items()):
            level = name
            break
    facts = ", ".join(f"{vals[k]} {_NAMES[k] if vals[k] > 1 else _NAMES[k][:-1]}"
                      for k in _NAMES)
    reason = f"{facts} → {level}"
    if alpha is None or (isinstance(alpha, float) and np.isnan(alpha)):
        reason += " ; fiabilité du codage non mesurée"
    elif alpha < rule["alpha_faible"]:
        if level != "faible":
            reason += f", ramené à faible (alpha = {fr_num(alpha, 2)} < " \
                      f"{fr_num(rule['alpha_faible'], 3)})"
        else:
            reason += f" ; alpha = {fr_num(alpha, 2)}"
        level = "faible"
    elif alpha < rule["alpha_moyen"] and level == "fort":
        level = "moyen"
        reason += (f", ramené à moyen (alpha = {fr_num(alpha, 2)} < "
                   f"{fr_num(rule['alpha_moyen'], 1)})")
    else:
        reason += f" ; alpha = {fr_num(alpha, 2)}"
    if verified_share is not None and not np.isnan(verified_share):
        pct = fr_num(100 * verified_share, 0)
        if verified_share == 0:
            f1_min = rule.get("f1_min", 0.5)
            if rule_f1 is not None and not np.isnan(rule_f1) and rule_f1 < f1_min \
                    and level != "faible":
                level = "faible"
                reason += (f", ramené à faible (codage automatique seul, F1 mesuré "
                           f"{fr_num(rule_f1, 2)} < {fr_num(f1_min, 1)})")
            elif level == "fort":
                level = "moyen"
                reason += ", ramené à moyen (codage automatique seul, non vérifié)"
            else:
                reason += " ; codage automatique seul"
        else:
            reason += f" ; {pct} % des segments vérifiés par un codeur"
    return level, reason


#: A segment that only announces what the speaker is about to say is not a quote.
PREAMBLE = re.compile(
    r"^\W*(?:(?:alors|bon|oui|donc|et|mais|moi|pour (?:le|la|les|l')[^,]{0,60}),?\s+)*"
    r"(?:je (?:veux|voudrais|vais|souhaite|souhaiterais|tiens à) (?:dire|parler|ajouter|"
    r"revenir|rappeler|insister|poser|faire)|j'ai (?:une|deux|trois) (?:chose|question|remarque)"
    r"|permettez-moi|un mot sur|deux choses|une chose)\b[^.!?]{0,40}[.:!?]?\s*$",
    re.IGNORECASE)


def quote_candidates(codings: pd.DataFrame, codebook: pd.DataFrame,
                     positions: pd.DataFrame | None = None) -> pd.DataFrame:
    """(segment, code) pairs a quote may illustrate: the code's evidence is in the segment.

    A segment qualifies for a code when a person coded it (manual code, review decision) or
    the rule coder matched the code's words in it (not negated). Codes roll up to parents.
    For the options of a position question, only segments that state that option (the
    speakers' stance evidence, verified or confident) qualify: a sentence arguing against
    integrating the militias never illustrates « intégrer ».
    """
    c = codings
    matched = c["matched_text"].fillna("").astype(str).str.strip().ne("") \
        if "matched_text" in c else pd.Series(True, index=c.index)
    keep = c["source"].isin(["manual", "review"]) | ((c["source"] == "rule") & matched)
    if "negated" in c:
        keep &= ~c["negated"].astype(bool)
    pres = code_presence(c[keep], codebook)
    if positions is not None and len(positions):
        from consultations.compare.positions import position_questions

        options = {o for opts in position_questions(codebook).values() for o in opts}
        ok = positions[positions["status"] != "à vérifier"]
        stated = set(zip(ok["evidence_segment_id"], ok["stance"], strict=True))
        pres = pres[[cid not in options or (sid, cid) in stated
                     for sid, cid in zip(pres["segment_id"], pres["code_id"], strict=True)]]
    return pres.reset_index(drop=True)


def select_quotes(segments: pd.DataFrame, presence: pd.DataFrame, *, n_quotes: int = 3,
                  quote_words: tuple[int, int] = (8, 60), order: list[str] | None = None
                  ) -> pd.DataFrame:
    """Pick representative quotes per code (rule in the module docstring).

    Args:
        segments: the segments table.
        presence: ``segment_id, code_id`` pairs (see :func:`compare.code_presence`).
        n_quotes: quotes per code at most.
        quote_words: preferred length range in words.
        order: the codes in the order the brief shows them; a segment quoted for one code is
            not quoted again for a later one (one quote serves one theme).

    Returns:
        ``evidence_quotes`` (contract columns, then ``group_code``, ``line_end``,
        ``centrality``).

    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    from consultations.core.textutils import stop_word_tokens

    cols = ["code_id", "rank", "segment_id", "speaker", "stakeholder_group", "workshop_id",
            "source_file", "line_start", "text", "group_code", "line_end", "centrality"]
    segs = participant_segments(segments).sort_values("segment_id").reset_index(drop=True)
    if segs.empty or presence.empty:
        return pd.DataFrame(columns=cols)
    vec = TfidfVectorizer(stop_words=sorted(stop_word_tokens()), token_pattern=r"(?u)\b\w\w+\b",
                          sublinear_tf=True)
    try:
        x = vec.fit_transform(segs["lemmas"].fillna(""))
    except ValueError:  # empty vocabulary
        x = None
    pos = pd.Series(segs.index, index=segs["segment_id"])
    lo, hi = quote_words
    rows = []
    used: set[str] = set()
    pre = segs["text"].fillna("").astype(str).str.match(PREAMBLE)
    groups = dict(list(presence.groupby("code_id", sort=True)))
    codes = [c for c in (order or []) if c in groups] + sorted(set(groups) - set(order or []))
    for code_id in codes:
        sub = groups[code_id]
        idx = pos.reindex(sub["segment_id"]).dropna().astype(int).to_numpy()
        idx = np.array([i for i in idx if not pre.iloc[i]
                        and segs["segment_id"].iloc[i] not in used], dtype=int)
        if len(idx) == 0:
            continue
        if x is not None:
            m = x[idx]
            centroid = normalize(np.asarray(m.mean(axis=0)))
            score = np.asarray(m @ centroid.T).ravel()
        else:
            score = np.zeros(len(idx))
        cand = segs.loc[idx].assign(centrality=np.round(score, 10))
        fits = cand["n_words"].between(lo, hi)
        if fits.any():
            cand = cand[fits]
        cand = cand.sort_values(["centrality", "segment_id"], ascending=[False, True])
        chosen, seen = [], set()
        for _ in range(2):  # first pass: one per new group; second: fill up
            for r in cand.itertuples():
                if len(chosen) >= n_quotes:
                    break
                if r.segment_id in {c.segment_id for c in chosen}:
                    continue
                if not seen or r.group_code not in seen or _ == 1:
                    chosen.append(r)
                    seen.add(r.group_code)
        used.update(r.segment_id for r in chosen)
        for rank, r in enumerate(chosen, start=1):
            rows.append({"code_id": code_id, "rank": rank, "segment_id": r.segment_id,
                         "speaker": r.speaker, "stakeholder_group": r.stakeholder_group,
                         "workshop_id": r.workshop_id, "source_file": r.source_file,
                         "line_start": r.line_start, "text": r.text,
                         "group_code": r.group_code, "line_end": getattr(r, "line_end", None),
                         "centrality": float(r.centrality)})
    return pd.DataFrame(rows, columns=cols)


def _fmt_pct(x: float) -> str:
    return f"{fr_num(100 * x, 0)} %"


def _rolled_links(rec_links: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    if rec_links.empty:
        return pd.DataFrame(columns=["rec_id", "code_id"])
    pseudo = rec_links[["rec_id", "code_id"]].rename(columns={"rec_id": "segment_id"})
    out = code_presence(pseudo.assign(negated=False), codebook)
    return out.rename(columns={"segment_id": "rec_id"})


def _cluster_text(clusters: pd.DataFrame, rec_ids: set) -> str:
    if clusters.empty or not rec_ids:
        return ""
    sub = clusters[clusters["rec_id"].isin(rec_ids)]
    parts = []
    for cid, c in clusters[clusters["cluster_id"].isin(sub["cluster_id"])].groupby(
            "cluster_id", sort=True):
        n = int(c["n_workshops"].iloc[0])
        parts.append(f"{cid} ({n} atelier{'s' if n > 1 else ''})")
    return " ; ".join(parts)


def _verified_share(codings: pd.DataFrame | None, presence: pd.DataFrame,
                    codebook: pd.DataFrame) -> pd.Series | None:
    """Per code: share of its segments that a person coded or confirmed (rolled up)."""
    if codings is None or "source" not in codings:
        return None
    human = codings[codings["source"].isin(["manual", "review"])]
    hp = code_presence(human, codebook) if len(human) else human[["segment_id", "code_id"]]
    ver = set(zip(hp["segment_id"], hp["code_id"], strict=True))
    flags = [(s, c) in ver for s, c in zip(presence["segment_id"], presence["code_id"],
                                           strict=True)]
    return presence.assign(v=flags).groupby("code_id")["v"].mean()


def evidence_by_theme(tables: dict, presence: pd.DataFrame, *, rule: dict | None = None
                      ) -> pd.DataFrame:
    """One row per code of the codebook: the evidence the drafting team reads.

    Args:
        tables: needs ``segments``, ``codebook``, ``code_group_counts``,
            ``code_group_tests``, ``consensus``; uses ``axes``, ``agreement``,
            ``rec_links``, ``rec_clusters`` when present.
        presence: ``segment_id, code_id`` pairs.
        rule: evidence-strength thresholds (default :data:`STRENGTH`).

    Returns:
        ``evidence_by_theme`` (contract columns, then ``rec_ids``).

    """
    segs = participant_segments(tables["segments"])
    cb = tables["codebook"].astype({"code_id": str})
    counts, tests, cons = (tables["code_group_counts"], tables["code_group_tests"],
                           tables["consensus"])
    axes = tables.get("axes")
    axis_label = dict(zip(axes["axis"], axes["axis_label"], strict=True)) \
        if axes is not None and len(axes) else {}
    agreement = tables.get("agreement")
    alpha = {}
    if agreement is not None and "alpha" in agreement:
        from consultations.coding.agreement import human_rows

        human = human_rows(agreement)
        alpha = dict(zip(human["code_id"].astype(str), human["alpha"], strict=True))
    links = _rolled_links(tables.get("rec_links", pd.DataFrame(columns=["rec_id", "code_id"])),
                          cb)
    clusters = tables.get("rec_clusters", pd.DataFrame(columns=["cluster_id", "rec_id",
                                                                 "n_workshops"]))
    verified = _verified_share(tables.get("codings"), presence, cb)
    rule_f1 = {}
    rq = tables.get("rule_quality")
    if rq is not None and len(rq):
        held = rq[(rq["split"] == "test") & (rq["reference"] == "consensus")]
        rule_f1 = {str(c): float(f) for c, f, n in zip(held["code_id"], held["f1"],
                                                       held["n_reference"], strict=True)
                   if pd.notna(f) and n > 0}
    hits = presence.merge(segs[["segment_id", "speaker", "workshop_id"]], on="segment_id")
    tot = hits.groupby("code_id").agg(n_segments=("segment_id", "nunique"),
                                      n_speakers=("speaker", "nunique"),
                                      n_workshops=("workshop_id", "nunique"))
    tests_i = tests.set_index("code_id")
    cons_i = cons.set_index("code_id")
    rows = []
    for r in cb.sort_values("code_id").itertuples():
        code = r.code_id
        t = tot.loc[code] if code in tot.index else pd.Series(
            {"n_segments": 0, "n_speakers": 0, "n_workshops": 0})
        c = counts[(counts["code_id"] == code) & (counts["n_segments"] > 0)]
        c = c.sort_values(["rate_segments", "group_code"], ascending=[False, True])
        rates = " · ".join(f"{g} {_fmt_pct(v)}" for g, v in zip(c["group_code"],
                                                                 c["rate_segments"],
                                                                 strict=True))
        te = tests_i.loc[code] if code in tests_i.index else None
        summary = "" if te is None else " ".join(
            s for s in (te["interpretation"], te["warning"]) if isinstance(s, str) and s)
        co = cons_i.loc[code] if code in cons_i.index else None
        n_groups = int(co["n_groups_above"]) if co is not None else 0
        a = alpha.get(code, np.nan)
        a = float(a) if a is not None and pd.notna(a) else np.nan
        vs = verified.get(code, np.nan) if verified is not None else None
        strength, reason = grade(n_groups, int(t["n_workshops"]), int(t["n_speakers"]),
                                 int(t["n_segments"]), a, rule, verified_share=vs,
                                 rule_f1=rule_f1.get(code))
        rec_ids = set(links.loc[links["code_id"] == code, "rec_id"])
        ax = getattr(r, "axis", None)
        ax = ax if isinstance(ax, str) and ax.strip() else ""
        rows.append({
            "code_id": code, "label": r.label, "axis": ax,
            "axis_label": axis_label.get(ax, ax), "definition": r.definition,
            "n_segments": int(t["n_segments"]), "n_speakers": int(t["n_speakers"]),
            "n_workshops": int(t["n_workshops"]), "n_groups": n_groups,
            "groups": co["groups_above"] if co is not None else "", "group_rates": rates,
            "p_adj": float(te["p_adj"]) if te is not None else np.nan,
            "test_summary": summary,
            "consensus_class": co["classification"] if co is not None else "non évoqué",
            "rec_clusters": _cluster_text(clusters, rec_ids), "agreement_alpha": a,
            "strength": strength, "strength_reason": reason,
            "rec_ids": ", ".join(sorted(rec_ids)),
            "salience": co.get("salience", "") if co is not None else "non évoqué",
            "agreement": co.get("agreement", "") if co is not None else ""})
    return pd.DataFrame(rows)


def evidence_by_axis(theme: pd.DataFrame, tables: dict, *, max_recs: int = 8) -> pd.DataFrame:
    """One row per strategy axis: options, supporting / opposing groups, recommendations.

    ``recommendations`` lists the representative text of the linked clusters, those put
    forward by the most workshops first (at most ``max_recs``).
    """
    from consultations.compare.positions import position_questions

    cols = ["axis", "axis_label", "codes", "options_summary", "supporting_groups",
            "opposing_groups", "recommendations", "strength", "n_codes", "position_holders",
            "strength_reason"]
    th = theme[theme["axis"].astype(str).str.strip() != ""]
    if th.empty:
        return pd.DataFrame(columns=cols)
    pos = position_questions(tables["codebook"])
    gpos = tables.get("group_positions")
    gpos = gpos if gpos is not None else pd.DataFrame(columns=["question", "majority",
                                                               "group_code", "small_group"])
    clusters = tables.get("rec_clusters", pd.DataFrame(columns=["cluster_id", "rec_id"]))
    rows = []
    for axis, sub in th.groupby("axis", sort=True):
        sub = sub.sort_values("code_id")
        options = "\n".join(f"{r.label} ({r.code_id}) : {r.consensus_class}"
                            + (f" — {r.groups}" if r.groups else "") for r in sub.itertuples())
        support = sorted({g for gs in sub["groups"] for g in str(gs).split(", ") if g})
        opposing = []
        for parent, children in pos.items():
            if parent not in set(sub["code_id"]) and not set(children) & set(sub["code_id"]):
                continue
            g = gpos[(gpos["question"] == parent) & ~gpos["small_group"]] if len(gpos) \
                else gpos
            label = theme.set_index("code_id")["label"]
            for ch in children:
                holders = sorted(g.loc[g["majority"] == ch, "group_code"]) if len(g) else []
                if holders:
                    opposing.append(f"« {label.get(ch, ch)} » : {', '.join(holders)}")
        rec_ids = {x for ids in sub["rec_ids"] for x in str(ids).split(", ") if x}
        recs = ""
        if rec_ids and not clusters.empty:
            rep = clusters[clusters["cluster_id"].isin(
                clusters.loc[clusters["rec_id"].isin(rec_ids), "cluster_id"])
                & clusters["is_representative"].astype(bool)]
            rep = rep.sort_values(["n_workshops", "cluster_id"], ascending=[False, True])
            recs = "\n".join(f"{r.cluster_id} « {r.text} » ({r.workshops})"
                             for r in rep.head(max_recs).itertuples())
            if len(rep) > max_recs:
                recs += f"\n… et {len(rep) - max_recs} autre(s) groupe(s) de recommandations"
        best = max(sub["strength"], key=lambda s: _ORDER.get(s, -1))
        best_codes = ", ".join(sub.loc[sub["strength"] == best, "code_id"])
        why = f"force du thème le mieux étayé de l'axe ({best_codes})"
        rows.append({"axis": axis, "axis_label": sub["axis_label"].iloc[0],
                     "codes": ", ".join(sub["code_id"]), "options_summary": options,
                     "supporting_groups": ", ".join(support) or "aucun",
                     "opposing_groups": " ; ".join(opposing) or "aucune position opposée codée",
                     "position_holders": " ; ".join(opposing),
                     "recommendations": recs or "aucune recommandation liée",
                     "strength": best, "n_codes": len(sub), "strength_reason": why})
    return pd.DataFrame(rows, columns=cols)


def run_stage(tables, paths, settings) -> dict:
    """Build the evidence tables (see the module docstring for every rule).

    Args:
        tables: mapping of named tables; the compare tables are rebuilt when absent.
        paths: folders (passed to compare when it must run).
        settings: run settings (thresholds in ``extra["evidence"]``).

    Returns:
        ``evidence_by_theme``, ``evidence_quotes``, ``evidence_by_axis`` and ``_summary``.

    """
    extra = getattr(settings, "extra", None) or {}
    p = {**DEFAULTS, **(extra.get("evidence") or {})}
    rule = {**STRENGTH, **(p.get("strength") or {})}
    names = ["segments", "codebook", "code_group_counts", "code_group_tests", "consensus",
             "rec_links", "rec_clusters", "axes", "agreement", "codings", "rule_quality",
             "positions", "group_positions", "position_summary", "workshops", "speakers",
             "rec_group_matrix", "rec_endorsements", "recommendations"]
    t = {n: tables[n] for n in names if n in tables}
    if not {"code_group_counts", "code_group_tests", "consensus"} <= set(t):
        from consultations.compare import groups as compare

        built = compare.run_stage(tables, paths, settings)
        t.update({k: v for k, v in built.items() if not k.startswith("_")})
    codings = tables["codings"] if "codings" in tables else pd.DataFrame(
        columns=["segment_id", "code_id", "negated"])
    presence = code_presence(codings, t["codebook"])
    bar = progress_bar(3, "[evidence] thèmes, citations, positions", "étapes")
    theme = evidence_by_theme(t, presence, rule=rule)
    bar.update(1)
    ranked = (theme.assign(_r=theme["strength"].map(_ORDER).fillna(-1))
              .sort_values(["_r", "n_speakers", "n_segments", "code_id"],
                           ascending=[False, False, False, True]))
    qc = quote_candidates(codings, t["codebook"], t.get("positions")) \
        if "source" in codings else presence
    quotes = select_quotes(t["segments"], qc, n_quotes=p["n_quotes"],
                           quote_words=tuple(p["quote_words"]), order=list(ranked["code_id"]))
    theme["n_quotes"] = theme["code_id"].map(quotes.groupby("code_id").size()).fillna(0) \
        .astype(int)
    bar.set_postfix(thèmes=len(theme), citations=len(quotes), refresh=False)
    bar.update(1)
    axis = evidence_by_axis(theme, t)
    empty = pd.DataFrame()
    pq = position_quotes(t.get("positions", empty), t.get("group_positions", empty),
                         t["segments"], t["codebook"])
    od = open_decisions(t.get("position_summary", empty), t.get("group_positions", empty),
                        t.get("positions", empty), t["codebook"])
    part = participation(t["segments"], t.get("speakers"))
    bar.update(1)
    bar.close()
    return {"evidence_by_theme": theme, "evidence_quotes": quotes, "evidence_by_axis": axis,
            "position_quotes": pq, "open_decisions": od, "participation": part,
            "_summary": {"themes": len(theme), "quotes": len(quotes), "axes": len(axis),
                         "strength": {k: int(v) for k, v in
                                      theme["strength"].value_counts().sort_index().items()},
                         "rule": {k: v for k, v in rule.items()}}}
