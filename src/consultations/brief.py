"""The brief's content, computed from the tables: one list of blocks for every renderer.

:func:`build_brief` turns the stage tables into a list of :class:`Block` (title, heading,
paragraph, bullets, table, figure, quote, toc, pagebreak). Every number and claim in a block is
read or counted from a table; free text from the corpus (quotes, recommendations) is copied
verbatim, after a last safety pass that masks e-mail addresses and phone numbers. The renderers
(:mod:`consultations.brief_docx`, :mod:`consultations.brief_html`, :mod:`consultations.brief_pdf`)
only lay these blocks out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath

import pandas as pd

from .config import FACILITATION, GROUPS

__all__ = [
    "Block",
    "build_brief",
    "brief_quotes",
    "brief_text",
    "codebook_version",
    "fr_date",
    "fr_int",
    "fr_num",
    "fr_p",
    "quote_reference",
    "scrub",
]

TITLE = "Stratégie nationale de police de proximité"
SUBTITLE = "Synthèse des ateliers de consultation — note à l'équipe de rédaction"
MAX_THEMES = 8
MAX_QUOTES = 3
ALPHA = 0.05

_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"]
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.]?)?(?:\d{2}[\s.]?){3}\d{2}(?!\w)")
_STRENGTH_ORDER = {"forte": 3, "fort": 3, "élevée": 3, "elevee": 3, "high": 3, "strong": 3,
                   "moyenne": 2, "moyen": 2, "modérée": 2, "moderee": 2, "medium": 2,
                   "moderate": 2, "faible": 1, "low": 1, "weak": 1, "limitée": 1}


@dataclass(frozen=True)
class Block:
    """One element of the brief.

    Attributes:
        kind: title | heading | paragraph | bullets | table | figure | quote | toc | pagebreak.
        text: the text (heading, paragraph, quote, title).
        level: heading level (1–3).
        items: bullets: tuple of ``(lead, text)`` pairs (lead in bold, may be empty).
        columns: table header.
        rows: table body (tuple of tuples of strings).
        caption: table or figure caption.
        name: figure name (file stem in ``figures/``), or an anchor for headings.
        ref: quote reference ``(FDS-03, ATL1-T012-S02, atelier1.txt l. 45)``.
        segment_id: the quoted segment.
        lead: a bold lead-in for paragraphs.

    """

    kind: str
    text: str = ""
    level: int = 1
    items: tuple = ()
    columns: tuple = ()
    rows: tuple = ()
    caption: str = ""
    name: str = ""
    ref: str = ""
    segment_id: str = ""
    lead: str = ""


# --------------------------------------------------------------------------- formatting


def fr_int(n) -> str:
    """Format an integer the French way (non-breaking space as thousands separator)."""
    return f"{int(n):,}".replace(",", "\u00a0")


def fr_num(x, digits: int = 2) -> str:
    """Format a number with a decimal comma; '—' for missing values."""
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "—"
    return f"{float(x):,.{digits}f}".replace(",", "\u00a0").replace(".", ",")


def fr_p(p) -> str:
    """Format a p-value: three decimals, '< 0,001' below (non-breaking space)."""
    if p is None or pd.isna(p):
        return "—"
    return "<\u00a00,001" if float(p) < 0.001 else fr_num(p, 3)


def fr_p_eq(p) -> str:
    """'= 0,014' or '< 0,001' (to follow 'p' or 'p ajusté')."""
    text = fr_p(p)
    return text if text.startswith("<") or text == "—" else f"=\u00a0{text}"


def fr_pct(value, factor: float = 100.0, digits: int = 0) -> str:
    """Format a proportion (``factor`` 100) or a percentage (``factor`` 1) as 'x %'."""
    if value is None or pd.isna(value):
        return "—"
    return f"{fr_num(float(value) * factor, digits)}\u00a0%"


def fr_date(iso) -> str:
    """'2020-03-04' → '4 mars 2020' (other strings unchanged)."""
    try:
        d = pd.Timestamp(str(iso))
    except (ValueError, TypeError):
        return str(iso)
    if pd.isna(d):
        return str(iso)
    return f"{'1er' if d.day == 1 else d.day} {_MONTHS[d.month - 1]} {d.year}"


def scrub(text) -> str:
    """Mask e-mail addresses and phone numbers (a last safety net; upstream redacts)."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    text = _EMAIL.sub("[courriel]", str(text))
    return _PHONE.sub("[téléphone]", text)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{fr_int(n)} {one if abs(n) <= 1 else (many or one + 's')}"


def _as_list(value) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        sep = ";" if ";" in value else ","
        return [v.strip() for v in value.split(sep) if v.strip()]
    try:
        return [str(v).strip() for v in value if str(v).strip()]
    except TypeError:
        return [str(value)]


