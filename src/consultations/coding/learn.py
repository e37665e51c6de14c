"""Learned code suggestions: a supervised multi-label model trained on every human decision.

The rules (:mod:`consultations.coding.coder`) miss what their keywords do not name and fire on
mentions the coders would not code. This module learns, per code, from what people decided:

- **Training labels** (:func:`training_labels`). Every human coding: manual files and imported
  ``.qdpx`` (a segment a human coder read — the double-coded subset when it exists, else the
  segments the coder coded or marked ``AUCUN`` — is a positive for each code a coder gave it and
  a negative for the others), and the review decisions (``accepter`` → positive for the
  proposed code, ``rejeter`` → negative for it, ``recoder`` → negative for the old code and
  positive for the new one, ``ajouter`` → positive for the added code; a review decision wins
  over a manual code for the same (segment, code); an unresolved review conflict teaches
  nothing). The codebook's definition, inclusion criterion, keywords and examples of a code
  are extra positive texts for that code (negatives for the codes outside its branch).
  **The speaker's group, pseudonym and workshop are never features**: the comparison between
  groups that these codings feed must not be learned from the groups themselves.
- **Features** (:func:`build_features`): TF-IDF of lemma uni- and bigrams, TF-IDF of character
  2–5-grams of the folded text, and the rule matches (one column per code, 1 when the rule
  coder codes the segment).
- **Model** (:class:`CodeModel`): one logistic regression per code (one-vs-rest, balanced class
  weights), its probabilities calibrated by Platt scaling (``CalibratedClassifierCV``, sigmoid,
  3 folds) when the code has at least 3 positive and 3 negative training segments; codes
  with fewer positives than ``min_positives`` are not learned (the rules stand alone there).
- **Combination rule** (:func:`combine`), stated in every output: a code is suggested on a
  segment when its calibrated probability reaches the code's threshold; the threshold is
  chosen per code by leave-one-workshop-out cross-validation **on the training workshops
  only** (the value in the grid maximising F1 of the out-of-fold predictions; 0.5 when the
  code has fewer than ``min_positives`` positives in two workshops). Rule codings are kept
  as they are (source ``rule``), with the model's probability as information; a model
  coding (source ``model``) is added where the rules did not code the segment. Where the
  model is confident that a rule coding is wrong (probability below ``veto``, default 0.05,
  for a learned code) the rule coding is dropped from the final codings when
  ``veto_rules`` is on (default), and kept in ``codings_rule``. Each automatic coding keeps
  its source and probability (column ``probability``).

Evaluation (:func:`evaluate`) uses the same reference and units as the rules' quality table
(:func:`consultations.coding.agreement.rule_quality`: the coders' consensus on the double-coded
segments), so the figures compare directly.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from consultations.core.textutils import fold

__all__ = [
    "DEFAULTS",
    "MODEL_CODER",
    "CodeModel",
    "combine",
    "cross_validate",
    "empty_model_codings",
    "with_probability",
    "evaluate",
    "learning_curve",
    "training_labels",
    "suggest",
]

#: ``coder`` of the model's codings (source ``model``).
MODEL_CODER = "modèle"
#: Documented defaults (override in the settings file's ``[coding]`` with the ``learn_`` prefix).
DEFAULTS: dict = {
    "C": 1.0,                 # inverse regularisation of each logistic regression
    "min_positives": 3,       # fewer human positives: the code is not learned
    "rule_weight": 3.0,       # scale of the rule-match columns (vs the TF-IDF columns)
    "veto": 0.05,             # below this probability a learned code drops a rule coding
    "veto_rules": False,      # apply the veto to the final codings
    "codebook_text": True,    # train on the codebook's definitions, keywords and examples
    "thresholds": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
}


# --------------------------------------------------------------------------- labels
def _seen_units(manual: pd.DataFrame, coverage: pd.DataFrame | None,
                subset: Iterable[str] | None) -> set[str]:
    """Segments a human coder read (the subset when given, else coded or AUCUN segments)."""
    if subset is not None:
        return set(subset)
    seen = set(manual["segment_id"]) if len(manual) else set()
    if coverage is not None and len(coverage):
        seen |= set(coverage["segment_id"])
    return seen


def training_labels(manual: pd.DataFrame, review: pd.DataFrame | None, codes: list[str],
                    coverage: pd.DataFrame | None = None,
                    subset: Iterable[str] | None = None) -> pd.DataFrame:
    """Return the human labels: one row per (segment, code) known, ``label`` 0/1, ``origin``.

    Args:
        manual: manual codings (files and ``.qdpx``; never rule or model codings).
        review: review codings (:func:`consultations.coding.review.decisions_to_codings`,
            columns ``decision``, ``original_code_id``, ``final``) or ``None``.
        codes: the codebook's codes.
        coverage: segments each coder read (``AUCUN`` rows), used without ``subset``.
        subset: the double-coded segments (every code known there).

    """
    rows: dict[tuple[str, str], tuple[int, str]] = {}
    seen = _seen_units(manual, coverage, subset)
    pos = set(zip(manual["segment_id"], manual["code_id"], strict=True)) if len(manual) else set()
    for seg in sorted(seen):
        for code in codes:
            rows[(seg, code)] = (int((seg, code) in pos), "manuel")
    if review is not None and len(review):
        rev = review[review["final"].astype(bool)] if "final" in review else review
        for rec in rev.itertuples(index=False):
            dec = getattr(rec, "decision", "accepter")
            orig = getattr(rec, "original_code_id", rec.code_id) or rec.code_id
            if dec == "rejeter":
                rows[(rec.segment_id, orig)] = (0, "revue")
            elif dec == "recoder":
                rows[(rec.segment_id, orig)] = (0, "revue")
                rows[(rec.segment_id, rec.code_id)] = (1, "revue")
            else:  # accepter, ajouter
                rows[(rec.segment_id, rec.code_id)] = (1, "revue")
    out = pd.DataFrame([(s, c, lab, o) for (s, c), (lab, o) in rows.items() if c in set(codes)],
                       columns=["segment_id", "code_id", "label", "origin"])
    return out.sort_values(["segment_id", "code_id"]).reset_index(drop=True)


def codebook_texts(codebook: pd.DataFrame) -> pd.DataFrame:
    """Extra training texts from the codebook: one row per (code, text), ``lemmas`` folded."""
    rows = []
    for rec in codebook.itertuples(index=False):
        parts = [str(getattr(rec, "definition", "") or ""), str(getattr(rec, "include", "") or "")]
        parts += [e for e in str(getattr(rec, "examples", "") or "").split("\n") if e.strip()]
        kw = str(getattr(rec, "keywords", "") or "").replace(";", " ")
        for i, t in enumerate(p for p in parts if p.strip()):
            rows.append({"segment_id": f"_grille:{rec.code_id}:{i}", "code_id": rec.code_id,
                         "text": t, "lemmas": fold(t)})
        if kw.strip():
            rows.append({"segment_id": f"_grille:{rec.code_id}:kw", "code_id": rec.code_id,
                         "text": kw, "lemmas": kw})
    return pd.DataFrame(rows, columns=["segment_id", "code_id", "text", "lemmas"])


# --------------------------------------------------------------------------- features
def _rule_sets(rule: pd.DataFrame) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s, c in zip(rule["segment_id"], rule["code_id"], strict=True):
        out.setdefault(s, set()).add(c)
    return out


class Features:
    """Feature matrix of segments (never the speaker's group, pseudonym or workshop).

    Columns: TF-IDF of the segment's lemma uni- and bigrams; TF-IDF of character 2–5-grams of
    its folded text; TF-IDF of the lemmas of its whole turn (context); the rule matches of the
    segment, of its turn and of its neighbouring segments (one column per code each, scaled
    by ``rule_weight``). The vectorisers are fitted on the corpus's texts (no labels) and the
    codebook's texts.
    """

    def __init__(self, codes: list[str], rule_weight: float = 3.0):
        self.codes = codes
        self.rule_weight = rule_weight

    def fit(self, segments: pd.DataFrame, extra: pd.DataFrame | None = None,
            rule: pd.DataFrame | None = None) -> Features:
        """Fit the vectorisers; with ``rule``, compute every segment's row once (see rows)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        docs = segments[["text", "lemmas"]]
        if extra is not None and len(extra):
            docs = pd.concat([docs, extra[["text", "lemmas"]]], ignore_index=True)
        self.word_ = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                                     token_pattern=r"(?u)\b\w\w+\b").fit(
            docs["lemmas"].astype(str))
        self.char_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                     sublinear_tf=True, max_features=8000).fit(
            docs["text"].astype(str).map(fold))
        self.cache_ = {}
        if rule is not None:
            X = self.transform(segments, rule, segments)
            self.cache_ = {s: i for i, s in enumerate(segments["segment_id"])}
            self.matrix_ = X
            if extra is not None and len(extra):
                from scipy import sparse

                Xe = self.transform(extra, rule.iloc[:0])
                self.cache_.update({s: X.shape[0] + i for i, s in
                                    enumerate(extra["segment_id"])})
                self.matrix_ = sparse.vstack([X, Xe]).tocsr()
        return self

    def rows(self, ids) -> object | None:
        """Return the cached rows of ``ids`` (None when one is not cached)."""
        idx = [self.cache_.get(s) for s in ids]
        if not idx or any(i is None for i in idx):
            return None
        return self.matrix_[idx]

    def _codes(self, groups: list[set[str]]):
        from scipy import sparse

        ci = {c: j for j, c in enumerate(self.codes)}
        r, c = [], []
        for i, got in enumerate(groups):
            for code in got:
                if code in ci:
                    r.append(i)
                    c.append(ci[code])
        return sparse.csr_matrix((np.full(len(r), self.rule_weight), (r, c)),
                                 shape=(len(groups), len(self.codes)))

    def transform(self, docs: pd.DataFrame, rule: pd.DataFrame,
                  context: pd.DataFrame | None = None):
        """Features of ``docs`` (segments or codebook texts); ``context``: all segments."""
        from scipy import sparse

        rules = _rule_sets(rule)
        ids = list(docs["segment_id"])
        own = [rules.get(s, set()) for s in ids]
        turn_lemmas = [""] * len(ids)
        turn_codes: list[set[str]] = [set() for _ in ids]
        near: list[set[str]] = [set() for _ in ids]
        if context is not None and "turn_id" in docs:
            ctx = context.sort_values(["turn_id", "seg_n"])
            lem = ctx.groupby("turn_id", sort=False)["lemmas"].agg(
                lambda x: " ".join(map(str, x)))
            members = ctx.groupby("turn_id", sort=False)["segment_id"].agg(list)
            pos = {s: (t, k) for t, segs in members.items() for k, s in enumerate(segs)}
            for i, s in enumerate(ids):
                if s not in pos:
                    continue
                t, k = pos[s]
                segs = members[t]
                turn_lemmas[i] = lem[t]
                turn_codes[i] = set().union(*(rules.get(x, set()) for x in segs))
                near[i] = set().union(*(rules.get(x, set()) for x in segs[max(k - 1, 0):k + 2]
                                        if x != s))
        return sparse.hstack([
            self.word_.transform(docs["lemmas"].astype(str)),
            self.char_.transform(docs["text"].astype(str).map(fold)),
            self.word_.transform(turn_lemmas),
            self._codes(own), self._codes(turn_codes), self._codes(near)]).tocsr()


