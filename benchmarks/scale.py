"""Scale benchmark: per-stage time, CPU and peak memory at growing corpus sizes (issue 12).

    PYTHONPATH=src python benchmarks/scale.py [--sizes 10000,100000] [--stages ingest,code]
                                              [--big-file-mb 20] [--json out.json]

A corpus of about N segments is built by replicating the sample transcripts (data/) and, when
present, ``../shared/datasets/an-mariage-pour-tous-2013`` (real parliamentary debates) under new
workshop ids. Each stage then runs in its own child process (``consultations <stage>``, the
stages before it served from the cache), and the script records its wall time, CPU time
(the child and its workers) and peak memory: the child's own peak RSS (``wait4``) and the peak
of the sum over its process tree (workers included, proportional set size so that pages
shared by forked workers count once; sampled with psutil every 0.2 s for 10 s, then every second).

The NLP speed-up is measured in the same invocation: ingest runs cold with ``--workers 1``, its
batch parts are deleted, then it runs cold again with ``--workers 2``; the ratio of the two wall
times is printed. The growth exponent of each stage is the slope of log(time) (and
log(peak RSS)) against log(segments) over the sizes run.

``--big-file-mb 20`` also ingests one transcript of that size (the sample's speech repeated in
one file) and prints its peak memory: the bound a single large file stays under.

The machine this runs on matters: on shared cores the speed-up and times are noisy (other jobs
take CPU); the script prints the load average before each size so a reader can judge.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets" / "an-mariage-pour-tous-2013"
STAGES = ["ingest", "code", "topics", "compare", "evidence", "export"]
#: Words in the files per segment made, measured: the sample (short turns), the debates.
WORDS_PER_SEGMENT = {"sample": 13.4, "debates": 17.8}
#: Where the children import consultations from: this process's copy (run the benchmark on
#: a snapshot of src/ to edit the tree meanwhile without changing the stages' cache keys).
SRC = Path(__import__("consultations").__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- corpus

def _rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _write_rows(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    wr = csv.DictWriter(buf, fieldnames=list(rows[0]))
    wr.writeheader()
    wr.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _sets(use_shared: bool) -> list[Path]:
    out = [ROOT / "data" / "transcripts"]
    if use_shared and SHARED.is_dir():
        out.append(SHARED / "transcripts")
    return out


def _words(tdir: Path) -> int:
    from consultations.ingest import readers

    return sum(len(readers.read_text_file(tdir / w["file"]).text.split())
               for w in _rows(tdir / "workshops.csv"))


def build_corpus(dst: Path, segments: int, use_shared: bool = True) -> int:
    """Write a data folder of about ``segments`` segments; return the number of copies."""
    sets = _sets(use_shared)
    per_copy = sum(_words(t) / WORDS_PER_SEGMENT["sample" if k == 0 else "debates"]
                   for k, t in enumerate(sets))
    copies = max(1, math.ceil(segments / per_copy))
    tdir = dst / "transcripts"
    tdir.mkdir(parents=True)
    (dst / "coded").mkdir()
    shutil.copyfile(ROOT / "data" / "coded" / "codebook.yaml", dst / "coded" / "codebook.yaml")
    w_out, p_out = [], []
    for k, src in enumerate(sets):
        ws, ps = _rows(src / "workshops.csv"), _rows(src / "participants.csv")
        for c in range(copies):
            for w in ws:
                wid = f"{w['workshop_id']}C{c:04d}"
                name = f"s{k}c{c:04d}_{w['file']}"
                shutil.copyfile(src / w["file"], tdir / name)
                w_out.append({"workshop_id": wid, "title": w.get("title", ""),
                              "date": w.get("date", ""), "location": w.get("location", ""),
                              "file": name, "recommendations_file": ""})
                p_out += [{"workshop_id": wid, "speaker": p["speaker"],
                           "stakeholder_group": p["stakeholder_group"],
                           "role": p.get("role", ""), "gender": p.get("gender", "")}
                          for p in ps if p["workshop_id"] == w["workshop_id"]]
    _write_rows(tdir / "workshops.csv", w_out)
    _write_rows(tdir / "participants.csv", p_out)
    copy_human_codings(dst / "coded")
    return copies


def copy_human_codings(coded: Path) -> None:
    """The sample's human codings, on its first copy: the learned suggestions run at scale.

    Manual files, the double-coding subset and ``coders.csv``, with each segment ID moved to
    the first copy's workshop (``ATL1-…`` → ``ATL1C0000-…``): a large corpus with a small
    double-coded subset, as a real consultation would have.
    """
    import re

    src = ROOT / "data" / "coded"

    def moved(text: str) -> str:
        return re.sub(r"(?m)(^|,)(ATL\d+)-", r"\1\2C0000-", text)

    if (src / "manual").is_dir():
        (coded / "manual").mkdir(exist_ok=True)
        for f in sorted((src / "manual").glob("*.csv")):
            (coded / "manual" / f.name).write_text(moved(f.read_text(encoding="utf-8-sig")),
                                                   encoding="utf-8")
    for name in ("double_coding_subset.csv", "coders.csv"):
        if (src / name).exists():
            (coded / name).write_text(moved((src / name).read_text(encoding="utf-8-sig")),
                                      encoding="utf-8")


def build_big_file(dst: Path, megabytes: int) -> None:
    """One workshop whose transcript is the first sample transcript repeated to ``megabytes``."""
    src = ROOT / "data" / "transcripts"
    w = next(r for r in _rows(src / "workshops.csv") if r["file"].endswith(".txt"))
    ps = [p for p in _rows(src / "participants.csv") if p["workshop_id"] == w["workshop_id"]]
    text = (src / w["file"]).read_text(encoding="utf-8-sig")
    reps = max(1, math.ceil(megabytes * 1_000_000 / len(text.encode("utf-8"))))
    tdir = dst / "transcripts"
    tdir.mkdir(parents=True)
    (tdir / "big.txt").write_text("\n".join([text] * reps), encoding="utf-8")
    _write_rows(tdir / "workshops.csv", [{**w, "file": "big.txt", "recommendations_file": ""}])
    _write_rows(tdir / "participants.csv", ps)


# ---------------------------------------------------------------------------- measuring

def _tree_rss(pid: int) -> int:
    import psutil

    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for q in procs:
        try:  # PSS: pages shared by forked workers are counted once, not once per process
            total += q.memory_full_info().pss
        except (psutil.Error, AttributeError):
            try:
                total += q.memory_info().rss
            except psutil.Error:
                pass
    return total


def run_stage(stage: str, data: Path, out: Path, workers: int, *, force: bool = False,
              extra: list[str] | None = None) -> dict:
    """Run ``consultations <stage>`` in a child; return wall, CPU and peak memory."""
    cmd = [sys.executable, "-m", "consultations.cli", stage, "--data", str(data), "--out",
           str(out), "--workers", str(workers)] + (["--force"] if force else []) + (extra or [])
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak, sampler_cpu = [0], [0.0]
    stop = threading.Event()

    def sample():
        # Reading every process's PSS costs CPU (the kernel walks their page tables): every
        # 0.2 s for the first 10 s, then every second, so that the sampler does not take a
        # core's share from the stage's workers (its CPU time is reported as sampler_cpu_s).
        t_start = time.perf_counter()
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            sampler_cpu[0] = time.thread_time()
            stop.wait(0.2 if time.perf_counter() - t_start < 10 else 1.0)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    th.join()
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"consultations {stage} failed on {data}:\n{err[-3000:]}")
    res = {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
           "peak_rss_mb": round(usage.ru_maxrss / 1024),
           "tree_peak_rss_mb": round(peak[0] / 2**20),
           "sampler_cpu_s": round(sampler_cpu[0], 1),
           "load_avg": [round(load0, 1), round(os.getloadavg()[0], 1)]}
    summary = out_summary(out, stage)
    if stage == "ingest" and summary.get("nlp", {}).get("seconds_batches") is not None:
        res["nlp_batches_s"] = summary["nlp"]["seconds_batches"]
    return res


def out_summary(out_dir: Path, stage: str) -> dict:
    """The stage's entry of the run summary the child wrote (empty when absent)."""
    p = out_dir / "run_summary.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))["stages"].get(stage, {})
    except (OSError, ValueError, KeyError):
        return {}


