"""The reader: every file is built inside the test, then read for real."""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import re
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from importer.errors import InputFileError, UsageError
from importer.reader import file_fingerprint, open_sheet, read_rows
from tests.file_builders import compound_file, make_ods, make_xlsx, xls_workbook_stream

# --- helpers ------------------------------------------------------------------------


def write(tmp_path: Path, name: str, content: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def read_all(path: Path, **options) -> tuple[list, object]:
    with open_sheet(path, **options) as sheet:
        rows = list(sheet)
    return rows, sheet


def values(rows) -> list[dict[str, str]]:
    return [row.values for row in rows]


def file_error(path: Path, **options) -> str:
    with pytest.raises(InputFileError) as caught:
        with open_sheet(path, **options) as sheet:
            list(sheet)
    return str(caught.value)


# --- CSV: encodings ------------------------------------------------------------------

def test_utf8_with_bom_is_detected_and_the_bom_is_not_part_of_the_first_header(tmp_path):
    path = write(tmp_path, "a.csv", b"\xef\xbb\xbfemail,name\na@x.nl,Zo\xc3\xab\n")
    rows, sheet = read_all(path)
    assert sheet.encoding == "utf-8-sig"
    assert sheet.headers == ["email", "name"]
    assert values(rows) == [{"email": "a@x.nl", "name": "Zoë"}]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path, encoding):
    bom = b"\xff\xfe" if encoding.endswith("le") else b"\xfe\xff"
    path = write(tmp_path, "a.csv", bom + "email;name\r\na@x.nl;Zoë Ünal\r\n".encode(encoding))
    rows, sheet = read_all(path)
    assert sheet.encoding == "utf-16"
    assert sheet.delimiter == ";"
    assert values(rows) == [{"email": "a@x.nl", "name": "Zoë Ünal"}]


def test_windows_1252_is_detected_when_the_file_is_not_utf8(tmp_path):
    text = "naam;plaats;bedrag\nRené;Düsseldorf;€ 5\nJosé;Zürich;€ 7\n"
    path = write(tmp_path, "a.csv", text, encoding="cp1252")
    rows, sheet = read_all(path)
    assert sheet.encoding == "cp1252"
    assert values(rows) == [{"naam": "René", "plaats": "Düsseldorf", "bedrag": "€ 5"},
                            {"naam": "José", "plaats": "Zürich", "bedrag": "€ 7"}]


def test_a_non_utf8_byte_far_down_the_file_is_still_found(tmp_path):
    lines = ["email,name"] + [f"u{i}@x.nl,plain" for i in range(20_000)] + ["last@x.nl,Françoise Citroën-Müller"]
    path = write(tmp_path, "a.csv", "\n".join(lines) + "\n", encoding="cp1252")
    rows, sheet = read_all(path)
    assert sheet.encoding == "cp1252"
    assert rows[-1].values["name"] == "Françoise Citroën-Müller"


def test_one_accented_word_that_reads_as_two_languages_is_refused_with_both_readings(tmp_path):
    # 'ë' is ë in Western European and ė (Lithuanian) in Baltic: one word cannot tell them apart
    lines = ["email,name"] + [f"u{i}@x.nl,plain" for i in range(2_000)] + ["last@x.nl,Citroën"]
    path = write(tmp_path, "a.csv", "\n".join(lines) + "\n", encoding="cp1252")
    message = file_error(path)
    assert "reads plausibly in more than one encoding; line 2,002 reads" in message
    assert "as cp1252 (Western European): 'last@x.nl,Citroën'" in message
    assert "as cp1257 (Baltic): 'last@x.nl,Citroėn'" in message
    assert "--encoding cp1252" in message


def test_forced_encoding_overrides_detection(tmp_path):
    path = write(tmp_path, "a.csv", "name\nRené\n", encoding="latin-1")
    rows, sheet = read_all(path, encoding="latin-1")
    assert sheet.encoding == "iso8859-1"
    assert values(rows) == [{"name": "René"}]


