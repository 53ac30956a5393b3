"""JSON documents (``.json``, plain or gzip): an array of objects, parsed as a stream.

The file is never loaded whole: one object at a time is decoded (by
``json``, numbers kept as the exact text the file holds: ``1e2`` stays
``1e2``, ``-0`` stays ``-0``), so memory stays flat for a file of millions of
objects. ijson only finds where the array is. The array may be the
document itself (``[{...}, {...}]``) or the one array-valued member of a
top-level object (``{"data": [...], "count": 2}``, as API exports often
are). An item that is not an object is an invalid row (code ``bad_json``);
a document that breaks off or is not valid JSON stops the reading where it
breaks (before anything was sent: exit 2; later: the run stops resumably,
like a damaged CSV). Rows are numbered by position: 1 is the first object.
"""
from __future__ import annotations

import codecs
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from importer.errors import InputFileError
from importer.models import Reason
from importer.readers import detect
from importer.readers.encoding import open_binary
from importer.readers.messages import Msg as ReaderMsg
from importer.readers.objects import JsonNumber, ObjectRecord


class Msg:
    """What reading a JSON document can say."""
    NOT_JSON = ("{path} is not valid JSON after object {count:,} ({why}). Fix the file (or export it again) "
                "and try again.")
    NO_ARRAY = ("{path} holds no array of objects: a .json file must be [{{...}}, {{...}}], or an object with "
                "one array of objects in it (such as {{\"data\": [...]}})")
    NOT_AN_OBJECT = "object {row:,} of the array is {what}, not an object ({{\"name\": value, ...}})"
    WHAT = {list: "an array", str: "a text", int: "a number", bool: "true or false", type(None): "null"}
    ENDS_EARLY = "it ends early"
    NOT_UTF8 = "it is not UTF-8 text"
    EXTRA_DATA = "more follows after the array"
    EXPECTED = "expecting {chars}"


class JsonArraySource:
    """An open JSON document: the objects of its array, one at a time."""

    def __init__(self, path: Path, kind: detect.FileKind, encoding: str | None = None) -> None:
        self.path = path
        self.kind = kind
        self.encoding = "utf-8"
        self.delimiter = None
        self._prefix = self._array_prefix()
        self._file: BinaryIO = self._open()

    def _open(self) -> BinaryIO:
        # buffered, so the start can be looked at without seeking (a .gz stream cannot seek back)
        stream = io.BufferedReader(open_binary(self.path, self.kind))  # type: ignore[arg-type]
        if stream.peek(3)[:3] == b"\xef\xbb\xbf":  # a BOM, as Windows tools write
            stream.read(3)
        return stream

    def _array_prefix(self) -> str:
        """Where the objects are: 'item' (the document is the array) or 'NAME.item'."""
        with self._open() as stream:
            try:
                events = ijson.parse(stream)
                _, event, _ = next(events)
                if event == "start_array":
                    return "item"
                if event == "start_map":
                    for prefix, event, _value in events:
                        if event == "start_array" and "." not in prefix and prefix:
                            return f"{prefix}.item"
            except (ijson.JSONError, StopIteration, gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise self._error(0, exc) from None
        raise InputFileError(Msg.NO_ARRAY.format(path=self.path))

    def records(self) -> Iterator[ObjectRecord]:
        text = _Text(self._file)
        number = 0
        try:
            self._enter_array(text)
            if text.next_char() == "]":
                text.pos += 1
            else:
                while True:
                    item: Any = text.value()
                    number += 1
                    if isinstance(item, dict):
                        yield ObjectRecord(number, item)
                    else:
                        yield ObjectRecord(number, None, Reason("bad_json", Msg.NOT_AN_OBJECT, {
                            "row": number, "what": Msg.WHAT.get(type(item), "a number")}))
                    if text.expect(",]") == "]":
                        break
            self._leave_array(text)
        except (ValueError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise self._error(number, exc) from None

    def _enter_array(self, text: "_Text") -> None:
        """Up to the first item: past '[', or past the member's name and its '['."""
        if self._prefix == "item":
            text.expect("[")
            return
        member = self._prefix[:-len(".item")]
        text.expect("{")
        while True:
            key = text.value()
            text.expect(":")
            if key == member and text.next_char() == "[":
                text.pos += 1
                return
            text.value()
            text.expect(",")

    def _leave_array(self, text: "_Text") -> None:
        """After the array: the rest of the document must be valid JSON too (a second array is not ignored)."""
        if self._prefix != "item":
            while text.expect(",}") == ",":
                text.value()
                text.expect(":")
                text.value()
        if text.next_char():
            raise json.JSONDecodeError(Msg.EXTRA_DATA, text.buf, text.pos)

    def _error(self, count: int, exc: BaseException) -> InputFileError:
        if isinstance(exc, (gzip.BadGzipFile, EOFError, zlib.error)):
            return InputFileError(ReaderMsg.DAMAGED_GZIP.format(path=self.path))
        if isinstance(exc, UnicodeDecodeError):
            why = Msg.NOT_UTF8
        elif isinstance(exc, json.JSONDecodeError):
            why = Msg.ENDS_EARLY if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated") \
                else exc.msg
        else:
            why = (str(exc).strip().splitlines() or [Msg.ENDS_EARLY])[0]  # yajl adds a drawing of the spot
        return InputFileError(Msg.NOT_JSON.format(path=self.path, count=count, why=why))

    def close(self) -> None:
        self._file.close()


# numbers stay the text the file holds: 1e2 is '1e2', -0 is '-0' (one decoder, built once)
_DECODER = json.JSONDecoder(parse_float=JsonNumber, parse_int=JsonNumber)
_NOT_SPACE = re.compile(r"[^ \t\n\r]")
CHUNK = 64 * 1024
MAX_ITEM_CHARS = 64 * 1024 * 1024   # one item's text at most (a document that never closes one stops here)


class _Text:
    """The document's text, decoded as it is read; ``buf`` holds the current item and what follows, so
    memory stays one item (and a chunk) however long the array. Each value is decoded by ``json``
    (C speed), numbers kept as their text."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf, self.pos, self.eof = "", 0, False

    def _more(self) -> None:
        chunk = self._stream.read(max(CHUNK, len(self.buf) - self.pos))
        self.buf = self.buf[self.pos:] + self._decoder.decode(chunk, final=not chunk)
        self.pos = 0
        self.eof = not chunk

    def next_char(self) -> str:
        """The next character that is not white space ('' at the end), not consumed."""
        while True:
            found = _NOT_SPACE.search(self.buf, self.pos)
            if found:
                self.pos = found.start()
                return self.buf[self.pos]
            self.pos = len(self.buf)
            if self.eof:
                return ""
            self._more()

    def expect(self, chars: str) -> str:
        """Consume the next character, one of ``chars``; else a JSONDecodeError."""
        char = self.next_char()
        if not char or char not in chars:
            raise json.JSONDecodeError(Msg.EXPECTED.format(chars=" or ".join(repr(c) for c in chars)),
                                       self.buf, self.pos)
        self.pos += 1
        return char

    def value(self) -> Any:
        """The JSON value at the next character, read as far as the text needs."""
        self.next_char()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self.eof or len(self.buf) - self.pos > MAX_ITEM_CHARS:
                    raise
            else:
                if end < len(self.buf) or self.eof:   # a number at the end of the text may go on
                    self.pos = end
                    return value
            self._more()
