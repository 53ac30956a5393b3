"""Generate the files of the README's "Migrating from another system" (deterministic).

    python sample_data/migration/make_files.py

- customers.csv: 40 customers exported from an old CRM (countries written
  out in full, as people typed them; countries.csv turns them into codes);
- orders.ndjson: the web shop's order export, one JSON object per line: 150
  orders of 60 customers (20 of them not in customers.csv), with the
  customer as a nested object and their sports as an array; 10 orders are
  listed twice (changed later: the newer one must win, and the export is not
  sorted), and one line is broken (cut off mid-object).

What the README's commands give (tests/test_readme_migration.py runs them):
customers.csv: 40 created; orders.ndjson: 150 created, 10 skipped as
duplicates, 1 invalid (the broken line), 20 customers created by the orders
import; in the end 60 profiles and 150 subprofiles, and after the two
rollbacks none.
"""
from __future__ import annotations

import csv
import json
import random
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIRST = ["Anna", "Sem", "Chloé", "Lucas", "Fleur", "Piet", "Zoë", "Ingrid", "Noah", "Émile", "Daan", "Mila"]
COUNTRIES = ["Netherlands", "Nederland", "Belgium", "België", "Germany", "Deutschland", " netherlands "]
SPORTS = [[], ["football"], ["tennis"], ["football", "tennis"]]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def main() -> None:
    rng = random.Random(2016)
    people = [(f"{_ascii(FIRST[n % len(FIRST)]).lower()}.{n}@example.com", FIRST[n % len(FIRST)]) for n in range(60)]
    with open(HERE / "customers.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["E-mail", "First name", "Country", "Newsletter"])
        for email, name in people[:40]:
            w.writerow([email, name, rng.choice(COUNTRIES), rng.choice(["yes", "no"])])
    orders = []
    for n in range(150):
        email, name = people[n % 60]
        day, hour = rng.randint(1, 28), rng.randint(8, 21)
        stamp = f"2025-03-{day:02d}T{hour:02d}:{rng.randint(0, 59):02d}:00"
        shown = email.upper() if n % 7 == 0 else email
        orders.append({"order_id": f"W{1001 + n}", "status": "paid", "total": round(rng.uniform(5, 250), 2),
                       "created_at": stamp, "updated_at": stamp,
                       "customer": {"email": shown, "name": name, "sports": rng.choice(SPORTS)}})
    lines = [json.dumps(o, ensure_ascii=False) for o in orders]
    for k, n in enumerate(range(5, 150, 15)):   # 10 orders changed after the first export
        newer = json.loads(lines[n])
        newer["status"] = "shipped"
        newer["updated_at"] = newer["updated_at"].replace("2025-03", "2025-04")
        text = json.dumps(newer, ensure_ascii=False)
        if k % 2:
            lines.insert(n, text)    # the newer version first: `duplicates: last` would keep the old one
        else:
            lines.insert(n + 2, text)
    lines.insert(77, '{"order_id": "W9999", "status": "paid", "total": 1')   # cut off mid-object
    (HERE / "orders.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
