"""JSON inputs in constant memory: `check` on .ndjson, .json and the same rows as
CSV, at 10,000 / 100,000 / 1,000,000 rows.

    python benchmarks/json_inputs.py [--sizes 10000 100000 1000000] [--kinds ndjson json csv]

Each file holds the same contacts (a nested `contact` object, a `sports`
array, numbers and booleans; the CSV has them flattened into columns). The
child's peak RSS comes from the kernel (os.wait4). The mapping has no `key`,
so the run holds no duplicate index (which grows with the rows, ~110 bytes a
key, whatever the format): what is left is the reader's and the pipeline's
memory, which must not grow with the file. The figure that matters is the
peak at 1,000,000 rows against the peak at 10,000; the speeds are shown as
ratios to the CSV of the same rows, measured in the same run.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from pathlib import Path

from _common import REPO, SCHEMA, header, run_child, work_dir

MAPPING = """\
database: 1
fields:
  email: {column: contact.email, transform: [trim, lower], validate: email}
  firstname: contact.first
  lastname: contact.last
  city: contact.address.city
  country: {column: contact.address.country, fix_case: true}
  score: score
interests:
  newsletter: {column: newsletter}
  football: {column: sports, contains: football}
  tennis: {column: sports, contains: tennis}
"""
CSV_MAPPING = MAPPING.replace("contact.address.", "").replace("contact.", "")
SPORTS = [[], ["football"], ["tennis"], ["football", "tennis"]]


def record(i: int, rng: random.Random) -> dict:
    return {"id": i, "contact": {"email": f"person{i}@mail{i % 50}.example.com", "first": rng.choice(["Anna", "Sem"]),
                                 "last": rng.choice(["de Jong", "Smit"]),
                                 "address": {"city": rng.choice(["Utrecht", "Gent"]), "country": rng.choice(["NL", "be"])}},
            "score": rng.randint(0, 100), "newsletter": rng.random() < 0.5, "sports": rng.choice(SPORTS),
            "notes": None if i % 3 else "called back"}


def make(kind: str, rows: int, folder: Path) -> Path:
    path = folder / f"contacts-{rows}.{kind}"
    if path.exists():
        return path
    rng = random.Random(7)
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        if kind == "csv":
            w = csv.writer(f)
            w.writerow(["id", "email", "first", "last", "city", "country", "score", "newsletter", "sports", "notes"])
            for i in range(rows):
                r = record(i, rng)
                c = r["contact"]
                w.writerow([i, c["email"], c["first"], c["last"], c["address"]["city"], c["address"]["country"],
                            r["score"], "true" if r["newsletter"] else "false", ";".join(r["sports"]), r["notes"] or ""])
        elif kind == "ndjson":
            for i in range(rows):
                f.write(json.dumps(record(i, rng)) + "\n")
        else:
            f.write("[\n")
            for i in range(rows):
                f.write(("," if i else "") + json.dumps(record(i, rng)) + "\n")
            f.write("]\n")
    tmp.rename(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["csv", "ndjson", "json"], help="csv first: the others' speeds "
                        "are shown as a ratio to it")
    args = parser.parse_args()
    folder = work_dir("json")
    (folder / "json.yaml").write_text(MAPPING)
    (folder / "csv.yaml").write_text(CSV_MAPPING)
    header("check on JSON inputs: peak RSS and rows/s (no key: no duplicate index)")
    print(f"{'file':>24} {'rows/s':>9} {'peak MB':>8} {'wall s':>7}  {'vs CSV':>7}")
    figures: dict[tuple[str, int], tuple[float, float]] = {}
    for rows in args.sizes:
        for kind in args.kinds:
            path = make(kind, rows, folder)
            mapping = folder / ("csv.yaml" if kind == "csv" else "json.yaml")
            child = run_child([sys.executable, "-m", "importer", "check", str(path), "--mapping", str(mapping),
                               "--schema", str(SCHEMA), "--offline"])
            if child.returncode not in (0, 1):
                print(child.stderr)
                return 1
            speed = rows / child.wall
            figures[(kind, rows)] = (speed, child.max_rss_mb)
            csv_speed = figures.get(("csv", rows), (0.0, 0.0))[0]
            ratio = f"{speed / csv_speed:.2f}x" if csv_speed and kind != "csv" else ""
            print(f"{path.name:>24} {speed:>9,.0f} {child.max_rss_mb:>8.0f} {child.wall:>7.1f}  {ratio:>7}")
    smallest, largest = min(args.sizes), max(args.sizes)
    print()
    for kind in args.kinds:
        if (kind, smallest) in figures and (kind, largest) in figures and largest > smallest:
            small, large = figures[(kind, smallest)][1], figures[(kind, largest)][1]
            print(f"{kind}: peak RSS {small:.0f} MB at {smallest:,} rows, {large:.0f} MB at {largest:,} rows "
                  f"(+{large - small:.0f} MB for {largest // smallest}x the rows)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "benchmarks"))
    raise SystemExit(main())
