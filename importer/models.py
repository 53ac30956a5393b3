"""Plain data types that flow between the stages (README, "How it is built").

file --reader--> Row --mapping--> Profile | RowError --sender--> Outcome --> results file

Every row that does not simply go through carries one or more ``Reason``\\ s:
a stable ``code`` for machines (the results file's ``code`` column, the JSON
summary, the grouping in every summary) and a sentence for people, made
from a named template and the values that fill it. Nothing downstream ever
parses the sentence: it groups by ``code``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


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


class StopReason(str, Enum):
    """Why a run stopped taking rows before the end of its file."""
    INTERRUPTED = "interrupted"     # Ctrl-C, SIGTERM, the caller's stop event
    MAX_ERRORS = "max-errors"       # --max-errors rows failed at the API
    TOKEN = "token"                 # the access token was refused
    API = "api"                     # an answer that stops every row alike (database gone, ...)
    UNRESOLVED = "unresolved"       # the file ended, but some lost answers could not be checked
    ERROR = "error"                 # an unexpected error (a bug)
    READ_ERROR = "read-error"       # the input file could not be read on (a cell too large, a bad byte)
    WRITE_ERROR = "write-error"     # the journal, results or a report could not be written (a full disk)
    FILE_CHANGED = "file-changed"   # the input file changed while it was being imported
    MAX_RUNTIME = "max-runtime"     # --max-runtime reached
    OUTAGE = "outage"               # Copernica unreachable for longer than --max-outage

    def __str__(self) -> str:
        return self.value


# -- reasons ---------------------------------------------------------------------

# Every code a Reason may carry, with the title a summary line gives it. A
# code is part of the public interface (results files are filtered on it,
# scripts read it from the JSON summary): add codes, never rename one.
REASON_TITLES: dict[str, str] = {
    # invalid: a local check failed, the row was not sent
    "empty_required": "a required cell is empty",
    "empty_key": "the key cell is empty",
    "not_whole_number": "not a whole number",
    "not_a_number": "not a number",
    "out_of_range": "a number outside the field's range",
    "not_a_choice": "not one of the field's choices",
    "invalid_date": "not a date in the expected form",
    "ambiguous_date": "a date that can be read in two ways",
    "date_has_time": "a time of day in a date-only field",
    "invalid_email": "not a valid email address",
    "too_long": "longer than the field holds",
    "not_yes_no": "not a yes/no value",
    "extra_cells": "more cells than the header has columns",
    "unclosed_quote": "a quote that is never closed",
    "bad_row": "a row the file format does not allow",
    # notes on rows that were (or would be) sent
    "value_omitted": "a value left out (on_invalid: omit)",
    "sent_anyway": "a value sent despite a failed check (on_invalid: send)",
    "unmatched_item": "a list item that matches no mapped interest",
    "recovered": "answer lost, profile found by its key",
    # skipped: not sent, on purpose
    "duplicate": "the same key as another row of the file",
    "exists": "a profile with this key exists",
    "not_found": "no profile with this key (update mode)",
    "many_match": "several profiles match the key",
    "done_before": "done in the run the results file came from",
    "changed_since_created": "changed after this run created its profile",
    "created_before": "this run created a profile with this key already",
    "moved": "created by this run from this row, which has moved since",
    "key_trimmed": "spaces around the key removed",
    # failed: sent, and it did not work
    "refused": "Copernica refused it",
    "unreachable": "Copernica could not be reached",
    "answer_lost": "the answer from Copernica was lost",
    "lookup_failed": "the key could not be looked up",
    "gave_up": "answers lost twice and not found by its key",
    "partial_update": "fields updated, interests not",
    # unknown: sent, the result cannot be known
    "in_flight_no_key": "in flight at a crash, no key to check it",
    "other_values": "profiles with this key hold other values",
    "in_flight_changed": "in flight at a crash, changed since",
    # invalid, added with the reader's reasons
    "unnamed_column": "a value in a column the header does not name",
    "excel_error": "an Excel error value (#DIV/0!, #REF!, #N/A, ...) in a mapped cell",
    "cut_off": "the last row of a file that seems cut off",
    # invalid: a phone rule's check failed
    "invalid_phone": "not a valid phone number",
    # notes about the whole file (the summary's Notes, not a row's status)
    "blank_yes_no": "empty yes/no cells switched nothing",
    "lost_leading_zeros": "numbers that lost their leading zeros",
    # collections and JSON inputs (issue 16)
    "bad_json": "a line (or array item) that is not a JSON object",
    "json_key_clash": "an object whose keys make one column name twice",
    "no_profile": "no profile for the row's profile key (missing_profile: fail)",
    "other_profile": "the subprofile's key belongs to another profile",
    "profile_unknown": "the row's profile could not be checked",
    # skipped in update/upsert: the profile holds what the row would write
    "unchanged": "the profile holds these values already",
    # invalid: converting a cell failed in a way no check foresaw (one cell never stops a run)
    "not_converted": "a value that could not be converted",
}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a row ended as it did.

    ``code`` is stable and machine-readable (a key of ``REASON_TITLES``);
    ``template`` is a named text of the layer that found the reason, and
    ``params`` the values that fill it. ``message`` is never cut and never
    masked: a marketer reads it in the results file.
    """
    code: str
    template: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template.format(**self.params)

    @property
    def title(self) -> str:
        return REASON_TITLES.get(self.code, self.code)

    def within(self, template: str, **params: Any) -> "Reason":
        """The same reason in a wider context: ``template`` holds ``{inner}``
        where this reason's sentence goes (``"column {column!r}: {inner}"``)."""
        return Reason(self.code, template, {**params, "inner": self.message})

    def to_json(self) -> list:
        return [self.code, self.template, dict(self.params)]

    @classmethod
    def from_json(cls, data: list) -> "Reason":
        code, template, params = data
        return cls(str(code), str(template), dict(params))

    def __str__(self) -> str:
        return self.message


