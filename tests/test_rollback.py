"""`rollback RESULTS.csv`: deletes what a run created, nothing else; confirms; resumes."""
from __future__ import annotations

import csv
import os
import pty
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from importer.client import CopernicaClient
from importer.errors import JournalError, UsageError
from importer.journal import RunLock, journal_path_for
from importer.pacing import Pacer
from importer.retry import RetryPolicy
from importer.runner import ImportOptions, run_import
from importer.sandbox import Sandbox
from importer.undo import rollback
from tests.helpers import TOKEN, cli, cli_env, read_results

MAPPING = """\
database: 2
key: email
on_existing: {mode}
fields:
  email: {{column: Email, transform: [trim, lower]}}
  firstname: Name
interests:
  newsletter: Newsletter
"""


def write_inputs(tmp_path: Path, n: int, mode: str = "create") -> tuple[Path, Path]:
    csv_path = tmp_path / "people.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(("Email", "Name", "Newsletter"))
        w.writerows((f"p{i}@example.com", f"Name {i}", "yes") for i in range(n))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.format(mode=mode))
    return csv_path, mapping


def seed(sb: Sandbox, n: int, prefix: str = "p") -> list[int]:
    with client_for(sb) as client:
        return [client.create_profile(2, {"email": f"{prefix}{i}@example.com", "firstname": "Before"},
                                      {"football": 1}).profile_id for i in range(n)]


def client_for(sb: Sandbox, attempts: int = 3) -> CopernicaClient:
    return CopernicaClient(sb.api_url, sb.token, pacer=Pacer(4),
                           retry=RetryPolicy(attempts=attempts, backoff=0.01, max_wait=0.05))


def import_run(sb: Sandbox, tmp_path: Path, n: int, mode: str = "create") -> Path:
    csv_path, mapping = write_inputs(tmp_path, n, mode)
    results = tmp_path / "people.results.csv"
    with client_for(sb) as client:
        summary = run_import(ImportOptions(file=csv_path, mapping=mapping, results=results, workers=4), client)
    assert summary.exit_code == 0
    return results


def everything(sb: Sandbox) -> list[dict]:
    return sb.profiles(1) + sb.profiles(2)


def test_a_create_run_and_its_rollback_leave_the_sandbox_exactly_as_before(sandbox, tmp_path):
    seed(sandbox, 3, prefix="other")
    before = everything(sandbox)
    results = import_run(sandbox, tmp_path, 20)
    assert len(sandbox.profiles(2)) == 23
    done = cli("rollback", str(results), "--yes", "--api-url", sandbox.api_url)
    assert done.returncode == 0, done.stderr
    assert "Deleted 20 profiles (0 of them were already gone), 0 failed" in done.stdout
    assert everything(sandbox) == before
    record = read_results(tmp_path / "people.results.rollback.csv")
    created = {line["profile_id"] for line in read_results(results) if line["status"] == "created"}
    assert {line["profile_id"] for line in record} == created and len(record) == 20
    assert {line["status"] for line in record} == {"deleted"}
    assert TOKEN not in done.stdout + done.stderr + (tmp_path / "people.results.rollback.csv").read_text()


def test_rollback_deletes_where_the_run_created_not_at_the_default_address(sandbox, tmp_path):
    """A rollback without --api-url must not go to another Copernica (the
    default, or COPERNICA_API_URL): the run's journal says where it sent."""
    results = import_run(sandbox, tmp_path, 4)
    elsewhere = {"COPERNICA_API_URL": "http://127.0.0.1:9/v3"}  # nothing listens there
    done = cli("rollback", str(results), "--yes", env=elsewhere)
    assert done.returncode == 0, done.stderr
    assert sandbox.profiles(2) == []


def test_the_rollback_prompt_names_the_database_and_host(sandbox, tmp_path):
    results = import_run(sandbox, tmp_path, 2)
    asked = []
    with client_for(sandbox) as client:
        code = rollback(results, client, target="database 2 at " + sandbox.api_url.split("/")[2],
                        confirm=lambda text: asked.append(text) or "no", is_terminal=lambda: True)
    assert code.exit_code == 2 and code.declined and len(sandbox.profiles(2)) == 2
    assert f"from database 2 at {sandbox.api_url.split('/')[2]}?" in asked[0]


def test_rollback_deletes_only_created_profiles_and_says_updated_ones_are_not_restored(sandbox, tmp_path):
    existing = seed(sandbox, 5)            # p0..p4 exist: updated by the upsert run
    results = import_run(sandbox, tmp_path, 10, mode="upsert")
    assert Counter(line["status"] for line in read_results(results)) == {"updated": 5, "created": 5}
    done = cli("rollback", str(results), "--yes", "--api-url", sandbox.api_url)
    assert done.returncode == 0, done.stderr
    assert "5 profiles were updated by this run" in done.stderr and "cannot restore" in done.stderr
    left = {p["ID"]: p for p in sandbox.profiles(2)}
    assert sorted(left) == sorted(existing)
    assert {p["fields"]["firstname"] for p in left.values()} == {f"Name {i}" for i in range(5)}


