"""The importer's own CPU cost per 1,000 rows, against a sandbox with no
added latency (so the importer, not the network, sets the pace).

    python benchmarks/client_cost.py [--rows 2000 10000] [--workers 16]

CPU is the importer process's user+system time from the kernel (os.wait4),
the sandbox's own CPU is not counted. Two sizes give the start-up cost
(imports, schema) and the marginal cost per row separately.
Target: <= 1.0 CPU second per 1,000 rows.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import cached_file, header, importer_run, results_statuses, sandbox, work_dir

TARGET = 1.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs=2, default=[2000, 10000], metavar=("SMALL", "LARGE"))
    p.add_argument("--workers", type=int, default=16)
    args = p.parse_args()
    header(f"client cost: importer CPU per 1,000 rows, no added latency, {args.workers} workers")
    measured = {}
    for rows in args.rows:
        file = cached_file("csv", rows, work_dir("files"))
        with sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
            results = Path(tmp) / "results.csv"
            run = importer_run(file, sb.api_url, results, "--workers", str(args.workers))
            statuses = results_statuses(results)
        measured[rows] = run.cpu
        print(f"{rows:>7} rows: {run.cpu:6.2f} CPU s = {run.cpu / rows * 1000:.2f} CPU s / 1,000 rows "
              f"(wall {run.wall:.1f} s, {rows / run.wall:,.0f} rows/s incl. start-up; {statuses})")
    small, large = args.rows
    marginal = (measured[large] - measured[small]) / (large - small) * 1000
    startup = measured[small] - marginal * small / 1000
    total = measured[large] / large * 1000
    print(f"marginal: {marginal:.2f} CPU s / 1,000 rows; start-up: {startup:.2f} CPU s")
    print(f"client cost at {large:,} rows: {total:.2f} CPU s / 1,000 rows: "
          f"{'met' if total <= TARGET else 'MISSED'} (target <= {TARGET})")


if __name__ == "__main__":
    main()
