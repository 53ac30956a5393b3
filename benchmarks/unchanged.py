"""Unchanged rows cost nothing: a file imported again into the database that holds it.

    python benchmarks/unchanged.py [--rows 20000] [--latency-ms 50]

The contacts file is imported (create mode, no latency), then imported again
with `--on-existing upsert` and `update`: unchanged, and with 1% of its rows
changed (another first name on every 100th row). Requests are the sandbox's
own count of every API call (schema, count, pages, writes) per row of the
file. Targets: the unchanged file costs <= 0.02 requests per row; the 1%
change costs about 0.01 + the pages.
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

UNCHANGED_TARGET = 0.02
SCHEMA_CALLS, COUNT_CALLS = 3, 1


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--latency-ms", type=float, default=50)
    args = p.parse_args()
    header(f"unchanged rows: {args.rows:,} rows imported again, {args.latency_ms:g} ms latency")
    file = cached_file("csv", args.rows, work_dir("files"))
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        mapping = write_file(tmp / "plain.yaml", PLAIN_MAPPING)
        seed_db = tmp / "seed.sqlite"
        seeded_database(seed_db, file, mapping)
        head, rows = csv_rows(file)
        first = head.index("First name")
        changed_rows = [[*r[:first], "New" + r[first], *r[first + 1:]] if n % 100 == 0 else r
                        for n, r in enumerate(rows)]
        changed = write_rows(tmp / "changed.csv", head, changed_rows)
        n_changed = sum(1 for n in range(len(rows)) if n % 100 == 0)
        pages = (len(rows) - 1000) // 999 + 2
        print(f"database: the file's {len(rows):,} people; {n_changed:,} rows changed in the second file; "
              f"{pages} pages of keys")
        print(f"{'file':>10} {'mode':>7} {'requests':>8} {'per row':>8} {'writes':>7} {'rows/s':>7}  outcome")
        verdicts = []
        for name, source in (("unchanged", file), ("1% changed", changed)):
            for mode in ("upsert", "update"):
                db = tmp / "run.sqlite"
                shutil.copy(seed_db, db)
                with sandbox("--latency-ms", str(args.latency_ms), db=db) as sb:
                    results = tmp / "results.csv"
                    run = importer_run(source, sb.api_url, results, "--on-existing", mode, mapping=mapping)
                    stats = sb.stats()
                per_row = stats["requests"] / len(rows)
                writes = stats["posts"] + stats["updated"]
                print(f"{name:>10} {mode:>7} {stats['requests']:>8,} {per_row:>8.4f} {writes:>7,} "
                      f"{run_rate(run):>7,.0f}  {results_statuses(results)}")
                if name == "unchanged":
                    verdicts.append(f"{mode}, unchanged: {per_row:.4f} requests per row "
                                    f"({'met' if per_row <= UNCHANGED_TARGET else 'MISSED'}, target <= "
                                    f"{UNCHANGED_TARGET})")
                else:
                    expected = (n_changed + pages + SCHEMA_CALLS + COUNT_CALLS) / len(rows)
                    verdicts.append(f"{mode}, 1% changed: {per_row:.4f} requests per row = {writes / len(rows):.4f} "
                                    f"writes + {(stats['requests'] - writes) / len(rows):.4f} schema, count and "
                                    f"pages ({'met' if per_row <= expected else 'MISSED'}: 0.01 + the pages = "
                                    f"{expected:.4f})")
        print("\n".join(verdicts))


if __name__ == "__main__":
    main()
