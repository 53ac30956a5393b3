"""Workbooks: XLSX through openpyxl (read-only, streamed, cached formula
values), XLS through xlrd (values, dates, error cells and number formats),
ODS through python-calamine (which loads one sheet into memory; those
formats are small by nature: .xls stops at 65,536 rows).

Before openpyxl sees an .xlsx (a zip of XML parts), its parts are checked
against the limits of ``importer.readers.limits`` (unpacked size and ratio,
the number of shared strings, the length of a cell), so a booby-trapped file
is refused in seconds instead of filling the memory. A workbook whose styles
openpyxl cannot read is read without its number formats (or through
python-calamine), and a note says so; formulas without a saved result are
counted and noted.
"""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import python_calamine
import xlrd

from importer.errors import InputFileError
from importer.models import Reason
from importer.readers import limits
from importer.readers.cells import cell_to_text, formatted_number
from importer.readers.messages import Msg, sheets_listing
from importer.readers.stdin import shown_name
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


# -- zip parts: limits, shared strings, formulas without a saved result ----------------

PART_CHUNK = 4 * 1024 * 1024
# a run of this many bytes without a '<' in workbook XML is a text longer than
# Excel's MAX_CELL_CHARS characters (a character is at most 4 bytes)
_LONG_TEXT = re.compile(rb"[^<]{%d}" % (4 * limits.MAX_CELL_CHARS + 4))
_SHARED_STRING = re.compile(rb"<(?:\w+:)?si[ >/]")
_FORMULA_WITHOUT_VALUE = re.compile(rb"(?:</f>|<f[^>]*/>)\s*(?:<v\s*/>|<v></v>)?\s*</c>")
_CELL_REF = re.compile(rb'<c r="([A-Z]+)([0-9]+)"')


