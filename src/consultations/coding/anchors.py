"""Codings anchored to the text they were made on, re-anchored at every run.

Segment and turn IDs are positions (``ATL1-T003-S02``): inserting one turn near the top of a
transcript gives every later sentence a new ID. A coding kept only by ID would then sit on
another sentence. So every human coding -- a row of ``coded/manual/*.csv|xlsx`` (by
``segment_id`` or ``turn_id``), a review decision of ``coded/review/*.xlsx`` and a coding
imported from ``coded/qdpx/*.qdpx`` -- is kept with the text it was made on, the W3C Web
Annotation ``TextQuoteSelector`` idea (as NVivo, ATLAS.ti and MAXQDA keep codings on text
ranges): the quoted text (``exact``), some context before and after (``prefix``/``suffix``),
plus the source file and character span where it was.

**Where the anchors live.** Manual files written by people carry only IDs, so the first time
a row is applied its anchor is recorded from the current segments in a machine-written
sidecar, ``data/coded/.anchors/anchors.json`` (with a ``LISEZMOI.txt`` saying not to edit it).
It sits beside the human codings it protects, so ``rm -rf data/interim`` does not lose it; the
dot keeps it out of the coding readers and of the code stage's cache key; human files are
never modified. Review workbooks carry their own quote (column ``texte``), used even without
a recorded anchor, so decisions made before the store existed are checked too.

**Each run** re-anchors every recorded coding to the current segments: the exact quote first
(several hits: the one whose context matches best, then the nearest), then a tolerant match in
the same file (the quote contained in one segment, or the most similar segment by
:class:`difflib.SequenceMatcher`, ratio ≥ :data:`FUZZY_MIN`). Each is reported as ``kept``
(same segment, same text), ``moved`` (another ID, or edited text), ``orphaned`` (no segment
found: never applied to other text) or ``new`` (recorded this run). A per-code hash of the
definition, inclusions, exclusions, keywords and patterns is stored with the anchor: when a
new codebook version changes it, the coding is flagged ``code_changed`` for re-review.
The report is the ``coding_anchors`` table (sheet « Codages orphelins » of the evidence
workbook for orphans and flagged codings).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from consultations.core.errors import warn_input
from consultations.core.schema import TABLES

__all__ = ["ANCHOR_DIR", "COLUMNS", "CONTEXT", "FUZZY_MIN", "STATUSES", "AnchorStore",
           "code_hashes"]

#: Folder of the anchor store, inside ``data/coded`` (machine-written).
ANCHOR_DIR = ".anchors"
_STORE = "anchors.json"
_README = ("Dossier écrit par la suite consultations : ne pas modifier.\n"
           "anchors.json garde, pour chaque codage manuel, décision de revue et codage importé "
           "(.qdpx), le texte sur lequel il a été fait (citation exacte, contexte avant/après, "
           "fichier, position).\nÀ chaque exécution, les codages sont replacés sur ce texte ; "
           "ceux dont le texte a disparu sont signalés « orphelins » et ne sont pas appliqués.\n"
           "Supprimer ce dossier fait perdre ces ancrages : les identifiants des fichiers de "
           "codage seraient de nouveau pris tels quels.\n")
#: Characters of context kept before and after a quote.
CONTEXT = 48
#: Smallest similarity (0–1) for a tolerant match of an edited sentence.
FUZZY_MIN = 0.85
STATUSES = ("kept", "moved", "orphaned", "new")
COLUMNS = TABLES["coding_anchors"]
_WS = re.compile(r"\s+")


def _norm(text) -> str:
    return _WS.sub(" ", "" if text is None else str(text)).strip()


def code_hashes(codebook: pd.DataFrame) -> dict[str, str]:
    """Hash of what defines each code (definition, include, exclude, keywords, patterns)."""
    fields = [c for c in ("definition", "include", "exclude", "keywords", "patterns", "unless")
              if c in codebook.columns]
    out = {}
    for rec in codebook.to_dict("records"):
        blob = json.dumps([str(rec.get(f, "")) for f in fields], ensure_ascii=False)
        out[str(rec["code_id"])] = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
    return out


class AnchorStore:
    """Recorded anchors, the current segments, and this run's report.

    Args:
        folder: ``data/coded`` (the store lives in its :data:`ANCHOR_DIR`).
        segments: the current segments table.
        codebook: the current flattened codebook (for :func:`code_hashes`).

    """

    def __init__(self, folder: Path, segments: pd.DataFrame, codebook: pd.DataFrame):
        self.path = Path(folder) / ANCHOR_DIR / _STORE
        self.hashes = code_hashes(codebook)
        stored = {}
        if self.path.exists():
            try:
                stored = json.loads(self.path.read_text(encoding="utf-8")).get("anchors", {})
            except (OSError, ValueError) as exc:
                warn_input(self.path, None, f"ancrages illisibles ({exc}) : ignorés",
                           "supprimez ce fichier ; les ancrages seront enregistrés de nouveau.")
        self.stored: dict[str, dict] = stored
        self.kept: dict[str, dict] = {}
        self.rows: list[dict] = []
        segs = segments.sort_values(["source_file", "char_start", "segment_id"],
                                    kind="mergesort")
        self._ids = segs["segment_id"].astype(str).tolist()
        self._text = [_norm(t) for t in segs["text"]]
        self._file = segs["source_file"].astype(str).tolist()
        self._start = pd.to_numeric(segs["char_start"], errors="coerce").fillna(-1).astype(int)
        self._start = self._start.tolist()
        self._end = pd.to_numeric(segs["char_end"], errors="coerce").fillna(-1).astype(int)
        self._end = self._end.tolist()
        self._pos = {sid: i for i, sid in enumerate(self._ids)}
        self._by_text: dict[str, list[int]] = {}
        self._by_file: dict[str, list[int]] = {}
        for i, (t, f) in enumerate(zip(self._text, self._file, strict=True)):
            self._by_text.setdefault(t, []).append(i)
            self._by_file.setdefault(f, []).append(i)

    # ------------------------------------------------------------------ anchors
    def _context(self, i: int) -> tuple[str, str]:
        f = self._file[i]
        before, j = "", i - 1
        while len(before) < CONTEXT and j >= 0 and self._file[j] == f:
            before = self._text[j] + " " + before
            j -= 1
        after, j = "", i + 1
        while len(after) < CONTEXT and j < len(self._ids) and self._file[j] == f:
            after += " " + self._text[j]
            j += 1
        return before.strip()[-CONTEXT:], after.strip()[:CONTEXT]

    def anchor_of(self, segment_id: str, exact: str | None = None) -> dict:
        """Return the anchor of a current segment (its text, or ``exact`` when given)."""
        i = self._pos[segment_id]
        prefix, suffix = self._context(i)
        return {"segment_id": segment_id, "exact": self._text[i] if exact is None
                else _norm(exact), "prefix": prefix, "suffix": suffix,
                "source_file": self._file[i], "char_start": self._start[i],
                "char_end": self._end[i]}

    def _context_score(self, anchor: dict, i: int) -> float:
        prefix, suffix = self._context(i)
        a = difflib.SequenceMatcher(None, anchor.get("prefix", ""), prefix).ratio()
        b = difflib.SequenceMatcher(None, anchor.get("suffix", ""), suffix).ratio()
        return a + b

    def _best(self, anchor: dict, cands: list[int]) -> int:
        if len(cands) == 1:
            return cands[0]
        start = int(anchor.get("char_start", -1))
        return max(cands, key=lambda i: (round(self._context_score(anchor, i), 3),
                                         -abs(self._start[i] - start)))

    def locate(self, anchor: dict) -> tuple[str | None, float]:
        """Find the current segment an anchor's quote is on: ``(segment_id, similarity)``."""
        exact = _norm(anchor.get("exact"))
        if not exact:
            return None, 0.0
        f = anchor.get("source_file")
        same_file = self._by_file.get(f) if f in self._by_file else range(len(self._ids))
        hits = self._by_text.get(exact, [])
        local = [i for i in hits if self._file[i] == f] or hits
        if local:
            return self._ids[self._best(anchor, local)], 1.0
        inside = [i for i in same_file if len(exact) >= 20 and exact in self._text[i]]
        if inside:
            i = self._best(anchor, inside)
            return self._ids[i], round(len(exact) / max(len(self._text[i]), 1), 3)
        best, best_r = None, 0.0
        for i in same_file:
            sm = difflib.SequenceMatcher(None, exact, self._text[i], autojunk=False)
            if sm.real_quick_ratio() < FUZZY_MIN or sm.quick_ratio() < FUZZY_MIN:
                continue
            r = sm.ratio()
            if r > best_r or (r == best_r and best is not None
                              and self._context_score(anchor, i)
                              > self._context_score(anchor, best)):
                best, best_r = i, r
        if best is not None and best_r >= FUZZY_MIN:
            return self._ids[best], round(best_r, 3)
        return None, 0.0

    # ------------------------------------------------------------------ report
    def _report(self, kind, origin_file, origin_line, code, coder, anchor, seg, sim,
                status, changed) -> None:
        i = self._pos.get(seg) if seg else None
        self.rows.append({
            "kind": kind, "origin_file": str(origin_file), "origin_line": origin_line,
            "code_id": str(code), "coder": str(coder),
            "recorded_segment_id": str(anchor.get("segment_id", "")),
            "segment_id": seg or "", "status": status, "similarity": float(sim),
            "code_changed": bool(changed), "quote": str(anchor.get("exact", "")),
            "source_file": str(anchor.get("source_file", "")) if i is None else self._file[i],
            "char_start": int(anchor.get("char_start", -1)) if i is None else self._start[i],
            "char_end": int(anchor.get("char_end", -1)) if i is None else self._end[i],
        })

    def _changed(self, entry: dict, code: str) -> bool:
        old, new = entry.get("code_hash"), self.hashes.get(code)
        return bool(old and new and old != new)

    def resolve(self, kind: str, origin_file, origin_line, ident: str, code: str, coder: str,
                proposed: Iterable[str] | None, quotes: list[str] | None = None
                ) -> list[str] | None:
        """Return the segments a human coding applies to now.

        Args:
            kind: ``manual``, ``review`` or ``qdpx``.
            origin_file: the coding's file (relative to the data folder).
            origin_line: its row.
            ident: what identifies the coding in its file (the ID as written …).
            code: the code.
            coder: the coder or reviewer.
            proposed: the current segments of the ID as written (None: unknown ID).
            quotes: the text the coding was made on when the file carries it (review
                workbooks): used when no anchor is recorded yet.

        Returns:
            The segments (possibly other IDs than written: re-anchored), ``[]`` when every
            part is orphaned (nothing applied), or None when the ID is unknown and no anchor
            exists (the caller reports it as before).

        """
        key = "|".join([kind, str(origin_file), str(ident), str(code), str(coder)])
        entry = self.stored.get(key)
        proposed = list(proposed) if proposed is not None else None
        if entry is None and quotes is not None:
            parts = []
            for q, pid in zip(quotes, proposed or [None] * len(quotes), strict=False):
                if pid in self._pos and self._text[self._pos[pid]] == _norm(q):
                    parts.append(self.anchor_of(pid))
                else:
                    probe = {"exact": _norm(q), "segment_id": pid or "",
                             "source_file": self._file[self._pos[pid]]
                             if pid in self._pos else None,
                             "char_start": self._start[self._pos[pid]]
                             if pid in self._pos else -1}
                    sid, _ = self.locate(probe)
                    parts.append({**self.anchor_of(sid, q), "segment_id": pid or ""}
                                 if sid else {**probe, "prefix": "", "suffix": ""})
            entry = {"parts": parts, "code_hash": self.hashes.get(code, "")}
        if entry is None:
            if not proposed:
                self._report(kind, origin_file, origin_line, code, coder, {"segment_id": ident},
                             None, 0.0, "orphaned", False)
                return None
            entry = {"parts": [self.anchor_of(s) for s in proposed],
                     "code_hash": self.hashes.get(code, "")}
            self.kept[key] = entry
            for a in entry["parts"]:
                self._report(kind, origin_file, origin_line, code, coder, a, a["segment_id"],
                             1.0, "new", False)
            return proposed
        self.kept[key] = entry
        changed = self._changed(entry, code)
        out = []
        for a in entry["parts"]:
            sid, sim = self.locate(a)
            if sid is None:
                status = "orphaned"
            elif sid == a.get("segment_id") and sim == 1.0:
                status = "kept"
            else:
                status = "moved"
            self._report(kind, origin_file, origin_line, code, coder, a, sid, sim, status,
                         changed)
            if sid and sid not in out:
                out.append(sid)
        return out

    def follow_qdpx(self, codings: pd.DataFrame, files: dict[str, str]) -> None:
        """Record and check the anchors of codings imported from ``.qdpx`` files.

        The import already places selections by text (it finds our segments in the tool's
        text); the store adds what it cannot say: a selection that no longer lands on any
        segment of an unchanged ``.qdpx`` is reported orphaned with its quote.

        Args:
            codings: the imported codings (``evidence`` names the selection).
            files: ``origin_file`` → SHA-256 of each ``.qdpx`` read this run.

        """
        groups = {}
        for rec in codings.itertuples(index=False):
            key = "|".join(["qdpx", rec.origin_file, rec.evidence, rec.code_id, rec.coder])
            groups.setdefault(key, (rec, []))[1].append(rec.segment_id)
        for key, (rec, segs) in groups.items():
            entry = self.stored.get(key)
            if entry is None or entry.get("file_sha") != files.get(rec.origin_file):
                entry = {"parts": [self.anchor_of(s) for s in segs],
                         "code_hash": self.hashes.get(rec.code_id, ""),
                         "file_sha": files.get(rec.origin_file), "line": rec.origin_line}
                for a in entry["parts"]:
                    self._report("qdpx", rec.origin_file, rec.origin_line, rec.code_id,
                                 rec.coder, a, a["segment_id"], 1.0, "new", False)
                self.kept[key] = entry
                continue
            self.kept[key] = entry
            changed = self._changed(entry, rec.code_id)
            for a in entry["parts"]:
                sid, sim = self.locate(a)
                status = ("orphaned" if sid is None or sid not in segs else
                          "kept" if sid == a["segment_id"] and sim == 1.0 else "moved")
                self._report("qdpx", rec.origin_file, rec.origin_line, rec.code_id, rec.coder,
                             a, sid if status != "orphaned" else None, sim, status, changed)
        for key, entry in self.stored.items():
            kind, origin, _ev, code, coder = (key.split("|") + [""] * 5)[:5]
            if kind != "qdpx" or key in self.kept or origin not in files:
                continue
            if entry.get("file_sha") != files[origin]:
                continue  # the project was exported again: its anchors start afresh
            self.kept[key] = entry
            for a in entry["parts"]:
                self._report("qdpx", origin, entry.get("line"), code, coder, a, None, 0.0,
                             "orphaned", self._changed(entry, code))

    # ------------------------------------------------------------------ output
    def table(self) -> pd.DataFrame:
        """Return this run's report, one row per anchored part (``TABLES['coding_anchors']``)."""
        df = pd.DataFrame(self.rows, columns=COLUMNS)
        df["origin_line"] = pd.to_numeric(df["origin_line"], errors="coerce").astype("Int64")
        df["code_changed"] = df["code_changed"].astype(bool)
        df["similarity"] = df["similarity"].astype(float)
        return df.sort_values(["kind", "origin_file", "origin_line", "code_id", "coder",
                               "recorded_segment_id"], kind="mergesort").reset_index(drop=True)

    def summary(self) -> dict:
        """Return counts for the run summary (``anchors_kept`` …, ``anchors_code_changed``)."""
        df = self.table()
        out = {f"anchors_{s}": int((df["status"] == s).sum()) for s in STATUSES}
        out["anchors_code_changed"] = int(df["code_changed"].sum())
        return out

    def save(self) -> None:
        """Write the anchors of this run's codings (the others were withdrawn by people)."""
        from consultations.core.io import atomic_write_text, write_json

        try:
            write_json(self.path, {"version": 1, "anchors": dict(sorted(self.kept.items()))})
            readme = self.path.parent / "LISEZMOI.txt"
            if not readme.exists():
                atomic_write_text(readme, _README)
        except OSError as exc:
            warn_input(self.path, None, f"les ancrages n'ont pas pu être enregistrés ({exc})",
                       "rendez data/coded accessible en écriture pour garder les codages sur "
                       "leur texte.")

    def warn(self) -> None:
        """One warning per orphaned coding and one for codings on changed codes."""
        df = self.table()
        for rec in df[(df["status"] == "orphaned") & (df["quote"] != "")].itertuples(
                index=False):  # (an unknown ID without anchor: the reader already said so)
            what = f"« {rec.quote[:60]} »"
            warn_input(rec.origin_file, None if pd.isna(rec.origin_line) else
                       int(rec.origin_line),
                       f"codage orphelin ({rec.kind}, {rec.code_id}, {rec.coder}) : le texte "
                       f"{what} n'est plus dans les transcriptions ; non appliqué",
                       "voir la feuille « Codages orphelins » du classeur ; recodez ce passage.")
        n = int(df["code_changed"].sum())
        if n:
            codes = sorted(set(df.loc[df["code_changed"], "code_id"]))
            warn_input(self.path, None, f"{n} codage(s) ou décision(s) portent sur des codes "
                       f"dont la définition ou les motifs ont changé ({', '.join(codes)}) : "
                       "à revoir", "voir la feuille « Codages orphelins » du classeur.")
