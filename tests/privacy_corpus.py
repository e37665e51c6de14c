"""A privacy test corpus: the sample with fictional secrets put in every place they hide.

:func:`build_privacy_corpus` copies three workshops of the bundled sample and adds, in
speech, recommendations, file names, workshops.csv and participants.csv fields, a Word
table and a Word header, at least 60 secrets (names in their usual forms, phone numbers in
the forms used in Mali and France, e-mail addresses, some written to dodge a filter). Every
name and number here is invented. :data:`ORDINARY` are ordinary words that must come out
untouched although a participant's label carries them (« …, rapporteur pour avis de la
commission de la République »).
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

__all__ = ["ORDINARY", "ORDINARY_SENTENCE", "WORKSHOPS", "build_privacy_corpus", "output_text"]

WORKSHOPS = ("ATL1", "ATL2", "ATL3")

#: Participants added to the copy (workshop, label, group, role, gender).
_EXTRA_PARTICIPANTS = [
    ("ATL1", "M. Issa FORT, rapporteur pour avis de la commission de la République",
     "Secteur de la justice", "Rapporteur", "M"),
    ("ATL1", "Mme Nana FAMILLE", "Organisations de la société civile",
     "Adjointe de M. Souleymane DAGNON", "F"),
]
#: A sentence of ordinary words spoken in ATL1; it must reach the segments unchanged.
ORDINARY_SENTENCE = ("Pour la République et pour la famille, notre avis est fort : le "
                     "Parlement, le Gouvernement et la commission doivent agir.")
ORDINARY = ["la République", "avis", "la famille", "Parlement", "fort", "Gouvernement",
            "la commission"]

_ATL1_TURNS = [
    "[01:10:00] Mme Kadiatou TRAORÉ : Je reprends l'idée de Bakary et celle d'Ibrahim. "
    "Modibo Keïta, mon voisin, a vu le sergent Drissa Fané au poste. Le colonel Siriman "
    "Kodio le sait. Appelez-moi au 76/12/34/57 ou au +223 65 43 21 09, ou écrivez à "
    "oumar.togola (at) gmail.com.",
    "[01:11:00] M. Issa FORT, rapporteur pour avis de la commission de la République : "
    + ORDINARY_SENTENCE + " Mme Ramata Djiguiba et M. Lassine Bouaré me l'ont dit ; "
    "leur numéro est le 00223 70.11.22.33, et en France le 06 12 34 56 78 ou le "
    "+33 6 98 76 54 32. Leur courriel : ramata.djiguiba@orange.ml.",
    "[01:12:00] Mme Nana FAMILLE : Le docteur Yacouba Tessougué a soigné Awa et Fatoumata. "
    "Son numéro : 66-55-44-33, ou (+223) 90 12 34 56, ou 0033 1 23 45 67 89, courriel "
    "fatou.kone arobase yahoo.fr et b.sangare [at] defense.gouv.ml. Sangaré est d'accord, "
    "Togola aussi, et Kanté.",
    "[01:13:00] Capitaine Ibrahim KANTÉ : El Hadj Boubacar Cissouma, imam de Kalaban, et "
    "Mme Oumou Sangaré de l'association m'ont appelé depuis le 79 12 34 56. "
    "Commissaire Fatoumata DANIOKO et Seydou Berthé étaient là, avec Moctar.",
]
_ATL1_RECS = [
    "9. Confier le suivi à M. Lassine Bouaré (tél. 76 54 32 10, lassine.bouare@gmail.com).",
    "10. Associer Mme Kadiatou TRAORÉ et le colonel Siriman Kodio au comité.",
]
_ATL3_TURN = ("M. Hamidou TEMBELY: Je remercie Aminata et Mme Fanta CAMARA. Le juge Karamoko "
              "Diabaté l'a dit : appelez le 75.44.33.22 ou écrivez à hamidou.tembely(at)"
              "yahoo.fr.\r\n")

#: Every secret (folded and searched as whole words in every output).
SECRETS = [
    # participants (full names, surnames, first names alone)
    "Kadiatou Traoré", "Kadiatou", "Bakary", "Ibrahim", "Bakary Sangaré", "Sangaré",
    "Togola", "Kanté", "Ibrahim Kanté", "Issa Fort", "Nana Famille", "Fatoumata Danioko",
    "Danioko", "Seydou Berthé", "Berthé", "Moctar", "Hamidou Tembely", "Tembely", "Aminata",
    "Fanta Camara", "Siaka Daou", "Daou", "Drissa Sanogo", "Sanogo", "Oumar Togola",
    # other persons
    "Modibo Keïta", "Modibo", "Keïta", "Drissa Fané", "Fané", "Siriman Kodio", "Siriman",
    "Kodio", "Ramata Djiguiba", "Djiguiba", "Lassine Bouaré", "Bouaré", "Yacouba Tessougué",
    "Tessougué", "Boubacar Cissouma", "Cissouma", "Oumou Sangaré", "Souleymane Dagnon",
    "Dagnon", "Karamoko Diabaté", "Diabaté", "Hawa Sow",
    # phones
    "76/12/34/57", "+223 65 43 21 09", "65 43 21 09", "00223 70.11.22.33", "70.11.22.33",
    "06 12 34 56 78", "+33 6 98 76 54 32", "66-55-44-33", "(+223) 90 12 34 56",
    "90 12 34 56", "0033 1 23 45 67 89", "79 12 34 56", "76 54 32 10", "75.44.33.22",
    "76 00 11 22",
    # e-mails
    "oumar.togola", "ramata.djiguiba", "fatou.kone", "b.sangare", "lassine.bouare",
    "hamidou.tembely", "gmail.com", "orange.ml", "defense.gouv.ml",
    # file name
    "SANOGO_Drissa",
]


def build_privacy_corpus(sample: Path, dst: Path) -> Path:
    """Write the privacy corpus to ``dst`` (a data folder) and return it."""
    import docx

    t = dst / "transcripts"
    shutil.copytree(sample / "transcripts", t)
    shutil.copytree(sample / "coded", dst / "coded", ignore=shutil.ignore_patterns(".anchors"))
    # ATL1: speech and recommendations.
    p = t / "atelier1_fds.txt"
    text = p.read_bytes().decode("utf-8-sig")
    text = text.replace("[fin de l'enregistrement]", "\n\n".join(_ATL1_TURNS)
                        + "\n\n[fin de l'enregistrement]")
    p.write_bytes(text.encode("utf-8-sig"))
    r = t / "atelier1_recommandations.txt"
    r.write_text(r.read_text(encoding="utf-8").rstrip("\n") + "\n" + "\n".join(_ATL1_RECS)
                 + "\n", encoding="utf-8")
    # ATL3 (Windows-1252): speech.
    p3 = t / "atelier3_societe_civile.txt"
    p3.write_bytes(p3.read_bytes() + _ATL3_TURN.encode("cp1252"))
    # ATL2: a name in the file name, a turn in a table, a name and number in the header.
    old = t / "atelier2_decentralisation.docx"
    new = t / "atelier2_dec_SANOGO_Drissa.docx"
    d = docx.Document(str(old))
    d.sections[0].header.paragraphs[0].text = "Transcription — Mme Hawa SOW — 76 00 11 22"
    table = d.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "M. Siaka DAOU"
    table.cell(0, 1).text = ("Je salue M. Drissa SANOGO et Mme Hawa SOW ; mon numéro est le "
                             "76 54 32 10.")
    d.save(str(new))
    old.unlink()
    # workshops.csv and participants.csv fields that reach outputs.
    w = t / "workshops.csv"
    rows = w.read_text(encoding="utf-8").splitlines()
    out = [rows[0]]
    for row in rows[1:]:
        wid = row.split(",", 1)[0]
        if wid not in WORKSHOPS:
            continue
        row = row.replace("atelier2_decentralisation.docx", new.name)
        row = row.replace('"École de maintien de la paix Alioune Blondin Beye, Bamako"',
                          '"Domicile de M. Siaka DAOU, Bamako"')
        row = row.replace("Atelier 3 — Organisations de la société civile",
                          "Atelier 3 — chez Mme Fanta CAMARA (76 00 11 22)")
        out.append(row)
    w.write_text("\n".join(out) + "\n", encoding="utf-8")
    pp = t / "participants.csv"
    prow = [x for x in pp.read_text(encoding="utf-8").splitlines()
            if x.split(",", 1)[0] in WORKSHOPS or x.startswith("workshop_id")]
    for wid, lab, grp, role, gender in _EXTRA_PARTICIPANTS:
        prow.append(f'{wid},"{lab}",{grp},"{role}",{gender}')
    pp.write_text("\n".join(prow) + "\n", encoding="utf-8")
    return dst


def output_text(path: Path) -> str:
    """All text a reader of this output could see (zip members, PDF text, plain files)."""
    if path.suffix == ".png":
        return ""
    if path.suffix in {".docx", ".xlsx", ".qdpx"}:
        with zipfile.ZipFile(path) as zf:
            return " ".join(zf.read(n).decode("utf-8", "ignore") for n in zf.namelist())
    if path.suffix == ".pdf":
        if not shutil.which("pdftotext"):
            return ""
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"],
                             capture_output=True, check=True)
        return out.stdout.decode("utf-8")
    return path.read_text(encoding="utf-8", errors="ignore")