# --------------------------------------------------------------------------- model
class CodeModel:
    """One logistic regression per code (one-vs-rest), with Platt-calibrated probabilities.

    Args:
        codebook: the codebook table (codes, texts, parents).
        C, min_positives, rule_weight, codebook_text: see :data:`DEFAULTS`.

    """

    def __init__(self, codebook: pd.DataFrame, C: float = DEFAULTS["C"],
                 min_positives: int = DEFAULTS["min_positives"],
                 rule_weight: float = DEFAULTS["rule_weight"],
                 codebook_text: bool = DEFAULTS["codebook_text"]):
        self.codebook = codebook
        self.codes = list(codebook["code_id"])
        self.C = C
        self.min_positives = min_positives
        self.rule_weight = rule_weight
        self.codebook_text = codebook_text
        self.calibration_: dict[str, tuple[float, float]] = {}

    def _branch(self) -> dict[str, set[str]]:
        """Code → codes of its branch (itself, ancestors and descendants)."""
        parent = dict(zip(self.codebook["code_id"], self.codebook["parent"].fillna(""),
                          strict=True))
        up = {}
        for c in self.codes:
            chain, p = {c}, parent.get(c, "")
            while p and p not in chain:
                chain.add(p)
                p = parent.get(p, "")
            up[c] = chain
        return {c: {d for d in self.codes if c in up[d] or d in up[c]} for c in self.codes}

    def fit(self, segments: pd.DataFrame, labels: pd.DataFrame, rule: pd.DataFrame,
            features: Features | None = None) -> CodeModel:
        """Fit on ``labels`` (:func:`training_labels`) of ``segments``.

        ``segments`` must hold every labelled segment and the turns around them (context).
        """
        from sklearn.linear_model import LogisticRegression

        labels = labels[labels["segment_id"].isin(set(segments["segment_id"]))]
        extra = codebook_texts(self.codebook) if self.codebook_text else codebook_texts(
            self.codebook.iloc[:0])
        self.features_ = features or Features(self.codes, self.rule_weight).fit(segments, extra)
        ids = sorted(set(labels["segment_id"]))
        docs = segments.set_index("segment_id").loc[ids].reset_index()
        from scipy import sparse

        X = self.features_.rows(list(docs["segment_id"]) + list(extra["segment_id"]))
        if X is None:
            X = sparse.vstack([self.features_.transform(docs, rule, segments),
                               self.features_.transform(extra, rule.iloc[:0])]).tocsr()
        row = {s: i for i, s in enumerate(ids)}
        row.update({s: len(ids) + i for i, s in enumerate(extra["segment_id"])})
        branch = self._branch()
        self.models_, self.n_positives_ = {}, {}
        for code in self.codes:
            lab = labels[labels["code_id"] == code]
            idx = [row[s] for s in lab["segment_id"]]
            y = lab["label"].to_numpy().astype(int).tolist()
            self.n_positives_[code] = int(sum(y))
            if sum(y) < self.min_positives or len(y) - sum(y) < self.min_positives:
                continue
            for rec in extra.itertuples(index=False):
                if rec.code_id == code:
                    idx.append(row[rec.segment_id])
                    y.append(1)
                elif rec.code_id not in branch[code]:
                    idx.append(row[rec.segment_id])
                    y.append(0)
            self.models_[code] = LogisticRegression(
                C=self.C, solver="liblinear", dual=True, random_state=0,
                max_iter=1000).fit(X[idx], np.asarray(y))
        return self

    def decision(self, segments: pd.DataFrame, rule: pd.DataFrame,
                 context: pd.DataFrame | None = None) -> pd.DataFrame:
        """Raw scores (log-odds): one row per segment, one column per learned code."""
        index = pd.Index(segments["segment_id"], name="segment_id")
        if not self.models_ or segments.empty:
            return pd.DataFrame(index=index, columns=list(self.models_), dtype=float)
        X = self.features_.rows(list(segments["segment_id"]))
        if X is None:
            X = self.features_.transform(segments, rule,
                                         segments if context is None else context)
        return pd.DataFrame({c: m.decision_function(X) for c, m in self.models_.items()},
                            index=index)

    def predict_proba(self, segments: pd.DataFrame, rule: pd.DataFrame,
                      context: pd.DataFrame | None = None) -> pd.DataFrame:
        """Probabilities (Platt-calibrated where :meth:`calibrate` could fit the code)."""
        scores = self.decision(segments, rule, context)
        out = {}
        for c in scores.columns:
            a, b = self.calibration_.get(c, (1.0, 0.0))
            out[c] = 1.0 / (1.0 + np.exp(-(a * scores[c].to_numpy(dtype=float) + b)))
        return pd.DataFrame(out, index=scores.index)

    def calibrate(self, oof: pd.DataFrame, labels: pd.DataFrame) -> CodeModel:
        """Platt scaling per code on out-of-fold scores (column ``score``).

        A code keeps its raw logistic probability when its out-of-fold scores have fewer
        than 2 positives or 2 negatives.
        """
        from sklearn.linear_model import LogisticRegression

        lab = labels.merge(oof, on=["segment_id", "code_id"], how="inner").dropna()
        self.calibration_ = {}
        for code, g in lab.groupby("code_id"):
            y = g["label"].to_numpy().astype(int)
            if code not in self.models_ or y.sum() < 2 or len(y) - y.sum() < 2:
                continue
            m = LogisticRegression(C=1.0).fit(g[["score"]].to_numpy(), y)
            self.calibration_[code] = (float(m.coef_[0, 0]), float(m.intercept_[0]))
        return self


