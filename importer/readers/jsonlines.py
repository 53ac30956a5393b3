"""NDJSON / JSON Lines (``.ndjson``, ``.jsonl``, plain or gzip): one JSON object per line.

Read line by line from the bytes (memory flat however long the file), each
line decoded and parsed on its own, so one bad line spoils only its own row:
a line that is not valid JSON, not UTF-8, not an object, or longer than
``MAX_LINE_BYTES`` becomes an invalid row (code ``bad_json``) with its line
number, and the lines after it are read as usual. A blank line is an empty
row. ``readers/objects.py`` turns the objects into rows.
"""
from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from importer.errors import InputFileError
from importer.models import Reason
from importer.readers import detect
from importer.readers.encoding import open_binary
from importer.readers.messages import Msg as ReaderMsg
from importer.readers.objects import JsonNumber, ObjectRecord

MAX_LINE_BYTES = 16 * 1024 * 1024
# numbers stay the text the file holds: 12.50 is '12.50', not 12.5 (one decoder, built once)
_DECODER = json.JSONDecoder(parse_float=JsonNumber, parse_int=JsonNumber)


class Msg:
    """What a line of an NDJSON file can be told."""
    NOT_JSON = "line {row:,} is not valid JSON ({why}, at character {column:,})"
    NOT_UTF8 = "line {row:,} is not UTF-8 text (byte 0x{byte:02X} at position {position:,})"
    NOT_AN_OBJECT = "line {row:,} holds {what}, not an object ({{\"name\": value, ...}})"
    TOO_LONG = "line {row:,} is longer than {mb} MB"
    WHAT = {list: "an array", str: "a text", int: "a number", float: "a number", bool: "true or false",
            type(None): "null"}


class JsonLinesSource:
    """An open NDJSON file: its records, one per line."""

    def __init__(self, path: Path, kind: detect.FileKind, encoding: str | None = None, *,
                 stream: BinaryIO | None = None) -> None:
        """``stream``: read these bytes instead of opening ``path`` (which then only names them)."""
        self.path = path
        self.kind = kind
        self.encoding = encoding or "utf-8"
        self.delimiter = None
        self._file: BinaryIO = stream if stream is not None else open_binary(path, kind)

    def records(self) -> Iterator[ObjectRecord]:
        number = 0
        while True:
            try:
                line = self._file.readline(MAX_LINE_BYTES + 1)
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise InputFileError(ReaderMsg.DAMAGED_GZIP.format(path=self.path)) from exc
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                self._skip_rest_of_line()
                yield ObjectRecord(number, None, Reason("bad_json", Msg.TOO_LONG,
                                                        {"row": number, "mb": MAX_LINE_BYTES // (1024 * 1024)}))
                continue
            yield self._record(number, line[3:] if number == 1 and line.startswith(b"\xef\xbb\xbf") else line)

    def _record(self, number: int, line: bytes) -> ObjectRecord:
        try:
            text = line.decode(self.encoding).rstrip("\r\n")
        except UnicodeDecodeError as exc:
            return ObjectRecord(number, None, Reason("bad_json", Msg.NOT_UTF8, {
                "row": number, "byte": exc.object[exc.start], "position": exc.start + 1}))
        if not text.strip():
            return ObjectRecord(number, None)
        try:
            value, end = _DECODER.raw_decode(text, len(text) - len(text.lstrip()))
            if text[end:].strip():
                raise json.JSONDecodeError("Extra data", text, end)
        except ValueError as exc:
            why = getattr(exc, "msg", str(exc))
            return ObjectRecord(number, None, Reason("bad_json", Msg.NOT_JSON, {
                "row": number, "why": why, "column": getattr(exc, "colno", 0)}))
        if not isinstance(value, dict):
            return ObjectRecord(number, None, Reason("bad_json", Msg.NOT_AN_OBJECT, {
                "row": number, "what": Msg.WHAT.get(type(value), type(value).__name__)}))
        return ObjectRecord(number, value)

    def _skip_rest_of_line(self) -> None:
        while True:
            chunk = self._file.readline(MAX_LINE_BYTES)
            if not chunk or chunk.endswith(b"\n"):
                return

    def close(self) -> None:
        self._file.close()
