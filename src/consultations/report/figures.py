"""Figures of the brief (matplotlib, French labels, colour-blind-safe, deterministic files).

Each ``fig_*`` function takes the tables it plots and returns ``(figure, data)``: a matplotlib
:class:`~matplotlib.figure.Figure` (built without pyplot, so no global state) and the DataFrame
of the values drawn, which lets tests check that every mark traces back to a table. It returns
``(None, empty frame)`` when there is nothing to draw. :func:`make_figures` draws them all and
:func:`save_figure` writes PNG (200 dpi) and SVG files whose bytes depend only on the data.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from consultations.core.textutils import as_list
from consultations.core.typography import fr_typo

__all__ = [
    "FIGURES",
    "OKABE_ITO",
    "fig_code_group_heatmap",
    "fig_consensus_map",
    "fig_distinctive_terms",
    "fig_rec_clusters",
    "fig_topics_per_group",
    "contrast_ratio",
    "figure_bytes",
    "label_color",
    "make_figures",
    "save_figure",
]

#: Okabe–Ito palette (colour-blind safe), without black.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#999999"]
#: A4 text width (16 cm) in inches.
A4_WIDTH = 6.3
_RC = {
    "svg.hashsalt": "consultations",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*"]
_KNOWN_GROUPS = ["FDS", "DEC", "OSC", "PTF", "JUS"]


#: Colours declared by the project (the catalog's ``groups`` table), set by make_figures.
_DECLARED: dict[str, str] = {}


def _gcolor(group: str, groups: list[str]) -> str:
    """Stable colour per group: declared colours first, the known groups keep theirs."""
    if group in _DECLARED:
        return _DECLARED[group]
    if group in _KNOWN_GROUPS:
        return OKABE_ITO[_KNOWN_GROUPS.index(group)]
    extra = [g for g in groups if g not in _KNOWN_GROUPS]
    return OKABE_ITO[(len(_KNOWN_GROUPS) + extra.index(group)) % len(OKABE_ITO)]


def _luminance(rgb) -> float:
    """WCAG relative luminance of an (r, g, b) colour with channels in 0–1."""
    def lin(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(float(c)) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a, b) -> float:
    """WCAG contrast ratio between two colours (matplotlib colour specs)."""
    from matplotlib.colors import to_rgb

    la, lb = sorted((_luminance(to_rgb(a)), _luminance(to_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def label_color(background) -> str:
    """Black or white, whichever contrasts more with ``background`` (WCAG ratio)."""
    return "black" if contrast_ratio("black", background) >= contrast_ratio("white",
                                                                            background) \
        else "white"


def _wrap(text: str, width: int = 34) -> str:
    """Wrap a label on ordinary spaces, with French typography (no-break spaces hold)."""
    text = fr_typo(text)
    return "\n".join(textwrap.wrap(text, width)) or text


def _short(text: str, width: int = 60) -> str:
    return fr_typo(textwrap.shorten(str(text), width=width, placeholder=" …"))


def _rid(cluster_id) -> str:
    text = str(cluster_id)
    return text if text[:1].isalpha() else f"R{text}"


def _row_height(n: int, base: float = 0.34, extra: float = 1.3, max_h: float = 8.4) -> float:
    """Figure height for ``n`` rows, capped so that it fits an A4 page with its caption."""
    return min(max(2.2, base * n + extra), max_h)


def _pct_factor(rates: pd.Series) -> float:
    """100 when rates are proportions (0–1), 1 when they are already percentages."""
    rates = pd.to_numeric(rates, errors="coerce").dropna()
    return 1.0 if len(rates) and rates.max() > 1.0 else 100.0


def _new_figure(height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(A4_WIDTH, height), layout="constrained")


def _empty(columns: list[str]):
    return None, pd.DataFrame(columns=columns)


def fig_code_group_heatmap(code_group_counts: pd.DataFrame,
                           code_group_residuals: pd.DataFrame | None = None):
    """Heatmap of code rates (% of a group's segments) with significant cells marked.

    Args:
        code_group_counts: the ``code_group_counts`` table.
        code_group_residuals: the ``code_group_residuals`` table (cells with ``significant``
            true are marked ``+`` when over-represented, ``−`` when under-represented).

    Returns:
        ``(figure, data)`` with data columns code_id, label, group_code, rate_pct, mark.

    """
    cols = ["code_id", "label", "group_code", "rate_pct", "mark"]
    if code_group_counts is None or code_group_counts.empty:
        return _empty(cols)
    import matplotlib as mpl
    import numpy as np

    df = code_group_counts.copy()
    # The unit is the speaker: the share of a group's participants who raised the theme (the
    # significance marks come from the speaker-level test); segments when not available.
    rate = "rate_speakers" if "rate_speakers" in df and df["rate_speakers"].notna().any() \
        else "rate_segments"
    factor = _pct_factor(df[rate])
    df["rate_pct"] = pd.to_numeric(df[rate], errors="coerce").fillna(0) * factor
    df["mark"] = ""
    if code_group_residuals is not None and not code_group_residuals.empty:
        sig = code_group_residuals[code_group_residuals["significant"].fillna(False).astype(bool)]
        marks = {(r.code_id, r.group_code): ("+" if r.residual > 0 else "−")
                 for r in sig.itertuples()}
        df["mark"] = [marks.get(cg, "") for cg in zip(df["code_id"], df["group_code"],
                                                      strict=True)]
    order = (df.groupby("code_id")["n_segments"].sum().sort_values(ascending=False, kind="stable")
             .index.tolist())
    groups = sorted(df["group_code"].unique())
    labels = df.drop_duplicates("code_id").set_index("code_id")["label"]
    mat = (df.pivot_table(index="code_id", columns="group_code", values="rate_pct",
                          aggfunc="sum").reindex(index=order, columns=groups).fillna(0))
    marks = (df.pivot_table(index="code_id", columns="group_code", values="mark",
                            aggfunc="first").reindex(index=order, columns=groups).fillna(""))
    fig = _new_figure(_row_height(len(order)))
    small = len(order) > 18
    ax = fig.add_subplot()
    vmax = max(float(mat.values.max()), 1e-9)
    im = ax.imshow(mat.values, cmap="cividis", aspect="auto", vmin=0, vmax=vmax)
    cmap = mpl.colormaps["cividis"]
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            v = mat.values[i, j]
            rgba = cmap(v / vmax)
            text = f"{v:.0f}".replace(".", ",") + (f" {marks.values[i, j]}" if marks.values[i, j]
                                                   else "")
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5 if small else 7.5,
                    color=label_color(rgba),
                    fontweight="bold" if marks.values[i, j] else "normal")
            if marks.values[i, j]:
                ax.add_patch(mpl.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                                   edgecolor="#D55E00", linewidth=1.6))
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.set_yticks(np.arange(len(order)), [_wrap(labels.get(c, c), 55 if small else 40)
                                          for c in order],
                  fontsize=6.5 if small else 8)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_xlabel("Groupe d'acteurs")
    ax.set_title("Part des intervenants de chaque groupe qui évoquent le thème (%)"
                 if rate == "rate_speakers" else
                 "Part des segments de chaque groupe consacrée au thème (%)")
    cb = fig.colorbar(im, ax=ax, shrink=0.8, pad=0.02)
    cb.set_label("% des intervenants du groupe" if rate == "rate_speakers"
                 else "% des segments du groupe")
    data = (df[["code_id", "label", "group_code", "rate_pct", "mark"]]
            .sort_values(["code_id", "group_code"]).reset_index(drop=True))
    return fig, data


def fig_consensus_map(consensus: pd.DataFrame, code_group_counts: pd.DataFrame):
    """Consensus map: each theme's rate in every group, themes ordered by consensus index.

    Returns:
        ``(figure, data)`` with data columns code_id, label, group_code, rate_pct,
        consensus_index, classification.

    """
    cols = ["code_id", "label", "group_code", "rate_pct", "consensus_index", "classification"]
    if consensus is None or consensus.empty or code_group_counts is None \
            or code_group_counts.empty:
        return _empty(cols)
    cg = code_group_counts.copy()
    cg["rate_pct"] = pd.to_numeric(cg["rate_segments"], errors="coerce").fillna(0) \
        * _pct_factor(cg["rate_segments"])
    cons = consensus.sort_values(["consensus_index", "code_id"], ascending=[True, True])
    data = cg.merge(cons[["code_id", "consensus_index", "classification"]], on="code_id")
    if data.empty:
        return _empty(cols)
    order = [c for c in cons["code_id"] if c in set(data["code_id"])]
    labels = cons.set_index("code_id")["label"]
    groups = sorted(data["group_code"].unique())
    fig = _new_figure(_row_height(len(order), 0.36, 1.4))
    small = len(order) > 18
    ax = fig.add_subplot()
    ypos = {c: i for i, c in enumerate(order)}
    for i, c in enumerate(order):
        sub = data[data["code_id"] == c]
        ax.axhspan(i - 0.32, i + 0.32, color="#f2f2f2", zorder=0, lw=0)
        ax.hlines(i, sub["rate_pct"].min(), sub["rate_pct"].max(), color="#999999", lw=1.0,
                  zorder=1)
    step = 0.5 / max(len(groups), 1)
    for k, g in enumerate(groups):
        sub = data[data["group_code"] == g]
        offset = (k - (len(groups) - 1) / 2) * step  # groups side by side, not on top
        ax.scatter(sub["rate_pct"], [ypos[c] + offset for c in sub["code_id"]], s=28,
                   color=_gcolor(g, groups), marker=_MARKERS[k % len(_MARKERS)],
                   label=g, zorder=2, edgecolors="black", linewidths=0.7)
    cls = cons.set_index("code_id")["classification"]
    ax.set_yticks(range(len(order)),
                  [_wrap(f"{labels.get(c, c)} ({cls.get(c, '')})", 60 if small else 44)
                   for c in order], fontsize=6.5 if small else 8)
    ax.set_xlabel("% des segments du groupe consacrés au thème")
    ax.set_title("Carte du consensus\u00a0: dispersion des groupes par thème\n"
                 "(classés par indice de consensus, le plus élevé en haut)")
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    fig.legend(*ax.get_legend_handles_labels(), title="Groupe", loc="outside right center",
               frameon=False)
    data = (data[cols].sort_values(["code_id", "group_code"]).reset_index(drop=True))
    return fig, data


def fig_distinctive_terms(distinctive_terms: pd.DataFrame, top: int = 6):
    """Small multiples: the most distinctive terms of each group (weighted log-odds).

    Returns:
        ``(figure, data)`` with data columns group_code, term, log_odds, rank.

    """
    cols = ["group_code", "term", "log_odds", "rank"]
    if distinctive_terms is None or distinctive_terms.empty:
        return _empty(cols)
    df = (distinctive_terms.sort_values(["group_code", "rank", "term"])
          .groupby("group_code", sort=True).head(top))
    groups = sorted(df["group_code"].unique())
    ncols = min(3, len(groups))
    nrows = -(-len(groups) // ncols)
    fig = _new_figure(1.75 * nrows + 0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, g in enumerate(groups):
        ax = axes[k // ncols][k % ncols]
        sub = df[df["group_code"] == g].sort_values("rank", ascending=False)
        ax.barh(sub["term"], sub["log_odds"], color=_gcolor(g, groups), edgecolor="black",
                linewidth=0.6)
        ax.set_title(g, fontweight="bold")
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel("score de spécificité", fontsize=7)
    for k in range(len(groups), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    fig.suptitle("Termes les plus distinctifs de chaque groupe (score de spécificité)",
                 fontsize=9.5)
    return fig, df[cols].reset_index(drop=True)


def fig_topics_per_group(topics_per_group: pd.DataFrame, top: int = 10):
    """Heatmap of topic shares (% of each group's segments) for the largest topics.

    Returns:
        ``(figure, data)`` with data columns topic, topic_label, group_code, share_pct.

    """
    cols = ["topic", "topic_label", "group_code", "share_pct"]
    if topics_per_group is None or topics_per_group.empty:
        return _empty(cols)
    import numpy as np

    df = topics_per_group[topics_per_group["topic"] != -1].copy()
    if df.empty:
        return _empty(cols)
    df["share_pct"] = pd.to_numeric(df["share_of_group"], errors="coerce").fillna(0) \
        * _pct_factor(df["share_of_group"])
    sizes = df.groupby("topic")["count"].sum().sort_values(ascending=False, kind="stable")
    keep = sorted(sizes.head(top).index)
    df = df[df["topic"].isin(keep)]
    groups = sorted(df["group_code"].unique())
    mat = (df.pivot_table(index="topic", columns="group_code", values="share_pct",
                          aggfunc="sum").reindex(index=keep, columns=groups).fillna(0))
    labels = df.drop_duplicates("topic").set_index("topic")["topic_label"]
    fig = _new_figure(max(2.2, 0.34 * len(keep) + 1.3))
    ax = fig.add_subplot()
    im = ax.imshow(mat.values, cmap="viridis", aspect="auto", vmin=0)
    vmax = max(float(mat.values.max()), 1e-9)
    cmap = im.get_cmap()
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            v = mat.values[i, j]
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7.5,
                    color=label_color(cmap(v / vmax)))
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.set_yticks(np.arange(len(keep)),
                  [_wrap(f"{t} · {_short(str(labels.get(t, t)).replace('_', ' '), 40)}", 40)
                   for t in keep])
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_xlabel("Groupe d'acteurs")
    ax.set_title("Thèmes émergents\u00a0: part des segments de chaque groupe (%)")
    cb = fig.colorbar(im, ax=ax, shrink=0.8, pad=0.02)
    cb.set_label("% des segments du groupe")
    data = df[cols].sort_values(["topic", "group_code"]).reset_index(drop=True)
    return fig, data


def fig_rec_clusters(rec_clusters: pd.DataFrame, top: int = 12):
    """Which groups proposed each recommendation cluster (the most widely shared first).

    Returns:
        ``(figure, data)`` with data columns cluster_id, text, group_code, n_workshops.

    """
    cols = ["cluster_id", "text", "group_code", "n_workshops"]
    if rec_clusters is None or rec_clusters.empty:
        return _empty(cols)
    rep = (rec_clusters.sort_values(["cluster_id", "is_representative", "rec_id"],
                                    ascending=[True, False, True])
           .drop_duplicates("cluster_id"))
    rep = rep.assign(n_groups=[len(as_list(g)) for g in rep["groups"]])
    rep = rep.sort_values(["n_workshops", "n_groups", "cluster_id"],
                          ascending=[False, False, True]).head(top)
    rows = [{"cluster_id": r.cluster_id, "text": r.text, "group_code": g,
             "n_workshops": int(r.n_workshops)}
            for r in rep.itertuples() for g in as_list(r.groups)]
    data = pd.DataFrame(rows, columns=cols)
    groups = sorted(data["group_code"].unique()) if len(data) else []
    fig = _new_figure(_row_height(len(rep), 0.42, 1.2))
    ax, axn = fig.subplots(1, 2, width_ratios=[max(len(groups), 1), 1.6], sharey=True)
    ids = list(rep["cluster_id"])
    for i, r in enumerate(rep.itertuples()):
        for g in as_list(r.groups):
            if g in groups:
                j = groups.index(g)
                ax.scatter(j, i, s=90, marker="s", color=_gcolor(g, groups),
                           edgecolors="black", linewidths=0.7)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_yticks(range(len(ids)), [_wrap(f"{_rid(c)} · {_short(t, 70)}", 42)
                                    for c, t in zip(ids, rep["text"], strict=True)])
    ax.invert_yaxis()
    ax.grid(color="#eeeeee", lw=0.6)
    ax.set_axisbelow(True)
    ax.set_title("Groupes auteurs")
    axn.barh(range(len(ids)), rep["n_workshops"], color="#0072B2", edgecolor="black",
             linewidth=0.6)
    axn.set_title("Nb d'ateliers")
    axn.tick_params(axis="y", length=0)
    axn.xaxis.get_major_locator().set_params(integer=True)
    axn.set_xlim(0, max(int(rep["n_workshops"].max()), 1) + 0.5)
    fig.suptitle("Recommandations regroupées\u00a0: qui les a proposées", fontsize=9.5)
    return fig, data


#: Name → (title used as caption, tables used, function).
FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "heatmap_codes_groupes": (
        "Fréquence des thèmes par groupe d'acteurs (% des intervenants du groupe qui les "
        "évoquent ; cellules "
        "encadrées : écart significatif, + sur-représenté, − sous-représenté)",
        ("code_group_counts", "code_group_residuals")),
    "carte_consensus": ("Carte du consensus : part de chaque groupe par thème",
                        ("consensus", "code_group_counts")),
    "termes_distinctifs": ("Termes distinctifs de chaque groupe (score de spécificité : "
                           "logarithme pondéré du rapport de cotes)",
                           ("distinctive_terms",)),
    "themes_emergents_groupes": ("Thèmes émergents du modèle de thèmes, par groupe",
                                 ("topics_per_group",)),
    "recommandations_groupes": ("Groupes de recommandations et groupes d'acteurs auteurs",
                                ("rec_clusters",)),
}


def _draw(name: str, tables: Mapping[str, pd.DataFrame]):
    def get(t):
        return tables[t] if t in tables else None

    if name == "heatmap_codes_groupes":
        return fig_code_group_heatmap(get("code_group_counts"), get("code_group_residuals"))
    if name == "carte_consensus":
        return fig_consensus_map(get("consensus"), get("code_group_counts"))
    if name == "termes_distinctifs":
        return fig_distinctive_terms(get("distinctive_terms"))
    if name == "themes_emergents_groupes":
        return fig_topics_per_group(get("topics_per_group"))
    return fig_rec_clusters(get("rec_clusters"))


def draw_figure(name: str, tables: Mapping[str, pd.DataFrame]):
    """Draw one figure of :data:`FIGURES` from the tables, without writing it anywhere.

    Returns:
        ``(figure, data)``; ``(None, None)`` when the tables hold nothing to draw.

    Raises:
        KeyError: an unknown figure name (the known ones are listed).

    """
    import matplotlib as mpl

    if name not in FIGURES:
        raise KeyError(f"figure inconnue « {name} » ; figures possibles : {', '.join(FIGURES)}")
    with mpl.rc_context(_RC):
        return _draw(name, tables)


def figure_bytes(fig, fmt: str) -> bytes:
    """Render a figure to PNG (200 dpi) or SVG bytes that depend only on its content."""
    import matplotlib as mpl

    buf = io.BytesIO()
    with mpl.rc_context(_RC):
        if fmt == "svg":
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        else:
            fig.savefig(buf, format="png", dpi=200, metadata={"Software": None},
                        facecolor="white")
    return buf.getvalue()


def save_figure(fig, folder: Path, name: str) -> dict[str, Path]:
    """Write ``name.png`` and ``name.svg`` into ``folder`` atomically; return their paths."""
    from consultations.core.io import atomic_write_bytes

    out = {}
    for fmt in ("png", "svg"):
        out[fmt] = atomic_write_bytes(Path(folder) / f"{name}.{fmt}", figure_bytes(fig, fmt))
    return out


def make_figures(tables: Mapping[str, pd.DataFrame], folder: Path) -> list[dict]:
    """Draw every figure that has data and save it under ``folder``.

    Returns:
        One dict per figure drawn: name, caption, sources (table names), png, svg (paths),
        data (the values drawn), alt (a sentence stating what the figure shows).

    """
    import matplotlib as mpl

    from consultations.report.figure_text import figure_alt

    made = []
    groups = tables["groups"] if "groups" in tables else None
    _DECLARED.clear()
    if groups is not None and {"group_code", "colour"} <= set(groups.columns):
        _DECLARED.update(zip(groups["group_code"].astype(str), groups["colour"].astype(str),
                             strict=True))
    for name, (caption, sources) in FIGURES.items():
        with mpl.rc_context(_RC):
            fig, data = _draw(name, tables)
            if fig is None:
                continue
            files = save_figure(fig, folder, name)
        made.append({"name": name, "caption": caption, "sources": list(sources),
                     "png": files["png"], "svg": files["svg"], "data": data,
                     "alt": figure_alt(name, data)})
    return made
