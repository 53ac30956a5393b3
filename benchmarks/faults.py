"""Fault soak: a large import with every sandbox fault on at once.

    python benchmarks/faults.py [--rows 20000] [--workers 32] [--seed 1]

The sandbox runs in its own process with latency and jitter, 429 and 503
answers with Retry-After, connections dropped before and after the profile
is stored, answers slower than the client's read timeout, and a capacity
limit. Then every input row is checked against the sandbox's profiles:

- rows lost: a row without exactly one results line, a valid row with
  neither a profile nor a `failed`/`unknown` line saying so, or a `created`
  line whose ID does not exist;
- duplicates created: profiles beyond the first for one e-mail address.

Both must be 0 (the script exits 1 otherwise). Elapsed time and rows/s are
printed for the record; they depend on the fault mix, not only the importer.
The 429/503 rates are kept at 0.5% each: refusals drawn at random, whatever
the load, make the adaptive window shrink and pause on every one (at 2% each
the same run is ~15x slower); see benchmarks/adaptive.py for pacing itself.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

from _common import DATABASE_ID, cached_file, header, importer_run, sandbox, work_dir

READ_TIMEOUT = 1.0   # the client's; slow answers take SLOW_SECONDS, well past it
SLOW_SECONDS = 3.0
MAX_RESUMES = 5


def fault_flags(seed: int) -> list[str]:
    return ["--latency-ms", "20", "--jitter-ms", "30", "--capacity", "24", "--seed", str(seed),
            "--rate-429", "0.005", "--rate-503", "0.005", "--retry-after", "1",
            "--drop-before-store", "0.02", "--drop-after-store", "0.05",
            "--slow-after-store", "0.02", "--slow-seconds", str(SLOW_SECONDS)]


def sandbox_profiles(base_url: str) -> list[dict]:
    with urllib.request.urlopen(f"{base_url}/_sandbox/profiles?database={DATABASE_ID}", timeout=120) as r:
        data = json.load(r)
    return data["profiles"] if isinstance(data, dict) else data


def input_emails(file: Path) -> dict[int, str]:
    """Row number (header = 1) -> the e-mail address as the mapping sends it."""
    with open(file, newline="", encoding="utf-8") as f:
        return {n: line["E-mail address"].strip().lower() for n, line in enumerate(csv.DictReader(f), start=2)}


def audit(file: Path, results: Path, profiles: list[dict]) -> dict[str, int]:
    emails = input_emails(file)
    with open(results, newline="", encoding="utf-8-sig") as f:
        lines = list(csv.DictReader(f))
    per_row = Counter(int(line["row"]) for line in lines)
    stored = Counter(str(p["fields"].get("email", "")).lower() for p in profiles)
    ids = {int(p["ID"]) for p in profiles}
    statuses = Counter(line["status"] for line in lines)
    reported = {int(line["row"]) for line in lines if line["status"] in ("failed", "unknown", "invalid")}
    lost_lines = sum(1 for row in emails if per_row[row] != 1)
    lost_profiles = sum(1 for row, email in emails.items() if stored[email] == 0 and row not in reported)
    dangling = sum(1 for line in lines if line["status"] == "created" and int(line["profile_id"]) not in ids)
    return {
        "rows": len(emails), "lines": len(lines), **{f"status {s}": c for s, c in sorted(statuses.items())},
        "rows lost": lost_lines + lost_profiles + dangling,
        "duplicates created": sum(c - 1 for c in stored.values() if c > 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--workers", type=int, default=32)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    header(f"fault soak: {args.rows:,} rows, all faults on, sandbox in its own process")
    print("faults:", " ".join(fault_flags(args.seed)), f"; client --timeout {READ_TIMEOUT:g}")
    file = cached_file("csv", args.rows, work_dir("files"))
    with sandbox(*fault_flags(args.seed)) as sb, tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.csv"
        started = time.perf_counter()
        flags = ("--workers", str(args.workers), "--timeout", str(READ_TIMEOUT))
        run = importer_run(file, sb.api_url, results, *flags)
        # exit 3: rows whose lost answer could not be checked either (the look-up failed
        # too) were left for --resume, as a user would then run it
        resumes = 0
        while run.returncode == 3 and resumes < MAX_RESUMES:
            resumes += 1
            run = importer_run(file, sb.api_url, results, *flags, "--resume")
        elapsed = time.perf_counter() - started
        stats = sb.stats()
        figures = audit(file, results, sandbox_profiles(sb.base_url))
    if run.returncode not in (0, 1):
        print(run.stdout, run.stderr, sep="\n")
        return 1
    injected = {k: stats.get(k, 0) for k in ("posts", "dropped_before_store", "dropped_after_store", "slow",
                                             "rate_limited", "unavailable", "over_capacity")}
    print("sandbox saw:", ", ".join(f"{k} {v:,}" for k, v in injected.items()))
    print("importer:", ", ".join(f"{k} {v:,}" for k, v in figures.items()
                                 if k not in ("rows lost", "duplicates created")))
    print(f"rows lost: {figures['rows lost']}")
    print(f"duplicates created: {figures['duplicates created']}")
    print(f"elapsed: {elapsed:.1f} s ({run.cpu:.1f} s CPU of the last run), {args.rows / elapsed:,.0f} rows/s, "
          f"exit code {run.returncode}, --resume runs needed: {resumes}")
    ok = figures["rows lost"] == 0 and figures["duplicates created"] == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
