"""Benchmark `consultations run`: cold vs warm (cached) on the sample corpus, then ×N.

    .venv/bin/python benchmarks/run.py [--times 20]

Each run is a fresh `consultations run` process (what a user pays, imports included) on a
temporary copy of data/. Prints wall time, peak RSS of the child process, and ratios against
the cold run on the sample corpus measured in this same invocation. Targets (issue 6): cold under
3 minutes, warm under 20 seconds on the 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "consultations"


def _run(data: Path, out: Path) -> tuple[float, float]:
    """Run `consultations run` in a child process; return (seconds, that child's peak RSS MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(CLI), "run", "--data", str(data), "--out", str(out)],
                            stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # rusage of this child alone
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"consultations run failed ({proc.returncode}) on {data}")
    return seconds, usage.ru_maxrss / 1024


def _replicate(src: Path, dst: Path, times: int) -> None:
    """Copy data/ and list every workshop `times` times under new ids (same files)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("interim", "private"))
    tr = dst / "transcripts"
    with open(tr / "workshops.csv", encoding="utf-8") as fh:
        workshops = list(csv.DictReader(fh))
    with open(tr / "participants.csv", encoding="utf-8") as fh:
        participants = list(csv.DictReader(fh))
    w_out, p_out = [], []
    for i in range(times):
        for w in workshops:
            wid = w["workshop_id"] if i == 0 else f"{w['workshop_id']}R{i:02d}"
            w_out.append({**w, "workshop_id": wid})
            p_out += [{**p, "workshop_id": wid} for p in participants
                      if p["workshop_id"] == w["workshop_id"]]
    for name, rows in (("workshops.csv", w_out), ("participants.csv", p_out)):
        with open(tr / name, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    shutil.rmtree(dst / "coded" / "manual", ignore_errors=True)  # ids would not match


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--times", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("interim", "private"))
        cold, cold_mb = _run(data, tmp / "reports")
        warm, warm_mb = _run(data, tmp / "reports")
        big = tmp / f"data_x{args.times}"
        _replicate(ROOT / "data", big, args.times)
        bigt, big_mb = _run(big, tmp / "reports_big")
    print(f"{'run':<22}{'seconds':>10}{'peak MB':>10}{'ratio':>10}")
    print(f"{'sample, cold':<22}{cold:>10.1f}{cold_mb:>10.0f}{1.0:>10.2f}")
    print(f"{'sample, warm (cache)':<22}{warm:>10.1f}{warm_mb:>10.0f}{warm / cold:>10.2f}")
    print(f"{f'sample ×{args.times}, cold':<22}{bigt:>10.1f}{big_mb:>10.0f}{bigt / cold:>10.2f}")
    print(f"targets: cold < 180 s ({'ok' if cold < 180 else 'MISSED'}), "
          f"warm < 20 s ({'ok' if warm < 20 else 'MISSED'})")


if __name__ == "__main__":
    main()
