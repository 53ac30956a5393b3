"""How the column of ``duplicates: {keep: newest|oldest, by: COLUMN}`` is read: one way for the whole column.

A column is read as numbers or as dates, never one cell as a number and the
next as a date, and never 1/2/2024 day-first in one row and month-first in
the next. With the rule's ``date_format`` every value is read with it. Without
one, ``survey`` looks at every value of the column first (as ``init`` does
with a sample): numbers when most readable values are numbers; else dates,
day-first or month-first as the values that can only be read one way settle
it (25/12/2023 is day-first). When values such as 1/2/2024 read both ways and
no value settles the order, the column is refused before anything is sent,
with the ``date_format`` to add. A value the chosen reading does not read
(``soon``, an empty cell, a month-first date in a day-first column) ranks
below every readable one, and the skipped rows say so.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC

from importer.date_proposals import date_order
from importer.dates import date_format_candidates, strptime

NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class Msg:
    """What the reading of a ranking column says."""
    READINGS = {"number": "numbers", "iso": "dates", "day": "day-first dates", "month": "month-first dates",
                "formats": "dates in the format {formats}", None: "dates or numbers"}
    AMBIGUOUS = ("duplicates.by: the column {column!r} holds dates such as {example!r} that read day-first and "
                 "month-first both, and no value settles which; say it in the rule, for example "
                 "duplicates: {{keep: {keep}, by: {by}, date_format: {day}}} (or {month} for month first)")
    UNREADABLE = ("duplicates.by: no value of the column {column!r} is a date or a number (such as {example!r}); "
                  "keep: {keep} compares dates or numbers")
    ORDER_SETTLED = "duplicates.by: {column!r} holds {reading} (as {example!r} shows)"
    ORDER_MIXED = "; {count} value(s) such as {example!r} are not, and rank last"


class AmbiguousColumn(ValueError):
    """The column cannot be read one way for every row; the message says what to add to the rule."""


class ColumnReading:
    """One way of reading the ranking column: ``kind`` is number, iso, day, month, formats, or None
    (nothing to read: every value is empty)."""

    def __init__(self, date_formats: list[str] | None = None) -> None:
        self.formats = list(date_formats or [])
        self.kind: str | None = "formats" if self.formats else None
        self.note = ""

    @property
    def needs_survey(self) -> bool:
        return not self.formats

    @property
    def described(self) -> str:
        """The reading in words ('day-first dates'), for the skipped rows' reasons."""
        return Msg.READINGS[self.kind].format(formats=", ".join(self.formats))

    def survey(self, values: Iterable[str], *, column: str, keep: str) -> None:
        """Decide the reading from every value of the column (nothing to decide with a ``date_format``).
        Raises ``AmbiguousColumn`` when the values leave it open."""
        if self.formats:
            return
        numbers = dates = 0
        settled: dict[str, list[str]] = {"day": [], "month": []}
        ambiguous = other = ""
        for value in values:
            text = value.strip()
            if not text:
                continue
            if NUMBER.fullmatch(text):
                numbers += 1
                continue
            candidates = date_format_candidates(text)
            if not candidates:
                other = other or text
                continue
            dates += 1
            orders = {date_order(c) for c in candidates}
            if len(orders) == 2:
                ambiguous = ambiguous or text
            elif (order := orders.pop()) is not None and not _same_both_ways(text, candidates[0]):
                settled[order].append(text)
        if numbers == dates == 0:
            if other:
                raise AmbiguousColumn(Msg.UNREADABLE.format(column=column, example=other, keep=keep))
            return
        if numbers >= dates:
            self.kind = "number"
            return
        self._decide_order(settled, ambiguous, column=column, keep=keep)

    def _decide_order(self, settled: dict[str, list[str]], ambiguous: str, *, column: str, keep: str) -> None:
        day, month = settled["day"], settled["month"]
        if not day and not month:
            if ambiguous:
                from importer.proposals import yaml_scalar
                sep = next(c for c in ambiguous if not c.isdigit())
                raise AmbiguousColumn(Msg.AMBIGUOUS.format(
                    column=column, example=ambiguous, keep=keep, by=yaml_scalar(column),
                    day=yaml_scalar(f"%d{sep}%m{sep}%Y"), month=yaml_scalar(f"%m{sep}%d{sep}%Y")))
            self.kind = "iso"
            return
        self.kind = "day" if len(day) >= len(month) else "month"
        chosen, others = (day, month) if self.kind == "day" else (month, day)
        self.note = Msg.ORDER_SETTLED.format(column=column, reading=self.described, example=chosen[0])
        if others:
            self.note += Msg.ORDER_MIXED.format(count=len(others), example=others[0])

    def rank(self, value: str) -> float | None:
        """The value as a number to compare (a date as its POSIX time), or None when this reading does not read it."""
        text = value.strip()
        if not text or self.kind is None:
            return None
        if self.kind == "number":
            return float(text) if NUMBER.fullmatch(text) and _finite(float(text)) else None
        if self.kind == "formats":
            formats = self.formats
        else:
            fits = (None,) if self.kind == "iso" else (None, self.kind)
            formats = [c for c in date_format_candidates(text) if date_order(c) in fits]
        for fmt in formats:
            try:
                moment = strptime(text, fmt)
            except ValueError:
                continue
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        return None


def _finite(number: float) -> bool:
    return number == number and number not in (float("inf"), float("-inf"))


def _same_both_ways(text: str, fmt: str) -> bool:
    """05/05/2024: one candidate, but it settles nothing (the other order reads the same date)."""
    swapped = fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    try:
        return strptime(text, swapped) == strptime(text, fmt)
    except ValueError:
        return False
