"""Memory of the key index at a million profiles (issue 17: at most 100 MB).

    python benchmarks/key_index.py [--profiles 1000000] [--rows 20000] [--skip-run]

1. The index alone, in a child process: a million profiles as a page of the
   API lists them (the contacts layout, 11 fields), each folded into the
   index with the digest of its mapped values; the child's peak RSS before
   and after, and the index's own arrays.
2. A real `run --on-existing skip` of a 20,000-row file against a sandbox
   holding a million profiles (the file's people among them), beside the
   same run against a sandbox holding only the file's people: the
   difference of the two peak RSS figures is what reading a million keys
   costs the importer (the index, the pages in flight, the rows read ahead
   to decide). The sandbox's database file is written directly with SQLite
   (a million POSTs would take hours).
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import sys
import tempfile
from pathlib import Path

from _common import (
    PLAIN_MAPPING,
    SCHEMA,
    cached_file,
    contact_row,
    csv_rows,
    header,
    importer_run,
    results_statuses,
    run_child,
    sandbox,
    work_dir,
    write_file,
)

TARGET_MB = 100

CHILD = r"""
import json, random, resource, sys, time
sys.path.insert(0, sys.argv[2])
from _common import contact_row
from importer.key_index import KeyIndex, ValueForms
from importer.mapping.load import load_mapping
from importer.schema import load_schema_file

n = int(sys.argv[1])
schema = load_schema_file(sys.argv[3]).database(1)
forms = ValueForms.for_mapping(load_mapping(sys.argv[4]), schema)
names = ["customer_number", "email", "firstname", "lastname", "phone", "birthdate", "city", "country"]
rng = random.Random(3)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
index = KeyIndex(n)
started = time.process_time()
for i in range(n):
    row = contact_row(i, rng)
    fields = dict(zip(names, row)) | {"optin": "yes", "score": "0", "source": ""}
    index.add(fields["email"].lower(), 100_000 + i, forms.stored(fields, []))
cpu = time.process_time() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"keys": len(index), "nbytes": index.nbytes, "rss_before_kb": before, "rss_after_kb": after,
                  "cpu_s": cpu}))
"""

FIELDS = ["customer_number", "email", "firstname", "lastname", "phone", "birthdate", "city", "country"]


def index_alone(profiles: int, mapping: Path) -> None:
    bench = Path(__file__).resolve().parent
    run = run_child([sys.executable, "-c", CHILD, str(profiles), str(bench), str(SCHEMA), str(mapping)])
    if run.returncode != 0:
        sys.exit(run.stderr)
    got = json.loads(run.stdout)
    grown = (got["rss_after_kb"] - got["rss_before_kb"]) / 1024
    print(f"index alone: {got['keys']:,} keys, arrays {got['nbytes'] / 2**20:,.1f} MB, peak RSS "
          f"{got['rss_before_kb'] / 1024:,.0f} -> {got['rss_after_kb'] / 1024:,.0f} MB (+{grown:,.1f} MB), "
          f"{got['cpu_s'] / got['keys'] * 1e6:,.1f} us CPU per profile "
          f"({'met' if grown <= TARGET_MB else 'MISSED'}, target <= {TARGET_MB} MB)")


def database(path: Path, file: Path, profiles: int) -> Path:
    """A sandbox database file: the file's people first, then made-up ones up to ``profiles``."""
    from importer.sandbox.store import ProfileStore

    path.unlink(missing_ok=True)
    ProfileStore(path, indexed_fields=FIELDS).close()   # the sandbox's tables and indexes
    head, rows = csv_rows(file)
    columns = ["Customer no", "E-mail address", "First name", "Last name", "Phone", "Date of birth", "City",
               "Country"]
    positions = [head.index(c) for c in columns]
    rng = random.Random(11)

    def records():
        for i in range(profiles):
            cells = rows[i] if i < len(rows) else contact_row(10_000_000 + i, rng)
            fields = {name: cells[p] for name, p in zip(FIELDS, positions)}
            fields["email"] = fields["email"].strip().lower()
            fields["birthdate"] = ""
            yield 1, json.dumps(fields), "[]", f"{i:032x}", "2026-01-01 00:00:00", "2026-01-01 00:00:00"

    conn = sqlite3.connect(path)
    with conn:
        conn.executemany("INSERT INTO profiles (database_id, fields, interests, secret, created, modified) "
                         "VALUES (?, ?, ?, ?, ?, ?)", records())
    conn.close()
    return path


def run_against(db: Path, file: Path, mapping: Path, tmp: Path) -> tuple[float, str, dict]:
    with sandbox(db=db) as sb:
        results = tmp / "results.csv"
        run = importer_run(file, sb.api_url, results, "--on-existing", "skip", "-v", mapping=mapping)
        requests = sb.stats()["requests"]
    read = re.search(r"read [0-9,]+ key\(s\) of [0-9,]+ profile\(s\) in [0-9,]+ page\(s\); [0-9,]+ KB of index",
                     run.stderr)
    print(f"  {run.max_rss_mb:,.0f} MB peak, {run.wall:,.1f} s, {requests:,} requests, {results_statuses(results)}; "
          f"{read[0] if read else 'no index read'}")
    return run.max_rss_mb, run.stderr, results_statuses(results)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profiles", type=int, default=1_000_000)
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--skip-run", action="store_true", help="only the index alone")
    args = p.parse_args()
    header(f"key index: {args.profiles:,} profiles")
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        mapping = write_file(tmp / "plain.yaml", PLAIN_MAPPING)
        index_alone(args.profiles, mapping)
        if args.skip_run:
            return
        file = cached_file("csv", args.rows, work_dir("files"))
        print(f"`run --on-existing skip` of {args.rows:,} rows, sandbox without latency:")
        print(f" database of the file's {args.rows:,} people:")
        small, _, _ = run_against(database(tmp / "small.sqlite", file, args.rows), file, mapping, tmp)
        print(f" database of {args.profiles:,} profiles (the file's people among them):")
        large, _, _ = run_against(database(tmp / "large.sqlite", file, args.profiles), file, mapping, tmp)
        grown = large - small
        print(f"reading {args.profiles:,} keys instead of {args.rows:,}: +{grown:,.0f} MB peak "
              f"({'met' if grown <= TARGET_MB else 'MISSED'}, target <= {TARGET_MB} MB)")


if __name__ == "__main__":
    main()
