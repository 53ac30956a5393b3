"""JSON documents (``.json``, plain or gzip): an array of objects, parsed as a stream (ijson).

The file is never loaded whole: ijson hands out one object at a time, so
memory stays flat for a file of millions of objects. The array may be the
document itself (``[{...}, {...}]``) or the one array-valued member of a
top-level object (``{"data": [...], "count": 2}``, as API exports often
are). An item that is not an object is an invalid row (code ``bad_json``);
a document that breaks off or is not valid JSON stops the reading where it
breaks (before anything was sent: exit 2; later: the run stops resumably,
like a damaged CSV). Rows are numbered by position: 1 is the first object.
"""
from __future__ import annotations

import gzip
import io
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
from importer.readers.objects import ObjectRecord


class Msg:
    """What reading a JSON document can say."""
    NOT_JSON = ("{path} is not valid JSON after object {count:,} ({why}). Fix the file (or export it again) "
                "and try again.")
    NO_ARRAY = ("{path} holds no array of objects: a .json file must be [{{...}}, {{...}}], or an object with "
                "one array of objects in it (such as {{\"data\": [...]}})")
    NOT_AN_OBJECT = "object {row:,} of the array is {what}, not an object ({{\"name\": value, ...}})"
    WHAT = {list: "an array", str: "a text", int: "a number", bool: "true or false", type(None): "null"}


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
        number = 0
        items = ijson.items(self._file, self._prefix, use_float=False)
        while True:
            try:
                item: Any = next(items)
            except StopIteration:
                return
            except (ijson.JSONError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise self._error(number, exc) from None
            number += 1
            if isinstance(item, dict):
                yield ObjectRecord(number, item)
            else:
                yield ObjectRecord(number, None, Reason("bad_json", Msg.NOT_AN_OBJECT, {
                    "row": number, "what": Msg.WHAT.get(type(item), "a number")}))

    def _error(self, count: int, exc: BaseException) -> InputFileError:
        if isinstance(exc, (gzip.BadGzipFile, EOFError, zlib.error)):
            return InputFileError(ReaderMsg.DAMAGED_GZIP.format(path=self.path))
        why = (str(exc).strip().splitlines() or ["it ends early"])[0]  # yajl adds a drawing of the spot
        return InputFileError(Msg.NOT_JSON.format(path=self.path, count=count, why=why))

    def close(self) -> None:
        self._file.close()