def reasons_text(reasons: Iterable[Reason]) -> str:
    """The sentences of several reasons, as the results file's ``error`` column shows them."""
    return "; ".join(r.message for r in reasons)


def reasons_codes(reasons: Iterable[Reason]) -> str:
    """The distinct codes of several reasons, in order, for the ``code`` column."""
    return ";".join(dict.fromkeys(r.code for r in reasons))


# -- the rows --------------------------------------------------------------------

@dataclass(slots=True)
class Row:
    """One data row of a spreadsheet.

    ``number`` is the row number the spreadsheet program shows (header = 1).
    ``values`` maps each header to the cell's text ("" for an empty cell).
    ``problem`` is set by the reader when the row itself is malformed (for
    example more cells than the header); such a row becomes ``invalid``.
    ``extra`` holds the cells past the header's last column (kept in the
    row's results line, never dropped unseen).
    """
    number: int
    values: dict[str, str]
    problem: Reason | None = None
    extra: tuple[str, ...] = ()


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
    warnings: list[Reason] = field(default_factory=list)
    # interests whose cell was empty: an update leaves them alone unless the
    # mapping marks them `blank_existing` (a create sends them as off)
    empty_interests: frozenset[str] = field(default_factory=frozenset)


@dataclass(slots=True)
class RowError:
    """A row that failed a local check: every problem of the row at once."""
    row: int
    reasons: tuple[Reason, ...]
    key: str = ""

    @property
    def message(self) -> str:
        return reasons_text(self.reasons)

    @property
    def code(self) -> str:
        return reasons_codes(self.reasons)


@dataclass(slots=True)
class Outcome:
    """How one row ended. ``reasons`` say why (empty for a plain success)."""
    row: int
    status: Status
    profile_id: int | None = None
    reasons: tuple[Reason, ...] = ()
    attempts: int = 0
    key: str = ""
    # collection imports: the subprofile, and what the row did to its profile
    # ("created", "updated", "found"; "" when it never got one)
    subprofile_id: int | None = None
    profile_status: str = ""

    @property
    def error(self) -> str:
        """The results file's ``error`` column: every reason's sentence."""
        return reasons_text(self.reasons)

    @property
    def code(self) -> str:
        """The results file's ``code`` column: the reasons' codes."""
        return reasons_codes(self.reasons)
