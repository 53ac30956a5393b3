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
    MOSTLY_UTF8 = ("{path} is UTF-8 text except for a few bytes: line {line:,} (byte {offset:,} of the file) "
                   "holds the byte 0x{byte:02X}, which is not valid UTF-8{more}. The file was probably damaged "
                   "or pasted together from two sources; it is not read as another encoding, because that would "
                   "garble every other accented letter. Fix that line and save the file again as 'CSV UTF-8'.")
    MORE_BAD_BYTES = " (and {count:,} more bytes like it further on)"
    AMBIGUOUS_ENCODING = ("{path} is not UTF-8, and its text reads plausibly in more than one encoding; line "
                          "{row:,} reads {readings}. Say which reading is right: {choices} (or save the file "
                          "as 'CSV UTF-8').")
    READING = "as {encoding} ({label}): '{text}'"
    NO_PLAUSIBLE_ENCODING = ("{path} is not UTF-8, and no common encoding reads it as plausible text (line "
                             "{row:,} reads '{text}'). Save it again as 'CSV UTF-8' from your spreadsheet "
                             "program, or give the right encoding with --encoding.")
    READ_AS = "Read {name} as {encoding} ({label})"
    # limits (importer.readers.limits)
    LINE_TOO_LONG = ("{path}: line {line:,} is longer than {limit} without a line break, which no contact list "
                     "has; the file is damaged or not a list. Refused before reading it.")
    UNPACKS_TOO_BIG = ("{path}: {part} unpacks to more than {limit}, more than this tool reads; split the file "
                       "or check that it is the right one.")
    UNPACKS_TOO_MUCH = ("{path}: {part} unpacks from {packed} to more than {unpacked}, over {ratio} times its "
                        "packed size, as only a damaged or booby-trapped file does. Refused before reading it.")
    GZIP_PART = "the compressed text"
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
    NO_HEADER_ROW = ("{path}: row {row} looks like data, not column names ('{value}' is {what}), so the file "
                     "seems to have no header row. If so, add 'header: none' to the mapping (the columns are then "
                     "named A, B, C, ... as in a spreadsheet; copernica-import init proposes it); if the column "
                     "names are on another row, say which with --header-row N or 'header_row: N'.")
    KIND_EMAIL = "an e-mail address"
    KIND_DATE = "a date"
    KIND_NUMBER = "a number"
    HEADER_ROW_MISSING = ("{path}: the header row is set to row {row}, but {why}. Check 'header_row' in the "
                          "mapping or --header-row.")
    HEADER_ROW_EMPTY = "that row is empty"
    HEADER_ROW_BEYOND = "the file has no row {row}"
    HEADER_FOUND = "{name}: header on row {row}; {skipped} skipped: '{text}'"
    ROWS_SKIPPED_ONE = "row {first}"
    ROWS_SKIPPED_MANY = "rows {first}-{last}"
    NO_HEADER_NOTE = "{name}: no header row (header: none); the columns are named {first}-{last}, as in a spreadsheet"
    CUT_OFF_NOTE = ("{name} seems cut off after row {row:,}: its last row ({last:,}) is incomplete and is "
                    "marked invalid; get the complete file")
    # rows (Row.problem)
    CUT_OFF = ("the file seems cut off after row {after:,}: row {row:,} {why}, as when an upload or a copy stops "
               "halfway; get the complete file and import it again")
    CUT_OFF_NO_LINE_BREAK = "ends without a line break"
    CUT_OFF_SHORT = "has {cells} of the header's {width} cells"
    EXCEL_ERROR = ("row {row:,}: column '{column}' holds the Excel error {error} (a formula that failed), not a "
                   "value; fix the formula or the cell in the spreadsheet and import the row again")
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
    WORKBOOK_PART = "its part {part}"
    CELL_TOO_LONG_IN_WORKBOOK = ("{path}: {part} holds a cell longer than Excel's {limit} characters per cell, "
                                 "which no spreadsheet program writes; the file is damaged or booby-trapped. "
                                 "Refused before reading it.")
    TOO_MANY_SHARED_STRINGS = ("{path} holds more than {limit} different texts, more than this tool reads; split "
                               "the file or check that it is the right one. Refused before reading it.")
    READ_WITHOUT_STYLES = ("{name}: its formatting cannot be read (the file was written by a program that "
                           "breaks the format), so it was read without number formats: zero-padded numbers "
                           "(000123) and percentages show as plain numbers, and Excel error cells as empty")
    FORMATS_NOT_APPLIED = ("{name}: the number formats of {count:,} cells cannot be read (damaged styles), so "
                           "those cells were read without them: zero-padded numbers (000123) and percentages "
                           "show as plain numbers")
    FORMULAS_WITHOUT_VALUE = ("{name}: {count:,} formula cells have no saved result ({cells}) and read as empty; "
                              "open the file in Excel, let it calculate, save it and import again")
    AND_MORE = " and {count:,} more"
    OLD_EXCEL = ("{path} is an old {version} workbook, a format this tool cannot read. Open it in Excel or "
                 "LibreOffice and save it as .xlsx (File > Save As > Excel Workbook), then try again.")
    LOCK_FILE = ("{path} is not a spreadsheet but the lock file {program} keeps while {original} is open; it holds "
                 "no data. Import {original} itself (close it in {program} first).")
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
