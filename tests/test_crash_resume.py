"""Crashes and stops, then --resume: every row exactly once, nothing lost.

Each test runs the real program in a subprocess against a sandbox over
HTTP, stops it in some brutal way (kill -9, SIGINT, SIGTERM, --max-errors),
resumes it, and checks the three promises of issue 5:

- every valid row has exactly one profile in the sandbox,
- the results CSV has exactly one line per input row,
- every ``created`` line's ID is a profile that exists.

More kill -9 moments (20+) run in ``benchmarks/crash_resume.py``.
"""
from __future__ import annotations

import csv
import re
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from importer.client import CopernicaClient
from importer.errors import JournalError, RunStopped
from importer.models import StopReason
from importer.pacing import Pacer
from importer.runner import ImportOptions, run_import
from importer.sandbox import Faults, Sandbox
from tests.helpers import (
    ONE_TRY,
    PEOPLE_MAPPING,
    SAMPLE_SCHEMA,
    TOKEN,
    cli,
    journal_states,
    read_results,
    start_cli,
    write_csv,
    write_mapping,
)

MAPPING = PEOPLE_MAPPING
MAPPING_NO_KEY = MAPPING.replace("key: email\n", "")
INVALID_EVERY = 17  # every 17th row has a broken e-mail address: invalid, never sent


def write_people(path: Path, n: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(("Email", "Name", "Age", "Newsletter"))
        for i in range(n):
            email = f"person{i}@example.com" if i % INVALID_EVERY != 5 else f"person{i}-at-example.com"
            w.writerow((email, f"Name {i}", str(20 + i % 50), "yes" if i % 2 else "no"))
    return path


def valid_emails(n: int) -> set[str]:
    return {f"person{i}@example.com" for i in range(n) if i % INVALID_EVERY != 5}


def start_run(src: Path, mapping: Path, api_url: str, cwd: Path, *extra: str) -> subprocess.Popen:
    return start_cli("run", str(src), "--mapping", str(mapping), "--api-url", api_url, "--schema",
                     str(SAMPLE_SCHEMA), "--quiet", *extra, cwd=cwd)


def wait_for_posts(sb: Sandbox, posts: int, proc: subprocess.Popen, timeout: float = 30,
                   journal: Path | None = None) -> None:
    """Until the sandbox saw ``posts`` POSTs (and the journal, if named, exists)."""
    deadline = time.monotonic() + timeout
    while sb.stats()["posts"] < posts or (journal is not None and not journal.exists()):
        assert proc.poll() is None, f"the run ended before {posts} posts: {proc.communicate()}"
        assert time.monotonic() < deadline, "the run did not get going"
        time.sleep(0.002)


def rows_marked_sending(results: Path) -> int:
    """Rows the journal beside ``results`` marks as being sent (0 while there is no journal yet)."""
    try:
        return journal_states(results)["sending"]
    except sqlite3.OperationalError:  # not created yet
        return 0


def resume(src: Path, mapping: Path, sb: Sandbox, cwd: Path, *extra: str):
    return cli("run", str(src), "--mapping", str(mapping), "--api-url", sb.api_url,
               "--schema", str(SAMPLE_SCHEMA), "--resume", *extra, cwd=cwd)


def assert_exactly_once(sb: Sandbox, results: Path, n: int) -> list[dict[str, str]]:
    """The three promises; returns the results lines."""
    profiles = sb.profiles(2)
    emails = Counter(p["fields"]["email"] for p in profiles)
    duplicates = {e: c for e, c in emails.items() if c > 1}
    assert not duplicates, f"duplicate profiles: {duplicates}"
    assert set(emails) == valid_emails(n), "a valid row has no profile, or an unexpected profile exists"
    lines = read_results(results)
    assert sorted(int(line["row"]) for line in lines) == list(range(2, n + 2)), "not one line per row"
    created = {int(line["profile_id"]) for line in lines if line["status"] == "created"}
    by_id = {int(p["ID"]): p["fields"]["email"] for p in profiles}
    assert created == set(by_id), "a created line's ID does not exist, or a profile has no line"
    for line in lines:
        if line["status"] == "created":
            assert by_id[int(line["profile_id"])] == line["key"], f"row {line['row']} points at another profile"
    return lines


@pytest.fixture
def mapping(tmp_path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING)
    return path


# -- kill -9 -----------------------------------------------------------------------------------------
# posts seen by the sandbox when the run is killed: before the first row (the journal exists:
# without it nothing was sent and --resume refuses, see below), early, mid-way, near the end
KILL_AFTER_POSTS = [0, 1, 71]  # 20+ more moments: benchmarks/crash_resume.py


@pytest.mark.parametrize("posts", KILL_AFTER_POSTS)
def test_kill_9_at_any_moment_then_resume_imports_every_row_exactly_once(tmp_path, mapping, posts):
    n = 120
    src = write_people(tmp_path / "in.csv", n)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=15, jitter_ms=10)) as sb:
        proc = start_run(src, mapping, sb.api_url, tmp_path, "--workers", "6")
        wait_for_posts(sb, posts, proc, journal=tmp_path / "in.results.csv.journal")
        proc.kill()
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        result = resume(src, mapping, sb, tmp_path)
        assert result.returncode == 1, result.stderr  # 1: the invalid rows
        lines = assert_exactly_once(sb, tmp_path / "in.results.csv", n)
    statuses = Counter(line["status"] for line in lines)
    assert statuses == {"created": len(valid_emails(n)), "invalid": n - len(valid_emails(n))}


