"""Lookup tables: ``{lookup: countries.csv}`` swaps a value for the one a table gives.

The table is a spreadsheet file of its own (CSV, XLSX, ... read like any
input file, so its encoding and delimiter are detected), whose first row is
its header. Its first column holds the values as they come ("Netherlands"),
its second what to send instead ("NL"); a wider table names its columns::

    transform: [{lookup: countries.csv}]
    transform: [{lookup: {file: countries.xlsx, from: Country name, to: ISO code}}]

A relative file name is found beside the mapping file (a mapping given as a
dict from Python: the current folder). Values are matched ignoring case and
the spaces around them; a value the table does not hold is left as it is,
so the field's own checks still see it ("Holland" for a select field of
country codes is then invalid, and says so). A table that gives one value
two different meanings is refused.

Each table is read once per process (and again when its file changes); its
content digest is part of the mapping's fingerprint, so ``--resume`` refuses
a run whose table changed in between.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer.transforms import Transform, TransformSpecError, scalar_text


class Msg:
    """What a lookup table can be told (the mapping adds the place and line)."""
    NEEDS_FILE = ("lookup needs a table file, for example {{lookup: countries.csv}} or "
                  "{{lookup: {{file: countries.xlsx, from: Country, to: Code}}}}")
    UNKNOWN_SETTING = "lookup: unknown setting {name!r} (allowed: file, from, to)"
    UNREADABLE = "lookup: the table {path} cannot be read: {why}"
    TOO_NARROW = ("lookup: the table {path} has {count} column(s); it needs two (the value as it comes, "
                  "then what to send), or name them with {{lookup: {{file: ..., from: ..., to: ...}}}}")
    NO_COLUMN = "lookup: the table {path} has no column {column!r} (its columns: {columns})"
    CONFLICT = ("lookup: the table {path} gives {value!r} two meanings: {a!r} (row {row_a}) and {b!r} "
                "(row {row_b}); keep one")


@dataclass(frozen=True)
class LookupTable:
    path: Path
    values: dict[str, str]    # folded value -> what to send
    digest: str               # of the pairs, for the mapping's fingerprint

    def transform(self) -> Transform:
        values = self.values
        return lambda value: values.get(_folded(value), value)


def _folded(value: str) -> str:
    return value.strip().casefold()


_cache: dict[tuple, LookupTable] = {}
_cache_lock = threading.Lock()


def table_spec(argument: Any) -> tuple[str, str | None, str | None]:
    """(file, from column, to column) of a ``lookup`` argument; TransformSpecError when it is none."""
    if isinstance(argument, dict):
        for name in argument:
            if name not in ("file", "from", "to"):
                raise TransformSpecError(Msg.UNKNOWN_SETTING.format(name=name))
        file = argument.get("file")
        source, target = argument.get("from"), argument.get("to")
        columns = tuple(None if c is None else scalar_text(c) for c in (source, target))
    else:
        file, columns = argument, (None, None)
    if file is None or isinstance(file, (dict, list)) or not scalar_text(file).strip():
        raise TransformSpecError(Msg.NEEDS_FILE.format())
    return scalar_text(file).strip(), columns[0], columns[1]


def load_table(argument: Any, base: Path) -> LookupTable:
    """The table a ``lookup`` argument names, relative to ``base``; TransformSpecError naming what is wrong."""
    file, source, target = table_spec(argument)
    path = Path(file).expanduser()
    if not path.is_absolute():
        path = base / path
    try:
        stat = path.stat()
    except OSError as exc:
        raise TransformSpecError(Msg.UNREADABLE.format(path=path, why=exc.strerror or exc)) from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, source, target)
    with _cache_lock:
        found = _cache.get(key)
    if found is None:
        found = _read(path, source, target)
        with _cache_lock:
            _cache[key] = found
    return found


def _read(path: Path, source: str | None, target: str | None) -> LookupTable:
    from importer.errors import CopernicaImportError
    from importer.reader import open_sheet  # only when a mapping has a table

    values: dict[str, str] = {}
    rows: dict[str, tuple[int, str]] = {}
    try:
        with open_sheet(path) as sheet:
            headers = sheet.headers
            if source is None and target is None:
                if len(headers) < 2:
                    raise TransformSpecError(Msg.TOO_NARROW.format(path=path, count=len(headers)))
                source, target = headers[0], headers[1]
            for column in (source, target):
                if column not in headers:
                    raise TransformSpecError(Msg.NO_COLUMN.format(path=path, column=column,
                                                                  columns=", ".join(headers)))
            for row in sheet:
                raw, meant = row.values.get(source or "", ""), row.values.get(target or "", "")
                folded = _folded(raw)
                if not folded:
                    continue
                earlier = rows.get(folded)
                if earlier is not None and earlier[1] != meant:
                    raise TransformSpecError(Msg.CONFLICT.format(path=path, value=raw, a=earlier[1], row_a=earlier[0],
                                                                 b=meant, row_b=row.number))
                rows[folded] = (row.number, meant)
                values[folded] = meant
    except CopernicaImportError as exc:
        raise TransformSpecError(Msg.UNREADABLE.format(path=path, why=exc)) from None
    digest = hashlib.sha256("\n".join(f"{k}\t{v}" for k, v in sorted(values.items())).encode()).hexdigest()
    return LookupTable(path, values, digest)
