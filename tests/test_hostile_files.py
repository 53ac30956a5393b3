"""Hostile and broken files are bounded: each is refused with one clear line,
exit 2, before anything is sent (the timings and memory are measured by
benchmarks/hostile_files.py, not here). Lock files beside a drop are skipped."""
from __future__ import annotations

import gzip
import os
import time

import pytest

import tests.file_builders as fb
from importer.drops import expand_inputs
from importer.errors import InputFileError, MappingError
from importer.mapping import load_mapping
from importer.reader import open_sheet
from importer.readers import limits
from tests.helpers import SAMPLE_SCHEMA, cli


def _refusal(path, **options) -> str:
    with pytest.raises(InputFileError) as caught:
        with open_sheet(path, **options) as sheet:
            list(sheet)
    return str(caught.value)


def test_a_gzip_that_unpacks_too_far_is_refused(tmp_path):
    path = tmp_path / "many.csv.gz"
    row = b"p@example.com,Name,City\n"
    path.write_bytes(gzip.compress(b"Email,Name,City\n" + row * (limits.RATIO_FLOOR_BYTES // len(row) + 10_000)))
    message = _refusal(path)
    assert "many.csv.gz: the compressed text unpacks from" in message and "over 100 times its packed size" in message


def test_one_endless_line_in_a_gzip_is_refused_while_unpacking(tmp_path):
    message = _refusal(fb.gzip_bomb(tmp_path))
    assert "is longer than 8 MB without a line break" in message


def test_an_endless_line_in_a_plain_file_with_a_given_encoding(tmp_path):
    message = _refusal(fb.long_line(tmp_path), encoding="utf-8")
    assert "is longer than 8 MB without a line break" in message


def test_an_xlsx_whose_shared_strings_unpack_to_millions_is_refused_before_openpyxl(tmp_path):
    message = _refusal(fb.xlsx_shared_string_bomb(tmp_path))
    assert "its part xl/sharedStrings.xml unpacks from" in message and "over 100 times" in message


def test_a_shared_string_longer_than_excel_allows_is_refused(tmp_path):
    message = _refusal(fb.xlsx_long_shared_string(tmp_path))
    assert "holds a cell longer than Excel's 32,767 characters per cell" in message


def test_an_ods_cell_longer_than_excel_allows_is_refused(tmp_path):
    cell = "x" * 200_000
    path = fb.make_ods(tmp_path / "long.ods", "S", [
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Email</text:p></table:table-cell>'
        '</table:table-row>',
        f'<table:table-row><table:table-cell office:value-type="string"><text:p>{cell}</text:p></table:table-cell>'
        '</table:table-row>'])
    message = _refusal(path)
    assert "long.ods: content.xml holds a cell longer than Excel's 32,767 characters per cell" in message


def test_too_many_shared_strings_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_SHARED_STRINGS", 3)
    path = fb.make_xlsx(tmp_path / "s.xlsx", {"S": [["Email"], ["a@x.nl"]]})
    fb.with_shared_strings(path, b"".join(b"<si><t>%d@x.nl</t></si>" % i for i in range(5)))
    assert "holds more than 3 different texts" in _refusal(path)


def test_a_yaml_alias_bomb_in_a_mapping_is_refused_at_once(tmp_path):
    started = time.monotonic()
    with pytest.raises(MappingError, match="aliases .* would expand to more than 100,000 values"):
        load_mapping(fb.yaml_alias_bomb(tmp_path))
    assert time.monotonic() - started < 5     # a bound against hanging, not a timing claim


def test_the_cli_refuses_each_hostile_file_in_one_line_with_exit_2(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("database: 1\nfields:\n  email: Email\n")
    for build in (fb.gzip_bomb, fb.xlsx_shared_string_bomb, fb.xlsx_long_shared_string):
        result = cli("check", str(build(tmp_path)), "--mapping", str(mapping), "--offline")
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    bomb = cli("check", str(fb.title_above_header(tmp_path)), "--mapping", str(fb.yaml_alias_bomb(tmp_path)),
               "--offline")
    assert bomb.returncode == 2 and "alias bomb" in bomb.stderr


# -- lock files ----------------------------------------------------------------------------

def test_patterns_skip_office_lock_files(tmp_path):
    fb.make_xlsx(tmp_path / "contacts.xlsx", {"S": [["Email"], ["a@x.nl"]]})
    fb.excel_lock_file(tmp_path)
    fb.libreoffice_lock_file(tmp_path)
    found = expand_inputs([str(tmp_path / "*")])
    assert [p.name for p in found.files] == ["contacts.xlsx"]


def test_a_drop_folder_with_a_lock_file_beside_the_workbook_imports_the_workbook(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    fb.make_xlsx(drop / "contacts.xlsx", {"S": [["email", "firstname"], ["a@example.com", "Ann"]]})
    fb.excel_lock_file(drop)
    old = time.time() - 600
    for path in drop.iterdir():
        os.utime(path, (old, old))
    mapping = tmp_path / "m.yaml"
    mapping.write_text("database: 1\nfields:\n  email: email\n  firstname: firstname\n")
    result = cli("run", str(drop / "*.xlsx"), "--mapping", str(mapping), "--sandbox", "--schema", str(SAMPLE_SCHEMA),
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "created            1" in result.stdout


@pytest.mark.parametrize("build,program", [(fb.excel_lock_file, "Excel"), (fb.libreoffice_lock_file, "LibreOffice")])
def test_a_lock_file_named_explicitly_is_refused_with_what_it_is(tmp_path, build, program):
    message = _refusal(build(tmp_path))
    assert f"is not a spreadsheet but the lock file {program} keeps while contacts.xlsx is open" in message
    assert "Import contacts.xlsx itself" in message


def test_an_overlong_line_that_does_end_is_refused_too(tmp_path):
    path = tmp_path / "ends.csv"
    path.write_bytes(b"Email,Name\n" + b"y" * (limits.MAX_LINE_BYTES + 10) + b"\nb@x.nl,B\n")
    assert "line 2 is longer than 8 MB without a line break" in _refusal(path)
    assert "line 2 is longer than 8 MB without a line break" in _refusal(path, encoding="utf-8")
