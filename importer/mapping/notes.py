"""What only the whole file shows, said once in ``RowConverter.notes()``.

``blank_yes_no``: empty yes/no cells that switched an interest neither on
nor off (the default, said so the user can choose otherwise).
``lost_leading_zeros``: numbers that lost their leading zeros in a
spreadsheet program (201234567 among 0201234567s). The converter counts as
it goes (``Tally``, ``DigitLengths``); ``file_notes`` says what the counts
show.
"""
from __future__ import annotations

from collections import Counter

from importer.mapping.fields import FieldSpec
from importer.models import Reason
from importer.schema import FieldDef

NOTE_ROWS = 5                 # example rows a note names
LOST_ZERO_SHARE = 0.5         # share of a column's digit-only values that must start with 0 (and have one length)
LOST_ZERO_MIN = 5             # ... and how many at least, before shorter numbers are suspected


class Msg:
    """What the whole file's notes say."""
    BLANK_YES_NO = ("{count:,} empty cells in column {column!r} switched interest {interest!r} neither on nor off "
                    "(rows {rows}): the default. To change it, add blank_existing: true to the interest (an update "
                    "then switches it off), \"\" to its falsy values (a new profile gets it off), or required: true "
                    "(such a row is invalid)")
    LOST_ZEROS = ("column {column!r}: {count:,} values look like numbers that lost their leading zeros in a "
                  "spreadsheet program (rows {rows}; e.g. '{value}' where most values are written like '{like}'). "
                  "Format the column as text before saving the file, or add {{zfill: {width}}} to the transform "
                  "of field {field!r}")
    MORE_ROWS = ", ..."


class Tally:
    """Rows noted for one kind of note: how many, and the first few."""
    __slots__ = ("count", "rows", "value")

    def __init__(self) -> None:
        self.count = 0
        self.rows: list[int] = []
        self.value = ""

    def add(self, row: int, value: str = "") -> None:
        self.count += 1
        if len(self.rows) < NOTE_ROWS:
            self.rows.append(row)
        self.value = self.value or value

    def rows_text(self) -> str:
        return ", ".join(str(r) for r in self.rows) + (Msg.MORE_ROWS if self.count > len(self.rows) else "")


class DigitLengths:
    """The digit-only values of one field by length, split by a leading zero, for ``lost_leading_zeros``."""
    __slots__ = ("with_zero", "without_zero", "examples")

    def __init__(self) -> None:
        self.with_zero: Counter[int] = Counter()
        self.without_zero: dict[int, Tally] = {}
        self.examples: dict[int, str] = {}

    def add(self, row: int, value: str) -> None:
        if value.startswith("0"):
            self.with_zero[len(value)] += 1
            self.examples.setdefault(len(value), value)
        else:
            self.without_zero.setdefault(len(value), Tally()).add(row, value)

    def lost(self) -> tuple[int, Tally] | None:
        """(the usual width, the rows whose number is shorter by one to three zeros) or None."""
        if not self.with_zero:
            return None
        width, usual = self.with_zero.most_common(1)[0]
        total = sum(self.with_zero.values()) + sum(t.count for t in self.without_zero.values())
        if usual < LOST_ZERO_MIN or usual < LOST_ZERO_SHARE * total:
            return None
        shorter = [self.without_zero[n] for n in sorted(self.without_zero, reverse=True) if width - 3 <= n < width]
        if not shorter:
            return None
        lost = Tally()
        lost.count = sum(t.count for t in shorter)
        lost.rows = sorted(r for t in shorter for r in t.rows)[:NOTE_ROWS]
        lost.value = shorter[0].value
        return width, lost


def may_lose_zeros(spec: FieldSpec, field_def: FieldDef | None) -> bool:
    """A field whose digits are text (codes, phone numbers): a spreadsheet may have dropped their leading zeros.

    Not numbers (0 in front means nothing there), dates, or phone rules (which read 201234567 right)."""
    if spec.phone is not None or spec.date_format or spec.decimal_comma:
        return False
    if any(isinstance(t, dict) and "zfill" in t for t in spec.transform):
        return False
    return field_def is None or field_def.type in ("text", "big", "phone")


def file_notes(blanks: dict[str, Tally], digits: dict[str, DigitLengths], interest_columns: dict[str, str],
               field_columns: dict[str, str]) -> list[Reason]:
    """The notes of the counts so far: ``blanks`` by interest, ``digits`` by field; the columns they read."""
    notes = []
    for interest, tally in blanks.items():
        notes.append(Reason("blank_yes_no", Msg.BLANK_YES_NO, {
            "count": tally.count, "column": interest_columns[interest], "interest": interest,
            "rows": tally.rows_text()}))
    for name, lengths in digits.items():
        found = lengths.lost()
        if found is None:
            continue
        width, tally = found
        notes.append(Reason("lost_leading_zeros", Msg.LOST_ZEROS, {
            "column": field_columns[name], "count": tally.count, "rows": tally.rows_text(), "value": tally.value,
            "like": lengths.examples[width], "width": width, "field": name}))
    return notes