def test_kill_9_during_the_resume_too_then_resume_again(tmp_path, mapping):
    n = 150
    src = write_people(tmp_path / "in.csv", n)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=15)) as sb:
        first = start_run(src, mapping, sb.api_url, tmp_path, "--workers", "6")
        wait_for_posts(sb, 40, first)
        first.kill()
        first.wait(timeout=10)
        posts = sb.stats()["posts"]
        second = start_run(src, mapping, sb.api_url, tmp_path, "--workers", "6", "--resume")
        wait_for_posts(sb, posts + 40, second)
        second.kill()
        second.wait(timeout=10)
        result = resume(src, mapping, sb, tmp_path)
        assert result.returncode == 1, result.stderr
        assert_exactly_once(sb, tmp_path / "in.results.csv", n)


def test_kill_9_while_answers_are_lost_then_resume_without_duplicates(tmp_path, mapping):
    """The crash and the ambiguous answers together: rows in flight at the
    kill and rows whose answer was dropped are both resolved by key."""
    n = 150
    src = write_people(tmp_path / "in.csv", n)
    faults = Faults(latency_ms=10, drop_after_store=0.15, seed=3)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=faults) as sb:
        proc = start_run(src, mapping, sb.api_url, tmp_path, "--workers", "8")
        wait_for_posts(sb, 60, proc)
        proc.kill()
        proc.wait(timeout=10)
        result = resume(src, mapping, sb, tmp_path)
        assert result.returncode == 1, result.stderr
        assert sb.stats()["dropped_after_store"] > 0
        lines = assert_exactly_once(sb, tmp_path / "in.results.csv", n)
    assert any("found by its key" in line["error"] for line in lines)


def test_resume_looks_up_at_most_the_rows_that_were_in_flight(tmp_path, mapping):
    n = 200
    src = write_people(tmp_path / "in.csv", n)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=30)) as sb:
        proc = start_run(src, mapping, sb.api_url, tmp_path, "--workers", "8")
        wait_for_posts(sb, 50, proc)
        proc.kill()
        proc.wait(timeout=10)
        in_flight = journal_states(tmp_path / "in.results.csv")["sending"]
        assert in_flight >= 1
        sb.reset_stats()
        result = resume(src, mapping, sb, tmp_path)
        assert result.returncode == 1, result.stderr
        stats = sb.stats()
        assert_exactly_once(sb, tmp_path / "in.results.csv", n)
    gets = stats["requests"] - stats["posts"]  # --schema: the resume fetches no structure
    assert 1 <= gets <= in_flight
    assert "found by its key after the previous run stopped" in (tmp_path / "in.results.csv").read_text()


