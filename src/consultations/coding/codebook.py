"""The codebook: read ``data/coded/codebook.yaml``, validate it, flatten it into tables.

The YAML file holds ``version``, ``axes`` (strategy axes: ``id`` and French ``label``) and
``codes``. Each code has ``id``, ``label`` (French), ``definition``, ``include``, ``exclude``,
an optional ``parent`` (hierarchy), an ``axis``, lemma-based ``keywords`` (multi-word allowed)
and/or spaCy ``Matcher`` token ``patterns`` over ``LOWER``/``LEMMA``/``NORM``, ``examples``,
and an optional ``position``: codes that share a parent and carry a ``position`` are opposing
options on that parent's theme (e.g. integrate vs disarm self-defence groups); the comparison
stage uses them to detect contested themes. A code may list ``unless`` codes: the rule coder
drops it from a segment that carries one of them (the ``exclude`` criterion made operational).

Two optional top-level keys tune the rule coder (:class:`consultations.coding.coder.RuleCoder`):
``ignore`` (named token patterns whose spans are not coded, e.g. a speaker introducing
themself) and ``stance`` (``against_before`` / ``against_after`` cue lemmas and a ``window``:
how a position code's match is turned into the opposing position).

Keywords and pattern values are written as lemmas (singular nouns, masculine singular
adjectives, infinitive verbs). They are matched case- and accent-insensitively; elided words
(``d'``, ``l'``) are dropped and ``des``/``du``/``aux``/``les``/``la`` are read as the lemmas
the segment stage produces (``de``, ``de``, ``à``, ``le``, ``le``).

The optional top-level ``unit`` (``segment``, the default, or ``turn``; a code may override it
with its own ``unit``) is the **coding unit**: the unit on which agreement between coders and
the rules' quality are computed (at ``turn``, a coder's codes on any segment of a turn are the
turn's codes), and a manual code given on a ``turn_id`` for a turn-unit code is recorded once
(on the turn's first segment) instead of on every sentence.

Every validation error names the YAML line (from :func:`yaml.compose` node marks).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pandas as pd

from consultations.core.errors import InputError
from consultations.core.schema import TABLES
from consultations.core.textutils import fold as _fold

__all__ = [
    "ALLOWED_PATTERN_ATTRS",
    "CODEBOOK_EXTRA_COLUMNS",
    "UNITS",
    "code_units",
    "ancestors",
    "codebook_digest",
    "fold",
    "keyword_tokens",
    "load_codebook",
    "normalise_pattern",
    "parse_codebook",
]

#: Token attributes a pattern may use: the segments carry lemmas only (no POS, no parse).
ALLOWED_PATTERN_ATTRS = {"LOWER", "LEMMA", "NORM", "TEXT", "ORTH", "OP", "LENGTH", "IS_ALPHA"}
#: Columns of the codebook table beyond the contract ones.
CODEBOOK_EXTRA_COLUMNS = ["patterns", "position", "depth", "codebook_version", "unless", "unit"]
#: Coding units a codebook may declare (``unit:``), with the French spelling accepted too.
UNITS = ("segment", "turn")
_UNIT_ALIASES = {"segment": "segment", "turn": "turn", "tour": "turn", "phrase": "segment"}

# How the French segment lemmatiser writes common function words.
_FUNCTION_WORDS = {"des": "de", "du": "de", "aux": "a", "au": "a", "les": "le", "la": "le",
                   "d": "de", "l": "le"}
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
_STRING_ATTRS = {"LOWER", "LEMMA", "NORM", "TEXT", "ORTH"}


def fold(text: str) -> str:
    """Lower-case and strip accents (``Sécurité`` → ``securite``)."""
    return _fold(str(text), space="keep")


def keyword_tokens(keyword: str) -> list[str]:
    """Turn a keyword into the folded lemma tokens it must match (elisions dropped).

    Example: ``"groupes d'autodéfense"`` → ``["groupes", "autodefense"]`` (write lemmas:
    ``"groupe d'autodéfense"`` → ``["groupe", "autodefense"]``).
    """
    words = []
    for raw in keyword.replace("\u2019", "'").split():
        # an elided article/preposition (d', l', qu') is not an alphabetic token in segments
        raw = raw.split("'")[-1]
        for m in _WORD.finditer(fold(raw)):
            w = m.group(0)
            words.append(_FUNCTION_WORDS.get(w, w))
    return words


def _fold_value(value):
    if isinstance(value, str):
        return _FUNCTION_WORDS.get(fold(value), fold(value))
    if isinstance(value, list):
        return [_fold_value(v) for v in value]
    if isinstance(value, dict):
        return {k: (_fold_value(v) if k != "REGEX" else fold(v)) for k, v in value.items()}
    return value


def normalise_pattern(pattern: list[dict]) -> list[dict]:
    """Fold the string values of a token pattern; LOWER/TEXT/ORTH/NORM become LEMMA.

    The segments are matched as docs of folded lemmas, so every string attribute compares to
    the folded lemma.
    """
    out = []
    for tok in pattern:
        new = {}
        for key, val in tok.items():
            key_u = key.upper()
            if key_u in _STRING_ATTRS:
                new["LEMMA"] = _fold_value(val)
            else:
                new[key_u] = val
        out.append(new)
    return out


def _line(node) -> int:
    return node.start_mark.line + 1


def _mapping(node) -> dict:
    """Map keys of a YAML mapping node to (key line, value node)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: (_line(k), v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _parse_patterns(items, node, default_line: int, name_prefix: str, what: str,
                    errors: list) -> list[dict]:
    """Read a YAML list of Matcher patterns (bare or ``{name, pattern}``), checking each.

    A pattern that does not compile is reported in ``errors`` with its own YAML line
    (``default_line`` when the node carries none) and left out of the result.
    """
    out = []
    for j, pat in enumerate(as_list(items)):
        line = _line(node.value[j]) if node is not None and hasattr(node, "value") \
            and j < len(node.value) else default_line
        name = f"{name_prefix}#{j + 1}"
        if isinstance(pat, dict) and "pattern" in pat:
            name = str(pat.get("name") or name)
            pat = pat["pattern"]
        msg = _check_pattern(pat, f"{what} {j + 1}")
        if msg:
            errors.append((line, msg))
        else:
            out.append({"name": name, "pattern": pat})
    return out


@functools.lru_cache(maxsize=1)
def _blank_vocab():
    import spacy

    return spacy.blank("fr").vocab


def _check_pattern(pattern, where: str) -> str | None:
    """Return an error message when a pattern does not compile, else None."""
    from spacy.matcher import Matcher

    if not isinstance(pattern, list) or not pattern or not all(isinstance(t, dict)
                                                               for t in pattern):
        return f"{where} : un motif doit être une liste non vide de dictionnaires de " \
               "jetons, par exemple [{LEMMA: milice}, {LEMMA: armé}]"
    bad = sorted({k for t in pattern for k in t if k.upper() not in ALLOWED_PATTERN_ATTRS})
    if bad:
        return (f"{where} : attribut(s) {bad} indisponible(s) (les segments ne portent que "
                f"les lemmes) ; utilisez {sorted(_STRING_ATTRS | {'OP'})}")
    matcher = Matcher(_blank_vocab(), validate=True)
    try:
        matcher.add("P", [normalise_pattern(pattern)])
    except Exception as exc:  # spaCy raises ValueError/MatchPatternError
        first = str(exc).strip().splitlines()
        return f"{where} : le motif ne compile pas ({' '.join(first[:3])[:300]})"
    return None


def parse_codebook(text: str, path: str | Path = "codebook.yaml") -> dict:
    """Parse and validate codebook YAML text.

    Args:
        text: the YAML text.
        path: the file name used in error messages.

    Returns:
        ``{"version": str, "codebook": DataFrame, "axes": DataFrame, "ignore": list,
        "stance": dict, "unit": str}``; the codebook table has the contract columns
        (``consultations.core.schema.TABLES["codebook"]``) then ``patterns`` (JSON), ``position``,
        ``depth``, ``codebook_version``, ``unless`` (``; ``-joined code IDs); rows in file
        order, and ``unit`` (the code's coding unit). ``ignore`` holds the top-level ``ignore``
        patterns, ``stance`` the top-level ``stance`` settings, ``unit`` the default coding unit
        (see :class:`consultations.coding.coder.RuleCoder`).

    Raises:
        InputError: with the line of the first problem and the list of every problem found.

    """
    import yaml

    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, mark.line + 1 if mark else None,
                         f"la grille de codage n'est pas du YAML valide "
                         f"({getattr(exc, 'problem', exc)})",
                         "vérifiez l'indentation et les guillemets autour des textes qui "
                         "contiennent « : ».") from exc
    if not isinstance(data, dict) or root is None:
        raise InputError(path, 1, "la grille de codage doit être un dictionnaire avec « version », "
                         "« axes » et « codes »",
                         "voir data/coded/codebook.yaml de l'exemple pour la disposition.")
    top = _mapping(root)
    errors: list[tuple[int, str]] = []
    default_unit = _unit(data.get("unit", "segment"), top.get("unit", (1, None))[0],
                         "« unit »", "segment", errors)
    version = data.get("version")
    if version in (None, ""):
        errors.append((1, "« version » manquante (ex. version: \"2020.1\")"))
    axes_rows = []
    axis_ids: set[str] = set()
    axes_node = top.get("axes", (1, None))[1]
    for i, item in enumerate(as_list(data.get("axes"))):
        node = axes_node.value[i] if axes_node is not None else None
        ln = _line(node) if node is not None else 1
        if not isinstance(item, dict) or not item.get("id") or not item.get("label"):
            errors.append((ln, "chaque axe demande un « id » et un « label » en français"))
            continue
        aid = str(item["id"]).strip()
        if aid in axis_ids:
            errors.append((ln, f"identifiant d'axe « {aid} » en double"))
        axis_ids.add(aid)
        axes_rows.append({"axis": aid, "axis_label": str(item["label"]).strip(), "line": ln})
    codes = data.get("codes")
    codes_node = top.get("codes", (1, None))[1]
    if not isinstance(codes, list) or not codes:
        errors.append((top.get("codes", (1, None))[0], "« codes » doit être une liste non vide"))
        codes = []
    rows = []
    seen: dict[str, int] = {}
    for i, item in enumerate(codes):
        node = codes_node.value[i]
        ln = _line(node)
        keys = _mapping(node)

        def kline(key, _keys=keys, _ln=ln):
            return _keys.get(key, (_ln, None))[0]

        if not isinstance(item, dict):
            errors.append((ln, "chaque code doit être un dictionnaire avec au moins id, "
                                "label, definition"))
            continue
        cid = str(item.get("id") or "").strip()
        if not cid:
            errors.append((ln, "un code sans « id »"))
            continue
        if cid in seen:
            errors.append((kline("id"), f"identifiant de code « {cid} » en double (déjà "
                                        f"ligne {seen[cid]})"))
            continue
        seen[cid] = kline("id")
        for field in ("label", "definition"):
            if not str(item.get(field) or "").strip():
                errors.append((kline(field), f"code « {cid} » : « {field} » vide"))
        axis = str(item.get("axis") or "").strip()
        if axis and axis_ids and axis not in axis_ids:
            errors.append((kline("axis"), f"code « {cid} » : axe inconnu « {axis} » (axes : "
                                          f"{sorted(axis_ids)})"))
        keywords = [str(k).strip() for k in as_list(item.get("keywords")) if str(k).strip()]
        for kw in keywords:
            if not keyword_tokens(kw):
                errors.append((kline("keywords"), f"code « {cid} » : le mot-clé « {kw} » "
                                                  "ne contient aucun mot"))
        patterns = _parse_patterns(item.get("patterns"), keys.get("patterns", (ln, None))[1],
                                   kline("patterns"), cid, f"code « {cid} », motif", errors)
        rows.append({
            "code_id": cid,
            "label": str(item.get("label") or "").strip(),
            "definition": " ".join(str(item.get("definition") or "").split()),
            "include": " ".join(str(item.get("include") or "").split()),
            "exclude": " ".join(str(item.get("exclude") or "").split()),
            "parent": str(item.get("parent") or "").strip(),
            "axis": axis,
            "keywords": "; ".join(keywords),
            "examples": "\n".join(" ".join(str(e).split()) for e in as_list(item.get("examples"))),
            "line": ln,
            "patterns": json.dumps(patterns, ensure_ascii=False, sort_keys=True),
            "position": str(item.get("position") or "").strip(),
            "unless": "; ".join(str(u).strip() for u in as_list(item.get("unless"))
                                if str(u).strip()),
            "unit": _unit(item.get("unit", default_unit), kline("unit"),
                          f"code « {cid} » : « unit »", default_unit, errors),
            "_unless_line": kline("unless"),
            "_parent_line": kline("parent"),
        })
    ids = {r["code_id"] for r in rows}
    for r in rows:
        if r["parent"] and r["parent"] not in ids:
            errors.append((r["_parent_line"], f"code « {r['code_id']} » : parent inconnu "
                                              f"« {r['parent']} »"))
    for r in rows:
        bad = [u for u in r["unless"].split("; ") if u and u not in ids]
        if bad:
            errors.append((r["_unless_line"], f"code « {r['code_id']} » : code(s) inconnu(s) "
                                              f"dans « unless » : {bad}"))
    ign_line, ign_node = top.get("ignore", (1, None))
    ignore = _parse_patterns(data.get("ignore"), ign_node, ign_line, "ignore",
                             "motif ignore", errors)
    stance = data.get("stance") or {}
    if not isinstance(stance, dict) or not all(
            isinstance(stance.get(k, []), list) for k in ("against_before", "against_after")):
        errors.append((top.get("stance", (1, None))[0], "« stance » doit être un dictionnaire avec "
                       "les listes « against_before », « against_after » et un entier "
                       "« window »"))
        stance = {}
    parents = {r["code_id"]: r["parent"] for r in rows if r["parent"] in ids}
    reported: set[str] = set()
    for r in rows:
        chain, cur = [], r["code_id"]
        while cur in parents and cur not in chain:
            chain.append(cur)
            cur = parents[cur]
        if cur in chain and r["code_id"] == cur and cur not in reported:
            cycle = chain[chain.index(cur):] + [cur]
            reported.update(cycle)
            errors.append((r["_parent_line"], "cycle de parents : " + " → ".join(cycle)))
    if errors:
        errors.sort(key=lambda e: e[0])
        listing = "\n".join(f"  ligne {ln} : {msg}" for ln, msg in errors)
        raise InputError(path, errors[0][0],
                         f"{len(errors)} problème(s) dans la grille de codage :\n{listing}",
                         "corrigez les lignes ci-dessus dans codebook.yaml et relancez.")
    table = pd.DataFrame(rows).drop(columns=["_parent_line", "_unless_line"]) if rows \
        else pd.DataFrame(
        columns=TABLES["codebook"] + CODEBOOK_EXTRA_COLUMNS)
    table["depth"] = [len(ancestors(c, parents)) for c in table["code_id"]]
    table["codebook_version"] = str(version)
    table["line"] = table["line"].astype("int64")
    table = table[TABLES["codebook"] + CODEBOOK_EXTRA_COLUMNS].reset_index(drop=True)
    axes = pd.DataFrame(axes_rows, columns=["axis", "axis_label", "line"])
    return {"version": str(version), "codebook": table, "axes": axes[["axis", "axis_label"]],
            "ignore": ignore, "stance": stance, "unit": default_unit}


