"""Fitting a mapping to one file and one database, then turning rows into profiles.

``compile_mapping(mapping, headers, schema)`` checks once what can be checked
once (``importer.mapping.fit``: mapped columns in the file, mapped fields
and interests in the database, constants that fit their fields). It returns a ``RowConverter``,
a callable that turns each ``Row`` into a ``Profile`` or a ``RowError`` with
all the row's problems at once. Everything a row needs is decided here, in
small frozen rules, so the per-row work stays small.

Each problem of a row is one ``Reason``: a value check's reason in its
column's words (``IN_COLUMN``, the code kept), ``empty_required``,
``empty_key`` or ``not_yes_no``; a malformed row keeps the reader's reason.
What is sent anyway is noted in ``Profile.warnings``: ``value_omitted`` and
``sent_anyway`` (``on_invalid``; the check's own code is the ``cause``
param) and ``unmatched_item`` (a list item no interest takes). A row's
problem keeps the cell it is about in its ``value`` and ``column`` params
(the HTML report shows an example value per reason).

What only the whole file shows is said once, in ``RowConverter.notes()``
(``importer.mapping.notes``):
``blank_yes_no`` (empty yes/no cells switched nothing) and
``lost_leading_zeros`` (numbers that lost their leading zeros in a
spreadsheet program, 201234567 among 0201234567s).
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from importer import checks, dates, transforms
from importer.mapping.fields import FieldSpec, folded, interest_constant
from importer.mapping.fit import check_blank_existing, check_columns, checked_constant, mapped_name, resolve
from importer.mapping.notes import DigitLengths, Tally, file_notes, may_lose_zeros
from importer.mapping.spec import Mapping
from importer.models import Profile, Reason, Row, RowError
from importer.schema import DatabaseSchema, FieldDef

if TYPE_CHECKING:
    from importer.date_parser import DateParser

log = logging.getLogger(__name__)

KEY_SEPARATOR = " | "
DATE_TYPES = frozenset({"date", "empty_date"})
DATETIME_TYPES = frozenset({"datetime", "empty_datetime"})


class Msg:
    """What converting rows can say."""
    EMPTY_BUT_REQUIRED = "column {column!r} is empty but required"
    EMPTY_KEY = ("the key field {field!r} (column {column!r}) is empty, so this row cannot be "
                 "matched or de-duplicated")
    IN_COLUMN = "column {column!r}: {inner}"
    NOT_YES_NO = ("'{value}' is not a yes/no value for interest {interest!r} "
                  "(yes: {truthy}; no: {falsy})")
    EMPTY_CELL = "empty"         # the empty cell among the yes/no values of NOT_YES_NO
    UNMATCHED_ITEM = ("column {column!r}: '{value}' matches no mapped interest and is not imported "
                      "(mapped: {known})")
    KEY_TRIMMED = ("column {column!r}: the spaces around the key {value!r} were removed (Copernica's look-ups "
                   "ignore them); add transform: [trim] to this key field to say so in the mapping")
    OMITTED = "{inner}; left out (on_invalid: omit)"
    SENT_ANYWAY = "{inner}; sent anyway (on_invalid: send)"
    NOT_CONVERTED = "'{value}' could not be converted for field {field!r} ({why}); nothing of this row was sent"
    EMPTY_YES_NO_REQUIRED = ("column {column!r} is empty, but interest {interest!r} needs a yes/no value "
                             "(required: true); remove required to let an empty cell switch nothing")


def key_text(parts: list[str]) -> str:
    """A composite key as one readable, unambiguous text: ('a | b', 'c') and
    ('a', 'b | c') must not both read 'a | b | c' (that would make two people
    one duplicate), so a part holding '|' or '"' is written in JSON quotes."""
    if len(parts) == 1:
        return parts[0]
    return KEY_SEPARATOR.join(json.dumps(p, ensure_ascii=False) if ("|" in p or '"' in p) else p for p in parts)


# ----------------------------------------------------------- compiled rules

Check = Callable[[str], str]   # returns the value to send or raises checks.ValueProblem

_NUMBER_WITH_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")


def _comma_to_dot(value: str) -> str:
    """decimal_comma without a schema to check against: '7,5' -> '7.5', anything else unchanged."""
    text = value.strip()
    return text.replace(",", ".") if _NUMBER_WITH_COMMA.fullmatch(text) else value


@dataclass(frozen=True, slots=True)
class _FieldRule:
    """Everything needed to produce one field of one row, decided at compile time."""
    name: str                    # real spelling
    column: str
    transform: Check | None
    checks: tuple[Check, ...]
    required: bool
    is_key: bool
    on_invalid: str
    blank_existing: bool
    watch_zeros: bool            # lost leading zeros are looked for (text-like values without a phone rule)


@dataclass(frozen=True, slots=True)
class _YesNoInterest:
    """An interest switched on or off by a yes/no column; an empty cell switches nothing
    unless "" is falsy (off) or the interest is required (the row is invalid)."""
    name: str                    # real spelling
    column: str
    truthy: frozenset[str]       # casefolded
    falsy: frozenset[str]
    allowed_text: tuple[str, str]
    required: bool = False


@dataclass(frozen=True, slots=True)
class _ListColumn:
    """A column holding a separated list ("Football;Tennis") that several interests read.

    It is split once per row; items that no interest takes are reported.
    """
    column: str
    separator: str
    interests: tuple[tuple[str, str], ...]   # (interest's real name, casefolded item)
    known: frozenset[str]
    known_text: str
    known_or_empty: frozenset[str]      # known and "": a row whose items are all in it has nothing to report


def _field_checks(spec: FieldSpec, field_def: FieldDef | None) -> tuple[Check, ...]:
    """The checks one field's non-empty value goes through, in order."""
    steps: list[Check] = []
    if spec.check_as == "email" and not (field_def is not None and field_def.type == "email"):
        steps.append(checks.check_email)   # an email-type field is checked by check_value below
    if spec.phone is not None:
        from importer import phones  # phonenumbers loads only for a mapping with phones: start-up

        steps.append(phones.PhoneCheck(spec.phone.region, spec.phone.format))
    if spec.date_format:
        steps.append(_date_parser(spec.date_format, field_def, spec.timezone))
    if field_def is not None and _needs_type_check(spec, field_def):
        steps.append(checks.checker(field_def, decimal_comma=spec.decimal_comma, fix_case=spec.fix_case))
    elif field_def is None and spec.decimal_comma:
        steps.append(_comma_to_dot)
    return tuple(steps)