def test_forced_wrong_encoding_names_the_line_and_suggests_a_fix(tmp_path):
    path = write(tmp_path, "a.csv", "name\nAnn\nRené\n", encoding="cp1252")
    message = file_error(path, encoding="utf-8")
    assert "a.csv cannot be read as utf-8" in message
    assert "line 3" in message and "0xE9" in message
    assert "--encoding cp1252" in message


def test_unknown_encoding_name_is_a_usage_error(tmp_path):
    path = write(tmp_path, "a.csv", "name\nAnn\n")
    with pytest.raises(UsageError, match="'utf-9' is not an encoding"):
        open_sheet(path, encoding="utf-9")


# --- CSV: delimiters, quoting, line ends ------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected_and_a_quoted_delimiter_stays_in_its_cell(tmp_path, delimiter):
    d = delimiter
    text = f'email{d}name{d}city\na@x.nl{d}"Doe{d} John"{d}Delft\nb@x.nl{d}Ann{d}"Den{d}Haag"\n'
    path = write(tmp_path, "a.csv", text)
    rows, sheet = read_all(path)
    assert sheet.delimiter == delimiter
    assert values(rows) == [{"email": "a@x.nl", "name": f"Doe{d} John", "city": "Delft"},
                            {"email": "b@x.nl", "name": "Ann", "city": f"Den{d}Haag"}]


def test_commas_in_values_do_not_outvote_the_semicolon_header(tmp_path):
    text = "name;amount;interests\nAnn;1,5;a,b,c\nBob;2,25;d,e,f\n"
    rows, sheet = read_all(write(tmp_path, "a.csv", text))
    assert sheet.delimiter == ";"
    assert rows[0].values == {"name": "Ann", "amount": "1,5", "interests": "a,b,c"}


def test_excel_sep_line_names_the_delimiter_and_is_not_a_row(tmp_path):
    rows, sheet = read_all(write(tmp_path, "a.csv", "sep=;\r\nname,x;city\r\nAnn,y;Ede\r\n"))
    assert sheet.delimiter == ";"
    assert sheet.headers == ["name,x", "city"]
    assert [(r.number, r.values) for r in rows] == [(2, {"name,x": "Ann,y", "city": "Ede"})]


@pytest.mark.parametrize("given", ["\t", "tab", "\\t", "TAB"])
def test_delimiter_override_accepts_tab_spellings(tmp_path, given):
    path = write(tmp_path, "a.csv", "a,b\tc\n1,2\t3\n")
    rows, sheet = read_all(path, delimiter=given)
    assert sheet.delimiter == "\t"
    assert values(rows) == [{"a,b": "1,2", "c": "3"}]


def test_delimiter_override_with_a_plain_character(tmp_path):
    rows, sheet = read_all(write(tmp_path, "a.csv", "a;b,c\n1;2,3\n"), delimiter=",")
    assert values(rows) == [{"a;b": "1;2", "c": "3"}]


@pytest.mark.parametrize("bad", ["::", '"', "\n"])
def test_unusable_delimiter_is_a_usage_error(tmp_path, bad):
    path = write(tmp_path, "a.csv", "a,b\n1,2\n")
    with pytest.raises(UsageError, match="is not a usable delimiter"):
        open_sheet(path, delimiter=bad)


def test_quotes_line_breaks_and_crlf(tmp_path):
    text = ('email,note,city\r\n'
            'a@x.nl,"She said ""hi""",Delft\r\n'
            'b@x.nl,"line one\r\nline two\r\nline three",Gouda\r\n'
            'c@x.nl,plain,Ede\r\n')
    rows, _ = read_all(write(tmp_path, "a.csv", text))
    assert [r.number for r in rows] == [2, 3, 4]   # records, as Excel numbers them
    assert rows[0].values["note"] == 'She said "hi"'
    assert rows[1].values["note"] == "line one\r\nline two\r\nline three"
    assert rows[2].values == {"email": "c@x.nl", "note": "plain", "city": "Ede"}


