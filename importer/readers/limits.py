"""Bounds that keep a hostile or broken file from eating the machine.

A small file can expand to gigabytes (a .gz or an .xlsx is compressed; a YAML
mapping can nest aliases). Each limit below is far above what a contact list
needs, and each is refused with one clear line, before anything is sent:

- a ``.gz`` file: at most MAX_DECOMPRESSED_BYTES of text, and no more than
  MAX_RATIO times its compressed size once past RATIO_FLOOR_BYTES;
- a line of text: at most MAX_LINE_BYTES (checked while decompressing);
- a workbook (.xlsx/.ods, which are zip files): each part at most
  MAX_PART_BYTES unpacked, no part above RATIO_FLOOR_BYTES unpacking more than
  MAX_RATIO times, at most MAX_SHARED_STRINGS shared strings, and no cell
  longer than MAX_CELL_CHARS (Excel's own limit per cell);
- a mapping file's YAML aliases (``importer.mapping.load``).

The README's "Input files" section states them.
"""
from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import BinaryIO

from importer.errors import InputFileError
from importer.readers.messages import Msg

MAX_DECOMPRESSED_BYTES = 4 * 1024 ** 3     # 4 GiB of text: tens of millions of contacts
MAX_RATIO = 100                             # CSV packs 3-10x, XML 5-30x; bombs 1000x
RATIO_FLOOR_BYTES = 64 * 1024 ** 2          # small parts may pack as tightly as they like
MAX_LINE_BYTES = 8 * 1024 ** 2              # one line of text (a row is a few hundred bytes)
MAX_PART_BYTES = 2 * 1024 ** 3              # one part of a workbook, unpacked
MAX_SHARED_STRINGS = 10_000_000             # distinct texts in an .xlsx
MAX_CELL_CHARS = 32_767                     # Excel's limit per cell
SAMPLE_LINE_BYTES = 2048                    # of a line kept to quote in a message


def mib(size: int) -> str:
    if size < 1024 ** 2:
        return f"{max(size, 1) / 1024:,.0f} kB"
    return f"{size / 1024 ** 2:,.0f} MB"


def check_line_length(path: Path, length: int, line: int) -> None:
    if length > MAX_LINE_BYTES:
        raise InputFileError(Msg.LINE_TOO_LONG.format(path=path, line=line, limit=mib(MAX_LINE_BYTES)))


def check_unpacked(path: Path, part: str, unpacked: int, packed: int, limit: int = MAX_PART_BYTES) -> None:
    """One compressed stream or workbook part: its unpacked size and ratio."""
    if unpacked > limit:
        raise InputFileError(Msg.UNPACKS_TOO_BIG.format(path=path, part=part, limit=mib(limit)))
    if unpacked > RATIO_FLOOR_BYTES and unpacked > MAX_RATIO * max(packed, 1):
        raise InputFileError(Msg.UNPACKS_TOO_MUCH.format(path=path, part=part, packed=mib(packed),
                                                         unpacked=mib(unpacked), ratio=MAX_RATIO))


class _CountingGzip(io.RawIOBase):
    """gzip decompression that stops at the size and ratio limits."""

    def __init__(self, path: Path, raw: BinaryIO) -> None:
        self._path = path
        self._raw = raw
        self._gzip = gzip.GzipFile(fileobj=raw, mode="rb")
        self._unpacked = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        count = self._gzip.readinto(buffer)
        self._unpacked += count
        if self._unpacked > RATIO_FLOOR_BYTES:
            check_unpacked(self._path, Msg.GZIP_PART, self._unpacked, self._raw.tell(), MAX_DECOMPRESSED_BYTES)
        return count

    def close(self) -> None:
        if not self.closed:
            try:
                self._gzip.close()
            finally:
                self._raw.close()
        super().close()


def BoundedGzip(path: Path, raw: BinaryIO) -> io.BufferedReader:  # noqa: N802 - reads like the class it makes
    """A buffered, decompressing reader over ``raw`` that keeps to the limits."""
    return io.BufferedReader(_CountingGzip(path, raw), buffer_size=256 * 1024)
