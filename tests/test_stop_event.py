"""Stopping a library run: the caller's stop event, never a signal handler.

The command line turns Ctrl-C and SIGTERM into a set event (its own handlers,
tested through real signals in test_crash_resume.py); the library installs
none, so an application embedding it keeps its own.
"""
from __future__ import annotations

import dataclasses
import signal
import threading
from collections import Counter

from importer import BatchOptions, Connection, ImportOptions, run_batch, run_import
from importer.models import Status, StopReason
from importer.sandbox import Faults, Sandbox
from tests.helpers import SAMPLE_SCHEMA, TOKEN, journal_states, people, read_results, write_csv, write_mapping

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def handlers() -> dict:
    return {s: signal.getsignal(s) for s in SIGNALS}


def test_the_library_installs_no_signal_handlers(tmp_path, sandbox, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = write_csv(tmp_path / "in.csv", people(6))
    mapping = write_mapping(tmp_path / "m.yaml")
    before = handlers()
    seen_during: list[dict] = []
    connection = Connection(token=TOKEN, api_url=sandbox.api_url)
    run_import(ImportOptions(file=src, mapping=mapping, results=tmp_path / "r.csv", workers=2), connection,
               on_outcome=lambda outcome: seen_during.append(handlers()))
    run_batch(BatchOptions(inputs=[str(src)], mapping=mapping, results=tmp_path / "b.csv", workers=2), connection)
    assert handlers() == before
    assert len(seen_during) == 6 and all(seen == before for seen in seen_during)


def test_a_stop_event_stops_the_run_resumably_and_the_resume_completes_it_once(tmp_path):
    n = 60
    src = write_csv(tmp_path / "in.csv", people(n))
    results = tmp_path / "r.csv"
    options = ImportOptions(file=src, mapping=write_mapping(tmp_path / "m.yaml"), results=results, workers=2,
                            schema=SAMPLE_SCHEMA)
    stop = threading.Event()
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=10)) as sb:
        connection = Connection(token=TOKEN, api_url=sb.api_url)
        summary = run_import(options, connection, stop=stop, on_outcome=lambda outcome: stop.set())
        assert summary.stopped is StopReason.INTERRUPTED and summary.stop_error is None
        assert summary.exit_code == 3 and summary.sent >= 1
        done = read_results(results)
        stored = sb.profiles(2)
        # requests in flight finished: each has its line and its journal entry, nothing is left 'sending'
        assert 1 <= len(done) == len(stored) < n
        assert journal_states(results) == Counter({"created": len(done)})

        resumed = run_import(dataclasses.replace(options, resume=True), connection)
        emails = Counter(p["fields"]["email"] for p in sb.profiles(2))
    assert resumed.stopped is None and resumed.exit_code == 0
    assert resumed.counts[Status.CREATED] == n  # the earlier run's rows come back from the journal
    assert sorted(int(line["row"]) for line in read_results(results)) == list(range(2, n + 2))
    assert len(emails) == n and set(emails.values()) == {1}


def test_a_stop_event_set_before_the_start_sends_nothing(tmp_path, sandbox):
    stop = threading.Event()
    stop.set()
    options = ImportOptions(file=write_csv(tmp_path / "in.csv", people(5)), mapping=write_mapping(tmp_path / "m.yaml"),
                            results=tmp_path / "r.csv", schema=SAMPLE_SCHEMA)
    summary = run_import(options, Connection(token=TOKEN, api_url=sandbox.api_url), stop=stop)
    assert summary.stopped is StopReason.INTERRUPTED and summary.sent == 0
    assert sandbox.stats()["posts"] == 0 and read_results(tmp_path / "r.csv") == []
