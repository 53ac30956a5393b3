"""Throughput at a fixed API latency, for several worker counts, side by side
with the naive sequential loop measured in the same run.

    python benchmarks/throughput.py [--latency-ms 50] [--workers 8 16 32] [--seconds 20]

Efficiency = rows/s / (workers / latency): 1.0 means every worker always has
a request in flight. Target: >= 0.9 at each worker count, and >= 12x the
naive loop at the default 16 workers.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import cached_file, header, importer_run, results_statuses, run_rate, sandbox, work_dir
from naive_loop import naive_rate

DEFAULT_WORKERS = 16
TARGET_EFFICIENCY = 0.9
TARGET_VS_NAIVE = 12.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latency-ms", type=float, default=50)
    p.add_argument("--workers", type=int, nargs="+", default=[8, 16, 32])
    p.add_argument("--seconds", type=float, default=20, help="aim each run at about this long (default 20)")
    p.add_argument("--naive-rows", type=int, default=200)
    args = p.parse_args()
    latency = args.latency_ms / 1000
    header(f"throughput at {args.latency_ms:g} ms latency, sandbox in its own process")
    files = work_dir("files")
    with sandbox("--latency-ms", str(args.latency_ms)) as sb:
        naive = naive_rate(sb.api_url, cached_file("csv", 1000, files), args.naive_rows)
    print(f"naive loop: {naive:,.1f} rows/s")
    print(f"{'workers':>7} {'rows':>6} {'rows/s':>8} {'ideal':>7} {'efficiency':>10} {'x naive':>8} "
          f"{'wall s':>7} {'cpu s':>6} {'server cpu s':>12}  outcome")
    verdicts = []
    for workers in args.workers:
        ideal = workers / latency
        rows = int(ideal * args.seconds // 1000 * 1000) or 1000
        file = cached_file("csv", rows, files)
        with sandbox("--latency-ms", str(args.latency_ms)) as sb, tempfile.TemporaryDirectory() as tmp:
            results = Path(tmp) / "results.csv"
            run = importer_run(file, sb.api_url, results, "--workers", str(workers))
            statuses = results_statuses(results)
            stored = sb.stats()["profiles"]
            server_cpu = sb.cpu_seconds()
        rate = run_rate(run)
        efficiency = rate / ideal
        ok = statuses == {"created": rows} and stored == rows
        print(f"{workers:>7} {rows:>6} {rate:>8,.0f} {ideal:>7,.0f} {efficiency:>10.2f} {rate / naive:>8.1f} "
              f"{run.wall:>7.1f} {run.cpu:>6.1f} {server_cpu:>12.1f}  {'all created' if ok else f'{statuses}, stored {stored}'}")
        verdicts.append(f"efficiency {efficiency:.2f} at {workers} workers: "
                        f"{'met' if efficiency >= TARGET_EFFICIENCY else 'MISSED'} (target {TARGET_EFFICIENCY})")
        if workers == DEFAULT_WORKERS:
            verdicts.append(f"{rate / naive:.1f}x naive at {workers} workers: "
                            f"{'met' if rate / naive >= TARGET_VS_NAIVE else 'MISSED'} (target {TARGET_VS_NAIVE:g}x)")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
