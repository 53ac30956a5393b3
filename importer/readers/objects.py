"""Rows from JSON objects (``.json``, ``.ndjson``/``.jsonl``, rows from memory): the ``Sheet`` of keyed records.

A source of objects (``jsonlines.JsonLinesSource``, ``jsondoc.JsonArraySource``)
hands out ``ObjectRecord``\\ s: a number (the line in an NDJSON file, the
position in a JSON array: 1 is the first object) and the object, or the
``Reason`` it is not one (a line that is not valid JSON makes that row
invalid, not the file). ``ObjectSheet`` turns them into ``Row``\\ s:

- nested objects are flattened with dots: ``{"address": {"city": "Utrecht"}}``
  is the column ``address.city``;
- an array of scalars is a list cell (``ListCell``): it reads as its items
  joined by ``;`` and an interest with ``contains:`` takes its items as they
  are (an item holding ``;`` stays whole); an array holding objects or arrays
  is kept as its compact JSON text;
- ``null`` is an empty cell, ``true``/``false`` are the words true and false,
  numbers are the exact text the file holds (``12.50`` stays ``12.50``);
- the columns are the keys of the first 1,000 objects, in the order they
  first appear; a key found only later is still read (a mapping can use it
  only if it is among those), and a missing key is an empty cell;
- an empty object (or one whose values are all empty) is an empty row, skipped
  and counted like an empty spreadsheet row.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from importer.errors import InputFileError
from importer.models import Reason, Row
from importer.readers.table import LOOKAHEAD_ROWS

LIST_SEPARATOR = ";"


class Msg:
    """What reading objects can say about a file."""
    NO_OBJECTS = "{path} holds no objects with values: there is nothing to import. Check that you picked the right file."
    NO_DELIMITER = "{path} is a JSON file and has no delimiter; leave --delimiter out."
    KEY_CLASH = ("row {row:,}: two of its keys make the column {name!r} (a key with a dot in its name and a "
                 "nested object, or a key written twice); column names must be unique")
    KEY_CASE = ("row {row:,}: its key {key!r} is the column {column!r} written another way; column names must be "
                "unique (upper/lower case does not count), so the row is not read")
    CASE_CLASH = ("{path}: the keys {first!r} (row {first_row:,}) and {second!r} (row {second_row:,}) are the same "
                  "column name; column names must be unique (upper/lower case does not count). Rename one "
                  "in the file.")


class ListCell(str):
    """A JSON array of scalars as a cell: the text of its items joined by ';', and the items themselves."""

    items: tuple[str, ...]

    def __new__(cls, items: list[str]) -> "ListCell":
        cell = super().__new__(cls, LIST_SEPARATOR.join(items))
        cell.items = tuple(items)
        return cell


class JsonNumber(str):
    """A number of a JSON file, as the exact text the file holds (``12.50``, ``1e3``)."""


class KeyClash(ValueError):
    """Two keys of one object flatten to one column name ('a.b' and {'a': {'b': ...}})."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class ObjectRecord(NamedTuple):
    number: int                        # the line (NDJSON) or the position (JSON array, rows from memory)
    values: dict[str, Any] | None      # None for a blank line
    problem: Reason | None = None      # the record is not an object (its row is invalid)


class ObjectSource(Protocol):
    encoding: str | None

    def records(self) -> Iterator[ObjectRecord]: ...
    def close(self) -> None: ...


def scalar_text(value: Any) -> str:
    """A JSON (or Python) scalar as cell text."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):       # ijson's numbers keep their digits
        return str(value)
    if isinstance(value, float):
        from importer.readers.cells import number_to_text
        return number_to_text(value)
    return str(value)


def flattened(obj: dict[str, Any], prefix: str = "", into: dict[str, str] | None = None) -> dict[str, str]:
    """An object as cells: nested objects by dotted names, arrays of scalars as ``ListCell``.
    Raises ``KeyClash`` when two keys make one name."""
    cells: dict[str, str] = {} if into is None else into
    for key, value in obj.items():
        name = prefix + key if prefix else key
        if name in cells:
            raise KeyClash(name)
        kind = type(value)
        if kind is str or kind is JsonNumber:   # most values: no conversion
            cells[name] = value
        elif kind is dict:
            if value:
                flattened(value, name + ".", cells)
            else:
                cells.setdefault(name, "")
        elif kind is list:
            if all(not isinstance(item, (dict, list)) for item in value):
                cells[name] = ListCell([scalar_text(item) for item in value if item is not None])
            else:
                cells[name] = json_text(value)
        else:
            cells[name] = scalar_text(value)
    return cells


def json_text(value: Any) -> str:
    """Compact JSON of a value as read, numbers written as the file wrote them."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    if isinstance(value, (JsonNumber, Decimal)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _cells(record: ObjectRecord) -> tuple[dict[str, str] | None, Reason | None]:
    """A record's cells, or the problem that makes its row invalid."""
    if record.values is None:
        return None, record.problem
    try:
        return flattened(record.values), record.problem
    except KeyClash as clash:
        return None, Reason("json_key_clash", Msg.KEY_CLASH, {"row": record.number, "name": clash.name})