def _unit(value, line: int, what: str, default: str, errors: list) -> str:
    """Validate a ``unit`` value (``segment`` or ``turn``); record an error otherwise."""
    got = _UNIT_ALIASES.get(str(value).strip().lower())
    if got is None:
        errors.append((line, f"{what} doit valoir « segment » ou « turn » (pas « {value} »)"))
        return default
    return got


def ancestors(code_id: str, parents: dict[str, str]) -> list[str]:
    """Return the chain of parents of a code, nearest first (``parents``: code → parent)."""
    out = []
    cur = parents.get(code_id, "")
    while cur and cur not in out:
        out.append(cur)
        cur = parents.get(cur, "")
    return out


def load_codebook(path: str | Path) -> dict:
    """Read and validate ``codebook.yaml`` (see :func:`parse_codebook`)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, None, "le fichier de la grille de codage est absent",
                         "créez data/coded/codebook.yaml (copiez celui de l'exemple et "
                         "adaptez-le).")
    text = path.read_bytes().decode("utf-8-sig")
    return parse_codebook(text, path)


def codebook_digest(path: str | Path) -> str:
    """Hash of the codebook *as parsed*: comments, blank lines and key order change nothing.

    Line numbers (kept for error messages) are left out, so adding a comment above a code
    does not invalidate the code stage's cache.
    """
    import hashlib
    import json

    cb = load_codebook(path)
    h = hashlib.sha256()
    for key in sorted(cb):
        val = cb[key]
        if isinstance(val, pd.DataFrame):
            val = val.drop(columns=[c for c in ("line",) if c in val.columns])
            val = val.astype(str).to_dict("records")
        h.update(key.encode())
        h.update(json.dumps(val, sort_keys=True, default=str, ensure_ascii=False).encode())
    return h.hexdigest()


def code_units(codebook: pd.DataFrame) -> dict[str, str]:
    """Return each code's coding unit (``segment`` or ``turn``; ``segment`` when undeclared)."""
    units = codebook["unit"] if "unit" in codebook else pd.Series("segment", codebook.index)
    return {str(c): (u if u in UNITS else "segment")
            for c, u in zip(codebook["code_id"], units.fillna("segment"), strict=True)}
