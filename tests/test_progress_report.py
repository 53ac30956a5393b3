"""What a user reads during and after a run: the progress line, the summary's notes, the report's audit trail."""
from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path

import pytest

from importer import progress as progress_module
from importer.journal import Journal, RunIdentity
from importer.models import Outcome, Reason, Status
from importer.progress import Progress, count_records, estimate_rows, resumed_rows
from importer.report import Msg as ReportMsg
from importer.report import render_html
from importer.runner import ImportOptions
from importer.summary import Msg as SummaryMsg
from importer.summary import RunSummary
from importer.terminal import TerminalReporter
from tests.helpers import cli


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# ---------------------------------------------------------------- the total

@pytest.mark.parametrize("text, records", [
    (b'a,b\n1,2\n3,4\n', 3), (b'a,b\n1,2\n3,4', 3), (b'a,b\n"1\nstill 1",2\n3,"4\r\n4"\n', 3),
    (b'a,b\n"say ""hi""\nthere",2\n3,4\n', 3), (b'a\n"never closed\n\n', 3), (b'', 0),
])
def test_records_are_counted_outside_quoted_cells(text, records):
    assert count_records(io.BytesIO(text)) == records


def test_a_quoted_cell_across_chunks_is_one_record(monkeypatch):
    monkeypatch.setattr(progress_module, "CHUNK", 7)
    text = b'a,b\n"one\ntwo\nthree",x\n"4",5\n6,"7\n8"\n'
    assert count_records(io.BytesIO(text)) == 4


def test_the_total_of_a_file_with_line_breaks_in_cells_is_its_rows(tmp_path):
    path = tmp_path / "in.csv"
    rows = "".join(f'p{n}@example.com,"Street {n}\nFlat {n}\nCity"\n' for n in range(284))
    path.write_text("Email,Address\n" + rows, encoding="utf-8")
    assert estimate_rows(path) == 284


def test_the_bar_ends_at_what_was_done_when_the_estimate_was_off():
    stream = Terminal()
    bar = Progress(total=284, stream=stream)
    for n in range(120):
        bar.update(Outcome(n + 2, Status.CREATED))
    bar.close()
    assert "100%" in stream.getvalue() and "120/120" in stream.getvalue()
    stopped = Terminal()
    bar = Progress(total=284, stream=stopped)
    for n in range(120):
        bar.update(Outcome(n + 2, Status.CREATED))
    bar.close(finished=False)                # a stopped run: the total stays, so it does not look done
    assert "120/284" in stopped.getvalue()


# ---------------------------------------------------------------- the line

def test_the_line_shows_skipped_rows_and_the_check_counts():
    clock, stream = Clock(), io.StringIO()
    line = Progress(stream=stream, clock=clock, interval=5)
    for status in (Status.CREATED, Status.SKIPPED, Status.SKIPPED, Status.INVALID):
        line.update(Outcome(2, status))
    clock.now = 6.0
    line.update(Outcome(9, Status.FAILED))
    assert re.search(r"progress: 5 rows done, 1 rows/s; created 1 updated 0 skipped 2 invalid 1 failed 1$",
                     stream.getvalue().strip())
    check = Progress(stream=io.StringIO(), check=True)
    check.update(Outcome(2, Status.VALID))
    check.update(Outcome(3, Status.SKIPPED))
    assert check._counts_text() == progress_module.Msg.CHECK_COUNTS.format(valid=1, skipped=1, invalid=0)


def test_after_resume_the_rate_is_that_of_the_rows_this_run_handles():
    clock, stream = Clock(), io.StringIO()
    line = Progress(stream=stream, clock=clock, replayed=2000)
    for n in range(2000):                     # the journal's rows come back at once
        line.update(Outcome(n + 2, Status.CREATED))
    for n in range(50):                       # then 5 rows a second are sent
        clock.now = (n + 1) / 5
        line.update(Outcome(n + 2002, Status.CREATED))
    assert line.done == 2050
    assert line.rate == pytest.approx(5.0)
    first = stream.getvalue().splitlines()[0]          # the first line, 5 seconds in: 5 rows/s, not 400
    assert "2,025 rows done, 5 rows/s" in first
    bar_stream = Terminal()
    bar = Progress(stream=bar_stream, total=3000, replayed=2000)
    bar.update(Outcome(2, Status.CREATED))
    bar.close(finished=False)
    assert "2000/3000" in bar_stream.getvalue()       # replays are in the bar from the start, counted once


def test_the_terminal_reads_the_replayed_rows_from_the_journal(tmp_path):
    results = tmp_path / "in.results.csv"
    identity = RunIdentity("in.csv", "f", "m", 2, "create")
    with Journal.open(Path(str(results) + ".journal"), identity, resume=False) as journal:
        for n in range(2, 12):
            journal.record(Outcome(n, Status.CREATED if n % 5 else Status.FAILED, 7, attempts=1))
        journal.mark(40, "k", "d40")
        journal.commit()
    journal_path = Path(str(results) + ".journal")
    assert resumed_rows(journal_path) == 8                  # failed rows are sent again
    assert resumed_rows(journal_path, retry_failed=False) == 10
    assert resumed_rows(tmp_path / "none.journal") == 0
    reporter = TerminalReporter(argparse.Namespace(quiet=False, input=["in.csv"], files=["in.csv"], dry_run=False,
                                                   sandbox=False, job=None))
    reporter.file_started(1, 1, ImportOptions(file=tmp_path / "in.csv", mapping=tmp_path / "m.yaml",
                                              results=results, resume=True))
    assert reporter.progress.replayed == 8


