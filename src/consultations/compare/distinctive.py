"""Distinctive terms of each stakeholder group: weighted log-odds with a Dirichlet prior.

Part of the compare stage (rules in :mod:`consultations.compare.groups`). Each group is compared
with all other groups over the segments' lemmas (facilitators left out, stop words and
consultation filler dropped) by the weighted log-odds ratio with an informative Dirichlet
prior of Monroe, Colaresi & Quinn (2008, eq. 16–22); the prior is the whole corpus' counts
times ``prior_scale``. Each term comes with an example segment of the group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from consultations.core.schema import participant_segments
from consultations.core.textutils import stop_word_tokens

__all__ = ["distinctive_terms", "log_odds_dirichlet"]


def log_odds_dirichlet(counts_i: pd.Series, counts_j: pd.Series, prior: pd.Series
                       ) -> pd.DataFrame:
    """Weighted log-odds ratio with an informative Dirichlet prior (Monroe et al. 2008).

    δ_w = log((y_wi + α_w) / (n_i + α_0 − y_wi − α_w)) − log((y_wj + α_w) / (n_j + α_0 −
    y_wj − α_w)); var(δ_w) ≈ 1/(y_wi + α_w) + 1/(y_wj + α_w); z = δ_w / √var.

    Args:
        counts_i: term counts of group i (index = terms).
        counts_j: term counts of the comparison set j (same index or a subset).
        prior: α_w per term (index = terms); α_0 is its sum.

    Returns:
        A frame indexed by term with ``log_odds``, ``var`` and ``z``.

    """
    terms = prior.index
    yi = counts_i.reindex(terms, fill_value=0).astype(float)
    yj = counts_j.reindex(terms, fill_value=0).astype(float)
    a = prior.astype(float)
    a0, ni, nj = a.sum(), yi.sum(), yj.sum()
    delta = (np.log((yi + a) / (ni + a0 - yi - a)) - np.log((yj + a) / (nj + a0 - yj - a)))
    var = 1.0 / (yi + a) + 1.0 / (yj + a)
    return pd.DataFrame({"log_odds": delta, "var": var, "z": delta / np.sqrt(var)})


def distinctive_terms(segments: pd.DataFrame, *, top_n: int = 15, prior_scale: float = 1.0,
                      min_count: int = 3, stop_words: set[str] | None = None,
                      example_words: tuple[int, int] = (8, 60)) -> pd.DataFrame:
    """Top distinctive lemmas of each group against all other groups, with an example.

    Args:
        segments: the segments table (``lemmas``; facilitators dropped).
        top_n: terms kept per group (only positive z).
        prior_scale: α_w = prior_scale × corpus count of w.
        min_count: minimum corpus count of a lemma.
        stop_words: lemmas to drop (default: spaCy French + consultation filler).
        example_words: preferred word range of the example segment.

    Returns:
        ``distinctive_terms``: one row per (group, term), ranked by z, plus ``count_group``.
        The example is the group's segment containing the term, in the preferred length
        range first, then the earliest ``segment_id``.

    """
    stop = stop_word_tokens() if stop_words is None else set(stop_words)
    segs = participant_segments(segments)
    cols = ["group_code", "term", "log_odds", "z", "rank", "example_segment_id",
            "example_text", "count_group"]
    if segs["group_code"].nunique() < 2:
        return pd.DataFrame(columns=cols)
    toks = segs[["segment_id", "group_code", "lemmas", "text", "n_words"]].copy()
    toks["term"] = toks["lemmas"].fillna("").str.split()
    long = toks.explode("term").dropna(subset=["term"])
    long = long[long["term"].str.isalpha() & (long["term"].str.len() > 2)
                & ~long["term"].isin(stop)]
    table = long.pivot_table(index="term", columns="group_code", values="segment_id",
                             aggfunc="size", fill_value=0)
    total = table.sum(axis=1)
    table = table[total >= min_count]
    if table.empty:
        return pd.DataFrame(columns=cols)
    prior = table.sum(axis=1) * prior_scale
    rows = []
    lo, hi = example_words
    for g in sorted(table.columns):
        res = log_odds_dirichlet(table[g], table.drop(columns=g).sum(axis=1), prior)
        res = res[res["z"] > 0].rename_axis("term").reset_index()
        res = res.sort_values(["z", "term"], ascending=[False, True]).head(top_n)
        gl = long[long["group_code"] == g]
        for rank, (_, r) in enumerate(res.iterrows(), start=1):
            term = r["term"]
            ex = gl[gl["term"] == term].drop_duplicates("segment_id")
            ex = ex.assign(_out=~ex["n_words"].between(lo, hi)).sort_values(
                ["_out", "segment_id"])
            rows.append({"group_code": g, "term": term, "log_odds": float(r["log_odds"]),
                         "z": float(r["z"]), "rank": rank,
                         "example_segment_id": ex["segment_id"].iloc[0],
                         "example_text": ex["text"].iloc[0],
                         "count_group": int(table.loc[term, g])})
    return pd.DataFrame(rows, columns=cols)
