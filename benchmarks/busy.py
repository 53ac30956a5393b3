"""The throughput ratio on a busy machine: `run` against the naive loop, start-up included,
while another process keeps a core busy.

    python benchmarks/busy.py [--rows 1600] [--naive-rows 400] [--latency-ms 50] [--repeat 3] [--quiet-too]

Both are measured in this run, with a CPU burner (`python -c "while True: pass"`)
running all along: the naive loop (one `requests.post` per row, no session,
in sequence), then `python -m importer run` of a 1,600-row contacts file at
the default 16 workers, timed from starting the process to its exit (start-up,
schema, every row, the summary). The sandbox (50 ms latency) runs in its own
process, as Copernica would be elsewhere. The naive loop's rate does not
depend on the number of rows (every row waits one round trip), so it runs on
fewer rows to keep the benchmark short. Target: >= 12x the naive loop.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from _common import cached_file, header, importer_run, results_statuses, sandbox, work_dir
from naive_loop import naive_rate

TARGET = 12.0


@contextmanager
def burner(active: bool = True):
    """A process that keeps one core busy while the block runs."""
    if not active:
        yield
        return
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def measure(rows: int, naive_rows: int, latency: float, repeat: int, busy: bool) -> float:
    files = work_dir("files")
    file = cached_file("csv", rows, files)
    with burner(busy):
        with sandbox("--latency-ms", str(latency)) as sb:
            naive = naive_rate(sb.api_url, cached_file("csv", max(naive_rows, 1000), files), naive_rows)
        rates = []
        for _ in range(repeat):
            with sandbox("--latency-ms", str(latency)) as sb, tempfile.TemporaryDirectory() as tmp:
                results = Path(tmp) / "results.csv"
                run = importer_run(file, sb.api_url, results)
                statuses = results_statuses(results)
            if statuses != {"created": rows}:
                sys.exit(f"the run did not create every row: {statuses}\n{run.stderr}")
            rates.append(rows / run.wall)
            print(f"  run: {run.wall:.2f} s from start to exit, {rows / run.wall:,.0f} rows/s "
                  f"({rows / run.wall / naive:.1f}x), importer CPU {run.cpu:.2f} s")
    rate = statistics.median(rates)
    ratio = rate / naive
    label = "busy (a core kept busy)" if busy else "quiet"
    print(f"{label}: naive loop {naive:,.1f} rows/s; run {rate:,.0f} rows/s (median of {repeat}), "
          f"{ratio:.1f}x the naive loop")
    return ratio


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1600)
    p.add_argument("--naive-rows", type=int, default=400)
    p.add_argument("--latency-ms", type=float, default=50)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quiet-too", action="store_true", help="also measure without the burner")
    args = p.parse_args()
    header(f"busy machine: {args.rows:,} rows at {args.latency_ms:g} ms, start-up included")
    if args.quiet_too:
        measure(args.rows, args.naive_rows, args.latency_ms, args.repeat, busy=False)
    ratio = measure(args.rows, args.naive_rows, args.latency_ms, args.repeat, busy=True)
    print(f"busy: {ratio:.1f}x the naive loop ({'met' if ratio >= TARGET else 'MISSED'}, target >= {TARGET:g}x)")


if __name__ == "__main__":
    main()
