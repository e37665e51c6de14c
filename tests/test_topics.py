"""Tests of the topics stage (consultations.topics.model, consultations.topics.embeddings)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from consultations.core.config import Paths, Settings
from consultations.core.errors import InputError, InputWarning
from consultations.core.schema import TABLES
from consultations.topics import evaluate as topic_eval
from consultations.topics import model as topics
from consultations.topics import slots as topic_slots
from consultations.topics import stage as topics_stage
from consultations.topics import tables as topic_tables

THEMES = {
    "POL": "police confiance population patrouille commissariat agent proximité plainte",
    "JUS": "justice tribunal juge procès détention avocat jugement corruption",
    "FIN": "budget financement carburant véhicule moyen logistique dotation équipement",
}
GROUPS = [("FDS", "Forces de défense et de sécurité"),
          ("OSC", "Organisations de la société civile"),
          ("DEC", "Acteurs de la décentralisation")]


def make_segments(n_per_theme: int = 30, seed: int = 0) -> pd.DataFrame:
    """Hand-made segments: three themes with their own words, three groups, one facilitator."""
    rng = np.random.default_rng(seed)
    rows = []
    for ti, (code, vocab) in enumerate(THEMES.items()):
        words = vocab.split()
        for i in range(n_per_theme):
            lem = " ".join(rng.choice(words, size=6)) + " le de et"
            g, gname = GROUPS[(i + ti) % 3] if i % 10 else GROUPS[ti]
            rows.append({"segment_id": f"W1-T{ti * 100 + i:03d}-S01", "speaker": f"{g}-0{i % 3}",
                         "stakeholder_group": gname, "group_code": g, "is_facilitator": False,
                         "text": lem.capitalize() + ".", "lemmas": lem, "theme": code})
    rows.append({"segment_id": "W1-T999-S01", "speaker": "FAC-01",
                 "stakeholder_group": "Facilitation", "group_code": "FAC",
                 "is_facilitator": True, "text": "Merci, police justice budget.",
                 "lemmas": "merci police justice budget", "theme": "FAC"})
    df = pd.DataFrame(rows)
    df["n_words"] = df["lemmas"].str.split().str.len()
    df["turn_id"] = df["segment_id"].str[:-4]
    df["workshop_id"], df["seg_n"], df["source_file"] = "W1", 1, "w1.txt"
    df["line_start"] = df["line_end"] = range(1, len(df) + 1)
    df["char_start"], df["char_end"] = 0, df["text"].str.len()
    return df


@pytest.fixture(scope="module")
def segments() -> pd.DataFrame:
    return make_segments()


@pytest.fixture(scope="module")
def fitted(segments):
    return topics.TopicModel(n_topics=3, random_state=1).fit(segments)


def codebook() -> pd.DataFrame:
    return pd.DataFrame({
        "code_id": ["POL", "JUS", "FIN"], "label": ["Police", "Justice", "Moyens"],
        "definition": ["La police et la population", "La justice et les juges",
                       "Les moyens matériels"],
        "keywords": ["police; confiance; patrouille", "justice; tribunal; juge",
                     "budget; carburant; véhicule"],
        "parent": None, "axis": "A"})


def codings(segments: pd.DataFrame) -> pd.DataFrame:
    seg = segments[~segments["is_facilitator"]]
    return pd.DataFrame({"segment_id": seg["segment_id"], "code_id": seg["theme"],
                         "source": "manual", "coder": "A"})


def test_topics_contract_tables_and_facilitators_out(fitted, segments):
    assert fitted.fit(segments) is fitted
    for name, df in (("topic_info", fitted.topic_info_),
                     ("topic_assignments", fitted.assignments_)):
        assert list(df.columns[:len(TABLES[name])]) == TABLES[name]
    assert "W1-T999-S01" not in set(fitted.assignments_["segment_id"])
    assert len(fitted.assignments_) == (~segments["is_facilitator"]).sum()
    assert fitted.summary_["n_topics"] == 3 and fitted.model_ is not None
    assert all(" · " in lab for lab in fitted.topic_info_["label"])
    assert fitted.assignments_["probability"].between(0, 1).all()


def test_topics_recover_planted_themes(fitted, segments):
    from sklearn.metrics import normalized_mutual_info_score

    truth = segments.set_index("segment_id").loc[fitted.assignments_["segment_id"], "theme"]
    assert normalized_mutual_info_score(truth, fitted.assignments_["topic"]) > 0.8


def test_topics_deterministic_two_fits(segments):
    a = topics.TopicModel(random_state=7).fit(segments)
    b = topics.TopicModel(random_state=7).fit(segments)
    pd.testing.assert_frame_equal(a.assignments_, b.assignments_)
    pd.testing.assert_frame_equal(a.topic_info_, b.topic_info_)


def test_topics_input_not_mutated(segments):
    before = segments.copy()
    topics.TopicModel(n_topics=3).fit(segments)
    pd.testing.assert_frame_equal(segments, before)


def test_topics_crosswalk_counts_and_new_theme():
    asg = pd.DataFrame({"segment_id": ["a", "b", "c", "d", "e", "f"],
                        "topic": [0, 0, 0, 1, 1, 2], "topic_label": "x", "probability": 1.0})
    info = pd.DataFrame({"topic": [0, 1, 2], "label": ["t0", "t1", "t2"],
                         "terms": ["p; q", "r", "s"],
                         "representative_segments": ["a; b", "d", "f"]})
    cod = pd.DataFrame({"segment_id": ["a", "b", "d", "e", "c"],
                        "code_id": ["X", "X", "Y", "Y", "Y"],
                        "source": ["manual"] * 4 + ["topic"]})
    seg = pd.DataFrame({"segment_id": list("abcdef"), "text": list("ABCDEF")})
    cw = topic_tables.crosswalk(asg, info, cod, seg, threshold=0.5)
    assert list(cw.columns[:len(TABLES["topic_crosswalk"])]) == TABLES["topic_crosswalk"]
    r0 = cw[(cw["topic"] == 0) & (cw["code_id"] == "X")].iloc[0]
    assert r0["shared"] == 2 and r0["jaccard"] == pytest.approx(2 / 3, abs=1e-3)
    assert r0["lift"] == pytest.approx(2 * 6 / (3 * 2), abs=1e-3)  # "topic" codings are left out
    assert r0["best_code"] == "X" and not r0["is_new_theme"]
    t2 = cw[cw["topic"] == 2].iloc[0]
    assert t2["best_code"] == topic_tables.NEW_THEME and t2["is_new_theme"] and t2["shared"] == 0
    assert "a : A" in r0["representative_segments"]


def test_topics_per_group_normalised(fitted, segments):
    tpg = topic_tables.topics_per_group(fitted)
    assert list(tpg.columns[:len(TABLES["topics_per_group"])]) == TABLES["topics_per_group"]
    assert "FAC" not in set(tpg["group_code"])
    sums = tpg.groupby("group_code")["share_of_group"].sum()
    assert np.allclose(sums, 1.0)
    sizes = segments[~segments["is_facilitator"]].groupby("group_code").size()
    assert (tpg.groupby("group_code")["group_segments"].first() == sizes).all()
    assert len(tpg) == 3 * 3  # every topic × group pair, zeros included


def test_topics_run_stage_without_codebook(segments):
    out = topics_stage.run_stage({"segments": segments}, None, Settings(seed=3, n_topics=3))
    assert out["topic_crosswalk"]["best_code"].eq(topic_tables.NEW_THEME).all()
    assert out["code_terms"].empty and list(out["code_terms"].columns)[0] == "code_id"
    assert out["_summary"]["guided"] is False and out["_summary"]["n_topics"] == 3
    assert "embedding" in out["_summary"]["seconds"]


def test_topics_run_stage_guided_with_cache(segments, tmp_path):
    paths = Paths(data=tmp_path, reports=tmp_path / "r", interim=tmp_path / "i",
                  private=tmp_path / "p")
    tables = {"segments": segments, "codebook": codebook(), "codings": codings(segments)}
    out = topics_stage.run_stage(tables, paths, Settings(seed=3, n_topics=3))
    assert out["_summary"]["seeded"] and out["_summary"]["cache_hits"] == 0
    best = out["topic_crosswalk"].drop_duplicates("topic").set_index("topic")["best_code"]
    assert sorted(best) == ["FIN", "JUS", "POL"]
    zs = out["topic_info"].set_index("topic")["zero_shot_code"]
    assert (zs == best).all()
    terms = out["code_terms"].set_index("code_id")["terms"]
    assert "police" in terms["POL"] and "tribunal" in terms["JUS"]
    again = topics_stage.run_stage(tables, paths, Settings(seed=3, n_topics=3))
    assert again["_summary"]["cache_hits"] == 1
    pd.testing.assert_frame_equal(out["topic_assignments"], again["topic_assignments"])


def test_topics_too_few_segments_single_topic(segments):
    few = segments.head(4)
    with pytest.warns(InputWarning, match="un seul thème"):
        m = topics.TopicModel().fit(few)
    assert m.assignments_["topic"].eq(0).all() and len(m.topic_info_) == 1
    assert m.summary_["fallback"].startswith("un seul thème")


def test_topics_identical_segments_single_topic(segments):
    same = segments.assign(lemmas="police confiance population", text="Police.")
    with pytest.warns(InputWarning):
        m = topics.TopicModel().fit(same)
    assert m.topic_info_["label"].iloc[0] == "confiance · police · population"


def test_topics_too_many_topics_clamped(segments):
    small = segments.head(12)
    with pytest.warns(InputWarning, match="11 thèmes retenus"):
        m = topics.TopicModel(n_topics=50).fit(small)
    assert m.summary_["params"]["k"] == 11


def test_topics_group_without_segments_warns(segments):
    seg = segments.copy()
    seg.loc[seg["group_code"] == "DEC", "lemmas"] = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = topics_stage.run_stage({"segments": seg}, None, Settings(n_topics=3))
    assert any("DEC" in str(w.message) for w in caught)
    assert "DEC" not in set(out["topics_per_group"]["group_code"])


@pytest.mark.parametrize("kind", ["missing", "junk"])
def test_topics_embedding_folder_errors(segments, tmp_path, kind):
    folder = tmp_path / "model"
    if kind == "junk":
        folder.mkdir()
        (folder / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="modèle de plongement"):
        topics.TopicModel(embedding=f"st:{folder}").fit(segments)


def test_topics_unknown_slot_names(segments):
    with pytest.raises(ValueError, match="partitionnement inconnu"):
        topics.TopicModel(clustering="dbscan").fit(segments)
    with pytest.raises(ValueError, match="plongement inconnu"):
        topics.TopicModel(embedding="word2vec").fit(segments)


def test_topics_hdbscan_pca_slot(segments):
    m = topics.TopicModel(reduction="pca", clustering="hdbscan", min_topic_size=5).fit(segments)
    assert m.assignments_["topic"].ge(0).all()  # outliers reduced or k-means fallback
    assert m.summary_["outlier_strategy"] == "embeddings" or m.summary_["fallback"]


def test_topics_evaluation_helpers():
    assert topic_eval.topic_diversity([["a", "b"], ["a", "c"]]) == 0.75
    docs = ["a b", "a b", "c d", "c d"]
    assert topic_eval.npmi_coherence([["a", "b"]], docs) == pytest.approx(1.0)
    assert topic_eval.npmi_coherence([["a", "c"]], docs) == -1.0
    labels, terms = topic_eval.baseline_topics(["police agent"] * 5 + ["juge tribunal"] * 5,
                                           "tfidf-kmeans", 2)
    assert len(set(labels)) == 2 and len(terms) == 2


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sif", "concat"])
def test_topics_spacy_vector_embeddings(segments, name):
    m = topics.TopicModel(embedding=name, n_topics=3).fit(segments)
    assert m.summary_["embedding"] == name and m.summary_["n_topics"] == 3


@pytest.mark.slow
def test_topics_default_beats_baselines_on_grand_debat(shared_datasets):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "bench_topics", Path(__file__).resolve().parents[1] / "benchmarks" / "topics.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    frames = bench.load_grand_debat(shared_datasets / "grand-debat-local-decidim-mel")
    table = bench.quality_table({"commentaires": frames["commentaires"]}, seeds=range(3),
                                with_sqrt=False)
    nmi = table.set_index("method")["nmi"]
    assert nmi["TopicModel k auto (stabilité)"] > nmi["lda"]
    assert nmi["TopicModel k auto (stabilité)"] > nmi["tfidf-kmeans"]


def test_topics_places_out_and_short_segments_assigned(segments):
    seg = segments.copy()
    seg["lemmas"] = seg["lemmas"] + " mopti"
    short = seg.head(3).assign(segment_id=lambda d: d["segment_id"].str[:-1] + "2",
                               lemmas="oui le de", text="Oui.")
    m = topics.TopicModel(n_topics=3, random_state=1).fit(pd.concat([seg, short]))
    assert not any("mopti" in t for t in m.topic_info_["terms"])
    assert m.summary_["short_segments"]["n_assigned_after"] == 3
    got = m.assignments_.set_index("segment_id")["topic"]
    for sid in short["segment_id"]:  # no content lemma: the topic of its turn
        assert got[sid] == got[sid[:-1] + "1"]


def test_topics_spherical_kmeans_cosine_assignment():
    x = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.05, 0.02]])
    km = topic_slots.SphericalKMeans(n_clusters=2, random_state=0).fit(x)
    assert km.labels_[4] == km.labels_[0] != km.labels_[2]
    np.testing.assert_allclose(np.linalg.norm(km.cluster_centers_, axis=1), 1.0)


def test_topics_missing_bertopic_says_what_to_install(segments, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "bertopic", None)
    with pytest.raises(ImportError, match="bootstrap.py setup"):
        topics.TopicModel(random_state=0).fit(segments)


# --- number of topics chosen by stability (issue 10, item 7) ---------------------------------
def _blobs(n_clusters: int = 4, per: int = 25, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.eye(8)[:n_clusters]
    return np.vstack([c + noise * rng.standard_normal((per, 8)) for c in centres])


def test_choose_k_picks_the_stable_number_of_clusters():
    # splitting a cluster is arbitrary (it changes with the seed); four clusters are not
    k, rows = topic_slots.choose_k(_blobs(4), [8, 4, 5, 6], random_state=0)
    assert k == 4
    table = pd.DataFrame(rows)
    assert list(table.columns) == TABLES["topic_selection"]
    assert table.loc[table["k"] == 4, "stability"].iloc[0] == pytest.approx(1.0)
    assert table["chosen"].sum() == 1 and table.loc[table["chosen"], "k"].iloc[0] == 4
    assert (table.loc[table["k"] != 4, "stability"] < 0.99).all()


def test_choose_k_tie_goes_to_fewer_topics():
    x = np.repeat(np.eye(4), 10, axis=0)  # four points repeated: k=4 and k=5 agree perfectly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k, rows = topic_slots.choose_k(x, [5, 4], random_state=0)
    assert k == 4 and [r["k"] for r in rows] == [4, 5]
    assert rows[0]["stability"] == rows[1]["stability"] == 1.0


def test_candidate_ks_bounded_by_topic_size():
    assert topic_slots.candidate_ks(90) == [3, 4, 5, 6, 8]
    assert topic_slots.candidate_ks(100_000)[-1] == topic_slots.K_MAX
    assert topic_slots.candidate_ks(15) == [2]


def test_topics_auto_k_recorded_and_overridden(segments):
    auto = topics.TopicModel(random_state=0).fit(segments)
    sel = auto.selection_
    assert list(sel.columns) == TABLES["topic_selection"]
    assert auto.summary_["n_topics"] == 3 == int(sel.loc[sel["chosen"], "k"].iloc[0])
    assert auto.summary_["k_selection"]["candidates"] == sel["k"].tolist()
    fixed = topics.TopicModel(n_topics=4, random_state=0).fit(segments)
    assert fixed.selection_.empty and fixed.summary_["n_topics"] == 4
    out = topics_stage.run_stage({"segments": segments}, None, Settings(seed=0))
    assert out["topic_selection"]["chosen"].sum() == 1
    assert out["_summary"]["k_selection"]["chosen_k"] == 3


# --- lemma artefacts and written forms ----------------------------------------------------
FORM_ROWS = [
    ("Les violences basées sur le genre, il faut en parler avec lui.",
     "le violence baser sur le genre il falloir en parler avec luire"),
    ("Ces violences basées sur le genre persistent.",
     "ce violence baser sur le genre persister"),
    ("La garde à vue dépasse les délais, cela dure.",
     "le garde à vue dépasser le délai celer durer"),
    ("Il lui demande un avocat pendant la garde à vue.",
     "il luire demander un avocat pendre le garde à vue"),
    ("On lui a dit que les services déconcentrés manquent de moyens.",
     "on luire avoir dire que le service déconcentrer manquer de moyen"),
]


def form_segments(repeat: int = 4) -> pd.DataFrame:
    rows = [{"segment_id": f"W1-T{i:03d}-S01", "text": t, "lemmas": lem,
             "is_facilitator": False}
            for i, (t, lem) in enumerate(FORM_ROWS * repeat)]
    return pd.DataFrame(rows)


def test_forms_artefacts_and_written_forms():
    from consultations.topics import forms as topic_forms

    f = topic_forms.learn_forms(form_segments(1))
    assert f.n_aligned == len(FORM_ROWS)
    assert {"luire", "celer", "pendre"} <= set(f.artefacts)  # « lui », « cela », « pendant »
    assert "violence" not in f.artefacts and "baser" not in f.artefacts
    assert f.display("violence baser") == "violences basées"
    assert f.display("garde vue") == "garde à vue"
    assert f.display("service déconcentrer") == "services déconcentrés"
    assert f.display("inconnu") == "inconnu"
    assert f.display_all(["violence", "violence"]) == ["violences"]
    far = topic_forms.learn_forms(pd.DataFrame({
        "text": ["La police, la gendarmerie.", "Recevoir toutes ces autres plaintes."],
        "lemmas": ["le police le gendarmerie", "recevoir tout ce autre plainte"]}))
    assert far.display("police gendarmerie") == "police gendarmerie"  # no span over a comma
    assert far.display("recevoir plainte") == "recevoir plaintes"  # nor over 3 words


def test_forms_skip_misaligned_and_placeholders():
    from consultations.topics import forms as topic_forms

    seg = pd.DataFrame({"text": ["[PERSONNE] parle de sécurité.", "Texte modifié ici."],
                        "lemmas": ["parler de sécurité", "texte"]})
    f = topic_forms.learn_forms(seg)
    assert f.n_aligned == 1 and f.display("sécurité") == "sécurité"
    assert topic_forms.learn_forms(seg.drop(columns="text")).n_aligned == 0


def test_topics_terms_in_written_form_without_artefacts(segments):
    seg = segments.copy()
    extra = form_segments(6).assign(
        speaker="OSC-01", stakeholder_group=GROUPS[1][1], group_code="OSC", theme="VBG")
    seg = pd.concat([seg, extra], ignore_index=True)
    m = topics.TopicModel(n_topics=4, random_state=1).fit(seg)
    shown = " ".join(m.topic_info_["terms"]) + " " + " ".join(m.topic_info_["label"])
    for wrong in ("luire", "celer", "baser", "déconcentrer", "pendre"):
        assert wrong not in shown.split("; ") and wrong not in shown
    assert "violences basées" in shown or "basées" in shown
    lemma_terms = [t for ts in m.lemma_terms_.values() for t in ts]
    assert "violence" in lemma_terms and "luire" not in lemma_terms
    assert "luire" in m.summary_["word_forms"]["artefact_lemmas"]


# --- topics at scale: fit on a seeded sample, assign the rest ----------------------------
def test_topics_sampled_fit_assigns_all_and_is_deterministic():
    from sklearn.metrics import normalized_mutual_info_score

    seg = make_segments(n_per_theme=60)
    a = topics.TopicModel(n_topics=3, random_state=5, sample_size=100).fit(seg)
    b = topics.TopicModel(n_topics=3, random_state=5, sample_size=100).fit(seg)
    steps = a.summary_["sample"].pop("refinement_steps")
    assert a.summary_["sample"] == {"sample_size": 100, "n_candidates": 180,
                                    "n_sampled": 100, "sampled": True}
    assert 1 <= steps <= topics.REFINE_STEPS
    assert len(a.assignments_) == 180 and a.assignments_["topic"].ge(0).all()
    pd.testing.assert_frame_equal(a.assignments_, b.assignments_)
    truth = seg.set_index("segment_id").loc[a.assignments_["segment_id"], "theme"]
    assert normalized_mutual_info_score(truth, a.assignments_["topic"]) > 0.8
    full = topics.TopicModel(n_topics=3, random_state=5, sample_size=0).fit(seg)
    assert full.summary_["sample"]["sampled"] is False


def test_topics_sample_centroids_refined_on_every_segment():
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 200)
    centres = np.eye(3)
    x = centres[truth] + rng.normal(scale=0.25, size=(600, 3))
    # Centroids as a small, unlucky sample would give them: pulled towards each other.
    start = np.array([[1.0, 0.6, 0.0], [0.6, 1.0, 0.0], [0.3, 0.3, 1.0]])
    start /= np.linalg.norm(start, axis=1, keepdims=True)
    before = (x @ start.T).argmax(axis=1)
    cent, labels, steps = topics._refine_centroids(x, start, chunk=128)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, labels) > adjusted_rand_score(truth, before)
    assert adjusted_rand_score(truth, labels) > 0.9 and steps >= 2
    assert np.allclose(np.linalg.norm(cent, axis=1), 1.0)
    assert np.array_equal(labels, (x @ cent.T).argmax(axis=1))  # a fixed point


def test_topic_sample_size_setting(tmp_path):
    from consultations.core.settings import load_settings

    (tmp_path / "consultations.toml").write_text("[topics]\ntopic_sample_size = 5000\n",
                                                 encoding="utf-8")
    assert load_settings(tmp_path).topic_sample_size == 5000
    (tmp_path / "consultations.toml").write_text("[topics]\ntopic_sample_size = 5\n",
                                                 encoding="utf-8")
    with pytest.raises(InputError, match="topic_sample_size"):
        load_settings(tmp_path)


def test_topics_stage_reads_only_the_segment_columns_it_needs(segments, tmp_path,
                                                              monkeypatch):
    from consultations.core.config import get_paths
    from consultations.pipeline import Catalog, table_hash

    paths = get_paths(tmp_path / "data", tmp_path / "reports")
    Catalog(paths).put("segments", segments.drop(columns="theme"))
    asked = []
    read = Catalog.read

    def spy(self, name, columns=None):
        asked.append((name, columns))
        return read(self, name, columns)

    monkeypatch.setattr(Catalog, "read", spy)
    settings = Settings(seed=3, n_topics=3)
    fresh = Catalog(paths)
    out = topics_stage.run_stage(fresh, paths, settings)
    assert asked == [("segments", topics_stage.SEGMENT_COLUMNS)]
    assert "line_start" not in topics_stage.SEGMENT_COLUMNS
    assert "segments" not in fresh._mem  # the whole table never loaded
    whole = topics_stage.run_stage({"segments": segments.drop(columns="theme")}, paths, settings)
    for name in ("topic_assignments", "topic_info", "topic_crosswalk", "topics_per_group"):
        assert table_hash(out[name]) == table_hash(whole[name]), name
