"""Requests per row and rows/s of every `--on-existing` mode, side by side in one run.

    python benchmarks/modes.py [--rows 3000] [--latency-ms 50] [--workers 16]

Issue 17's set-up: a 3,000-row contacts file, half of whose people (every
other row) are in the database already with another first name, no
interests mapped, 16 workers, 50 ms sandbox latency. Each mode starts from a
copy of the same seeded database. Requests are the sandbox's own count of
every API call it answered (schema, count, pages, look-ups, writes), divided
by the file's rows; rows/s is the importer's own figure.

Targets: skip <= 0.55 requests per row, upsert <= 1.05, update <= 0.55, each
at >= 0.9x the rows/s of create.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _common import (
    PLAIN_MAPPING,
    cached_file,
    csv_rows,
    header,
    importer_run,
    results_statuses,
    run_rate,
    sandbox,
    seeded_database,
    work_dir,
    write_file,
    write_rows,
)

TARGETS = {"skip": 0.55, "update": 0.55, "upsert": 1.05}
SPEED_TARGET = 0.9


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=3000)
    p.add_argument("--latency-ms", type=float, default=50)
    p.add_argument("--workers", type=int, default=16)
    args = p.parse_args()
    header(f"modes: {args.rows:,} rows, half existing, {args.latency_ms:g} ms latency, {args.workers} workers")
    files = work_dir("files")
    file = cached_file("csv", args.rows, files)
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        mapping = write_file(tmp / "plain.yaml", PLAIN_MAPPING)
        head, rows = csv_rows(file)
        first = head.index("First name")
        existing = [[*r[:first], "Old" + r[first], *r[first + 1:]] for r in rows[1::2]]
        seed_db = tmp / "seed.sqlite"
        seeded_database(seed_db, write_rows(tmp / "existing.csv", head, existing), mapping)
        print(f"database: {len(existing):,} of the {len(rows):,} people, with another first name")
        print(f"{'mode':>7} {'requests':>8} {'per row':>8} {'rows/s':>7} {'x create':>8}  outcome")
        figures: dict[str, tuple[float, float]] = {}
        for mode in ("create", "skip", "update", "upsert"):
            db = tmp / f"{mode}.sqlite"
            shutil.copy(seed_db, db)
            with sandbox("--latency-ms", str(args.latency_ms), db=db) as sb:
                results = tmp / f"{mode}.results.csv"
                run = importer_run(file, sb.api_url, results, "--on-existing", mode, "--workers", str(args.workers),
                                   mapping=mapping)
                requests = sb.stats()["requests"]
            rate = run_rate(run)
            figures[mode] = (requests / len(rows), rate)
            ratio = rate / figures["create"][1]
            print(f"{mode:>7} {requests:>8,} {requests / len(rows):>8.3f} {rate:>7,.0f} {ratio:>8.2f}  "
                  f"{results_statuses(results)}")
        for mode, target in TARGETS.items():
            per_row, rate = figures[mode]
            ratio = rate / figures["create"][1]
            ok = per_row <= target and ratio >= SPEED_TARGET
            print(f"{mode}: {per_row:.3f} requests per row (target <= {target}), {ratio:.2f}x the rows/s of create "
                  f"(target >= {SPEED_TARGET}): {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
