"""Positions, not mentions: each speaker's stance on each position question, then each group's.

A *position question* is a parent code whose children carry a ``position`` in the codebook
(e.g. MIL with MIL.INT « intégrer » / MIL.DES « désarmer ou encadrer »). Two notions are kept
apart in every output: *salience* (who raises a theme: :mod:`consultations.compare.consensus`)
and *agreement* (whether the stances of those who took a position agree: this module).

Rules (defaults in :data:`consultations.compare.groups.DEFAULTS`, override them in the
settings file's ``[compare]``):

- **Evidence per segment.** A review decision (« accepter »/« recoder ») or a manual coding of an
  option code states that option, verified, confidence 1 (source ``revue`` / ``manuel``; two
  human coders who disagree on a segment leave it « à vérifier »). A segment that only the
  rule coder marked with an option code (or with the opposite option after a stance cue) goes
  to the stance detector (:func:`consultations.coding.stance.detect_stances`), which reads the
  sentence and its neighbours for negation, rhetorical questions, concessions, reported speech,
  conditions and irony, and returns an option, ``réservé`` or nothing, with a confidence.
  A segment with no human coding and a rejected rule coding gives nothing.
- **A speaker's stance** (table ``positions``, one row per workshop, speaker and question): the
  evidence is ordered as spoken; the best tier available decides (verified, then automatic with
  confidence ≥ ``stance_min_confidence``, then the rest); within it the *last* stance counts
  (a speaker who changes their mind), and earlier different stances are kept in ``history``.
  ``verified`` is true only for a human-coded stance; an automatic stance below the threshold
  has ``status`` « à vérifier » and is never stated as a position in the brief.
- **A group's position** (table ``group_positions``): the distribution of its speakers'
  stances (one per person: the latest workshop counts). Only confident stances count
  (verified or automatic ≥ threshold); unconfident ones are counted in ``n_a_verifier``. The
  ``majority`` is the option held by at least ``min_speakers_position`` (2) speakers, more
  than half of the group's stated stances and ``position_margin`` (1) more than the next
  option; otherwise « partagé » (stated but divided), « à vérifier » (only unconfident
  stances) or « non exprimé ». A group is never on both sides.
- **Agreement per question** (``classification``), over groups with at least
  ``min_group_speakers`` (3) participants (smaller groups are shown, flagged, and never drive
  a classification): « contesté » when two groups' majorities differ; « consensus » when at
  least two groups hold a majority, all the same, and no eligible group is « partagé »;
  « position d'un seul groupe »; « partagé »; « à vérifier »; « non exprimé ».
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from consultations.core.schema import participant_segments

__all__ = ["POSITION_CLASSES", "group_positions", "position_questions",
           "position_summary", "speaker_positions"]

POSITION_CLASSES = ("contesté", "consensus", "position d'un seul groupe", "partagé",
                    "à vérifier", "non exprimé")
RESERVE = "réservé"
POSITION_COLUMNS = ["workshop_id", "speaker", "stakeholder_group", "question", "stance",
                    "source", "confidence", "verified", "segment_ids", "group_code", "status",
                    "form", "cue", "history", "evidence_segment_id"]


def position_questions(codebook: pd.DataFrame) -> dict[str, list[str]]:
    """Return ``parent -> [option codes]`` for the codebook's position questions (≥ 2 options)."""
    if "position" not in codebook.columns or "parent" not in codebook.columns:
        return {}
    pos = codebook["position"].fillna("").astype(str).str.strip()
    marked = codebook[(pos != "") & ~pos.str.lower().isin({"false", "none", "nan", "0"})]
    out: dict[str, list[str]] = {}
    for code, parent in zip(marked["code_id"], marked["parent"], strict=True):
        if isinstance(parent, str) and parent.strip():
            out.setdefault(parent.strip(), []).append(str(code))
    return {p: sorted(c) for p, c in sorted(out.items()) if len(c) >= 2}


