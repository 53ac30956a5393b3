"""Spreadsheet file -> stream of ``Row`` (memory does not grow with the file).

    with open_sheet("contacts.xlsx", sheet="Leads") as sheet:
        sheet.headers          # checked: no empty or duplicate names
        for row in sheet:      # Row(number as Excel shows it, {header: text})
            ...

Formats: .csv .tsv .txt (tab-separated), their .gz versions, .xlsx/.xlsm,
.xls and .ods; .json (an array of objects) and .ndjson/.jsonl (one object a
line), plain or .gz, as an ``ObjectSheet`` (readers/objects.py). Every problem with the file itself is one ``InputFileError`` raised
by ``open_sheet`` (before any row is handed out) with a message that names
the file and says how to fix it; a malformed single row is handed out with
``Row.problem`` set (a ``Reason``: extra_cells, unnamed_column or
unclosed_quote). The parts live in ``importer/readers/``.
"""
from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from importer.errors import HeaderRowMissing, InputFileError
from importer.models import Reason, Row
from importer.readers import detect
from importer.readers.header import HEADER_SEARCH, find_header, non_blank, skipped_text, used_width
from importer.readers.messages import Msg
from importer.readers.stdin import shown_name
from importer.readers.table import (
    LOOKAHEAD_ROWS,
    Record,
    RowBuilder,
    check_unnamed_columns_unused,
    checked_headers,
    is_blank,
    letter_names,
)
from importer.readers.text import TextSource

SheetChoice = str | int | None

if TYPE_CHECKING:
    from importer.readers.jsondoc import JsonArraySource
    from importer.readers.jsonlines import JsonLinesSource
    from importer.readers.objects import ObjectSheet

__all__ = ["Sheet", "open_sheet", "read_rows", "file_fingerprint", "last_row_cut_off", "SUPPORTED_SUFFIXES",
           "FILE_NOTES"]

SUPPORTED_SUFFIXES = detect.SUPPORTED_SUFFIXES
TEXT_SUFFIXES = tuple(s for s in SUPPORTED_SUFFIXES if not s.startswith((".xl", ".od")))
# the logger that says how a file was read (Sheet.announce); the CLI prints it plainly on stderr
FILE_NOTES = "importer.file"
notes_log = logging.getLogger(FILE_NOTES)


class _Source(Protocol):
    encoding: str | None
    delimiter: str | None

    def records(self) -> Iterator[Record]: ...
    def extra_cells_problem(self, number: int, extra: list[str], width: int) -> Reason: ...
    def close(self) -> None: ...


