"""Fixtures shared by the test modules (defined once here)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root folder."""
    return REPO


@pytest.fixture(scope="session")
def sample_data_dir() -> Path:
    """The bundled fictional sample corpus (data/ with transcripts/ and coded/)."""
    return REPO / "data"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """Real public consultation data beside the checkout; tests skip (and say why) without it."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATASETS} (they sit beside the "
                    "checkout in CI; a user's clone does not have them)")
    return SHARED_DATASETS


@pytest.fixture()
def tiny_segments() -> pd.DataFrame:
    """A hand-made segments table following the contract (consultations.core.schema)."""
    rows = [
        ("W1-T001-S01", "W1-T001", "W1", 1, "FAC-01", "Facilitation", "FAC", True,
         "Bienvenue à tous, nous commençons.", "bienvenue à tout nous commencer"),
        ("W1-T002-S01", "W1-T002", "W1", 1, "FDS-01", "Forces de défense et de sécurité", "FDS",
         False, "Nous manquons de véhicules et de carburant.",
         "nous manquer de véhicule et de carburant"),
        ("W1-T002-S02", "W1-T002", "W1", 2, "FDS-01", "Forces de défense et de sécurité", "FDS",
         False, "La formation des agents reste insuffisante.",
         "le formation de agent rester insuffisant"),
        ("W1-T003-S01", "W1-T003", "W1", 1, "OSC-01", "Organisations de la société civile", "OSC",
         False, "Le racket aux postes de contrôle détruit la confiance.",
         "le racket à poste de contrôle détruire le confiance"),
        ("W2-T001-S01", "W2-T001", "W2", 1, "DEC-01", "Acteurs de la décentralisation", "DEC",
         False, "Le maire doit présider le comité local de sécurité.",
         "le maire devoir présider le comité local de sécurité"),
        ("W2-T002-S01", "W2-T002", "W2", 1, "OSC-02", "Organisations de la société civile", "OSC",
         False, "Les femmes et les jeunes ne sont pas écoutés.",
         "le femme et le jeune ne être pas écouter"),
    ]
    cols = ["segment_id", "turn_id", "workshop_id", "seg_n", "speaker", "stakeholder_group",
            "group_code", "is_facilitator", "text", "lemmas"]
    df = pd.DataFrame(rows, columns=cols)
    df.insert(cols.index("is_facilitator") + 1, "is_collective", False)
    df["n_words"] = df["text"].str.split().str.len()
    df["source_file"] = df["workshop_id"].map({"W1": "w1.txt", "W2": "w2.txt"})
    df["line_start"] = range(1, len(df) + 1)
    df["line_end"] = df["line_start"]
    df["char_start"] = 0
    df["char_end"] = df["text"].str.len()
    return df
