"""NDJSON / JSON Lines (``.ndjson``, ``.jsonl``): one JSON object per line,
streamed record by record like ``readers.text``.

The columns are the objects' keys in the order they first appear anywhere in
the file (a first pass over the file, which the encoding check makes anyway),
so a key that only the 5,000th object has is a column too. Each value becomes
the text a person would write: a string as it is, a number exactly as written
(``00123`` cannot be a JSON number, but ``1.50`` stays ``1.50``), ``true`` /
``false``, ``null`` as an empty cell, a list or object as its compact JSON. A
line that is not a JSON object is an invalid row (code ``bad_row``), never
dropped; an empty line is skipped and counted like an empty spreadsheet row.

Row numbers are line numbers (the columns are not a line of the file: they
are "row 0"). The text is UTF-8 (RFC 8259), a byte-order mark allowed,
checked against every byte before a row is read.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from importer.errors import InputFileError
from importer.models import Reason
from importer.readers import detect
from importer.readers.encoding import detect_encoding
from importer.readers.table import Record


class Msg:
    """What a JSON Lines file's reader tells a user."""
    NOT_AN_OBJECT = "line {row} is not a JSON object ({why}); each line must hold one {{...}} object"
    NOT_JSON = "not valid JSON: {detail}"
    NOT_A_DICT = "it holds a JSON {kind}"
    EXTRA = "line {row} has more values than there are keys"
    CANNOT_READ = "{path} cannot be read ({reason})"
    NO_OBJECTS = ("{path} holds no JSON object with a key: each line must be one object such as "
                  "{{\"email\": \"a@example.com\", \"name\": \"Ann\"}}")


def cell_text(value: Any) -> str:
    """A JSON value as the text of a cell (numbers arrive as their literal text)."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_line(line: str) -> Any:
    """One line's value; numbers kept as the exact text they were written as."""
    return json.loads(line, parse_int=str, parse_float=str, parse_constant=str)


class JsonLinesSource:
    """An open JSON Lines file: its columns (keys) and records."""

    delimiter: str | None = None

    def __init__(self, path: Path, kind: detect.FileKind) -> None:
        self.path = path
        self.kind = kind
        self.encoding = detect_encoding(path, kind, "utf-8")  # utf-8-sig when it starts with a BOM
        self.keys = self._keys()
        if not self.keys:
            raise InputFileError(Msg.NO_OBJECTS.format(path=path))
        self._file: TextIO = self._open()

    def _open(self) -> TextIO:
        try:
            return self.path.open("r", encoding=self.encoding, newline=None)
        except OSError as exc:
            raise InputFileError(Msg.CANNOT_READ.format(path=self.path, reason=exc.strerror or exc)) from exc

    def _keys(self) -> list[str]:
        """Every key of every object, in the order of first appearance."""
        seen: dict[str, None] = {}
        with self._open() as file:
            for line in file:
                if not line.strip():
                    continue
                try:
                    value = parse_line(line)
                except ValueError:
                    continue  # reported as that row's problem
                if isinstance(value, dict):
                    for key in value:
                        seen.setdefault(str(key), None)
        return list(seen)

    def records(self) -> Iterator[Record]:
        yield Record(0, list(self.keys))
        for number, line in enumerate(self._file, start=1):
            if not line.strip():
                yield Record(number, [])
                continue
            try:
                value = parse_line(line)
            except ValueError as exc:
                yield self._bad(number, line, Msg.NOT_JSON.format(detail=exc))
                continue
            if not isinstance(value, dict):
                kind = {list: "list", str: "string"}.get(type(value), "value")
                yield self._bad(number, line, Msg.NOT_A_DICT.format(kind=kind))
                continue
            yield Record(number, [cell_text(value.get(key)) for key in self.keys])

    def _bad(self, number: int, line: str, why: str) -> Record:
        # the line's text goes into the first column, so the results file shows what was there
        cells = [line.rstrip("\r\n")] + [""] * (max(len(self.keys), 1) - 1)
        return Record(number, cells, Reason("bad_row", Msg.NOT_AN_OBJECT, {"row": number, "why": why}))

    def extra_cells_problem(self, number: int, extra: list[str], width: int) -> Reason:
        return Reason("extra_cells", Msg.EXTRA, {"row": number})  # cannot happen: every record has one cell per key

    def close(self) -> None:
        self._file.close()