class Sheet:
    """An open, checked spreadsheet. Iterate it once for its data rows.

    ``notes`` are what a user should hear about how the file was read (the
    encoding, the header row taken, formatting not applied, formulas without
    a saved result); the commands print them on stderr.
    """

    def __init__(self, path: Path, format: str, source: _Source, sheet_name: str | None, *,
                 header_row: int | None = None, no_header: bool = False, allow_no_header: bool = False,
                 expected_columns: Sequence[str] = ()) -> None:
        self.path = path
        self.format = format
        self.encoding = source.encoding
        self.delimiter = source.delimiter
        self.sheet_name = sheet_name
        self.notes: list[str] = list(getattr(source, "notes", []))
        self._announced = False
        self._source = source
        self._records = source.records()
        window = self._read_window(header_row)
        rows = non_blank(window)
        if not rows:
            raise InputFileError(Msg.NO_HEADER.format(path=path))
        header = self._choose_header(window, rows, header_row, no_header, allow_no_header, list(expected_columns))
        self.has_header = header is not None
        if header is not None:
            self.header_row: int = header.number
            after = [r for r in window if r.number > header.number]
            names = checked_headers(path, header)
            self._lookahead = self._read_ahead(iter(after))
            check_unnamed_columns_unused(path, header, names, self._lookahead)
        else:
            self.header_row = 0
            self._lookahead = self._read_ahead(iter(window), data_only=True)
            names = letter_names(max(used_width(r.cells) for r in self._lookahead))
            self.notes.append(Msg.NO_HEADER_NOTE.format(name=shown_name(path), first=names[0], last=names[-1]))
        checked = set(expected_columns) if expected_columns else None
        self._builder = RowBuilder(names, source.extra_cells_problem, checked)
        self._builder.last_row = self.header_row
        self.headers: list[str] = self._builder.headers
        self._rows = self._all_rows()

    def _read_window(self, header_row: int | None) -> list[Record]:
        """The records up to the HEADER_SEARCH-th non-blank one (and up to a forced header row)."""
        window: list[Record] = []
        found = 0
        for record in self._records:
            window.append(record)
            found += not is_blank(record.cells)
            if found >= HEADER_SEARCH and (header_row is None or record.number >= header_row):
                break
        return window

    def _choose_header(self, window: list[Record], rows: list[Record], header_row: int | None, no_header: bool,
                       allow_no_header: bool, expected: list[str]) -> Record | None:
        if no_header:
            return None
        if header_row is not None:
            chosen = next((r for r in window if r.number == header_row), None)
            if chosen is None or is_blank(chosen.cells):
                why = Msg.HEADER_ROW_EMPTY if chosen is not None else Msg.HEADER_ROW_BEYOND.format(row=header_row)
                raise HeaderRowMissing(Msg.HEADER_ROW_MISSING.format(path=self.path, row=header_row, why=why),
                                       header_row, why)
        else:
            found = find_header(rows, expected)
            if found.index is None:
                if allow_no_header:
                    return None
                value, kind = found.data or ("", "")
                what = {"email": Msg.KIND_EMAIL, "date": Msg.KIND_DATE}.get(kind, Msg.KIND_NUMBER)
                raise InputFileError(Msg.NO_HEADER_ROW.format(path=self.path, row=rows[0].number, value=value,
                                                              what=what))
            chosen = rows[found.index]
        skipped = [r for r in rows if r.number < chosen.number]
        if skipped:
            rows_text = (Msg.ROWS_SKIPPED_ONE.format(first=skipped[0].number) if len(skipped) == 1 else
                         Msg.ROWS_SKIPPED_MANY.format(first=skipped[0].number, last=skipped[-1].number))
            self.notes.append(Msg.HEADER_FOUND.format(name=shown_name(self.path), row=chosen.number, skipped=rows_text,
                                                      text=skipped_text(skipped)))
        return chosen

    def announce(self) -> None:
        """Log the notes (INFO on the ``importer.file`` logger), now and as more
        come (formats not applied, a file cut off) while the rows are read."""
        self._announced = True
        for note in self.notes:
            notes_log.info(note)

    def _note(self, text: str) -> None:
        self.notes.append(text)
        if self._announced:
            notes_log.info(text)

    @property
    def empty_rows(self) -> int:
        """Fully empty rows after the header skipped so far."""
        return self._builder.empty_rows

    @property
    def data_rows(self) -> int:
        """Data rows handed out so far."""
        return self._builder.data_rows

    @property
    def cut_off_after(self) -> int | None:
        """The last complete row when the file seems cut off (known once its last row was read)."""
        return self._builder.cut_off_after

    def _read_ahead(self, first: Iterator[Record], data_only: bool = False) -> list[Record]:
        """The first LOOKAHEAD_ROWS non-empty records after the header (and the
        empty ones among them), read at open time: a header-only file or a
        forgotten header name is then an error before any row is used."""
        records: list[Record] = []
        non_blank_count = 0
        for record in itertools.chain(first, self._records):
            records.append(record)
            if not is_blank(record.cells):
                non_blank_count += 1
                if non_blank_count >= LOOKAHEAD_ROWS:
                    break
        if not non_blank_count and not data_only:
            raise InputFileError(Msg.HEADER_ONLY.format(path=self.path, header_row=self.header_row))
        return records

    def _all_rows(self) -> Iterator[Row]:
        lookahead, self._lookahead = self._lookahead, []
        yield from self._builder.rows(iter(lookahead))
        yield from self._builder.rows(self._records)
        for note in getattr(self._source, "late_notes", []):
            self._note(note)
        if self._builder.cut_off_after is not None:
            self._note(Msg.CUT_OFF_NOTE.format(name=shown_name(self.path), row=self._builder.cut_off_after,
                                               last=self._builder.last_row))

    def __iter__(self) -> Iterator[Row]:
        return self._rows

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> Sheet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_sheet(path: str | Path, encoding: str | None = None, delimiter: str | None = None,
               sheet: SheetChoice = None, *, header_row: int | None = None, no_header: bool = False,
               allow_no_header: bool = False, expected_columns: Sequence[str] = ()) -> Sheet:
    """Open and check a spreadsheet; raises InputFileError (UsageError for a bad
    encoding or delimiter option). ``sheet``: a name, a 1-based position, or
    None for the first visible sheet; it must be None for text files.

    The header: ``no_header`` (the mapping's ``header: none``) names the
    columns A, B, C...; ``header_row`` forces a row; otherwise it is found
    (``importer.readers.header``), preferring the row with the most of
    ``expected_columns`` (the mapping's). A file that seems to have no header
    is refused, unless ``allow_no_header`` (``init``): then ``has_header`` is
    False and the columns are named A, B, C...
    """
    path = Path(path)
    detect.check_path(path)
    kind = detect.kind_from_name(path)
    detect.check_content_matches(path, kind)
    if kind.base in detect.JSON_FORMATS.values():
        return _open_objects(path, kind, encoding, delimiter, sheet)
    source = _open_source(path, kind, encoding, delimiter, sheet)
    try:
        return Sheet(path, kind.format, source, getattr(source, "sheet_name", None), header_row=header_row,
                     no_header=no_header, allow_no_header=allow_no_header, expected_columns=expected_columns)
    except BaseException:
        source.close()
        raise


