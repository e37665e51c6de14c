"""What the drafting team must decide, who was heard, and a quote for each side.

Rules:

- **Open decisions** (``open_decisions``): one row per position question whose agreement is
  « contesté », « partagé » or « à vérifier ». For each option: the groups whose majority holds
  it, and the speakers holding it (confident stances only); the strength of the evidence
  (*fort* when each of two options is held by a majority of at least one group of
  ``min_group_speakers`` participants and the stances are verified; *moyen* when the
  majorities rest partly on confident automatic stances; *faible* otherwise) and the
  verification status; small groups are named apart.
- **Quotes per side** (``position_quotes``): for each option of a position question, the
  evidence segment of one speaker who holds it (verified first, then the highest confidence,
  then the group holding the option as majority, then the segment id), so that the two sides
  of a disagreement are shown next to each other.
- **Participation** (``participation``): per group, participants, women and men (from
  participants.csv), segments and words spoken and their share; facilitators apart.
"""

from __future__ import annotations

import pandas as pd

from consultations.compare.positions import position_questions
from consultations.core.schema import truthy

__all__ = ["open_decisions", "participation", "position_quotes"]

QUOTE_COLUMNS = ["question", "option", "segment_id", "speaker", "stakeholder_group",
                 "group_code", "workshop_id", "source_file", "line_start", "line_end", "text",
                 "status", "form"]


def position_quotes(positions: pd.DataFrame, group_pos: pd.DataFrame, segments: pd.DataFrame,
                    codebook: pd.DataFrame) -> pd.DataFrame:
    """One quote per option of each position question (rule in the module docstring)."""
    questions = position_questions(codebook)
    if not questions or positions is None or positions.empty:
        return pd.DataFrame(columns=QUOTE_COLUMNS)
    ok = positions[positions["status"] != "à vérifier"]
    seg = segments.set_index("segment_id")
    rows = []
    for q, opts in questions.items():
        maj = group_pos[group_pos["question"] == q].set_index("group_code")["majority"]
        for o in opts:
            cand = ok[(ok["question"] == q) & (ok["stance"] == o)]
            if cand.empty:
                continue
            cand = cand.assign(
                _v=cand["verified"].astype(bool), _m=cand["group_code"].map(maj).eq(o),
                _c=cand["confidence"].astype(float))
            best = cand.sort_values(["_v", "_m", "_c", "evidence_segment_id"],
                                    ascending=[False, False, False, True]).iloc[0]
            sid = best["evidence_segment_id"]
            if sid not in seg.index:
                continue
            s = seg.loc[sid]
            rows.append({"question": q, "option": o, "segment_id": sid,
                         "speaker": best["speaker"],
                         "stakeholder_group": best["stakeholder_group"],
                         "group_code": best["group_code"], "workshop_id": s["workshop_id"],
                         "source_file": s["source_file"], "line_start": s["line_start"],
                         "line_end": s.get("line_end"), "text": s["text"],
                         "status": best["status"], "form": best["form"]})
    return pd.DataFrame(rows, columns=QUOTE_COLUMNS)


def open_decisions(summary: pd.DataFrame, group_pos: pd.DataFrame, positions: pd.DataFrame,
                   codebook: pd.DataFrame) -> pd.DataFrame:
    """One row per contested or divided position question (rule in the module docstring)."""
    cols = ["question", "label", "axis", "classification", "options", "holders",
            "speakers_by_option", "strength", "verification", "small_groups"]
    if summary is None or summary.empty:
        return pd.DataFrame(columns=cols)
    questions = position_questions(codebook)
    axis = dict(zip(codebook["code_id"], codebook.get("axis", pd.Series([""] * len(codebook))),
                    strict=True))
    rows = []
    for r in summary[summary["open_decision"].astype(bool)].itertuples():
        g = group_pos[(group_pos["question"] == r.question) & ~group_pos["small_group"]]
        p = positions[(positions["question"] == r.question)
                      & (positions["status"] != "à vérifier")] if len(positions) else positions
        held = [o for o in questions.get(r.question, []) if (g["majority"] == o).any()]
        spk = []
        for o in questions.get(r.question, []):
            who = sorted(set(p.loc[p["stance"] == o, "speaker"])) if len(p) else []
            spk.append(f"{o} : {', '.join(who) or '—'}")
        verified_only = len(p) > 0 and bool(p["verified"].astype(bool).all())
        if len(held) >= 2 and verified_only:
            strength = "fort"
        elif len(held) >= 2 or (len(held) == 1 and verified_only):
            strength = "moyen"
        else:
            strength = "faible"
        ax = axis.get(r.question, "")
        rows.append({"question": r.question, "label": r.label,
                     "axis": ax if isinstance(ax, str) else "",
                     "classification": r.classification, "options": r.options,
                     "holders": r.holders, "speakers_by_option": " ; ".join(spk),
                     "strength": strength, "verification": r.verification,
                     "small_groups": r.small_groups})
    return pd.DataFrame(rows, columns=cols)


def participation(segments: pd.DataFrame, speakers: pd.DataFrame | None) -> pd.DataFrame:
    """Who was consulted and who spoke how much, per group (facilitation on its own row)."""
    cols = ["group_code", "stakeholder_group", "participants", "women", "men",
            "gender_unknown", "speakers", "segments", "words", "share_words", "is_facilitation"]
    if segments is None or segments.empty:
        return pd.DataFrame(columns=cols)
    seg = segments
    if "is_collective" in seg:  # « Plusieurs députés… » is nobody: out of the counts of people
        seg = seg[~truthy(seg["is_collective"])]
        if speakers is not None and "is_collective" in speakers:
            speakers = speakers[~truthy(speakers["is_collective"])]
    seg = seg.assign(_fac=truthy(seg["is_facilitator"]))
    spoke = seg.groupby("group_code").agg(
        stakeholder_group=("stakeholder_group", "first"), speakers=("speaker", "nunique"),
        segments=("segment_id", "size"), words=("n_words", "sum"),
        is_facilitation=("_fac", "max"))
    if speakers is not None and len(speakers):
        people = speakers.drop_duplicates(["speaker"])
        g = people["gender"].fillna("").astype(str).str.upper().str[:1]
        people = people.assign(_f=g.eq("F"), _m=g.eq("M"), _u=~g.isin(["F", "M"]))
        who = people.groupby("group_code").agg(participants=("speaker", "nunique"),
                                               women=("_f", "sum"), men=("_m", "sum"),
                                               gender_unknown=("_u", "sum"))
        spoke = spoke.join(who, how="outer")
        spoke["stakeholder_group"] = spoke["stakeholder_group"].fillna(
            people.drop_duplicates("group_code").set_index("group_code")["stakeholder_group"])
    for c in ("participants", "women", "men", "gender_unknown", "speakers", "segments", "words"):
        if c not in spoke:
            spoke[c] = 0
        spoke[c] = spoke[c].fillna(0).astype(int)
    spoke["is_facilitation"] = spoke["is_facilitation"].fillna(False).astype(bool)
    part_words = spoke.loc[~spoke["is_facilitation"], "words"].sum()
    spoke["share_words"] = [w / part_words if part_words and not f else float("nan")
                            for w, f in zip(spoke["words"], spoke["is_facilitation"],
                                            strict=True)]
    out = spoke.reset_index().rename(columns={"index": "group_code"})
    out = out.sort_values(["is_facilitation", "group_code"]).reset_index(drop=True)
    return out[cols]