# --------------------------------------------------------------------------- thresholds
def _f1(y, p) -> float:
    tp = int((y & p).sum())
    n = int(y.sum()) + int(p.sum())
    return 2 * tp / n if n else float("nan")


def _workshop(seg_ids, segments: pd.DataFrame) -> pd.Series:
    ws = dict(zip(segments["segment_id"], segments["workshop_id"].astype(str), strict=True))
    return pd.Series([ws.get(s, "") for s in seg_ids], index=list(seg_ids))


def _model(codebook, params) -> CodeModel:
    return CodeModel(codebook, C=float(params["C"]), min_positives=int(params["min_positives"]),
                     rule_weight=float(params["rule_weight"]),
                     codebook_text=bool(params["codebook_text"]))


def out_of_fold(segments: pd.DataFrame, labels: pd.DataFrame, rule: pd.DataFrame,
                codebook: pd.DataFrame, params: dict | None = None,
                features: Features | None = None) -> pd.DataFrame:
    """Leave-one-workshop-out scores of the labelled segments (segment, code, score)."""
    params = {**DEFAULTS, **(params or {})}
    ws = _workshop(labels["segment_id"], segments)
    parts = []
    workshops = sorted(set(ws))
    for w in workshops if len(workshops) >= 2 else []:
        test_ids = set(ws.index[ws == w])
        train = labels[~labels["segment_id"].isin(test_ids)]
        model = _model(codebook, params).fit(segments, train, rule, features)
        test_seg = segments[segments["segment_id"].isin(test_ids)]
        sc = model.decision(test_seg, rule, segments)
        parts.append(sc.reset_index().melt(id_vars="segment_id", var_name="code_id",
                                           value_name="score"))
    if not parts:
        return pd.DataFrame(columns=["segment_id", "code_id", "score"])
    return pd.concat(parts, ignore_index=True)