def test_cells_keep_their_exact_text(tmp_path):
    text = ("id,phone,a,b,c,d,e,f\n"
            "00123,+31 6 1234,NA,null,N/A,nan,  padded  ,1e5\n")
    rows, _ = read_all(write(tmp_path, "a.csv", text))
    assert rows[0].values == {"id": "00123", "phone": "+31 6 1234", "a": "NA", "b": "null",
                              "c": "N/A", "d": "nan", "e": "  padded  ", "f": "1e5"}


def test_unclosed_quote_marks_the_row_invalid_instead_of_swallowing_silently(tmp_path):
    text = 'email,name\na@x.nl,Ann\nb@x.nl,"Bob\nc@x.nl,Cas\n'
    rows, _ = read_all(write(tmp_path, "a.csv", text))
    assert rows[0].problem is None
    assert rows[1].number == 3
    assert rows[1].problem.code == "unclosed_quote"
    assert rows[1].problem.message.startswith("row 3 opens a quote")
    assert rows[1].values["name"] == "Bob\nc@x.nl,Cas\n"


def test_last_line_without_line_break_is_read(tmp_path):
    rows, _ = read_all(write(tmp_path, "a.csv", 'a,b\n1,"2"'))
    assert values(rows) == [{"a": "1", "b": "2"}]


# --- CSV: rows ------------------------------------------------------------------------

def test_empty_and_blank_rows_are_skipped_and_counted_and_numbers_stay_true(tmp_path):
    text = "\n\nemail,name\na@x.nl,Ann\n\n,\n  ,\t\nb@x.nl,Bob\n"
    rows, sheet = read_all(write(tmp_path, "a.csv", text))
    assert sheet.header_row == 3
    assert [(r.number, r.values["email"]) for r in rows] == [(4, "a@x.nl"), (8, "b@x.nl")]
    assert sheet.empty_rows == 3
    assert sheet.data_rows == 2


def test_more_cells_than_the_header_makes_the_row_invalid_with_a_clear_message(tmp_path):
    text = "a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,5,6\n1,2,3,4,5,,\n"
    rows, _ = read_all(write(tmp_path, "a.csv", text))
    assert rows[0].problem is None
    assert rows[1].problem.code == "extra_cells"
    assert rows[1].problem.message == (
        "row 3 has 6 cells but the header has 5 columns; check for an unquoted comma (,) inside "
        "a value (values containing it must be in double quotes), or a value typed past the last column")
    # the journal stores a reason's params: plain values only
    assert rows[1].problem.params == {"row": 3, "cell_count": 6, "header_count": 5, "delimiter": "comma (,)"}
    assert rows[1].values == {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}
    assert rows[2].problem is None            # trailing empty cells, as Excel exports them


def test_short_rows_get_empty_cells(tmp_path):
    rows, _ = read_all(write(tmp_path, "a.csv", "a,b,c\n1\n1,2\n"))
    assert values(rows) == [{"a": "1", "b": "", "c": ""}, {"a": "1", "b": "2", "c": ""}]


# --- headers ---------------------------------------------------------------------------

def test_header_names_are_stripped_and_trailing_unnamed_columns_dropped(tmp_path):
    rows, sheet = read_all(write(tmp_path, "a.csv", " email , First name ,,\na,b,,\n"))
    assert sheet.headers == ["email", "First name"]
    assert rows[0].problem is None


def test_duplicate_header_names_ignoring_case_name_the_columns(tmp_path):
    message = file_error(write(tmp_path, "a.csv", "Email,name,email,name,x\n1,2,3,4,5\n"))
    assert "a.csv: the header row (row 1)" in message
    assert "'Email' (columns A and C)" in message
    assert "'name' (columns B and D)" in message


def test_unnamed_header_with_data_under_it_names_the_column(tmp_path):
    message = file_error(write(tmp_path, "a.csv", "email,,name\na@x.nl,oops,Ann\n"))
    assert "has no name for column B" in message


