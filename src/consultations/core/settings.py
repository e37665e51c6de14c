"""The project's settings file: ``consultations.toml`` in the data folder.

One file per project holds every choice a run depends on (seed, workshops, topic model,
thresholds of each stage). The CLI, the notebooks' parameters cell and the API all read it;
flags and arguments override it; ``run_summary.json`` records the effective settings.

The file is TOML::

    seed = 42
    workshops = []            # ids from workshops.csv; empty = all

    [ingest]
    spacy_model = "fr_core_news_md"
    engine = "local"          # local | dask (same results; see consultations.core.engine)
    workers = 0               # 0 = as many as cores
    scheduler = ""            # tcp://host:8786 for a Dask cluster; empty = a local one

    [topics]
    n_topics = "auto"         # or a number
    embedding = "default"     # default | tfidf-svd | sif | concat | st:/path/to/model
    ...

    [coding]  [compare]  [recommendations]  [evidence]  [report]
    # each stage's parameters (``consultations init`` writes them out with their defaults)

Unknown sections or keys are an error naming the file and line, so a typo never silently
falls back to a default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from consultations.core.config import Settings
from consultations.core.engine import ENGINES
from consultations.core.errors import InputError

__all__ = ["SETTINGS_FILE", "STAGE_SECTIONS", "load_settings", "render_settings",
           "settings_as_dict"]

SETTINGS_FILE = "consultations.toml"

#: Sections of free per-stage parameters (kept in ``Settings.extra``).
STAGE_SECTIONS = ("coding", "compare", "recommendations", "evidence", "report")
#: Keys of ``[ingest]`` kept in ``Settings.extra["ingest"]`` (read by the ingest stage).
_INGEST_EXTRA = {"strict", "stage_directions", "batch_chars"}
_TOP = {"seed", "workshops"}
_SECTIONS = {
    "ingest": {"spacy_model", "engine", "workers", "scheduler", "strict", "stage_directions",
               "batch_chars"},
    "topics": {"n_topics", "embedding", "reduction", "clustering", "embedding_model_path",
               "topic_sample_size"},
}


def _line_of(text: str, key: str, section: str | None = None) -> int | None:
    """Best-effort line number of ``key`` (in ``[section]``) for error messages."""
    current = None
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        m = re.match(r"^\[([^\]]+)\]", stripped)
        if m:
            current = m.group(1).strip()
            if section and current == section and key == section:
                return n
            continue
        if current == section and re.match(rf"^{re.escape(key)}\s*=", stripped):
            return n
    return None


def load_settings(path: str | Path | None, base: Settings | None = None,
                  known: Mapping[str, Iterable[str]] | None = None, **overrides) -> Settings:
    """Read a settings file into :class:`Settings` (defaults when ``path`` is missing).

    Args:
        path: ``consultations.toml`` (or a data folder holding one); ``None`` or a missing
            file gives the defaults.
        base: settings to start from (default :class:`Settings()`).
        known: stage section → its documented keys; a key of the file outside them is an
            error (sections not listed are not checked).
        **overrides: values that win over the file (flags, API arguments); ``None`` values
            are ignored. Stage sections can be overridden with a dict (``compare={...}``).

    Raises:
        InputError: invalid TOML, an unknown section or key, or a value of the wrong type
            (file and line named).

    """
    settings = base or Settings()
    file = None
    if path is not None:
        p = Path(path)
        file = p / SETTINGS_FILE if p.is_dir() else p
    values: dict = {}
    extra: dict = {k: dict(v) for k, v in settings.extra.items()}
    if file is not None and file.exists():
        text = file.read_text(encoding="utf-8-sig")
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            raise InputError(file, int(m.group(1)) if m else None,
                             f"fichier de réglages illisible ({exc}).",
                             "corrigez la syntaxe TOML, ou recréez le fichier avec "
                             "`consultations init --force`.") from exc
        for key, val in doc.items():
            if key in _TOP:
                values[key] = val
            elif key in _SECTIONS and isinstance(val, Mapping):
                for k, v in val.items():
                    if k not in _SECTIONS[key]:
                        raise InputError(file, _line_of(text, k, key),
                                         f"réglage inconnu « {k} » dans [{key}].",
                                         "réglages possibles : "
                                         f"{', '.join(sorted(_SECTIONS[key]))}.")
                    if key == "ingest" and k in _INGEST_EXTRA:
                        extra.setdefault("ingest", {})[k] = v
                    else:
                        values[k] = v
            elif key in STAGE_SECTIONS and isinstance(val, Mapping):
                allowed = set((known or {}).get(key, ()))
                for k in val:
                    if allowed and k not in allowed:
                        raise InputError(file, _line_of(text, k, key),
                                         f"réglage inconnu « {k} » dans [{key}].",
                                         "réglages possibles : "
                                         f"{', '.join(sorted(allowed))}.")
                extra[key] = {**extra.get(key, {}), **dict(val)}
            else:
                raise InputError(file, _line_of(text, key, key) or _line_of(text, key),
                                 f"section ou réglage inconnu « {key} ».",
                                 "sections possibles : " + ", ".join(
                                     [*sorted(_TOP), *_SECTIONS, *STAGE_SECTIONS]) + ".")
        values["source"] = str(file)
    for key, val in overrides.items():
        if val is None:
            continue
        if key in STAGE_SECTIONS or key == "ingest":
            extra[key] = {**extra.get(key, {}), **dict(val)}
        else:
            values[key] = val
    if "n_topics" in values:
        nt = values["n_topics"]
        if isinstance(nt, str) and nt.strip().lower() in {"auto", ""}:
            values["n_topics"] = None
        elif not (isinstance(nt, int) and nt >= 2):
            raise InputError(file, _line_of(text, "n_topics", "topics") if file else None,
                             f"n_topics doit être « auto » ou un entier ≥ 2 (lu : {nt!r}).",
                             "écrivez par exemple n_topics = 8.")
    if "topic_sample_size" in values:
        ss = values["topic_sample_size"]
        if not (isinstance(ss, int) and not isinstance(ss, bool) and (ss == 0 or ss >= 100)):
            raise InputError(file, _line_of(text, "topic_sample_size", "topics") if file else None,
                             f"topic_sample_size doit être 0 ou un entier ≥ 100 (lu : {ss!r}).",
                             "écrivez par exemple topic_sample_size = 20000 (0 : jamais "
                             "d'échantillon).")
    if "embedding_model_path" in values and not values["embedding_model_path"]:
        values["embedding_model_path"] = None
    if "engine" in values and values["engine"] not in ENGINES:
        raise InputError(file, _line_of(text, "engine", "ingest") if file else None,
                         f"engine doit être l'un de {', '.join(ENGINES)} "
                         f"(lu : {values['engine']!r}).",
                         'écrivez engine = "local" ou engine = "dask".')
    if "workers" in values:
        wk = values["workers"]
        if wk in ("", 0, None):
            values["workers"] = None
        elif not (isinstance(wk, int) and not isinstance(wk, bool) and wk >= 1):
            raise InputError(file, _line_of(text, "workers", "ingest") if file else None,
                             f"workers doit être un entier ≥ 1, ou 0 pour autant que de "
                             f"cœurs (lu : {wk!r}).", "écrivez par exemple workers = 2.")
    if "scheduler" in values and not values["scheduler"]:
        values["scheduler"] = None
    bc = (extra.get("ingest") or {}).get("batch_chars")
    if bc is not None and not (isinstance(bc, int) and not isinstance(bc, bool) and bc >= 1):
        raise InputError(file, _line_of(text, "batch_chars", "ingest")
                         if file is not None and file.exists() else None,
                         f"batch_chars doit être un entier ≥ 1 (lu : {bc!r}).",
                         "écrivez par exemple batch_chars = 100000.")
    if "seed" in values and not isinstance(values["seed"], int):
        raise InputError(file, None, f"seed doit être un entier (lu : {values['seed']!r}).",
                         "écrivez par exemple seed = 42.")
    if "workshops" in values:
        ws = values["workshops"]
        if isinstance(ws, str):
            ws = [w for w in re.split(r"[,\s]+", ws) if w]
        values["workshops"] = tuple(str(w) for w in ws)
    return settings.with_(**values, extra=extra)


def settings_as_dict(settings: Settings) -> dict:
    """Return the effective settings as a JSON-ready dict (for ``run_summary.json``)."""
    return {
        "source": settings.source,
        "seed": settings.seed,
        "workshops": list(settings.workshops),
        "ingest": {"spacy_model": settings.spacy_model, "engine": settings.engine,
                   "workers": settings.workers or 0, "scheduler": settings.scheduler or "",
                   **dict(settings.extra.get("ingest") or {})},
        "topics": {"n_topics": settings.n_topics if settings.n_topics else "auto",
                   "embedding": settings.embedding, "reduction": settings.reduction,
                   "clustering": settings.clustering,
                   "embedding_model_path": settings.embedding_model_path or "",
                   "topic_sample_size": settings.topic_sample_size},
        **{k: dict(v) for k, v in sorted(settings.extra.items()) if k != "ingest"},
    }


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if v is None:
        return '""'
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_settings(settings: Settings, stage_defaults: Mapping[str, Mapping]) -> str:
    """Write a documented settings file with every value (defaults filled in).

    Args:
        settings: the values to write (usually the defaults).
        stage_defaults: per-stage section → its documented defaults (from the stage modules).

    """
    d = settings_as_dict(settings)
    lines = [
        "# Réglages du projet `consultations` (TOML). Lu par `consultations run`, les carnets",
        "# et l'API ; les options de la ligne de commande l'emportent sur ce fichier.",
        "# Modifier un réglage ne relance que les étapes qui en dépendent.",
        "",
        "# Graine de toutes les étapes aléatoires (mêmes entrées + même graine = mêmes résultats).",
        f"seed = {d['seed']}",
        "# Ateliers retenus (identifiants de workshops.csv) ; liste vide = tous.",
        f"workshops = {_toml_value(d['workshops'])}",
        "",
        "[ingest]",
        "# Modèle spaCy français installé comme paquet (jamais téléchargé).",
        f"spacy_model = {_toml_value(d['ingest']['spacy_model'])}",
        "# Où tourne l'analyse spaCy : \"local\" (processus de cette machine) ou \"dask\"",
        "# (grappe Dask : scheduler = \"tcp://hôte:8786\" ; vide = grappe locale).",
        "# Mêmes résultats quel que soit le moteur ; workers = 0 : autant que de cœurs.",
        f"engine = {_toml_value(d['ingest']['engine'])}",
        f"workers = {_toml_value(d['ingest']['workers'])}",
        f"scheduler = {_toml_value(d['ingest']['scheduler'])}",
        "# Arrêter l'analyse sur une ligne qui ressemble à un libellé d'intervenant sans",
        "# correspondre à aucun participant (par défaut : la ligne reste dans le tour en cours",
        "# et est signalée avec son fichier et sa ligne).",
        f"strict = {_toml_value(d['ingest'].get('strict', False))}",
        "# Mots ou expressions qui ouvrent une didascalie entre parenthèses, en plus de la liste",
        "# intégrée (rires, applaudissements, exclamations…) : par ex. [\"tambours\"].",
        f"stage_directions = {_toml_value(d['ingest'].get('stage_directions', []))}",
        "",
        "[topics]",
        "# Nombre de thèmes émergents : \"auto\" (choisi par stabilité entre graines)",
        "# ou un entier.",
        f"n_topics = {_toml_value(d['topics']['n_topics'])}",
        "# Plongement : default | tfidf-svd | sif | concat | st:/chemin/vers/un/modèle/local",
        f"embedding = {_toml_value(d['topics']['embedding'])}",
        f"reduction = {_toml_value(d['topics']['reduction'])}",
        f"clustering = {_toml_value(d['topics']['clustering'])}",
        f"embedding_model_path = {_toml_value(d['topics']['embedding_model_path'])}",
        "# Au-delà de ce nombre de segments, les thèmes sont appris sur un échantillon tiré",
        "# avec la graine, puis chaque autre segment rejoint le thème le plus proche (0 : jamais).",
        f"topic_sample_size = {_toml_value(d['topics']['topic_sample_size'])}",
    ]
    for section in STAGE_SECTIONS:
        values = {**dict(stage_defaults.get(section, {})), **d.get(section, {})}
        if not values:
            continue
        lines += ["", f"[{section}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"
