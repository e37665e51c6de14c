"""The package is laid out by stage: import contracts (import-linter) and no import cycle."""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import consultations
from consultations.pipeline import STAGE_SPECS, STAGES

ROOT = Path(__file__).resolve().parents[1]


def _graph():
    grimp = pytest.importorskip("grimp")
    return grimp.build_graph("consultations", include_external_packages=False)


def test_architecture_import_contracts_kept():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e .[dev])")
    res = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "BROKEN" not in res.stdout and res.stdout.count("KEPT") >= 3


def test_architecture_no_import_cycle():
    graph = _graph()
    modules = sorted(m for m in graph.modules if m.startswith("consultations."))
    cycles = []
    for m in modules:
        for imported in graph.find_modules_directly_imported_by(m):
            if graph.chain_exists(imported, m):
                cycles.append((m, imported))
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_architecture_no_private_name_crosses_a_module():
    import ast

    bad = []
    for path in (ROOT / "src" / "consultations").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "consultations"):
                bad += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                        if a.name.startswith("_") and a.name != "__version__"]
    assert not bad, bad


def test_architecture_stage_specs_cover_real_imports():
    """A stage's cache key hashes the code it runs: every package it imports is declared."""
    graph = _graph()
    for name, module in STAGES.items():
        used = {m.split(".")[1] for m in graph.find_upstream_modules(module)
                if m.count(".") >= 1} | {module.split(".")[1]}
        declared = set(STAGE_SPECS[name].code)
        assert used <= declared, f"{name}: imports {sorted(used - declared)} not in its spec"


def test_architecture_every_module_imports_and_dir_shows_api():
    for m in pkgutil.walk_packages(consultations.__path__, "consultations."):
        importlib.import_module(m.name)
    shown = dir(consultations)
    for name in ("open", "Project", "Settings", "load_settings", "STAGES", "TABLES"):
        assert name in shown
    assert consultations.open.__doc__ and consultations.Project.table.__doc__
