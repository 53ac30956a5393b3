"""Format-independent part of reading: find and check the header, then turn
records (row number + cell texts) into ``Row`` values.

Decisions (documented for users in the README):
- The header is the first row with any non-blank cell; rows above it are ignored.
- Header names are stripped of surrounding spaces and a stray BOM.
- Names that differ only in upper/lower case ("Email", "email") count as
  duplicates: a mapping that says `column: email` must mean one column.
- Unnamed header cells at the end are dropped; an unnamed column before or
  between named ones is ignored while it is empty (spacer columns, data that
  starts in column B). A value under an unnamed column in the first
  LOOKAHEAD_ROWS data rows stops the import (a forgotten header name: one
  clear error, not thousands of invalid rows); further down it makes just
  that row invalid. A value is never dropped unseen.
- A row whose cells are all empty or only spaces is skipped and counted.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from importer.errors import InputFileError
from importer.models import Reason, Row
from importer.readers.messages import Msg, listing, shown_value

BOM = "\ufeff"
LOOKAHEAD_ROWS = 1000

# (row number, extra cell texts past the header, position of the first extra cell) -> the row's problem
ExtraCellsProblem = Callable[[int, list[str], int], Reason]


class Record(NamedTuple):
    number: int            # the row number a spreadsheet program shows
    cells: list[str]
    problem: Reason | None = None   # set by a source that found the row malformed
    last: bool = False              # the last record of a text file
    unterminated: bool = False      # ... and the file ends without a line break after it


# What Excel shows in a cell whose formula failed; such a value is never data.
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
                          "#EXTERNAL!", "#PYTHON!"})


def is_blank(cells: list[str]) -> bool:
    if not any(cells):
        return True
    return "".join(cells).isspace()


def column_letter(position: int) -> str:
    """0-based position -> spreadsheet column letters (0 -> A, 25 -> Z, 26 -> AA)."""
    letters = ""
    number = position + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def clean_header_name(name: str) -> str:
    """Without a BOM and surrounding spaces; a vertical tab or form feed inside a
    (quoted) name, which some programs write for a line break, is a space."""
    return name.replace(BOM, "").replace("\v", " ").replace("\f", " ").strip()


def letter_names(width: int) -> list[str]:
    """A, B, C, ... for a file without a header (``header: none``)."""
    return [column_letter(i) for i in range(width)]


def checked_headers(path: object, header: Record) -> list[str]:
    """The header's names by position, "" for an unnamed column inside the
    header (trailing unnamed ones dropped). Duplicates raise InputFileError."""
    names = [clean_header_name(cell) for cell in header.cells]
    while names and not names[-1]:
        names.pop()
    by_folded: dict[str, list[int]] = {}
    for position, name in enumerate(names):
        if name:
            by_folded.setdefault(name.casefold(), []).append(position)
    duplicates = [Msg.DUPLICATE_COLUMN.format(name=names[positions[0]],
                                              columns=listing(column_letter(p) for p in positions))
                  for positions in by_folded.values() if len(positions) > 1]
    if duplicates:
        raise InputFileError(Msg.DUPLICATE_COLUMNS.format(path=path, header_row=header.number,
                                                          duplicates="; ".join(duplicates)))
    return names


def check_unnamed_columns_unused(path: object, header: Record, names: list[str],
                                 records: list[Record]) -> None:
    """An unnamed column with values in it (in the rows looked at) is a
    forgotten header name: stop with the column letters, before any row is used."""
    used = sorted({i for record in records for i, cell in enumerate(record.cells[:len(names)])
                   if not names[i] and cell.strip()})
    if used:
        raise InputFileError(Msg.UNNAMED_COLUMNS.format(path=path, header_row=header.number,
                                                        columns=listing(column_letter(i) for i in used),
                                                        s="s" if len(used) > 1 else ""))


class RowBuilder:
    """Turns the records after the header into Rows, counting what it skips.

    ``names`` is by position, with "" for an unnamed (ignored) column.
    """

    def __init__(self, names: list[str], extra_cells_problem: ExtraCellsProblem,
                 checked: set[str] | None = None) -> None:
        self.names = names
        self.headers = [name for name in names if name]
        self.width = len(names)
        self.unnamed = [i for i, name in enumerate(names) if not name]
        self.extra_cells_problem = extra_cells_problem
        # the columns whose Excel error values make a row invalid (None: all)
        self.checked = [i for i, name in enumerate(names) if name and (checked is None or name in checked)]
        self.empty_rows = 0
        self.data_rows = 0
        self.short_rows = 0
        self.last_row = 0                  # the last data row handed out
        self.cut_off_after: int | None = None

    def rows(self, records: Iterator[Record]) -> Iterator[Row]:
        for record in records:
            row = self.build(record)
            if row is not None:
                yield row

    def build(self, record: Record) -> Row | None:
        number, cells, problem, last, _ = record
        joined = "".join(cells)
        if not joined or joined.isspace():
            self.empty_rows += 1
            return None
        self.data_rows += 1
        if last and problem is None:
            problem = self._cut_off(record)
        width = self.width
        if len(cells) < width:
            self.short_rows += 1
            cells = cells + [""] * (width - len(cells))
        if problem is None and self.unnamed:
            problem = self._unnamed_problem(number, cells)
        if problem is None and "#" in joined:
            problem = self._excel_error(number, cells)
        extra: list[str] = []
        if len(cells) > width:
            extra = cells[width:]
            cells = cells[:width]
            if not problem and not is_blank(extra):
                problem = self.extra_cells_problem(number, extra, width)
            while extra and not extra[-1].strip():
                extra.pop()      # trailing empty cells are no data (kept: the ones before a value)
        if self.unnamed:
            values = {name: cell for name, cell in zip(self.names, cells) if name}
        else:
            values = dict(zip(self.names, cells))
        self.last_row = number
        return Row(number, values, problem, tuple(extra))

    def _cut_off(self, record: Record) -> Reason | None:
        """The last row of a text file that ends without a line break, or with
        fewer cells than the header (while every row before it had them all),
        is what a stalled upload leaves: that row is not trusted."""
        if record.unterminated:
            why = Msg.CUT_OFF_NO_LINE_BREAK
        elif len(record.cells) < self.width and not self.short_rows:
            why = Msg.CUT_OFF_SHORT.format(cells=len(record.cells), width=self.width)
        else:
            return None
        self.cut_off_after = self.last_row
        return Reason("cut_off", Msg.CUT_OFF, {"row": record.number, "after": self.last_row, "why": why})

    def _excel_error(self, number: int, cells: list[str]) -> Reason | None:
        for position in self.checked:
            cell = cells[position]
            if cell[:1] == "#" and cell.strip() in EXCEL_ERRORS:
                return Reason("excel_error", Msg.EXCEL_ERROR, {"row": number, "column": self.names[position],
                                                                "error": cell.strip()})
        return None

    def _unnamed_problem(self, number: int, cells: list[str]) -> Reason | None:
        for position in self.unnamed:
            if cells[position].strip():
                return value_in_unnamed_column("unnamed_column", number, position, cells[position])
        return None


def value_in_unnamed_column(code: str, number: int, position: int, value: str) -> Reason:
    """Row ``number`` has ``value`` at 0-based ``position``, a column without a header name.

    ``code``: "unnamed_column" for a column between named ones, "extra_cells"
    for one past the last named column."""
    return Reason(code, Msg.VALUE_IN_UNNAMED_COLUMN,
                  {"row": number, "column": column_letter(position), "value": shown_value(value)})


def first_non_blank(records: Iterator[Record]) -> Record | None:
    for record in records:
        if not is_blank(record.cells):
            return record
    return None
