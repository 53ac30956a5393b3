"""Adaptive pacing: the sandbox accepts at most 10 requests in flight and
answers 503 "too many requests" beyond that; the importer may use 32.

    python benchmarks/adaptive.py [--capacity 10] [--workers 32] [--latency-ms 50] [--rows 6000]

Prints rows/s as a fraction of the server's capacity (capacity / latency),
the share of requests answered 503 (from the sandbox's own counters), and
the rows that failed. Targets: >= 85%, <= 2%, 0.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import cached_file, header, importer_run, results_statuses, sandbox, work_dir
from throughput import run_rate

TARGET_FRACTION, TARGET_503_SHARE = 0.85, 0.02


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--capacity", type=int, default=10)
    p.add_argument("--workers", type=int, default=32)
    p.add_argument("--latency-ms", type=float, default=50)
    p.add_argument("--rows", type=int, default=6000)
    args = p.parse_args()
    capacity_rate = args.capacity / (args.latency_ms / 1000)
    header(f"adaptive pacing: capacity {args.capacity} in flight, {args.latency_ms:g} ms latency, "
           f"--workers {args.workers}, {args.rows} rows")
    file = cached_file("csv", args.rows, work_dir("files"))
    with sandbox("--latency-ms", str(args.latency_ms), "--capacity", str(args.capacity)) as sb, \
            tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.csv"
        run = importer_run(file, sb.api_url, results, "--workers", str(args.workers))
        stats = sb.stats()
        statuses = results_statuses(results)
    rate = run_rate(run)
    fraction = rate / capacity_rate
    api_requests = sum(stats["by_status"].values())
    refused = stats["by_status"].get("503", 0)
    share = refused / api_requests if api_requests else 0.0
    failed = statuses.get("failed", 0) + statuses.get("unknown", 0)
    print(f"rows/s {rate:,.0f} of {capacity_rate:,.0f} possible: {fraction:.0%} "
          f"({'met' if fraction >= TARGET_FRACTION else 'MISSED'}, target >= {TARGET_FRACTION:.0%})")
    print(f"503 answers: {refused} of {api_requests} requests = {share:.2%} "
          f"({'met' if share <= TARGET_503_SHARE else 'MISSED'}, target <= {TARGET_503_SHARE:.0%})")
    print(f"rows failed: {failed} ({'met' if failed == 0 else 'MISSED'}, target 0); results: {statuses}; "
          f"stored {stats['profiles']}, sandbox max in flight {stats.get('max_in_flight')}")


if __name__ == "__main__":
    main()