def choose_thresholds(oof: pd.DataFrame, labels: pd.DataFrame, rule: pd.DataFrame,
                      grid=DEFAULTS["thresholds"]) -> dict[str, float]:
    """Per code, the threshold maximising out-of-fold F1 of « rules ∪ model ≥ threshold ».

    ``oof`` has a ``probability`` column. The grid includes ``inf`` (model off: the rules
    alone), chosen when no threshold does better than the rules; ties go to the rules, then
    to the threshold closest to 0.5. Codes without out-of-fold positives: model off.
    """
    lab = labels.merge(oof, on=["segment_id", "code_id"], how="inner")
    rules = set(zip(rule["segment_id"], rule["code_id"], strict=True))
    lab["rule"] = [(s, c) in rules for s, c in zip(lab["segment_id"], lab["code_id"],
                                                   strict=True)]
    out = {}
    for code, g in lab.groupby("code_id"):
        y = g["label"].to_numpy().astype(bool)
        r = g["rule"].to_numpy().astype(bool)
        prob = g["probability"].to_numpy(dtype=float)
        best, best_t = _f1(y, r), float("inf")
        best = -1.0 if np.isnan(best) else best
        if y.sum() == 0 or np.isnan(prob).all():
            out[code] = best_t
            continue
        for t in sorted(grid, key=lambda v: abs(v - 0.5)):
            f = _f1(y, r | (prob >= t))
            if f > best + 1e-9:
                best, best_t = f, float(t)
        out[code] = best_t
    return out


