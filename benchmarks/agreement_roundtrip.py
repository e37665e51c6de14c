"""Agreement after REFI-QDA round trips: what reaches the intercoder figures.

On a copy of the sample (``--data``, default ``data/``), prints the overall kappa and alpha
and the rules' macro F1 on the held-out workshops for:

1. the sample as committed (declared double coders in ``coded/coders.csv``);
2. plus ``project.qdpx`` sent through a QualCoder-style export (``tests/qualcoder_style.py``)
   into ``coded/qdpx/``;
3. plus 4 codings by a new user in a ``.qdpx`` (not a declared double coder);
4. the same without ``coders.csv`` (the former behaviour: every coder counts).

Run: ``.venv/bin/python benchmarks/agreement_roundtrip.py``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    """Run the four scenarios and print one line each."""
    from qualcoder_style import rewrite_as_qualcoder

    from consultations.coding.codebook import load_codebook
    from consultations.core.config import Settings, get_paths
    from consultations.core.schema import TABLES
    from consultations.interop import refiqda
    from consultations.pipeline import Catalog, run_pipeline

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "data"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="agreement_roundtrip_"))
    try:
        for sub in ("transcripts", "coded"):
            shutil.copytree(Path(args.data) / sub, tmp / "data" / sub,
                            ignore=shutil.ignore_patterns(".anchors"))
        paths = get_paths(tmp / "data", tmp / "reports")

        def run(tag: str) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s = run_pipeline(paths, Settings(), stages=["code"],
                                 progress=lambda m: None)["stages"]["code"]
            print(f"{tag:<48} kappa {s.get('agreement_overall_kappa', float('nan')):.3f}  "
                  f"alpha {s.get('agreement_overall_alpha', float('nan')):.3f}  "
                  f"F1 règles (test) {s.get('rules_macro_f1_test', float('nan')):.3f}  "
                  f"hors accord {s.get('other_coders', {})}")

        run("1. échantillon (coders.csv)")
        cat = Catalog(paths)
        cb = load_codebook(paths.coded / "codebook.yaml")
        project = refiqda.project_to_qdpx(cat["segments"], cat["codings"], cb["codebook"],
                                          None, None, cb["version"], tmp / "project.qdpx")
        rewrite_as_qualcoder(project, paths.coded / "qdpx" / "retour_qualcoder.qdpx")
        run("2. + project.qdpx via QualCoder")
        sub = pd.read_csv(paths.coded / "double_coding_subset.csv")["segment_id"].tolist()[:4]
        rows = pd.DataFrame({"segment_id": sub, "code_id": list(cb["codebook"]["code_id"][:4]),
                             "source": "manual", "coder": "Nouvelle"})
        for col in TABLES["codings"]:
            if col not in rows:
                rows[col] = None
        refiqda.project_to_qdpx(cat["segments"], rows[TABLES["codings"]], cb["codebook"], None,
                                None, cb["version"], paths.coded / "qdpx" / "nouvelle.qdpx")
        run("3. + 4 codages d'une nouvelle codeuse")
        (paths.coded / "coders.csv").unlink()
        run("4. idem sans coders.csv (tous les codeurs)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
