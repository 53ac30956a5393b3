"""Every sentence the reader shows a user, in one place, in plain English.

``Msg`` holds the templates; callers fill them with ``Msg.NAME.format(...)``
and raise ``InputFileError``/``UsageError`` with the text, or put a
``Reason(code, Msg.NAME, params)`` into ``Row.problem``. The few helpers
below only pick a template or build a list that goes into one. Tests and the
README quote these sentences, so keep the key phrases stable.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence


class Msg:
    """The reader's sentences (``{row:,}`` writes 1,002 for row 1002)."""
    # the file itself
    NOT_FOUND = ("{path}: there is no such file. Check the name and the folder (the path is relative to "
                 "where you run the command).")
    IS_A_DIRECTORY = "{path} is a folder, not a file. Give the path of the spreadsheet inside it."
    CANNOT_OPEN = "{path} cannot be opened ({reason}). Check that the file exists and that you may read it."
    UNSUPPORTED_EXTENSION = ("{path}: files of type '{suffix}' are not supported. Supported are {supported}. "
                             "Save the spreadsheet as .xlsx or .csv and try again.")
    NO_EXTENSION = "no extension"
    EMPTY_FILE = "{path} is empty: it has no header row and no data. Check that you picked the right file."
    NO_HEADER = ("{path} has no header row: every row is empty. Check that you picked the right file "
                 "(or sheet).")
    HEADER_ONLY = ("{path} has a header (row {header_row}) but no data rows. Check that you picked the right "
                   "file (or sheet) and that it was saved with its data.")
    LOOKS_LIKE_TEXT = ("{path} is not a real {kind} file; it looks like a CSV/text file. Rename it to .csv "
                       "(or .txt if it is tab-separated) and try again.")
    LOOKS_LIKE_HTML = ("{path} is not a real Excel file; it is a web page (HTML) saved with an Excel name. "
                       "Open it in Excel and save it as .xlsx (File > Save As > Excel Workbook), then try again.")
    WRONG_EXTENSION = "{path} is really {what_it_is}, not what its name says. Rename it to {right_suffix} and try again."
    PASSWORD_PROTECTED = ("{path} is password-protected (encrypted), so it cannot be read. Open it in Excel, "
                          "remove the password (File > Info > Protect Workbook > Encrypt with Password, clear "
                          "it), save, and try again.")
    DAMAGED_WORKBOOK = ("{path} cannot be read as an {kind} file: it is damaged or not really a spreadsheet. "
                        "Open it in your spreadsheet program and save it again (or export it as .csv).")
    BINARY_JUNK = ("{path} is not a text file: it contains binary data (it may be a picture, a PDF, a database "
                   "or a damaged file). Export your list as .csv or .xlsx and try again.")
    NOT_GZIP = ("{path} ends in .gz but is not gzip-compressed. Rename it to {inner_suffix} (without .gz) "
                "or compress it with gzip.")
    DAMAGED_GZIP = ("{path} is a damaged or incomplete gzip file (perhaps the download or copy was cut off). "
                    "Get a complete copy of the file and try again.")
    # what a file really is, named in WRONG_EXTENSION
    IS_XLSX = "an Excel workbook"
    IS_NEWER_XLSX = "a newer Excel workbook"
    IS_XLS = "an Excel 97-2003 workbook"
    IS_ODS = "an OpenDocument spreadsheet"
    IS_GZIP = "gzip-compressed"
    # encodings and delimiters
    UNKNOWN_ENCODING = ("'{name}' is not an encoding this tool knows. Common ones are utf-8, utf-8-sig, "
                        "utf-16, cp1252 (Windows Western Europe) and latin-1; or leave --encoding out to detect it.")
    UNDECODABLE = ("{path} cannot be read as {encoding} text: line {line:,} contains the byte 0x{byte:02X}, "
                   "which is not valid {encoding}. {advice}")
    UNDECODABLE_FORCED = ("The file is probably in another encoding: try --encoding cp1252 (Windows Western "
                          "Europe), or leave --encoding out to let the tool detect it.")
    UNDECODABLE_DETECTED = ("Save the file again as 'CSV UTF-8' from your spreadsheet program, or give the "
                            "right encoding with --encoding.")
    BAD_DELIMITER = ("'{value}' is not a usable delimiter: give one character, for example ',' ';' '|' "
                     "or 'tab' (also written '\\t').")
    DELIMITER_COMMA = "comma (,)"
    DELIMITER_SEMICOLON = "semicolon (;)"
    DELIMITER_TAB = "tab"
    DELIMITER_PIPE = "pipe (|)"
    DELIMITER_OTHER = "'{delimiter}'"
    CELL_TOO_LONG = ("{path}: around row {row:,} a cell is longer than 131,072 characters. This almost always "
                     "means a quote (\") is opened and not closed there. Fix the quotes around row {row:,} "
                     "and try again.")
    MALFORMED_TEXT = "{path}: row {row:,} cannot be read as CSV ({detail}). Fix that row and try again."
    # headers
    UNNAMED_COLUMNS = ("{path}: the header row (row {header_row}) has no name for column{s} {columns}, while "
                       "columns after it do have names. Give column{s} {columns} a name in row {header_row} "
                       "(or delete the column{s} if not needed) and try again.")
    DUPLICATE_COLUMNS = ("{path}: the header row (row {header_row}) has the same column name more than once: "
                         "{duplicates}. Column names must be unique (upper/lower case does not count as "
                         "different). Rename or delete the extra columns and try again.")
    DUPLICATE_COLUMN = "'{name}' (columns {columns})"
    # rows (Row.problem)
    UNCLOSED_QUOTE = ("row {row:,} opens a quote (\") that is never closed, so everything after it up to the "
                      "end of the file was read as one cell. Fix the quotes in row {row:,} and import the rows "
                      "after it again.")
    EXTRA_CELLS_IN_TEXT = ("row {row:,} has {cell_count} cells but the header has {header_count} columns; check "
                           "for an unquoted {delimiter} inside a value (values containing it must be in double "
                           "quotes), or a value typed past the last column")
    VALUE_IN_UNNAMED_COLUMN = ("row {row:,} has a value in column {column} ('{value}'), but the header row has "
                               "no name for column {column}; give that column a name or clear the cell")
    # workbooks
    UNKNOWN_SHEET = ("{path} has no sheet '{wanted}'. Its sheets are: {sheets}. Give --sheet a name or a "
                     "position from this list.")
    SHEET_ITEM = "{position}: '{name}'"
    SHEET_ITEM_HIDDEN = "{position}: '{name}' (hidden)"
    NO_VISIBLE_SHEET = ("{path} has no visible sheet with cells. Unhide the sheet with your data or choose it "
                        "with --sheet.")
    SHEET_OPTION_FOR_TEXT = "{path} is a text file and has no sheets; leave --sheet out."


