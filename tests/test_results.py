import csv

import pytest

from importer.errors import InputFileError
from importer.models import Outcome, Reason, Status
from importer.results import (
    RESULT_COLUMNS,
    ResultsWriter,
    is_results_header,
    neutralise,
    read_results,
    source_columns,
    source_values,
    unneutralise,
)

EMPTY_EMAIL = Reason("empty_required", "column {column!r} is empty but required", {"column": "E-mail"})
REFUSED = Reason("refused", "Copernica refused the profile: {detail}", {"detail": "Invalid data provided"})


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+31 6 1234", "-5", "@SUM(A1)", "\tx", "\rx"])
def test_formula_like_values_are_neutralised_and_restored(value):
    assert neutralise(value) == "'" + value
    assert unneutralise(neutralise(value)) == value


def own_cells(cells: dict[str, str]) -> dict[str, str]:
    """The source cells, without what the runner keeps beside them (the first row number)."""
    return {k: v for k, v in cells.items() if not k.startswith("\x00")}


@pytest.mark.parametrize("value", ["", "plain", "jan@example.com", "31612345678"])
def test_ordinary_values_are_left_alone(value):
    assert neutralise(value) == value
    assert unneutralise(value) == value


def test_writer_pairs_each_row_with_its_outcome_and_source(tmp_path):
    path = tmp_path / "r.csv"
    with ResultsWriter(path, ["E-mail", "Name"]) as w:
        w.write(Outcome(2, Status.CREATED, 101, (), 1, "a@x.nl"), {"E-mail": "a@x.nl", "Name": "=cmd|' /C calc'!A0"})
        w.write(Outcome(3, Status.INVALID, None, (EMPTY_EMAIL,), 0, ""), {"E-mail": "", "Name": "B"})
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == [*RESULT_COLUMNS, "E-mail", "Name"]
    assert lines[1] == ["2", "created", "101", "", "", "1", "a@x.nl", "a@x.nl", "'=cmd|' /C calc'!A0"]
    assert lines[2][:5] == ["3", "invalid", "", "column 'E-mail' is empty but required", "empty_required"]
    assert [line["row"] for line in read_results(path)] == ["2", "3"]


def test_read_results_ignores_a_cut_last_line(tmp_path):
    path = tmp_path / "r.csv"
    with ResultsWriter(path, ["E-mail"]) as w:
        w.write(Outcome(2, Status.CREATED, 7, (), 1, "a@x.nl"), {"E-mail": "a@x.nl"})
    with open(path, "a", encoding="utf-8") as f:
        f.write("3,crea")  # what kill -9 mid-write can leave
    assert [line["row"] for line in read_results(path)] == ["2"]


def test_a_results_file_fed_back_in_does_not_repeat_our_columns(tmp_path):
    path = tmp_path / "again.csv"
    columns = source_columns([*RESULT_COLUMNS, "E-mail"])
    assert columns == ["E-mail"]
    with ResultsWriter(path, columns) as w:
        w.write(Outcome(2, Status.CREATED, 9, (), 1, "a@x.nl"), {"E-mail": "a@x.nl"})
    header = next(csv.reader(open(path, encoding="utf-8-sig")))
    assert header == [*RESULT_COLUMNS, "E-mail"]


def test_source_columns_named_like_ours_survive_the_round_trip(tmp_path):
    """A CRM export with 'Status' and 'Key' columns: labelled in the results,
    restored when the results file is read back in."""
    path = tmp_path / "r.csv"
    with ResultsWriter(path, ["E-mail", "Status", "Key"]) as w:
        w.write(Outcome(2, Status.FAILED, None, (REFUSED,), 1, "a@x.nl"),
                {"E-mail": "a@x.nl", "Status": "=lead", "Key": "k1"})
    with open(path, encoding="utf-8-sig", newline="") as f:
        header, line = list(csv.reader(f))
    assert header == [*RESULT_COLUMNS, "E-mail", "Status (source)", "Key (source)"]
    assert source_columns(header) == ["E-mail", "Status", "Key"]
    cells, ours = source_values(dict(zip(header, line)), neutralised=True)
    assert own_cells(cells) == {"E-mail": "a@x.nl", "Status": "=lead", "Key": "k1"}
    assert ours["status"] == "failed" and ours["key"] == "a@x.nl"


def test_read_results_refuses_other_csv(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match="not a copernica-import results file"):
        list(read_results(path))


def test_a_results_file_from_before_the_code_column_is_read_back_whole(tmp_path):
    """Results files written before the `code` column existed can be imported
    again, a source column that happens to be called 'code' included."""
    header = ["row", "status", "profile_id", "error", "attempts", "key", "E-mail", "code"]
    assert is_results_header(header)
    assert source_columns(header) == ["E-mail", "code"]
    cells, ours = source_values(dict(zip(header, ["2", "failed", "", "refused", "1", "a@x.nl", "a@x.nl", "=X1"])),
                                neutralised=True)
    assert own_cells(cells) == {"E-mail": "a@x.nl", "code": "=X1"}
    assert (ours["status"], ours["key"], ours["code"]) == ("failed", "a@x.nl", "")
