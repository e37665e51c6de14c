"""Compare stakeholder groups: code × group matrices, tests, distinctive terms, consensus.

Rules (the defaults are in :data:`DEFAULTS`; override them with ``settings.extra["compare"]``):

- **Presence.** A code is present on a segment when at least one *non-negated* row of the
  final ``codings`` table (any source: rule, manual, review, topic) puts it there. A negated
  rule match ("il n'y a pas de racket") is not a mention of the theme. Codes roll up: a
  segment carrying a child code also carries every ancestor (``codebook.parent``).
- **Who is compared.** Facilitators (``is_facilitator``) are left out. Speakers are counted
  by their pseudonym (corpus-wide, one per person), workshops by ``workshop_id``.
- **Matrices** (``code_group_counts``): per code and group, segments / distinct speakers /
  workshops with the code; rates = share of the group's segments and coded segments per
  1,000 words of the group. Every code of the codebook and every group appears, zeros
  included.
- **Tests** (``code_group_tests``, ``code_group_residuals``): per code, the 2 × G table
  present/absent × group (groups with at least one segment). Pearson chi-square without
  continuity correction (:func:`scipy.stats.chi2_contingency`) when every expected count is
  ≥ ``min_expected`` (5); otherwise Fisher's exact test for a 2 × 2 table
  (:func:`scipy.stats.fisher_exact`) or a Monte-Carlo test with ``n_resamples`` random tables
  of the same margins (``chi2_contingency(method=MonteCarloMethod)``, seeded). P-values are
  corrected across the tested codes by Benjamini–Hochberg (statsmodels ``multipletests``);
  effect size is Cramér's V (:func:`scipy.stats.contingency.association`). Adjusted
  standardised residuals (Haberman) come from statsmodels ``Table.standardized_resids``; a
  cell is significant when its code is (``p_adj < alpha``) and ``|residual| ≥ z_cell`` (1.96).
- **Distinctive terms** (:mod:`consultations.compare.distinctive`): weighted log-odds ratio with an
  informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, eq. 16–22), each group against
  all other groups, over lemmas without stop words; the prior is the whole corpus' counts
  times ``prior_scale``.
- **Consensus** (:mod:`consultations.compare.consensus`): a group *raises* a code when at least
  ``min_speakers`` (2) of its speakers use it and its ``rate_segments`` is at least
  ``rel_share`` (½) × the code's overall rate (and at least ``min_share``, 0 by default).
  Consensus index = ∏ over groups of (n + 1) / (N + 2)
  (Pol.is' group-informed consensus, Laplace-smoothed). Classes: *contesté* (the code has
  position child codes and two groups hold opposing positions, see
  :func:`~consultations.compare.positions.position_questions`), else *consensus* (every group
   raises it, at
  least two groups), *majorité* (more than half), *spécifique à un groupe* (exactly one),
  *minorité* (several but at most half), *non évoqué* (none).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd

from consultations.coding.stance import DEFAULT_THRESHOLD
from consultations.compare.consensus import consensus_table
from consultations.compare.positions import group_positions, position_summary, speaker_positions
from consultations.core.errors import warn_input
from consultations.core.progress import progress_bar
from consultations.core.schema import participant_segments, truthy

__all__ = [
    "DEFAULTS",
    "code_presence",
    "code_group_counts",
    "code_group_tests",
    "speaker_group_tests",
    "fr_num",
    "run_stage",
    "topic_group_counts",
]

#: Documented defaults of the compare stage (override with settings.extra["compare"]).
DEFAULTS: dict = {
    "alpha": 0.05,          # significance level after Benjamini–Hochberg
    "z_cell": 1.96,         # |adjusted residual| for a significant cell
    "min_expected": 5.0,    # below this expected count, exact / Monte-Carlo test
    "n_resamples": 9999,    # permutations of group labels across speakers
    "min_share": 0.0,       # a group raises a code: share of its segments ≥ this floor …
    "rel_share": 0.5,       # … and ≥ ½ × the code's overall share …
    "min_speakers": 2,      # … and ≥ 2 of its speakers use it
    "min_group_speakers": 3,  # smaller groups: shown, never tested, never in a headline
    "stance_min_confidence": DEFAULT_THRESHOLD,  # automatic stances below: « à vérifier »
    "min_speakers_position": 2,    # a group majority needs ≥ 2 speakers …
    "position_margin": 1,          # … and this many more than the next option
    "prior_scale": 1.0,     # Dirichlet prior = corpus counts × prior_scale
    "min_term_count": 3,    # a lemma must occur this often in the corpus
    "top_terms": 15,        # distinctive terms kept per group
    "example_words": (8, 60),  # preferred length of an example segment
}

_COUNT_COLS = ["code_id", "label", "group_code", "stakeholder_group", "n_segments",
               "n_speakers", "n_workshops", "group_segments", "group_words", "rate_segments",
               "per_1000_words"]


def fr_num(x: float, digits: int = 1, sign: bool = False) -> str:
    """Format a number the French way (decimal comma), e.g. ``+2,8``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n.d."
    s = f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
    return s.replace(".", ",").replace("-", "−")