def _open_source(path: Path, kind: detect.FileKind, encoding: str | None,
                 delimiter: str | None, sheet: SheetChoice) -> _Source:
    if kind.base in ("xlsx", "xls", "ods"):
        # the workbook libraries load only for workbooks: a CSV import starts faster
        from importer.readers.workbook import CalamineSource, XlsSource, XlsxSource
        if kind.base == "xlsx":
            return XlsxSource(path, sheet)
        if kind.base == "xls":
            return XlsSource(path, sheet)
        return CalamineSource(path, "OpenDocument (.ods)", sheet)
    if sheet is not None and str(sheet).strip():
        raise InputFileError(Msg.SHEET_OPTION_FOR_TEXT.format(path=path))
    return TextSource(path, kind, encoding, delimiter)


def last_row_cut_off(sheet: Sheet) -> str | None:
    """Why the sheet's text file seems cut off (its last row), or None; reads
    every row. For the drop rules: such a file is left for the next run."""
    last = None
    for row in sheet:
        last = row
    if last is not None and last.problem is not None and last.problem.code == "cut_off":
        return last.problem.message
    return None


def _open_objects(path: Path, kind: detect.FileKind, encoding: str | None, delimiter: str | None,
                  sheet: SheetChoice) -> "ObjectSheet":
    """A .json or .ndjson/.jsonl file (readers/objects.py, jsonlines.py, jsondoc.py)."""
    from importer.readers.objects import Msg as ObjectsMsg
    from importer.readers.objects import ObjectSheet
    if sheet is not None and str(sheet).strip():
        raise InputFileError(Msg.SHEET_OPTION_FOR_TEXT.format(path=path))
    if delimiter:
        raise InputFileError(ObjectsMsg.NO_DELIMITER.format(path=path))
    if kind.base == "ndjson":
        from importer.readers.jsonlines import JsonLinesSource
        source: "JsonLinesSource | JsonArraySource" = JsonLinesSource(path, kind, encoding)
    else:
        from importer.readers.jsondoc import JsonArraySource
        source = JsonArraySource(path, kind, encoding)
    try:
        return ObjectSheet(path, kind.format, source)
    except BaseException:
        source.close()
        raise


def read_rows(path: str | Path, **options: object) -> Iterator[Row]:
    """All data rows of a file; options as for open_sheet."""
    with open_sheet(path, **options) as sheet:  # type: ignore[arg-type]
        yield from sheet


def file_fingerprint(path: str | Path) -> str:
    """sha256 of the file's bytes, read in chunks (for resume checks)."""
    path = Path(path)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            while chunk := file.read(1024 * 1024):
                digest.update(chunk)
    except IsADirectoryError as exc:
        raise InputFileError(Msg.IS_A_DIRECTORY.format(path=path)) from exc
    except FileNotFoundError as exc:
        raise InputFileError(Msg.NOT_FOUND.format(path=path)) from exc
    except OSError as exc:
        raise InputFileError(Msg.CANNOT_OPEN.format(path=path, reason=exc.strerror or str(exc))) from exc
    return digest.hexdigest()
