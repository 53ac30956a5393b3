"""A collection import stopped, its file changed (a line inserted at the top, rows edited, a
subprofile key edited), then --resume, then rollback: every subprofile the run created keeps its
ID in the results file, none is created twice, and the rollback leaves no subprofile and no
profile behind. Real `python -m importer` processes against a sandbox over HTTP.

Half the customers come from a customers file imported first (their profiles stay until that
file is rolled back too), so a subprofile the orders' rollback forgets is not taken away by
the delete of its profile.
"""
from __future__ import annotations

import csv
import signal
from collections import Counter
from pathlib import Path

import pytest

from importer.sandbox import Sandbox
from tests.helpers import TOKEN, cli
from tests.test_migration_crash import start, write_files
from tests.test_recovery_moves import wait_until

CUSTOMERS, ORDERS = 8, 24


def stopped_orders_run(tmp_path: Path, sb: Sandbox, created: int, kill: bool = False) -> dict[str, str]:
    """The customers file, then the orders run (one worker) stopped by Ctrl-C (``kill``: kill -9, mostly
    while an order is in flight) after about ``created`` orders."""
    owner = write_files(tmp_path, CUSTOMERS, ORDERS)
    first = cli("run", "customers.csv", "--mapping", "customers.yaml", "--api-url", sb.api_url,
                "--schema", "shop.yaml", "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    sb.set_faults(latency_ms=100)
    proc = start(tmp_path, sb.api_url, "--workers", "1")
    wait_until(lambda: len(sb.subprofiles(71)) >= created, proc)
    proc.send_signal(signal.SIGKILL if kill else signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == (-signal.SIGKILL if kill else 3) and "Traceback" not in err, err
    sb.set_faults(latency_ms=0)
    return owner


def orders_file(tmp_path: Path) -> list[list[str]]:
    with open(tmp_path / "orders.csv", encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def write_orders(tmp_path: Path, lines: list[list[str]]) -> None:
    with open(tmp_path / "orders.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(lines)


def resume(tmp_path: Path, sb: Sandbox):
    done = cli("run", "orders.csv", "--mapping", "orders.yaml", "--api-url", sb.api_url, "--schema", "shop.yaml",
               "--quiet", "--resume", "--workers", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def results(tmp_path: Path) -> dict[int, dict[str, str]]:
    with open(tmp_path / "orders.results.csv", encoding="utf-8-sig", newline="") as f:
        return {int(line["row"]): line for line in csv.DictReader(f)}


def roll_back_to_nothing(tmp_path: Path, sb: Sandbox) -> None:
    undo = cli("rollback", "orders.results.csv", "--yes", "--api-url", sb.api_url, cwd=tmp_path)
    assert undo.returncode == 0, undo.stdout + undo.stderr
    assert sb.subprofiles(71) == [], "the orders' rollback left subprofiles behind"
    assert len(sb.profiles(7)) == CUSTOMERS // 2, "the orders' rollback left profiles behind"
    undo = cli("rollback", "customers.results.csv", "--yes", "--api-url", sb.api_url, cwd=tmp_path)
    assert undo.returncode == 0, undo.stdout + undo.stderr
    assert (len(sb.subprofiles()), len(sb.profiles(7))) == (0, 0)


@pytest.mark.parametrize("kill", [False, True], ids=["ctrl-c", "kill-9"])
def test_a_line_inserted_at_the_top_keeps_every_subprofile_and_rollback_deletes_all(tmp_path, kill):
    with Sandbox(schema=_schema(tmp_path), token=TOKEN) as sb:
        stopped_orders_run(tmp_path, sb, 8, kill)
        before = {sp["fields"]["order_id"]: sp["ID"] for sp in sb.subprofiles(71)}
        assert 8 <= len(before) < ORDERS
        lines = orders_file(tmp_path)
        write_orders(tmp_path, [lines[0], ["O-NEW", "new@example.com", "New", "1,00", "01-02-2025 10:00"],
                                *lines[1:]])
        resume(tmp_path, sb)
        orders = Counter(sp["fields"]["order_id"] for sp in sb.subprofiles(71))
        assert max(orders.values()) == 1, f"an order exists twice: {orders}"
        assert len(orders) == ORDERS + 1
        lines = results(tmp_path)
        assert len(lines) == ORDERS + 1 and {line["status"] for line in lines.values()} == {"created"}
        by_key = {line["key"]: line for line in lines.values()}
        for order, sid in before.items():   # each kept its subprofile, under its new row number
            line = by_key[order]
            assert line["subprofile_id"] == str(sid) and line["code"] in ("moved", "recovered"), line
        live = {sp["ID"] for sp in sb.subprofiles(71)}
        assert {int(line["subprofile_id"]) for line in lines.values()} == live
        roll_back_to_nothing(tmp_path, sb)


def test_edited_rows_and_an_edited_subprofile_key_are_all_rolled_back(tmp_path):
    with Sandbox(schema=_schema(tmp_path), token=TOKEN) as sb:
        stopped_orders_run(tmp_path, sb, 6)
        before = {sp["fields"]["order_id"]: sp["ID"] for sp in sb.subprofiles(71)}
        lines = orders_file(tmp_path)
        done = [n for n, line in enumerate(lines) if line[0] in before]
        amount, key = done[1], done[2]
        lines[amount][3] = "999,00"                     # an edited amount
        old_key = lines[key][0]
        lines[key][0] = old_key + "-B"                  # an edited subprofile key: a new order
        write_orders(tmp_path, lines)
        resume(tmp_path, sb)
        orders = Counter(sp["fields"]["order_id"] for sp in sb.subprofiles(71))
        assert max(orders.values()) == 1, f"an order exists twice: {orders}"
        by_key = {line["key"]: line for line in results(tmp_path).values()}
        changed = by_key[lines[amount][0]]
        assert (changed["status"], changed["code"]) == ("skipped", "changed_since_created"), changed
        assert changed["subprofile_id"] == str(before[lines[amount][0]]), changed
        assert by_key[old_key + "-B"]["status"] == "created"
        for order, sid in before.items():
            if order not in (lines[amount][0], old_key):
                assert by_key[order]["subprofile_id"] == str(sid), by_key[order]
        roll_back_to_nothing(tmp_path, sb)


def _schema(tmp_path: Path) -> Path:
    from tests.test_migration_crash import SHOP_SCHEMA
    (tmp_path / "shop.yaml").write_text(SHOP_SCHEMA)
    return tmp_path / "shop.yaml"
