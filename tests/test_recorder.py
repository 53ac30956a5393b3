"""The recorder: outcomes go to the journal first, then to the results file,
in the file's row order, written while the run goes (not held until its end)."""
from __future__ import annotations

import csv
import threading
import time

from importer.client import CopernicaClient
from importer.journal import Journal, RunIdentity
from importer.models import Outcome, Status
from importer.pacing import Pacer
from importer.recorder import ResultsRecorder
from importer.results import ResultsWriter
from importer.runner import ImportOptions, run_import
from importer.sandbox import Faults, Sandbox
from importer.summary import RunSummary
from tests.helpers import ONE_TRY, SAMPLE_SCHEMA, TOKEN, cli, read_results, write_csv, write_mapping


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


def test_lines_wait_for_earlier_rows_only_up_to_a_limit_and_none_is_lost(tmp_path, monkeypatch):
    """A slow row must not hold the whole results file in memory: past the
    limit, waiting lines are written anyway, each exactly once."""
    monkeypatch.setattr(ResultsRecorder, "MAX_HELD", 3)
    src = write_csv(tmp_path / "in.csv", header=["Email"], rows=[[f"p{i}@example.com"] for i in range(80)] + [["bad"]])
    m = write_mapping(tmp_path / "m.yaml", "database: 2\nkey: email\nfields:\n  email: {column: Email, validate: email}\n")
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=5, jitter_ms=60, seed=4)) as sb, \
            CopernicaClient(sb.api_url, TOKEN, retry=ONE_TRY, pacer=Pacer(8)) as client:
        run_import(ImportOptions(file=src, mapping=m, results=tmp_path / "r.csv", workers=8,
                                 schema=SAMPLE_SCHEMA), client)
    rows = [int(line["row"]) for line in read_results(tmp_path / "r.csv")]
    assert sorted(rows) == list(range(2, 83))


def test_a_stuck_row_holds_back_at_most_max_held_lines_then_they_are_written_each_once(tmp_path, monkeypatch):
    monkeypatch.setattr(ResultsRecorder, "MAX_HELD", 3)
    identity = RunIdentity("f.csv", "fp", "mapping-fp", 1, "create")
    summary, seen = RunSummary(), []
    with Journal.open(tmp_path / "r.csv.journal", identity, resume=False) as journal, \
            ResultsWriter(tmp_path / "r.csv", ["Email"]) as writer:
        recorder = ResultsRecorder(journal, writer, summary, seen.append)
        for row in range(2, 11):
            recorder.expect(row)
        for row in range(3, 8):  # row 2 is stuck in retries
            recorder.record(Outcome(row, Status.CREATED, row, (), 1), {"Email": f"p{row}@x.nl"})
        time.sleep(0.3)  # the journal's commit falls due
        recorder.record(Outcome(8, Status.CREATED, 8, (), 1), {"Email": "p8@x.nl"})
        written_early = [int(line["row"]) for line in read_results(tmp_path / "r.csv")]
        for row in (2, 9, 10):
            recorder.record(Outcome(row, Status.CREATED, row, (), 1), {"Email": f"p{row}@x.nl"})
        recorder.close()
    assert written_early == [3, 4, 5, 6, 7, 8]  # more than MAX_HELD waiting: written without row 2
    assert [int(line["row"]) for line in read_results(tmp_path / "r.csv")] == [3, 4, 5, 6, 7, 8, 2, 9, 10]
    assert [o.row for o in seen] == [3, 4, 5, 6, 7, 8, 2, 9, 10] and summary.counts[Status.CREATED] == 9