def _human_evidence(codings: pd.DataFrame, questions: dict[str, list[str]]) -> pd.DataFrame:
    """Stance evidence from manual codings and review decisions (verified)."""
    opt_q = {o: q for q, opts in questions.items() for o in opts}
    if "source" not in codings:
        codings = codings.assign(source="rule")
    h = codings[codings["source"].isin(["manual", "review"])
                & codings["code_id"].isin(opt_q)].copy()
    if "negated" in h:
        h = h[~h["negated"].astype(bool)]
    if h.empty:
        return pd.DataFrame(columns=["segment_id", "question", "stance", "source", "confidence",
                                     "verified", "form", "cue"])
    h["question"] = h["code_id"].map(opt_q)
    rows = []
    for (seg, q), sub in h.groupby(["segment_id", "question"], sort=True):
        review = sub[sub["source"] == "review"]
        use = review if len(review) else sub
        stances = sorted(set(use["code_id"]))
        source = "revue" if len(review) else "manuel"
        coders = ", ".join(sorted(set(use["coder"])))
        if len(stances) == 1:
            rows.append({"segment_id": seg, "question": q, "stance": stances[0],
                         "source": source, "confidence": 1.0, "verified": True,
                         "form": "codage humain", "cue": coders})
        else:
            rows.append({"segment_id": seg, "question": q, "stance": stances[-1],
                         "source": source, "confidence": 0.5, "verified": False,
                         "form": "désaccord entre codeurs",
                         "cue": " / ".join(stances) + f" ({coders})"})
    return pd.DataFrame(rows)


def _automatic_evidence(segments: pd.DataFrame, codings: pd.DataFrame,
                        questions: dict[str, list[str]], human_keys: set,
                        cues: dict | None) -> pd.DataFrame:
    """Stance evidence from rule codings of option codes, read by the stance detector."""
    from consultations.coding.stance import detect_stances

    opt_q = {o: q for q, opts in questions.items() for o in opts}
    if "source" not in codings:
        codings = codings.assign(source="rule")
    r = codings[(codings["source"] == "rule") & codings["code_id"].isin(opt_q)].copy()
    if r.empty:
        return pd.DataFrame(columns=["segment_id", "question", "stance", "source", "confidence",
                                     "verified", "form", "cue"])
    r["question"] = r["code_id"].map(opt_q)
    r = r[[(s, q) not in human_keys for s, q in zip(r["segment_id"], r["question"],
                                                      strict=True)]]
    # The detector reads the sentence from scratch; given the rule's evidence it takes back
    # the rule coder's own flip on a stance cue (« → position inversée »).
    for col in ("matched_text", "evidence"):
        if col not in r:
            r[col] = ""
    cand = r[["segment_id", "code_id", "matched_text", "evidence"]].drop_duplicates(
        ["segment_id", "code_id"])
    det = detect_stances(segments, cand, questions, cues)
    if det.empty:
        return pd.DataFrame(columns=["segment_id", "question", "stance", "source", "confidence",
                                     "verified", "form", "cue"])
    det = det[det["stance"].fillna("") != ""]
    return pd.DataFrame({"segment_id": det["segment_id"], "question": det["question"],
                         "stance": det["stance"], "source": "automatique",
                         "confidence": det["confidence"].astype(float), "verified": False,
                         "form": det["form"], "cue": det["cue"]})


def speaker_positions(segments: pd.DataFrame, codings: pd.DataFrame, codebook: pd.DataFrame,
                      *, cues: dict | None = None, min_confidence: float | None = None
                      ) -> pd.DataFrame:
    """Give each participant a stance on each position question (rules in the module doc).

    Args:
        segments: the segments table (facilitators are left out).
        codings: the final codings (sources rule, manual, review).
        codebook: for the position questions.
        cues: the codebook's ``stance`` section (extra cue words), passed to the detector.
        min_confidence: automatic stances below this are « à vérifier » (default: the
            detector's :data:`~consultations.coding.stance.DEFAULT_THRESHOLD`).

    Returns:
        ``positions`` (contract columns, then ``group_code, status, form, cue, history,
        evidence_segment_id``).

    """
    from consultations.coding.stance import DEFAULT_THRESHOLD

    min_confidence = DEFAULT_THRESHOLD if min_confidence is None else min_confidence
    questions = position_questions(codebook)
    segs = participant_segments(segments)
    if not questions or segs.empty:
        return pd.DataFrame(columns=POSITION_COLUMNS)
    human = _human_evidence(codings, questions)
    keys = set(zip(human["segment_id"], human["question"], strict=True))
    auto = _automatic_evidence(segments, codings, questions, keys, cues)
    ev = pd.concat([p for p in (human, auto) if len(p)], ignore_index=True) \
        if len(human) or len(auto) else human
    if ev.empty:
        return pd.DataFrame(columns=POSITION_COLUMNS)
    ev = ev.merge(segs[["segment_id", "workshop_id", "speaker", "stakeholder_group",
                        "group_code"]], on="segment_id", how="inner")
    ev["tier"] = np.where(ev["verified"].astype(bool), 2,
                          np.where(ev["confidence"] >= min_confidence, 1, 0))
    rows = []
    for (ws, spk, q), sub in ev.sort_values("segment_id").groupby(
            ["workshop_id", "speaker", "question"], sort=True):
        best = sub[sub["tier"] == sub["tier"].max()]
        last = best.iloc[-1]
        earlier = [s for s in dict.fromkeys(sub["stance"]) if s != last["stance"]]
        status = {2: "vérifiée", 1: "automatique"}.get(int(last["tier"]), "à vérifier")
        rows.append({
            "workshop_id": ws, "speaker": spk, "stakeholder_group": last["stakeholder_group"],
            "question": q, "stance": last["stance"], "source": last["source"],
            "confidence": round(float(last["confidence"]), 3),
            "verified": bool(last["tier"] == 2),
            "segment_ids": ", ".join(sub["segment_id"]), "group_code": last["group_code"],
            "status": status, "form": last["form"], "cue": str(last["cue"] or ""),
            "history": " → ".join([*earlier, last["stance"]]) if earlier else "",
            "evidence_segment_id": last["segment_id"]})
    return pd.DataFrame(rows, columns=POSITION_COLUMNS)


