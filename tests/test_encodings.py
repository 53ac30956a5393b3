"""Text files in legacy encodings: the right text comes out, or a clear refusal
(exit 2, before anything is sent) - never mojibake marked valid.

The corpus is generated here: names in eighteen languages (``file_builders.LANGUAGES``),
each encoded in every legacy family it is written in, as short files, long
files and files where only one row holds a non-ASCII name.
"""
from __future__ import annotations

import pytest

from importer.errors import InputFileError
from importer.reader import open_sheet
from tests.file_builders import LANGUAGES, LONG_ROWS, contacts_text, legacy_contacts, mostly_utf8, write
from tests.helpers import SAMPLE_SCHEMA, cli

CORPUS = [(language, encoding, size) for language, (_, _, encodings) in LANGUAGES.items()
          for encoding in encodings for size in ("short", "long", "one")]


def _names(text: str) -> list[str]:
    return [line.split(";")[1] for line in text.splitlines()[1:]]


def test_every_file_of_the_corpus_reads_right_or_is_refused_with_its_readings(tmp_path):
    outcomes: dict[str, list[str]] = {"right": [], "refused": [], "mojibake": []}
    for language, encoding, size in CORPUS:
        path = legacy_contacts(tmp_path, language, encoding, size)
        expected = _names(contacts_text(language, size))
        try:
            with open_sheet(path) as sheet:
                names = [row.values["name"] for row in sheet]
        except InputFileError as exc:
            message = str(exc)
            assert "reads plausibly in more than one encoding" in message and "--encoding" in message, message
            outcomes["refused"].append(f"{language}/{encoding}/{size}")
            continue
        outcomes["right" if names == expected else "mojibake"].append(f"{language}/{encoding}/{size}")
    assert outcomes["mojibake"] == []
    # short and long files are read; only a single name can leave two readings open
    assert all(name.endswith("/one") for name in outcomes["refused"]), outcomes["refused"]
    assert len(outcomes["right"]) >= len(CORPUS) * 3 // 4, outcomes


@pytest.mark.parametrize("language,encoding,expected", [
    ("Polish", "cp1250", "cp1250"), ("Polish", "iso8859-2", "iso8859-2"), ("Czech", "cp1250", "cp1250"),
    ("Russian", "cp1251", "cp1251"), ("Russian", "koi8-r", "koi8-r"), ("Greek", "iso8859-7", "cp1253"),
    ("Turkish", "cp1254", "cp1254"), ("Hebrew", "cp1255", "cp1255"), ("Arabic", "cp1256", "cp1256"),
    ("Latvian", "cp1257", "cp1257"), ("Japanese", "shift_jis", "cp932"), ("Japanese", "euc_jp", "euc_jp"),
    ("Chinese", "gb18030", "gb18030"), ("Taiwanese", "big5", "cp950"), ("Korean", "euc_kr", "cp949"),
])
def test_a_long_file_names_the_encoding_it_was_read_as(tmp_path, language, encoding, expected):
    with open_sheet(legacy_contacts(tmp_path, language, encoding, "long")) as sheet:
        rows = list(sheet)
    assert sheet.encoding == expected
    assert len(rows) == LONG_ROWS


def test_the_issues_mojibake_cases_are_read_right(tmp_path):
    for text, encoding in (("Łukasz Wiśniewski;Żaneta Kołodziej", "cp1250"), ("Zdeněk Dvořák;Jiří Černý", "cp1250"),
                           ("Дмитрий Иванов;Ольга Попова", "cp1251"), ("Γιώργος Παπαδόπουλος;Ελένη Νικολάου", "cp1253"),
                           ("佐藤 花子;タナカ ケンタ", "shift_jis")):
        first, second = text.split(";")
        path = write(tmp_path, f"{encoding}.csv", f"email,name\na@x.nl,{first}\nb@x.nl,{second}\n", encoding)
        with open_sheet(path) as sheet:
            assert [r.values["name"] for r in sheet] == [first, second]


def test_a_utf8_file_with_one_bad_byte_after_20000_rows_is_refused_with_row_and_offset(tmp_path):
    path = mostly_utf8(tmp_path)
    result = cli("check", str(path), "--mapping", str(_mapping(tmp_path)), "--offline")
    assert result.returncode == 2
    assert "is UTF-8 text except for a few bytes: line 20,002 (byte 897,815 of the file) holds the byte 0xE9" \
        in result.stderr
    assert "save the file again as 'CSV UTF-8'" in result.stderr
    assert "cp1252" not in result.stderr and "Traceback" not in result.stderr


def test_check_and_run_say_on_stderr_which_encoding_they_used(tmp_path):
    path = legacy_contacts(tmp_path, "Polish", "cp1250", "short")
    mapping = _mapping(tmp_path)
    checked = cli("check", str(path), "--mapping", str(mapping), "--offline")
    assert checked.returncode == 0, checked.stderr
    assert "Read polish-cp1250-short.csv as cp1250 (Central European)" in checked.stderr
    assert "Read polish" not in checked.stdout
    ran = cli("run", str(path), "--mapping", str(mapping), "--dry-run", "--schema", str(SAMPLE_SCHEMA), cwd=tmp_path)
    assert "Read polish-cp1250-short.csv as cp1250 (Central European)" in ran.stderr


def test_an_ambiguous_file_stops_before_sending_and_the_named_encoding_then_reads_it(tmp_path):
    path = write(tmp_path, "one.csv", "email;name;city\na@x.nl;Citroën;Ede\nb@x.nl;Jan;Ede\n", "cp1252")
    mapping = _mapping(tmp_path)
    refused = cli("run", str(path), "--mapping", str(mapping), "--sandbox", cwd=tmp_path)
    assert refused.returncode == 2
    assert "reads plausibly in more than one encoding; line 2 reads as cp1252 (Western European): " \
           "'a@x.nl;Citroën;Ede'; as cp1257 (Baltic): 'a@x.nl;Citroėn;Ede'" in refused.stderr
    assert "Say which reading is right: --encoding cp1252 or --encoding cp1257 (" in refused.stderr
    assert len(refused.stderr.strip().splitlines()[-1]) > 0 and "Traceback" not in refused.stderr
    accepted = cli("check", str(path), "--mapping", str(mapping), "--offline", "--encoding", "cp1252")
    assert accepted.returncode == 0, accepted.stderr


def _mapping(folder):
    path = folder / "m.yaml"
    path.write_text("database: 1\nkey: email\nfields:\n  email: email\n  firstname: name\n  city: city\n")
    return path