def _date_parser(formats: list[str], field_def: FieldDef | None, timezone: str | None) -> DateParser:
    """Dates go out as YYYY-MM-DD, with the time for datetime fields (or, without a schema, time formats)."""
    from importer.date_parser import DateParser  # only a mapping with date_format needs it

    if field_def is not None and field_def.type in DATETIME_TYPES | DATE_TYPES:
        with_time = field_def.type in DATETIME_TYPES
    else:
        with_time = any(dates.has_time(f) for f in formats)
    return DateParser(formats, with_time, timezone)


def _needs_type_check(spec: FieldSpec, field_def: FieldDef) -> bool:
    """False where check_value could not object, to keep the per-row work small."""
    if spec.date_format and field_def.type in DATE_TYPES | DATETIME_TYPES:
        return False  # the date parser already wrote a valid YYYY-MM-DD
    if field_def.type in ("text", "big", "phone") and field_def.length is None:
        return False
    return True


def _yes_no_text(values: list[str]) -> str:
    return ", ".join(Msg.EMPTY_CELL if v == "" else v for v in values)


class RowConverter:
    """Turns a ``Row`` into a ``Profile`` or a ``RowError``; build with ``compile_mapping``.

    An empty cell is not sent: its field is absent from ``Profile.fields``,
    except for fields marked ``blank_existing``, which appear there as ""
    and are listed in ``Profile.empty_fields`` (an update blanks them, a
    create leaves them out). Interests read from an empty cell are "off" and
    listed in ``Profile.empty_interests``: an update leaves them alone unless
    the interest is marked ``blank_existing``.
    """

    def __init__(self, mapping: Mapping, fields: list[_FieldRule], constants: dict[str, str],
                 yes_no_interests: list[_YesNoInterest], interest_constants: dict[str, int],
                 list_columns: list[_ListColumn], key_fields: list[str]) -> None:
        self.mapping = mapping
        self.key_fields = key_fields            # real spelling, in key order
        self._fields = tuple(fields)
        self._constants = constants
        self._yes_no_interests = tuple(yes_no_interests)
        self._interest_constants = interest_constants
        self._list_columns = tuple(list_columns)
        # what notes() says about the whole file
        self._blanks: dict[str, Tally] = {}
        self._digits: dict[str, DigitLengths] = {r.name: DigitLengths() for r in fields if r.watch_zeros}
        # the fields and interests a profile may hold, real spelling, in mapping order
        self.field_names = [r.name for r in fields] + [n for n in constants if n not in {r.name for r in fields}]
        self.interest_names = list(dict.fromkeys(
            [r.name for r in yes_no_interests] + list(interest_constants)
            + [name for lc in list_columns for name, _ in lc.interests]))
        # the rules as plain tuples, their checks as one callable (the per-row loop reads them often)
        self._rules = tuple((r.name, r.column, r.transform, r.checks, r.required, r.is_key,
                             r.on_invalid, r.blank_existing, r.watch_zeros) for r in fields)
        # what can make a row invalid: the first pass of `duplicates: last` needs only these
        self._deciding = tuple(rule for rule, r in zip(self._rules, fields)
                               if r.is_key or r.required or (r.checks and r.on_invalid == "reject"))
        self._key_rules = tuple(rule for rule, r in zip(self._rules, fields) if r.is_key)

    def __call__(self, row: Row) -> Profile | RowError:
        if row.problem is not None:
            return RowError(row.number, (row.problem,))
        cells = row.values
        values = dict(self._constants)
        problems: list[Reason] = []
        warnings: list[Reason] = []
        blanks: list[str] = []
        keys: dict[str, str] = {}
        self._read_fields(self._rules, row.number, cells, values, problems, warnings, blanks, keys)
        interests = dict(self._interest_constants)
        empty_interests: set[str] = set()
        self._read_yes_no(row.number, cells, interests, problems, empty_interests)
        if self._list_columns:
            self._read_lists(cells, interests, warnings, empty_interests)
        key = key_text([keys[name] for name in self.key_fields]) if self.key_fields else ""
        if problems:
            return RowError(row.number, tuple(problems), key)
        return Profile(row.number, key, values, interests, frozenset(blanks), warnings,
                       empty_interests=frozenset(empty_interests))

    def key_only(self, row: Row) -> str | None:
        """The row's key as ``__call__`` makes it, or None when the key itself (or the
        row's shape) makes the row invalid; the other cells are not read."""
        if row.problem is not None:
            return None
        problems: list[Reason] = []
        keys: dict[str, str] = {}
        self._read_fields(self._key_rules, row.number, row.values, {}, problems, [], [], keys, notes=False)
        if problems:
            return None
        return key_text([keys[name] for name in self.key_fields]) if self.key_fields else ""

    def valid_key(self, row: Row) -> str | None:
        """``Profile.key`` of the row, or None when it would be a ``RowError``:
        what ``__call__`` decides, reading only the cells that can make a row
        invalid (the first pass of ``duplicates: last``)."""
        if row.problem is not None:
            return None
        cells = row.values
        problems: list[Reason] = []
        keys: dict[str, str] = {}
        self._read_fields(self._deciding, row.number, cells, {}, problems, [], [], keys, notes=False)
        if not problems and self._yes_no_interests:
            self._read_yes_no(row.number, cells, {}, problems, set(), notes=False)
        if problems:
            return None
        return key_text([keys[name] for name in self.key_fields]) if self.key_fields else ""

    def _read_fields(self, rules: tuple, row: int, cells: dict[str, str], values: dict[str, str],
                     problems: list[Reason], warnings: list[Reason], blanks: list[str], keys: dict[str, str],
                     *, notes: bool = True) -> None:
        """The fields of one row; ``notes``: count what ``notes()`` reports (not in a first pass)."""
        for name, column, transform, steps, required, is_key, on_invalid, blank_existing, watch_zeros in rules:
            value = cells.get(column, "")
            if transform is not None:
                try:
                    value = transform(value)
                except Exception as exc:  # noqa: BLE001 -- one cell cannot stop a run: this row is invalid
                    keys[name] = value
                    problems.append(_not_converted(exc, name, column, value))
                    continue
            if is_key:
                if value != value.strip():
                    # Copernica's look-ups ignore the spaces around a key ("Smith " is looked up as
                    # "Smith"): stored with them, the person could never be found again
                    warnings.append(Reason("key_trimmed", Msg.KEY_TRIMMED, {"column": column, "value": value}))
                    value = value.strip()
                keys[name] = value
            if value == "":
                if is_key:
                    problems.append(Reason("empty_key", Msg.EMPTY_KEY, {"field": name, "column": column}))
                elif required:
                    problems.append(Reason("empty_required", Msg.EMPTY_BUT_REQUIRED, {"column": column}))
                elif blank_existing:
                    # sent as "" by an update only; a create leaves out what is in empty_fields
                    values[name] = ""
                    blanks.append(name)
                continue
            if notes and watch_zeros and value.isdigit() and value.isascii():
                self._digits[name].add(row, value)
            if steps:
                try:
                    for check in steps:
                        value = check(value)
                except checks.ValueProblem as exc:
                    problem = exc.reason.within(Msg.IN_COLUMN, column=column, value=dates.shown(cells.get(column, "")))
                    if on_invalid == "reject":
                        problems.append(problem)
                        continue
                    if on_invalid == "omit":
                        warnings.append(_noted("value_omitted", Msg.OMITTED, problem))
                        continue
                    warnings.append(_noted("sent_anyway", Msg.SENT_ANYWAY, problem))
                except Exception as exc:  # noqa: BLE001 -- one cell cannot stop a run: this row is invalid
                    problems.append(_not_converted(exc, name, column, cells.get(column, "")))
                    continue
            values[name] = value
            if is_key:
                keys[name] = value

    def _read_yes_no(self, row: int, cells: dict[str, str], interests: dict[str, int], problems: list[Reason],
                     empty_interests: set[str], *, notes: bool = True) -> None:
        for rule in self._yes_no_interests:
            cell = cells.get(rule.column, "")
            folded = cell.strip().casefold()
            if folded == "":
                # switches nothing: "off" for a new profile (which does not have it anyway), and an
                # update leaves it alone unless the interest is blank_existing (the sender reads empty_interests)
                empty_interests.add(rule.name)
                interests[rule.name] = 0
                if rule.required:
                    problems.append(Reason("empty_required", Msg.EMPTY_YES_NO_REQUIRED,
                                           {"column": rule.column, "interest": rule.name, "value": ""}))
                elif notes and "" not in rule.falsy:  # "" among the falsy values: the mapping says it means off
                    self._blanks.setdefault(rule.name, Tally()).add(row)
                continue
            if folded in rule.truthy:
                interests[rule.name] = 1
            elif folded in rule.falsy:
                interests[rule.name] = 0
            else:
                problem = Reason("not_yes_no", Msg.NOT_YES_NO,
                                 {"value": dates.shown(cell), "interest": rule.name,
                                  "truthy": rule.allowed_text[0], "falsy": rule.allowed_text[1]})
                problems.append(problem.within(Msg.IN_COLUMN, column=rule.column, value=dates.shown(cell)))

    def notes(self) -> list[Reason]:
        """What the rows converted so far show as a whole: empty yes/no cells that switched nothing,
        numbers that lost their leading zeros."""
        return file_notes(self._blanks, self._digits, {r.name: r.column for r in self._yes_no_interests},
                          {r.name: r.column for r in self._fields})

    def _read_lists(self, cells: dict[str, str], interests: dict[str, int], warnings: list[Reason],
                    empty_interests: set[str]) -> None:
        for list_column in self._list_columns:
            cell = cells.get(list_column.column, "")
            if cell.strip() == "":
                empty_interests.update(name for name, _ in list_column.interests)
            # a JSON array (ListCell) brings its items; a cell is split at the separator
            items = [item.strip() for item in getattr(cell, "items", None) or cell.split(list_column.separator)]
            folded = {item.casefold() for item in items}
            for name, wanted in list_column.interests:
                interests[name] = 1 if wanted in folded else 0
            if folded <= list_column.known_or_empty:
                continue   # every item taken (the usual case)
            for item in items:  # said, not silently dropped
                if item and item.casefold() not in list_column.known:
                    warnings.append(Reason("unmatched_item", Msg.UNMATCHED_ITEM,
                                           {"column": list_column.column, "value": dates.shown(item),
                                            "known": list_column.known_text}))


