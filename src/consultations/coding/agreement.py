"""Intercoder agreement, and the rule coder against each human coder.

Percent agreement, Cohen's kappa, Krippendorff's alpha with bootstrap CIs; precision, recall
and F1 of the rule coder per code.

Unit and treatment of uncoded text (stated in every output, column ``unit_set``): the unit is
the **segment**; each code is a binary variable (present / absent) per segment.

- When ``data/coded/double_coding_subset.csv`` exists (column ``segment_id``), the units are
  exactly the segments listed there, for the intercoder agreement and for the rule coder's
  precision / recall / F1: every coder (and the rules) is taken to have read every listed
  segment, so a listed segment without a code from a coder counts as **absent** for that coder.
  Codings outside the list are ignored here.
- Otherwise (fallback) the double-coded subset is, per workshop, every segment from the first to
  the last segment a human coder coded (or marked ``AUCUN``), over all human coders; inside a
  coder's own span a segment without that code counts as **absent**; outside it, the coder's
  value is **missing** (Krippendorff's alpha handles missing values; kappa uses the units both
  coders saw).

Rule codings count whether or not they are marked negated (a negated mention still speaks of
the theme). :func:`rule_quality` scores the rule coder per code against each human coder and
against their consensus, on a development split and a held-out split of the units.

Generic functions (:func:`krippendorff_alpha`, :func:`percent_agreement`,
:func:`reliability_table` …) take a coders × units matrix (``numpy.nan`` = missing) or a long
table, so they also run on other data (see tests with Krippendorff 2011 and tidycomm).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from consultations.core.errors import InputError, warn_input

__all__ = [
    "CONSENSUS",
    "INTERCODER",
    "human_rows",
    "VERDICTS",
    "disagreements",
    "verdict",
    "verdict_note",
    "LEVELS",
    "METHOD_NOTE",
    "MACRO",
    "MICRO",
    "OVERALL",
    "SUBSET_FILE",
    "UNIT_LABELS",
    "agreement_units",
    "binary_alpha",
    "bootstrap_binary",
    "cohen_kappa",
    "coding_agreement",
    "krippendorff_alpha",
    "pairwise_agreement",
    "percent_agreement",
    "QUALITY_COLUMNS",
    "read_double_coding_subset",
    "reliability_matrix",
    "reliability_table",
    "rule_quality",
    "split_workshops",
    "to_units",
    "unit_texts",
]

LEVELS = ("nominal", "ordinal", "interval", "ratio")
#: code_id of the row that pools every code (each (segment, code) pair is one binary unit).
OVERALL = "_ensemble"
#: ``comparison`` value of the human-vs-human rows (the others compare the rules to a coder).
INTERCODER = "intercodeurs"
#: Rows of :func:`rule_quality` that average the codes (macro) or pool them (micro).
MACRO, MICRO = "_macro", "_micro"
#: The file (in ``data/coded/``) that lists the double-coded segments.
SUBSET_FILE = "double_coding_subset.csv"
METHOD_NOTE = (
    "Unité : le segment (phrase), ou le tour de parole pour les codes dont la grille déclare "
    "« unit: turn » (colonne « Unité ») : les codes d'un codeur sur n'importe quel segment d'un "
    "tour sont alors ceux du tour, et les unités sont les tours du sous-ensemble. Chaque code "
    "est une variable binaire (présent / absent) par unité. Seuls les codeurs déclarés double "
    "codeurs dans data/coded/coders.csv comptent (sans ce fichier : tous les codeurs "
    "manuels). Lorsque data/coded/double_coding_subset.csv existe, les unités sont exactement "
    "les segments qui y figurent, pour l'accord entre codeurs comme pour la précision, le rappel "
    "et le F1 des règles : un segment de la liste sans ce code chez un codeur compte comme "
    "« absent » ; les codages hors de la liste sont ignorés. Sinon, dans chaque atelier, les "
    "segments entre le premier et le dernier segment codé (ou marqué AUCUN) par un codeur "
    "humain ; hors de l'étendue d'un codeur, sa valeur est manquante. La colonne « Unités "
    "retenues » dit quelle règle s'applique. Les codages automatiques niés (« pas de », "
    "« aucun »…) comptent comme présents. « _ensemble » regroupe toutes les paires (segment, "
    "code). Intervalles de confiance : bootstrap percentile 95 % sur les segments, graine fixée."
)
COLUMNS = ["comparison", "coder_a", "coder_b", "code_id", "label", "unit", "unit_set",
           "n_units", "n_coders", "n_positive", "percent_agreement", "pa_ci_low", "pa_ci_high",
           "kappa", "kappa_ci_low", "kappa_ci_high", "alpha", "alpha_ci_low", "alpha_ci_high",
           "precision", "recall", "f1", "note"]


# --------------------------------------------------------------------------- generic measures
def krippendorff_alpha(data, level: str = "nominal") -> float:
    """Krippendorff's alpha (``krippendorff`` package) of a coders × units matrix.

    Args:
        data: array-like, coders in rows, units in columns, ``nan`` for missing values.
        level: ``nominal``, ``ordinal``, ``interval`` or ``ratio``.

    Returns:
        Alpha, or ``nan`` when the data have fewer than two distinct values.

    """
    import krippendorff

    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    arr = np.asarray(data, dtype=float)
    values = arr[~np.isnan(arr)]
    pairable = (~np.isnan(arr)).sum(axis=0) >= 2
    if len(np.unique(values)) < 2 or pairable.sum() == 0:
        return float("nan")
    with np.errstate(all="ignore"):
        value = float(krippendorff.alpha(reliability_data=arr, level_of_measurement=level))
    return value if np.isfinite(value) else float("nan")


def percent_agreement(data) -> float:
    """Share of units (with at least two values) on which every coder gave the same value."""
    arr = np.asarray(data, dtype=float)
    ok = (~np.isnan(arr)).sum(axis=0) >= 2
    if not ok.any():
        return float("nan")
    sub = arr[:, ok]
    agree = [len(np.unique(col[~np.isnan(col)])) == 1 for col in sub.T]
    return float(np.mean(agree))


def pairwise_agreement(data) -> float:
    """Mean agreement over all coder pairs and their common units (Holsti-style)."""
    arr = np.asarray(data, dtype=float)
    scores = []
    for i in range(arr.shape[0]):
        for j in range(i + 1, arr.shape[0]):
            both = ~np.isnan(arr[i]) & ~np.isnan(arr[j])
            if both.any():
                scores.append(np.mean(arr[i, both] == arr[j, both]))
    return float(np.mean(scores)) if scores else float("nan")


def cohen_kappa(a, b) -> float:
    """Cohen's kappa of two coders (``sklearn.metrics.cohen_kappa_score``) on common units."""
    from sklearn.metrics import cohen_kappa_score

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    both = ~np.isnan(a) & ~np.isnan(b)
    if both.sum() == 0 or len(np.unique(np.r_[a[both], b[both]])) < 2:
        return float("nan")
    return float(cohen_kappa_score(a[both], b[both]))


