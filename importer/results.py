"""The results file: one line per input row, pairing it with its outcome.

Columns: ``row, status, profile_id, error, code, attempts``, the key, then
the row's source columns, so a user can filter on ``status`` (or on the
machine-readable reason ``code``) in Excel, fix the failed lines and import
them again with the same mapping. Two forms:

- CSV (``ResultsWriter``): UTF-8 with a byte-order mark, so Excel reads the
  accents; the delimiter is a setting (``--results-delimiter ';'`` or the
  mapping's ``results_delimiter``), because Dutch, German and French Excel
  open a comma-separated file as one column. Written as the run goes.
- XLSX (``XlsxResultsWriter``, chosen by a results path ending in ``.xlsx``,
  or ``workbook_from_csv`` for a CSV written already):
  the header frozen and filtered, the status cells coloured, every source
  cell a text cell (``00123`` stays ``00123``, ``=1+1`` is no formula).
  openpyxl's write-only mode streams the rows to disk, so memory stays flat
  however many rows; the workbook appears when the run ends (the journal
  holds every outcome meanwhile, and ``--resume`` writes the file again).

Either form can be imported again like the input: its source columns come
back with their own names (``source_columns``, ``source_values``). A results
file that was itself a results file keeps the first run's row numbers in
``original_row``, so the two files line up. Cells a row holds past the
header's last column are kept at the end of its line. A ``check --report``
adds, per mapped field and interest, the value that would be sent
(``→ country``: ``NL`` beside the source's ``Netherlands``). A collection
import (subprofiles) has two more columns after ``profile_id``:
``subprofile_id`` and ``profile_status`` (what the row did to its profile:
``created``, ``updated`` or ``found``).
"""
from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from importer.errors import InputFileError, OutputError
from importer.models import Outcome, Status


class Msg:
    NOT_RESULTS = "{path} is not a copernica-import results file (its first columns should be {columns})"
    INTEREST_SENT = "{name} (interest)"


RESULT_COLUMNS = ("row", "status", "profile_id", "error", "code", "attempts", "key")
COLLECTION_RESULT_COLUMNS = ("row", "status", "profile_id", "subprofile_id", "profile_status", "error", "code",
                             "attempts", "key")
# a results file imported again: the row number in the file the first run read
ORIGINAL_ROW = "original_row"
_REIMPORT_COLUMNS = (*RESULT_COLUMNS, ORIGINAL_ROW)
_COLLECTION_REIMPORT_COLUMNS = (*COLLECTION_RESULT_COLUMNS, ORIGINAL_ROW)
# results files written before the `code` column existed can still be imported again
_EARLIER_COLUMNS = ("row", "status", "profile_id", "error", "attempts", "key")
# a check report's columns with the value each mapped field would get
SENT_PREFIX = "\u2192 "
# where the runner keeps, among a row's cells, what is not a named source cell
ORIGINAL_ROW_KEY = "\x00original_row"
EXTRA_CELL_KEY = "\x00extra:"
DEFAULT_DELIMITER = ","

# A spreadsheet program runs a cell starting with one of these as a formula
# (CSV injection); a leading apostrophe makes it plain text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISER = "'"


def neutralise(value: str) -> str:
    """``=cmd|...`` -> ``'=cmd|...``: shown as text, never executed.

    A value that itself starts with the apostrophe gets one more, so that
    ``unneutralise`` gives back exactly what the source cell held
    (``'+31 6`` -> ``''+31 6`` -> ``'+31 6``)."""
    if value and value.startswith((*_FORMULA_STARTS, NEUTRALISER)):
        return NEUTRALISER + value
    return value


def unneutralise(value: str) -> str:
    """Undo ``neutralise`` when a results CSV is imported again (exactly one apostrophe)."""
    if value.startswith(NEUTRALISER) and value[1:].startswith((*_FORMULA_STARTS, NEUTRALISER)):
        return value[1:]
    return value