def test_kill_9_without_a_key_leaves_in_flight_rows_unknown_never_sent_twice(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING_NO_KEY)
    n = 120
    src = write_people(tmp_path / "in.csv", n)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=30)) as sb:
        proc = start_run(src, mapping, sb.api_url, tmp_path, "--workers", "6")
        wait_for_posts(sb, 40, proc)
        proc.kill()
        proc.wait(timeout=10)
        in_flight = journal_states(tmp_path / "in.results.csv")["sending"]
        result = resume(src, mapping, sb, tmp_path)
        assert result.returncode == 1, result.stderr
        emails = Counter(p["fields"]["email"] for p in sb.profiles(2))
    lines = read_results(tmp_path / "in.results.csv")
    assert sorted(int(line["row"]) for line in lines) == list(range(2, n + 2))
    unknown = [line for line in lines if line["status"] == "unknown"]
    assert 1 <= len(unknown) == in_flight
    assert all("without a `key`" in line["error"] for line in unknown)
    assert set(emails.values()) == {1}, "a row was sent twice"
    created = {line["key"] or line["Email"] for line in lines if line["status"] == "created"}
    assert created <= set(emails) and len(created) + len(unknown) == len(valid_emails(n))
    assert "unknown" in result.stdout and str(len(unknown)) in result.stdout


# -- SIGINT / SIGTERM -------------------------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_writes_everything_exits_3_then_resume_exits_0(tmp_path, mapping, signum):
    n = 150
    src = tmp_path / "in.csv"
    with open(src, "w", newline="") as f:
        csv.writer(f).writerows([("Email", "Name", "Age", "Newsletter")] +
                                [(f"p{i}@example.com", f"N {i}", "30", "yes") for i in range(n)])
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=40)) as sb:
        proc = start_run(src, mapping, sb.api_url, tmp_path, "--workers", "4")
        wait_for_posts(sb, 20, proc)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 3, err
        assert "--resume" in err and "interrupted" in out
        first = read_results(tmp_path / "in.results.csv")
        stored = len(sb.profiles(2))
        # stopped cleanly: every request that left got its answer and its line; nothing in flight
        assert journal_states(tmp_path / "in.results.csv")["sending"] == 0
        assert len(first) == stored < n
        result = resume(src, mapping, sb, tmp_path)
        assert result.returncode == 0, result.stderr
        emails = Counter(p["fields"]["email"] for p in sb.profiles(2))
    lines = read_results(tmp_path / "in.results.csv")
    assert sorted(int(line["row"]) for line in lines) == list(range(2, n + 2))
    assert len(emails) == n and set(emails.values()) == {1}


# -- --max-errors, failed rows and --skip-failed ----------------------------------------------------
def test_max_errors_stops_with_exit_3_and_resume_retries_the_failed_rows(tmp_path, mapping):
    n = 60
    src = write_people(tmp_path / "in.csv", n)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(rate_503=1.0, retry_after=0)) as sb:
        result = cli("run", str(src), "--mapping", str(mapping), "--api-url", sb.api_url, "--schema",
                     str(SAMPLE_SCHEMA), "--workers", "2", "--retries", "1", "--max-errors", "3", cwd=tmp_path)
        assert result.returncode == 3, result.stderr
        assert "--max-errors" in result.stdout and "--resume" in result.stderr
        first = read_results(tmp_path / "in.results.csv")
        failed = [line for line in first if line["status"] == "failed"]
        assert 3 <= len(failed) <= 4  # the two workers may both be mid-row when the third fails
        assert len(first) < n / 2, "it did not stop early"
        assert sb.profiles(2) == []
        sb.set_faults(rate_503=0.0)
        result = resume(src, mapping, sb, tmp_path)
        assert result.returncode == 1, result.stderr  # only the invalid rows remain
        assert_exactly_once(sb, tmp_path / "in.results.csv", n)


