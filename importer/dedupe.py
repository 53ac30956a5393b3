"""Duplicates inside one file, by the mapping's key (after transforms).

Keys are compared ignoring case, as Copernica's look-ups do: two rows whose
keys differ only in case are one person to Copernica, and sending both at
once in skip/upsert mode would create that person twice. Unicode forms are
folded too (an "é" typed as one character or as "e" + accent is one "é").

Only a 64-bit hash of each key is kept, so a million keys cost tens of MB,
not the keys' text. Two different keys sharing a hash has a chance of about
1 in 10^7 for a million rows (birthday bound), accepted for this purpose.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


class DuplicateIndex:
    """``first`` keeps the first occurrence of a key; ``last`` the last one.

    For ``last`` the winners must be known before the import starts, so the
    caller feeds every valid (row, key) to ``learn`` in a first pass.
    """

    def __init__(self, keep: str = "first") -> None:
        if keep not in ("first", "last"):
            raise ValueError(f"keep must be 'first' or 'last', not {keep!r}")
        self.keep = keep
        self._rows: dict[int, int] = {}

    def learn(self, pairs: Iterable[tuple[int, str]]) -> None:
        """First pass for ``last``: remember the last row of each key."""
        rows = self._rows
        for row, key in pairs:
            rows[folded(key)] = row

    def learn_later(self, keyed: Iterable[tuple[int, str, T]], whole: Callable[[T], bool]) -> None:
        """First pass for ``last``, reading whole rows only where it matters.

        ``keyed``: every row whose key is valid, as (row number, key, row).
        ``whole(row)``: whether the whole row is valid, asked only for the
        second and later rows of a key. The first row of a key is left out:
        the import decides it anyway (invalid, or a duplicate of the last
        valid later row, or the winner when there is none), so ``winner``
        answers exactly as after ``learn`` of every valid row.
        """
        rows, seen = self._rows, set()
        for row, key, item in keyed:
            h = folded(key)
            if h not in seen:
                seen.add(h)
            elif whole(item):
                rows[h] = row

    def winner(self, row: int, key: str) -> int | None:
        """The row this one duplicates (it is skipped), or None (import it)."""
        if not key:
            return None
        h = folded(key)
        if self.keep == "last":
            last = self._rows.get(h, row)
            return None if last == row else last
        first = self._rows.setdefault(h, row)
        return None if first == row else first

    def __len__(self) -> int:
        return len(self._rows)


def fold_key(key: str) -> str:
    """A key as Copernica compares it: case and Unicode form ignored."""
    if not key.isascii():
        key = unicodedata.normalize("NFC", key)
    return key.casefold()


def folded(key: str) -> int:
    """A key's identity as Copernica compares it (case and Unicode form ignored), as a hash."""
    return hash(fold_key(key))


class RankedDuplicateIndex:
    """``duplicates: {keep: newest|oldest, by: COLUMN}``: of the rows with one key, the one whose
    ``by`` column holds the latest (earliest) date, or the highest (lowest) number, is imported.

    The column is read one way for every row (``importer.ranking.ColumnReading``: the rule's
    ``date_format``, or numbers or dates as ``survey`` of the whole column decides); a row whose
    value that reading does not read (or an empty one) ranks below every readable one, and of equal
    values the later row wins. Like ``last``, the winners are known from a first pass (``learn``);
    each key keeps its hash, its best rank and that row.
    """

    def __init__(self, keep: str, by: str, date_formats: list[str] | None = None) -> None:
        from importer.ranking import ColumnReading
        if keep not in ("newest", "oldest"):
            raise ValueError(f"keep must be 'newest' or 'oldest', not {keep!r}")
        self.keep = keep
        self.ranked_by = by
        self.reading = ColumnReading(date_formats)
        self._best: dict[int, tuple[tuple[int, float], int, str]] = {}   # key hash -> (rank, row, value)

    def rank_of(self, value: str) -> float | None:
        """The value as a number to compare (a date as its POSIX time), or None when the column's reading
        does not read it."""
        return self.reading.rank(value)

    def learn(self, row: int, key: str, value: str) -> None:
        rank = self.rank_of(value)
        sign = 1 if self.keep == "newest" else -1
        ranked = (0, 0.0) if rank is None else (1, sign * rank)
        h = folded(key)
        best = self._best.get(h)
        if best is None or ranked >= best[0]:   # equal: the later row wins
            self._best[h] = (ranked, row, value)

    def winner(self, row: int, key: str) -> int | None:
        """The row this one duplicates (it is skipped), or None (import it)."""
        if not key:
            return None
        best = self._best.get(folded(key))
        if best is None or best[1] == row:
            return None
        return best[1]

    def winning_value(self, key: str) -> str:
        """The ``by`` value of the row that wins for ``key`` (for the skipped rows' reasons)."""
        best = self._best.get(folded(key))
        return best[2] if best is not None else ""

    def __len__(self) -> int:
        return len(self._best)
