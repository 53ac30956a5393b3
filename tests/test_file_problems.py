"""Clear causes instead of wrong data or tracebacks: Excel error cells,
formulas without a saved result, unreadable styles, old Excel formats,
control characters in a header, .xls number formats, files cut off by a
stalled upload; and values Copernica would change (select choices with a
trailing space), with the sandbox behaving like Copernica."""
from __future__ import annotations

import os
import time

import tests.file_builders as fb
from importer.checks import check_select
from importer.dates import ValueProblem
from importer.errors import InputFileError
from importer.reader import open_sheet
from importer.sandbox.coerce import coerce_value, parse_loose_datetime
from importer.schema import FieldDef
from tests.helpers import SAMPLE_SCHEMA, cli


def _read(path, **options):
    with open_sheet(path, **options) as sheet:
        rows = list(sheet)
    return rows, sheet


# -- Excel errors and formulas ------------------------------------------------------------

def test_excel_error_cells_make_their_row_invalid_with_a_clear_reason(tmp_path):
    rows, sheet = _read(fb.xlsx_with_error_cells(tmp_path))
    assert [(r.number, r.problem.code if r.problem else None) for r in rows] == [
        (2, "excel_error"), (3, "excel_error"), (4, None), (5, None)]
    assert rows[0].problem.message == ("row 2: column 'Score' holds the Excel error #DIV/0! (a formula that failed), "
                                       "not a value; fix the formula or the cell in the spreadsheet and import the "
                                       "row again")
    assert "errors-book.xlsx: 1 formula cells have no saved result (C4) and read as empty" in " ".join(sheet.notes)


def test_an_error_in_a_column_the_mapping_does_not_use_does_not_block_the_row(tmp_path):
    rows, _ = _read(fb.xlsx_with_error_cells(tmp_path), expected_columns=["Email", "Name"])
    assert [r.problem.code if r.problem else None for r in rows] == [None, "excel_error", None, None]


def test_excel_errors_in_a_csv_export_and_in_an_xls(tmp_path):
    rows, _ = _read(fb.excel_errors_in_csv(tmp_path))
    assert [r.problem.code if r.problem else None for r in rows] == ["excel_error", "excel_error", None]
    rows, _ = _read(fb.xls_contacts(tmp_path))
    assert rows[1].problem.code == "excel_error" and rows[1].values["Score"] == "#DIV/0!"


