"""Results a marketer opens in Excel in any country, imports again, and rolls back.

Runs the real command against the sandbox over HTTP: ``--results out.xlsx``
(a streamed workbook), ``--results-delimiter`` and the mapping's
``results_delimiter``, the rollback record in the results' own layout, the
first run's row numbers kept on a re-import, cells past the header kept.
"""
from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from importer.errors import InputFileError
from importer.models import Outcome, Reason, Status
from importer.results import (
    STATUS_FILLS,
    ResultsWriter,
    XlsxResultsWriter,
    csv_layout,
    read_results,
    workbook_from_csv,
)
from tests.helpers import cli

MAPPING = """\
database: 2
key: email
fields:
  email: {column: Email, transform: [trim, lower], validate: email, required: true}
  firstname: Name
  zipcode: Zip
  age: Age
"""


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


def write_people(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["Email", "Name", "Zip", "Age"], *rows])
    return path


PEOPLE = [["ann@example.com", "Ann", "00123", "31"], ["bob@example.com", "=1+1", "01234", "4x"],
          ["cas@example.com", "Cas", "00042", "27"], ["dee@example", "Dee", "00007", "40"]]


def run(tmp_path, sandbox, *args: str):
    return cli("run", *args, "--api-url", sandbox.api_url, cwd=tmp_path)


def test_results_workbook_is_frozen_filtered_coloured_and_keeps_text(tmp_path, sandbox, mapping):
    source = write_people(tmp_path / "in.csv", PEOPLE)
    result = run(tmp_path, sandbox, str(source), "--mapping", str(mapping), "--results", "out.xlsx")
    assert result.returncode == 1, result.stderr
    assert "Results: out.xlsx" in result.stdout
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:K5"
    header = [c.value for c in sheet[1]]
    assert header == ["row", "status", "profile_id", "error", "code", "attempts", "key", "Email", "Name", "Zip",
                      "Age"]
    lines = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert [lines[n][1].value for n in (2, 3, 4, 5)] == ["created", "invalid", "created", "invalid"]
    assert lines[2][1].fill.start_color.rgb.endswith(STATUS_FILLS[Status.CREATED])
    assert lines[3][1].fill.start_color.rgb.endswith(STATUS_FILLS[Status.INVALID])
    assert isinstance(lines[2][2].value, int)                       # profile_id: a number cell
    assert (lines[2][9].value, lines[2][9].data_type) == ("00123", "s")
    assert sheet.column_dimensions["J"].number_format == "@"       # source columns are text columns
    assert sheet.column_dimensions["A"].number_format == "General"
    assert (lines[3][8].value, lines[3][8].data_type) == ("=1+1", "s")   # text, never a formula
    assert not (tmp_path / "out.xlsx.partial").exists()


def test_a_fixed_workbook_imports_again_and_keeps_the_first_row_numbers(tmp_path, sandbox, mapping):
    source = write_people(tmp_path / "in.csv", PEOPLE)
    run(tmp_path, sandbox, str(source), "--mapping", str(mapping), "--results", "out.xlsx")
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    sheet = book.active
    sheet.delete_rows(2)                       # the created row 2 is deleted by the user: the file shifts
    for line in sheet.iter_rows(min_row=2):
        if line[10].value == "4x":
            line[10].value = "4"                # the fix
    book.save(tmp_path / "fixed.xlsx")
    again = run(tmp_path, sandbox, str(tmp_path / "fixed.xlsx"), "--mapping", str(mapping),
                "--results", "fixed.results.xlsx")
    assert again.returncode == 1, again.stderr
    lines = list(read_results(tmp_path / "fixed.results.xlsx"))
    assert [(line_["row"], line_["original_row"], line_["status"]) for line_ in lines] == [
        ("2", "3", "created"), ("3", "4", "skipped"), ("4", "5", "invalid")]
    assert lines[0]["Age"] == "4" and lines[0]["Zip"] == "01234"
    assert len(sandbox.profiles(2)) == 3


def test_a_csv_reimport_keeps_the_first_row_numbers_in_their_own_column(tmp_path, sandbox, mapping):
    """The issue's case: blank lines gone in the fixed file, row 28 would become 27."""
    rows = [[f"p{n}@example.com", f"P{n}", f"{n:05d}", "1x" if n == 25 else "30"] for n in range(27)]
    source = tmp_path / "in.csv"
    with source.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Email", "Name", "Zip", "Age"])
        writer.writerows(rows[:10])
        writer.writerow([])                   # a blank line: row 12 of the file
        writer.writerows(rows[10:])
    run(tmp_path, sandbox, str(source), "--mapping", str(mapping), "--results", "first.csv")
    first = {line_["row"]: line_ for line_ in read_results(tmp_path / "first.csv")}
    assert first["28"]["status"] == "invalid"
    lines = list(csv.reader((tmp_path / "first.csv").open(encoding="utf-8-sig", newline="")))
    for line in lines:
        if line[0] == "28":
            line[-1] = "30"
    with (tmp_path / "fixed.csv").open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(lines)         # no blank line any more: the fixed row is row 27 now
    run(tmp_path, sandbox, str(tmp_path / "fixed.csv"), "--mapping", str(mapping), "--results", "second.csv")
    second = list(read_results(tmp_path / "second.csv"))
    fixed = next(line_ for line_ in second if line_["status"] == "created")
    assert (fixed["row"], fixed["original_row"]) == ("27", "28")
    assert all(line_["original_row"] for line_ in second)
    # imported a third time, the numbers still point at the first file
    run(tmp_path, sandbox, str(tmp_path / "second.csv"), "--mapping", str(mapping), "--results", "third.csv")
    assert {line_["original_row"] for line_ in read_results(tmp_path / "third.csv")} == \
        {line_["original_row"] for line_ in second}