def reliability_matrix(long: pd.DataFrame, unit: str, coder: str, value: str
                       ) -> tuple[np.ndarray, list, list]:
    """Pivot a long table (unit, coder, value) into a coders × units matrix of numbers.

    Non-numeric values are mapped to integer category codes (sorted), for nominal use.

    Returns:
        ``(matrix, coders, units)``.

    """
    vals = long[value]
    numeric = pd.to_numeric(vals, errors="coerce")
    if numeric.isna().sum() > vals.isna().sum():  # categories
        cats = sorted(vals.dropna().astype(str).unique())
        numeric = vals.astype(str).map({c: i for i, c in enumerate(cats)}).where(vals.notna())
    wide = (long.assign(_v=numeric).pivot_table(index=coder, columns=unit, values="_v",
                                                aggfunc="first", dropna=False))
    return wide.to_numpy(dtype=float), list(wide.index), list(wide.columns)


def reliability_table(long: pd.DataFrame, unit: str, coder: str, variables: list[str],
                      level: str = "nominal") -> pd.DataFrame:
    """Agreement per variable of a long table, like ``tidycomm::test_icr``.

    Returns:
        One row per variable: n_units, n_coders, n_categories, agreement (all coders agree),
        holsti (mean pairwise agreement), alpha (Krippendorff, ``level``).

    """
    rows = []
    for var in variables:
        m, coders, units = reliability_matrix(long, unit, coder, var)
        rows.append({"variable": var, "n_units": len(units), "n_coders": len(coders),
                     "n_categories": int(long[var].nunique()),
                     "agreement": percent_agreement(m), "holsti": pairwise_agreement(m),
                     "alpha": krippendorff_alpha(m, level)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- binary + bootstrap
def _binary_unit_stats(data: np.ndarray) -> dict[str, np.ndarray]:
    """Per-unit coincidence contributions of a binary coders × units matrix."""
    present = ~np.isnan(data)
    m = present.sum(axis=0).astype(float)
    n1 = np.nansum(data, axis=0)
    n0 = m - n1
    ok = m >= 2
    denom = np.where(ok, m - 1, 1.0)
    return {
        "o01": np.where(ok, n0 * n1 / denom, 0.0),
        "o00": np.where(ok, n0 * (n0 - 1) / denom, 0.0),
        "o11": np.where(ok, n1 * (n1 - 1) / denom, 0.0),
        "agree": np.where(ok, (n0 == 0) | (n1 == 0), False).astype(float),
        "ok": ok.astype(float),
    }


def _alpha_from_stats(o01, o00, o11):
    n0 = o00 + o01
    n1 = o11 + o01
    n = n0 + n1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n0 * n1 > 0, 1.0 - (n - 1) * o01 / (n0 * n1), np.nan)


def binary_alpha(data) -> float:
    """Krippendorff's alpha (nominal) of a binary 0/1 matrix, closed form (fast)."""
    s = _binary_unit_stats(np.asarray(data, dtype=float))
    return float(_alpha_from_stats(s["o01"].sum(), s["o00"].sum(), s["o11"].sum()))


def _kappa_from_cells(a11, a10, a01, a00):
    n = a11 + a10 + a01 + a00
    with np.errstate(invalid="ignore", divide="ignore"):
        po = (a11 + a00) / n
        pe = ((a11 + a10) * (a11 + a01) + (a00 + a01) * (a00 + a10)) / n ** 2
        return np.where(pe < 1, (po - pe) / (1 - pe), np.nan)


def bootstrap_binary(data, n_boot: int = 1000, seed: int = 42, level: float = 0.95
                     ) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap CIs (resampling units) of agreement, alpha and (2 coders) kappa.

    Args:
        data: binary coders × units matrix (``nan`` = missing).
        n_boot: number of resamples.
        seed: random seed (same seed → same intervals).
        level: confidence level.

    Returns:
        ``{"percent_agreement": (lo, hi), "alpha": (lo, hi), "kappa": (lo, hi)}``.

    """
    arr = np.asarray(data, dtype=float)
    n_units = arr.shape[1]
    nan2 = (float("nan"), float("nan"))
    if n_units == 0 or n_boot <= 0:
        return {"percent_agreement": nan2, "alpha": nan2, "kappa": nan2}
    rng = np.random.default_rng(seed)
    w = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_boot).astype(float)
    s = _binary_unit_stats(arr)
    alpha = _alpha_from_stats(w @ s["o01"], w @ s["o00"], w @ s["o11"])
    with np.errstate(invalid="ignore", divide="ignore"):
        pa = (w @ s["agree"]) / (w @ s["ok"])
    kappa = np.full(n_boot, np.nan)
    if arr.shape[0] == 2:
        a, b = arr
        both = ~np.isnan(a) & ~np.isnan(b)
        cells = [(both & (a == x) & (b == y)).astype(float) for x, y in
                 ((1, 1), (1, 0), (0, 1), (0, 0))]
        kappa = _kappa_from_cells(*(w @ c for c in cells))
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]

    def ci(x):
        x = x[~np.isnan(x)]
        return tuple(float(v) for v in np.percentile(x, q)) if len(x) else nan2

    return {"percent_agreement": ci(pa), "alpha": ci(alpha), "kappa": ci(kappa)}


# --------------------------------------------------------------------------- codings
def agreement_units(segments: pd.DataFrame, coverage: pd.DataFrame) -> pd.DataFrame:
    """Return the double-coded subset: per workshop and coder, first..last coded segment.

    Args:
        segments: the segments table.
        coverage: ``segment_id, coder`` rows (segments each human coder coded).

    Returns:
        One row per (segment_id, coder) inside that coder's span; the unit set is the union.

    """
    order = segments[["segment_id", "workshop_id"]].sort_values("segment_id",
                                                                kind="mergesort")
    order = order.assign(_pos=np.arange(len(order)))
    cov = coverage.merge(order, on="segment_id")
    rows = []
    for (coder, _ws), grp in cov.groupby(["coder", "workshop_id"], sort=True):
        lo, hi = grp["_pos"].min(), grp["_pos"].max()
        span = order[(order["_pos"] >= lo) & (order["_pos"] <= hi)]
        rows.append(pd.DataFrame({"segment_id": span["segment_id"], "coder": coder}))
    if not rows:
        return pd.DataFrame(columns=["segment_id", "coder"])
    return pd.concat(rows).drop_duplicates().reset_index(drop=True)


def _presence(codings: pd.DataFrame, coders: list[str], units: list[str], code: str | None,
              seen: dict[str, set]) -> np.ndarray:
    """Binary coders × units matrix of a code (nan where the coder did not see the unit)."""
    idx = {u: i for i, u in enumerate(units)}
    m = np.full((len(coders), len(units)), np.nan)
    for r, coder in enumerate(coders):
        for u in seen[coder]:
            if u in idx:
                m[r, idx[u]] = 0.0
        sub = codings[codings["coder"] == coder]
        if code is not None:
            sub = sub[sub["code_id"] == code]
        for u in sub["segment_id"]:
            if u in idx and not np.isnan(m[r, idx[u]]):
                m[r, idx[u]] = 1.0
    return m


def _pooled(codings, coders, units, codes, seen) -> np.ndarray:
    """Codes side by side; ``units`` is one list, or a dict code → that code's units."""
    if not codes:
        return np.empty((len(coders), 0))
    return np.concatenate([_presence(codings, coders, units[c] if isinstance(units, dict)
                                     else units, c, seen) for c in codes], axis=1)


# --------------------------------------------------------------------------- coding unit
#: French name of each coding unit (the ``unit`` column).
UNIT_LABELS = {"segment": "segment", "turn": "tour"}


def _turn_of(segments: pd.DataFrame) -> dict[str, str]:
    if "turn_id" in segments:
        return dict(zip(segments["segment_id"], segments["turn_id"], strict=True))
    return {s: s for s in segments["segment_id"]}


def to_units(codings: pd.DataFrame, segments: pd.DataFrame,
             unit_of: dict[str, str] | None) -> pd.DataFrame:
    """Return codings on their code's coding unit (a new frame).

    For a code whose unit is ``turn``, ``segment_id`` becomes the segment's ``turn_id``: a
    coder's codes on any segment of a turn are the turn's codes (one row per turn, code and
    coder). Codes at the ``segment`` unit are unchanged.
    """
    turn_codes = {c for c, u in (unit_of or {}).items() if u == "turn"}
    if not turn_codes or codings.empty:
        return codings
    turn_of = _turn_of(segments)
    lift = codings["code_id"].isin(turn_codes)
    out = codings.assign(segment_id=[turn_of.get(s, s) if up else s for s, up in
                                     zip(codings["segment_id"], lift, strict=True)])
    keys = [c for c in ("segment_id", "code_id", "coder") if c in out]
    return out.drop_duplicates(keys).reset_index(drop=True)


def unit_texts(segments: pd.DataFrame) -> dict[str, str]:
    """Text of every segment and of every turn (its segments joined), by ID."""
    text = dict(zip(segments["segment_id"], segments["text"].astype(str), strict=True))
    if "turn_id" in segments:
        order = segments.sort_values("segment_id", kind="mergesort")
        text.update(order.groupby("turn_id", sort=False)["text"]
                    .agg(lambda t: " ".join(map(str, t))).to_dict())
    return text


def _lift_seen(seen: dict[str, set], turn_of: dict[str, str]) -> dict[str, set]:
    """Add to each coder's seen segments the turns they belong to."""
    return {c: set(s) | {turn_of[u] for u in s if u in turn_of} for c, s in seen.items()}


def _measures(m: np.ndarray, seed: int, n_boot: int) -> dict:
    coders = m.shape[0]
    if coders == 2:
        kappa = cohen_kappa(m[0], m[1])
    else:
        kappa = float(np.nanmean([cohen_kappa(m[i], m[j]) for i in range(coders)
                                  for j in range(i + 1, coders)] or [np.nan]))
    alpha = binary_alpha(m) if m.shape[1] > 5000 else krippendorff_alpha(m, "nominal")
    ci = bootstrap_binary(m, n_boot=n_boot, seed=seed)
    note = "" if not np.isnan(alpha) else "aucune variation (code jamais ou toujours présent)"
    if coders > 2:
        note = (note + "; " if note else "") + "kappa : moyenne des paires de codeurs"
    return {"n_units": int(((~np.isnan(m)).sum(axis=0) >= 2).sum()), "n_coders": coders,
            "n_positive": int((np.nansum(m, axis=0) > 0).sum()),
            "percent_agreement": percent_agreement(m), "pa_ci_low": ci["percent_agreement"][0],
            "pa_ci_high": ci["percent_agreement"][1], "kappa": kappa,
            "kappa_ci_low": ci["kappa"][0], "kappa_ci_high": ci["kappa"][1], "alpha": alpha,
            "alpha_ci_low": ci["alpha"][0], "alpha_ci_high": ci["alpha"][1], "note": note}


def _prf(m: np.ndarray) -> dict:
    from sklearn.metrics import precision_recall_fscore_support

    both = ~np.isnan(m[0]) & ~np.isnan(m[1])
    y_pred, y_true = m[0, both], m[1, both]
    if not both.any():
        return {"precision": np.nan, "recall": np.nan, "f1": np.nan}
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="binary",
                                                 zero_division=np.nan)
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def read_double_coding_subset(path: str | Path, segments: pd.DataFrame) -> list[str]:
    """Read the list of double-coded segments (``double_coding_subset.csv``; never modified).

    Args:
        path: the CSV file, with a ``segment_id`` column (other columns are ignored).
        segments: the segments table (to check the IDs).

    Returns:
        The known segment IDs, sorted, without duplicates.

    Raises:
        InputError: when the file cannot be read or has no ``segment_id`` column.

    Unknown segment IDs and duplicates are reported with file and row as an
    :class:`~consultations.core.errors.InputWarning` and left out.

    """
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:
        raise InputError(path, None, f"sous-ensemble de double codage illisible ({exc})",
                         "enregistrez-le en CSV UTF-8 avec une colonne segment_id.") from exc
    df.columns = [str(c).strip().lower() for c in df.columns]
    if "segment_id" not in df.columns:
        raise InputError(path, 1, f"pas de colonne segment_id (colonnes : {list(df.columns)})",
                         "l'en-tête doit contenir segment_id, un segment doublement codé "
                         "par ligne.")
    known = set(segments["segment_id"])
    seen: dict[str, int] = {}
    for i, raw in enumerate(df["segment_id"]):
        line, seg = i + 2, str(raw).strip()
        if not seg:
            continue
        if seg not in known:
            warn_input(path, line, f"segment inconnu « {seg} » : laissé hors des unités d'accord",
                       "vérifiez l'identifiant dans la table segments (les identifiants "
                       "changent quand une transcription est modifiée).")
        elif seg in seen:
            warn_input(path, line, f"doublon de la ligne {seen[seg]} (« {seg} ») : compté une "
                       "fois")
        else:
            seen[seg] = line
    return sorted(seen)