# ---------------------------------------------------------------- summary and report

def summary_with_everything(tmp_path: Path) -> RunSummary:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("database: 1\n", encoding="utf-8")
    summary = RunSummary(file=tmp_path / "in.csv", results_path=tmp_path / "out" / "in.results.csv")
    summary.note_run(mapping=mapping, database_id=1, database_name="Contacts",
                     api_url="https://api.copernica.com/v3")
    summary.add(Outcome(2, Status.CREATED, 5))
    bad = Reason("invalid_email", "column {column!r}: {inner}",
                 {"column": "E-mail", "inner": "'jan@@x' is not a valid email address", "value": "jan@@x"})
    summary.add(Outcome(3, Status.INVALID, reasons=(bad,)))
    summary.add(Outcome(4, Status.SKIPPED, reasons=(Reason("duplicate", "duplicate of row {row}", {"row": 2}),)))
    summary.notes = [Reason("blank_yes_no", "{count} empty cells", {"count": 3})]
    summary.elapsed = 2.5
    return summary


def test_the_summary_lists_notes_and_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = summary_with_everything(tmp_path).format_text()
    assert f"{SummaryMsg.NOTES}\n  3 empty cells" in text
    assert "Results: out/in.results.csv" in text


def test_the_json_summary_has_the_audit_trail_notes_and_example_values(tmp_path):
    data = summary_with_everything(tmp_path).to_dict()
    audit = data["audit"]
    assert (audit["database_id"], audit["database_name"], audit["api_host"]) == (1, "Contacts", "api.copernica.com")
    assert audit["mapping"].endswith("m.yaml") and re.fullmatch(r"[0-9a-f]{64}", audit["mapping_sha256"])
    assert audit["tool_version"] and audit["user"] and audit["machine"]
    assert audit["started"] < audit["finished"] or audit["started"] == audit["finished"]
    assert data["notes"] == [{"code": "blank_yes_no", "title": "empty yes/no cells switched nothing",
                              "message": "3 empty cells"}]
    email = next(r for r in data["reasons"] if r["code"] == "invalid_email")
    assert email["example_value"] == "jan@@x"


def test_the_html_report_names_who_what_where_and_when_and_links_the_results(tmp_path):
    page = render_html([summary_with_everything(tmp_path)], exit_code=1, base=tmp_path)
    audit = dict(re.findall(r'<tr data-audit="(\w+)"><th>[^<]*</th><td>([^<]*)</td>', page))
    assert audit["database"] == ReportMsg.DATABASE.format(id=1, name="Contacts")
    assert audit["api_host"] == "api.copernica.com"
    assert re.fullmatch(r".*m\.yaml \(sha256 [0-9a-f]{64}\)", audit["mapping"])
    assert audit["tool_version"].startswith("copernica-import ")
    assert audit["user"] and audit["machine"] and audit["started"] and audit["finished"]
    assert '<a class="results" href="out/in.results.csv">' in page
    assert ReportMsg.EXAMPLE_VALUE_IN.format(column="E-mail", value="&#x27;jan@@x&#x27;") in page
    assert '<p class="note" data-code="blank_yes_no">3 empty cells</p>' in page


def test_a_check_without_api_says_so_in_the_report(tmp_path):
    summary = RunSummary(dry_run=True)
    summary.note_run(mapping=None, database_id=None, database_name=None, api_url=None)
    page = render_html([summary], exit_code=0, base=tmp_path)
    assert ReportMsg.NO_API in page and ReportMsg.NOT_KNOWN in page


def test_a_real_run_writes_the_audit_trail(tmp_path, sandbox):
    (tmp_path / "m.yaml").write_text("database: 2\nkey: email\nfields:\n  email: Email\n", encoding="utf-8")
    (tmp_path / "in.csv").write_text("Email\na@example.com\nb@example\n", encoding="utf-8")
    result = cli("run", "in.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url, "--summary-json", "s.json",
                 "--report-html", "r.html", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    audit = json.loads((tmp_path / "s.json").read_text())["files"][0]["audit"]
    assert audit["database_id"] == 2 and audit["database_name"] == "Test database"
    assert audit["api_host"] == sandbox.api_url.split("/")[2] and audit["mapping"] == "m.yaml"
    page = (tmp_path / "r.html").read_text()
    assert '<a class="results" href="in.results.csv">' in page
    assert "value in column Email: &#x27;b@example&#x27;" in page


def test_the_report_labels_and_the_empty_example_value(tmp_path):
    summary = RunSummary()
    summary.note_run(mapping=None, database_id=7, database_name=None, api_url="http://127.0.0.1:1/v3")
    empty = Reason("not_yes_no", "column {column!r}: {inner}", {"column": "Optin", "inner": "x", "value": ""})
    summary.add(Outcome(2, Status.INVALID, reasons=(empty,)))
    page = render_html([summary], exit_code=1, base=tmp_path)
    assert [label for label in re.findall(r'<tr data-audit="\w+"><th>([^<]*)</th>', page)] == \
        list(ReportMsg.AUDIT.values())
    assert f"<td>{ReportMsg.DATABASE_NO_NAME.format(id=7)}</td>" in page
    assert ReportMsg.EXAMPLE_VALUE_IN.format(column="Optin", value=ReportMsg.EMPTY_VALUE) in page
