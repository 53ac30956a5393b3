"""The results workbook's memory at scale: flat from 100,000 to 1,000,000 rows?

`--results out.xlsx` writes with openpyxl's write-only mode, which streams
rows to a temporary file and zips it when the run ends. This writes N result
lines of the sample layout (13 source columns, every status, reasons on the
invalid rows) through `importer.results.XlsxResultsWriter` in a child process
per size, and reads the child's peak RSS from the kernel (os.wait4). The CSV
writer is measured the same way beside it. The claim is a ratio measured in
one run: peak RSS at the largest size / peak RSS at the smallest.

    python benchmarks/results_xlsx.py                    # 100k and 1M rows, xlsx and csv (~6 min)
    python benchmarks/results_xlsx.py --sizes 10000 100000 --kinds xlsx

Output files go to $BENCH_DIR (default /tmp/copernica-bench) and are removed
after each size.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _common import HEADERS, contact_row  # noqa: E402

FLAT = 1.25      # peak RSS at the largest size may be at most this many times that at the smallest


def write(kind: str, rows: int, path: Path) -> None:
    """The child: write ``rows`` result lines to ``path`` (a workbook or a CSV)."""
    from importer.models import Outcome, Reason, Status
    from importer.results import open_results_writer

    rng = random.Random(7)
    invalid = Reason("invalid_email", "column {column!r}: {inner}",
                     {"column": "E-mail address", "inner": "'x@@y' is not a valid email address", "value": "x@@y"})
    writer = open_results_writer(path, HEADERS)
    for n in range(rows):
        values = dict(zip(HEADERS, contact_row(n, rng)))
        if n % 50 == 7:
            outcome = Outcome(n + 2, Status.INVALID, reasons=(invalid,))
        elif n % 40 == 3:
            outcome = Outcome(n + 2, Status.SKIPPED, reasons=(Reason("duplicate", "duplicate of row {row}",
                                                                        {"row": n}),))
        else:
            outcome = Outcome(n + 2, Status.CREATED, 100_000 + n, attempts=1, key=values["E-mail address"])
        writer.write(outcome, values)
    writer.close()


def measure(kind: str, rows: int, folder: Path) -> dict:
    path = folder / f"bench-results-{rows}.{kind}"
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, __file__, "--child", kind, str(rows), str(path)],
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"the {kind} writer failed at {rows:,} rows")
    size = path.stat().st_size
    path.unlink()
    return {"kind": kind, "rows": rows, "seconds": round(elapsed, 1), "rows_per_second": round(rows / elapsed),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "file_mb": round(size / 1e6, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["xlsx", "csv"], choices=["xlsx", "csv"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, rows, path = args.child
        write(kind, int(rows), Path(path))
        return 0
    folder = Path(os.environ.get("BENCH_DIR", "/tmp/copernica-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    results = [measure(kind, rows, folder) for kind in args.kinds for rows in sorted(args.sizes)]
    print(f"{'kind':<5} {'rows':>10} {'seconds':>8} {'rows/s':>8} {'peak RSS MB':>12} {'file MB':>8}")
    for r in results:
        print(f"{r['kind']:<5} {r['rows']:>10,} {r['seconds']:>8} {r['rows_per_second']:>8,} "
              f"{r['peak_rss_mb']:>12} {r['file_mb']:>8}")
    verdicts = []
    for kind in args.kinds:
        mine = [r for r in results if r["kind"] == kind]
        ratio = mine[-1]["peak_rss_mb"] / mine[0]["peak_rss_mb"]
        growth = mine[-1]["rows"] / mine[0]["rows"]
        verdict = "met" if ratio <= FLAT else "MISSED"
        verdicts.append(verdict)
        print(f"{kind}: peak RSS x{ratio:.2f} for x{growth:.0f} rows (flat means <= x{FLAT}): {verdict}")
    print(json.dumps(results))
    return 0 if all(v == "met" for v in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