def test_check_counts_excel_errors_as_invalid(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("database: 1\nfields:\n  email: Email\n  firstname: Name\n  score: Score\n")
    result = cli("check", str(fb.xlsx_with_error_cells(tmp_path)), "--mapping", str(mapping), "--offline",
                 "--schema", str(SAMPLE_SCHEMA))
    assert result.returncode == 1, result.stderr
    assert "invalid            2" in result.stdout and "excel_error" in result.stdout
    assert "formula cells have no saved result" in result.stderr


# -- styles, old formats, control characters, .xls formats ----------------------------------

def test_a_cell_with_an_unreadable_style_is_read_without_its_format_and_said(tmp_path):
    rows, sheet = _read(fb.xlsx_with_empty_style(tmp_path))
    assert [r.values["Customer no"] for r in rows] == ["123", "456"]
    assert any("the number formats of 1 cells cannot be read" in note for note in sheet.notes)


def test_a_workbook_whose_styles_openpyxl_cannot_parse_is_read_through_calamine(tmp_path):
    rows, sheet = _read(fb.xlsx_with_broken_styles(tmp_path))
    assert [r.values for r in rows] == [{"Email": "a@example.com", "Name": "Ann"},
                                        {"Email": "b@example.com", "Name": "Bob"}]
    assert any("its formatting cannot be read" in note for note in sheet.notes)


def test_init_and_check_on_unreadable_styles_give_no_traceback(tmp_path):
    for build in (fb.xlsx_with_empty_style, fb.xlsx_with_broken_styles):
        path = build(tmp_path)
        made = cli("init", str(path))
        assert made.returncode == 0 and "Traceback" not in made.stderr, made.stderr


def test_old_excel_formats_are_named_with_save_as_advice(tmp_path):
    for build, version in ((fb.xls_biff5, "Excel 5.0/95 (BIFF5)"), (fb.xls_biff4, "Excel 4.0 (BIFF4)")):
        try:
            _read(build(tmp_path))
        except InputFileError as exc:
            assert f"is an old {version} workbook" in str(exc) and "save it as .xlsx" in str(exc)
            assert "damaged" not in str(exc)
        else:
            raise AssertionError("not refused")


def test_vertical_tab_and_form_feed_in_a_quoted_header_are_not_binary_data(tmp_path):
    rows, sheet = _read(fb.control_characters_in_header(tmp_path))
    assert sheet.headers == ["Email", "Name", "Age"]
    assert rows[0].values == {"Email": "a@example.com", "Name": "Ann", "Age": "31"}


def test_xls_zero_padded_number_formats_are_honoured_as_for_xlsx(tmp_path):
    rows, _ = _read(fb.xls_contacts(tmp_path))
    assert [r.values["Customer no"] for r in rows] == ["000123", "000045"]
    assert rows[0].values["Born"] == "1990-01-02"


# -- files cut off ------------------------------------------------------------------------------

def test_a_file_ending_mid_row_is_flagged_and_its_last_row_invalid(tmp_path):
    rows, sheet = _read(fb.cut_off(tmp_path))
    assert [r.problem.code if r.problem else None for r in rows] == [None, None, "cut_off"]
    assert rows[-1].problem.message.startswith("the file seems cut off after row 3: row 4 ends without a line break")
    assert sheet.cut_off_after == 3
    assert "cut-off.csv seems cut off after row 3" in " ".join(sheet.notes)


def test_a_last_row_with_fewer_cells_than_every_row_before_it_is_flagged(tmp_path):
    rows, _ = _read(fb.cut_off_short_row(tmp_path))
    assert rows[-1].problem.code == "cut_off"
    assert "row 3 has 2 of the header's 4 cells" in rows[-1].problem.message


def test_short_rows_throughout_a_file_are_not_a_cut(tmp_path):
    rows, _ = _read(fb.write(tmp_path, "a.csv", "a,b,c\n1\n1,2\n"))
    assert [r.problem for r in rows] == [None, None]


def test_a_cut_off_drop_is_left_for_the_next_run(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    path = fb.cut_off(drop)
    old = time.time() - 600
    os.utime(path, (old, old))
    mapping = tmp_path / "m.yaml"
    mapping.write_text("database: 1\nkey: email\nfields:\n  email: Email\n  firstname: Name\n")
    result = cli("run", str(drop / "*.csv"), "--mapping", str(mapping), "--sandbox", "--schema", str(SAMPLE_SCHEMA),
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "left for the next run: " in result.stderr and "cut-off.csv is not complete yet" in result.stderr
    assert "Nothing to import." in result.stderr
    named = cli("run", str(path), "--mapping", str(mapping), "--sandbox", "--schema", str(SAMPLE_SCHEMA), cwd=tmp_path)
    assert named.returncode == 1 and "cut_off" in named.stdout


# -- select choices and the sandbox's loose dates -------------------------------------------------

def test_a_value_matching_only_a_choices_trailing_space_is_flagged():
    field = FieldDef(name="level", type="select", choices=("gold ", " silver", "bronze"))
    assert check_select(field, "gold") == "gold"
    assert check_select(field, " silver") == " silver"
    try:
        check_select(field, "gold ")
    except ValueProblem as exc:
        assert exc.reason.code == "not_a_choice"
        assert "only with its trailing space" in str(exc) and "would store an empty value" in str(exc)
    else:
        raise AssertionError("not flagged")


def test_the_sandbox_compares_choices_without_their_trailing_whitespace():
    field = FieldDef(name="level", type="select", choices=("gold ", " silver"))
    assert coerce_value(field, "gold ") == ""
    assert coerce_value(field, "gold") == "gold"
    assert coerce_value(field, " silver") == " silver"


def test_the_sandbox_parses_the_loose_datetimes_copernica_parses():
    parsed = {value: parse_loose_datetime(value) for value in (
        " 2020-01-02 03:04:05 ", "2020-01-02t03:04:05", "2020-01-02 03:04:05.678", "2020-01-02 03:4", "2020-2",
        "2020-01-02 03:", "2020 2")}
    shown = {value: when.strftime("%Y-%m-%d %H:%M:%S") if when else None for value, when in parsed.items()}
    assert shown == {" 2020-01-02 03:04:05 ": "2020-01-02 03:04:05", "2020-01-02t03:04:05": "2020-01-02 03:04:05",
                     "2020-01-02 03:04:05.678": "2020-01-02 03:04:05", "2020-01-02 03:4": "2020-01-02 03:04:00",
                     "2020-2": "2020-02-01 00:00:00", "2020-01-02 03:": None, "2020 2": None}
    datetime_field = FieldDef(name="seen", type="datetime")
    assert coerce_value(datetime_field, "2020-2") == "2020-02-01 00:00:00"
    assert coerce_value(datetime_field, "2020 2") == "0000-00-00 00:00:00"
