"""Rows from memory (a pandas DataFrame, or any iterable of dicts) and outcomes back as a DataFrame.

``run_import`` and ``check_file`` take rows from memory with
``ImportOptions(rows=...)``. They are written once to a temporary NDJSON file
(``spool``) and imported from there like a file: the same checks, journal,
results file and ``--resume``, in constant memory however the rows are made
(a generator over a database cursor is read once). The run is identified by
a digest of that file, so resuming needs the same rows (changed rows are
handled as in a changed file, by their own digests). Row numbers are
positions: row 1 is the first row.

Values become cell text as a spreadsheet shows them (``importer.readers.cells``):
whole numbers without ``.0`` (a column of integers with gaps, which pandas
holds as floats, still reads 12), dates as ``YYYY-MM-DD`` (with the time
unless it is midnight), ``None``/``NaN``/``NaT`` as an empty cell,
booleans as true/false; a dict in a row is flattened as ``address.city`` and
a list of scalars is a list cell, as in a JSON file.

pandas is optional (``pip install 'copernica-import[pandas]'``): it is
imported only when a DataFrame is given, or asked for (``outcomes_frame``).
"""
from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from importer.errors import UsageError
from importer.models import Outcome


class Msg:
    """What giving rows from memory can be told."""
    NOT_ROWS = ("rows must be a pandas DataFrame or an iterable of dicts (one dict per row, column -> value), "
                "not {got}")
    NOT_A_DICT = "row {row:,} of the rows given is {got}, not a dict (column -> value)"
    NO_ROWS = "the rows given are empty: there is nothing to import"
    DUPLICATE_COLUMNS = "the DataFrame has columns with the same name: {names}; rename them"
    NEEDS_PANDAS = "a DataFrame of outcomes needs pandas: pip install 'copernica-import[pandas]'"
    BOTH = "give either file or rows, not both"
    NEITHER = "give a file to import, or rows"


SPOOL_NAME = "rows.ndjson"   # the journal names a run of rows by this (and the default results file)


def is_dataframe(value: Any) -> bool:
    """True for a pandas DataFrame, without importing pandas."""
    return type(value).__module__.split(".")[0] == "pandas" and hasattr(value, "itertuples") and \
        hasattr(value, "columns")


def spool(rows: Any, path: Path) -> int:
    """Writes ``rows`` to ``path`` as NDJSON (one object a line); returns how many rows."""
    if isinstance(rows, (str, bytes, Mapping)) or not (is_dataframe(rows) or isinstance(rows, Iterable)):
        raise UsageError(Msg.NOT_ROWS.format(got=type(rows).__name__))
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        count = _spool_frame(rows, out) if is_dataframe(rows) else _spool_dicts(rows, out)
    if count == 0:
        raise UsageError(Msg.NO_ROWS)
    return count


def _spool_dicts(rows: Iterable[Any], out: IO[str]) -> int:
    count = 0
    for count, item in enumerate(rows, start=1):
        if not isinstance(item, Mapping):
            raise UsageError(Msg.NOT_A_DICT.format(row=count, got=type(item).__name__))
        out.write(json.dumps(_plain(item), ensure_ascii=False, separators=(",", ":")) + "\n")
    return count


def _spool_frame(frame: Any, out: IO[str]) -> int:
    columns = [str(c) for c in frame.columns]
    doubles = sorted({c for c in columns if columns.count(c) > 1})
    if doubles:
        raise UsageError(Msg.DUPLICATE_COLUMNS.format(names=", ".join(repr(c) for c in doubles)))
    count = 0
    for values in frame.itertuples(index=False, name=None):
        out.write(json.dumps({c: _plain(v) for c, v in zip(columns, values)}, ensure_ascii=False,
                             separators=(",", ":")) + "\n")
        count += 1
    return count


def _plain(value: Any) -> Any:
    """A value as JSON the NDJSON reader turns back into the same cells: nested dicts and lists kept,
    every scalar as its cell text (None for an empty cell)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):   # numpy arrays and scalars
        return _plain(value.tolist())
    return _text(value)


def _text(value: Any) -> str | None:
    from importer.readers.cells import cell_to_text
    if value is None or _missing(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "to_pydatetime"):      # a pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, (int, float, dt.date, dt.time, dt.timedelta, str)):
        return cell_to_text(value)
    return str(value)


def _missing(value: Any) -> bool:
    """NaN, NaT and pandas' NA are empty cells."""
    if isinstance(value, float):
        return math.isnan(value)
    name = type(value).__name__
    return name in ("NaTType", "NAType")


# ------------------------------------------------------------------ outcomes

OUTCOME_COLUMNS = ("row", "status", "profile_id", "subprofile_id", "profile_status", "error", "code", "attempts",
                   "key")


def outcome_records(outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    """Outcomes as plain dicts (the results file's columns), in row order."""
    return [{"row": o.row, "status": o.status.value, "profile_id": o.profile_id, "subprofile_id": o.subprofile_id,
             "profile_status": o.profile_status, "error": o.error, "code": o.code, "attempts": o.attempts,
             "key": o.key} for o in sorted(outcomes, key=lambda o: o.row)]


def outcomes_frame(outcomes: Iterable[Outcome]) -> Any:
    """Outcomes as a pandas DataFrame (one row per input row, the results file's columns)."""
    try:
        import pandas
    except ImportError:
        raise UsageError(Msg.NEEDS_PANDAS) from None
    frame = pandas.DataFrame(outcome_records(outcomes), columns=list(OUTCOME_COLUMNS))
    for column in ("profile_id", "subprofile_id"):
        frame[column] = frame[column].astype("Int64")  # IDs stay whole numbers beside empty cells
    return frame
