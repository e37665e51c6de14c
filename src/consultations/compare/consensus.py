"""Salience and agreement across stakeholder groups, named apart in every output.

*Salience* says who raises a theme; *agreement* says whether the stances of those who took a
position on it agree (from :mod:`consultations.compare.positions`). A theme that every group
raises is « tous les groupes » (a shared priority), not a consensus: groups can raise the same
theme to ask for opposite things.

Part of the compare stage (rules in :mod:`consultations.compare.groups`). From the code × group
counts, a group *raises* a code when at least ``min_speakers`` (2) of its speakers use it AND
its rate (share of the group's segments) reaches both ``min_share`` (an absolute floor, 0 by
default) and ``rel_share`` (½) × the code's overall rate across the compared groups. The
relative part keeps a theme that one group dwells on (e.g. the penal chain for the justice
sector) from being called a consensus because a couple of speakers elsewhere touched it, while
rare themes can still be raised by several groups. Consensus index = ∏ over
groups of (n + 1) / (N + 2) (Pol.is' group-informed consensus, Laplace-smoothed). Salience
classes: :data:`SALIENCE`. Agreement classes (position questions only): see
:data:`consultations.compare.positions.POSITION_CLASSES`; other codes are « non mesuré ».
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["NOT_MEASURED", "SALIENCE", "consensus_table"]



SALIENCE = ("tous les groupes", "majorité des groupes", "minorité des groupes",
            "un seul groupe", "non évoqué")
NOT_MEASURED = "non mesuré (pas de question de position)"


def consensus_table(counts: pd.DataFrame, codebook: pd.DataFrame | None = None, *,
                    min_share: float = 0.0, min_speakers: float = 2, rel_share: float = 0.5,
                    agreement: dict[str, str] | None = None, min_group_speakers: int = 1,
                    include_empty_groups: bool = False) -> pd.DataFrame:
    """Per code: *salience* (which groups raise it) and *agreement* (whether stances agree).

    Args:
        counts: ``code_group_counts`` (per row: ``n_segments``, ``group_segments``,
            ``n_speakers``, ``rate_segments``, ``group_speakers``). Groups with no segment
            are not counted.
        codebook: the codebook (for labels).
        min_share: absolute floor on the group's share of segments with the code …
        min_speakers: … and at least this many of its speakers use the code …
        rel_share: … and its share is at least this fraction of the code's overall share.
        agreement: question (parent code) → agreement class from the positions
            (:func:`consultations.compare.positions.group_positions`); the class applies to
            the question and to its option codes. Other codes: « non mesuré ».
        min_group_speakers: groups with fewer participants are listed (``small_groups``) but
            never count in the salience class.
        include_empty_groups: count rows with ``group_segments == 0`` as groups that do not
            raise the code, with factor 1/2 in the index (as Pol.is does for a group that
            never saw a comment). Default: such groups are left out.

    Returns:
        ``consensus`` (contract columns, then ``n_groups``, ``consensus_geomean``,
        ``salience``, ``agreement``, ``small_groups``). ``classification`` is the
        agreement class for position questions and the salience class otherwise; the two
        are also given separately, named as such.

    """
    c = counts if include_empty_groups else counts[counts["group_segments"] > 0]
    c = c.copy()
    if "group_speakers" in c.columns:
        c["small"] = c["group_speakers"] < min_group_speakers
    else:
        c["small"] = False
    totals = c.groupby("code_id")[["n_segments", "group_segments"]].transform("sum")
    overall = totals["n_segments"] / totals["group_segments"].where(totals["group_segments"] > 0)
    c["raised"] = ((c["n_segments"] > 0) & (c["n_speakers"] >= min_speakers)
                   & (c["rate_segments"] >= min_share)
                   & (c["rate_segments"] >= rel_share * overall.fillna(0)))
    c["smooth"] = (c["n_segments"] + 1) / (c["group_segments"] + 2)
    parent_of = {}
    if codebook is not None and "parent" in codebook.columns:
        parent_of = {str(k): str(v) for k, v in zip(codebook["code_id"], codebook["parent"],
                                                    strict=True) if isinstance(v, str) and v}
    agreement = agreement or {}
    rows = []
    for code_id, sub in c.groupby("code_id", sort=True):
        big = sub[~sub["small"]]
        n_groups = int(len(big))
        above = sorted(big.loc[big["raised"], "group_code"])
        k = len(above)
        index = float(np.prod(sub["smooth"])) if len(sub) else np.nan
        if k == 0:
            sal = "non évoqué"
        elif n_groups >= 2 and k == n_groups:
            sal = "tous les groupes"
        elif k == 1:
            sal = "un seul groupe"
        elif k > n_groups / 2:
            sal = "majorité des groupes"
        else:
            sal = "minorité des groupes"
        agr = agreement.get(code_id) or agreement.get(parent_of.get(code_id, ""), NOT_MEASURED)
        rows.append({"code_id": code_id, "label": sub["label"].iloc[0],
                     "n_groups_above": k, "groups_above": ", ".join(above),
                     "consensus_index": index,
                     "classification": agr if agr != NOT_MEASURED else sal,
                     "n_groups": n_groups,
                     "consensus_geomean": index ** (1 / len(sub)) if len(sub) else np.nan,
                     "salience": sal, "agreement": agr,
                     "small_groups": ", ".join(sorted(sub.loc[sub["small"], "group_code"]))})
    return pd.DataFrame(rows, columns=["code_id", "label", "n_groups_above", "groups_above",
                                       "consensus_index", "classification", "n_groups",
                                       "consensus_geomean", "salience", "agreement",
                                       "small_groups"])