# The file kinds whose cells ``neutralise`` guarded: only a results CSV (a workbook's text cell is
# never a formula, so ``XlsxResultsWriter`` writes '=x as it is, and reading it back keeps it).
_GUARDED_FORMATS = frozenset({"csv", "tsv", "txt"})


def guarded(file_format: str) -> bool:
    """True when the cells of a results file of this format ('csv', 'xlsx', 'csv.gz', ...) were
    neutralised, so that reading it back must ``unneutralise`` them."""
    return file_format.removesuffix(".gz") in _GUARDED_FORMATS


def _our_columns(headers: Iterable[str]) -> tuple[str, ...] | None:
    headers = tuple(headers)
    for ours in (_COLLECTION_REIMPORT_COLUMNS, COLLECTION_RESULT_COLUMNS, _REIMPORT_COLUMNS, RESULT_COLUMNS,
                 _EARLIER_COLUMNS):
        if headers[: len(ours)] == ours:
            return ours
    return None


def is_results_header(headers: Iterable[str]) -> bool:
    """True for a results file of ours (so its cells get unneutralised)."""
    return _our_columns(headers) is not None


# A source column named like one of ours ("Status" in a CRM export) is labelled
# "Status (source)" in the results, so the file can be read back without two
# columns of one name; reading it back restores the name.
SOURCE_SUFFIX = " (source)"
_OURS = {c.casefold() for c in _COLLECTION_REIMPORT_COLUMNS}


def source_label(column: str) -> str:
    return column + SOURCE_SUFFIX if column.casefold() in _OURS else column


def source_columns(headers: list[str]) -> list[str]:
    """The input's own columns: for a results file fed back in, without our
    columns in front (and a check report's sent values behind) and with their original names."""
    ours = _our_columns(headers)
    if ours is None:
        return list(headers)
    return [_original_name(h) for h in headers[len(ours):] if not h.startswith(SENT_PREFIX)]


def _original_name(label: str) -> str:
    if label.endswith(SOURCE_SUFFIX) and label[: -len(SOURCE_SUFFIX)].casefold() in _OURS:
        return label[: -len(SOURCE_SUFFIX)]
    return label


def source_values(values: dict[str, str], *, neutralised: bool) -> tuple[dict[str, str], dict[str, str]]:
    """A results-file row as (its source cells by original name; our columns: row,
    status, profile_id, ...). ``neutralised``: the file is a CSV, whose cells
    ``neutralise`` guarded, so they are unneutralised (``guarded`` says which
    files); a workbook's cells are kept as they are. The source cells also carry
    the row's first row number (``ORIGINAL_ROW_KEY``) for the next results file."""
    columns = _our_columns(values) or RESULT_COLUMNS  # a file from before the `code` column has none
    ours = {c: values.get(c, "") if c in columns else "" for c in _COLLECTION_REIMPORT_COLUMNS}
    cells = {_original_name(k): unneutralise(v) if neutralised else v for k, v in values.items()
             if k not in columns and not k.startswith(SENT_PREFIX)}
    cells[ORIGINAL_ROW_KEY] = ours[ORIGINAL_ROW] or ours["row"]
    return cells, ours


def with_extra_cells(values: dict[str, str], extra: Iterable[str]) -> dict[str, str]:
    """The row's cells plus the ones past the header's last column, kept for its results line."""
    return {**values, **{f"{EXTRA_CELL_KEY}{i}": cell for i, cell in enumerate(extra)}}


def _extra_cells(values: dict[str, str]) -> list[str]:
    return [v for k, v in values.items() if k.startswith(EXTRA_CELL_KEY)]


def our_columns(*, collection: bool = False, original_rows: bool = False) -> tuple[str, ...]:
    if collection:
        return _COLLECTION_REIMPORT_COLUMNS if original_rows else COLLECTION_RESULT_COLUMNS
    return _REIMPORT_COLUMNS if original_rows else RESULT_COLUMNS


