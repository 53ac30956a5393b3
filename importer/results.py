"""The results CSV: one line per input row, pairing it with its outcome.

Columns: ``row, status, profile_id, error, code, attempts``, the key, then
the row's source columns, so a user can filter on ``status`` (or on the
machine-readable reason ``code``) in Excel, fix the failed lines and import
them again with the same mapping.
"""
from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from importer.errors import InputFileError
from importer.models import Outcome


class Msg:
    NOT_RESULTS = "{path} is not a copernica-import results file (its first columns should be {columns})"

RESULT_COLUMNS = ("row", "status", "profile_id", "error", "code", "attempts", "key")
# results files written before the `code` column existed can still be imported again
_EARLIER_COLUMNS = ("row", "status", "profile_id", "error", "attempts", "key")

# A spreadsheet program runs a cell starting with one of these as a formula
# (CSV injection); a leading apostrophe makes it plain text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISER = "'"


def neutralise(value: str) -> str:
    """``=cmd|...`` -> ``'=cmd|...``: shown as text, never executed."""
    if value and value.startswith(_FORMULA_STARTS):
        return NEUTRALISER + value
    return value


def unneutralise(value: str) -> str:
    """Undo ``neutralise`` when a results file is imported again."""
    if value.startswith(NEUTRALISER) and value[1:2] and value[1:].startswith(_FORMULA_STARTS):
        return value[1:]
    return value


def _our_columns(headers: Iterable[str]) -> tuple[str, ...] | None:
    headers = tuple(headers)
    for ours in (RESULT_COLUMNS, _EARLIER_COLUMNS):
        if headers[: len(ours)] == ours:
            return ours
    return None


def is_results_header(headers: Iterable[str]) -> bool:
    """True for a results file of ours (so its cells get unneutralised)."""
    return _our_columns(headers) is not None


# A source column named like one of ours ("Status" in a CRM export) is labelled
# "Status (source)" in the results, so the file can be read back without two
# columns of one name; reading it back restores the name.
SOURCE_SUFFIX = " (source)"
_OURS = {c.casefold() for c in RESULT_COLUMNS}


def source_label(column: str) -> str:
    return column + SOURCE_SUFFIX if column.casefold() in _OURS else column


def source_columns(headers: list[str]) -> list[str]:
    """The input's own columns: for a results file fed back in, without our
    columns in front and with their original names."""
    ours = _our_columns(headers)
    if ours is None:
        return list(headers)
    return [_original_name(h) for h in headers[len(ours):]]


def _original_name(label: str) -> str:
    if label.endswith(SOURCE_SUFFIX) and label[: -len(SOURCE_SUFFIX)].casefold() in _OURS:
        return label[: -len(SOURCE_SUFFIX)]
    return label


def source_values(values: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A results-file row as (its source cells by original name, unneutralised;
    our columns: row, status, profile_id, ...)."""
    columns = _our_columns(values) or RESULT_COLUMNS  # a file from before the `code` column has none
    ours = {c: values.get(c, "") if c in columns else "" for c in RESULT_COLUMNS}
    cells = {_original_name(k): unneutralise(v) for k, v in values.items() if k not in columns}
    return cells, ours


def results_header(source: list[str]) -> list[str]:
    return [*RESULT_COLUMNS, *(source_label(c) for c in source)]


class ResultsWriter:
    """Writes result lines as they come, flushed, so a crash keeps what is done.

    A crash (even kill -9) can at most cut the last line; the journal, not
    this file, is the source of truth, and a resumed run rewrites it whole.
    """

    def __init__(self, path: str | Path, columns: list[str]):
        """``columns``: the input's own columns (see ``source_columns``)."""
        self.path = Path(path)
        self.source_columns = list(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow(results_header(self.source_columns))
        self._file.flush()
        self.lines = 0

    def write(self, outcome: Outcome, values: dict[str, str] | None) -> None:
        self._csv.writerow(self._line(outcome, values))
        self.lines += 1

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self, o: Outcome, values: dict[str, str] | None) -> list[str]:
        values = values or {}
        source = [neutralise(values.get(c, "")) for c in self.source_columns]
        return [
            str(o.row), o.status.value, "" if o.profile_id is None else str(o.profile_id),
            neutralise(o.error), o.code, str(o.attempts), neutralise(o.key), *source,
        ]


def read_results(path: str | Path) -> Iterator[dict[str, str]]:
    """The lines of a results file as dicts; a cut last line is ignored."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        text = f.read()
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not is_results_header(reader.fieldnames):
        raise InputFileError(Msg.NOT_RESULTS.format(path=path, columns=", ".join(RESULT_COLUMNS)))
    for line in reader:
        if line.get("row", "").isdigit() and line.get("attempts") is not None:
            yield line