# --------------------------------------------------------------------------- combine
def _long(proba: pd.DataFrame) -> pd.DataFrame:
    if proba.empty or not len(proba.columns):
        return pd.DataFrame(columns=["segment_id", "code_id", "probability"])
    return (proba.reset_index().melt(id_vars="segment_id", var_name="code_id",
                                     value_name="probability").dropna())


def model_codings(proba: pd.DataFrame, thresholds: dict[str, float], version: str = ""
                  ) -> pd.DataFrame:
    """Return the model's own codings: probability ≥ the code's threshold (source ``model``)."""
    from consultations.coding.codings import finish_codings

    long = _long(proba)
    thr = long["code_id"].map(lambda c: thresholds.get(c, float("inf"))).astype(float)
    picked = long[long["probability"].astype(float) >= thr]
    df = pd.DataFrame({
        "segment_id": picked["segment_id"], "code_id": picked["code_id"], "source": "model",
        "coder": MODEL_CODER, "codebook_version": version,
        "evidence": [f"modèle (p = {p:.2f})" for p in picked["probability"]],
        "matched_text": "", "negated": False, "note": "", "origin_file": "",
        "origin_line": pd.NA, "probability": picked["probability"]})
    out = finish_codings(df, ["probability"])
    out["probability"] = pd.to_numeric(out["probability"].astype(object).where(
        out["probability"].astype(str) != "", np.nan), errors="coerce")
    return out


