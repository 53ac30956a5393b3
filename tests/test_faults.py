"""Lost answers, slow answers and outages: never a duplicate, never a lost row.

The sandbox stores a profile and then drops the connection (10%) or answers
after the client's read timeout (5%): the importer cannot know from the
answer whether the profile exists. With a key it looks the profile up and
decides; without one the row ends ``unknown`` and the summary says so.
"""
from __future__ import annotations

import csv
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import PEOPLE_MAPPING, SAMPLE_SCHEMA, TOKEN, cli

from importer.client import CopernicaClient, RetryPolicy
from importer.models import Status
from importer.pacing import CircuitBreaker, Pacer
from importer.runner import ImportOptions, run_import
from importer.sandbox import Faults, Sandbox

MAPPING = PEOPLE_MAPPING
LOST_ANSWERS = Faults(drop_after_store=0.10, slow_after_store=0.05, slow_seconds=2.0, seed=11)
TIMEOUT = "0.5"  # the client's read timeout, shorter than slow_seconds


def write_people(path: Path, n: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(("Email", "Name", "Age", "Newsletter"))
        w.writerows((f"person{i}@example.com", f"Name {i}", str(20 + i % 50), "yes" if i % 2 else "no")
                    for i in range(n))
    return path


def read_lines(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def people_2000(tmp_path_factory) -> Path:
    return write_people(tmp_path_factory.mktemp("faults") / "people.csv", 2000)


def test_lost_and_slow_answers_with_a_key_give_no_duplicate_and_no_lost_row(tmp_path, people_2000):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=LOST_ANSWERS) as sb:
        result = cli("run", str(people_2000), "--mapping", str(mapping), "--api-url", sb.api_url,
                     "--schema", str(SAMPLE_SCHEMA), "--timeout", TIMEOUT, "--workers", "16",
                     "--results", str(tmp_path / "out.csv"), cwd=tmp_path)
        stats = sb.stats()
        profiles = sb.profiles(2)
    assert result.returncode == 0, result.stdout + result.stderr
    # the faults really happened, in the proportions asked for
    assert 150 <= stats["dropped_after_store"] <= 260 and 60 <= stats["slow"] <= 140
    emails = Counter(p["fields"]["email"] for p in profiles)
    assert len(emails) == 2000 and set(emails.values()) == {1}, "a row was lost or stored twice"
    assert stats["posts"] == 2000, "a POST was sent again after its profile was stored"
    lines = read_lines(tmp_path / "out.csv")
    assert sorted(int(line["row"]) for line in lines) == list(range(2, 2002))
    assert {line["status"] for line in lines} == {"created"}
    by_id = {int(p["ID"]): p["fields"]["email"] for p in profiles}
    assert {int(line["profile_id"]): line["key"] for line in lines} == by_id
    recovered = [line for line in lines if "found by its key" in line["error"]]
    assert len(recovered) == stats["dropped_after_store"] + stats["slow"]


def test_lost_and_slow_answers_without_a_key_end_unknown_never_created_twice(tmp_path, people_2000):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("key: email\n", ""))
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=LOST_ANSWERS) as sb:
        result = cli("run", str(people_2000), "--mapping", str(mapping), "--api-url", sb.api_url,
                     "--schema", str(SAMPLE_SCHEMA), "--timeout", TIMEOUT, "--workers", "16",
                     "--results", str(tmp_path / "out.csv"), cwd=tmp_path)
        stats = sb.stats()
        emails = Counter(p["fields"]["email"] for p in sb.profiles(2))
    assert result.returncode == 1, result.stdout + result.stderr  # 1: not "all done"
    lost = stats["dropped_after_store"] + stats["slow"]
    assert lost > 100
    lines = read_lines(tmp_path / "out.csv")
    statuses = Counter(line["status"] for line in lines)
    assert statuses == {"created": 2000 - lost, "unknown": lost}
    assert len(emails) == 2000 and set(emails.values()) == {1}, "an ambiguous row was sent twice"
    assert stats["posts"] == 2000
    unknown = [line for line in lines if line["status"] == "unknown"]
    assert all("without a `key`" in line["error"] and "may exist twice" in line["error"] for line in unknown)
    assert all(line["profile_id"] == "" for line in unknown)
    # the summary says how many, and why: nobody is told "all done"
    assert ["unknown", f"{lost:,}"] in [line.split() for line in result.stdout.splitlines()]
    assert "unknown: the answer from Copernica was lost" in result.stdout


