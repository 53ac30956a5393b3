"""Results lines are written during a run, not held in memory until its end."""
from __future__ import annotations

import csv
import threading

from importer.journal import Journal, RunIdentity
from importer.models import Outcome, Status
from tests.conftest import SAMPLE_SCHEMA, cli

IDENTITY = RunIdentity("f.csv", "fp", "mapping-fp", 1, "create")


def test_marking_rows_as_sending_does_not_hide_outcomes_waiting_for_a_commit(tmp_path):
    with Journal.open(tmp_path / "j", IDENTITY, resume=False) as journal:
        journal.record(Outcome(1, Status.CREATED, 11, "", 1, "a@example.com"))
        journal.mark_sending([(2, "b@example.com")])   # commits, as before every send
        # the runner writes its results lines when this says so
        assert journal.commit_due(max_pending=1)


def test_results_lines_are_flushed_while_rows_are_still_being_sent(tmp_path, sandbox):
    """A 1,500-row run at a steady pace: the results file must have lines
    well before the last row is sent (not all of them at the end)."""
    rows = 1500
    data = tmp_path / "many.csv"
    with open(data, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["E-mail address", "First name"])
        w.writerows([f"person{i}@example.com", f"P{i}"] for i in range(rows))
    mapping = tmp_path / "m.yaml"
    mapping.write_text("database: 1\nkey: email\nfields:\n  email: {column: E-mail address, validate: email}\n"
                       "  firstname: First name\n", encoding="utf-8")
    sandbox.set_faults(latency_ms=2)
    results = tmp_path / "out.csv"
    # a watcher thread in the test process records the results file's size as the run goes
    sizes: list[int] = []
    done = threading.Event()

    def watch():
        while not done.wait(0.05):
            sizes.append(results.stat().st_size if results.exists() else 0)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        r = cli("run", str(data), "--mapping", str(mapping), "--schema", str(SAMPLE_SCHEMA),
                "--api-url", sandbox.api_url, "--results", str(results), "--workers", "4", "--quiet")
    finally:
        done.set()
        watcher.join()
    assert r.returncode == 0, r.stderr
    final = results.stat().st_size
    # some moment of the run saw the file between a tenth and nine tenths of its final size
    assert any(final * 0.1 < s < final * 0.9 for s in sizes), (final, sizes[-20:])