def test_unnamed_empty_spacer_column_is_ignored(tmp_path):
    rows, sheet = read_all(write(tmp_path, "a.csv", "email,,name\na@x.nl,,Ann\n"))
    assert sheet.headers == ["email", "name"]
    assert values(rows) == [{"email": "a@x.nl", "name": "Ann"}]


def test_value_under_unnamed_column_after_the_lookahead_makes_that_row_invalid(tmp_path):
    lines = ["email,,name"] + [f"u{i}@x.nl,,Ann" for i in range(1000)] + ["late@x.nl,stray,Bob"]
    rows, _ = read_all(write(tmp_path, "a.csv", "\n".join(lines) + "\n"))
    assert len(rows) == 1001
    assert rows[-1].number == 1002
    assert rows[-1].problem.code == "unnamed_column"
    assert rows[-1].problem.message.startswith("row 1,002 has a value in column B ('stray')")


# --- other text formats ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["a.txt", "a.tsv"])
def test_txt_and_tsv_are_tab_separated(tmp_path, name):
    rows, sheet = read_all(write(tmp_path, name, "email\tname, full\na@x.nl\tDoe, J\n"))
    assert sheet.format == name[-3:]
    assert sheet.delimiter == "\t"
    assert values(rows) == [{"email": "a@x.nl", "name, full": "Doe, J"}]


@pytest.mark.parametrize("name", ["a.csv.gz", "a.tsv.gz"])
def test_gzip_compressed_text_is_streamed(tmp_path, name):
    d = "," if name.startswith("a.csv") else "\t"
    text = f"email{d}city\n" + "".join(f"u{i}@x.nl{d}Zürich\n" for i in range(3000))
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode("cp1252")))
    rows, sheet = read_all(path)
    assert sheet.format == name[2:]          # "csv.gz" / "tsv.gz"
    assert sheet.encoding == "cp1252"
    assert len(rows) == 3000 and rows[-1].number == 3001
    assert rows[0].values == {"email": "u0@x.nl", "city": "Zürich"}