def _unit_set_label(subset: list[str] | None, subset_name: str) -> str:
    if subset is not None:
        return (f"sous-ensemble double-codé ({subset_name}, {len(subset)} segments ; "
                "non codé = absent)")
    return ("étendue des codeurs (premier au dernier segment codé par atelier ; "
            "hors étendue = manquant)")


def coding_agreement(rule: pd.DataFrame, manual: pd.DataFrame, segments: pd.DataFrame,
                     codebook: pd.DataFrame, coverage: pd.DataFrame | None = None,
                     seed: int = 42, n_boot: int = 1000, units: str = "span",
                     subset: list[str] | None = None, subset_name: str = SUBSET_FILE,
                     unit_of: dict[str, str] | None = None) -> pd.DataFrame:
    """Agreement between human coders, and of the rule coder with each human coder.

    Args:
        rule: rule codings.
        manual: manual codings.
        segments: segments table.
        codebook: codebook table (labels; every code gets a row).
        coverage: extra ``segment_id, coder`` rows (segments marked AUCUN).
        seed: bootstrap seed.
        n_boot: bootstrap resamples.
        units: without ``subset``: ``span`` (see module docstring) or ``coded`` (only the
            segments a coder coded).
        subset: the double-coded segment IDs; when given they are exactly the units, seen by
            every coder (uncoded = absent), and ``units`` is ignored.
        subset_name: the subset's file name, written in ``unit_set``.
        unit_of: each code's coding unit (``segment`` or ``turn``, see
            :func:`consultations.coding.codebook.code_units`); at ``turn`` the units of a code
            are the turns of the unit set and a coder's codes on any segment of a turn are
            the turn's codes (:func:`to_units`). Default: every code at the segment.

    Returns:
        The agreement table (columns :data:`COLUMNS`); empty when there are no manual codes.
        ``comparison`` is ``intercodeurs`` (humans together) or ``règles vs <coder>``;
        ``unit_set`` states which units were used.

    """
    from consultations.coding.coder import manual_coverage

    if manual.empty:
        return pd.DataFrame(columns=COLUMNS)
    cov = manual_coverage(manual, coverage)
    if subset is not None:
        unit_ids = sorted(set(subset))
        coders = sorted(cov["coder"].unique())
        seen = {c: set(unit_ids) for c in coders}
    else:
        seen_rows = agreement_units(segments, cov) if units == "span" else cov
        coders = sorted(seen_rows["coder"].unique())
        seen = {c: set(seen_rows.loc[seen_rows["coder"] == c, "segment_id"]) for c in coders}
        unit_ids = sorted(set(seen_rows["segment_id"]))
    labels = dict(zip(codebook["code_id"], codebook["label"], strict=True))
    codes = list(codebook["code_id"])
    unit_of = {c: (unit_of or {}).get(c, "segment") for c in codes}
    turn_of = _turn_of(segments)
    turn_ids = sorted({turn_of.get(u, u) for u in unit_ids})
    ids = {c: turn_ids if unit_of[c] == "turn" else unit_ids for c in codes}
    if "turn" in unit_of.values():
        seen = _lift_seen(seen, turn_of)
        manual, rule = to_units(manual, segments, unit_of), to_units(rule, segments, unit_of)
    used = sorted(set(unit_of.values()))
    unit_label = {**{c: UNIT_LABELS[u] for c, u in unit_of.items()},
                  OVERALL: UNIT_LABELS[used[0]] if len(used) == 1 else "mixte"}
    rows = []
    if len(coders) >= 2:
        for code in codes + [OVERALL]:
            m = (_pooled(manual, coders, ids, codes, seen) if code == OVERALL
                 else _presence(manual, coders, ids[code], code, seen))
            rows.append({"comparison": INTERCODER, "coder_a": coders[0],
                         "coder_b": ", ".join(coders[1:]), "code_id": code,
                         "label": labels.get(code, "Tous les codes"), **_measures(m, seed, n_boot)})
    rule_all = rule.assign(coder="règles")
    for human in coders:
        pair_seen = {"règles": seen[human], human: seen[human]}
        for code in codes + [OVERALL]:
            both = pd.concat([rule_all, manual[manual["coder"] == human]])
            m = (_pooled(both, ["règles", human], ids, codes, pair_seen) if code == OVERALL
                 else _presence(both, ["règles", human], ids[code], code, pair_seen))
            rows.append({"comparison": f"règles vs {human}", "coder_a": "règles",
                         "coder_b": human, "code_id": code,
                         "label": labels.get(code, "Tous les codes"),
                         **_measures(m, seed, n_boot), **_prf(m)})
    out = pd.DataFrame(rows).reindex(columns=COLUMNS)
    out["unit"] = out["code_id"].map(unit_label)
    out["unit_set"] = _unit_set_label(subset, subset_name) + (
        f" ; unité de codage tour : {len(turn_ids)} tours" if "turn" in used else "")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- rule quality
