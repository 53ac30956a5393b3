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
from importer.readers import detect, limits
from importer.readers.encoding import check_not_binary, detect_with_scan, open_binary, read_text_sample
from importer.readers.messages import Msg, delimiter_name, undecodable
from importer.readers.plausible import encoding_label
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
        self.encoding, _ = detect_with_scan(path, kind, encoding)
        self.notes = [Msg.READ_AS.format(name=path.name, encoding=self.encoding,
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

    def _lines(self) -> Iterator[str]:
        """The file's lines, none longer than the limit; remembers whether the last one ended."""
        limit = limits.MAX_LINE_BYTES
        while True:
            line = self._file.readline(limit + 1)
            if not line:
                return
            if len(line) > limit:
                limits.check_line_length(self.path, len(line), self._line_count + 1)
            self._line_count += 1
            self._ended = line.endswith(("\n", "\r"))
            yield line

    def records(self) -> Iterator[Record]:
        """The records, the last one marked (and whether the file ends without a line break after it)."""
        pending: Record | None = None
        for record in self._raw_records():
            if pending is not None:
                yield pending
            pending = record
        if pending is not None:
            yield pending._replace(last=True, unterminated=not self._ended)

    def _raw_records(self) -> Iterator[Record]:
        self._line_count = 0
        self._ended = True
        if self._excel_sep_line:
            self._file.readline()
        reader = csv.reader(itertools.chain(self._lines(), [END_MARKER + "\n"]),
                            delimiter=self.delimiter, quotechar='"', doublequote=True,
                            skipinitialspace=False, strict=False)
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise self._csv_error(number + 1, exc) from exc
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise InputFileError(Msg.DAMAGED_GZIP.format(path=self.path)) from exc
            except UnicodeDecodeError as exc:   # the file changed since it was checked
                raise InputFileError(undecodable(self.path, self.encoding, number + 1, exc.object[exc.start],
                                                 forced=False)) from exc
            number += 1
            if cells == [END_MARKER]:
                return
            if cells and END_MARKER in cells[-1]:
                yield self._unclosed_quote(number, cells)
                return
            yield Record(number, cells)

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
