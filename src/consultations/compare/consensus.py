"""Consensus across stakeholder groups: which codes every group raises, and which divide them.

Part of the compare stage (rules in :mod:`consultations.compare.groups`). From the code × group
counts, a group *raises* a code when at least ``min_speakers`` (2) of its speakers use it AND
its rate (share of the group's segments) reaches both ``min_share`` (an absolute floor, 0 by
default) and ``rel_share`` (½) × the code's overall rate across the compared groups. The
relative part keeps a theme that one group dwells on (e.g. the penal chain for the justice
sector) from being called a consensus because a couple of speakers elsewhere touched it, while
rare themes can still be raised by several groups. Consensus index = ∏ over
groups of (n + 1) / (N + 2) (Pol.is' group-informed consensus, Laplace-smoothed). Each code
gets one of :data:`CLASSES`; *contesté* when two groups hold opposing position codes
(:func:`position_children`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CLASSES", "consensus_table", "position_children"]

CLASSES = ("consensus", "majorité", "minorité", "spécifique à un groupe", "contesté",
           "non évoqué")


def position_children(codebook: pd.DataFrame) -> dict[str, list[str]]:
    """Return ``parent -> [position child codes]`` for codes that mark opposing positions.

    A code is a position when the codebook says so: a non-empty ``position`` (or ``stance``)
    column, or an ``opposes`` column naming the opposing code. Siblings that are positions
    under the same parent are taken as mutually opposed options.
    """
    cb = codebook
    marker = pd.Series(False, index=cb.index)
    for col in ("position", "stance", "opposes"):
        if col in cb.columns:
            marker |= cb[col].notna() & (cb[col].astype(str).str.strip() != "") & \
                ~cb[col].astype(str).str.strip().str.lower().isin({"false", "none", "nan", "0"})
    out: dict[str, list[str]] = {}
    if "parent" not in cb.columns:
        return out
    for code, parent in zip(cb.loc[marker, "code_id"], cb.loc[marker, "parent"], strict=True):
        if pd.notna(parent) and str(parent).strip():
            out.setdefault(str(parent), []).append(str(code))
    return {p: sorted(c) for p, c in sorted(out.items()) if len(c) >= 2}


def consensus_table(counts: pd.DataFrame, codebook: pd.DataFrame | None = None, *,
                    min_share: float = 0.0, min_speakers: float = 2, rel_share: float = 0.5,
                    min_speakers_position: float = 1,
                    include_empty_groups: bool = False) -> pd.DataFrame:
    """Classify each code as consensus / majority / minority / one group / contested.

    Args:
        counts: ``code_group_counts`` (per row: ``n_segments``, ``group_segments``,
            ``n_speakers``, ``rate_segments``). Groups with no segment are not counted.
        codebook: for position codes (see :func:`position_children`).
        min_share: absolute floor on the group's share of segments with the code …
        min_speakers: … and at least this many of its speakers use the code …
        rel_share: … and its share is at least this fraction of the code's overall share
            (segments with the code / all segments of the compared groups).
        min_speakers_position: ``min_speakers`` for position codes (a stance is rarer than a
            theme; one speaker voicing it for a group is enough to mark the group's position).
        include_empty_groups: count rows with ``group_segments == 0`` as groups that do not
            raise the code, with factor 1/2 in the index (as Pol.is does for a group that
            never saw a comment). Default: such groups are left out.

    Returns:
        ``consensus`` (contract columns, then ``n_groups``, ``consensus_geomean``,
        ``positions``).

    """
    c = counts if include_empty_groups else counts[counts["group_segments"] > 0]
    c = c.copy()
    pos = position_children(codebook) if codebook is not None else {}
    position_codes = {ch for children in pos.values() for ch in children}
    need = np.where(c["code_id"].isin(position_codes), min_speakers_position, min_speakers)
    totals = c.groupby("code_id")[["n_segments", "group_segments"]].transform("sum")
    overall = totals["n_segments"] / totals["group_segments"].where(totals["group_segments"] > 0)
    c["raised"] = ((c["n_segments"] > 0) & (c["n_speakers"] >= need)
                   & (c["rate_segments"] >= min_share)
                   & (c["rate_segments"] >= rel_share * overall.fillna(0)))
    c["smooth"] = (c["n_segments"] + 1) / (c["group_segments"] + 2)
    rate = c.set_index(["code_id", "group_code"])
    rows = []
    for code_id, sub in c.groupby("code_id", sort=True):
        n_groups = int(len(sub))
        above = sorted(sub.loc[sub["raised"], "group_code"])
        k = len(above)
        index = float(np.prod(sub["smooth"])) if n_groups else np.nan
        if k == 0:
            cls = "non évoqué"
        elif n_groups >= 2 and k == n_groups:
            cls = "consensus"
        elif k == 1:
            cls = "spécifique à un groupe"
        elif k > n_groups / 2:
            cls = "majorité"
        else:
            cls = "minorité"
        positions = ""
        if code_id in pos:
            held = held_positions(rate, pos[code_id], sorted(sub["group_code"]))
            positions = " ; ".join(f"{p} : {', '.join(gs) or '—'}" for p, gs in
                                   ((p, [g for g, h in held.items() if p in h])
                                    for p in pos[code_id]))
            if _opposed(held, pos[code_id]):
                cls = "contesté"
        rows.append({"code_id": code_id, "label": sub["label"].iloc[0],
                     "n_groups_above": k, "groups_above": ", ".join(above),
                     "consensus_index": index, "classification": cls,
                     "n_groups": n_groups,
                     "consensus_geomean": index ** (1 / n_groups) if n_groups else np.nan,
                     "positions": positions})
    return pd.DataFrame(rows, columns=["code_id", "label", "n_groups_above", "groups_above",
                                       "consensus_index", "classification", "n_groups",
                                       "consensus_geomean", "positions"])


def held_positions(rate: pd.DataFrame, children: list[str], groups: list[str]
                    ) -> dict[str, set[str]]:
    """Per group, the position(s) it raises with the highest rate (ties: all of them)."""
    held = {}
    for g in groups:
        vals = {ch: rate.loc[(ch, g)] for ch in children if (ch, g) in rate.index}
        raised = {ch: v["rate_segments"] for ch, v in vals.items() if v["raised"]}
        top = max(raised.values(), default=None)
        held[g] = {ch for ch, v in raised.items() if v == top} if raised else set()
    return held


def _opposed(held: dict[str, set[str]], children: list[str]) -> bool:
    """Return True when a group holds position a without b and another holds b without a."""
    for i, a in enumerate(children):
        for b in children[i + 1:]:
            ga = [g for g, h in held.items() if a in h and b not in h]
            gb = [g for g, h in held.items() if b in h and a not in h]
            if ga and gb:
                return True
    return False
