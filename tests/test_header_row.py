"""Where the column names are: titles and notes above them, files without any,
and the mapping's header_row / header: none and --header-row."""
from __future__ import annotations

import pytest

from importer.errors import InputFileError
from importer.mapping import load_mapping
from importer.reader import open_sheet
from tests.file_builders import make_xlsx, no_header, title_above_header, title_with_commas, write, xlsx_title_rows
from tests.helpers import SAMPLE_SCHEMA, cli

PEOPLE = """\
database: 2
key: email
fields:
  email: {column: Email, transform: [trim, lower], validate: email, required: true}
  firstname: Name
  age: Age
interests:
  newsletter: {column: Newsletter, truthy: [yes], falsy: [no, ""]}
"""


def _mapping(folder, text=PEOPLE, name="m.yaml"):
    path = folder / name
    path.write_text(text)
    return path


def test_a_title_and_a_generated_by_line_above_the_header_are_skipped_and_said(tmp_path):
    with open_sheet(title_above_header(tmp_path)) as sheet:
        rows = list(sheet)
    assert sheet.header_row == 4
    assert sheet.headers == ["Email", "Name", "Age", "Newsletter"]
    assert [r.number for r in rows] == [5, 6, 7, 8, 9, 10]
    assert "title.csv: header on row 4; rows 1-2 skipped: 'Export – Relations – generated 01-12-2025 08:00'" \
        in sheet.notes


def test_commas_in_a_title_do_not_choose_the_delimiter_of_semicolon_data(tmp_path):
    with open_sheet(title_with_commas(tmp_path)) as sheet:
        rows = list(sheet)
    assert sheet.delimiter == ";"
    assert sheet.header_row == 2
    assert rows[0].values == {"Email": "p0@example.com", "Name": "Name 0", "Age": "20", "Newsletter": "no"}


def test_a_workbook_title_above_the_header(tmp_path):
    with open_sheet(xlsx_title_rows(tmp_path)) as sheet:
        rows = list(sheet)
    assert sheet.header_row == 3
    assert rows[0].values["Email"] == "a@example.com"


def test_a_text_row_above_a_column_of_email_addresses_is_a_title(tmp_path):
    path = write(tmp_path, "list.csv", "Newsletter list\nEmail\n" + "".join(f"p{i}@x.nl\n" for i in range(5)))
    with open_sheet(path) as sheet:
        assert sheet.header_row == 2 and sheet.headers == ["Email"]


def test_the_mapping_s_columns_pick_the_header_among_look_alike_rows(tmp_path):
    path = write(tmp_path, "a.csv", "Report;Week;Owner;Team\nEmail;Name;Age;Newsletter\n"
                                    "a@example.com;Ann;31;yes\n")
    with open_sheet(path, expected_columns=["Email", "Name"]) as sheet:
        assert sheet.header_row == 2


def test_header_row_forces_a_row_and_a_missing_row_is_a_clear_error(tmp_path):
    path = write(tmp_path, "a.csv", "Email;Name\nx@x.nl;X\nEmail;Name\na@x.nl;Ann\n")
    with open_sheet(path, header_row=3) as sheet:
        assert [r.values for r in sheet] == [{"Email": "a@x.nl", "Name": "Ann"}]
    try:
        open_sheet(path, header_row=9)
    except InputFileError as exc:
        assert "the header row is set to row 9, but the file has no row 9" in str(exc)
    else:
        raise AssertionError("no error")


def test_header_row_in_the_mapping_and_the_command_line_flag(tmp_path):
    path = write(tmp_path, "a.csv", "Report of week 12\nEmail;Name;Age;Newsletter\n"
                                    "Email;Name;Age;Newsletter\na@example.com;Ann;31;yes\n")
    mapping = _mapping(tmp_path, PEOPLE + "header_row: 3\n")
    checked = cli("check", str(path), "--mapping", str(mapping), "--schema", str(SAMPLE_SCHEMA), "--offline")
    assert checked.returncode == 0, checked.stderr
    assert "would send         1" in checked.stdout
    flag = cli("check", str(path), "--mapping", str(_mapping(tmp_path, name="plain.yaml")), "--offline",
               "--schema", str(SAMPLE_SCHEMA), "--header-row", "3")
    assert flag.returncode == 0, flag.stderr
    assert "header on row 3; rows 1-2 skipped: 'Report of week 12'" in flag.stderr