def test_consecutive_temporary_failures_open_the_circuit_instead_of_burning_retries(tmp_path):
    """An outage: the breaker pauses every sender after a few failures and lets
    one probe through now and then, so rows keep their retries for when
    Copernica is back, instead of failing one after another."""
    n = 40
    src = write_people(tmp_path / "in.csv", n)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING)
    outage = Faults(rate_503=1.0, retry_after=0)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=outage) as sb:
        breaker = CircuitBreaker(threshold=5, cooldown=0.2, max_cooldown=0.4, min_span=0.0)
        pacer = Pacer(8, breaker=breaker)
        # 6 tries per request, close together: without the breaker, 40 rows x 6 tries
        # would all be spent (and every row failed) well within the outage. (With 4,
        # a row sent just as the circuit opened could spend them all on a loaded machine.)
        retry = RetryPolicy(attempts=6, backoff=0.01, max_wait=0.02)
        timer = threading.Timer(1.5, sb.set_faults, kwargs={"rate_503": 0.0})
        with CopernicaClient(sb.api_url, TOKEN, retry=retry, pacer=pacer) as client:
            options = ImportOptions(file=src, mapping=mapping, results=tmp_path / "out.csv", workers=8,
                                    schema=SAMPLE_SCHEMA)
            timer.start()
            summary = run_import(options, client)
        timer.join()
        refused = sb.stats()["unavailable"]
        emails = Counter(p["fields"]["email"] for p in sb.profiles(2))
    assert breaker.times_opened >= 2
    assert summary.counts[Status.CREATED] == n and summary.counts[Status.FAILED] == 0
    assert len(emails) == n and set(emails.values()) == {1}
    # a handful of requests per opening, not 4 per row
    assert refused < n


def test_an_interrupt_while_the_circuit_is_open_stops_at_once_and_resumes(tmp_path):
    """Ctrl-C during an outage: rows waiting for the open circuit are not in
    flight, so the run stops now (not after the cool-down) and those rows are
    sent by the resume, without a look-up."""
    n = 30
    src = write_people(tmp_path / "in.csv", n)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("key: email\n", ""))  # without a key a stray 'sending' mark shows
    options = ImportOptions(file=src, mapping=mapping, results=tmp_path / "out.csv", workers=4,
                            schema=SAMPLE_SCHEMA)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(rate_503=1.0, retry_after=0)) as sb:
        breaker = CircuitBreaker(threshold=3, cooldown=5, max_cooldown=5, min_span=0.0)
        client = CopernicaClient(sb.api_url, TOKEN, retry=RetryPolicy(attempts=4, backoff=0.01, max_wait=0.02),
                                 pacer=Pacer(4, breaker=breaker))

        def interrupt_when_open() -> None:
            while breaker.state != CircuitBreaker.OPEN:
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGINT)

        interrupter = threading.Thread(target=interrupt_when_open, daemon=True)
        interrupter.start()
        summary = run_import(options, client)  # in the main thread: it owns the signal handler
        client.close()
        # stopped during the first cool-down: no probe was sent (it would have failed and reopened)
        assert breaker.times_opened == 1 and breaker.state == CircuitBreaker.OPEN
        assert summary.stopped == "interrupted" and summary.exit_code == 3
        assert summary.counts[Status.FAILED] == 0
        sb.set_faults(rate_503=0.0)
        with CopernicaClient(sb.api_url, TOKEN) as fresh:
            resumed = run_import(ImportOptions(**{**options.__dict__, "resume": True}), fresh)
        emails = Counter(p["fields"]["email"] for p in sb.profiles(2))
    assert resumed.counts[Status.CREATED] == n and resumed.counts[Status.UNKNOWN] == 0
    assert len(emails) == n and set(emails.values()) == {1}