def combine(rule: pd.DataFrame, proba: pd.DataFrame, thresholds: dict[str, float],
            veto: float = DEFAULTS["veto"], veto_rules: bool = DEFAULTS["veto_rules"],
            version: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the combination rule (module docstring): rules ∪ model ≥ threshold.

    Returns:
        ``(automatic, model)``: the automatic codings (rule codings with the model's
        probability where it learned the code, plus model codings where the rules did not
        code; column ``probability``), and every model coding (source ``model``).

    """
    from consultations.coding.codings import finish_codings

    long = _long(proba)
    p_of = dict(zip(zip(long["segment_id"], long["code_id"], strict=True), long["probability"],
                    strict=True))
    rule = rule.assign(probability=[p_of.get((s, c), np.nan) for s, c in
                                    zip(rule["segment_id"], rule["code_id"], strict=True)])
    if veto_rules:
        rule = rule[~(rule["probability"].astype(float) < veto)]
    rules = set(zip(rule["segment_id"], rule["code_id"], strict=True))
    model = model_codings(proba, thresholds, version)
    added = model[[(s, c) not in rules for s, c in zip(model["segment_id"], model["code_id"],
                                                       strict=True)]]
    auto = finish_codings(pd.concat([rule, added], ignore_index=True), ["probability"])
    auto["probability"] = pd.to_numeric(auto["probability"].astype(object).where(
        auto["probability"].astype(str) != "", np.nan), errors="coerce")
    return auto, model


def suggest(segments: pd.DataFrame, rule: pd.DataFrame, labels: pd.DataFrame,
            codebook: pd.DataFrame, params: dict | None = None, version: str = "") -> dict:
    """Train on ``labels``, calibrate and choose thresholds by LOWO on them, code ``segments``.

    Returns:
        ``{"automatic", "model", "probabilities", "thresholds", "n_positives", "n_labels"}``;
        with too few labels the model learns nothing and ``automatic`` holds the rule codings.

    """
    params = {**DEFAULTS, **(params or {})}
    extra = codebook_texts(codebook) if params["codebook_text"] else None
    feats = Features(list(codebook["code_id"]), float(params["rule_weight"])).fit(
        segments, extra, rule)
    model = _model(codebook, params).fit(segments, labels, rule, feats)
    thresholds: dict[str, float] = {}
    if model.models_:
        oof = out_of_fold(segments, labels, rule, codebook, params, feats)
        model.calibrate(oof, labels)
        if len(oof):
            probs = []
            for code, g in oof.groupby("code_id"):
                a, b = model.calibration_.get(code, (1.0, 0.0))
                probs.append(g.assign(probability=1 / (1 + np.exp(-(a * g["score"] + b)))))
            oof = pd.concat(probs, ignore_index=True)
            thresholds = choose_thresholds(oof, labels, rule, params["thresholds"])
        thresholds = {c: thresholds.get(c, float("inf")) for c in model.models_}
    proba = model.predict_proba(segments, rule, segments)
    auto, mod = combine(rule, proba, thresholds, float(params["veto"]),
                        bool(params["veto_rules"]), version)
    return {"automatic": auto, "model": mod, "probabilities": proba, "thresholds": thresholds,
            "n_positives": model.n_positives_, "n_labels": int(len(labels))}


# --------------------------------------------------------------------------- evaluation
def evaluate(segments: pd.DataFrame, rule: pd.DataFrame, manual: pd.DataFrame,
             codebook: pd.DataFrame, units: list[str], train_ws: list[str],
             test_ws: list[str], params: dict | None = None, seed: int = 42,
             max_labels: int | None = None) -> pd.DataFrame:
    """Rules vs learned vs combined on ``test_ws``, trained on ``train_ws`` human codes only.

    Scored like :func:`consultations.coding.agreement.rule_quality` (consensus reference on
    ``units``). The model sees every segment's text (unlabelled) but the human codes of
    ``train_ws`` only. ``max_labels`` keeps a random sample of N labelled training segments
    (learning curve; ``seed`` fixes it).

    Returns:
        Rows of :data:`consultations.coding.agreement.QUALITY_COLUMNS` with a ``method``
        column (``règles``, ``modèle``, ``combiné``), split ``test``.

    """
    from consultations.coding.agreement import rule_quality

    params = {**DEFAULTS, **(params or {})}
    ws = _workshop(units, segments)
    train_units = [u for u in units if ws[u] in set(train_ws)]
    if max_labels is not None:
        rng = np.random.default_rng(seed)
        train_units = sorted(rng.permutation(train_units)[:max_labels].tolist())
    labels = training_labels(manual[manual["segment_id"].isin(train_units)], None,
                             list(codebook["code_id"]), subset=train_units)
    res = suggest(segments, rule, labels, codebook, params)
    test_units = [u for u in units if ws[u] in set(test_ws)]
    learned = model_codings(res["probabilities"],
                            {c: (0.5 if np.isinf(t) else t) for c, t in
                             res["thresholds"].items()})
    parts = []
    for name, pred in (("règles", rule), ("modèle", learned), ("combiné", res["automatic"])):
        q = rule_quality(pred, manual, segments, codebook, test_units, {"test": list(test_ws)})
        parts.append(q[q["split"] == "test"].assign(method=name))
    return pd.concat(parts, ignore_index=True)


def cross_validate(segments, rule, manual, codebook, units, params=None) -> pd.DataFrame:
    """Leave-one-workshop-out: each workshop scored with a model trained on the others."""
    ws = sorted(set(_workshop(units, segments)))
    parts = [evaluate(segments, rule, manual, codebook, units, [x for x in ws if x != w], [w],
                      params).assign(workshop=w) for w in ws]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def learning_curve(segments, rule, manual, codebook, units, train_ws, test_ws,
                   sizes=(10, 25, 50, 75, None), params=None, seed=42) -> pd.DataFrame:
    """Macro and micro F1 on ``test_ws`` against the number of human decisions used.

    A human decision is one (segment, code) label of a double-coded segment: a segment read
    by the coders gives one decision per code; ``n_segments`` says how many segments.
    """
    rows = []
    ws = _workshop(units, segments)
    n_all = sum(1 for u in units if ws[u] in set(train_ws))
    for n in sizes:
        ev = evaluate(segments, rule, manual, codebook, units, train_ws, test_ws, params, seed,
                      max_labels=n)
        n_seg = min(n, n_all) if n is not None else n_all
        for method, g in ev[ev["reference"] == "consensus"].groupby("method", sort=False):
            rows.append({"n_segments": n_seg, "n_decisions": n_seg * len(codebook),
                         "method": method,
                         "macro_f1": float(g.loc[g["code_id"] == "_macro", "f1"].iloc[0]),
                         "micro_f1": float(g.loc[g["code_id"] == "_micro", "f1"].iloc[0])})
    return pd.DataFrame(rows)


def empty_model_codings() -> pd.DataFrame:
    """Return an empty table of model codings (contract columns + ``probability``)."""
    from consultations.coding.codings import empty_codings

    return empty_codings(["probability"]).astype({"probability": float})


def with_probability(final: pd.DataFrame, automatic: pd.DataFrame) -> pd.DataFrame:
    """Add the ``probability`` column of the automatic codings to a final codings table.

    Manual and review codings get no probability (``NaN``); a rule coding keeps the model's
    probability for its code where the model learned it.
    """
    key = ["segment_id", "code_id", "source"]
    if "probability" not in automatic:
        return final.assign(probability=np.nan)
    prob = automatic[key + ["probability"]].drop_duplicates(key)
    out = final.drop(columns=["probability"], errors="ignore").merge(prob, on=key, how="left")
    out["probability"] = pd.to_numeric(out["probability"], errors="coerce").astype(float)
    return out