def test_truncated_gzip_is_a_clear_error(tmp_path):
    whole = gzip.compress(("a,b\n" + "1,2\n" * 50_000).encode())
    path = write(tmp_path, "a.csv.gz", whole[: len(whole) // 2])
    assert "damaged or incomplete gzip file" in file_error(path)


def test_gz_name_on_a_plain_file(tmp_path):
    assert "is not gzip-compressed" in file_error(write(tmp_path, "a.csv.gz", "a,b\n1,2\n"))


def test_read_rows_convenience(tmp_path):
    rows = list(read_rows(write(tmp_path, "a.csv", "a;b\n1;2\n")))
    assert [(r.number, r.values) for r in rows] == [(2, {"a": "1", "b": "2"})]


def _peak_memory_reading(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        with open_sheet(path) as sheet:
            count = sum(1 for _ in sheet)
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_file(tmp_path):
    def contacts(n: int) -> str:
        return "email,name,city\n" + "".join(f"user{i}@example.com,Name {i},City\n" for i in range(n))
    # both larger than the blocks the encoding scan reads (256 KiB)
    small = write(tmp_path, "small.csv", contacts(20_000))      # ~0.8 MB
    large = write(tmp_path, "large.csv", contacts(100_000))     # ~4 MB
    small_count, small_peak = _peak_memory_reading(small)
    large_count, large_peak = _peak_memory_reading(large)
    assert (small_count, large_count) == (20_000, 100_000)
    assert large_peak < small_peak * 1.25 + 100_000, (small_peak, large_peak)


# --- bad files -------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    assert "there is no such file" in file_error(tmp_path / "nope.csv")


def test_directory(tmp_path):
    (tmp_path / "drop.csv").mkdir()
    assert "is a folder, not a file" in file_error(tmp_path / "drop.csv")


def test_empty_file(tmp_path):
    assert "a.csv is empty" in file_error(write(tmp_path, "a.csv", b""))


def test_only_blank_lines(tmp_path):
    assert "has no header row" in file_error(write(tmp_path, "a.csv", "\n \n,,\n"))


def test_header_only_file(tmp_path):
    message = file_error(write(tmp_path, "a.csv", "email,name\n\n,\n"))
    assert message.startswith(f"{tmp_path / 'a.csv'} has a header (row 1) but no data rows")


def test_csv_renamed_xlsx(tmp_path):
    message = file_error(write(tmp_path, "list.xlsx", "email,name\na@x.nl,Ann\n"))
    assert "list.xlsx is not a real Excel file; it looks like a CSV/text file. Rename it to .csv" in message


def test_html_saved_as_xls(tmp_path):
    message = file_error(write(tmp_path, "export.xls", "<html><table><tr><td>a</td></tr></table></html>"))
    assert "web page (HTML)" in message


def test_xlsx_renamed_csv(tmp_path):
    path = make_xlsx(tmp_path / "book.xlsx", {"S": [["a"], ["1"]]}).rename(tmp_path / "book.csv")
    assert "is really an Excel workbook" in file_error(path) and "Rename it to .xlsx" in file_error(path)


def test_binary_junk(tmp_path):
    junk = bytes((i * 7919 + 13) % 256 for i in range(5000))
    assert "is not a text file: it contains binary data" in file_error(write(tmp_path, "a.csv", junk))


@pytest.mark.parametrize("name", ["a.pdf", "a.docx", "README"])
def test_unsupported_extension_lists_the_supported_ones(tmp_path, name):
    message = file_error(write(tmp_path, name, "a,b\n1,2\n"))
    assert "are not supported" in message and ".csv, .tsv, .txt" in message and ".ods" in message


def test_password_protected_xlsx(tmp_path):
    path = write(tmp_path, "secret.xlsx", compound_file(b"\x00" * 5000, "EncryptedPackage"))
    assert "is password-protected" in file_error(path)


def test_corrupt_xlsx(tmp_path):
    good = make_xlsx(tmp_path / "good.xlsx", {"S": [["a"], ["1"]]}).read_bytes()
    path = write(tmp_path, "bad.xlsx", good[: len(good) // 2])
    assert "cannot be read as an Excel (.xlsx) file: it is damaged" in file_error(path)


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "it is damaged or not really a spreadsheet" in file_error(path)


def test_sheet_option_on_a_text_file(tmp_path):
    assert "has no sheets" in file_error(write(tmp_path, "a.csv", "a\n1\n"), sheet="2")


# --- XLSX ----------------------------------------------------------------------------------

def test_xlsx_cells_become_the_text_a_person_sees(tmp_path):
    path = make_xlsx(tmp_path / "c.xlsx", {"Contacts": [
        ["date", "datetime", "midnight", "time", "phone", "float", "sum", "tiny", "flag", "text", "none"],
        [dt.date(1990, 1, 2), dt.datetime(2024, 3, 4, 5, 6, 7), dt.datetime(2024, 3, 4),
         dt.time(9, 30), 31612345678, 1.5, 0.1 + 0.2, 1e-7, True, " 00123 ", None],
        [None, dt.datetime(2024, 3, 4, 10, 59, 59, 999_999), None, None, 1e20, -2.0, 12345678.9,
         None, False, "NA", "x"],
    ]})
    rows, sheet = read_all(path)
    assert (sheet.format, sheet.sheet_name, sheet.encoding, sheet.delimiter) == ("xlsx", "Contacts", None, None)
    assert rows[0].values == {"date": "1990-01-02", "datetime": "2024-03-04 05:06:07",
                              "midnight": "2024-03-04", "time": "09:30:00", "phone": "31612345678",
                              "float": "1.5", "sum": "0.3", "tiny": "0.0000001", "flag": "TRUE",
                              "text": " 00123 ", "none": ""}
    assert rows[1].values["datetime"] == "2024-03-04 11:00:00"
    assert rows[1].values["phone"] == "100000000000000000000"
    assert rows[1].values["float"] == "-2"
    assert rows[1].values["sum"] == "12345678.9"
    assert rows[1].values["flag"] == "FALSE"


def test_xlsx_number_formats_that_change_what_a_person_sees(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Customer no", "Rate", "Plain"])
    sheet.append([123, 0.15, 7])
    sheet["A2"].number_format = "000000"
    sheet["B2"].number_format = "0%"
    sheet.append([-42, 0.125, 2.5])
    sheet["A3"].number_format = "0000"
    sheet["B3"].number_format = "0.0%"
    book.save(tmp_path / "f.xlsx")
    rows = [r.values for r in read_rows(tmp_path / "f.xlsx")]
    assert rows == [{"Customer no": "000123", "Rate": "15%", "Plain": "7"},
                    {"Customer no": "-0042", "Rate": "12.5%", "Plain": "2.5"}]


def test_xlsx_formula_gives_its_cached_value(tmp_path):
    path = make_xlsx(tmp_path / "f.xlsx", {"S": [["n", "double"], [21, "=A2*2"]]})
    add_cached_formula_value(path, "B2", "42")
    rows, _ = read_all(path)
    assert rows[0].values == {"n": "21", "double": "42"}


def test_xlsx_hidden_first_sheet_is_passed_over(tmp_path):
    path = make_xlsx(tmp_path / "h.xlsx", {"Lookup": [["code"], ["X"]], "Contacts": [["email"], ["a@x.nl"]]},
                     hidden=("Lookup",))
    rows, sheet = read_all(path)
    assert sheet.sheet_name == "Contacts"
    assert values(rows) == [{"email": "a@x.nl"}]


@pytest.mark.parametrize("choice,expected", [("Second", "Second"), ("second", "Second"), (2, "Second"),
                                             ("2", "Second"), (1, "First"), ("2024", "2024")])
def test_xlsx_sheet_by_name_or_position(tmp_path, choice, expected):
    path = make_xlsx(tmp_path / "s.xlsx", {"First": [["a"], ["1"]], "Second": [["b"], ["2"]],
                                           "2024": [["c"], ["3"]]})
    _, sheet = read_all(path, sheet=choice)
    assert sheet.sheet_name == expected


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path):
    path = make_xlsx(tmp_path / "s.xlsx", {"Lookup": [["a"], ["1"]], "Contacts": [["b"], ["2"]]},
                     hidden=("Lookup",))
    message = file_error(path, sheet="Leads")
    assert "has no sheet 'Leads'" in message
    assert "1: 'Lookup' (hidden); 2: 'Contacts'" in message
    assert "has no sheet '5'" in file_error(path, sheet=5)


def test_xlsx_header_on_a_later_row_and_column(tmp_path):
    path = make_xlsx(tmp_path / "l.xlsx", {"S": [["email", "name"], [None, None], ["a@x.nl", "Ann"]]},
                     start="B3")
    rows, sheet = read_all(path)
    assert sheet.header_row == 3
    assert [(r.number, r.values) for r in rows] == [(5, {"email": "a@x.nl", "name": "Ann"})]
    assert sheet.empty_rows == 1


def test_xlsx_value_past_the_header_in_the_lookahead_is_a_file_error(tmp_path):
    path = make_xlsx(tmp_path / "x.xlsx", {"S": [["email", None, "name"], ["a@x.nl", "?", "Ann"]]})
    assert "has no name for column B" in file_error(path)


def test_xlsx_value_right_of_the_header_makes_the_row_invalid(tmp_path):
    path = make_xlsx(tmp_path / "x.xlsx", {"S": [["email", "name"], ["a@x.nl", "Ann", "stray"]]})
    rows, _ = read_all(path)
    assert rows[0].problem.code == "extra_cells"
    assert rows[0].problem.message == ("row 2 has a value in column C ('stray'), but the header row has no "
                                       "name for column C; give that column a name or clear the cell")


def test_xlsx_header_only(tmp_path):
    assert "has a header (row 1) but no data rows" in file_error(
        make_xlsx(tmp_path / "x.xlsx", {"S": [["email", "name"]]}))


def test_xlsx_duplicate_headers(tmp_path):
    assert "'ID' (columns A and B)" in file_error(
        make_xlsx(tmp_path / "x.xlsx", {"S": [["ID", "id "], [1, 2]]}))


# --- XLS and ODS --------------------------------------------------------------------------------

def test_xls_hidden_sheet_dates_numbers_booleans(tmp_path):
    stream = xls_workbook_stream([
        ("Lookup", True, {(0, 0): "code", (1, 0): "X"}),
        ("Contacts", False, {(0, 0): "email", (0, 1): "phone", (0, 2): "born", (0, 3): "vip",
                             (1, 0): "a@x.nl", (1, 1): 31612345678, (1, 2): ("date", 32875.0),
                             (1, 3): True, (3, 1): 1.5}),
    ])
    path = write(tmp_path, "old.xls", compound_file(stream, "Workbook"))
    rows, sheet = read_all(path)
    assert (sheet.format, sheet.sheet_name) == ("xls", "Contacts")
    assert [(r.number, r.values) for r in rows] == [
        (2, {"email": "a@x.nl", "phone": "31612345678", "born": "1990-01-02", "vip": "TRUE"}),
        (4, {"email": "", "phone": "1.5", "born": "", "vip": ""}),
    ]
    assert sheet.empty_rows == 1
    _, chosen = read_all(path, sheet="Lookup")
    assert chosen.headers == ["code"]


def test_ods(tmp_path):
    path = make_ods(tmp_path / "a.ods", "Contacts", [
        '<table:table-row><table:table-cell/><table:table-cell office:value-type="string"><text:p>email</text:p>'
        '</table:table-cell><table:table-cell office:value-type="string"><text:p>phone</text:p></table:table-cell>'
        '<table:table-cell office:value-type="string"><text:p>born</text:p></table:table-cell></table:table-row>',
        '<table:table-row><table:table-cell/><table:table-cell office:value-type="string"><text:p>a@x.nl</text:p>'
        '</table:table-cell><table:table-cell office:value-type="float" office:value="31612345678"><text:p>'
        '31612345678</text:p></table:table-cell><table:table-cell office:value-type="date" '
        'office:date-value="1990-01-02"><text:p>02-01-90</text:p></table:table-cell></table:table-row>',
    ])
    rows, sheet = read_all(path)
    assert (sheet.format, sheet.sheet_name, sheet.headers) == ("ods", "Contacts", ["email", "phone", "born"])
    assert [(r.number, r.values) for r in rows] == [
        (2, {"email": "a@x.nl", "phone": "31612345678", "born": "1990-01-02"})]


def test_xlsx_renamed_ods_and_xls(tmp_path):
    book = make_xlsx(tmp_path / "b.xlsx", {"S": [["a"], ["1"]]}).read_bytes()
    assert "Rename it to .xlsx" in file_error(write(tmp_path, "b.ods", book))
    assert "Rename it to .xlsx" in file_error(write(tmp_path, "b.xls", book))


# --- fingerprint -------------------------------------------------------------------------------

def test_file_fingerprint_is_the_sha256_of_the_bytes(tmp_path):
    content = b"email\n" + b"a@x.nl\n" * 300_000
    path = write(tmp_path, "a.csv", content)
    assert file_fingerprint(path) == hashlib.sha256(content).hexdigest()
    with pytest.raises(InputFileError, match="no such file"):
        file_fingerprint(tmp_path / "gone.csv")


# --- builders for workbook files no installed library writes ----------------------------------

def add_cached_formula_value(path: Path, cell: str, cached: str) -> None:
    """openpyxl writes a formula without a result (it cannot compute one);
    Excel stores the result next to it. Add it, as Excel would."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet_xml = parts["xl/worksheets/sheet1.xml"].decode()
    pattern = re.compile(rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)(<v\s*/>|<v></v>)?')
    assert pattern.search(sheet_xml), sheet_xml
    parts["xl/worksheets/sheet1.xml"] = pattern.sub(rf"\1\2<v>{cached}</v>", sheet_xml).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
