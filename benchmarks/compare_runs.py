"""Compare two runs: every interim table and the brief's text (used to check a refactor).

    python benchmarks/compare_runs.py DATA_A REPORTS_A DATA_B REPORTS_B

Prints the tables that differ (none after a pure refactor) and whether brief.html and the
text of brief.docx are identical. Exit status 1 when anything differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def main(data_a: str, out_a: str, data_b: str, out_b: str) -> int:
    a, b = Path(data_a) / "interim", Path(data_b) / "interim"
    names = sorted({p.stem for p in a.glob("*.parquet")} | {p.stem for p in b.glob("*.parquet")})
    diff = []
    for n in names:
        pa, pb = a / f"{n}.parquet", b / f"{n}.parquet"
        if not (pa.exists() and pb.exists()):
            diff.append((n, "absent d'un côté"))
            continue
        try:
            pd.testing.assert_frame_equal(pd.read_parquet(pa), pd.read_parquet(pb))
        except AssertionError as exc:
            diff.append((n, str(exc).splitlines()[0]))
    import docx

    def text(folder):
        return "\n".join(p.text for p in docx.Document(Path(folder) / "brief.docx").paragraphs)

    html = (Path(out_a) / "brief.html").read_bytes() == (Path(out_b) / "brief.html").read_bytes()
    same_docx = text(out_a) == text(out_b)
    print(f"{len(names)} tables compared; differing: {diff or 'none'}")
    print(f"brief.html identical: {html}; brief.docx text identical: {same_docx}")
    return 0 if not diff and html and same_docx else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