def _params(settings) -> dict:
    extra = getattr(settings, "extra", None) or {}
    return {**DEFAULTS, **(extra.get("compare") or {})}


def _ancestors(codebook: pd.DataFrame) -> dict[str, list[str]]:
    parent = {str(c): (str(p) if pd.notna(p) and str(p).strip() else None)
              for c, p in zip(codebook["code_id"], codebook.get("parent", pd.Series(
                  [None] * len(codebook))), strict=True)}
    out = {}
    for code in parent:
        chain, seen, cur = [], {code}, parent[code]
        while cur and cur not in seen:
            chain.append(cur)
            seen.add(cur)
            cur = parent.get(cur)
        out[code] = chain
    return out


def code_presence(codings: pd.DataFrame, codebook: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the distinct (segment_id, code_id) pairs present, rolled up to parents.

    Args:
        codings: the final merged codings; rows with ``negated`` true are ignored.
        codebook: for the roll-up (``parent``); ``None`` means no hierarchy.

    Returns:
        A new frame ``segment_id, code_id`` sorted, without duplicates.

    """
    df = codings[["segment_id", "code_id"]].copy()
    if "negated" in codings.columns:
        df = df[~truthy(codings["negated"]).to_numpy()]
    df = df.astype(str)
    if codebook is not None and len(codebook):
        anc = _ancestors(codebook)
        extra = [(s, a) for s, c in zip(df["segment_id"], df["code_id"], strict=True)
                 for a in anc.get(c, [])]
        if extra:
            df = pd.concat([df, pd.DataFrame(extra, columns=["segment_id", "code_id"])])
    return df.drop_duplicates().sort_values(["code_id", "segment_id"]).reset_index(drop=True)


def _groups(segs: pd.DataFrame) -> pd.DataFrame:
    g = segs.groupby("group_code", sort=True).agg(
        stakeholder_group=("stakeholder_group", "first"), group_segments=("segment_id", "size"),
        group_words=("n_words", "sum"), group_speakers=("speaker", "nunique"),
        group_workshops=("workshop_id", "nunique"))
    return g.reset_index()


def code_group_counts(segments: pd.DataFrame, presence: pd.DataFrame,
                      codebook: pd.DataFrame, groups: pd.DataFrame | None = None
                      ) -> pd.DataFrame:
    """Count each code per stakeholder group three ways, as counts and rates.

    Args:
        segments: the segments table (facilitators are dropped here).
        presence: output of :func:`code_presence`.
        codebook: every code listed here gets a row per group, used or not.
        groups: optional extra groups (``group_code, stakeholder_group``) to list even
            when they have no segment.

    Returns:
        ``code_group_counts`` (contract columns, then ``group_speakers``,
        ``group_workshops``, ``rate_speakers``, ``rate_workshops``).

    """
    segs = participant_segments(segments)
    g = _groups(segs)
    if groups is not None and len(groups):
        missing = groups[~groups["group_code"].isin(g["group_code"])]
        if len(missing):
            add = missing[["group_code", "stakeholder_group"]].drop_duplicates("group_code")
            g = pd.concat([g, add], ignore_index=True).fillna(
                {"group_segments": 0, "group_words": 0, "group_speakers": 0,
                 "group_workshops": 0})
    hits = presence.merge(segs[["segment_id", "group_code", "speaker", "workshop_id"]],
                          on="segment_id", how="inner")
    agg = hits.groupby(["code_id", "group_code"]).agg(
        n_segments=("segment_id", "nunique"), n_speakers=("speaker", "nunique"),
        n_workshops=("workshop_id", "nunique")).reset_index()
    codes = codebook[["code_id", "label"]].astype({"code_id": str})
    unknown = sorted(set(agg["code_id"]) - set(codes["code_id"]))
    if unknown:
        codes = pd.concat([codes, pd.DataFrame({"code_id": unknown, "label": unknown})])
    grid = codes.merge(g, how="cross")
    out = grid.merge(agg, on=["code_id", "group_code"], how="left")
    for c in ("n_segments", "n_speakers", "n_workshops", "group_segments", "group_words",
              "group_speakers", "group_workshops"):
        out[c] = out[c].fillna(0).astype(int)

    def ratio(a, b, k=1.0):
        return np.where(b > 0, k * a / b.where(b > 0, 1), np.nan)

    out["rate_segments"] = ratio(out["n_segments"], out["group_segments"])
    out["per_1000_words"] = ratio(out["n_segments"], out["group_words"], 1000.0)
    out["rate_speakers"] = ratio(out["n_speakers"], out["group_speakers"])
    out["rate_workshops"] = ratio(out["n_workshops"], out["group_workshops"])
    cols = _COUNT_COLS + ["group_speakers", "group_workshops", "rate_speakers",
                          "rate_workshops"]
    return out[cols].sort_values(["code_id", "group_code"]).reset_index(drop=True)


def _code_seed(seed: int, code_id: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(code_id.encode())])


def code_group_tests(counts: pd.DataFrame, *, alpha: float = 0.05, z_cell: float = 1.96,
                     min_expected: float = 5.0, n_resamples: int = 9999, seed: int = 42
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test, per code, independence of code presence and stakeholder group.

    Args:
        counts: output of :func:`code_group_counts`.
        alpha: significance level for the BH-adjusted p-values.
        z_cell: |adjusted residual| threshold for a significant cell.
        min_expected: smallest expected count for the asymptotic chi-square.
        n_resamples: Monte-Carlo tables when expected counts are small.
        seed: seeds the Monte-Carlo test (combined with the code id).

    Returns:
        ``(code_group_tests, code_group_residuals)``; strings are French.

    """
    from scipy import stats
    from scipy.stats.contingency import association, expected_freq
    from statsmodels.stats.contingency_tables import Table

    tests, resid = [], []
    for code_id, sub in counts.groupby("code_id", sort=True):
        sub = sub[sub["group_segments"] > 0].sort_values("group_code")
        label = sub["label"].iloc[0] if len(sub) else code_id
        row = {"code_id": code_id, "label": label, "chi2": np.nan, "dof": np.nan,
               "p_value": np.nan, "p_adj": np.nan, "method": "non testé",
               "cramers_v": np.nan, "significant": False, "min_expected": np.nan,
               "warning": "", "interpretation": "", "n_groups_tested": len(sub),
               "n_present": int(sub["n_segments"].sum())}
        present = sub["n_segments"].to_numpy()
        table = np.vstack([present, sub["group_segments"].to_numpy() - present])
        if len(sub) < 2:
            row["warning"] = ("Un seul groupe dans le corpus : test impossible, "
                              "tableaux descriptifs seulement.")
        elif present.sum() == 0:
            row["warning"] = "Thème jamais codé hors facilitation : pas de test."
        elif table[1].sum() == 0:
            row["warning"] = "Thème présent dans tous les segments : pas de test."
        else:
            exp = expected_freq(table)
            base = stats.chi2_contingency(table, correction=False)
            row.update(chi2=float(base.statistic), dof=int(base.dof),
                       min_expected=float(exp.min()),
                       cramers_v=float(association(table, method="cramer")))
            if exp.min() >= min_expected:
                row.update(p_value=float(base.pvalue), method="khi-deux (asymptotique)")
            elif table.shape == (2, 2):
                row.update(p_value=float(stats.fisher_exact(table).pvalue),
                           method="test exact de Fisher (2×2)")
            else:
                mc = stats.MonteCarloMethod(n_resamples=n_resamples,
                                            rng=_code_seed(seed, str(code_id)))
                res = stats.chi2_contingency(table, correction=False, method=mc)
                row.update(p_value=float(res.pvalue),
                           method=f"khi-deux Monte-Carlo ({n_resamples} tables, graine {seed})")
            if exp.min() < min_expected:
                row["warning"] = (f"Effectifs attendus faibles (minimum "
                                  f"{fr_num(exp.min())}) : résultat à interpréter avec "
                                  "prudence.")
            r = Table(table, shift_zeros=False).standardized_resids[0]
            for g, o, e, z in zip(sub["group_code"], table[0], exp[0], np.asarray(r),
                                  strict=True):
                resid.append({"code_id": code_id, "group_code": g, "observed": int(o),
                              "expected": float(e), "residual": float(z)})
        tests.append(row)
    tests = pd.DataFrame(tests)
    resid = pd.DataFrame(resid, columns=["code_id", "group_code", "observed", "expected",
                                         "residual"])
    tests, resid = _correct(tests, resid, alpha, z_cell)
    names = counts.drop_duplicates("group_code").set_index("group_code")["stakeholder_group"]
    tests["interpretation"] = [
        _interpret(r, resid[resid["code_id"] == r.code_id], names, alpha)
        for r in tests.itertuples()]
    return tests, resid.reset_index(drop=True)


def speaker_group_tests(segments: pd.DataFrame, presence: pd.DataFrame, codebook: pd.DataFrame,
                        *, alpha: float = 0.05, z_cell: float = 1.96, n_resamples: int = 9999,
                        min_group_speakers: int = 3, seed: int = 42
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test, per code, whether groups differ in the share of their *speakers* who raise it.

    The unit is the participant (sentences are nested in turns and speakers, so they are not
    independent). Per code, each participant either raised it (at least one segment) or not;
    the statistic is the chi-square of the groups × raised table, and its p-value comes from
    ``n_resamples`` permutations of the group labels across participants (seeded with
    ``seed`` and the code id), which needs no large-sample assumption. Groups with fewer than
    ``min_group_speakers`` participants are shown in the counts but left out of the test and
    of every claim. P-values are corrected by Benjamini–Hochberg; adjusted residuals (on the
    speaker table) say which group differs, and Cramér's V gives the size.

    Returns:
        ``(code_group_tests, code_group_residuals)``; strings are French.

    """
    from scipy.stats.contingency import association, expected_freq
    from statsmodels.stats.contingency_tables import Table

    segs = participant_segments(segments)
    people = segs.groupby("speaker").agg(group_code=("group_code", "first"))
    sizes = people["group_code"].value_counts()
    eligible = sorted(sizes[sizes >= min_group_speakers].index)
    small = sorted(sizes[sizes < min_group_speakers].index)
    people = people[people["group_code"].isin(eligible)]
    hits = presence.merge(segs[["segment_id", "speaker"]], on="segment_id")
    raised = hits.groupby("code_id")["speaker"].agg(lambda s: set(s))
    labels = people["group_code"].map({g: i for i, g in enumerate(eligible)}).to_numpy()
    n_g = len(eligible)
    rng = np.random.default_rng(int(seed))
    perms = np.array([rng.permutation(labels) for _ in range(n_resamples)]) \
        if n_g >= 2 else np.empty((0, len(labels)), dtype=int)
    names = segs.drop_duplicates("group_code").set_index("group_code")["stakeholder_group"]
    tests, resid = [], []
    for code_id in sorted(codebook["code_id"].astype(str)):
        label = codebook.loc[codebook["code_id"].astype(str) == code_id, "label"].iloc[0]
        x = people.index.isin(raised.get(code_id, set())).astype(int)
        row = {"code_id": code_id, "label": label, "chi2": np.nan, "dof": np.nan,
               "p_value": np.nan, "p_adj": np.nan, "method": "non testé",
               "cramers_v": np.nan, "significant": False, "min_expected": np.nan,
               "warning": "", "interpretation": "", "n_groups_tested": n_g,
               "n_present": int(x.sum()), "unit": "intervenants",
               "small_groups_excluded": ", ".join(small)}
        if n_g < 2:
            row["warning"] = (f"Moins de deux groupes d'au moins {min_group_speakers} "
                              "intervenants : test impossible, tableaux descriptifs seulement.")
        elif x.sum() == 0:
            row["warning"] = "Thème évoqué par aucun intervenant des groupes comparés."
        elif x.sum() == len(x):
            row["warning"] = "Thème évoqué par tous les intervenants : pas de test."
        else:
            present = np.bincount(labels, weights=x, minlength=n_g)
            total = np.bincount(labels, minlength=n_g)
            table = np.vstack([present, total - present])
            exp = expected_freq(table)
            stat = _chi2(table, exp)
            perm = _perm_chi2(x, perms, n_g, total)
            p_val = (1 + int((perm >= stat - 1e-12).sum())) / (n_resamples + 1)
            row.update(chi2=float(stat), dof=int(n_g - 1), min_expected=float(exp.min()),
                       p_value=float(p_val),
                       cramers_v=float(association(table.astype(int), method="cramer")),
                       method=(f"permutation des groupes entre intervenants "
                               f"({n_resamples} tirages, graine {seed})"))
            if exp.min() < 1:
                row["warning"] = ("Très peu d'intervenants concernés : le test a peu de "
                                  "puissance, l'absence de différence ne prouve rien.")
            r = Table(table, shift_zeros=False).standardized_resids[0]
            for g, o, e, z, n in zip(eligible, present, exp[0], np.asarray(r), total,
                                     strict=True):
                resid.append({"code_id": code_id, "group_code": g, "observed": int(o),
                              "expected": float(e), "residual": float(z),
                              "group_speakers": int(n)})
        tests.append(row)
    tests = pd.DataFrame(tests)
    resid = pd.DataFrame(resid, columns=["code_id", "group_code", "observed", "expected",
                                         "residual", "group_speakers"])
    resid.insert(5, "significant", False)
    tests, resid = _correct(tests, resid, alpha, z_cell)
    tests["interpretation"] = [
        _interpret_speakers(r, resid[resid["code_id"] == r.code_id], names)
        for r in tests.itertuples()]
    return tests, resid.reset_index(drop=True)


def _chi2(table: np.ndarray, exp: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.nansum(np.where(exp > 0, (table - exp) ** 2 / exp, 0.0)))


def _perm_chi2(x: np.ndarray, perms: np.ndarray, n_g: int, total: np.ndarray) -> np.ndarray:
    """Chi-square of the groups × raised table under each permutation of the labels."""
    n, k = total.sum(), x.sum()
    present = np.stack([(x[None, :] * (perms == g)).sum(axis=1) for g in range(n_g)], axis=1)
    e1 = total[None, :] * k / n
    e0 = total[None, :] * (n - k) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        s1 = np.where(e1 > 0, (present - e1) ** 2 / e1, 0.0)
        s0 = np.where(e0 > 0, ((total[None, :] - present) - e0) ** 2 / e0, 0.0)
    return (s1 + s0).sum(axis=1)


def _correct(tests: pd.DataFrame, resid: pd.DataFrame, alpha: float, z_cell: float
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Benjamini–Hochberg over the tested codes; significant cells of significant codes."""
    from statsmodels.stats.multitest import multipletests

    tested = tests["p_value"].notna()
    if tested.any():
        _, p_adj, _, _ = multipletests(tests.loc[tested, "p_value"].to_numpy(), alpha=alpha,
                                       method="fdr_bh")
        tests.loc[tested, "p_adj"] = p_adj
    tests["significant"] = (tests["p_adj"] < alpha).fillna(False).astype(bool)
    sig_codes = set(tests.loc[tests["significant"], "code_id"])
    resid["significant"] = resid["code_id"].isin(sig_codes) & (resid["residual"].abs() >= z_cell)
    return tests, resid


def _interpretation(row, sentences: list[str]) -> str:
    """Read the test in French: not tested, no difference, or the groups that differ."""
    if pd.isna(row.p_adj):
        return "Pas de test (voir l'avertissement)."
    p = ("p ajusté < 0,001" if row.p_adj < 0.001 else f"p ajusté = {fr_num(row.p_adj, 3)}")
    if not row.significant:
        return f"Pas de différence significative entre les groupes ({p})."
    parts = sentences or ["Les groupes diffèrent globalement, sans groupe isolé au-delà de "
                          "±1,96."]
    return " ".join(parts) + f" ({p}, V de Cramér = {fr_num(row.cramers_v, 2)})."


def _significant_cells(cells: pd.DataFrame):
    return cells[cells["significant"]].sort_values("residual", ascending=False).itertuples()


def _interpret_speakers(row, cells: pd.DataFrame, names: pd.Series) -> str:
    parts = []
    for c in _significant_cells(cells):
        more = "plus" if c.residual > 0 else "moins"
        share = c.observed / c.group_speakers if c.group_speakers else 0
        parts.append(f"Les intervenants du groupe {names.get(c.group_code, c.group_code)} "
                     f"({c.group_code}) évoquent ce thème {more} souvent que ceux des autres "
                     f"groupes ({c.observed} sur {c.group_speakers}, {fr_num(100 * share, 0)} %"
                     f" ; résidu ajusté {fr_num(c.residual, sign=True)}).")
    return _interpretation(row, parts)


def _interpret(row, cells: pd.DataFrame, names: pd.Series, alpha: float) -> str:
    parts = []
    for c in _significant_cells(cells):
        more = "plus" if c.residual > 0 else "moins"
        parts.append(f"Le groupe {names.get(c.group_code, c.group_code)} ({c.group_code}) "
                     f"évoque ce thème {more} souvent que les autres (résidu ajusté "
                     f"{fr_num(c.residual, sign=True)}).")
    return _interpretation(row, parts)


def topic_group_counts(segments: pd.DataFrame, topic_assignments: pd.DataFrame,
                       topic_info: pd.DataFrame | None = None) -> pd.DataFrame:
    """Topic × group, counted like codes (outlier topic −1 kept as its own row)."""
    pres = topic_assignments[["segment_id", "topic"]].rename(columns={"topic": "code_id"})
    pres = pres.assign(code_id=pres["code_id"].astype(str))
    if topic_info is not None and "label" in topic_info:
        book = topic_info[["topic", "label"]].rename(columns={"topic": "code_id"})
    else:
        book = pd.DataFrame({"code_id": sorted(pres["code_id"].unique()),
                             "label": sorted(pres["code_id"].unique())})
    book = book.assign(code_id=book["code_id"].astype(str))
    out = code_group_counts(segments, pres, book)
    return out.rename(columns={"code_id": "topic", "label": "topic_label"})


def run_stage(tables, paths, settings) -> dict:
    """Compare stakeholder groups (see the module docstring for every rule).

    Args:
        tables: mapping of named tables (needs ``segments``, ``codebook``, ``codings``;
            uses ``recommendations``, ``speakers``, ``topic_assignments`` when present).
        paths: folders (unused; the pipeline saves the tables).
        settings: run settings (``seed``; thresholds in ``extra["compare"]``).

    Returns:
        The compare tables and a ``_summary``.

    """
    # Imported here: both build on this module's helpers (_participants, _truthy).
    from consultations.compare import recommendations as recs_mod
    from consultations.compare.distinctive import distinctive_terms

    p = _params(settings)
    bar = progress_bar(4, "[compare] tests, termes, positions, recommandations", "étapes")
    segments, codebook = tables["segments"], tables["codebook"]
    codings = tables["codings"] if "codings" in tables else pd.DataFrame(
        columns=["segment_id", "code_id", "negated"])
    presence = code_presence(codings, codebook)
    groups = tables["speakers"] if "speakers" in tables else None
    if groups is not None and "is_facilitator" in groups:
        groups = groups[~truthy(groups["is_facilitator"])]
    counts = code_group_counts(segments, presence, codebook, groups=groups)
    tests, resid = speaker_group_tests(segments, presence, codebook, alpha=p["alpha"],
                                       z_cell=p["z_cell"], n_resamples=p["n_resamples"],
                                       min_group_speakers=p["min_group_speakers"],
                                       seed=settings.seed)
    n_groups = int((counts.drop_duplicates("group_code")["group_segments"] > 0).sum())
    bar.set_postfix(groupes=n_groups, codes_testés=int(tests["p_value"].notna().sum()),
                    refresh=False)
    bar.update(1)
    if n_groups < 2:
        warn_input("segments", None, "un seul groupe de participants : les tests de "
                   "différence ne peuvent pas être faits", "seuls les tableaux descriptifs "
                   "sont produits")
    for g in counts.groupby("group_code")["n_segments"].sum().loc[lambda s: s == 0].index:
        warn_input("codings", None, f"le groupe {g} n'a aucun segment codé",
                   "vérifier le codage ou la liste des participants")
    terms = distinctive_terms(segments, top_n=p["top_terms"], prior_scale=p["prior_scale"],
                              min_count=p["min_term_count"],
                              example_words=tuple(p["example_words"]))
    bar.update(1)
    positions = speaker_positions(segments, codings, codebook,
                                  min_confidence=p["stance_min_confidence"])
    gpos = group_positions(positions, segments, codebook,
                           workshops=tables["workshops"] if "workshops" in tables else None,
                           min_speakers_position=p["min_speakers_position"],
                           position_margin=p["position_margin"],
                           min_group_speakers=p["min_group_speakers"])
    psum = position_summary(gpos, positions, codebook)
    agreement = dict(zip(psum["question"], psum["classification"], strict=True))
    cons = consensus_table(counts, codebook, min_share=p["min_share"],
                           min_speakers=p["min_speakers"], rel_share=p["rel_share"],
                           agreement=agreement, min_group_speakers=p["min_group_speakers"])
    bar.set_postfix(groupes=n_groups, positions=len(positions), refresh=False)
    bar.update(1)
    out = {"code_group_counts": counts, "code_group_tests": tests,
           "code_group_residuals": resid, "distinctive_terms": terms, "consensus": cons,
           "positions": positions, "group_positions": gpos, "position_summary": psum}
    if "recommendations" in tables:
        out.update(recs_mod.run(tables, settings))
    else:
        from consultations.core.schema import TABLES

        for name in ("rec_links", "rec_clusters", "rec_endorsements", "rec_group_matrix"):
            out[name] = pd.DataFrame(columns=TABLES[name])
    links, clusters = out["rec_links"], out["rec_clusters"]
    if "topic_assignments" in tables:
        info = tables["topic_info"] if "topic_info" in tables else None
        out["topic_group_counts"] = topic_group_counts(segments, tables["topic_assignments"],
                                                       info)
    bar.update(1)
    bar.close()
    out["_summary"] = {
        "groups_compared": n_groups,
        "codes": int(counts["code_id"].nunique()),
        "codes_tested": int(tests["p_value"].notna().sum()),
        "codes_significant": int(tests["significant"].sum()),
        "salience_classes": {k: int(v) for k, v in
                             cons["salience"].value_counts().sort_index().items()},
        "position_questions": {q: c for q, c in agreement.items()},
        "positions": int(len(positions)),
        "positions_verified": int(positions["verified"].astype(bool).sum())
        if len(positions) else 0,
        "recommendations_linked": int(links["rec_id"].nunique()),
        "recommendation_clusters": int(clusters["cluster_id"].nunique()),
        "recommendations_unlinked": int((clusters.get("link_status", pd.Series(dtype=str))
                                         == "non rattachée").sum()),
        "recommendation_endorsements": len(out["rec_endorsements"]),
        "thresholds": {k: (list(v) if isinstance(v, tuple) else v) for k, v in p.items()},
    }
    return out
