"""Run every notebook with nbval from a temporary copy of notebooks/.

A notebook run from a copy can rely on nothing but the installed package and the data folder
(no relative imports, no sys.path edits). Outputs go to a temporary reports folder so a test
run never touches the user's reports/. Exit status is pytest's (5, "no tests", counts as a
failure: a repository without notebooks would be a broken checkout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not notebooks:
        print("No notebook found in notebooks/: nothing to validate (this is a failure).")
        return 1
    with tempfile.TemporaryDirectory(prefix="nbval-") as tmp:
        work = Path(tmp) / "notebooks"
        work.mkdir()
        for nb in notebooks:
            shutil.copy2(nb, work / nb.name)
        env = dict(os.environ)
        env.setdefault("CONSULTATIONS_ROOT", str(ROOT))
        env.setdefault("CONSULTATIONS_DATA", str(ROOT / "data"))
        env["CONSULTATIONS_OUT"] = str(Path(tmp) / "reports")
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("MPLBACKEND", "Agg")
        cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider",
               "--rootdir", str(work), "-o", "testpaths=", "-q", str(work)]
        print("+", " ".join(cmd), flush=True)
        rc = subprocess.call(cmd, cwd=work, env=env)
    return 1 if rc == 5 else rc


if __name__ == "__main__":
    sys.exit(main())
