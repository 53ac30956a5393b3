"""Issue 16's bar at full size: 2,000 orders for 500 customers into a collection,
kill -9 during the run and during --resume, then rollback.

    python benchmarks/migration.py [--customers 500] [--orders 2000] [--kills 2]

A sandbox in its own process (20 ms latency + 10 ms jitter, 2% of answers
dropped after storing, so lost answers are part of it) with a shop database
and its Orders collection. Half the customers come from a customers file
imported first; the other half are created by the orders import
(``missing_profile: create``). The orders import is killed with SIGKILL
once it is under way, its ``--resume`` is killed too, and a last ``--resume``
finishes it. Then it counts, from the sandbox's inspection endpoints:
profiles (each e-mail once), subprofiles (each order once, under the
profile of its customer), and after ``rollback`` of the orders run and of
the customers run, what is left (nothing).
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

from _common import REPO, SandboxProcess, _env, header, sandbox, work_dir

SCHEMA = """\
databases:
  - id: 1
    name: Shop
    fields:
      - {name: email, type: email}
      - {name: firstname, type: text, length: 50}
      - {name: city, type: text, length: 60}
    interests: [newsletter]
    collections:
      - id: 11
        name: Orders
        fields:
          - {name: order_id, type: text, length: 20}
          - {name: total, type: float}
          - {name: ordered_at, type: datetime}
"""
CUSTOMERS_MAPPING = """\
database: 1
key: email
on_existing: upsert
fields:
  email: {column: E-mail, transform: [trim, lower]}
  firstname: Name
  city: City
interests:
  newsletter: {column: Newsletter, truthy: [yes]}
"""
ORDERS_MAPPING = """\
database: 1
collection: Orders
key: order_id
missing_profile: create
profile_key:
  email: {column: Customer, transform: [trim, lower]}
profile_fields:
  firstname: Customer name
fields:
  order_id: Order
  total: {column: Amount, decimal_comma: true}
  ordered_at: {column: Date, date_format: "%d-%m-%Y %H:%M"}