def test_skip_failed_keeps_failed_rows_failed_on_resume(tmp_path, mapping):
    n = 30
    src = write_people(tmp_path / "in.csv", n)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(rate_503=1.0, retry_after=0)) as sb:
        result = cli("run", str(src), "--mapping", str(mapping), "--api-url", sb.api_url, "--schema",
                     str(SAMPLE_SCHEMA), "--workers", "2", "--retries", "1", "--max-errors", "2", cwd=tmp_path)
        assert result.returncode == 3, result.stderr
        failed_rows = {line["row"] for line in read_results(tmp_path / "in.results.csv") if line["status"] == "failed"}
        assert failed_rows
        sb.set_faults(rate_503=0.0)
        sb.reset_stats()
        result = resume(src, mapping, sb, tmp_path, "--skip-failed")
        assert result.returncode == 1, result.stderr
        lines = read_results(tmp_path / "in.results.csv")
        emails = {p["fields"]["email"] for p in sb.profiles(2)}
        posts = sb.stats()["posts"]
    assert {line["row"] for line in lines if line["status"] == "failed"} == failed_rows
    assert sorted(int(line["row"]) for line in lines) == list(range(2, n + 2))
    assert emails == valid_emails(n) - {line["key"] for line in lines if line["row"] in failed_rows}
    assert posts == len(emails)  # the failed rows were not sent again


def test_resume_refuses_another_mapping_and_sends_only_the_new_rows_of_a_changed_file(tmp_path, mapping):
    n = 10
    src = write_people(tmp_path / "in.csv", n)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        result = cli("run", str(src), "--mapping", str(mapping), "--api-url", sb.api_url, cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        before = (tmp_path / "in.results.csv").read_bytes()
        posts = sb.stats()["posts"]

        mapping.write_text(MAPPING.replace("firstname: Name", "lastname: Name"))
        result = resume(src, mapping, sb, tmp_path)
        assert result.returncode == 2
        assert "cannot resume" in result.stderr and "the mapping" in result.stderr

        assert (tmp_path / "in.results.csv").read_bytes() == before  # the refused resume touched nothing
        assert sb.stats()["posts"] == posts

        mapping.write_text(MAPPING)
        write_people(src, n + 1)  # one row added: the rows already imported are not sent again
        result = resume(src, mapping, sb, tmp_path)
        assert result.returncode == 1, result.stderr  # 1: the invalid rows
        assert "The input file changed since the run began: 0 rows changed" in result.stdout
        assert sb.stats()["posts"] == posts + 1
        assert_exactly_once(sb, tmp_path / "in.results.csv", n + 1)


def test_a_second_run_on_the_same_results_is_refused_while_one_runs(tmp_path, mapping):
    """No timing: the first run is caught in the act (the journal marks a row as
    being sent) and cannot finish meanwhile (every request is answered 503 with
    a Retry-After of a minute, so nothing is stored while it runs either)."""
    src = write_people(tmp_path / "in.csv", 100)
    results = tmp_path / "in.results.csv"
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(rate_503=1.0, retry_after=60)) as sb:
        proc = start_run(src, mapping, sb.api_url, tmp_path, "--workers", "2")
        try:
            deadline = time.monotonic() + 60
            while rows_marked_sending(results) == 0:
                assert proc.poll() is None, f"the first run ended: {proc.communicate()}"
                assert time.monotonic() < deadline, "the first run never marked a row as being sent"
                time.sleep(0.01)
            second = resume(src, mapping, sb, tmp_path)
            assert proc.poll() is None, "the first run ended while the second ran: the test proves nothing"
            assert second.returncode == 75, second.stderr  # temporary (issue 15): nothing sent, run it again later
            assert "another copernica-import run" in second.stderr
        finally:
            proc.kill()
            proc.wait(timeout=10)
        assert sb.profiles(2) == []
        # the lock dies with the process: a resume now works
        sb.set_faults(rate_503=0.0)
        result = resume(src, mapping, sb, tmp_path)
        assert result.returncode == 1, result.stderr
        assert_exactly_once(sb, results, 100)


