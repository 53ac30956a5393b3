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
    assert lines[7]["error"] == ("duplicate of row 4: this row's 'Updated' ('soon') is not one of the dates the "
                                 "column holds, so the row whose 'Updated' is newer (2025-02-01 08:00) was imported")


def test_other_date_forms_are_read_with_the_rules_format_for_every_row(tmp_path):
    rows = [["a@x.nl", "A", "05-01-2025"], ["a@x.nl", "B", "01-02-2025"], ["a@x.nl", "C", "12-1-2025"],
            ["c@x.nl", "D", "7"], ["c@x.nl", "E", "2025-03-01"]]
    text = BASE + 'duplicates: {keep: newest, by: Updated, date_format: "%d-%m-%Y"}\n'
    _, lines = check(tmp_path, text, ["Email", "Name", "Updated"], rows)
    assert [lines[n]["status"] for n in (2, 3, 4)] == ["skipped", "valid", "skipped"]
    # neither '7' nor an ISO date is written in the rule's format: both rank last, the later row wins
    assert lines[5]["error"] == ("duplicate of row 6: neither this row's 'Updated' ('7') nor that row's "
                                 "('2025-03-01') is one of the dates in the format %d-%m-%Y the column holds, so "
                                 "the later row was imported")


def test_a_column_of_numbers_ranks_as_numbers_and_a_date_among_them_ranks_last(tmp_path):
    rows = [["a@x.nl", "A", "7"], ["a@x.nl", "B", "12"], ["a@x.nl", "C", "9.5"], ["a@x.nl", "D", "2025-01-01"],
            ["b@x.nl", "E", "1e2"], ["b@x.nl", "F", "99"], ["d@x.nl", "G", "3"], ["d@x.nl", "H", "inf"]]
    _, lines = check(tmp_path, BASE + "duplicates: {keep: newest, by: Updated}\n", ["Email", "Name", "Updated"], rows)
    assert {n for n in lines if lines[n]["status"] == "valid"} == {3, 6, 8}
    assert lines[5]["error"] == ("duplicate of row 3: this row's 'Updated' ('2025-01-01') is not one of the numbers "
                                 "the column holds, so the row whose 'Updated' is newer (12) was imported")
    assert lines[9]["error"].startswith("duplicate of row 8: this row's 'Updated' ('inf') is not one of the numbers")


RANKED_BY_PERSON = """\
database: 2
key: [firstname, lastname]
fields:
  firstname: First
  lastname: Last
  age: Age
duplicates: {keep: newest, by: Updated}
"""


def test_day_and_month_that_no_value_settles_are_refused_before_sending_and_the_advice_works(tmp_path, sandbox):
    """1/2/2024 and 12/1/2023 read both ways: each cell read its own way kept the older row."""
    write_csv(tmp_path / "in.csv", ["First", "Last", "Age", "Updated"],
              [["Lex", "Bos", "5", "1/2/2024"], ["Lex", "Bos", "6", "12/1/2023"]])
    (tmp_path / "m.yaml").write_text(RANKED_BY_PERSON)
    for command in ("check", "run"):
        refused = cli(command, "in.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url, cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert "Traceback" not in refused.stderr
        assert ("m.yaml: duplicates.by: the column 'Updated' holds dates such as '1/2/2024' that read day-first "
                "and month-first both, and no value settles which") in refused.stderr
    assert sandbox.profiles(2) == []
    advised = refused.stderr.split("for example ", 1)[1].split(" (or", 1)[0]
    assert advised == 'duplicates: {keep: newest, by: Updated, date_format: "%d/%m/%Y"}'
    (tmp_path / "m.yaml").write_text(RANKED_BY_PERSON.replace("duplicates: {keep: newest, by: Updated}", advised))
    checked = cli("check", "in.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url, "--report", "r.csv",
                  cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    lines = {int(r["row"]): r for r in csv.DictReader(open(tmp_path / "r.csv", encoding="utf-8-sig"))}
    assert lines[2]["status"] == "valid"            # 1 February 2024
    assert lines[3]["error"] == "duplicate of row 2, whose 'Updated' is newer (1/2/2024)"


def test_a_value_that_settles_the_order_decides_it_for_the_whole_column_and_is_said(tmp_path):
    write_csv(tmp_path / "in.csv", ["First", "Last", "Age", "Updated"],
              [["Lex", "Bos", "5", "1/2/2024"], ["Lex", "Bos", "6", "12/1/2023"], ["An", "Bos", "7", "25/12/2023"],
               ["An", "Bos", "8", "12/31/2023"]])
    (tmp_path / "m.yaml").write_text(RANKED_BY_PERSON)
    checked = cli("check", "in.csv", "--mapping", "m.yaml", "--schema", str(SAMPLE_SCHEMA), "--offline",
                  "--report", "r.csv", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert ("duplicates.by: 'Updated' holds day-first dates (as '25/12/2023' shows); 1 value(s) such as "
            "'12/31/2023' are not, and rank last") in checked.stderr
    assert checked.stderr.count("Read in.csv as") == 1
    lines = {int(r["row"]): r for r in csv.DictReader(open(tmp_path / "r.csv", encoding="utf-8-sig"))}
    assert {n for n in lines if lines[n]["status"] == "valid"} == {2, 4}
    assert lines[5]["error"] == ("duplicate of row 4: this row's 'Updated' ('12/31/2023') is not one of the "
                                 "day-first dates the column holds, so the row whose 'Updated' is newer "
                                 "(25/12/2023) was imported")


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
