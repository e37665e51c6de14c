import pandas as pd
import pytest

from consultations.coding.codebook import keyword_tokens, load_codebook, parse_codebook
from consultations.core.errors import InputError
from consultations.core.schema import TABLES

GOOD = """\
version: "t1"
axes:
  - id: A1
    label: "A1 — Confiance"
codes:
  - id: CONF
    label: Confiance
    axis: A1
    definition: La confiance.
    keywords: [confiance]
  - id: CONF.X
    parent: CONF
    label: Enfant
    axis: A1
    definition: Un enfant.
    patterns:
      - [{LEMMA: perdre}, {OP: "{0,2}"}, {LOWER: confiance}]
"""


def test_codebook_sample_is_valid_and_rich(sample_data_dir):
    cb = load_codebook(sample_data_dir / "coded" / "codebook.yaml")
    table = cb["codebook"]
    assert list(table.columns[: len(TABLES["codebook"])]) == TABLES["codebook"]
    assert 18 <= len(table) <= 28
    assert (table["parent"] != "").sum() >= 5
    assert set(table["axis"]) <= set(cb["axes"]["axis"])
    assert cb["axes"]["axis_label"].str.contains("—").all()
    # position codes exist for the contested themes
    pos = table[table["position"] != ""]
    assert pos.groupby("parent").size().ge(2).sum() >= 2
    assert table["definition"].str.len().gt(20).all()


def test_codebook_parses_lines_and_hierarchy():
    cb = parse_codebook(GOOD, "cb.yaml")
    t = cb["codebook"].set_index("code_id")
    assert cb["version"] == "t1"
    assert t.loc["CONF", "line"] == 6
    assert t.loc["CONF.X", "depth"] == 1 and t.loc["CONF.X", "parent"] == "CONF"


@pytest.mark.parametrize("mutation, line, needle", [
    (lambda s: s.replace("id: CONF.X", "id: CONF"), 11, "identifiant de code « CONF » en double"),
    (lambda s: s.replace("parent: CONF", "parent: NOPE"), 12, "parent inconnu"),
    (lambda s: s.replace("definition: Un enfant.", "definition: ''"), 15, "« definition » vide"),
    (lambda s: s.replace("{LEMMA: perdre}", "{LEMMA: {NOTANOP: perdre}}"), 17, "ne compile pas"),
    (lambda s: s.replace("{LEMMA: perdre}", "{POS: VERB}"), 17, "indisponible"),
    (lambda s: s.replace("axis: A1\n    definition: La", "axis: A9\n    definition: La"), 8,
     "axe inconnu"),
])
def test_codebook_errors_give_yaml_line(mutation, line, needle):
    with pytest.raises(InputError) as err:
        parse_codebook(mutation(GOOD), "cb.yaml")
    assert err.value.line == line
    assert needle in str(err.value)
    assert "cb.yaml" in str(err.value)


def test_codebook_detects_cycles():
    text = GOOD.replace("    axis: A1\n    definition: La confiance.",
                        "    parent: CONF.X\n    axis: A1\n    definition: La confiance.")
    with pytest.raises(InputError, match="cycle de parents"):
        parse_codebook(text, "cb.yaml")


def test_codebook_invalid_yaml_reports_line():
    with pytest.raises(InputError) as err:
        parse_codebook("version: 1\ncodes:\n  - id: [unclosed\n", "cb.yaml")
    assert err.value.line is not None


@pytest.mark.parametrize("kw, toks", [
    ("groupe d'autodéfense", ["groupe", "autodefense"]),
    ("Poste de Contrôle", ["poste", "de", "controle"]),
    ("forces de l’ordre", ["forces", "de", "ordre"]),
    ("aux postes", ["a", "postes"]),
])
def test_codebook_keyword_tokens_fold_like_segment_lemmas(kw, toks):
    assert keyword_tokens(kw) == toks


def test_codebook_missing_file(tmp_path):
    with pytest.raises(InputError, match="missing"):
        load_codebook(tmp_path / "codebook.yaml")
    assert isinstance(pd.DataFrame(), pd.DataFrame)


def test_codebook_unless_ignore_and_stance_are_parsed():
    text = GOOD.replace("    keywords: [confiance]\n",
                        "    keywords: [confiance]\n    unless: [CONF.X]\n") + (
        "ignore:\n  - name: intro\n    pattern: [{LEMMA: je}, {LEMMA: être}]\n"
        "stance:\n  window: 4\n  against_before: [contre]\n")
    cb = parse_codebook(text, "cb.yaml")
    assert cb["codebook"].set_index("code_id").loc["CONF", "unless"] == "CONF.X"
    assert cb["ignore"] == [{"name": "intro", "pattern": [{"LEMMA": "je"}, {"LEMMA": "être"}]}]
    assert cb["stance"]["window"] == 4 and cb["stance"]["against_before"] == ["contre"]


def test_codebook_unless_unknown_code_gives_line_and_lists_every_problem():
    text = GOOD.replace("    keywords: [confiance]\n",
                        "    keywords: [confiance]\n    unless: [NOPE]\n")
    with pytest.raises(InputError) as err:
        parse_codebook(text, "cb.yaml")
    assert err.value.line == 11
    assert "code(s) inconnu(s) dans « unless » : ['NOPE']" in str(err.value)
    with pytest.raises(InputError) as err:
        parse_codebook(text + "ignore:\n  - [{LEMMA: {NOTANOP: je}}]\n", "cb.yaml")
    assert "2 problème(s)" in str(err.value) and "ligne 20 : motif ignore 1" in str(err.value)


def test_codebook_bad_ignore_pattern_gives_line():
    text = GOOD + "ignore:\n  - name: x\n    pattern: [{LEMMA: {NOTANOP: je}}]\n"
    with pytest.raises(InputError) as err:
        parse_codebook(text, "cb.yaml")
    assert err.value.line == 19 and "motif ignore 1" in str(err.value)