def _latest_per_person(positions: pd.DataFrame, workshop_order: dict[str, int]
                       ) -> pd.DataFrame:
    p = positions.assign(_o=positions["workshop_id"].map(workshop_order).fillna(0))
    return p.sort_values(["_o", "workshop_id"]).groupby(
        ["speaker", "question"], sort=True).tail(1).drop(columns="_o")


def group_positions(positions: pd.DataFrame, segments: pd.DataFrame, codebook: pd.DataFrame,
                    *, workshops: pd.DataFrame | None = None, min_speakers_position: int = 2,
                    position_margin: int = 1, min_group_speakers: int = 3) -> pd.DataFrame:
    """Each group's distribution of stances per question, its majority and the agreement class.

    Returns:
        ``group_positions``: ``question, stakeholder_group, n_speakers``, one ``n_<option>``
        column per option code of every question, ``n_reserve, majority, classification``,
        then ``group_code, n_a_verifier, n_verified, group_participants, small_group,
        speakers_by_stance``.

    """
    questions = position_questions(codebook)
    options = sorted({o for opts in questions.values() for o in opts})
    opt_cols = [f"n_{o}" for o in options]
    cols = (["question", "stakeholder_group", "n_speakers", *opt_cols, "n_reserve",
             "majority", "classification", "group_code", "n_a_verifier", "n_verified",
             "group_participants", "small_group", "speakers_by_stance"])
    segs = participant_segments(segments)
    if not questions or segs.empty:
        return pd.DataFrame(columns=cols)
    groups = segs.groupby("group_code").agg(stakeholder_group=("stakeholder_group", "first"),
                                            group_participants=("speaker", "nunique"))
    order = {}
    if workshops is not None and len(workshops):
        w = workshops.sort_values(["date", "workshop_id"]) if "date" in workshops else workshops
        order = {wid: i for i, wid in enumerate(w["workshop_id"])}
    latest = _latest_per_person(positions, order) if len(positions) else positions
    rows = []
    for q, opts in questions.items():
        sub_q = latest[latest["question"] == q] if len(latest) else latest
        for g, ginfo in groups.iterrows():
            sub = sub_q[sub_q["group_code"] == g] if len(sub_q) else sub_q
            conf = sub[sub["status"] != "à vérifier"] if len(sub) else sub
            counts = {o: int((conf["stance"] == o).sum()) if len(conf) else 0 for o in opts}
            n_res = int((conf["stance"] == RESERVE).sum()) if len(conf) else 0
            n_unc = int((sub["status"] == "à vérifier").sum()) if len(sub) else 0
            stated = sum(counts.values())
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            top, n_top = ranked[0]
            n_second = ranked[1][1] if len(ranked) > 1 else 0
            if (n_top >= min_speakers_position and n_top > stated / 2
                    and n_top - n_second >= position_margin):
                majority = top
            elif stated or n_res:
                majority = "partagé"
            elif n_unc:
                majority = "à vérifier"
            else:
                majority = "non exprimé"
            by = {}
            for s, spk in zip(sub["stance"], sub["speaker"], strict=True) if len(sub) else []:
                by.setdefault(s, []).append(spk)
            row = {"question": q, "stakeholder_group": ginfo["stakeholder_group"],
                   "n_speakers": int(len(sub)), "n_reserve": n_res, "majority": majority,
                   "group_code": g, "n_a_verifier": n_unc,
                   "n_verified": int(sub["verified"].astype(bool).sum()) if len(sub) else 0,
                   "group_participants": int(ginfo["group_participants"]),
                   "small_group": bool(ginfo["group_participants"] < min_group_speakers),
                   "speakers_by_stance": " ; ".join(f"{s} : {', '.join(sorted(v))}"
                                                    for s, v in sorted(by.items()))}
            row.update({f"n_{o}": 0 for o in options})
            row.update({f"n_{o}": n for o, n in counts.items()})
            rows.append(row)
    out = pd.DataFrame(rows, columns=[c for c in cols if c != "classification"])
    out["classification"] = out["question"].map(
        {q: _classify(out[out["question"] == q]) for q in questions})
    return out[cols].sort_values(["question", "group_code"]).reset_index(drop=True)


