"""The public API: a project is a data folder, its settings file and its reports folder.

>>> import consultations as cs
>>> p = cs.open("data")                       # reads data/consultations.toml if present
>>> p.run()                                   # every stage (cached stages are skipped)
>>> p.table("segments")                       # any table of the catalog
>>> p.quotes(code="MIL", group="FDS")         # coded segments with their references
>>> p.coded_segments(code="RACK")             # one row per (segment, code), sources joined

Notebooks, the command line and scripts go through this class, so a setting changed in the
settings file applies everywhere.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from consultations.core import io as cio
from consultations.core.config import Paths, Settings, get_paths
from consultations.core.errors import InputError
from consultations.core.settings import SETTINGS_FILE, load_settings, render_settings
from consultations.pipeline import STAGES, Catalog, run_pipeline, stage_keys

__all__ = ["TABLE_STAGE", "Project", "open_project"]

#: Which stage makes each table of the catalog (for errors that name the right command).
TABLE_STAGE: dict[str, str] = {
    **dict.fromkeys(["workshops", "speakers", "turns", "segments", "recommendations",
                     "file_report", "groups"], "ingest"),
    **dict.fromkeys(["codebook", "axes", "codings_rule", "codings_manual", "codings_review",
                     "codings_model", "codings", "agreement", "rule_quality",
                     "coding_anchors", "review_conflicts", "review_conflict_decisions",
                     "coders"], "code"),
    **dict.fromkeys(["topic_assignments", "topic_info", "topic_crosswalk", "topics_per_group",
                     "code_terms", "topic_selection"], "topics"),
    **dict.fromkeys(["code_presence", "code_group_counts", "code_group_tests",
                     "code_group_residuals", "distinctive_terms", "consensus", "rec_links",
                     "rec_clusters", "topic_group_counts", "speaker_codes", "positions",
                     "group_positions", "position_summary", "rec_endorsements", "rec_group_matrix",
                     "code_group_speakers", "speaker_code_tests"], "compare"),
    **dict.fromkeys(["evidence_by_theme", "evidence_quotes", "evidence_by_axis",
                     "open_decisions", "participation", "position_quotes"], "evidence"),
}


def _stage_defaults() -> dict[str, dict]:
    """Each stage's documented defaults, for ``consultations init``."""
    from consultations.coding import stage as coding_stage
    from consultations.compare import groups, recommendations
    from consultations.evidence import grades
    from consultations.report.brief_blocks import REPORT_DEFAULTS

    return {"coding": coding_stage.DEFAULTS, "compare": groups.DEFAULTS,
            "recommendations": recommendations.DEFAULTS, "evidence": grades.DEFAULTS,
            "report": REPORT_DEFAULTS}


def _known_keys() -> dict[str, set[str]]:
    """Keys each stage section of the settings file may hold."""
    from consultations.coding import learn
    from consultations.compare import endorsements

    known = {k: set(v) for k, v in _stage_defaults().items()}
    known["coding"] |= {f"learn_{k}" for k in learn.DEFAULTS}
    known["recommendations"] |= set(endorsements.DEFAULTS)
    return known