def test_results_delimiter_flag_and_mapping_setting(tmp_path, sandbox, mapping):
    source = write_people(tmp_path / "in.csv", PEOPLE)
    run(tmp_path, sandbox, str(source), "--mapping", str(mapping), "--results", "semi.csv",
        "--results-delimiter", ";")
    assert csv_layout(tmp_path / "semi.csv") == (True, ";")
    assert (tmp_path / "semi.csv").read_bytes().startswith(b"\xef\xbb\xbfrow;status;profile_id;")
    setting = tmp_path / "setting.yaml"
    setting.write_text(MAPPING + 'results_delimiter: tab\n', encoding="utf-8")
    run(tmp_path, sandbox, str(source), "--mapping", str(setting), "--results", "tab.csv", "--on-existing", "skip")
    assert csv_layout(tmp_path / "tab.csv") == (True, "\t")
    # the flag wins over the mapping
    run(tmp_path, sandbox, str(source), "--mapping", str(setting), "--results", "flag.csv", "--on-existing", "skip",
        "--results-delimiter", ",")
    assert csv_layout(tmp_path / "flag.csv") == (True, ",")
    # a semicolon results file imports again (its delimiter is detected)
    again = run(tmp_path, sandbox, str(tmp_path / "semi.csv"), "--mapping", str(mapping), "--results", "again.csv")
    assert again.returncode == 1 and "already created in the run" in (tmp_path / "again.csv").read_text("utf-8-sig")
    bad = cli("run", str(source), "--mapping", str(mapping), "--results-delimiter", ":", cwd=tmp_path)
    assert bad.returncode == 2 and "':' is not one of: , ; tab |" in bad.stderr
    setting.write_text(MAPPING + 'results_delimiter: ":"\n', encoding="utf-8")
    bad = cli("run", str(source), "--mapping", str(setting), "--dry-run", cwd=tmp_path)
    assert bad.returncode == 2 and "results_delimiter ':' is not one of: , ; tab |" in bad.stderr