def _unique_ignoring_case(path: Path, columns: dict[str, int]) -> dict[str, str]:
    """The columns by their case-folded name; two that differ only in case are refused, as in a CSV header."""
    folded: dict[str, str] = {}
    for name, row in columns.items():
        first = folded.setdefault(name.casefold(), name)
        if first != name:
            raise InputFileError(Msg.CASE_CLASH.format(path=path, first=first, first_row=columns[first],
                                                       second=name, second_row=row))
    return folded


def _blank(cells: dict[str, str]) -> bool:
    for value in cells.values():
        if value and not value.isspace():
            return False
    return True


class ObjectSheet:
    """An open source of objects, as the runner uses a ``Sheet``: ``headers``, then its rows."""

    def __init__(self, path: Path, format: str, source: ObjectSource) -> None:
        self.path = path
        self.format = format
        self.encoding = source.encoding
        self.delimiter = None
        self.sheet_name = None
        self.header_row = 0
        self.has_header = True
        self.notes: list[str] = []   # nothing to say about how a JSON file was read (its encoding is UTF-8)
        self._source = source
        self.empty_rows = 0
        self.data_rows = 0
        self._records = source.records()
        self._lookahead = self._read_ahead()
        columns: dict[str, int] = {}     # column -> the row it is first seen in
        for record, cells, _ in self._lookahead:
            for name in cells or ():
                columns.setdefault(name, record.number)
        if not columns:
            raise InputFileError(Msg.NO_OBJECTS.format(path=path))
        self.headers: list[str] = list(columns)
        self._header_set = set(columns)
        self._folded = _unique_ignoring_case(path, columns)
        self._rows = self._all_rows()

    def announce(self) -> None:
        """What a spreadsheet says about how it was read; a JSON file has nothing to add."""

    def _read_ahead(self) -> list[tuple[ObjectRecord, dict[str, str] | None, Reason | None]]:
        records = []
        non_blank = 0
        for record in self._records:
            cells, problem = _cells(record)
            records.append((record, cells, problem))
            if cells and not _blank(cells):
                non_blank += 1
                if non_blank >= LOOKAHEAD_ROWS:
                    break
        return records

    def _all_rows(self) -> Iterator[Row]:
        lookahead, self._lookahead = self._lookahead, []
        for record, cells, problem in lookahead:
            row = self._row(record, cells, problem)
            if row is not None:
                yield row
        for record in self._records:
            row = self._row(record, *_cells(record))
            if row is not None:
                yield row

    def _row(self, record: ObjectRecord, cells: dict[str, str] | None, problem: Reason | None) -> Row | None:
        if problem is None and cells and (extra := cells.keys() - self._header_set):
            problem = self._spelled_otherwise(record.number, extra)
        if problem is not None:
            self.data_rows += 1
            return Row(record.number, dict.fromkeys(self.headers, ""), problem)
        if cells is None or _blank(cells):
            self.empty_rows += 1
            return None
        self.data_rows += 1
        values = dict.fromkeys(self.headers, "")
        values.update(cells)   # keys found only after the first objects are read too (not among the columns)
        return Row(record.number, values)

    def _spelled_otherwise(self, number: int, extra: set[str]) -> Reason | None:
        """A key found only after the first objects that is a column written in other case: the row's value
        for that column would be lost, so the row is invalid."""
        for key in sorted(extra):
            column = self._folded.get(key.casefold())
            if column is not None:
                return Reason("json_key_clash", Msg.KEY_CASE, {"row": number, "key": key, "column": column})
        return None

    def __iter__(self) -> Iterator[Row]:
        return self._rows

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> "ObjectSheet":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