VALUE_SHOWN = 40          # characters of a stray cell value quoted in a row's problem, at most

_DELIMITER_NAMES = {",": Msg.DELIMITER_COMMA, ";": Msg.DELIMITER_SEMICOLON, "\t": Msg.DELIMITER_TAB,
                    "|": Msg.DELIMITER_PIPE}


def delimiter_name(delimiter: str) -> str:
    """'comma (,)', 'tab', ... for a delimiter in a sentence."""
    return _DELIMITER_NAMES.get(delimiter, Msg.DELIMITER_OTHER.format(delimiter=delimiter))


def listing(items: Iterable[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def shown_value(value: str) -> str:
    """A stray cell's value as a row's problem quotes it: at most VALUE_SHOWN characters."""
    return value if len(value) <= VALUE_SHOWN else value[:VALUE_SHOWN - 3] + "..."


def sheets_listing(sheets: Sequence[tuple[str, bool]]) -> str:
    """"1: 'Leads'; 2: 'Old' (hidden)" for (name, visible) pairs."""
    return "; ".join((Msg.SHEET_ITEM if visible else Msg.SHEET_ITEM_HIDDEN).format(position=position, name=name)
                     for position, (name, visible) in enumerate(sheets, start=1))


def undecodable(path: object, encoding: str, line: int, byte: int, *, forced: bool) -> str:
    """UNDECODABLE with the advice that fits: the encoding was given (--encoding) or detected."""
    advice = Msg.UNDECODABLE_FORCED if forced else Msg.UNDECODABLE_DETECTED
    return Msg.UNDECODABLE.format(path=path, encoding=encoding, line=line, byte=byte, advice=advice)
