"""Step 2 of the page: the file. Received into the private folder, read as the CLI reads it, previewed.

What the reader found (format, encoding, delimiter, sheet, header row) is
shown with the first rows; the person may choose the encoding, delimiter or
sheet instead, and the file is read again (with a new draft when its columns
changed).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from importer.errors import CopernicaImportError
from importer.ui.state import State

PREVIEW_ROWS = 10       # rows shown under the detection
SAMPLE_ROWS = 200       # rows the draft looks at (as `init`)
SAMPLE_VALUES = 4       # example values shown per column


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

    def set_reading(self, encoding: str | None, delimiter: str | None, sheet: str | None) -> None:
        self.require_idle()
        upload = self.require_upload()
        upload.encoding, upload.delimiter, upload.sheet = encoding or None, delimiter or None, sheet or None
        self.detect()
        if upload.detection is not None and not upload.detection.error and self.table is not None:
            headers = upload.detection.headers
            if any(line.column not in headers for line in self.table.lines if not line.missing) or \
                    not self.table.lines:
                self.draft()   # other columns now: a new draft
        self.live, self.check = None, None

    def detect(self) -> None:
        from importer.reader import open_sheet

        upload = self.require_upload()
        sheets = _sheet_names(upload.path)
        try:
            with open_sheet(upload.path, encoding=upload.encoding, delimiter=upload.delimiter,
                            sheet=upload.sheet) as sheet:
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
            upload.detection = Detection(format="", encoding=upload.encoding, delimiter=upload.delimiter,
                                         sheet=upload.sheet, sheets=sheets, header_row=0, headers=[], preview=[],
                                         samples={}, error=str(exc))


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