def _not_converted(exc: Exception, field: str, column: str, cell: str) -> Reason:
    """A cell no check foresaw (a converter's error other than ``ValueProblem``): the row's problem,
    never the run's; the details go to the log."""
    log.debug("column %r, field %r: the value could not be converted", column, field, exc_info=exc)
    why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Reason("not_converted", Msg.NOT_CONVERTED, {"value": dates.shown(cell), "field": field, "why": why}
                  ).within(Msg.IN_COLUMN, column=column, value=dates.shown(cell))


def _noted(code: str, template: str, problem: Reason) -> Reason:
    """A value sent anyway or left out (``on_invalid``): the check's sentence and code kept inside."""
    return Reason(code, template, {"inner": problem.message, "cause": problem.code})


# ------------------------------------------------------------------ compile

def compile_mapping(mapping: Mapping, headers: list[str], schema: DatabaseSchema | None = None) -> RowConverter:
    """Fit ``mapping`` to a file with ``headers`` and (when given) a database's structure.

    Raises ``MappingError`` when mapped columns are missing from the file or a
    constant does not fit its field, and ``SchemaError`` when mapped fields or
    interests do not exist in the database. Each lists every problem at once.
    """
    check_columns(mapping, headers)
    field_defs = resolve(mapping, schema, "field", list(mapping.fields))
    interest_names = resolve(mapping, schema, "interest", list(mapping.interests))
    real_field = {name: (d.name if d is not None else name) for name, d in field_defs.items()}
    real_interest = {name: (d.name if d is not None else name) for name, d in interest_names.items()}
    key_folded = {k.casefold() for k in mapping.key}

    fields: list[_FieldRule] = []
    constants: dict[str, str] = {}
    for name, spec in mapping.fields.items():
        field_def = field_defs[name]
        check_blank_existing(mapping, name, spec, field_def)
        if spec.value is not None:
            constants[real_field[name]] = checked_constant(mapping, name, spec, field_def)
            continue
        fields.append(_FieldRule(
            name=real_field[name], column=spec.column or "",
            transform=transforms.chain(transforms.build_transform(t, tables=mapping.tables()) for t in spec.transform),
            checks=_field_checks(spec, field_def), required=spec.required,
            is_key=name.casefold() in key_folded, on_invalid=spec.on_invalid,
            blank_existing=spec.blank_existing, watch_zeros=may_lose_zeros(spec, field_def)))

    yes_no: list[_YesNoInterest] = []
    interest_constants: dict[str, int] = {}
    for name, ispec in mapping.interests.items():
        if ispec.value is not None:
            interest_constants[real_interest[name]] = interest_constant(ispec.value)
        elif ispec.contains is None:
            yes_no.append(_YesNoInterest(
                name=real_interest[name], column=ispec.column or "",
                truthy=frozenset(folded(v) for v in ispec.truthy),
                falsy=frozenset(folded(v) for v in ispec.falsy),
                allowed_text=(_yes_no_text(ispec.truthy), _yes_no_text(ispec.falsy)), required=ispec.required))

    key_fields = [real_field[mapped_name(mapping, k)] for k in mapping.key]
    return RowConverter(mapping, fields, constants, yes_no, interest_constants,
                        _list_columns(mapping, real_interest), key_fields)


def _list_columns(mapping: Mapping, real_interest: dict[str, str]) -> list[_ListColumn]:
    by_column: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name, spec in mapping.interests.items():
        if spec.contains is not None and spec.column is not None:
            by_column.setdefault((spec.column, spec.separator), []).append((name, spec.contains.strip()))
    return [_ListColumn(column=column, separator=separator,
                        interests=tuple((real_interest[name], item.casefold()) for name, item in pairs),
                        known=frozenset(item.casefold() for _, item in pairs),
                        known_text=", ".join(item for _, item in pairs),
                        known_or_empty=frozenset(item.casefold() for _, item in pairs) | {""})
            for (column, separator), pairs in by_column.items()]