def results_header(source: list[str], *, original_rows: bool = False, sent: list[str] | None = None,
                   collection: bool = False) -> list[str]:
    ours = our_columns(collection=collection, original_rows=original_rows)
    return [*ours, *(source_label(c) for c in source), *(SENT_PREFIX + s for s in sent or [])]


def sent_labels(fields: list[str], interests: list[str]) -> list[str]:
    """The names of a check report's sent-value columns (without the arrow): fields, then interests."""
    return [*fields, *(Msg.INTEREST_SENT.format(name=name) for name in interests)]


def sent_cells(fields: list[str], interests: list[str], profile_fields: dict[str, str],
               profile_interests: dict[str, int]) -> list[str]:
    """What a profile would send, in the order of ``sent_labels`` ("" for what it leaves out)."""
    return [*(profile_fields.get(f, "") for f in fields),
            *("" if (v := profile_interests.get(i)) is None else str(v) for i in interests)]


class ResultsWriter:
    """Writes CSV result lines as they come, flushed, so a crash keeps what is done.

    A crash (even kill -9) can at most cut the last line; the journal, not
    this file, is the source of truth, and a resumed run rewrites it whole.
    """

    def __init__(self, path: str | Path, columns: list[str], *, delimiter: str = DEFAULT_DELIMITER,
                 original_rows: bool = False, sent: list[str] | None = None, collection: bool = False) -> None:
        """``columns``: the input's own columns (see ``source_columns``); ``original_rows``: the
        input is a results file (its row numbers go in ``original_row``); ``sent``: a check
        report's sent-value columns (see ``sent_labels``); ``collection``: a collection
        import's file, with ``subprofile_id`` and ``profile_status``."""
        self.path = Path(path)
        self.source_columns = list(columns)
        self.original_rows = original_rows
        self.sent = list(sent or [])
        self.collection = collection
        self.lines = 0
        with self._writing():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w", encoding="utf-8-sig", newline="")
            self._csv = csv.writer(self._file, delimiter=delimiter)
            self._csv.writerow(results_header(self.source_columns, original_rows=original_rows, sent=self.sent,
                                              collection=collection))
            self._file.flush()

    def write(self, outcome: Outcome, values: dict[str, str] | None, sent: list[str] | None = None) -> None:
        with self._writing():
            self._csv.writerow([neutralise(v) if isinstance(v, str) else str(v)
                                for v in self._cells(outcome, values or {}, sent)])
        self.lines += 1

    def _cells(self, o: Outcome, values: dict[str, str], sent: list[str] | None) -> list[str | int]:
        line: list[str | int] = [o.row, o.status.value, "" if o.profile_id is None else o.profile_id]
        if self.collection:
            line += ["" if o.subprofile_id is None else o.subprofile_id, o.profile_status]
        line += [o.error, o.code, o.attempts, o.key]
        if self.original_rows:
            original = values.get(ORIGINAL_ROW_KEY, "")
            line.append(int(original) if original.isdigit() else original)
        line += [values.get(c, "") for c in self.source_columns]
        if self.sent:
            line += (sent or [""] * len(self.sent))
        return line + _extra_cells(values)

    def flush(self) -> None:
        with self._writing():
            self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            with self._writing():
                self._file.flush()
                os.fsync(self._file.fileno())
        finally:
            try:
                self._file.close()
            except OSError:
                pass  # a full disk: the flush above said so already

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A failed write (a full disk, a file size limit) becomes an OutputError naming the file."""
        try:
            yield
        except OSError as exc:
            raise OutputError(self.path, exc.strerror or str(exc)) from None

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the workbook -------------------------------------------------------------------

# status fills: light, so the black text stays readable; the same hues as the HTML report
STATUS_FILLS = {Status.CREATED: "C8E6C9", Status.UPDATED: "BBDEFB", Status.SKIPPED: "E0E0E0",
                Status.INVALID: "FFE0B2", Status.FAILED: "FFCDD2", Status.UNKNOWN: "E1BEE7", Status.VALID: "C8E6C9"}
SHEET_TITLE = "Results"
_NUMBER_COLUMNS = 3          # row, status, profile_id: the widths of our first columns
REPLACEMENT = "\ufffd"       # for the control characters an XLSX cell cannot hold


class XlsxResultsWriter(ResultsWriter):
    """The results as an Excel workbook, streamed (openpyxl write-only mode: flat memory).

    Numbers of ours (row, profile_id, attempts, original_row) are number cells;
    everything from the file is a text cell, so Excel shows it exactly and
    never runs it as a formula. Written to ``<path>.partial`` and renamed when
    closed, so a half-written workbook never stands under the results name.
    """

    def __init__(self, path: str | Path, columns: list[str], *, delimiter: str = DEFAULT_DELIMITER,
                 original_rows: bool = False, sent: list[str] | None = None, collection: bool = False) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Font, PatternFill
        from openpyxl.utils import get_column_letter

        self.path = Path(path)
        self.source_columns = list(columns)
        self.original_rows = original_rows
        self.sent = list(sent or [])
        self.collection = collection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._partial = self.path.with_name(self.path.name + ".partial")
        self._cell, self._illegal = WriteOnlyCell, ILLEGAL_CHARACTERS_RE
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(SHEET_TITLE)
        self._fills = {s: PatternFill("solid", start_color=c, end_color=c) for s, c in STATUS_FILLS.items()}
        self._ours = len(our_columns(collection=collection, original_rows=original_rows))
        header = results_header(self.source_columns, original_rows=original_rows, sent=self.sent,
                                collection=collection)
        self._width = len(header)
        self._letter = get_column_letter
        sheet = self._sheet
        sheet.freeze_panes = "A2"
        for index, name in enumerate(header, start=1):
            width = 9 if index <= _NUMBER_COLUMNS else (40 if name == "error" else min(max(len(name) + 4, 12), 40))
            column = sheet.column_dimensions[get_column_letter(index)]
            column.width = width
            if index > self._ours:
                column.number_format = "@"    # the source columns are text columns: what is typed stays text
        bold = Font(bold=True)
        cells = []
        for name in header:
            cell = WriteOnlyCell(sheet, value=self._text(name))
            cell.data_type = "s"
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)
        self.lines = 0
        self._closed = False

    def _text(self, value: str) -> str:
        return self._illegal.sub(REPLACEMENT, value) if self._illegal.search(value) else value

    def write(self, outcome: Outcome, values: dict[str, str] | None, sent: list[str] | None = None) -> None:
        self.write_line(self._cells(outcome, values or {}, sent), outcome.status)

    def write_line(self, line: list[str | int], status: Status | None) -> None:
        """One line as ``_cells`` makes it (our numbers as ints), its status cell coloured."""
        row: list[object] = []
        for value in line:
            if isinstance(value, int) or not value.startswith("="):
                # a plain str is a text cell already ('00123' stays text); only '=' would make a formula
                row.append(value if isinstance(value, int) or not self._illegal.search(value)
                           else self._illegal.sub(REPLACEMENT, value))
                continue
            cell = self._cell(self._sheet, value=self._text(value))
            cell.data_type = "s"          # text, never a formula
            row.append(cell)
        status_cell = self._cell(self._sheet, value=line[1])
        if status is not None:
            status_cell.fill = self._fills[status]
        row[1] = status_cell
        self._sheet.append(row)
        self.lines += 1
        self._width = max(self._width, len(line))

    def flush(self) -> None:
        """Nothing to flush: the workbook is written whole when closed (the journal keeps every outcome)."""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._sheet.auto_filter.ref = f"A1:{self._letter(self._width)}{self.lines + 1}"
        with self._writing():
            self._book.save(self._partial)
            with open(self._partial, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(self._partial, self.path)


def open_results_writer(path: str | Path, columns: list[str], *, delimiter: str | None = None,
                        original_rows: bool = False, sent: list[str] | None = None,
                        collection: bool = False) -> ResultsWriter:
    """The writer for ``path``: a workbook for ``.xlsx``, else CSV with ``delimiter`` (default ",")."""
    kind = XlsxResultsWriter if is_workbook(path) else ResultsWriter
    return kind(path, columns, delimiter=delimiter or DEFAULT_DELIMITER, original_rows=original_rows, sent=sent,
                collection=collection)


def is_workbook(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".xlsx"


_NUMBER_CELLS = ("row", "profile_id", "subprofile_id", "attempts", ORIGINAL_ROW)
_STATUSES = {s.value: s for s in Status}


def workbook_from_csv(source: str | Path, target: str | Path) -> Path:
    """A results CSV (or check report) written already, as the workbook ``--results out.xlsx`` writes.

    The same lines and cells, by ``XlsxResultsWriter``: the CSV's neutralised
    cells are text again (a text cell is never a formula), our numbers are
    numbers. A cut last line is left out, as ``read_results`` leaves it out."""
    _, delimiter = csv_layout(source)
    with open(source, encoding="utf-8-sig", newline="") as f:
        lines = csv.reader(f, delimiter=delimiter)
        header = next(lines, [])
        ours = _our_columns(header) or ()
        layout = {"original_rows": ORIGINAL_ROW in ours, "collection": "subprofile_id" in ours,
                  "sent": [h[len(SENT_PREFIX):] for h in header if h.startswith(SENT_PREFIX)]}
        if not ours or results_header(source_columns(header), **layout) != header:
            raise InputFileError(Msg.NOT_RESULTS.format(path=source, columns=", ".join(RESULT_COLUMNS)))
        numbers = {i for i, name in enumerate(ours) if name in _NUMBER_CELLS}
        with XlsxResultsWriter(target, source_columns(header), **layout) as writer:
            for line in lines:
                if len(line) < len(ours) or not line[0].isdigit():
                    continue
                writer.write_line([int(v) if i in numbers and v.isdigit() else unneutralise(v)
                                   for i, v in enumerate(line)], _STATUSES.get(line[1]))
    return Path(target)


# -- reading a results file back (rollback) ------------------------------------------

def csv_layout(path: str | Path) -> tuple[bool, str]:
    """(starts with a UTF-8 byte-order mark, delimiter) of a results CSV, from its first line."""
    with open(path, "rb") as f:
        start = f.read(64)
    bom = start.startswith(b"\xef\xbb\xbf")
    head = start[3:] if bom else start
    delimiter = chr(head[3]) if head[:3] == b"row" and len(head) > 3 and chr(head[3]) in ",;\t|" else ","
    return bom, delimiter


def read_results(path: str | Path) -> Iterator[dict[str, str]]:
    """The lines of a results file (CSV or XLSX) as dicts; a cut last line is ignored."""
    if is_workbook(path):
        yield from _read_workbook_results(Path(path))
        return
    _, delimiter = csv_layout(path)
    with open(path, encoding="utf-8-sig", newline="") as f:
        text = f.read()
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if reader.fieldnames is None or not is_results_header(reader.fieldnames):
        raise InputFileError(Msg.NOT_RESULTS.format(path=path, columns=", ".join(RESULT_COLUMNS)))
    for line in reader:
        if line.get("row", "").isdigit() and line.get("attempts") is not None:
            yield line


def _read_workbook_results(path: Path) -> Iterator[dict[str, str]]:
    from importer.reader import open_sheet

    with open_sheet(path) as sheet:
        if not is_results_header(sheet.headers):
            raise InputFileError(Msg.NOT_RESULTS.format(path=path, columns=", ".join(RESULT_COLUMNS)))
        for row in sheet:
            if row.values.get("row", "").isdigit():
                yield row.values