"""


def write_files(folder: Path, customers: int, orders: int) -> dict[str, str]:
    rng = random.Random(16)
    emails = [f"customer{c}@shop.example" for c in range(customers)]
    with open(folder / "customers.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["E-mail", "Name", "City", "Newsletter"])
        for c in range(0, customers, 2):
            w.writerow([emails[c], f"Name {c}", rng.choice(["Utrecht", "Gent", "Köln"]), rng.choice(["yes", "no"])])
    buyers = [emails[n % customers] for n in range(orders)]   # every customer has orders
    rng.shuffle(buyers)
    owner = {f"W{n:06d}": buyer for n, buyer in enumerate(buyers)}
    order_ids = list(owner)
    rng.shuffle(order_ids)
    with open(folder / "orders.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Order", "Customer", "Customer name", "Amount", "Date"])
        for order in order_ids:
            email = owner[order]
            shown = f" {email.upper()} " if rng.random() < 0.25 else email
            w.writerow([order, shown, f"Name of {email}", f"{rng.randint(1, 900)},{rng.randint(0, 99):02d}",
                        f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-2025 {rng.randint(8, 21):02d}:"
                        f"{rng.randint(0, 59):02d}"])
    (folder / "shop.yaml").write_text(SCHEMA)
    (folder / "customers.yaml").write_text(CUSTOMERS_MAPPING)
    (folder / "orders.yaml").write_text(ORDERS_MAPPING)
    for old in [*folder.glob("*.results*"), *folder.glob("*.journal*"), *folder.glob("sandbox.sqlite*")]:
        old.unlink(missing_ok=True)
    return owner


def inspect(sb: SandboxProcess, what: str) -> list[dict]:
    with urllib.request.urlopen(f"{sb.base_url}/_sandbox/{what}", timeout=120) as r:
        return json.load(r)


def importer(folder: Path, sb: SandboxProcess, *args: str) -> subprocess.Popen:
    quiet = ["--quiet"] if args[0] == "run" else []
    return subprocess.Popen([sys.executable, "-m", "importer", *args, "--api-url", sb.api_url, *quiet],
                            cwd=folder, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_orders(folder: Path, sb: SandboxProcess, *extra: str) -> subprocess.Popen:
    return importer(folder, sb, "run", "orders.csv", "--mapping", "orders.yaml", "--schema", "shop.yaml",
                    "--workers", "16", *extra)


def kill_after_posts(sb: SandboxProcess, proc: subprocess.Popen, posts: int) -> int:
    while sb.stats()["posts"] < posts:
        if proc.poll() is not None:
            return -1   # finished before the moment came
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return sb.stats()["posts"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=2, help="kill -9 the run, then each resume, this many times")
    args = parser.parse_args()
    folder = work_dir("migration")
    owner = write_files(folder, args.customers, args.orders)
    header(f"migration: {args.orders:,} orders for {args.customers:,} customers, kill -9 x{args.kills}")
    started = time.monotonic()
    flags = ["--schema", str(folder / "shop.yaml"), "--latency-ms", "20", "--jitter-ms", "10",
             "--drop-after-store", "0.02", "--seed", "16"]
    with sandbox(*flags, db=folder / "sandbox.sqlite") as sb:
        done = importer(folder, sb, "run", "customers.csv", "--mapping", "customers.yaml", "--schema", "shop.yaml")
        out, err = done.communicate()
        print(f"customers.csv: exit {done.returncode}, {len(inspect(sb, 'profiles?database=1'))} profiles")
        base = sb.stats()["posts"]
        step = max(50, (args.orders + args.customers // 2) // (args.kills + 2))
        proc = run_orders(folder, sb)
        for kill in range(args.kills):
            at = kill_after_posts(sb, proc, base + step * (kill + 1))
            print(f"kill -9 #{kill + 1} ({'run' if kill == 0 else 'resume'}): after {at - base:,} POSTs"
                  if at >= 0 else f"kill -9 #{kill + 1}: the process had finished")
            proc = run_orders(folder, sb, "--resume")
        out, err = proc.communicate()
        resumes = 0
        while proc.returncode == 3 and resumes < 5:   # left rows whose lost answers could not be checked
            resumes += 1
            proc = run_orders(folder, sb, "--resume")
            out, err = proc.communicate()
        print(f"last --resume: exit {proc.returncode}" + (f" (+{resumes} more)" if resumes else ""))
        if proc.returncode not in (0, 1):
            print(err)

        profiles = inspect(sb, "profiles?database=1")
        subprofiles = inspect(sb, "subprofiles?collection=11")
        stats = sb.stats()
        emails = Counter(p["fields"]["email"] for p in profiles)
        orders = Counter(sp["fields"]["order_id"] for sp in subprofiles)
        email_of = {p["ID"]: p["fields"]["email"] for p in profiles}
        wrong = sum(1 for sp in subprofiles if email_of.get(sp["profile"]) != owner.get(sp["fields"]["order_id"]))
        with open(folder / "orders.results.csv", encoding="utf-8-sig", newline="") as f:
            lines = list(csv.DictReader(f))
        statuses = Counter(line["status"] for line in lines)
        made = Counter(line["profile_status"] for line in lines)

        undo_orders = importer(folder, sb, "rollback", "orders.results.csv", "--yes", "--workers", "16")
        undo_orders.communicate()
        left_sub = len(inspect(sb, "subprofiles?collection=11"))
        left_after_orders = len(inspect(sb, "profiles?database=1"))
        undo_customers = importer(folder, sb, "rollback", "customers.results.csv", "--yes", "--workers", "16")
        undo_customers.communicate()
        left_profiles = len(inspect(sb, "profiles?database=1"))

    def mark(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print()
    print(f"{'':44} {'count':>7}  target")
    rows = [
        ("subprofiles (orders)", len(subprofiles), args.orders),
        ("orders stored twice", sum(n - 1 for n in orders.values()), 0),
        ("orders missing", len(set(owner) - set(orders)), 0),
        ("orders under the wrong customer", wrong, 0),
        ("profiles (customers)", len(profiles), args.customers),
        ("customers stored twice", sum(n - 1 for n in emails.values()), 0),
        ("results lines (one per order)", len(lines), args.orders),
        ("  created", statuses["created"], args.orders),
        ("  profile_status created (by the orders run)", made["created"], args.customers - (args.customers + 1) // 2),
        ("answers dropped after storing (sandbox)", stats["dropped_after_store"], None),
        ("subprofiles left after rollback", left_sub, 0),
        ("profiles left after rolling back orders", left_after_orders, (args.customers + 1) // 2),
        ("profiles left after rolling back customers", left_profiles, 0),
    ]
    ok = True
    for label, count, target in rows:
        met = target is None or count == target
        ok &= met
        print(f"{label:44} {count:>7,}  {'' if target is None else f'{target:,} ' + mark(met)}")
    print(f"\n{time.monotonic() - started:.0f} s; rollbacks exit {undo_orders.returncode}/{undo_customers.returncode}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "benchmarks"))
    raise SystemExit(main())
