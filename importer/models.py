"""Plain data types that flow between the stages (see docs/architecture.md).

file --reader--> Row --mapping--> Profile | RowError --sender--> Outcome --> results CSV
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    INVALID = "invalid"   # failed a local check, never sent
    FAILED = "failed"     # the API refused it or retries ran out
    UNKNOWN = "unknown"   # sent, result cannot be known (only without a key)
    VALID = "valid"       # `check` and `--dry-run` only: would be sent

    def __str__(self) -> str:  # so f-strings and csv show "created"
        return self.value


@dataclass(slots=True)
class Row:
    """One data row of a spreadsheet.

    ``number`` is the row number the spreadsheet program shows (header = 1).
    ``values`` maps each header to the cell's text ("" for an empty cell).
    ``problem`` is set by the reader when the row itself is malformed (for
    example more cells than the header); such a row becomes ``invalid``.
    """
    number: int
    values: dict[str, str]
    problem: str | None = None


@dataclass(slots=True)
class Profile:
    """What will be sent for one row."""
    row: int
    key: str                      # the key value(s) joined, "" without a key
    fields: dict[str, str]        # Copernica field name (real spelling) -> value
    interests: dict[str, int]     # interest name -> 1/0
    # fields whose cell was empty; an update does not blank them unless asked
    empty_fields: frozenset[str] = field(default_factory=frozenset)
    # values left out or sent despite a failed check (mapping `on_invalid`);
    # they go into the results' `error` column so nothing is lost unseen
    warnings: list[str] = field(default_factory=list)
    # interests whose cell was empty: an update leaves them alone unless the
    # mapping marks them `blank_existing` (a create sends them as off)
    empty_interests: frozenset[str] = field(default_factory=frozenset)


@dataclass(slots=True)
class RowError:
    """A row that failed a local check; ``message`` is for a marketer."""
    row: int
    message: str
    key: str = ""


@dataclass(slots=True)
class Outcome:
    row: int
    status: Status
    profile_id: int | None = None
    error: str = ""
    attempts: int = 0
    key: str = ""
