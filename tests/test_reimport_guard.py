"""A results file imported again stores each source cell exactly as the source held it.

A results CSV guards a cell that a spreadsheet program would run as a
formula with an apostrophe ('=x), and reading it back takes that apostrophe
off again. A workbook needs no guard (its text cells are never formulas), so
its cells are read back as they are: an apostrophe that was in the source
('=x, '+1) stays. Both round trips go through the real program and the
sandbox over HTTP.
"""
from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from importer.results import guarded, source_values
from importer.sandbox import Sandbox
from tests.helpers import SAMPLE_SCHEMA, TOKEN, cli

MAPPING = """\
database: 2
key: email
on_existing: create
fields:
  email: {column: Email, validate: email}
  firstname: Name
  lastname: City
"""
# the first run finds both addresses invalid; the user fixes them in the results file
SOURCE = [("bad@@xg.nl", "'=x", "'+1"), ("bad2@@xg.nl", "=y", "''-2")]
FIXED = {"bad@@xg.nl": "good@xg.nl", "bad2@@xg.nl": "good2@xg.nl"}
STORED = {"good@xg.nl": ("'=x", "'+1"), "good2@xg.nl": ("=y", "''-2")}


def fix_csv(results: Path, fixed: Path) -> None:
    with open(results, encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    email = lines[0].index("Email")
    for line in lines[1:]:
        line[email] = FIXED[line[email]]
    with open(fixed, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(lines)


def fix_workbook(results: Path, fixed: Path) -> None:
    book = openpyxl.load_workbook(results)
    sheet = book.active
    email = [c.value for c in sheet[1]].index("Email") + 1
    for row in range(2, sheet.max_row + 1):
        cell = sheet.cell(row, email)
        cell.value = FIXED[cell.value]
    book.save(fixed)


@pytest.mark.parametrize("suffix, fix", [(".csv", fix_csv), (".xlsx", fix_workbook)])
def test_a_fixed_results_file_stores_the_source_cells_exactly(tmp_path, suffix, fix):
    source = tmp_path / "s.csv"
    with open(source, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([("Email", "Name", "City"), *SOURCE])
    mapping = tmp_path / "m2.yaml"
    mapping.write_text(MAPPING)
    results, fixed = tmp_path / f"s.results{suffix}", tmp_path / f"fixed{suffix}"
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        where = ["--mapping", str(mapping), "--api-url", sb.api_url, "--quiet"]
        first = cli("run", str(source), *where, "--results", str(results), cwd=tmp_path)
        assert first.returncode == 1, first.stderr        # both rows invalid: nothing sent
        assert sb.profiles(2) == []
        if suffix == ".xlsx":    # the workbook holds the source's text, unguarded
            book = openpyxl.load_workbook(results, read_only=True)
            rows = list(book.active.iter_rows(min_row=2, values_only=True))
            assert [row[-2:] for row in rows] == [cells[1:] for cells in SOURCE]
            book.close()
        fix(results, fixed)
        again = cli("run", str(fixed), *where, cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        stored = {p["fields"]["email"]: (p["fields"]["firstname"], p["fields"]["lastname"]) for p in sb.profiles(2)}
        assert stored == STORED


@pytest.mark.parametrize("file_format, expected", [
    ("csv", True), ("tsv", True), ("txt", True), ("csv.gz", True),
    ("xlsx", False), ("xls", False), ("ods", False), ("json", False), ("ndjson", False),
])
def test_only_a_results_csv_had_its_cells_guarded(file_format, expected):
    assert guarded(file_format) is expected


def test_reading_back_takes_off_the_guard_only_where_it_was_put():
    line = {"row": "2", "status": "invalid", "profile_id": "", "error": "", "code": "", "attempts": "0",
            "key": "a@x.nl", "Name": "''=x", "City": "'+1"}
    from_csv, _ = source_values(line, neutralised=True)
    from_workbook, _ = source_values(line, neutralised=False)
    assert (from_csv["Name"], from_csv["City"]) == ("'=x", "+1")
    assert (from_workbook["Name"], from_workbook["City"]) == ("''=x", "'+1")