class Project:
    """A consultation project: data folder, settings file, reports folder.

    Args:
        data: the data folder (holds ``transcripts/``, ``coded/`` and the settings file
            ``consultations.toml``); default ``$CONSULTATIONS_DATA`` or ``<root>/data``.
        out: the reports folder; default ``$CONSULTATIONS_OUT`` or ``<root>/reports``.
        settings_file: another settings file than ``<data>/consultations.toml``.
        **overrides: settings that win over the file (``seed=1``, ``n_topics=8``,
            ``compare={"min_speakers": 3}`` …; ``None`` values are ignored).

    Attributes:
        paths: the resolved folders.
        settings: the effective :class:`~consultations.core.config.Settings`.

    """

    def __init__(self, data: str | Path | None = None, out: str | Path | None = None, *,
                 settings_file: str | Path | None = None, **overrides):
        self.paths: Paths = get_paths(data, out)
        if not self.paths.data.is_dir():
            raise InputError(self.paths.data, None, "le dossier de données n'existe pas.",
                             "indiquez le dossier qui contient transcripts/ et coded/ "
                             "(option --data, ou cs.open(\"mon_dossier\")).")
        self.settings_file = Path(settings_file) if settings_file else \
            self.paths.data / SETTINGS_FILE
        self.settings: Settings = load_settings(self.settings_file, known=_known_keys(),
                                                **overrides)

    def __repr__(self) -> str:
        return f"Project(data={str(self.paths.data)!r}, reports={str(self.paths.reports)!r})"

    # ------------------------------------------------------------------ running
    def run(self, stages: str | Iterable[str] | None = None, *, force: bool = False,
            progress: Callable[[str], None] = print) -> dict:
        """Run the pipeline (or the named stages and what they need); return the summary.

        Args:
            stages: a stage name or names (default: every stage). Earlier stages that are
                not current run first.
            force: rerun the named stages even when cached (``True`` with no ``stages``:
                every stage).
            progress: where one-line progress messages go (``None`` for silence).

        """
        import logging

        names = [stages] if isinstance(stages, str) else list(stages or STAGES)
        forced: bool | list[str] = force if stages is None else (names if force else False)
        quiet = logging.getLogger("BERTopic")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # its INFO/WARNING lines are in the run summary
        try:
            return run_pipeline(self.paths, self.settings, names, force=forced,
                                progress=progress or (lambda _m: None))
        finally:
            quiet.setLevel(level)

    def status(self) -> pd.DataFrame:
        """Which stages are current for the present inputs and settings."""
        state = cio.read_json(self.paths.interim / "_stages.json") \
            if (self.paths.interim / "_stages.json").exists() else {}
        keys = stage_keys(self.paths, self.settings)
        rows = []
        for name in STAGES:
            entry = state.get(name, {})
            rows.append({"étape": name, "à jour": bool(keys[name]) and
                         entry.get("key") == keys[name],
                         "dernière exécution": _dt.datetime.fromtimestamp(
                             entry["ran_at"]).isoformat(timespec="seconds")
                         if entry.get("ran_at") else ""})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ tables
    def tables(self) -> list[str]:
        """Names of the tables built so far."""
        return list(Catalog(self.paths))

    def table(self, name: str) -> pd.DataFrame:
        """Return a table of the catalog (a copy; the catalog is never changed).

        Raises:
            InputError: unknown table name (the known ones are listed), or a table not built
                yet (the stage that makes it and the command to run are named).

        """
        cat = Catalog(self.paths)
        if name in cat:
            return cat[name].copy()
        stage = TABLE_STAGE.get(name)
        if stage is None:
            known = sorted(set(TABLE_STAGE) | set(cat))
            raise InputError(None, None, f"table inconnue « {name} ».",
                             "tables possibles : " + ", ".join(known) + ".")
        raise InputError(self.paths.interim, None,
                         f"la table « {name} » n'est pas encore construite (étape {stage}).",
                         f"lancez `consultations {stage} --data {self.paths.data}` ou "
                         f"p.run(\"{stage}\") ; les étapes précédentes suivent d'elles-mêmes.")

    def coded_segments(self, code: str | None = None, group: str | None = None, *,
                       source: str | None = None, include_children: bool = True
                       ) -> pd.DataFrame:
        """One row per (segment, code): who coded it (sources and coders joined), the segment.

        ``codings`` has one row per (segment, code, source, coder); counting its rows counts
        coders, not segments. This view counts each coded segment once.

        Args:
            code: a code id (its child codes included unless ``include_children=False``).
            group: a stakeholder group code (``FDS``) or label.
            source: keep codings of one source (``rule``, ``manual``, ``review``, ``qdpx``).
            include_children: count a child code (``MIL.INT``) under its parent (``MIL``).

        """
        codings = self.table("codings")
        if "decision" in codings.columns:
            codings = codings[codings["decision"].fillna("") != "rejeter"]
        segs = self.table("segments")
        if source:
            codings = codings[codings["source"] == source]
        if code:
            codes = {code}
            if include_children:
                cb = self.table("codebook")
                parent = dict(zip(cb["code_id"], cb["parent"].fillna(""), strict=True))
                codes |= {c for c in parent if _descends(c, code, parent)}
            codings = codings[codings["code_id"].isin(codes)]
        g = codings.groupby(["segment_id", "code_id"], sort=True).agg(
            sources=("source", lambda s: ", ".join(sorted(set(s)))),
            coders=("coder", lambda s: ", ".join(sorted(set(s)))),
            n_codings=("source", "size")).reset_index()
        cols = ["segment_id", "speaker", "stakeholder_group", "group_code", "workshop_id",
                "text", "source_file", "line_start", "line_end", "is_facilitator"]
        out = g.merge(segs[[c for c in cols if c in segs.columns]], on="segment_id",
                      how="left")
        if group:
            out = out[(out["group_code"] == group) | (out["stakeholder_group"] == group)]
        return out.reset_index(drop=True)

    def quotes(self, code: str | None = None, group: str | None = None,
               limit: int | None = None) -> pd.DataFrame:
        """Coded segments of participants (facilitators left out) with their reference.

        Each row has a ``reference`` as it appears in the brief:
        ``(FDS-03, ATL1-T012-S02, atelier1_fds.txt l. 45)``.
        """
        out = self.coded_segments(code, group)
        if "is_facilitator" in out:
            out = out[~out["is_facilitator"].astype(bool)]
        out = out.drop_duplicates("segment_id").copy()
        out["reference"] = [f"({s}, {sid}, {f} l. {ln})" for s, sid, f, ln in
                            zip(out["speaker"], out["segment_id"], out["source_file"],
                                out["line_start"], strict=True)]
        out = out.drop(columns=["code_id", "is_facilitator"], errors="ignore")
        return out.head(limit).reset_index(drop=True) if limit else out.reset_index(drop=True)

    def figure(self, name: str):
        """Draw a figure of the brief from the current tables (nothing is written).

        Names: ``heatmap_codes_groupes``, ``carte_consensus``, ``termes_distinctifs``,
        ``themes_emergents_groupes``, ``recommandations_groupes``. Returns the matplotlib
        figure (``None`` when there is nothing to draw).
        """
        from consultations.report.figures import draw_figure

        fig, _data = draw_figure(name, Catalog(self.paths))
        return fig

    def figures(self) -> list[Path]:
        """Return the figures the export wrote (PNG), in name order."""
        folder = self.paths.figures
        return sorted(folder.glob("*.png")) if folder.exists() else []

    # ------------------------------------------------------------------ analysts' files
    def init_settings(self, *, force: bool = False) -> Path:
        """Write the settings file with every default spelled out (never overwrites by default).

        Raises:
            InputError: the file exists and ``force`` is False.

        """
        target = self.settings_file
        if target.exists() and not force:
            raise InputError(target, None, "le fichier de réglages existe déjà.",
                             "modifiez-le, ou remplacez-le par les valeurs par défaut avec "
                             "`consultations init --force`.")
        cio.atomic_write_text(target, render_settings(Settings(), _stage_defaults()))
        return target

    def review_export(self, date: _dt.date | None = None) -> Path:
        """Write a new dated review workbook to the reports folder (see coding.review)."""
        from consultations.coding import review

        self.run(["code"], progress=None)
        return review.export_review(Catalog(self.paths), self.paths, date=date)

    def review_import(self, file: str | Path) -> dict:
        """Validate a filled review workbook and file an unchanged copy in coded/review/."""
        from consultations.coding import review

        return review.import_review(file, self.paths, self.settings)

    def agreement_report(self) -> Path:
        """Write ``accord_intercodeurs.xlsx`` to the reports folder; return its path."""
        from consultations.report.agreement_workbook import write_agreement_workbook

        self.run(["code"], progress=None)
        cat = Catalog(self.paths)
        from consultations.coding.agreement import SUBSET_FILE, disagreements
        from consultations.coding.codebook import code_units

        quality = cat["rule_quality"] if "rule_quality" in cat else None
        subset = self.paths.coded / SUBSET_FILE
        manual = cat["codings_manual"]
        coders = cat["coders"] if "coders" in cat else None
        if coders is not None and len(coders):  # declared double coders only
            manual = manual[manual["coder"].isin(coders.loc[coders["double_coder"], "coder"])]
        units = (pd.read_csv(subset)["segment_id"].astype(str).tolist() if subset.exists()
                 else sorted(set(manual["segment_id"])))
        return write_agreement_workbook(cat["agreement"],
                                        self.paths.reports / "accord_intercodeurs.xlsx",
                                        quality=quality, disagreements=disagreements(
                                            manual, cat["segments"], units,
                                            code_units(cat["codebook"])), coders=coders)


def _descends(code: str, ancestor: str, parent: dict[str, str]) -> bool:
    seen = set()
    while code and code not in seen:
        if code == ancestor:
            return True
        seen.add(code)
        code = parent.get(code, "")
    return False


def open_project(data: str | Path | None = None, out: str | Path | None = None,
                 **overrides) -> Project:
    """Open a project (see :class:`Project`); ``cs.open`` is this function."""
    return Project(data, out, **overrides)
