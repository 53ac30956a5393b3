"""Spreadsheet file -> stream of ``Row`` (memory does not grow with the file).

    with open_sheet("contacts.xlsx", sheet="Leads") as sheet:
        sheet.headers          # checked: no empty or duplicate names
        for row in sheet:      # Row(number as Excel shows it, {header: text})
            ...

Formats: .csv .tsv .txt (tab-separated), their .gz versions, .xlsx/.xlsm,
.xls, .ods, and JSON Lines (.ndjson/.jsonl, ``readers/jsonlines.py``).
Every problem with the file itself is one ``InputFileError`` raised
by ``open_sheet`` (before any row is handed out) with a message that names
the file and says how to fix it; a malformed single row is handed out with
``Row.problem`` set (a ``Reason``: extra_cells, unnamed_column or
unclosed_quote). The parts live in ``importer/readers/``.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from importer.errors import InputFileError
from importer.models import Reason, Row
from importer.readers import detect
from importer.readers.jsonlines import JsonLinesSource
from importer.readers.messages import Msg
from importer.readers.table import (
    LOOKAHEAD_ROWS,
    Record,
    RowBuilder,
    check_unnamed_columns_unused,
    checked_headers,
    first_non_blank,
    is_blank,
)
from importer.readers.text import TextSource
from importer.readers.workbook import CalamineSource, SheetChoice, XlsxSource

__all__ = ["Sheet", "open_sheet", "read_rows", "file_fingerprint", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = detect.SUPPORTED_SUFFIXES


class _Source(Protocol):
    encoding: str | None
    delimiter: str | None

    def records(self) -> Iterator[Record]: ...
    def extra_cells_problem(self, number: int, extra: list[str], width: int) -> Reason: ...
    def close(self) -> None: ...


class Sheet:
    """An open, checked spreadsheet. Iterate it once for its data rows."""

    def __init__(self, path: Path, format: str, source: _Source, sheet_name: str | None) -> None:
        self.path = path
        self.format = format
        self.encoding = source.encoding
        self.delimiter = source.delimiter
        self.sheet_name = sheet_name
        self._source = source
        self._records = source.records()
        header = first_non_blank(self._records)
        if header is None:
            raise InputFileError(Msg.NO_HEADER.format(path=path))
        self.header_row: int = header.number
        names = checked_headers(path, header)
        self._lookahead = self._read_ahead()
        check_unnamed_columns_unused(path, header, names, self._lookahead)
        self._builder = RowBuilder(names, source.extra_cells_problem)
        self.headers: list[str] = self._builder.headers
        self._rows = self._all_rows()

    @property
    def empty_rows(self) -> int:
        """Fully empty rows after the header skipped so far."""
        return self._builder.empty_rows

    @property
    def data_rows(self) -> int:
        """Data rows handed out so far."""
        return self._builder.data_rows

    def _read_ahead(self) -> list[Record]:
        """The first LOOKAHEAD_ROWS non-empty records (and the empty ones
        among them), read at open time: a header-only file or a forgotten
        header name is then an error before any row is used."""
        records: list[Record] = []
        non_blank = 0
        for record in self._records:
            records.append(record)
            if not is_blank(record.cells):
                non_blank += 1
                if non_blank >= LOOKAHEAD_ROWS:
                    break
        if not non_blank:
            raise InputFileError(Msg.HEADER_ONLY.format(path=self.path, header_row=self.header_row))
        return records

    def _all_rows(self) -> Iterator[Row]:
        lookahead, self._lookahead = self._lookahead, []
        yield from self._builder.rows(iter(lookahead))
        yield from self._builder.rows(self._records)

    def __iter__(self) -> Iterator[Row]:
        return self._rows

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> Sheet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_sheet(path: str | Path, encoding: str | None = None, delimiter: str | None = None,
               sheet: SheetChoice = None) -> Sheet:
    """Open and check a spreadsheet; raises InputFileError (UsageError for a bad
    encoding or delimiter option). ``sheet``: a name, a 1-based position, or
    None for the first visible sheet; it must be None for text files."""
    path = Path(path)
    detect.check_path(path)
    kind = detect.kind_from_name(path)
    detect.check_content_matches(path, kind)
    source = _open_source(path, kind, encoding, delimiter, sheet)
    try:
        return Sheet(path, kind.format, source, getattr(source, "sheet_name", None))
    except BaseException:
        source.close()
        raise


def _open_source(path: Path, kind: detect.FileKind, encoding: str | None,
                 delimiter: str | None, sheet: SheetChoice) -> _Source:
    if kind.base == "xlsx":
        return XlsxSource(path, sheet)
    if kind.base == "xls":
        return CalamineSource(path, "Excel (.xls)", sheet)
    if kind.base == "ods":
        return CalamineSource(path, "OpenDocument (.ods)", sheet)
    if sheet is not None and str(sheet).strip():
        raise InputFileError(Msg.SHEET_OPTION_FOR_TEXT.format(path=path))
    if kind.base == "ndjson":
        return JsonLinesSource(path, kind)
    return TextSource(path, kind, encoding, delimiter)


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