QUALITY_COLUMNS = ["split", "reference", "code_id", "label", "n_units", "n_reference",
                   "n_rule", "n_both", "precision", "recall", "f1", "unit_set"]
CONSENSUS = "consensus"


def split_workshops(workshop_ids, dev_share: float = 0.6,
                    dev: list[str] | None = None) -> dict[str, list[str]]:
    """Split workshops into a development set and a held-out (test) set.

    Args:
        workshop_ids: the workshops (sorted here).
        dev_share: share of the workshops, taken in order, used for development (at least one
            workshop is held out when there are two or more).
        dev: explicit development workshops (overrides ``dev_share``).

    Returns:
        ``{"développement": [...], "test": [...]}``.

    """
    ws = sorted({str(w) for w in workshop_ids})
    if dev is None:
        k = int(np.ceil(len(ws) * dev_share))
        k = min(k, len(ws) - 1) if len(ws) >= 2 else len(ws)
        dev = ws[:k]
    dev_set = set(dev)
    return {"développement": [w for w in ws if w in dev_set],
            "test": [w for w in ws if w not in dev_set]}


def _matrix(codings: pd.DataFrame, units: list[str], codes: list[str]) -> np.ndarray:
    """Binary units × codes matrix of a coder's codings."""
    m = np.zeros((len(units), len(codes)))
    ui = {u: i for i, u in enumerate(units)}
    ci = {c: j for j, c in enumerate(codes)}
    for s, c in zip(codings["segment_id"], codings["code_id"], strict=True):
        if s in ui and c in ci:
            m[ui[s], ci[c]] = 1.0
    return m