def _n_segments(data: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(data / "interim" / "segments.parquet").metadata.num_rows


def _slope(xs: list[float], ys: list[float]) -> float | None:
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return round(sum((p[0] - mx) * (p[1] - my) for p in pts) / den, 2) if den else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000",
                    help="target segment counts, comma-separated (e.g. 10000,100000,300000)")
    ap.add_argument("--stages", default=",".join(STAGES),
                    help="stages to measure, in order (ingest is always run)")
    ap.add_argument("--workers", type=int, default=2, help="workers of the parallel runs")
    ap.add_argument("--no-shared", action="store_true",
                    help="replicate the sample only (not ../shared/datasets)")
    ap.add_argument("--no-speedup", action="store_true",
                    help="skip the 1-worker ingest run (no speed-up figure)")
    ap.add_argument("--big-file-mb", type=int, default=0,
                    help="also ingest one transcript of this many MB")
    ap.add_argument("--json", type=Path, default=None, help="write the results here too")
    ap.add_argument("--keep", action="store_true", help="keep the temporary corpora")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    stages = [s for s in args.stages.split(",") if s]
    if "ingest" not in stages:
        stages.insert(0, "ingest")
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    results: dict = {"sizes": [], "big_file": None, "cpu_count": os.cpu_count()}
    try:
        for size in sizes:
            d = tmp / f"n{size}"
            copies = build_corpus(d / "data", size, use_shared=not args.no_shared)
            load = os.getloadavg()
            print(f"\n== target {size:,} segments ({copies} copies; load average "
                  f"{load[0]:.1f} {load[1]:.1f} on {os.cpu_count()} cores)", flush=True)
            row: dict = {"target": size, "copies": copies, "load_avg": round(load[0], 1),
                         "stages": {}}
            if not args.no_speedup:
                one = run_stage("ingest", d / "data", d / "reports", 1)
                row["ingest_1_worker"] = one
                print(f"  ingest (1 worker)   {one}", flush=True)
                shutil.rmtree(d / "data" / "interim" / "cache" / "ingest", ignore_errors=True)
            for stage in stages:
                force = stage == "ingest" and not args.no_speedup
                m = run_stage(stage, d / "data", d / "reports", args.workers, force=force)
                row["stages"][stage] = m
                print(f"  {stage:<8} ({args.workers} workers) {m}", flush=True)
            row["segments"] = _n_segments(d / "data")
            row["words"] = out_summary(d / "reports", "ingest").get("words")
            if not args.no_speedup:
                one, two = row["ingest_1_worker"], row["stages"]["ingest"]
                row["nlp_speedup"] = round(one["wall_s"] / two["wall_s"], 2)
                if one.get("nlp_batches_s") and two.get("nlp_batches_s"):
                    row["nlp_batches_speedup"] = round(one["nlp_batches_s"]
                                                       / two["nlp_batches_s"], 2)
                print(f"  segments {row['segments']:,}; ingest speed-up 1 → {args.workers} "
                      f"workers: ×{row['nlp_speedup']} (the NLP batches alone: "
                      f"×{row.get('nlp_batches_speedup')})", flush=True)
            results["sizes"].append(row)
            if not args.keep:
                shutil.rmtree(d, ignore_errors=True)
        if args.big_file_mb:
            d = tmp / "big"
            build_big_file(d / "data", args.big_file_mb)
            m = run_stage("ingest", d / "data", d / "reports", args.workers)
            m["segments"] = _n_segments(d / "data")
            results["big_file"] = {"megabytes": args.big_file_mb, **m}
            print(f"\n== one {args.big_file_mb} MB transcript: {results['big_file']}")
        _print_table(results, stages)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def _print_table(results: dict, stages: list[str]) -> None:
    rows = results["sizes"]
    if not rows:
        return
    print("\n| segments | words | stage | wall s | CPU s | peak RSS MB (process) | "
          "peak PSS MB (tree) | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        for st in stages:
            m = r["stages"][st]
            print(f"| {r['segments']:,} | {r.get('words') or 0:,} | {st} | {m['wall_s']} | "
                  f"{m['cpu_s']} | {m['peak_rss_mb']} | {m['tree_peak_rss_mb']} | "
                  f"{m.get('load_avg')} |")
        if "ingest_1_worker" in r:
            m = r["ingest_1_worker"]
            print(f"| {r['segments']:,} | {r.get('words') or 0:,} | ingest, 1 worker | "
                  f"{m['wall_s']} | {m['cpu_s']} | {m['peak_rss_mb']} | "
                  f"{m['tree_peak_rss_mb']} | {m.get('load_avg')} |")
    if len(rows) >= 2:
        segs = [r["segments"] for r in rows]
        big = rows[-1]
        print("\nGrowth exponent (slope of log y against log segments) and projection to "
              "1,000,000 segments (largest size measured × (1M / its segments)^exponent):")
        for st in stages:
            t = _slope(segs, [r["stages"][st]["wall_s"] for r in rows])
            c = _slope(segs, [r["stages"][st]["cpu_s"] for r in rows])
            m = _slope(segs, [r["stages"][st]["tree_peak_rss_mb"] for r in rows])
            f = 1_000_000 / big["segments"]
            m_big = big["stages"][st]["tree_peak_rss_mb"]
            c_big = big["stages"][st]["cpu_s"]
            proj_m = round(m_big * f ** m) if m is not None else None
            proj_c = round(c_big * f ** c) if c is not None else None
            print(f"  {st:<8} time {t}  CPU {c}  peak RSS {m}  → 1M: CPU ≈ {proj_c} s, "
                  f"peak RSS ≈ {proj_m} MB")
    for r in rows:
        if "nlp_speedup" in r:
            print(f"NLP (ingest) speed-up, 1 → 2 workers at {r['segments']:,} segments: "
                  f"×{r['nlp_speedup']} for the stage, ×{r.get('nlp_batches_speedup')} for "
                  f"its NLP batches (load average {r['load_avg']} on "
                  f"{results['cpu_count']} cores when it ran)")


if __name__ == "__main__":
    main()