def _join(values) -> str:
    """Render a list cell as 'A, B', a text cell as it is (scrubbed), '—' when empty."""
    if isinstance(values, str):
        return scrub(values).strip() or "—"
    vals = _as_list(values)
    return ", ".join(scrub(v) for v in vals) if vals else "—"


def _lines(value) -> list[str]:
    """Split a multi-line text cell into its non-empty lines (scrubbed)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if not isinstance(value, str):
        return [scrub(v) for v in _as_list(value)]
    return [scrub(x).strip() for x in value.splitlines() if x.strip()]


def _short(text, width: int) -> str:
    """Scrubbed text cut at a word boundary to at most ``width`` characters (with '…')."""
    import textwrap

    return textwrap.shorten(scrub(text), width=width, placeholder=" …")


def _capped(lines: list[str], keep: int, width: int = 170) -> list[str]:
    """At most ``keep`` lines (shortened), then '… et N autre(s)' counting the rest."""
    real = [x for x in lines if not x.startswith("…")]
    more = sum(int(m) for x in lines if x.startswith("…")
               for m in re.findall(r"\d+", x)[:1])
    rest = len(real) - keep + more if len(real) > keep else more
    out = [_short(x, width) for x in real[:keep]]
    if rest > 0:
        out.append(f"… et {fr_int(rest)} autre(s) (section 5 et classeur).")
    return out


def _rid(cluster_id) -> str:
    """'R04' for a cluster id given as 4 or as 'R04'."""
    text = str(cluster_id)
    return text if text[:1].isalpha() else f"R{text}"


def _rec_ids(value) -> list[str]:
    """Cluster ids from a cell such as 'R04 (3 ateliers) ; R05 (2 ateliers)' or '1, 2'."""
    return [x.split()[0] for x in _as_list(value) if x.split()]


def _axis_name(axis, label) -> str:
    label = scrub(label)
    return label if label.startswith(str(axis)) else f"{axis} — {label}"


def _factor(rates) -> float:
    r = pd.to_numeric(pd.Series(rates), errors="coerce").dropna()
    return 1.0 if len(r) and r.max() > 1.0 else 100.0


def _strength_rank(value) -> int:
    return _STRENGTH_ORDER.get(str(value).strip().lower(), 0)


def _get(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """Return a table, or an empty frame when the stage did not produce it."""
    if name in tables:
        df = tables[name]
        if df is not None:
            return df
    from .schema import TABLES

    return pd.DataFrame(columns=TABLES.get(name, []))


def codebook_version(tables: Mapping[str, pd.DataFrame]) -> str:
    """Return the codebook version recorded in the codings table, or 'inconnue'."""
    codings = _get(tables, "codings")
    if "codebook_version" in codings and codings["codebook_version"].notna().any():
        return str(codings["codebook_version"].dropna().iloc[0])
    return "inconnue"


def quote_reference(q) -> str:
    """'FDS-03, ATL1-T012-S02, atelier1.txt l. 45' for an evidence_quotes row."""
    file = PurePath(str(q["source_file"])).name if pd.notna(q["source_file"]) else "?"
    line = q["line_start"]
    line = fr_int(line) if pd.notna(line) else "?"
    return f"{q['speaker']}, {q['segment_id']}, {file} l.\u00a0{line}"


# --------------------------------------------------------------------------- sections


def _group_label_map(tables) -> dict[str, str]:
    labels = {code: label for label, code in GROUPS.items()}
    for name in ("speakers", "code_group_counts", "segments"):
        df = _get(tables, name)
        if {"group_code", "stakeholder_group"} <= set(df.columns):
            for g, lab in df[["group_code", "stakeholder_group"]].drop_duplicates().values:
                labels.setdefault(str(g), str(lab))
    return labels


def _participants(tables) -> pd.DataFrame:
    segs = _get(tables, "segments")
    if "is_facilitator" in segs and len(segs):
        return segs[~segs["is_facilitator"].fillna(False).astype(bool)]
    return segs


def _corpus_paragraph(tables) -> Block:
    ws = _get(tables, "workshops")
    segs = _get(tables, "segments")
    part = _participants(tables)
    n_ws = len(ws)
    dates = sorted(d for d in ws.get("date", pd.Series(dtype=str)).dropna().astype(str) if d)
    period = (f", tenus entre le {fr_date(dates[0])} et le {fr_date(dates[-1])}"
              if len(dates) > 1 else (f", tenu le {fr_date(dates[0])}" if dates else ""))
    n_spk = part[["workshop_id", "speaker"]].drop_duplicates().shape[0] if len(part) else 0
    n_groups = part["group_code"].nunique() if len(part) else 0
    n_words = int(pd.to_numeric(part.get("n_words", pd.Series(dtype=float))).sum()) \
        if len(part) else 0
    text = (f"Cette note rend compte de {_plural(n_ws, 'atelier')} de consultation{period}. "
            f"Elle repose sur {_plural(len(segs), 'segment')} de parole transcrits, dont "
            f"{fr_int(len(part))} prononcés par {_plural(n_spk, 'intervenant')} de "
            f"{_plural(n_groups, 'groupe')} d'acteurs (hors facilitation, soit "
            f"{_plural(n_words, 'mot')}). Les intervenants sont désignés par un pseudonyme "
            "(groupe et numéro, par exemple FDS-03) ; chaque citation renvoie à son segment, "
            "à son fichier et à sa ligne (annexe B).")
    return Block("paragraph", text)


def _synthesis(tables, glabels) -> list[Block]:
    out = [Block("heading", "1. Synthèse", level=1, name="synthese"), _corpus_paragraph(tables)]
    cons = _get(tables, "consensus")
    ev = _get(tables, "evidence_by_theme")
    tests = _get(tables, "code_group_tests")
    cgc = _get(tables, "code_group_counts")
    recs = _get(tables, "rec_clusters")
    n_groups = cgc["group_code"].nunique() if len(cgc) else 0

    out.append(Block("heading", "Thèmes de consensus", level=2))
    consensual = cons[cons["classification"].astype(str).str.lower().str.contains("consens")] \
        if len(cons) else cons
    if len(consensual):
        size = ev.set_index("code_id")["n_segments"] if len(ev) else pd.Series(dtype=float)
        consensual = (consensual.assign(_n=consensual["code_id"].map(size).fillna(0))
                      .sort_values(["n_groups_above", "_n", "code_id"],
                                   ascending=[False, False, True]).head(4))
        items = []
        for r in consensual.itertuples():
            extra = ""
            row = ev[ev["code_id"] == r.code_id] if len(ev) else ev
            if len(row):
                e = row.iloc[0]
                extra = (f" ; {_plural(int(e['n_segments']), 'segment')} dans "
                         f"{_plural(int(e['n_workshops']), 'atelier')}")
            items.append((scrub(r.label),
                          f"au-dessus du seuil dans {fr_int(r.n_groups_above)} groupes sur "
                          f"{fr_int(n_groups)} ({_join(r.groups_above)}){extra}."))
        out.append(Block("bullets", items=tuple(items)))
    elif len(cons):
        out.append(Block("paragraph", "Aucun thème n'est classé « consensus » dans le tableau "
                                      "de consensus."))
    else:
        out.append(Block("paragraph", "Aucun thème codé : la mesure du consensus n'a pas pu "
                                      "être calculée pour cette exécution."))

    out.append(Block("heading", "Divergences entre groupes", level=2))
    sig = tests[tests["significant"].fillna(False).astype(bool)] if len(tests) else tests
    if len(sig):
        fac = _factor(cgc["rate_segments"]) if len(cgc) else 100.0
        items = []
        for r in sig.sort_values(["p_adj", "cramers_v", "code_id"],
                                 ascending=[True, False, True]).head(4).itertuples():
            sub = cgc[cgc["code_id"] == r.code_id].sort_values(["rate_segments", "group_code"])
            desc = ""
            if len(sub) >= 2:
                hi, lo = sub.iloc[-1], sub.iloc[0]
                desc = (f"le plus présent chez {hi['group_code']} "
                        f"({fr_pct(hi['rate_segments'], fac)} de ses segments), le moins chez "
                        f"{lo['group_code']} ({fr_pct(lo['rate_segments'], fac)}) ; ")
            items.append((scrub(r.label), f"{desc}p ajusté {fr_p_eq(r.p_adj)} "
                                          f"(V de Cramér {fr_num(r.cramers_v, 2)})."))
        out.append(Block("bullets", items=tuple(items)))
        if len(tests):
            out.append(Block("paragraph",
                             f"{fr_int(len(sig))} des {fr_int(len(tests))} thèmes testés "
                             f"diffèrent nettement entre groupes (p ajusté < "
                             f"{fr_num(ALPHA, 2)}, correction de Benjamini-Hochberg)."))
    elif len(tests):
        out.append(Block("paragraph", f"Aucun des {fr_int(len(tests))} thèmes testés ne "
                                      f"diffère nettement entre groupes (p ajusté < "
                                      f"{fr_num(ALPHA, 2)})."))
    else:
        out.append(Block("paragraph", "Aucun test de comparaison entre groupes n'a été produit "
                                      "(pas de thème codé)."))
    div = cons[cons["classification"].astype(str).str.lower()
               .str.contains("diverg|contest")] if len(cons) else cons
    if len(div):
        classes = " / ".join(sorted(set(div["classification"].astype(str))))
        out.append(Block("paragraph", f"Thèmes classés « {classes} » par l'analyse du "
                                      "consensus : " + ", ".join(scrub(x) for x in
                                                                 div.sort_values("code_id")
                                                                 ["label"]) + "."))

    out.append(Block("heading", "Recommandations les plus partagées", level=2))
    if len(recs):
        reps = _rec_representatives(recs).head(4)
        items = [(_rid(r.cluster_id), f"{_short(r.text, 150)} — "
                  f"{_plural(int(r.n_workshops), 'atelier')}"
                  f" ({_join(r.workshops)}) ; groupes : {_join(r.groups)}.")
                 for r in reps.itertuples()]
        out.append(Block("bullets", items=tuple(items)))
    else:
        out.append(Block("paragraph", "Aucune recommandation regroupée pour cette exécution."))

    out.append(Block("heading", "Thèmes les mieux étayés", level=2))
    if len(ev):
        top = _rank_themes(ev)
        top = top[top["_rank"] == top["_rank"].max()].head(4)
        items = [(scrub(r.label), f"élément probant « {r.strength} » : "
                                  f"{_plural(int(r.n_groups), 'groupe')}, "
                                  f"{_plural(int(r.n_workshops), 'atelier')}, "
                                  f"{_plural(int(r.n_speakers), 'intervenant')}, "
                                  f"{_plural(int(r.n_segments), 'segment')} ; "
                                  f"axe {_axis_name(r.axis, r.axis_label)}.")
                 for r in top.itertuples()]
        out.append(Block("bullets", items=tuple(items)))
    else:
        out.append(Block("paragraph", "Aucun thème n'a été codé : le tableau des éléments "
                                      "probants est vide. Vérifiez le livre de codes et les "
                                      "codages (étape « code »)."))
    out.append(Block("pagebreak"))
    return out


def _rec_representatives(recs: pd.DataFrame) -> pd.DataFrame:
    rep = (recs.sort_values(["cluster_id", "is_representative", "rec_id"],
                            ascending=[True, False, True]).drop_duplicates("cluster_id"))
    size = recs.groupby("cluster_id").size()
    rep = rep.assign(n_recs=rep["cluster_id"].map(size).astype(int))
    rep = rep.assign(n_groups=[len(_as_list(g)) for g in rep["groups"]])
    return rep.sort_values(["n_workshops", "n_groups", "n_recs", "cluster_id"],
                           ascending=[False, False, False, True]).reset_index(drop=True)


def _rank_themes(ev: pd.DataFrame) -> pd.DataFrame:
    return (ev.assign(_rank=[_strength_rank(s) for s in ev["strength"]])
            .sort_values(["_rank", "n_segments", "code_id"], ascending=[False, False, True])
            .reset_index(drop=True))


def _figure(figs: Mapping[str, dict], name: str, number: list[int]) -> list[Block]:
    if name not in figs:
        return []
    number[0] += 1
    f = figs[name]
    src = ", ".join(f["sources"])
    return [Block("figure", name=name,
                  caption=f"Figure {number[0]} — {f['caption']}. Source : tableau(x) {src}.")]


def _table(caption: str, columns, rows, number: list[int]) -> Block:
    number[0] += 1
    return Block("table", columns=tuple(columns),
                 rows=tuple(tuple(" ; ".join(str(c).splitlines()) for c in r) for r in rows),
                 caption=f"Tableau {number[0]} — {caption}")


def _axes_section(tables, figs, fig_n, tab_n) -> list[Block]:
    out = [Block("heading", "2. Éléments probants par axe de la stratégie", level=1,
                 name="axes")]
    ax = _get(tables, "evidence_by_axis")
    if len(ax):
        ax = ax.sort_values("axis")
        out.append(Block("paragraph", "Pour chaque axe de la stratégie : les thèmes codés qui "
                                      "s'y rattachent, les groupes qui les portent, la force de "
                                      "l'élément probant (règle en annexe A), puis le détail des "
                                      "options exprimées, des groupes réservés et des "
                                      "recommandations liées."))
        rows = [(_axis_name(r.axis, r.axis_label), _join(r.codes), _join(r.supporting_groups),
                 fr_int(len(_lines(r.recommendations))), str(r.strength))
                for r in ax.itertuples()]
        out.append(_table("Éléments probants par axe (tableau evidence_by_axis)",
                          ["Axe", "Thèmes", "Groupes favorables", "Recommandations liées",
                           "Force"], rows, tab_n))
        for r in ax.itertuples():
            out.append(Block("heading", f"{_axis_name(r.axis, r.axis_label)} — élément probant "
                                        f"« {r.strength} »", level=3))
            for lead, value in (("Options exprimées", r.options_summary),
                                ("Groupes réservés", r.opposing_groups),
                                ("Recommandations liées", r.recommendations)):
                lines = _lines(value)
                if lead == "Recommandations liées":
                    lines = _capped(lines, 4)
                if len(lines) <= 1:
                    out.append(Block("paragraph", lines[0] if lines else "—",
                                     lead=f"{lead} : "))
                else:
                    out.append(Block("paragraph", "", lead=f"{lead} :"))
                    out.append(Block("bullets", items=tuple(("", x) for x in lines)))
    else:
        out.append(Block("paragraph", "Aucun élément probant n'a pu être rattaché aux axes de "
                                      "la stratégie (tableau evidence_by_axis vide)."))
    out.append(Block("heading", "Vue d'ensemble des thèmes par groupe", level=2))
    more = _figure(figs, "heatmap_codes_groupes", fig_n) + _figure(figs, "carte_consensus", fig_n)
    out += more or [Block("paragraph", "Pas de figure : aucun thème codé.")]
    return out


def _theme_sections(tables, glabels, figs, tab_n) -> list[Block]:
    out = [Block("heading", "3. Thèmes principaux", level=1, name="themes")]
    ev = _get(tables, "evidence_by_theme")
    if not len(ev):
        out.append(Block("paragraph", "Aucun thème n'a été codé dans cette exécution : il n'y a "
                                      "pas de section par thème."))
        return out
    cgc = _get(tables, "code_group_counts")
    res = _get(tables, "code_group_residuals")
    tests = _get(tables, "code_group_tests").drop_duplicates("code_id").set_index("code_id")
    quotes = _get(tables, "evidence_quotes")
    recs = _get(tables, "rec_clusters")
    reps = _rec_representatives(recs).set_index("cluster_id") if len(recs) else None
    ranked = _rank_themes(ev).head(MAX_THEMES)
    out.append(Block("paragraph",
                     f"Les {fr_int(len(ranked))} thèmes ci-dessous sont ceux dont l'élément "
                     f"probant est le plus fort, puis les plus fréquents, parmi les "
                     f"{fr_int(len(ev))} thèmes du tableau des éléments probants."))
    fac = _factor(cgc["rate_segments"]) if len(cgc) else 100.0
    for k, e in enumerate(ranked.to_dict("records"), start=1):
        code = e["code_id"]
        out.append(Block("heading", f"3.{k} {scrub(e['label'])}", level=2,
                         name=f"theme-{code}"))
        if pd.notna(e["definition"]) and str(e["definition"]).strip():
            out.append(Block("paragraph", scrub(e["definition"]), lead="Définition : "))
        out.append(Block("paragraph",
                         f"{_plural(int(e['n_segments']), 'segment')}, "
                         f"{_plural(int(e['n_speakers']), 'intervenant')}, "
                         f"{_plural(int(e['n_workshops']), 'atelier')}, "
                         f"{_plural(int(e['n_groups']), 'groupe')} ({_join(e['groups'])}) ; "
                         f"axe {_axis_name(e['axis'], e['axis_label'])} ; consensus : "
                         f"{e['consensus_class'] if pd.notna(e['consensus_class']) else '—'} ; "
                         f"élément probant « {e['strength']} » ({scrub(e['strength_reason'])}).",
                         lead="Ampleur : "))
        if code in tests.index:
            t = tests.loc[code]
            interp = f" — {scrub(t['interpretation'])}" if pd.notna(t["interpretation"]) \
                and str(t["interpretation"]).strip() else ""
            warn = f" Attention : {scrub(t['warning'])}." if pd.notna(t["warning"]) \
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
                     fr_int(r.n_segments), fr_int(r.n_speakers),
                     fr_pct(r.rate_segments, fac, 1), fr_num(r.per_1000_words, 1),
                     marks.get(r.group_code, "—"))
                    for r in sub.itertuples()]
            out.append(_table(f"Position des groupes — {scrub(e['label'])}",
                              ["Groupe", "Segments", "Intervenants", "% des segments du groupe",
                               "Pour 1 000 mots", "Écart significatif"], rows, tab_n))
        q = quotes[quotes["code_id"] == code].sort_values(["rank", "segment_id"]).head(MAX_QUOTES) \
            if len(quotes) else quotes
        if len(q):
            out.append(Block("paragraph", "Ce qu'en disent les participants :"))
            for row in q.to_dict("records"):
                out.append(Block("quote", text=scrub(row["text"]), ref=quote_reference(row),
                                 segment_id=str(row["segment_id"])))
        else:
            out.append(Block("paragraph", "Aucune citation retenue pour ce thème."))
        rec_ids = _rec_ids(e.get("rec_clusters"))
        if reps is not None and rec_ids:
            items = []
            for rid in rec_ids:
                key = next((k for k in reps.index if _rid(k) == _rid(rid)), None)
                if key is not None:
                    items.append((_rid(key), f"{scrub(reps.loc[key, 'text'])} "
                                             f"(groupes : {_join(reps.loc[key, 'groups'])})."))
            if len(items) > 4:
                items = items[:4] + [("", f"… et {fr_int(len(items) - 4)} autre(s) "
                                          f"(section 5).")]
            if items:
                out.append(Block("paragraph", "Recommandations liées :"))
                out.append(Block("bullets", items=tuple(items)))
    return out


def _groups_section(tables, glabels, figs, fig_n, tab_n) -> list[Block]:
    out = [Block("heading", "4. Ce que chaque groupe met en avant", level=1, name="groupes")]
    dt = _get(tables, "distinctive_terms")
    if len(dt):
        top = dt.sort_values(["group_code", "rank", "term"]).groupby("group_code").head(6)
        rows = [(f"{g} — {glabels.get(g, g)}", ", ".join(scrub(t) for t in sub["term"]))
                for g, sub in top.groupby("group_code", sort=True)]
        out.append(Block("paragraph", "Les termes ci-dessous sont ceux qu'un groupe emploie "
                                      "nettement plus que les autres (log-odds pondéré, "
                                      "classés par rang)."))
        out.append(_table("Termes distinctifs par groupe (tableau distinctive_terms)",
                          ["Groupe", "Termes les plus distinctifs"], rows, tab_n))
        out += _figure(figs, "termes_distinctifs", fig_n)
    else:
        out.append(Block("paragraph", "Aucun terme distinctif n'a été calculé."))
    ti = _get(tables, "topic_info")
    ti = ti[ti["topic"] != -1] if len(ti) else ti
    out.append(Block("heading", "Thèmes émergents (modèle de thèmes)", level=2))
    if len(ti):
        cw = _get(tables, "topic_crosswalk")
        new = set(cw.loc[cw["is_new_theme"].fillna(False).astype(bool), "topic"]) \
            if len(cw) else set()
        best = (cw[cw["best_code"].fillna(False).astype(bool)].drop_duplicates("topic")
                .set_index("topic")["code_id"]) if len(cw) else pd.Series(dtype=str)
        rows = [(fr_int(r.topic), scrub(str(r.label).replace("_", " ")), fr_int(r.count),
                 _short(_join(r.terms), 90),
                 "nouveau thème" if r.topic in new else str(best.get(r.topic, "—")))
                for r in ti.sort_values(["count", "topic"], ascending=[False, True])
                .head(12).itertuples()]
        out.append(_table("Thèmes émergents les plus fréquents (tableaux topic_info et "
                          "topic_crosswalk)",
                          ["N°", "Thème", "Segments", "Termes", "Code le plus proche"],
                          rows, tab_n))
        out += _figure(figs, "themes_emergents_groupes", fig_n)
    else:
        out.append(Block("paragraph", "Le modèle de thèmes n'a produit aucun thème pour cette "
                                      "exécution."))
    return out


def _recs_section(tables, figs, fig_n, tab_n) -> list[Block]:
    out = [Block("heading", "5. Recommandations regroupées", level=1, name="recommandations")]
    recs = _get(tables, "rec_clusters")
    allrecs = _get(tables, "recommendations")
    if not len(recs):
        n_recs = _plural(len(allrecs), "recommandation")
        out.append(Block("paragraph", f"Aucun regroupement de recommandations n'a été produit "
                                      f"({n_recs} dans les listes des ateliers)."))
        return out
    reps = _rec_representatives(recs)
    out.append(Block("paragraph",
                     f"Les {_plural(recs['rec_id'].nunique(), 'recommandation')} des listes "
                     f"d'ateliers forment {_plural(len(reps), 'groupe')} de formulations "
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
    rows = [(_rid(r.cluster_id), scrub(r.text), fr_int(r.n_recs), _join(r.workshops),
             _join(r.groups)) for r in shown.itertuples()]
    out.append(_table("Groupes de recommandations (tableau rec_clusters)",
                      ["N°", "Formulation représentative", "Formulations", "Ateliers",
                       "Groupes d'acteurs"], rows, tab_n))
    out += _figure(figs, "recommandations_groupes", fig_n)
    return out


def _methods_annex(tables, settings, version, tab_n) -> list[Block]:
    out = [Block("pagebreak"),
           Block("heading", "Annexe A — Méthodes", level=1, name="annexe-methodes")]
    ws = _get(tables, "workshops")
    segs = _get(tables, "segments")
    part = _participants(tables)
    out.append(Block("heading", "A.1 Corpus", level=2))
    if len(ws):
        rows = []
        for r in ws.sort_values(["date", "workshop_id"]).itertuples():
            s = segs[segs["workshop_id"] == r.workshop_id] if len(segs) else segs
            p = part[part["workshop_id"] == r.workshop_id] if len(part) else part
            rows.append((r.workshop_id, scrub(r.title), fr_date(r.date), scrub(r.location),
                         fr_int(len(s)), fr_int(p["speaker"].nunique() if len(p) else 0)))
        out.append(_table("Ateliers du corpus", ["Atelier", "Titre", "Date", "Lieu", "Segments",
                                                 "Intervenants (hors facilitation)"],
                          rows, tab_n))
    if len(part):
        g = part.groupby("group_code").agg(seg=("segment_id", "size"),
                                           spk=("speaker", "nunique"),
                                           words=("n_words", "sum")).sort_index()
        glab = _group_label_map(tables)
        rows = [(f"{k} — {glab.get(k, k)}", fr_int(v.spk), fr_int(v.seg), fr_int(v.words))
                for k, v in g.iterrows()]
        out.append(_table("Prises de parole par groupe d'acteurs (hors facilitation)",
                          ["Groupe", "Intervenants", "Segments", "Mots"], rows, tab_n))
    n_fac = int(segs["is_facilitator"].fillna(False).astype(bool).sum()) \
        if "is_facilitator" in segs and len(segs) else 0
    recs = _get(tables, "recommendations")
    out.append(Block("paragraph",
                     f"Les transcriptions sont découpées en segments (phrases, analyse spaCy "
                     f"du français). Les {_plural(n_fac, 'segment')} de la facilitation "
                     f"({FACILITATION}) sont conservés mais exclus des comparaisons entre "
                     f"groupes. Les listes de recommandations comptent "
                     f"{_plural(len(recs), 'recommandation')}."))

    out.append(Block("heading", "A.2 Livre de codes et codage", level=2))
    cb = _get(tables, "codebook")
    codings = _get(tables, "codings")
    src = (codings.groupby("source").size().sort_index() if len(codings)
           else pd.Series(dtype=int))
    src_txt = ", ".join(f"{k} : {fr_int(v)}" for k, v in src.items()) or "aucun"
    out.append(Block("paragraph",
                     f"Livre de codes version {version}, {_plural(len(cb), 'code')}. "
                     f"{_plural(len(codings), 'codage')} au total, par origine : {src_txt} "
                     f"(rule = règle du livre de codes, manual = codage manuel, review = "
                     f"décision de revue, topic = modèle de thèmes). Le livre de codes complet "
                     f"figure dans le classeur evidence_tables.xlsx et dans codebook.qdc."))

    out.append(Block("heading", "A.3 Accord inter-codeurs", level=2))
    out += _agreement_blocks(_get(tables, "agreement"), tab_n)

    out.append(Block("heading", "A.4 Modèle de thèmes", level=2))
    ti = _get(tables, "topic_info")
    n_top = int((ti["topic"] != -1).sum()) if len(ti) else 0
    n_out = int(ti.loc[ti["topic"] == -1, "count"].sum()) if len(ti) else 0
    cw = _get(tables, "topic_crosswalk")
    n_new = int(cw.loc[cw["is_new_theme"].fillna(False).astype(bool), "topic"].nunique()) \
        if len(cw) else 0
    s = settings
    setting_txt = (f"réglages : plongements « {s.embedding} », réduction « {s.reduction} », "
                   f"regroupement « {s.clustering} », nombre de thèmes "
                   f"{'automatique' if s.n_topics is None else fr_int(s.n_topics)}, graine "
                   f"{s.seed}") if s is not None else "réglages non transmis"
    out.append(Block("paragraph",
                     f"BERTopic, hors ligne ({setting_txt}) : {_plural(n_top, 'thème')}, "
                     f"{_plural(n_out, 'segment')} hors thème ; "
                     f"{_plural(n_new, 'thème')} sans code correspondant dans le livre de codes "
                     f"(« nouveau thème »)."))

    out.append(Block("heading", "A.5 Tests statistiques", level=2))
    tests = _get(tables, "code_group_tests")
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
                         f"({fr_int(n_sig)} cas). La taille d'effet est le V de Cramér ; les "
                         f"cellules marquantes sont repérées par les résidus ajustés. "
                         f"Tests avec avertissement (effectifs faibles) : {fr_int(n_warn)}."))
    else:
        out.append(Block("paragraph", "Aucun test n'a été calculé (pas de thème codé)."))

    out.append(Block("heading", "A.6 Règle de gradation des éléments probants", level=2))
    ev = _get(tables, "evidence_by_theme")
    rule = _grading_rule(settings)
    if rule:
        out.append(Block("paragraph", rule))
    if len(ev):
        counts = ev["strength"].astype(str).value_counts()
        order = sorted(counts.index, key=lambda s: (-_strength_rank(s), s))
        rows = []
        for lvl in order:
            sub = ev[ev["strength"].astype(str) == lvl].sort_values("code_id")
            rows.append((lvl, fr_int(counts[lvl]), scrub(sub.iloc[0]["strength_reason"])))
        out.append(_table("Niveaux d'élément probant attribués (tableau evidence_by_theme)",
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


def _agreement_blocks(ag: pd.DataFrame, tab_n) -> list[Block]:
    """Agreement figures (without coder names: only the comparison, code and measures)."""
    if not len(ag):
        return [Block("paragraph", "Aucune mesure d'accord inter-codeurs n'est disponible "
                                   "(pas de double codage pour cette exécution).")]
    out = []
    try:
        from .agreement import METHOD_NOTE, OVERALL
    except Exception:  # noqa: BLE001 - the module may be absent; then no note
        METHOD_NOTE, OVERALL = "", "_ensemble"
    if METHOD_NOTE:
        out.append(Block("paragraph", METHOD_NOTE))

    def ci(r, name, low, high):
        v = _cell(r.get(name))
        if low in r and high in r and pd.notna(r.get(low)) and pd.notna(r.get(high)):
            v += f" [{fr_num(r[low], 2)} ; {fr_num(r[high], 2)}]"
        return v

    df = ag.copy()
    if "code_id" in df:
        df = df.assign(_o=(df["code_id"].astype(str) != OVERALL).astype(int))
        df = df.sort_values([c for c in ("comparison", "_o", "code_id") if c in df]).head(30)
    rows = []
    for r in df.to_dict("records"):
        code = str(r.get("code_id", "—"))
        rows.append((_cell(r.get("comparison", "—")),
                     "ensemble des codes" if code == OVERALL else code,
                     _cell(r.get("n_units")), ci(r, "percent_agreement", "pa_ci_low", "pa_ci_high"),
                     ci(r, "kappa", "kappa_ci_low", "kappa_ci_high"),
                     ci(r, "alpha", "alpha_ci_low", "alpha_ci_high")))
    out.append(_table("Accord inter-codeurs, avec intervalle de confiance à 95 % (tableau "
                      "agreement)", ["Comparaison", "Code", "Unités", "Accord brut", "Kappa",
                                     "Alpha de Krippendorff"], rows, tab_n))
    return out


def _grading_rule(settings=None) -> str:
    """State the evidence-grading rule from the evidence module's thresholds."""
    try:
        from .evidence import STRENGTH
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
                f"codage plafonne ensuite la note : alpha de Krippendorff < "
                f"{fr_num(rule['alpha_faible'], 3)} → « faible » ; < "
                f"{fr_num(rule['alpha_moyen'], 2)} → au plus « moyen » ; sans double codage, "
                f"pas de plafond (la justification le signale).")
    except (KeyError, TypeError):
        return ""


