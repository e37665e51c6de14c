"""The code stage: rules, manual codes, imported codings, review decisions, agreement."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from consultations.coding import agreement, coders, learn, review
from consultations.coding.anchors import AnchorStore
from consultations.coding.codebook import code_units, load_codebook
from consultations.coding.coder import (
    codebook_rule_coder,
    manual_coverage,
    manual_files,
    merge_codings,
    merge_manual,
    read_manual_codes,
    read_qdpx_codes,
)
from consultations.core.config import Paths, Settings
from consultations.core.progress import progress_bar

__all__ = ["DEFAULTS", "run_stage"]

#: Documented defaults of the code stage (override in the settings file's ``[coding]``).
DEFAULTS: dict = {
    "n_boot": 1000,               # bootstrap resamples for agreement intervals
    "agreement_units": "span",    # span | coded: agreement units without a subset file
    "rule_dev_workshops": [],     # workshops the rules were tuned on (default: first 60 %)
    "learn": True,                # learned code suggestions (coding/learn.py) on top of rules
}


def _qdpx_files(paths: Paths) -> dict[str, str]:
    """``origin_file`` (as the import writes it) → SHA-256 of each ``coded/qdpx/*.qdpx``."""
    from consultations.core.io import file_sha256

    folder = paths.coded / "qdpx"
    if not folder.exists():
        return {}
    return {str(p.relative_to(paths.data)): file_sha256(p) for p in sorted(folder.iterdir())
            if p.suffix.lower() == ".qdpx" and not p.name.startswith((".", "~$"))}


def run_stage(tables: Mapping[str, pd.DataFrame], paths: Paths, settings: Settings) -> dict:
    """Code the segments: rules, manual codes, review decisions, agreement.

    Reads ``coded/codebook.yaml``, ``coded/manual/*.csv|*.xlsx``, ``coded/qdpx/*.qdpx``
    (codings made in another QDA tool), ``coded/review/*.xlsx`` and
    ``coded/double_coding_subset.csv`` and ``coded/coders.csv`` (all but the codebook may be
    absent).

    Returns:
        ``codebook``, ``axes``, ``codings_rule``, ``codings_manual``, ``codings_review``,
        ``codings_model`` (the learned model's suggestions, column ``probability``),
        ``codings`` (final, merged; column ``probability`` for automatic codings),
        ``agreement``, ``rule_quality`` (declared double coders only, on the codebook's
        coding unit), ``review_conflicts``, ``review_conflict_decisions``, ``coders`` (who
        coded, and who counts in agreement: :mod:`consultations.coding.coders`),
        ``coding_anchors`` (where
        each human coding is now: kept, moved, orphaned; see
        :mod:`consultations.coding.anchors`) and ``_summary``.

    Settings (``settings.extra``): ``n_boot`` (bootstrap resamples, 1000),
    ``agreement_units`` (``span`` or ``coded``, used only without the subset file),
    ``rule_dev_workshops`` (workshops of the rules' development split; default the first 60 %),
    ``learn`` (learned suggestions on top of the rules, see :mod:`consultations.coding.learn`;
    its settings with the ``learn_`` prefix, e.g. ``learn_add = 0.7``, ``learn_tune = true``).

    """
    segments = tables["segments"]
    cb = load_codebook(paths.coded / "codebook.yaml")
    codebook, version = cb["codebook"], cb["version"]
    with progress_bar(len(segments), "[code] segments codés (règles)", "segments") as bar:
        rule = codebook_rule_coder(cb).transform(segments, progress=bar)
        bar.set_postfix(codages=len(rule), refresh=False)
    store = AnchorStore(paths.coded, segments, codebook)
    from_files, coverage = read_manual_codes(manual_files(paths.coded / "manual"), segments,
                                             codebook, version, root=paths.data,
                                             anchors=store)
    from_qdpx = read_qdpx_codes(paths.coded / "qdpx", segments, codebook, version,
                                root=paths.data)
    store.follow_qdpx(from_qdpx, _qdpx_files(paths))
    decisions = review.read_review_decisions(paths, segments, codebook, anchors=store)
    store.warn()
    store.save()
    codings_review = review.decisions_to_codings(decisions, version, paths.coded / "review")
    from_qdpx = coders.settle_name_collisions(from_files, from_qdpx, codings_review)
    manual = merge_manual(from_files, from_qdpx)
    subset_path = paths.coded / agreement.SUBSET_FILE
    subset = (agreement.read_double_coding_subset(subset_path, segments)
              if subset_path.exists() else None)
    coders_path = paths.coded / coders.CODERS_FILE
    declared = coders.read_coders(coders_path) if coders_path.exists() else None
    double = coders.double_coders(manual, declared, coders_path)
    # Agreement and the rules' quality: declared double coders only (coding/coders.py).
    manual_ref = manual[manual["coder"].isin(double)]
    coverage_ref = coverage[coverage["coder"].isin(double)]
    unit_of = code_units(codebook)
    p = settings.section("coding", DEFAULTS)
    automatic, model = rule.assign(probability=float("nan")), learn.empty_model_codings()
    n_learned = 0
    if p["learn"]:
        labels = learn.training_labels(manual, codings_review, list(codebook["code_id"]),
                                       coverage=coverage, subset=subset, agreement="mean")
        learn_params = {k.removeprefix("learn_"): v for k, v in p.items()
                        if k.startswith("learn_")}
        learn_params.setdefault("vectors", settings.spacy_model)  # its static word vectors
        res = learn.suggest(segments, rule, labels, codebook, learn_params, version=version)
        automatic, model = res["automatic"], res["model"]
        n_learned = len(res["probabilities"].columns) if res["fitted"] else 0
    final = learn.with_probability(merge_codings(automatic, manual, codings_review), automatic)
    n_boot = int(p["n_boot"])
    agree = agreement.coding_agreement(rule, manual_ref, segments, codebook,
                                       coverage=coverage_ref, seed=settings.seed,
                                       n_boot=n_boot, units=p["agreement_units"],
                                       subset=subset, unit_of=unit_of)
    if subset is not None:
        units = subset
    else:
        units = sorted(set(agreement.agreement_units(
            segments, manual_coverage(manual_ref, coverage_ref))["segment_id"])) \
            if len(manual_ref) else []
    ws_of = dict(zip(segments["segment_id"], segments["workshop_id"].astype(str), strict=True))
    splits = agreement.split_workshops({ws_of[u] for u in units},
                                       dev=p["rule_dev_workshops"] or None)
    quality = agreement.rule_quality(rule, manual_ref, segments, codebook, units, splits,
                                     unit_set=agree["unit_set"].iloc[0] if len(agree) else "",
                                     unit_of=unit_of)
    conflicts = review.review_conflicts(decisions, paths.coded / "review")
    conflict_rows = review.review_conflict_decisions(decisions, segments,
                                                     paths.coded / "review")
    coder_roles = coders.coders_table(manual, declared, double, subset)
    summary = {
        "codebook_version": version,
        "n_codes": int(len(codebook)),
        "n_codings_rule": int(len(rule)),
        "n_codings_rule_negated": int(rule["negated"].sum()),
        "n_codings_model": int(len(model)),
        "n_codings_model_added": int((automatic["source"] == "model").sum()),
        "n_codings_rule_dropped": int(len(rule) - (automatic["source"] == "rule").sum()),
        "n_codes_learned": n_learned,
        "n_codings_manual": int(len(manual)),
        "n_codings_qdpx": int(len(from_qdpx)),
        "manual_coders": sorted(manual["coder"].unique().tolist()),
        "double_coders": double,
        "other_coders": {c: int(n) for c, n in zip(coder_roles["coder"],
                                                   coder_roles["n_codings"], strict=True)
                         if c not in set(double)},
        "coders_declared": declared is not None,
        "coding_unit": cb.get("unit", "segment"),
        "n_review_decisions": int(len(decisions)),
        "n_review_conflicts": int(len(conflicts)),
        "n_review_conflicts_unresolved": int((conflicts["status"] == review.UNRESOLVED).sum()),
        "n_codings": int(len(final)),
        "segments_coded": int(final["segment_id"].nunique()),
        "segments_total": int(len(segments)),
        **store.summary(),
    }
    overall = agree[(agree["code_id"] == agreement.OVERALL)
                    & (agree["comparison"] == "intercodeurs")]
    if len(overall):
        summary["agreement_units"] = str(overall["unit_set"].iloc[0])
        summary["agreement_n_units"] = len(units)
        summary["agreement_overall_alpha"] = float(overall["alpha"].iloc[0])
        summary["agreement_overall_kappa"] = float(overall["kappa"].iloc[0])
    macro = quality[(quality["code_id"] == agreement.MACRO)
                    & (quality["reference"] == agreement.CONSENSUS)]
    for rec in macro.itertuples(index=False):
        summary[f"rules_macro_f1_{rec.split}"] = round(float(rec.f1), 4)
    return {"codebook": codebook, "axes": cb["axes"], "codings_rule": rule,
            "codings_manual": manual, "codings_review": codings_review,
            "codings_model": model, "codings": final, "agreement": agree,
            "rule_quality": quality, "review_conflicts": conflicts,
            "review_conflict_decisions": conflict_rows, "coders": coder_roles,
            "coding_anchors": store.table(), "_summary": summary}
