"""Issue 16's bar, small: orders into a collection, kill -9 during the run and
during --resume, then rollback. Real processes: the sandbox over HTTP, the
importer as a subprocess killed with SIGKILL.

Customers come from two places: half from a customers file imported first,
half created by the orders import itself (``missing_profile: create``), so
both the subprofiles and the profiles a run creates are under test. The full
size (2,000 orders for 500 customers) runs in ``benchmarks/migration.py``.
"""
from __future__ import annotations

import csv
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from importer.sandbox import Faults, Sandbox
from tests.helpers import REPO, TOKEN, cli

SHOP_SCHEMA = """\
databases:
  - id: 7
    name: Shop
    fields:
      - {name: email, type: email}
      - {name: firstname, type: text, length: 50}
      - {name: city, type: text, length: 60}
    interests: [newsletter]
    collections:
      - id: 71
        name: Orders
        fields:
          - {name: order_id, type: text, length: 20}
          - {name: total, type: float}
          - {name: ordered_at, type: datetime}
"""
CUSTOMERS_MAPPING = """\
database: 7
key: email
on_existing: upsert
fields:
  email: {column: E-mail, transform: [trim, lower]}
  firstname: Name
  city: City
"""
ORDERS_MAPPING = """\
database: 7
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


def write_files(folder: Path, customers: int, orders: int, seed: int = 5) -> dict[str, str]:
    """customers.csv (every other customer) and orders.csv (shuffled); returns order -> customer e-mail."""
    rng = random.Random(seed)
    emails = [f"customer{c}@example.com" for c in range(customers)]
    with open(folder / "customers.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["E-mail", "Name", "City"])
        for c in range(0, customers, 2):
            w.writerow([emails[c], f"Name {c}", "Utrecht"])
    owner = {f"O-{n:05d}": emails[n % customers] for n in range(orders)}
    order_ids = list(owner)
    rng.shuffle(order_ids)
    with open(folder / "orders.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Order", "Customer", "Customer name", "Amount", "Date"])
        for order in order_ids:
            email = owner[order]
            shown = f" {email.upper()}" if rng.random() < 0.3 else email   # the transform makes them one key
            w.writerow([order, shown, f"Name {email}", f"{rng.randint(1, 500)},{rng.randint(0, 99):02d}",
                        f"{rng.randint(1, 28):02d}-0{rng.randint(1, 9)}-2025 1{rng.randint(0, 9)}:{rng.randint(10, 59)}"])
    (folder / "shop.yaml").write_text(SHOP_SCHEMA)
    (folder / "customers.yaml").write_text(CUSTOMERS_MAPPING)
    (folder / "orders.yaml").write_text(ORDERS_MAPPING)
    return owner


def start(folder: Path, api_url: str, *extra: str) -> subprocess.Popen:
    env = {"COPERNICA_ACCESS_TOKEN": TOKEN, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "importer", "run", "orders.csv", "--mapping", "orders.yaml",
                             "--api-url", api_url, "--schema", "shop.yaml", "--quiet", "--workers", "6", *extra],
                            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_after(sb: Sandbox, proc: subprocess.Popen, posts: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while sb.stats()["posts"] < posts:
        assert proc.poll() is None, f"the run ended before {posts} posts: {proc.communicate()}"
        assert time.monotonic() < deadline, "the run did not get going"
        time.sleep(0.002)
    proc.kill()
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def assert_every_order_once_under_its_customer(sb: Sandbox, owner: dict[str, str], customers: int) -> None:
    profiles = sb.profiles(7)
    emails = Counter(p["fields"]["email"] for p in profiles)
    assert max(emails.values()) == 1, f"a customer exists twice: {[e for e, n in emails.items() if n > 1]}"
    assert len(emails) == customers
    email_of = {p["ID"]: p["fields"]["email"] for p in profiles}
    subprofiles = sb.subprofiles(71)
    orders = Counter(sp["fields"]["order_id"] for sp in subprofiles)
    assert max(orders.values()) == 1, f"an order exists twice: {[o for o, n in orders.items() if n > 1]}"
    assert set(orders) == set(owner), "an order is missing"
    wrong = [sp["fields"]["order_id"] for sp in subprofiles if email_of[sp["profile"]] != owner[sp["fields"]["order_id"]]]
    assert not wrong, f"orders under the wrong customer: {wrong[:5]}"


def test_orders_survive_kill_9_in_the_run_and_in_the_resume_and_roll_back_to_nothing(tmp_path):
    customers, orders = 40, 160
    owner = write_files(tmp_path, customers, orders)
    faults = Faults(latency_ms=8, jitter_ms=6, drop_after_store=0.04, seed=11)
    with Sandbox(schema=tmp_path / "shop.yaml", token=TOKEN, faults=faults) as sb:
        first = cli("run", "customers.csv", "--mapping", "customers.yaml", "--api-url", sb.api_url,
                    "--schema", "shop.yaml", "--quiet", cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        before = sb.stats()["posts"]

        run = start(tmp_path, sb.api_url)
        kill_after(sb, run, before + 50)
        killed_at = sb.stats()["posts"]
        again = start(tmp_path, sb.api_url, "--resume")
        kill_after(sb, again, killed_at + 50)
        done = cli("run", "orders.csv", "--mapping", "orders.yaml", "--api-url", sb.api_url, "--schema",
                   "shop.yaml", "--quiet", "--resume", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert sb.stats()["dropped_after_store"] > 0   # lost answers were part of it

        assert_every_order_once_under_its_customer(sb, owner, customers)
        with open(tmp_path / "orders.results.csv", encoding="utf-8-sig", newline="") as f:
            lines = list(csv.DictReader(f))
        assert sorted(int(line["row"]) for line in lines) == list(range(2, orders + 2))
        assert {line["status"] for line in lines} == {"created"}
        live = {sp["ID"]: sp for sp in sb.subprofiles(71)}
        assert {int(line["subprofile_id"]) for line in lines} == set(live)
        for line in lines:   # each line names its own subprofile, under the profile it names
            sp = live[int(line["subprofile_id"])]
            assert (sp["fields"]["order_id"], sp["profile"]) == (line["key"], int(line["profile_id"]))
        created_profiles = Counter(line["profile_status"] for line in lines)["created"]
        assert created_profiles == customers // 2   # the other half came from customers.csv

        undo = cli("rollback", "orders.results.csv", "--yes", "--api-url", sb.api_url, cwd=tmp_path)
        assert undo.returncode == 0, undo.stderr
        assert sb.subprofiles(71) == []
        assert len(sb.profiles(7)) == customers - customers // 2   # the customers file's stay
        undo = cli("rollback", "customers.results.csv", "--yes", "--api-url", sb.api_url, cwd=tmp_path)
        assert undo.returncode == 0, undo.stderr
        assert sb.profiles(7) == [] and sb.subprofiles() == []


def test_kill_9_while_a_new_customer_or_an_order_is_being_stored_then_resume(tmp_path):
    """The two moments a collection import can be caught in the act: the POST of
    a new customer's profile, and the POST of an order, each stored and killed
    before the answer came (the sandbox holds the answer back). The resume finds
    what was stored by its key: nobody and nothing twice, and the results say
    which row created the customer."""
    write_files(tmp_path, customers=1, orders=0)
    with open(tmp_path / "orders.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["Order", "Customer", "Customer name", "Amount", "Date"],
                                 ["O-1", "new@example.com", "New", "1,00", "01-02-2025 10:00"],
                                 ["O-2", "new@example.com", "New", "2,00", "01-02-2025 11:00"]])
    with Sandbox(schema=tmp_path / "shop.yaml", token=TOKEN, faults=Faults(slow_after_store=1.0, slow_seconds=60)) as sb:
        for stored in (1, 2):   # the run: the profile's POST; the resume: both orders' POSTs (after the profile)
            run = start(tmp_path, sb.api_url, *(["--resume"] if stored == 2 else []))
            deadline = time.monotonic() + 30
            while sb.stats()["slow"] < stored:   # the resume's two orders go out at once: wait for both
                assert run.poll() is None and time.monotonic() < deadline, run.communicate()
                time.sleep(0.005)
            run.kill()
            run.wait(timeout=10)
            assert sb.stats()["stored"] == stored
            sb.reset_stats()
        sb.set_faults(slow_after_store=0.0)
        done = cli("run", "orders.csv", "--mapping", "orders.yaml", "--api-url", sb.api_url, "--schema",
                   "shop.yaml", "--quiet", "--resume", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert [p["fields"]["email"] for p in sb.profiles(7)] == ["new@example.com"]
        assert sorted(sp["fields"]["order_id"] for sp in sb.subprofiles(71)) == ["O-1", "O-2"]
        with open(tmp_path / "orders.results.csv", encoding="utf-8-sig", newline="") as f:
            lines = {line["key"]: line for line in csv.DictReader(f)}
        assert {k: (v["status"], v["profile_status"]) for k, v in lines.items()} == {
            "O-1": ("created", "created"), "O-2": ("created", "found")}
        assert all("found by its key after the previous run stopped" in v["error"] for v in lines.values())
        undo = cli("rollback", "orders.results.csv", "--yes", "--api-url", sb.api_url, cwd=tmp_path)
        assert undo.returncode == 0, undo.stderr
        assert sb.profiles(7) == [] and sb.subprofiles() == []