def test_the_rollback_record_has_the_results_bom_and_delimiter(tmp_path, sandbox, mapping):
    source = write_people(tmp_path / "in.csv", PEOPLE)
    run(tmp_path, sandbox, str(source), "--mapping", str(mapping), "--results", "semi.csv",
        "--results-delimiter", ";")
    done = cli("rollback", "semi.csv", "--yes", "--api-url", sandbox.api_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = tmp_path / "semi.rollback.csv"
    assert record.read_bytes().startswith(b"\xef\xbb\xbfrow;status;profile_id;error")
    assert len(sandbox.profiles(2)) == 0
    again = cli("rollback", "semi.csv", "--yes", "--api-url", sandbox.api_url, cwd=tmp_path)
    assert again.returncode == 0 and "Nothing to delete" in again.stdout   # the record is read back


def test_a_workbook_run_rolls_back(tmp_path, sandbox, mapping):
    source = write_people(tmp_path / "in.csv", PEOPLE)
    run(tmp_path, sandbox, str(source), "--mapping", str(mapping), "--results", "out.xlsx")
    assert len(sandbox.profiles(2)) == 2
    done = cli("rollback", "out.xlsx", "--yes", "--api-url", sandbox.api_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(sandbox.profiles(2)) == 0
    assert (tmp_path / "out.rollback.csv").read_bytes().startswith(b"\xef\xbb\xbfrow,status,profile_id,error")


def test_cells_past_the_header_are_kept_in_the_results_line(tmp_path, sandbox, mapping):
    source = tmp_path / "in.csv"
    source.write_text("Email,Name,Zip,Age\nann@example.com,Ann,001,31\nbob@example.com,Bob,002,40,Amsterdam,,NL\n",
                      encoding="utf-8")
    result = run(tmp_path, sandbox, str(source), "--mapping", str(mapping), "--results", "out.csv")
    assert result.returncode == 1
    lines = list(csv.reader((tmp_path / "out.csv").open(encoding="utf-8-sig", newline="")))
    bob = next(line for line in lines if line[0] == "3")
    assert bob[1] == "invalid" and bob[4] == "extra_cells"
    assert bob[-4:] == ["40", "Amsterdam", "", "NL"]            # Age, then the three cells past the header
    run(tmp_path, sandbox, str(source), "--mapping", str(mapping), "--results", "out.xlsx", "--on-existing", "skip")
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert [c.value for c in sheet[3]][-4:] == ["40", "Amsterdam", None, "NL"]


def test_check_report_workbook_has_the_sent_values(tmp_path, mapping):
    source = write_people(tmp_path / "in.csv", PEOPLE)
    from tests.helpers import SAMPLE_SCHEMA
    result = cli("check", str(source), "--mapping", str(mapping), "--schema", str(SAMPLE_SCHEMA),
                 "--report", "check.xlsx", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    sheet = openpyxl.load_workbook(tmp_path / "check.xlsx").active
    header = [c.value for c in sheet[1]]
    assert header[-4:] == ["\u2192 email", "\u2192 firstname", "\u2192 zipcode", "\u2192 age"]
    ann = [c.value for c in sheet[2]]
    assert ann[1] == "valid" and ann[-4:] == ["ann@example.com", "Ann", "00123", "31"]


def test_the_workbook_writer_streams_and_never_leaves_a_half_file(tmp_path):
    writer = XlsxResultsWriter(tmp_path / "r.xlsx", ["A"])
    writer.write(Outcome(2, Status.CREATED, 1), {"A": "x\x07y"})     # a control character Excel cannot hold
    assert not (tmp_path / "r.xlsx").exists()                        # it appears when closed
    writer.close()
    writer.close()
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    assert sheet["H2"].value == "x\ufffdy"


def _cells(path: Path) -> list[list[tuple[object, str, str | None]]]:
    """Every cell of the workbook's sheet: (value, data type, fill colour)."""
    sheet = openpyxl.load_workbook(path).active
    return [[(c.value, c.data_type, c.fill.start_color.rgb if c.fill.fill_type else None) for c in row]
            for row in sheet.iter_rows()]


@pytest.mark.parametrize("delimiter, original_rows, collection",
                         [(",", False, False), (";", True, False), ("\t", False, True)])
def test_a_results_csv_becomes_the_workbook_the_writer_writes(tmp_path, delimiter, original_rows, collection):
    columns = ["Email", "Name", "Status", "Phone"]    # 'Status' is labelled 'Status (source)'
    bad = Reason("invalid_email", "{value!r} is not an e-mail address", {"value": "dee@example", "column": "Email"})
    lines = [(Outcome(2, Status.CREATED, 101, attempts=1, key="ann@example.com"),
              {"Email": "ann@example.com", "Name": "=1+1", "Status": "00123", "Phone": "'+31 6"}),
             (Outcome(3, Status.INVALID, reasons=(bad,), subprofile_id=None),
              {"Email": "dee@example", "Name": "-Dee", "Status": "x\x07y", "Phone": "+31 6 1234"}),
             (Outcome(4, Status.SKIPPED, 102, attempts=2, subprofile_id=7, profile_status="found"),
              {"Email": "cas@example.com", "Name": "@cas", "Status": "", "Phone": "0612"})]
    layout = {"original_rows": original_rows, "collection": collection}
    csv_writer = ResultsWriter(tmp_path / "r.csv", columns, delimiter=delimiter, **layout)
    xlsx_writer = XlsxResultsWriter(tmp_path / "direct.xlsx", columns, **layout)
    for outcome, values in lines:
        values = {**values, "\x00original_row": str(outcome.row + 10)}
        csv_writer.write(outcome, values)
        xlsx_writer.write(outcome, values)
    csv_writer.close()
    xlsx_writer.close()
    with (tmp_path / "r.csv").open("a", encoding="utf-8") as f:
        f.write("5" + delimiter + "crea")                 # a line cut by a crash

    converted = workbook_from_csv(tmp_path / "r.csv", tmp_path / "converted.xlsx")
    assert converted == tmp_path / "converted.xlsx"
    cells = _cells(converted)
    assert cells == _cells(tmp_path / "direct.xlsx") and len(cells) == 4
    assert [row[1][0] for row in cells] == ["status", "created", "invalid", "skipped"]
    assert cells[1][0] == (2, "n", None) and cells[1][2][0] == 101
    assert cells[1][1][2].endswith(STATUS_FILLS[Status.CREATED])
    assert ("=1+1", "s", None) in cells[1] and "'+31 6" in [c[0] for c in cells[1]]


def test_only_a_results_file_becomes_a_workbook(tmp_path):
    other = tmp_path / "people.csv"
    other.write_text("Email,Name\na@example.com,Ann\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="not a copernica-import results file"):
        workbook_from_csv(other, tmp_path / "people.xlsx")
    assert not (tmp_path / "people.xlsx").exists()