def test_a_file_without_a_header_is_refused_before_sending(tmp_path):
    result = cli("run", str(no_header(tmp_path)), "--mapping", str(_mapping(tmp_path)), "--sandbox",
                 "--schema", str(SAMPLE_SCHEMA), cwd=tmp_path)
    assert result.returncode == 2
    assert ("row 1 looks like data, not column names ('p0@example.com' is an e-mail address), so the file "
            "seems to have no header row") in result.stderr
    assert "header: none" in result.stderr and "Traceback" not in result.stderr


def test_header_none_names_the_columns_a_b_c(tmp_path):
    mapping = _mapping(tmp_path, "database: 2\nheader: none\nkey: email\nfields:\n  email: A\n  firstname: B\n"
                                 "  age: C\ninterests:\n  newsletter: {column: D, truthy: [yes]}\n")
    with open_sheet(no_header(tmp_path), no_header=True) as sheet:
        rows = list(sheet)
    assert sheet.headers == ["A", "B", "C", "D"]
    assert rows[0].number == 1 and rows[0].values == {"A": "p0@example.com", "B": "Name 0", "C": "20", "D": "yes"}
    checked = cli("check", str(tmp_path / "no-header.csv"), "--mapping", str(mapping), "--offline",
                  "--schema", str(SAMPLE_SCHEMA))
    assert checked.returncode == 0, checked.stderr
    assert "would send         5" in checked.stdout
    assert "no header row (header: none); the columns are named A-D" in checked.stderr


def test_init_proposes_header_none_and_its_draft_checks(tmp_path):
    path = no_header(tmp_path)
    draft = tmp_path / "draft.yaml"
    made = cli("init", str(path), "--output", str(draft))
    assert made.returncode == 0, made.stderr
    text = draft.read_text()
    assert "\nheader: none\n" in text and "column: A" in text
    checked = cli("check", str(path), "--mapping", str(draft), "--offline")
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("with_schema", [True, False])
def test_init_maps_the_column_of_addresses_in_a_file_without_a_header(tmp_path, with_schema):
    path = no_header(tmp_path)   # column A holds e-mail addresses: its name says nothing
    draft = tmp_path / "draft.yaml"
    schema = ["--schema", str(SAMPLE_SCHEMA), "--database", "2"] if with_schema else []
    made = cli("init", str(path), "--output", str(draft), *schema)
    assert made.returncode == 0, made.stderr
    mapping = load_mapping(draft)
    assert mapping.fields["email"].column == "A" and mapping.key == ["email"]
    assert "chosen by its values (e-mail addresses), not by its name" in draft.read_text()
    checked = cli("check", str(path), "--mapping", str(draft), "--offline", *schema[:2])
    assert checked.returncode == 0, checked.stderr
    assert "would send         5" in checked.stdout


def test_init_finds_the_header_below_a_title(tmp_path):
    made = cli("init", str(title_above_header(tmp_path)))
    assert made.returncode == 0, made.stderr
    assert "column: Email" in made.stdout and "column: Newsletter" in made.stdout
    assert "header on row 4" in made.stderr


def test_a_spacer_row_and_column_workbook_still_finds_its_header(tmp_path):
    path = make_xlsx(tmp_path / "l.xlsx", {"S": [["email", "name"], [None, None], ["a@x.nl", "Ann"]]}, start="B3")
    with open_sheet(path) as sheet:
        assert sheet.header_row == 3 and [r.values for r in sheet] == [{"email": "a@x.nl", "name": "Ann"}]


def test_year_columns_in_a_header_do_not_make_it_data(tmp_path):
    path = write(tmp_path, "a.csv", "Email;Name;2023;2024\na@example.com;Ann;10;12\n")
    with open_sheet(path) as sheet:
        assert sheet.header_row == 1 and sheet.headers == ["Email", "Name", "2023", "2024"]
