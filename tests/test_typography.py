"""French typography: one function for every text a reader sees."""

from __future__ import annotations

import pytest

from consultations.core.typography import MINUS, NBHY, NBSP, NNBSP, fr_typo, plain


@pytest.mark.parametrize(("text", "expected"), [
    ("Source : x", f"Source{NBSP}: x"),
    ("a ; b ! c ? d", f"a{NNBSP}; b{NNBSP}! c{NNBSP}? d"),
    ("«fort»", f"«{NBSP}fort{NBSP}»"),
    ("« élément probant fort »", f"«{NBSP}élément probant fort{NBSP}»"),
    ("9999 tables", f"9{NNBSP}999 tables"),
    ("12345 mots", f"12{NNBSP}345 mots"),
    (f"1{NBSP}234{NBSP}567", f"1{NNBSP}234{NNBSP}567"),
    ("en 2020", "en 2020"),
    ("-0,01", f"{MINUS}0,01"),
    ("[-0,01 ; 0,00]", f"[{MINUS}0,01{NNBSP}; 0,00]"),
    ("-0,00", "0,00"),
    ("écart -0", "écart 0"),
    ("FDS-03", f"FDS{NBHY}03"),
    ("ATL1-T012-S02", f"ATL1{NBHY}T012{NBHY}S02"),
    ("p < 0,001", f"p{NBSP}<{NBSP}0,001"),
    ("45 %", f"45{NNBSP}%"),
    ("atelier1.txt l. 45", f"atelier1.txt l.{NBSP}45"),
])
def test_typography_rules(text, expected):
    assert fr_typo(text) == expected


@pytest.mark.parametrize("text", [
    "http://exemple.org/a?b=1", "10:30", "2020-03-04", "Benjamini-Hochberg", "x-1",
    "version 1.2.3", "T01234", "atelier1_fds.txt", "",
])
def test_typography_leaves_non_prose_alone(text):
    assert fr_typo(text) == text


def test_typography_idempotent_and_reversible():
    text = "« Oui ! » dit FDS-03 : p < 0,001 ; -0,00 ; 12345 segments ; 45 %"
    once = fr_typo(text)
    assert fr_typo(once) == once
    assert " :" not in once and " ;" not in once and "« " not in once
    assert plain(once) == ("« Oui ! » dit FDS-03 : p < 0,001 ; 0,00 ; 12 345 segments ; 45 %")


def test_typography_none_and_numbers():
    assert fr_typo(None) == ""
    assert fr_typo(12345) == f"12{NNBSP}345"