def _provenance_annex(tables, blocks: list[Block], tab_n) -> list[Block]:
    out = [Block("heading", "Annexe B — Provenance des citations", level=1,
                 name="annexe-provenance")]
    cited = []
    for b in blocks:
        if b.kind == "quote" and b.segment_id not in cited:
            cited.append(b.segment_id)
    if not cited:
        out.append(Block("paragraph", "Aucune citation dans cette note."))
        return out
    segs = _get(tables, "segments").drop_duplicates("segment_id").set_index("segment_id")
    ws = _get(tables, "workshops").drop_duplicates("workshop_id").set_index("workshop_id")
    quotes = _get(tables, "evidence_quotes").drop_duplicates("segment_id").set_index("segment_id")
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
    out.append(_table("Provenance des citations (ateliers : voir A.1)",
                      ["Segment", "Intervenant", "Atelier", "Date", "Fichier", "Lignes"],
                      rows, tab_n))
    return out


def build_brief(tables: Mapping[str, pd.DataFrame], figures: list[dict] | None = None,
                settings=None) -> list[Block]:
    """Compute the brief's blocks from the tables.

    Args:
        tables: the stage tables (missing ones count as empty).
        figures: what :func:`consultations.figures.make_figures` returned (name, caption,
            sources); figures not listed are left out.
        settings: the run's :class:`~consultations.config.Settings` (for the methods annex).

    Returns:
        The list of blocks, in reading order.

    """
    figs = {f["name"]: f for f in (figures or [])}
    glabels = _group_label_map(tables)
    version = codebook_version(tables)
    ws = _get(tables, "workshops")
    fig_n, tab_n = [0], [0]
    dates = sorted(str(d) for d in ws.get("date", pd.Series(dtype=str)).dropna())
    meta = (f"Ateliers de consultation, {fr_date(dates[0])} – {fr_date(dates[-1])}"
            if dates else "Ateliers de consultation")
    blocks = [
        Block("title", TITLE),
        Block("paragraph", SUBTITLE, lead=""),
        Block("paragraph", f"{meta} · livre de codes version {version} · données "
                           f"pseudonymisées"),
        Block("toc"),
    ]
    blocks += _synthesis(tables, glabels)
    blocks += _axes_section(tables, figs, fig_n, tab_n)
    blocks += _theme_sections(tables, glabels, figs, tab_n)
    blocks += _groups_section(tables, glabels, figs, fig_n, tab_n)
    blocks += _recs_section(tables, figs, fig_n, tab_n)
    blocks += _methods_annex(tables, settings, version, tab_n)
    blocks += _provenance_annex(tables, blocks, tab_n)
    return blocks


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
