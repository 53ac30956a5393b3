"""Step 2 of the page: the file. Received into the private folder, read as the CLI reads it, previewed.

What the reader found (format, encoding, delimiter, sheet, header row) is
shown with the first rows; the person may choose the encoding, delimiter,
sheet or header row instead, and the file is read again (with a new draft
when its columns changed). A chosen header row goes into the mapping as
``header_row`` (``importer.ui.table``): the page's check and import read the file
with it, and so does the CLI with the saved mapping.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from importer.errors import CopernicaImportError, HeaderRowMissing, UsageError
from importer.ui.state import State

PREVIEW_ROWS = 10       # rows shown under the detection
SAMPLE_ROWS = 200       # rows the draft looks at (as `init`)
SAMPLE_VALUES = 4       # example values shown per column


class Msg:
    """What the file step says."""
    HEADER_ROW_NOT_A_NUMBER = ("The header row is the number of a row (1, 2, 3, ...); {value!r} is not one. "
                               "Leave it empty to let the page find the header row.")
    HEADER_ROW_TOO_SMALL = ("The header row is the number of a row, counted from 1; {value} is not one. "
                            "Leave it empty to let the page find the header row.")
    HEADER_ROW_MISSING = "Row {row} cannot be the header row: {why}."
    HEADER_ROW_KEPT = "{error} The header row stays row {row}, as before."


@dataclass
class Detection:
    """What the reader found in the uploaded file, and the preview."""
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sheets: list[str]
    header_row: int
    headers: list[str]
    preview: list[tuple[int, list[str]]]
    samples: dict[str, list[str]]
    error: str | None = None


@dataclass
class Upload:
    path: Path
    name: str                           # as the user's computer named it
    encoding: str | None = None         # the user's choices (None: detected)
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    detection: Detection | None = None


class FileSteps(State):
    """Receiving the file, the reading choices, the detection."""

    def receive_file(self, name: str, save) -> None:
        """``save(path)`` writes the upload; the file gets a fresh private name with its suffix kept."""
        self.require_idle()
        from werkzeug.utils import secure_filename

        safe = secure_filename(name) or "upload"
        folder = self.folder / "uploads" / secrets.token_hex(4)
        folder.mkdir(mode=0o700)
        path = folder / safe
        save(path)
        self.upload = Upload(path, name)
        self.detect()
        if self.upload.detection is not None and not self.upload.detection.error:
            self.draft()

    def set_reading(self, encoding: str | None, delimiter: str | None, sheet: str | None,
                    header_row: str = "") -> None:
        """The person's choices (empty: detected); ``header_row`` as typed (UsageError: not a row number)."""
        self.require_idle()
        upload = self.require_upload()
        row = header_row_choice(header_row)
        upload.encoding, upload.delimiter, upload.sheet = encoding or None, delimiter or None, sheet or None
        self.read_with_header_row(row)
        if upload.detection is not None and not upload.detection.error and self.table is not None:
            headers = upload.detection.headers
            if any(line.column not in headers for line in self.table.lines if not line.missing) or \
                    not self.table.lines:
                self.draft()   # other columns now: a new draft
        if self.table is not None:
            self.table.header_row = upload.header_row
        self.live, self.check = None, None

    def read_with_header_row(self, row: int | None) -> None:
        """Reads the file (again) with ``row`` as its header row (None: found). A row that cannot be the
        header row is said, and the header row stays as it was (unless the file fails either way)."""
        upload = self.require_upload()
        previous, upload.header_row = upload.header_row, row
        self.detect()
        failed = upload.detection
        if row is None or row == previous or failed is None or not failed.error:
            return
        upload.header_row = previous
        self.detect()
        if upload.detection is None or upload.detection.error:   # not the header row's fault: say the first
            upload.header_row, upload.detection = row, failed
            return
        self.say(Msg.HEADER_ROW_KEPT.format(error=failed.error, row=upload.detection.header_row))

    def detect(self) -> None:
        from importer.reader import open_sheet

        upload = self.require_upload()
        sheets = _sheet_names(upload.path)
        try:
            with open_sheet(upload.path, encoding=upload.encoding, delimiter=upload.delimiter,
                            sheet=upload.sheet, header_row=upload.header_row) as sheet:
                rows = []
                for row in sheet:
                    rows.append(row)
                    if len(rows) >= SAMPLE_ROWS:
                        break
                upload.detection = Detection(
                    format=sheet.format, encoding=sheet.encoding, delimiter=sheet.delimiter, sheet=sheet.sheet_name,
                    sheets=sheets, header_row=sheet.header_row, headers=list(sheet.headers),
                    preview=[(r.number, [r.values.get(h, "") for h in sheet.headers]) for r in rows[:PREVIEW_ROWS]],
                    samples={h: _samples(h, rows) for h in sheet.headers})
                self.sample_rows = rows
        except CopernicaImportError as exc:
            # said with the name the person knows the file by, not the private folder's path
            error = Msg.HEADER_ROW_MISSING.format(row=exc.row, why=exc.why) if isinstance(exc, HeaderRowMissing) \
                else str(exc).replace(str(upload.path), upload.name)
            upload.detection = Detection(format="", encoding=upload.encoding, delimiter=upload.delimiter,
                                         sheet=upload.sheet, sheets=sheets, header_row=0, headers=[], preview=[],
                                         samples={}, error=error)


def header_row_choice(text: str) -> int | None:
    """The header row the person typed (None: empty, let the reader find it); UsageError for what is
    not a row number."""
    text = (text or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise UsageError(Msg.HEADER_ROW_NOT_A_NUMBER.format(value=text))
    row = int(text)
    if row < 1:
        raise UsageError(Msg.HEADER_ROW_TOO_SMALL.format(value=row))
    return row


def _samples(header: str, rows) -> list[str]:
    seen: list[str] = []
    for row in rows:
        value = row.values.get(header, "").strip()
        if value and value not in seen:
            seen.append(value)
            if len(seen) >= SAMPLE_VALUES:
                break
    return seen


def _sheet_names(path: Path) -> list[str]:
    """The visible sheets of a workbook ([] for a text file)."""
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".xls", ".ods"):
        return []
    try:
        import python_calamine

        book = python_calamine.CalamineWorkbook.from_path(str(path))
        try:
            return [m.name for m in book.sheets_metadata
                    if m.typ == python_calamine.SheetTypeEnum.WorkSheet
                    and m.visible == python_calamine.SheetVisibleEnum.Visible]
        finally:
            book.close()
    except Exception:  # noqa: BLE001 - the reader itself says what is wrong with the file
        return []