def _classify(rows: pd.DataFrame) -> str:
    eligible = rows[~rows["small_group"]]
    maj = eligible["majority"]
    held = sorted(set(maj) - {"partagé", "non exprimé", "à vérifier"})
    if len(held) >= 2:
        return "contesté"
    n_held = int(maj.isin(held).sum())
    if held and n_held >= 2 and not (maj == "partagé").any():
        return "consensus"
    if held and n_held == 1 and not (maj == "partagé").any():
        return "position d'un seul groupe"
    if (maj == "partagé").any() or held:
        return "partagé"
    if (maj == "à vérifier").any():
        return "à vérifier"
    return "non exprimé"


def position_summary(group_pos: pd.DataFrame, positions: pd.DataFrame,
                     codebook: pd.DataFrame) -> pd.DataFrame:
    """One row per position question: options, who holds each, agreement, verification.

    ``open_decision`` is true for a contested or divided question: a choice the drafting
    team must make. ``verification`` says whether the stated majorities rest on verified
    stances only, partly on confident automatic ones, or only on unconfident ones.
    """
    cols = ["question", "label", "options", "classification", "holders", "n_speakers",
            "n_verified", "n_automatic", "n_a_verifier", "verification", "open_decision",
            "small_groups"]
    questions = position_questions(codebook)
    if not questions:
        return pd.DataFrame(columns=cols)
    label = dict(zip(codebook["code_id"], codebook["label"], strict=True))
    poslabel = dict(zip(codebook["code_id"], codebook["position"].fillna(""), strict=True)) \
        if "position" in codebook else {}
    rows = []
    for q, opts in questions.items():
        g = group_pos[group_pos["question"] == q]
        p = positions[positions["question"] == q] if len(positions) else positions
        holders = []
        for o in opts:
            gs = sorted(g.loc[g["majority"] == o, "group_code"])
            holders.append(f"{o} : {', '.join(gs) or '—'}")
        n_ver = int(p["verified"].astype(bool).sum()) if len(p) else 0
        n_unc = int((p["status"] == "à vérifier").sum()) if len(p) else 0
        n_auto = int(len(p) - n_ver - n_unc)
        cls = g["classification"].iloc[0] if len(g) else "non exprimé"
        if not len(p):
            verification = "aucune position exprimée"
        elif n_auto == 0 and n_unc == 0:
            verification = "positions vérifiées (codage humain)"
        elif n_ver == 0 and n_auto == 0:
            verification = "à vérifier : codage automatique peu sûr seulement"
        else:
            verification = (f"{n_ver} vérifiée(s), {n_auto} automatique(s), "
                            f"{n_unc} à vérifier")
        rows.append({"question": q, "label": label.get(q, q),
                     "options": " | ".join(f"{o} « {poslabel.get(o, '') or label.get(o, o)} »"
                                           for o in opts),
                     "classification": cls, "holders": " ; ".join(holders),
                     "n_speakers": int(p["speaker"].nunique()) if len(p) else 0,
                     "n_verified": n_ver, "n_automatic": n_auto, "n_a_verifier": n_unc,
                     "verification": verification,
                     "open_decision": cls in {"contesté", "partagé", "à vérifier"},
                     "small_groups": ", ".join(sorted(g.loc[g["small_group"], "group_code"]))})
    return pd.DataFrame(rows, columns=cols)