def _prf_counts(tp, n_ref, n_rule) -> tuple[float, float, float]:
    p = tp / n_rule if n_rule else (np.nan if not n_ref else 0.0)
    r = tp / n_ref if n_ref else np.nan
    if np.isnan(p) or np.isnan(r):
        f = np.nan if (not n_ref and not n_rule) else 0.0
    else:
        f = 2 * p * r / (p + r) if p + r else 0.0
    return float(p), float(r), float(f)


def rule_quality(rule: pd.DataFrame, manual: pd.DataFrame, segments: pd.DataFrame,
                 codebook: pd.DataFrame, units: list[str],
                 splits: dict[str, list[str]] | None = None,
                 unit_set: str = "", unit_of: dict[str, str] | None = None) -> pd.DataFrame:
    """Precision, recall and F1 of the rule coder per code, per split, per reference.

    References: each human coder, and ``consensus`` (for each code, the units on which every
    human coder agrees: both coded it → positive, neither → negative; units where they disagree
    are left out for that code). A unit without a code from a coder counts as absent.

    Args:
        rule: rule codings (negated ones included).
        manual: manual codings (column ``coder``).
        segments: segments table (``workshop_id`` of each unit).
        codebook: codebook table (order and labels of the codes).
        units: the double-coded segment IDs.
        splits: split name → workshop IDs (default: :func:`split_workshops`); an ``ensemble``
            split with every unit is always added.
        unit_set: text written in the ``unit_set`` column.
        unit_of: each code's coding unit; a ``turn`` code is scored on the turns of
            ``units`` (codes on any segment of a turn are the turn's codes).

    Returns:
        One row per (split, reference, code), plus ``_macro`` (mean over the codes that the
        reference or the rules used on that split; an undefined precision, when the rules never
        fire but the reference does, counts 0) and ``_micro`` (every (unit, code) pooled).
        Columns :data:`QUALITY_COLUMNS`.

    """
    codes = list(codebook["code_id"])
    labels = dict(zip(codebook["code_id"], codebook["label"], strict=True))
    ws_of = dict(zip(segments["segment_id"], segments["workshop_id"].astype(str), strict=True))
    units = sorted(u for u in set(units) if u in ws_of)
    if splits is None:
        splits = split_workshops({ws_of[u] for u in units})
    splits = {**splits, "ensemble": sorted({ws_of[u] for u in units})}
    coders = sorted(manual["coder"].unique()) if len(manual) else []
    if not coders or not units:
        return pd.DataFrame(columns=QUALITY_COLUMNS)
    unit_of = {c: (unit_of or {}).get(c, "segment") for c in codes}
    kinds = set(unit_of.values())
    if "turn" in kinds:  # units of each kind in use; a code is scored on its own kind only
        turn_of = _turn_of(segments)
        turns = sorted({turn_of[u] for u in units})
        ws_of.update({turn_of[u]: ws_of[u] for u in units})
        units = (units if "segment" in kinds else []) + turns
        rule, manual = to_units(rule, segments, unit_of), to_units(manual, segments, unit_of)
        is_turn = np.array([u in set(turns) for u in units])
        kind_ok = np.stack([is_turn if unit_of[c] == "turn" else ~is_turn for c in codes],
                           axis=1)
    else:
        kind_ok = np.ones((len(units), len(codes)), dtype=bool)
    pred = _matrix(rule, units, codes)
    human = {c: _matrix(manual[manual["coder"] == c], units, codes) for c in coders}
    refs: dict[str, tuple[np.ndarray, np.ndarray]] = {c: (human[c], kind_ok) for c in coders}
    if len(coders) >= 2:
        stack = np.stack([human[c] for c in coders])
        agree = (stack == stack[0]).all(axis=0)
        refs[CONSENSUS] = (stack[0], agree & kind_ok)
    rows = []
    for split, wss in splits.items():
        in_split = np.array([ws_of[u] in set(wss) for u in units])
        for ref_name, (ref, valid) in refs.items():
            mask = valid & in_split[:, None]
            tp = ((pred == 1) & (ref == 1) & mask).sum(axis=0)
            n_ref = ((ref == 1) & mask).sum(axis=0)
            n_rule = ((pred == 1) & mask).sum(axis=0)
            per = []
            for j, code in enumerate(codes):
                p, r, f = _prf_counts(int(tp[j]), int(n_ref[j]), int(n_rule[j]))
                per.append((p, r, f, n_ref[j] + n_rule[j] > 0))
                rows.append({"split": split, "reference": ref_name, "code_id": code,
                             "label": labels[code], "n_units": int(mask[:, j].sum()),
                             "n_reference": int(n_ref[j]), "n_rule": int(n_rule[j]),
                             "n_both": int(tp[j]), "precision": p, "recall": r, "f1": f})
            used = [x for x in per if x[3]]
            macro = [float(np.mean([0.0 if np.isnan(x[k]) else x[k] for x in used
                                    if not (k == 1 and np.isnan(x[1]))] or [np.nan]))
                     for k in range(3)]
            rows.append({"split": split, "reference": ref_name, "code_id": MACRO,
                         "label": f"Moyenne des {len(used)} codes utilisés",
                         "n_units": int(in_split.sum()), "n_reference": int(n_ref.sum()),
                         "n_rule": int(n_rule.sum()), "n_both": int(tp.sum()),
                         "precision": macro[0], "recall": macro[1], "f1": macro[2]})
            p, r, f = _prf_counts(int(tp.sum()), int(n_ref.sum()), int(n_rule.sum()))
            rows.append({"split": split, "reference": ref_name, "code_id": MICRO,
                         "label": "Toutes les paires (segment, code)",
                         "n_units": int(in_split.sum()), "n_reference": int(n_ref.sum()),
                         "n_rule": int(n_rule.sum()), "n_both": int(tp.sum()),
                         "precision": p, "recall": r, "f1": f})
    out = pd.DataFrame(rows, columns=QUALITY_COLUMNS)
    out["unit_set"] = unit_set
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- report
def human_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Return the human intercoder rows of an agreement table (all rows without comparison).

    Only these measure a code's reliability; the other rows compare the rules to a coder.
    """
    if "comparison" not in table:
        return table
    return table[table["comparison"] == INTERCODER]


#: Verdicts on Krippendorff's alpha (Krippendorff 2004: α ≥ 0.80 reliable; 0.667 ≤ α < 0.80
#: tentative conclusions only; below: the code must be revised).
VERDICTS = ("fiable", "provisoire", "code à réviser")


def verdict(alpha: float) -> str:
    """Return the verdict on an alpha (« fiable », « provisoire », « code à réviser », or "").

    « fiable » from 0.80, « provisoire » from 0.667, else « code à réviser »; empty when
    alpha is undefined.
    """
    if alpha is None or not np.isfinite(alpha):
        return ""
    return VERDICTS[0] if alpha >= 0.80 else VERDICTS[1] if alpha >= 0.667 else VERDICTS[2]


def verdict_note(alpha: float, low: float, high: float, n_positive: int | None = None) -> str:
    """Return a French remark when the 95 % interval of alpha spans another verdict (or "").

    A point estimate above 0.80 with an interval reaching below 0.667 rests on few coded
    units: the verdict is uncertain and should be confirmed on more coded units.
    """
    v = verdict(alpha)
    if not v or low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return ""
    span = {verdict(low), verdict(high)} - {v, ""}
    if not span:
        return ""
    n = f" ({n_positive} unités codées)" if n_positive is not None else ""

    def fr(x: float) -> str:
        return f"{x:.2f}".replace("-", "\u2212").replace(".", ",")

    return (f"verdict incertain : l'intervalle à 95 % [{fr(low)} ; {fr(high)}] va jusqu'à "
            f"« {' » / « '.join(sorted(span))} »{n} ; à confirmer sur plus d'unités codées")


def disagreements(manual: pd.DataFrame, segments: pd.DataFrame, units: list[str],
                  unit_of: dict[str, str] | None = None) -> pd.DataFrame:
    """Return the (unit, code) pairs of ``units`` on which the human coders disagree.

    Columns: ``segment_id`` (the unit: a segment, or a turn for a code whose ``unit_of`` is
    ``turn``), ``unit`` (« segment » / « tour »), ``code_id``, ``text``, ``coded_by``,
    ``not_coded_by`` and ``codes_by_coder`` (every code each coder gave the unit,
    « coder : A, B | … »).
    """
    cols = ["segment_id", "unit", "code_id", "text", "coded_by", "not_coded_by",
            "codes_by_coder"]
    if manual.empty or not units:
        return pd.DataFrame(columns=cols)
    coders = sorted(manual["coder"].unique())
    turn_of = _turn_of(segments) if "turn_id" in segments else {}
    keep = set(units) | {turn_of[u] for u in units if u in turn_of}
    m = to_units(manual, segments, unit_of)
    m = m[m["segment_id"].isin(keep)]
    given = m.groupby(["segment_id", "coder"])["code_id"].agg(lambda x: sorted(set(x)))
    text = unit_texts(segments)
    kind = {c: UNIT_LABELS.get(u, "segment") for c, u in (unit_of or {}).items()}
    rows = []
    for (seg, code), g in m.groupby(["segment_id", "code_id"], sort=True):
        by = sorted(set(g["coder"]))
        if len(by) < len(coders):
            rows.append({"segment_id": seg, "unit": kind.get(code, "segment"),
                         "code_id": code, "text": text.get(seg, ""),
                         "coded_by": ", ".join(by),
                         "not_coded_by": ", ".join(c for c in coders if c not in by),
                         "codes_by_coder": " | ".join(
                             f"{c} : {', '.join(given.get((seg, c), [])) or '—'}"
                             for c in coders)})
    return pd.DataFrame(rows, columns=cols)
