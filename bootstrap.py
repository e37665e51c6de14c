#!/usr/bin/env python3
"""Set up the environment and run the suite: the README's two commands.

    python3 bootstrap.py run    # build .venv if needed, then `consultations run` on data/
    python3 bootstrap.py test   # build .venv if needed, then every test, notebooks included

Only the Python standard library is used here, so this works on a fresh machine that has
Python 3.11 and access to the package registries. The virtual environment lives in `.venv/`
and is reused while `pyproject.toml` and this file are unchanged (a hash stamp records them).
Set CONSULTATIONS_VENV to put it elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("CONSULTATIONS_VENV", ROOT / ".venv"))
STAMP = VENV / ".consultations-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def _fingerprint() -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "bootstrap.py"):
        h.update((ROOT / name).read_bytes())
    h.update(sys.version.split()[0].encode())
    h.update(os.environ.get("CONSULTATIONS_EXTRAS", "").encode())
    return h.hexdigest()


def _run(cmd: list[str], **kw) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)


def ensure_env() -> None:
    """Create or update .venv so that it matches pyproject.toml (skipped when up to date)."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Python 3.11 is required (this is {sys.version.split()[0]}).")
    want = _fingerprint()
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == want:
        print(f"Environment {VENV} is up to date.", flush=True)
        return
    if not PY.exists():
        print(f"Creating virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    import tomllib

    no_deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["consultations"][
        "no-deps"]
    pip = [PY, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    steps = [
        pip + ["--upgrade", "pip", "setuptools", "wheel"],
        pip + ["-e", ".[dev]"],
        # BERTopic without sentence-transformers/torch: the offline default never needs them.
        pip + ["--no-deps", *no_deps],
    ]
    if os.environ.get("CONSULTATIONS_EXTRAS"):  # e.g. "transformers" for local ST models
        steps.append(pip + ["-e", f".[dev,{os.environ['CONSULTATIONS_EXTRAS']}]"])
    for step in steps:
        if _run(step) != 0:
            sys.exit("Installation failed (see the pip output above).")
    STAMP.write_text(want)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    # Offline by construction: no model hub is ever contacted.
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def cmd_run(args: list[str]) -> int:
    """Run the whole pipeline on data/ (or the folders given)."""
    ensure_env()
    return _run([BIN / "consultations", "run", *args], env=_env())


def ensure_browser() -> None:
    """In CI (root, Debian), install headless Chromium, poppler and the accessibility checker.

    Chromium and poppler come from apt; axe-core and puppeteer-core (which never downloads a
    browser) are installed by npm into ``tests/.node`` (git-ignored). On a user's machine nothing
    is installed: the tests that need them skip and say why.
    """
    import shutil

    if not os.environ.get("CI"):
        return
    missing = [pkg for pkg, exe in (("chromium", "chromium"), ("poppler-utils", "pdftotext"),
                                    ("nodejs", "node"), ("npm", "npm")) if not shutil.which(exe)]
    if missing and shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        for step in (["apt-get", "update", "-qq"],
                     ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]):
            if _run(step, stdout=subprocess.DEVNULL) != 0:
                print("Chromium/poppler/node could not be installed; the tests needing them "
                      "will skip.")
                return
    node_dir = ROOT / "tests" / ".node"
    if shutil.which("npm") and not (node_dir / "node_modules" / "axe-core").exists():
        node_dir.mkdir(parents=True, exist_ok=True)
        if not (node_dir / "package.json").exists():
            (node_dir / "package.json").write_text('{"private": true}\n', encoding="utf-8")
        env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"}
        if _run(["npm", "install", "--prefix", str(node_dir), "--no-audit", "--no-fund",
                 "axe-core@4", "puppeteer-core@24"], env=env, stdout=subprocess.DEVNULL) != 0:
            print("axe-core/puppeteer-core could not be installed; the accessibility test "
                  "will skip.")


def cmd_test(args: list[str]) -> int:
    """Run the package tests, then every notebook (nbval)."""
    ensure_env()
    ensure_browser()
    env = _env()
    rc = _run([PY, "-m", "pytest", *args], env=env)
    if rc != 0:
        return rc
    # Notebooks run from a temporary copy so that they can depend on nothing but the
    # installed package and the data folder (see tests/run_notebooks.py).
    return _run([PY, "tests/run_notebooks.py"], env=env)


def main() -> int:
    """Dispatch the sub-command."""
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "setup"}:
        print(__doc__)
        return 2
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "setup":
        ensure_env()
        return 0
    return {"run": cmd_run, "test": cmd_test}[cmd](rest)


if __name__ == "__main__":
    sys.exit(main())
