"""Workbooks: XLSX through openpyxl (read-only, streamed, cached formula
values), XLS and ODS through python-calamine (which loads one sheet into
memory; those formats are small by nature: .xls stops at 65,536 rows)."""
from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from importer.errors import InputFileError
from importer.models import Reason
from importer.readers.cells import cell_to_text, formatted_number
from importer.readers.messages import Msg, sheets_listing
from importer.readers.table import Record, value_in_unnamed_column

SheetChoice = str | int | None


def choose_sheet(path: object, sheets: Sequence[tuple[str, bool]], wanted: SheetChoice) -> int:
    """Index of the wanted sheet: a name (any case), a 1-based position
    (counting hidden sheets too, as listed in the error), or the first visible one."""
    if wanted is None or (isinstance(wanted, str) and not wanted.strip()):
        for index, (_, visible) in enumerate(sheets):
            if visible:
                return index
        raise InputFileError(Msg.NO_VISIBLE_SHEET.format(path=path))
    if isinstance(wanted, str):
        for index, (name, _) in enumerate(sheets):
            if name == wanted:
                return index
        for index, (name, _) in enumerate(sheets):
            if name.strip().casefold() == wanted.strip().casefold():
                return index
        if wanted.strip().isdigit():
            wanted = int(wanted.strip())
    if isinstance(wanted, int) and 1 <= wanted <= len(sheets):
        return wanted - 1
    raise InputFileError(Msg.UNKNOWN_SHEET.format(path=path, wanted=wanted, sheets=sheets_listing(sheets)))


def texts(values: Sequence[Any]) -> list[str]:
    return [cell_to_text(v) for v in values]


def _shown(cell: Any) -> str:
    value = cell.value
    if isinstance(value, (int, float)):
        shown = formatted_number(value, getattr(cell, "number_format", None))
        if shown is not None:
            return shown
    return cell_to_text(value)


class XlsxSource:
    encoding = None
    delimiter = None

    def __init__(self, path: Path, sheet: SheetChoice) -> None:
        import openpyxl  # imported for workbooks only: a CSV run starts without it (and numpy)

        self.path = path
        try:
            # keep_links=False: external link caches are not needed and can be huge
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True,
                                                keep_links=False)
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=path, kind="Excel (.xlsx)")) from exc
        worksheets = self._book.worksheets
        sheets = [(ws.title, ws.sheet_state == "visible") for ws in worksheets]
        self._sheet = worksheets[choose_sheet(path, sheets, sheet)]
        self.sheet_name: str = self._sheet.title
        # Some programs write a wrong size ("A1") into the file; openpyxl
        # would then cut the rows short. Reading without it streams every cell.
        self._sheet.reset_dimensions()

    def records(self) -> Iterator[Record]:
        # cells rather than bare values: a zero-padded or percent number format
        # changes the text a person sees (about 7% slower, measured)
        rows = self._sheet.iter_rows()
        number = 0
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                return
            except (zipfile.BadZipFile, KeyError, ValueError, SyntaxError, OSError) as exc:
                raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=self.path, kind="Excel (.xlsx)")) from exc
            number += 1
            yield Record(number, [_shown(c) for c in cells])

    def extra_cells_problem(self, number: int, extra: list[str], width: int) -> Reason:
        return _value_past_the_header(number, extra, width)

    def close(self) -> None:
        self._book.close()


class CalamineSource:
    encoding = None
    delimiter = None

    def __init__(self, path: Path, kind_name: str, sheet: SheetChoice) -> None:
        self.path = path
        import python_calamine  # for .xls/.ods only

        self.kind_name = kind_name
        try:
            self._book = python_calamine.CalamineWorkbook.from_path(str(path))
            metadata = [m for m in self._book.sheets_metadata
                        if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
        except python_calamine.PasswordError as exc:
            raise InputFileError(Msg.PASSWORD_PROTECTED.format(path=path)) from exc
        except Exception as exc:  # calamine's errors on a damaged file vary
            raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=path, kind=kind_name)) from exc
        sheets = [(m.name, m.visible == python_calamine.SheetVisibleEnum.Visible)
                  for m in metadata]
        self.sheet_name: str = sheets[choose_sheet(path, sheets, sheet)][0]

    def records(self) -> Iterator[Record]:
        try:
            sheet = self._book.get_sheet_by_name(self.sheet_name)
            # skip_empty_area=False: rows and columns count from A1, so row
            # numbers are the ones the spreadsheet shows
            grid = sheet.to_python(skip_empty_area=False)
        except Exception as exc:
            raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=self.path, kind=self.kind_name)) from exc
        for number, values in enumerate(grid, start=1):
            yield Record(number, texts(values))

    def extra_cells_problem(self, number: int, extra: list[str], width: int) -> Reason:
        return _value_past_the_header(number, extra, width)

    def close(self) -> None:
        self._book.close()


def _value_past_the_header(number: int, extra: list[str], width: int) -> Reason:
    offset = next(i for i, value in enumerate(extra) if value.strip())
    return value_in_unnamed_column("extra_cells", number, width + offset, extra[offset])
