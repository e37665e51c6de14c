"""What each figure shows, in words and as a table (for the HTML brief's accessibility).

:func:`figure_alt` states a figure's finding in one or two French sentences (its ``alt`` text);
:func:`figure_table` turns the values drawn (the data frame each ``fig_*`` function returns) into
a table with French headers, shown under the figure.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["figure_alt", "figure_table"]


def _rid(cluster_id) -> str:
    text = str(cluster_id)
    return text if text[:1].isalpha() else f"R{text}"


_DATA_LABELS = {"code_id": "Code", "label": "Thème", "group_code": "Groupe",
                "rate_pct": "% des intervenants du groupe", "mark": "Écart significatif",
                "consensus_index": "Indice de consensus", "classification": "Classement",
                "term": "Terme", "log_odds": "Score de spécificité", "rank": "Rang",
                "topic": "N° de thème", "topic_label": "Thème émergent",
                "share_pct": "% des segments du groupe", "cluster_id": "N°",
                "text": "Formulation représentative", "n_workshops": "Ateliers"}
_PIVOT = {"heatmap_codes_groupes": (["code_id", "label"], "rate_pct"),
          "carte_consensus": (["code_id", "label", "classification"], "rate_pct"),
          "themes_emergents_groupes": (["topic", "topic_label"], "share_pct")}


def _num(value, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "—"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = f"{float(value):.{digits}f}".replace(".", ",")
        return "0" + text[2:] if text.startswith("-0") and not text.strip("-0,") else text
    return str(value)


def figure_table(name: str, data: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Return the values behind a figure as a readable table: ``(French headers, rows of text)``.

    Rates per group are pivoted (one row per theme, one column per group); other figures keep
    one row per mark drawn.
    """
    if data is None or data.empty:
        return [], []
    if name in _PIVOT and "group_code" in data:
        index, value = _PIVOT[name]
        index = [c for c in index if c in data]
        wide = (data.pivot_table(index=index, columns="group_code", values=value,
                                 aggfunc="sum", sort=True).reset_index())
        if "mark" in data and name == "heatmap_codes_groupes":
            marks = data.pivot_table(index="code_id", columns="group_code", values="mark",
                                     aggfunc="first")
        else:
            marks = None
        groups = [c for c in wide.columns if c not in index]
        headers = [_DATA_LABELS.get(c, c) for c in index] + [f"{g} (%)" for g in groups]
        rows = []
        for r in wide.to_dict("records"):
            cells = [str(r[c]) for c in index]
            for g in groups:
                mark = ""
                if marks is not None and g in marks.columns:
                    m = marks.loc[r["code_id"], g] if r["code_id"] in marks.index else ""
                    mark = f" {m}" if isinstance(m, str) and m else ""
                cells.append(_num(r[g], 0) + mark)
            rows.append(cells)
        return headers, rows
    cols = [c for c in data.columns if c in _DATA_LABELS]
    rows = [[_num(v, 2) if isinstance(v, float) else str(v) for v in r]
            for r in data[cols].itertuples(index=False)]
    return [_DATA_LABELS[c] for c in cols], rows


def _pct(v) -> str:
    return f"{_num(v, 0)} %"


def figure_alt(name: str, data: pd.DataFrame) -> str:
    """One or two sentences stating what a figure shows (its ``alt`` text), from its data."""
    if data is None or data.empty:
        return ""
    if name == "heatmap_codes_groupes":
        top = data.sort_values(["rate_pct", "code_id"], ascending=[False, True]).iloc[0]
        n_sig = int((data["mark"].astype(str) != "").sum())
        cells = "cellules s'écartent" if n_sig > 1 else "cellule s'écarte"
        return (f"Carte de chaleur des thèmes par groupe d'acteurs. La part la plus forte est "
                f"celle du thème « {top['label']} » chez {top['group_code']} "
                f"({_pct(top['rate_pct'])} de ses segments) ; {n_sig} {cells} "
                f"nettement de l'attendu. Les valeurs suivent la figure sous forme de tableau.")
    if name == "carte_consensus":
        spread = data.groupby(["code_id", "label"])["rate_pct"].agg(lambda v: v.max() - v.min())
        spread = spread.sort_values(kind="stable")
        low, high = spread.index[0][1], spread.index[-1][1]
        return (f"Carte du consensus : pour chaque thème, la part des segments de chaque groupe. "
                f"Les groupes sont les plus proches sur « {low} » et les plus éloignés sur "
                f"« {high} » (écart de {_num(spread.iloc[-1], 0)} points). Les valeurs suivent "
                f"la figure sous forme de tableau.")
    if name == "termes_distinctifs":
        firsts = (data.sort_values(["group_code", "rank"]).groupby("group_code").head(1))
        listed = " ; ".join(f"{r.group_code} : « {r.term} »" for r in firsts.itertuples())
        return (f"Barres des termes les plus distinctifs de chaque groupe. Terme le plus "
                f"distinctif par groupe : {listed}. Les valeurs suivent la figure sous forme de "
                f"tableau.")
    if name == "themes_emergents_groupes":
        top = data.sort_values(["share_pct", "topic"], ascending=[False, True]).iloc[0]
        return (f"Carte de chaleur des thèmes émergents par groupe. La part la plus forte est "
                f"celle du thème {top['topic']} ({str(top['topic_label']).replace('_', ' ')}) "
                f"chez {top['group_code']} ({_pct(top['share_pct'])} de ses segments). Les "
                f"valeurs suivent la figure sous forme de tableau.")
    if name == "recommandations_groupes":
        by = data.groupby("cluster_id").agg(n=("n_workshops", "first"),
                                            groups=("group_code", list))
        by = by.sort_values("n", ascending=False, kind="stable")
        first = by.index[0]
        return (f"Recommandations regroupées et groupes d'acteurs qui les ont proposées. La plus "
                f"partagée, {_rid(first)}, vient de {by.iloc[0]['n']} ateliers et des groupes "
                f"{', '.join(by.iloc[0]['groups'])}. Les valeurs suivent la figure sous forme "
                f"de tableau.")
    return ""
