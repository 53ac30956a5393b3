"""Migration rules that need no pre-processing (issue 16, point 6): which
duplicate wins by a column, lookup tables from a file, regex replace."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook

from importer import Connection, ImportOptions, check_file, run_import
from importer.errors import MappingError, UsageError
from importer.mapping import load_mapping
from tests.helpers import SAMPLE_SCHEMA, TOKEN, cli

# database 2 of the sample schema; optin is a select field with choices yes/no
BASE = """\
database: 2
key: email
fields:
  email: {column: Email, transform: [trim, lower]}
  firstname: Name
"""


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def check(tmp_path: Path, mapping_text: str, header: list[str], rows: list[list[str]]):
    (tmp_path / "m.yaml").write_text(mapping_text)
    src = write_csv(tmp_path / "in.csv", header, rows)
    report = tmp_path / "check.csv"
    summary = check_file(ImportOptions(file=src, mapping=tmp_path / "m.yaml", schema=SAMPLE_SCHEMA), report=report)
    with open(report, encoding="utf-8-sig", newline="") as f:
        return summary, {int(r["row"]): r for r in csv.DictReader(f)}


# -- duplicates: {keep: newest, by: COLUMN} -------------------------------------------------------------
UNSORTED = [["a@x.nl", "A old", "2025-01-05"], ["b@x.nl", "B new", "2025-03-01T10:00:00Z"],
            ["A@x.nl", "A new", "2025-02-01 08:00"], ["b@x.nl", "B old", "2025-02-28"],
            ["a@x.nl", "A oldest", "2024-12-31"]]


@pytest.mark.parametrize("keep, winners", [
    ("newest", {"a@x.nl": 4, "b@x.nl": 3}),
    ("oldest", {"a@x.nl": 6, "b@x.nl": 5}),
    ("last", {"a@x.nl": 6, "b@x.nl": 5}),
    ("first", {"a@x.nl": 2, "b@x.nl": 3}),
])
def test_which_row_of_a_key_is_imported(tmp_path, keep, winners):
    rule = f"{{keep: {keep}, by: Updated}}" if keep in ("newest", "oldest") else keep
    _, lines = check(tmp_path, BASE + f"duplicates: {rule}\n", ["Email", "Name", "Updated"], UNSORTED)
    valid = {lines[n]["key"]: n for n in lines if lines[n]["status"] == "valid"}
    assert valid == winners


def test_the_skipped_rows_say_which_row_won_and_why(tmp_path):
    rows = [*UNSORTED, ["a@x.nl", "A ?", "soon"]]
    _, lines = check(tmp_path, BASE + "duplicates: {keep: newest, by: Updated}\n", ["Email", "Name", "Updated"], rows)
    assert lines[2]["error"] == "duplicate of row 4, whose 'Updated' is newer (2025-02-01 08:00)"
    assert lines[7]["error"] == ("duplicate of row 4: this row's 'Updated' ('soon') is not a date or a number, so "
                                 "the row whose 'Updated' is newer was imported")


def test_other_date_forms_need_their_format_and_numbers_rank_too(tmp_path):
    rows = [["a@x.nl", "A", "05-01-2025"], ["a@x.nl", "B", "01-02-2025"], ["c@x.nl", "C", "7"], ["c@x.nl", "D", "12"]]
    text = BASE + 'duplicates: {keep: newest, by: Updated, date_format: "%d-%m-%Y"}\n'
    _, lines = check(tmp_path, text, ["Email", "Name", "Updated"], rows)
    assert [lines[n]["status"] for n in (2, 3, 4, 5)] == ["skipped", "valid", "skipped", "valid"]


def test_a_ranking_column_the_file_lacks_and_a_rule_without_by_are_refused(tmp_path):
    with pytest.raises(UsageError, match=r"duplicates.by: the file has no column 'Updatd'; did you mean 'Updated'\?"):
        check(tmp_path, BASE + "duplicates: {keep: newest, by: Updatd}\n", ["Email", "Name", "Updated"], UNSORTED)
    (tmp_path / "m.yaml").write_text(BASE + "duplicates:\n  keep: newest\n")
    with pytest.raises(MappingError, match="line 6: duplicates: keep: newest needs the column to compare"):
        load_mapping(tmp_path / "m.yaml")


# -- lookup tables ------------------------------------------------------------------------------------
LOOKUP = BASE + "  optin: {column: Consent, transform: [trim, {lookup: consent.csv}]}\n"


def test_a_lookup_table_swaps_values_ignoring_case_and_leaves_the_rest_to_the_field_check(tmp_path):
    write_csv(tmp_path / "consent.csv", ["Given", "Meaning"], [["Ja", "yes"], ["Nee", "no"], ["Oui", "yes"]])
    rows = [["a@x.nl", "A", " ja"], ["b@x.nl", "B", "NEE"], ["c@x.nl", "C", "yes"], ["d@x.nl", "D", "misschien"]]
    _, lines = check(tmp_path, LOOKUP, ["Email", "Name", "Consent"], rows)
    assert [lines[n]["status"] for n in (2, 3, 4)] == ["valid"] * 3
    assert (lines[5]["status"], lines[5]["code"]) == ("invalid", "not_a_choice")


def test_a_lookup_table_sends_what_the_table_says(tmp_path, sandbox):
    write_csv(tmp_path / "consent.csv", ["Given", "Meaning"], [["Ja", "yes"], ["Nee", "no"]])
    (tmp_path / "m.yaml").write_text(LOOKUP)
    write_csv(tmp_path / "in.csv", ["Email", "Name", "Consent"], [["a@x.nl", "A", "JA"]])
    done = cli("run", "in.csv", "--mapping", "m.yaml", "--schema", str(SAMPLE_SCHEMA), "--api-url", sandbox.api_url,
               "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sandbox.profiles(2)[0]["fields"]["optin"] == "yes"


def test_a_wider_table_in_a_workbook_names_its_columns(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Code", "Word", "Choice"])
    sheet.append(["1", "Ja", "yes"])
    sheet.append(["2", "Nee", "no"])
    book.save(tmp_path / "consent.xlsx")
    text = BASE + "  optin: {column: Consent, transform: [{lookup: {file: consent.xlsx, from: Word, to: Choice}}]}\n"
    _, lines = check(tmp_path, text, ["Email", "Name", "Consent"], [["a@x.nl", "A", "nee"]])
    assert lines[2]["status"] == "valid"


@pytest.mark.parametrize("table, problem", [
    (None, "lookup: the table {dir}/consent.csv cannot be read: No such file or directory"),
    ([["Ja", "yes"], ["ja ", "no"]], "lookup: the table {dir}/consent.csv gives 'ja ' two meanings: 'yes' (row 2) "
                                     "and 'no' (row 3); keep one"),
])
def test_a_table_that_cannot_be_used_is_a_mapping_error_with_its_line(tmp_path, table, problem):
    if table is not None:
        write_csv(tmp_path / "consent.csv", ["Given", "Meaning"], table)
    (tmp_path / "m.yaml").write_text(LOOKUP)
    with pytest.raises(MappingError) as caught:
        load_mapping(tmp_path / "m.yaml")
    assert f"line 6: fields.optin.transform[1]: {problem.format(dir=tmp_path)}" in str(caught.value)


def test_a_resume_after_the_table_changed_is_refused(tmp_path, sandbox):
    write_csv(tmp_path / "consent.csv", ["Given", "Meaning"], [["Ja", "yes"]])
    (tmp_path / "m.yaml").write_text(LOOKUP)
    write_csv(tmp_path / "in.csv", ["Email", "Name", "Consent"], [["a@x.nl", "A", "ja"]])
    options = ImportOptions(file=tmp_path / "in.csv", mapping=tmp_path / "m.yaml", schema=SAMPLE_SCHEMA,
                            results=tmp_path / "out.csv")
    assert run_import(options, Connection(token=TOKEN, api_url=sandbox.api_url)).exit_code == 0
    write_csv(tmp_path / "consent.csv", ["Given", "Meaning"], [["Ja", "no"]])
    options.resume = True
    from importer.errors import JournalError
    with pytest.raises(JournalError, match="changed: the mapping"):
        run_import(options, Connection(token=TOKEN, api_url=sandbox.api_url))


# -- regex_replace ---------------------------------------------------------------------------------------
def test_regex_replace_rewrites_each_match_in_order(tmp_path):
    text = BASE.replace("firstname: Name", 'firstname: {column: Name, transform: [{regex_replace: '
                        '{"\\\\s+": " ", "^(\\\\w)\\\\w* ": "\\\\1. "}}]}')
    (tmp_path / "m.yaml").write_text(text)
    mapping = load_mapping(tmp_path / "m.yaml")
    from importer.mapping import compile_mapping
    from importer.models import Row
    convert = compile_mapping(mapping, ["Email", "Name"])
    assert convert(Row(2, {"Email": "a@x.nl", "Name": "Johannes   van  Dam"})).fields["firstname"] == "J. van Dam"


def test_a_pattern_that_does_not_compile_is_named_with_its_line(tmp_path):
    (tmp_path / "m.yaml").write_text(BASE.replace("firstname: Name", 'firstname: {column: Name, transform: '
                                                  '[trim, {regex_replace: {"(unclosed": ""}}]}'))
    with pytest.raises(MappingError) as caught:
        load_mapping(tmp_path / "m.yaml")
    assert ("line 5: fields.firstname.transform[1]: regex_replace: '(unclosed' cannot be used: missing ), "
            "unterminated subpattern at position 0") in str(caught.value)
