"""Every message the reader shows a user, in one place, in plain English.

Each function returns the text; callers raise ``FileError``/``UsageError`` with
it or put it into ``Row.problem``. Tests match on these texts, so keep the key
phrases stable.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz",
                      ".xlsx", ".xlsm", ".xls", ".ods")

DELIMITER_NAMES = {",": "comma (,)", ";": "semicolon (;)", "\t": "tab", "|": "pipe (|)"}


def delimiter_name(delimiter: str) -> str:
    return DELIMITER_NAMES.get(delimiter, f"'{delimiter}'")


def _listing(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- the file itself -------------------------------------------------------

def not_found(path: object) -> str:
    return f"{path}: there is no such file. Check the name and the folder (the path is relative to where you run the command)."


def is_a_directory(path: object) -> str:
    return f"{path} is a folder, not a file. Give the path of the spreadsheet inside it."


def cannot_open(path: object, reason: str) -> str:
    return f"{path} cannot be opened ({reason}). Check that the file exists and that you may read it."


def unsupported_extension(path: object, suffix: str) -> str:
    shown = suffix or "no extension"
    return (f"{path}: files of type '{shown}' are not supported. Supported are "
            f"{', '.join(SUPPORTED_SUFFIXES)}. Save the spreadsheet as .xlsx or .csv and try again.")


def empty_file(path: object) -> str:
    return f"{path} is empty: it has no header row and no data. Check that you picked the right file."


def no_header(path: object) -> str:
    return f"{path} has no header row: every row is empty. Check that you picked the right file (or sheet)."


def header_only(path: object, header_row: int) -> str:
    return (f"{path} has a header (row {header_row}) but no data rows. "
            f"Check that you picked the right file (or sheet) and that it was saved with its data.")


def looks_like_text(path: object, actual_kind: str) -> str:
    return (f"{path} is not a real {actual_kind} file; it looks like a CSV/text file. "
            f"Rename it to .csv (or .txt if it is tab-separated) and try again.")


def looks_like_html(path: object) -> str:
    return (f"{path} is not a real Excel file; it is a web page (HTML) saved with an Excel name. "
            f"Open it in Excel and save it as .xlsx (File > Save As > Excel Workbook), then try again.")


def wrong_extension(path: object, what_it_is: str, right_suffix: str) -> str:
    return f"{path} is really {what_it_is}, not what its name says. Rename it to {right_suffix} and try again."


def password_protected(path: object) -> str:
    return (f"{path} is password-protected (encrypted), so it cannot be read. Open it in Excel, "
            f"remove the password (File > Info > Protect Workbook > Encrypt with Password, clear it), "
            f"save, and try again.")


def damaged_workbook(path: object, kind: str) -> str:
    return (f"{path} cannot be read as an {kind} file: it is damaged or not really a spreadsheet. "
            f"Open it in your spreadsheet program and save it again (or export it as .csv).")


def binary_junk(path: object) -> str:
    return (f"{path} is not a text file: it contains binary data (it may be a picture, a PDF, a "
            f"database or a damaged file). Export your list as .csv or .xlsx and try again.")


def not_gzip(path: object, inner_suffix: str) -> str:
    return (f"{path} ends in .gz but is not gzip-compressed. Rename it to {inner_suffix} "
            f"(without .gz) or compress it with gzip.")


def damaged_gzip(path: object) -> str:
    return (f"{path} is a damaged or incomplete gzip file (perhaps the download or copy was cut off). "
            f"Get a complete copy of the file and try again.")


# --- encodings and delimiters ------------------------------------------------

def unknown_encoding(name: str) -> str:
    return (f"'{name}' is not an encoding this tool knows. Common ones are utf-8, utf-8-sig, "
            f"utf-16, cp1252 (Windows Western Europe) and latin-1; or leave --encoding out to detect it.")


def undecodable(path: object, encoding: str, line: int, byte: int, forced: bool) -> str:
    advice = ("The file is probably in another encoding: try --encoding cp1252 (Windows Western "
              "Europe), or leave --encoding out to let the tool detect it."
              if forced else
              "Save the file again as 'CSV UTF-8' from your spreadsheet program, or give the right "
              "encoding with --encoding.")
    return (f"{path} cannot be read as {encoding} text: line {line:,} contains the byte 0x{byte:02X}, "
            f"which is not valid {encoding}. {advice}")


def bad_delimiter(value: str) -> str:
    return (f"'{value}' is not a usable delimiter: give one character, for example ',' ';' '|' "
            f"or 'tab' (also written '\\t').")


def unclosed_quote(row: int) -> str:
    return (f"row {row:,} opens a quote (\") that is never closed, so everything after it up to the "
            f"end of the file was read as one cell. Fix the quotes in row {row:,} and import the "
            f"rows after it again.")


def cell_too_long(path: object, row: int) -> str:
    return (f"{path}: around row {row:,} a cell is longer than 131,072 characters. This almost "
            f"always means a quote (\") is opened and not closed there. Fix the quotes around row "
            f"{row:,} and try again.")


def malformed_text(path: object, row: int, detail: str) -> str:
    return f"{path}: row {row:,} cannot be read as CSV ({detail}). Fix that row and try again."


# --- headers ---------------------------------------------------------------

def unnamed_columns(path: object, header_row: int, columns: Sequence[str]) -> str:
    which = _listing(columns)
    plural = "s" if len(columns) > 1 else ""
    return (f"{path}: the header row (row {header_row}) has no name for column{plural} {which}, "
            f"while columns after it do have names. Give column{plural} {which} a name in row "
            f"{header_row} (or delete the column{plural} if not needed) and try again.")


def duplicate_columns(path: object, header_row: int, duplicates: dict[str, list[str]]) -> str:
    parts = [f"'{name}' (columns {_listing(columns)})" for name, columns in duplicates.items()]
    return (f"{path}: the header row (row {header_row}) has the same column name more than once: "
            f"{'; '.join(parts)}. Column names must be unique (upper/lower case does not count as "
            f"different). Rename or delete the extra columns and try again.")


# --- rows --------------------------------------------------------------------

def extra_cells_in_text(row: int, cell_count: int, header_count: int, delimiter: str) -> str:
    return (f"row {row:,} has {cell_count} cells but the header has {header_count} columns; check "
            f"for an unquoted {delimiter_name(delimiter)} inside a value (values containing it must "
            f"be in double quotes), or a value typed past the last column")


def value_in_unnamed_column(row: int, column: str, value: str) -> str:
    shown = value if len(value) <= 40 else value[:37] + "..."
    return (f"row {row:,} has a value in column {column} ('{shown}'), but the header row has no "
            f"name for column {column}; give that column a name or clear the cell")


# --- workbooks -----------------------------------------------------------------

def unknown_sheet(path: object, wanted: object, sheets: Sequence[tuple[str, bool]]) -> str:
    listing = "; ".join(
        f"{position}: '{name}'{'' if visible else ' (hidden)'}"
        for position, (name, visible) in enumerate(sheets, start=1))
    return (f"{path} has no sheet '{wanted}'. Its sheets are: {listing}. Give --sheet a name "
            f"or a position from this list.")


def no_visible_sheet(path: object) -> str:
    return f"{path} has no visible sheet with cells. Unhide the sheet with your data or choose it with --sheet."


def sheet_option_for_text(path: object) -> str:
    return f"{path} is a text file and has no sheets; leave --sheet out."