def test_rollback_refuses_without_yes_when_stdin_is_not_a_terminal(sandbox, tmp_path):
    results = import_run(sandbox, tmp_path, 4)
    done = cli("rollback", str(results), "--api-url", sandbox.api_url, input="yes\n")
    assert done.returncode == 2
    assert "add --yes" in done.stderr and "4 profiles" in done.stderr
    assert len(sandbox.profiles(2)) == 4
    assert not (tmp_path / "people.results.rollback.csv").exists()


@pytest.mark.parametrize("answer, left", [("yes", 0), ("no", 4)])
def test_rollback_asks_at_a_terminal(sandbox, tmp_path, answer, left):
    results = import_run(sandbox, tmp_path, 4)
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "importer", "rollback", str(results),
                                 "--api-url", sandbox.api_url], stdin=terminal, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=cli_env(), text=True)
        os.write(controller, f"{answer}\n".encode())
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert "Delete 4 profiles created by the run" in err  # a question goes to stderr: stdout may be piped
    assert proc.returncode == (0 if answer == "yes" else 2), err
    assert len(sandbox.profiles(2)) == left


def test_dry_run_lists_what_would_be_deleted_and_deletes_nothing(sandbox, tmp_path):
    results = import_run(sandbox, tmp_path, 3)
    created = [(line["row"], line["profile_id"]) for line in read_results(results)]
    done = cli("rollback", str(results), "--dry-run", env={"COPERNICA_ACCESS_TOKEN": ""})
    assert done.returncode == 0, done.stderr
    for row, pid in created:
        assert f"would delete profile {pid} (row {row})" in done.stdout
    assert "3 profiles would be deleted" in done.stdout
    assert len(sandbox.profiles(2)) == 3


def test_failed_deletes_are_retried_by_running_again_and_nothing_is_deleted_twice(sandbox, tmp_path):
    results = import_run(sandbox, tmp_path, 40)
    sandbox.reset_stats()
    sandbox.set_faults(rate_503=0.5, retry_after=None, seed=7)
    with client_for(sandbox, attempts=1) as client:
        first = rollback(results, client, yes=True)
    record = tmp_path / "people.results.rollback.csv"
    statuses = Counter(line["status"] for line in read_results(record))
    assert first.exit_code == 1 and statuses["failed"] > 0 and statuses["deleted"] > 0
    sandbox.set_faults(rate_503=0.0)
    with client_for(sandbox) as client:
        assert rollback(results, client, yes=True).exit_code == 0
        assert rollback(results, client, yes=True).exit_code == 0  # a third time: nothing to do
    assert sandbox.profiles(2) == []
    assert sandbox.stats()["by_status"].get("200") == 40  # one successful DELETE per profile
    deleted = Counter(line["profile_id"] for line in read_results(record) if line["status"] == "deleted")
    assert len(deleted) == 40 and set(deleted.values()) == {1}
    assert "400" not in sandbox.stats()["by_status"]  # never a delete of a removed profile


def test_a_rollback_stopped_after_deleting_but_before_recording_finishes_on_the_next_run(sandbox, tmp_path):
    results = import_run(sandbox, tmp_path, 6)
    ids = [int(line["profile_id"]) for line in read_results(results)]
    with client_for(sandbox) as client:
        for pid in ids[:2]:
            client.delete_profile(pid)  # as if a killed rollback deleted them without writing it down
        assert rollback(results, client, yes=True).exit_code == 0
    record = {int(line["profile_id"]): line for line in read_results(tmp_path / "people.results.rollback.csv")}
    assert set(record) == set(ids) and {line["status"] for line in record.values()} == {"deleted"}
    assert record[ids[0]]["error"].startswith("was already removed")
    assert sandbox.profiles(2) == []


def test_rollback_of_a_missing_results_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        rollback(tmp_path / "nope.csv", None, yes=True)


def test_profiles_the_journal_knows_but_the_results_file_lacks_are_deleted_too(sandbox, tmp_path):
    results = import_run(sandbox, tmp_path, 6)
    lines = results.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    results.write_text("".join(lines[:3]), encoding="utf-8")  # killed before the last lines were written
    with client_for(sandbox) as client:
        assert rollback(results, client, yes=True).exit_code == 0
    assert sandbox.profiles(2) == []


def test_rollback_does_not_run_beside_the_run_it_undoes(sandbox, tmp_path):
    results = import_run(sandbox, tmp_path, 2)
    with RunLock(journal_path_for(results)):  # the run (or another rollback) still going
        with client_for(sandbox) as client, pytest.raises(JournalError, match="another copernica-import run"):
            rollback(results, client, yes=True)
    assert len(sandbox.profiles(2)) == 2