def check_zip_parts(path: Path) -> None:
    """Every part's unpacked size and packing ratio within the limits (from the
    zip directory, which ``zipfile`` holds each part to)."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                limits.check_unpacked(path, Msg.WORKBOOK_PART.format(part=info.filename), info.file_size,
                                      info.compress_size)
    except (zipfile.BadZipFile, OSError):
        return          # the workbook reader says it is damaged


def scan_part(path: Path, archive: zipfile.ZipFile, name: str, *, count_shared: bool = False,
              find_formulas: bool = False) -> tuple[int, list[str]]:
    """One XML part, streamed: refuses a cell longer than Excel allows and too
    many shared strings; returns (shared strings, cells whose formula has no saved result)."""
    shared = 0
    formulas: list[str] = []
    tail = b""
    with archive.open(name) as part:
        while chunk := part.read(PART_CHUNK):
            data = tail + chunk
            if _LONG_TEXT.search(data):
                raise InputFileError(Msg.CELL_TOO_LONG_IN_WORKBOOK.format(
                    path=path, part=name, limit=f"{limits.MAX_CELL_CHARS:,}"))
            if count_shared:
                shared += len(_SHARED_STRING.findall(chunk))
                if shared > limits.MAX_SHARED_STRINGS:
                    raise InputFileError(Msg.TOO_MANY_SHARED_STRINGS.format(
                        path=path, limit=f"{limits.MAX_SHARED_STRINGS:,}"))
            if find_formulas and b"<f" in data:
                for match in _FORMULA_WITHOUT_VALUE.finditer(data, len(tail)):
                    start = data.rfind(b'<c r="', 0, match.start())
                    ref = _CELL_REF.match(data, start) if start >= 0 else None
                    formulas.append(ref.group(1).decode() + ref.group(2).decode() if ref else "?")
            tail = data[-(4 * limits.MAX_CELL_CHARS + 4):]
    return shared, formulas


def _shared_strings_part(archive: zipfile.ZipFile) -> str | None:
    return next((n for n in archive.namelist() if n.lower().endswith("sharedstrings.xml")), None)


class XlsxSource:
    encoding = None
    delimiter = None

    def __init__(self, path: Path, sheet: SheetChoice) -> None:

        self.path = path
        self.notes: list[str] = []
        self.late_notes: list[str] = []
        self._unformatted = 0
        self._fallback: CalamineSource | None = None
        check_zip_parts(path)
        try:
            with zipfile.ZipFile(path) as archive:
                shared = _shared_strings_part(archive)
                if shared:
                    scan_part(path, archive, shared, count_shared=True)
        except (zipfile.BadZipFile, OSError, KeyError) as exc:
            raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=path, kind="Excel (.xlsx)")) from exc
        try:
            # keep_links=False: external link caches are not needed and can be huge
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True,
                                                keep_links=False)
        except Exception as exc:  # openpyxl raises many kinds on a damaged file  # noqa: BLE001
            self._fall_back(path, sheet, exc)
            return
        worksheets = self._book.worksheets
        sheets = [(ws.title, ws.sheet_state == "visible") for ws in worksheets]
        self._sheet = worksheets[choose_sheet(path, sheets, sheet)]
        self.sheet_name: str = self._sheet.title
        # Some programs write a wrong size ("A1") into the file; openpyxl
        # would then cut the rows short. Reading without it streams every cell.
        self._sheet.reset_dimensions()
        self._note_formulas_without_value(getattr(self._sheet, "_worksheet_path", None))

    def _fall_back(self, path: Path, sheet: SheetChoice, cause: Exception) -> None:
        """openpyxl cannot read the workbook (often its styles): python-calamine reads
        the values, without number formats."""
        try:
            self._fallback = CalamineSource(path, "Excel (.xlsx)", sheet)
        except InputFileError as exc:
            if "has no sheet" in str(exc) or "no visible sheet" in str(exc):
                raise
            raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=path, kind="Excel (.xlsx)")) from cause
        self.sheet_name = self._fallback.sheet_name
        self.notes.append(Msg.READ_WITHOUT_STYLES.format(name=shown_name(path)))

    def _note_formulas_without_value(self, part: str | None) -> None:
        if not part:
            return
        try:
            with zipfile.ZipFile(self.path) as archive:
                _, formulas = scan_part(self.path, archive, part.lstrip("/"), find_formulas=True)
        except (zipfile.BadZipFile, OSError, KeyError):
            return
        if formulas:
            shown = ", ".join(formulas[:5]) + (Msg.AND_MORE.format(count=len(formulas) - 5) if len(formulas) > 5 else "")
            self.notes.append(Msg.FORMULAS_WITHOUT_VALUE.format(name=shown_name(self.path), count=len(formulas),
                                                                cells=shown))

    def records(self) -> Iterator[Record]:
        if self._fallback is not None:
            yield from self._fallback.records()
            return
        # cells rather than bare values: a zero-padded or percent number format
        # changes the text a person sees (about 7% slower, measured)
        rows = self._sheet.iter_rows()
        number = 0
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                break
            except Exception as exc:  # openpyxl raises many kinds on a damaged part  # noqa: BLE001
                raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=self.path, kind="Excel (.xlsx)")) from exc
            number += 1
            yield Record(number, [self._shown(c) for c in cells])
        if self._unformatted:
            self.late_notes.append(Msg.FORMATS_NOT_APPLIED.format(name=shown_name(self.path), count=self._unformatted))

    def _shown(self, cell: Any) -> str:
        value = cell.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number_format = getattr(cell, "number_format", None)
            except Exception:  # a style openpyxl cannot read (s="" on a cell)  # noqa: BLE001
                self._unformatted += 1
                return cell_to_text(value)
            shown = formatted_number(value, number_format)
            if shown is not None:
                return shown
        return cell_to_text(value)

    def extra_cells_problem(self, number: int, extra: list[str], width: int) -> Reason:
        return _value_past_the_header(number, extra, width)

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()
        else:
            self._book.close()


class XlsSource:
    """Excel 97-2003 (.xls, BIFF8) through xlrd: values with their number formats
    (zero padding and percentages as for .xlsx), dates, and error cells as
    Excel shows them (#DIV/0!). Falls back to python-calamine (without number
    formats, with a note) when xlrd cannot read the file."""
    encoding = None
    delimiter = None

    def __init__(self, path: Path, sheet: SheetChoice) -> None:
        self.path = path
        self.notes: list[str] = []
        self._fallback: CalamineSource | None = None
        try:
            self._book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
        except Exception:  # xlrd raises many kinds on files it cannot read  # noqa: BLE001
            self._fallback = CalamineSource(path, "Excel (.xls)", sheet)
            self.sheet_name = self._fallback.sheet_name
            self.notes.append(Msg.READ_WITHOUT_STYLES.format(name=shown_name(path)))
            return
        sheets = [(name, self._book.sheet_by_index(i).visibility == 0)
                  for i, name in enumerate(self._book.sheet_names())]
        self._index = choose_sheet(path, sheets, sheet)
        self.sheet_name = sheets[self._index][0]

    def records(self) -> Iterator[Record]:
        if self._fallback is not None:
            yield from self._fallback.records()
            return
        try:
            sheet = self._book.sheet_by_index(self._index)
        except Exception as exc:  # noqa: BLE001
            raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=self.path, kind="Excel (.xls)")) from exc
        for number in range(sheet.nrows):
            yield Record(number + 1, [self._text(cell) for cell in sheet.row(number)])

    def _text(self, cell: Any) -> str:
        kind, value = cell.ctype, cell.value
        if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            return ""
        if kind == xlrd.XL_CELL_TEXT:
            return value
        if kind == xlrd.XL_CELL_BOOLEAN:
            return "TRUE" if value else "FALSE"
        if kind == xlrd.XL_CELL_ERROR:
            return xlrd.error_text_from_code.get(value, "#VALUE!")
        if kind == xlrd.XL_CELL_DATE:
            try:
                when = xlrd.xldate.xldate_as_datetime(value, self._book.datemode)
            except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                return cell_to_text(value)
            return cell_to_text(when.time() if value < 1 else when) if isinstance(when, dt.datetime) else str(when)
        shown = formatted_number(value, self._number_format(cell))
        return shown if shown is not None else cell_to_text(value)

    def _number_format(self, cell: Any) -> str | None:
        try:
            return self._book.format_map[self._book.xf_list[cell.xf_index].format_key].format_str
        except (IndexError, KeyError, AttributeError):
            return None

    def extra_cells_problem(self, number: int, extra: list[str], width: int) -> Reason:
        return _value_past_the_header(number, extra, width)

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()
        else:
            self._book.release_resources()


class CalamineSource:
    encoding = None
    delimiter = None

    def __init__(self, path: Path, kind_name: str, sheet: SheetChoice) -> None:
        self.path = path

        self.kind_name = kind_name
        if zipfile.is_zipfile(path):
            check_zip_parts(path)
            _scan_ods_content(path)   # calamine would load an endless cell whole
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


def _scan_ods_content(path: Path) -> None:
    """An .ods keeps its cells in content.xml: refused there, like an .xlsx's
    shared strings, when a cell is longer than Excel allows."""
    try:
        with zipfile.ZipFile(path) as archive:
            if "content.xml" in archive.namelist():
                scan_part(path, archive, "content.xml")
    except (zipfile.BadZipFile, OSError):
        return          # calamine says it is damaged


def _value_past_the_header(number: int, extra: list[str], width: int) -> Reason:
    offset = next(i for i, value in enumerate(extra) if value.strip())
    return value_in_unnamed_column("extra_cells", number, width + offset, extra[offset])
