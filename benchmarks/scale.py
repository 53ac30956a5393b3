"""Scale: `check` and `run --dry-run` at 10k, 100k and 1M rows (CSV and
XLSX), and the memory of a real `run` at 20k and 200k rows.

    python benchmarks/scale.py [--sizes 10000 100000 1000000] [--kinds csv xlsx]
                               [--xlsx-max 100000] [--run-sizes 20000 200000] [--skip-run]

Each figure comes from a child process: rows/s from its wall time (start-up
included), peak RSS from the kernel (ru_maxrss via os.wait4). The check speed
is shown as a ratio to a bare `pandas.read_csv(dtype=str)` of the same file,
also in a child process. Targets: `check` on 1M CSV rows under 300 MB and at
least 20,000 rows/s; the RSS of `run` grows by less than 50 MB from 20k to
200k rows. Generated files are kept in $BENCH_DIR (default /tmp/copernica-bench).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _common import (
    cached_file,
    header,
    importer_check,
    importer_run,
    results_statuses,
    run_child,
    sandbox,
    work_dir,
)

CHECK_RSS_TARGET_MB, CHECK_RATE_TARGET, RUN_GROWTH_TARGET_MB = 300, 20_000, 50
PANDAS_READ = "import sys, pandas; print(len(pandas.read_csv(sys.argv[1], dtype=str, keep_default_na=False)))"


def dry_run(file: Path):
    from _common import MAPPING, SCHEMA
    with tempfile.TemporaryDirectory() as tmp:
        return run_child([sys.executable, "-m", "importer", "run", str(file), "--mapping", str(MAPPING),
                          "--schema", str(SCHEMA), "--dry-run", "--quiet",
                          "--results", str(Path(tmp) / "r.csv")], cwd=Path(tmp))


def scale_table(sizes: list[int], kinds: list[str], xlsx_max: int) -> None:
    print(f"{'file':>14} {'command':>10} {'rows/s':>9} {'peak MB':>8} {'wall s':>7}  vs pandas.read_csv")
    files = work_dir("files")
    for kind in kinds:
        for rows in sizes:
            if kind == "xlsx" and rows > xlsx_max:
                print(f"{f'{rows:,} {kind}':>14} skipped (over --xlsx-max {xlsx_max:,})")
                continue
            file = cached_file(kind, rows, files)
            check = importer_check(file)
            if check.returncode != 0:
                sys.exit(f"check failed on {file}:\n{check.stdout[-2000:]}\n{check.stderr[-2000:]}")
            ratio = ""
            if kind == "csv":
                bare = run_child([sys.executable, "-c", PANDAS_READ, str(file)])
                ratio = f"{bare.wall / check.wall:.2f}x the speed ({rows / bare.wall:,.0f} rows/s, " \
                        f"{bare.max_rss_mb:,.0f} MB)"
            print(f"{f'{rows:,} {kind}':>14} {'check':>10} {rows / check.wall:>9,.0f} {check.max_rss_mb:>8,.0f} "
                  f"{check.wall:>7.1f}  {ratio}")
            dry = dry_run(file)
            print(f"{'':>14} {'--dry-run':>10} {rows / dry.wall:>9,.0f} {dry.max_rss_mb:>8,.0f} {dry.wall:>7.1f}")
            if kind == "csv" and rows == 1_000_000:
                ok = check.max_rss_mb < CHECK_RSS_TARGET_MB and rows / check.wall >= CHECK_RATE_TARGET
                print(f"{'':>14} check at 1M CSV rows: {'met' if ok else 'MISSED'} "
                      f"(targets < {CHECK_RSS_TARGET_MB} MB and >= {CHECK_RATE_TARGET:,} rows/s)")


def run_memory(sizes: list[int]) -> None:
    print("memory of a real `run` (no added latency, 16 workers):")
    peaks = []
    for rows in sizes:
        file = cached_file("csv", rows, work_dir("files"))
        with sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
            results = Path(tmp) / "results.csv"
            run = importer_run(file, sb.api_url, results, "--workers", "16")
            statuses = results_statuses(results)
        peaks.append(run.max_rss_mb)
        print(f"{rows:>9,} rows: peak {run.max_rss_mb:,.0f} MB, {rows / run.wall:,.0f} rows/s, {statuses}")
    growth = peaks[-1] - peaks[0]
    print(f"growth {sizes[0]:,} -> {sizes[-1]:,} rows: {growth:+,.0f} MB "
          f"({'met' if growth < RUN_GROWTH_TARGET_MB else 'MISSED'}, target < {RUN_GROWTH_TARGET_MB} MB)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--kinds", nargs="+", default=["csv", "xlsx"], choices=["csv", "xlsx"])
    p.add_argument("--xlsx-max", type=int, default=1_000_000,
                   help="skip XLSX files larger than this (openpyxl reads ~7k rows/s)")
    p.add_argument("--run-sizes", type=int, nargs=2, default=[20_000, 200_000])
    p.add_argument("--skip-run", action="store_true", help="skip the memory of a real run")
    p.add_argument("--skip-scale", action="store_true", help="only the memory of a real run")
    args = p.parse_args()
    header("scale: check and run --dry-run; memory of a real run")
    if not args.skip_scale:
        scale_table(args.sizes, args.kinds, args.xlsx_max)
    if not args.skip_run:
        run_memory(args.run_sizes)


if __name__ == "__main__":
    main()
