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


def is_blank(cells: list[str]) -> bool:
    if not any(cells):
        return True
    return "".join(cells).isspace()


def column_letter(position: int) -> str:
    """0-based position -> spreadsheet column letters (0 -> A)."""
    # imported here: openpyxl (and numpy through it) costs a CSV run's start ~0.3 s
    from openpyxl.utils import get_column_letter

    return get_column_letter(position + 1)


def clean_header_name(name: str) -> str:
    return name.replace(BOM, "").strip()


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

    def __init__(self, names: list[str], extra_cells_problem: ExtraCellsProblem) -> None:
        self.names = names
        self.headers = [name for name in names if name]
        self.width = len(names)
        self.unnamed = [i for i, name in enumerate(names) if not name]
        self.extra_cells_problem = extra_cells_problem
        self.empty_rows = 0
        self.data_rows = 0

    def rows(self, records: Iterator[Record]) -> Iterator[Row]:
        for record in records:
            row = self.build(record)
            if row is not None:
                yield row

    def build(self, record: Record) -> Row | None:
        cells = record.cells
        if is_blank(cells):
            self.empty_rows += 1
            return None
        self.data_rows += 1
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))
        problem = record.problem or self._unnamed_problem(record.number, cells)
        if len(cells) > self.width:
            extra = cells[self.width:]
            cells = cells[:self.width]
            if not problem and not is_blank(extra):
                problem = self.extra_cells_problem(record.number, extra, self.width)
        if self.unnamed:
            values = {name: cell for name, cell in zip(self.names, cells) if name}
        else:
            values = dict(zip(self.names, cells))
        return Row(record.number, values, problem)

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
