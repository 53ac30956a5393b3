"""CSV / TSV / TXT, plain or gzip, streamed record by record with the csv module.

The csv module rather than pandas: it hands over one record at a time (memory
flat), numbers records the way Excel shows rows (a quoted line break stays in
its row), keeps every cell as the exact text, and measured faster than
pandas chunks once rows have to become dicts (see the reader's report).
"""
from __future__ import annotations

import csv
import gzip
import io
import itertools
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from importer.errors import InputFileError
from importer.models import Reason
from importer.readers import detect
from importer.readers.encoding import check_not_binary, detect_with_scan, open_binary, read_text_sample
from importer.readers.messages import Msg, delimiter_name, undecodable
from importer.readers.plausible import encoding_label
from importer.readers.stdin import shown_name
from importer.readers.table import Record

# Appended after the last line: if the csv module is still inside a quoted
# cell at the end of the file it swallows this marker, which is how an
# unclosed quote is noticed (the csv module accepts it silently otherwise).
END_MARKER = "\ue000copernica-import-end-of-file\ue000"


class TextSource:
    """An open text file: its encoding, delimiter and records."""

    def __init__(self, path: Path, kind: detect.FileKind, encoding: str | None,
                 delimiter: str | None) -> None:
        self.path = path
        self.kind = kind
        self.encoding, scan = detect_with_scan(path, kind, encoding)
        self._ends_with_line_break = scan.ends_with_line_break if scan is not None else _ends_with_line_break(path, kind)
        self.notes = [Msg.READ_AS.format(name=shown_name(path), encoding=self.encoding,
                                         label=encoding_label(self.encoding))]
        sample = read_text_sample(path, kind, self.encoding)
        check_not_binary(path, sample)
        # Excel writes and reads a first line "sep=;" naming the delimiter;
        # Excel does not show it as a row, so neither do we.
        self._excel_sep_line = detect.excel_sep_line(sample)
        self.delimiter = (detect.parse_delimiter(delimiter) if delimiter
                          else self._excel_sep_line or detect.detect_delimiter(sample, kind))
        self._file: TextIO = io.TextIOWrapper(open_binary(path, kind),
                                              encoding=self.encoding, newline="")

    def records(self) -> Iterator[Record]:
        """The records; the last one is marked (and whether the file ends without
        a line break after it), so each is handed out when the next one is read."""
        if self._excel_sep_line:
            self._file.readline()
        # the lines were checked for length while the encoding was checked
        reader = csv.reader(itertools.chain(self._file, [END_MARKER + "\n"]),
                            delimiter=self.delimiter, quotechar='"', doublequote=True,
                            skipinitialspace=False, strict=False)
        number = 0
        pending: list[str] | None = None
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                cells = [END_MARKER]
            except csv.Error as exc:
                raise self._csv_error(number + 1, exc) from exc
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise InputFileError(Msg.DAMAGED_GZIP.format(path=self.path)) from exc
            except UnicodeDecodeError as exc:   # the file changed since it was checked
                raise InputFileError(undecodable(self.path, self.encoding, number + 1, exc.object[exc.start],
                                                 forced=False)) from exc
            number += 1
            if cells == [END_MARKER]:
                if pending is not None:
                    yield Record(number - 1, pending, None, True, not self._ends_with_line_break)
                return
            if pending is not None:
                yield Record(number - 1, pending)
            if cells and END_MARKER in cells[-1]:
                yield self._unclosed_quote(number, cells)
                return
            pending = cells

    @staticmethod
    def _unclosed_quote(number: int, cells: list[str]) -> Record:
        """Keep the row (without the marker), marked invalid: the lines it
        swallowed are then reported, not lost unseen."""
        last = cells[-1]
        cells[-1] = last[: last.rfind(END_MARKER)]
        return Record(number, cells, Reason("unclosed_quote", Msg.UNCLOSED_QUOTE, {"row": number}))

    def _csv_error(self, number: int, exc: csv.Error) -> InputFileError:
        if "field larger than field limit" in str(exc):
            return InputFileError(Msg.CELL_TOO_LONG.format(path=self.path, row=number))
        return InputFileError(Msg.MALFORMED_TEXT.format(path=self.path, row=number, detail=str(exc)))

    def extra_cells_problem(self, number: int, extra: list[str], width: int) -> Reason:
        used = width + len(extra)
        while used > width and not extra[used - width - 1].strip():
            used -= 1
        return Reason("extra_cells", Msg.EXTRA_CELLS_IN_TEXT,
                      {"row": number, "cell_count": used, "header_count": width,
                       "delimiter": delimiter_name(self.delimiter)})

    def close(self) -> None:
        self._file.close()


def _ends_with_line_break(path: Path, kind: detect.FileKind) -> bool:
    """Whether the (decompressed) file's last byte is a line break (for a file
    whose encoding was given or named by a BOM, so not scanned)."""
    last = b""
    with open_binary(path, kind) as stream:
        if not kind.gzip:
            size = path.stat().st_size
            stream.seek(max(0, size - 4))
            return stream.read().rstrip(b"\x00").endswith((b"\n", b"\r"))
        while chunk := stream.read(1024 * 1024):
            last = chunk
    return last.rstrip(b"\x00").endswith((b"\n", b"\r"))
