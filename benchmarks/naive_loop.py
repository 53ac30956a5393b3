"""Baseline: one `requests.post` per row, in sequence, without a session,
the way Copernica's PHP example imports a list in a loop.

    python benchmarks/naive_loop.py [--rows 200] [--latency-ms 50]

Prints rows/s and the time 100,000 contacts would take at that pace.
"""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import requests
from _common import DATABASE_ID, TOKEN, cached_file, header, sandbox, work_dir

# CSV column -> Copernica field, no checks at all (the naive script trusts the file)
COLUMNS = {"E-mail address": "email", "First name": "firstname", "Last name": "lastname",
           "Phone": "phone", "City": "city", "Country": "country", "Customer no": "customer_number"}


def naive_rate(api_url: str, file: Path, rows: int) -> float:
    """Rows per second of the sequential loop over the first ``rows`` rows of ``file``."""
    url = f"{api_url}/database/{DATABASE_ID}/profiles"
    with open(file, newline="", encoding="utf-8") as f:
        records = [r for _, r in zip(range(rows), csv.DictReader(f))]
    started = time.perf_counter()
    for record in records:
        fields = {field: record[column].strip() for column, field in COLUMNS.items()}
        response = requests.post(url, params={"access_token": TOKEN}, json={"fields": fields}, timeout=30)
        response.raise_for_status()
    return len(records) / (time.perf_counter() - started)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=200)
    p.add_argument("--latency-ms", type=float, default=50)
    args = p.parse_args()
    header(f"naive loop: sequential requests.post, {args.latency_ms:g} ms latency, {args.rows} rows")
    file = cached_file("csv", max(args.rows, 1000), work_dir("files"))
    with sandbox("--latency-ms", str(args.latency_ms)) as sb:
        rate = naive_rate(sb.api_url, file, args.rows)
    print(f"naive loop: {rate:,.1f} rows/s (ideal at this latency: {1000 / args.latency_ms:,.1f}); "
          f"100,000 rows would take {100_000 / rate / 3600:.1f} h")


if __name__ == "__main__":
    main()