def test_a_request_cut_off_by_a_killed_client_stores_nothing():
    """kill -9 between a POST's headers and its body: a real server never
    passes the cut request on; the sandbox must not store an empty profile
    (found by benchmarks/crash_resume.py as an extra profile without e-mail)."""
    import socket
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        body = b'{"fields": {"email": "cut@example.com"}}'
        with socket.create_connection(("127.0.0.1", sb.port)) as s:
            s.sendall(f"POST /v3/database/2/profiles?access_token={TOKEN} HTTP/1.1\r\nHost: x\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[:9])
            s.shutdown(socket.SHUT_WR)
            s.settimeout(5)
            assert s.recv(100) == b""  # no answer: the connection is just closed
        assert sb.profiles(2) == []


# -- stops and refusals inside the library ------------------------------------------------------
def test_an_unexpected_error_stops_the_run_resumably_instead_of_losing_rows(tmp_path):
    src = write_csv(tmp_path / "in.csv", header=["Email"], rows=[[f"p{i}@example.com"] for i in range(20)])
    m = write_mapping(tmp_path / "m.yaml", "database: 2\nkey: email\nfields:\n  email: Email\n")
    options = ImportOptions(file=src, mapping=m, results=tmp_path / "r.csv", workers=2, schema=SAMPLE_SCHEMA)
    seen = []

    def disk_full_on_the_fifth(outcome):
        seen.append(outcome)
        if len(seen) == 5:
            raise OSError(28, "No space left on device")

    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        with CopernicaClient(sb.api_url, TOKEN, retry=ONE_TRY, pacer=Pacer(2)) as client:
            stopped = run_import(options, client, on_outcome=disk_full_on_the_fifth)
        assert stopped.stopped is StopReason.ERROR and stopped.exit_code == 3
        assert isinstance(stopped.stop_error, RunStopped) and stopped.stop_error.exit_code == 3
        assert re.search("No space left on device.*Everything done so far is recorded", str(stopped.stop_error))
        options.resume = True
        with CopernicaClient(sb.api_url, TOKEN, retry=ONE_TRY, pacer=Pacer(2)) as client:
            summary = run_import(options, client)
        emails = Counter(p["fields"]["email"] for p in sb.profiles(2))
    assert summary.exit_code == 0
    assert len(emails) == 20 and set(emails.values()) == {1}
    assert sorted(int(line["row"]) for line in read_results(tmp_path / "r.csv")) == list(range(2, 22))


def test_a_resume_with_another_on_existing_says_so_not_that_the_mapping_changed(tmp_path):
    src = write_csv(tmp_path / "in.csv", header=["Email"], rows=[["a@example.com"]])
    m = write_mapping(tmp_path / "m.yaml", "database: 2\nkey: email\nfields:\n  email: Email\n")
    options = ImportOptions(file=src, mapping=m, results=tmp_path / "r.csv", workers=1, schema=SAMPLE_SCHEMA)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb, \
            CopernicaClient(sb.api_url, TOKEN, retry=ONE_TRY, pacer=Pacer(1)) as client:
        run_import(options, client)
        options.resume, options.on_existing = True, "upsert"
        with pytest.raises(JournalError) as refused:
            run_import(options, client)
    assert "--on-existing (create then, upsert now)" in str(refused.value)
    assert "the mapping" not in str(refused.value).split("changed:")[1]
