"""The silent value coercions of the Copernica API, per field type.

Copernica never rejects a field value: it casts it the way PHP casts (see
COPERNICA_API.md). The sandbox reproduces that so that a value the importer
failed to check is visibly mangled here, as it would be in Copernica.
Every stored value is text, as the API returns it.

Observed-behaviour choices the sandbox makes where Copernica is silent:
- text longer than the field's ``length`` is cut to that length;
- a JSON array or object given as a field value is stored as "";
- a date that does not exist in the calendar (2023-02-30) is "unparseable";
- dates with slashes are month/day/year and with dashes or dots
  day-month-year, as PHP's strtotime reads them (03/09/1980 is 9 March,
  03-09-1980 is 3 September).

Loose dates the live API parses (COPERNICA_API.md): surrounding spaces, a
lowercase ``t`` between date and time, fractional seconds (dropped), a
one-digit minute (``03:4`` is 03:04:00), a year and month only (``2020-2`` is
2020-02-01 00:00:00). It zeroes a time cut after the colon (``2020-01-02
03:``) and a space instead of the date's dash (``2020 2``).
A select value is compared with each choice's trailing whitespace removed
(leading whitespace kept), the value as sent.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from importer.schema import CollectionSchema, DatabaseSchema, FieldDef

ZERO_DATE = "0000-00-00"
ZERO_DATETIME = "0000-00-00 00:00:00"
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1

# PHP's leading-numeric prefix: whitespace, sign, digits, fraction, exponent.
_PHP_NUMERIC_PREFIX = re.compile(r"[ \t\n\r\v\f]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")
_TIME_PART = r"(?:[ Tt](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?)?\s*$"
# (pattern, order of the year/month/day groups)
_DATE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME_PART), "ymd"),
    (re.compile(r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})" + _TIME_PART), "ymd"),
    (re.compile(r"^\s*(\d{1,2})[-.](\d{1,2})[-.](\d{4})" + _TIME_PART), "dmy"),
    (re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME_PART), "mdy"),
    (re.compile(r"^\s*(\d{4})(\d{2})(\d{2})" + _TIME_PART), "ymd"),
    (re.compile(r"^\s*(\d{4})-(\d{1,2})()\s*$"), "ymd"),          # year and month: the 1st
)
_TEXTUAL_DATE_FORMATS = ("%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%B %d, %Y", "%b %d, %Y")


def php_string(value: Any) -> str:
    """PHP's (string) cast of a decoded JSON value."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, (list, dict)):
        return ""  # sandbox choice, see the module docstring
    return str(value)


def php_truthy(value: Any) -> bool:
    """PHP truthiness: "", "0", 0, false, null and empty arrays are false."""
    if isinstance(value, str):
        return value not in ("", "0")
    return bool(value)


def php_float(value: Any) -> float:
    """PHP's floatval: the leading number of a text, 0.0 when there is none."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    match = _PHP_NUMERIC_PREFIX.match(php_string(value))
    if not match:
        return 0.0
    number = float(match.group(1))
    return number if math.isfinite(number) else 0.0


def php_int(value: Any) -> int:
    """PHP's intval: "abc" -> 0, "  3 " -> 3, "2.99" -> 2, "1,5" -> 1, "1e3" -> 1000."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return _clamp_int64(value)
    if isinstance(value, float):
        return _clamp_int64(int(value)) if math.isfinite(value) else 0
    match = _PHP_NUMERIC_PREFIX.match(php_string(value))
    if not match:
        return 0
    text = match.group(1)
    if re.fullmatch(r"[+-]?\d+", text):
        return _clamp_int64(int(text))
    number = float(text)
    return _clamp_int64(int(number)) if math.isfinite(number) else 0


def _clamp_int64(number: int) -> int:
    # PHP saturates integer strings beyond the 64-bit range
    return max(INT64_MIN, min(INT64_MAX, number))


def format_float(number: float) -> str:
    """A float as PHP prints it: 1.0 -> "1", 2.5 -> "2.5"."""
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def parse_loose_datetime(value: str) -> datetime | None:
    """A date (and time) in one of the common spellings, or None."""
    text = value.strip()
    for pattern, order in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            return _datetime_from_match(match.groups(), order)
    for fmt in _TEXTUAL_DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _datetime_from_match(groups: tuple[str | None, ...], order: str) -> datetime | None:
    parts = dict(zip(order, (int(g) if g else 1 for g in groups[:3] if g is not None)))
    hour, minute, second = (int(g) if g else 0 for g in (*groups[3:6], None, None, None)[:3])
    try:
        return datetime(parts["y"], parts["m"], parts["d"], hour, minute, second)
    except ValueError:
        return None  # not a real calendar date or time


def coerce_value(field: FieldDef, value: Any) -> str:
    """The text Copernica stores when ``value`` is sent for ``field``."""
    if field.type in ("integer", "foreign_key"):  # a foreign key holds a profile ID
        return str(php_int(value))
    if field.type == "float":
        return format_float(php_float(value))
    if field.type == "select":
        text = php_string(value)
        return text if text in {choice.rstrip() for choice in field.choices} else ""
    if field.type in ("date", "empty_date", "datetime", "empty_datetime"):
        return _coerce_date(field.type, php_string(value))
    text = php_string(value)
    if field.length is not None:
        text = text[: field.length]
    return text


def _coerce_date(field_type: str, text: str) -> str:
    parsed = parse_loose_datetime(text) if text.strip() else None
    with_time = field_type in ("datetime", "empty_datetime")
    if parsed is None:
        if field_type.startswith("empty_"):
            return ""
        return ZERO_DATETIME if with_time else ZERO_DATE
    return parsed.strftime("%Y-%m-%d %H:%M:%S") if with_time else parsed.date().isoformat()


def default_value(field: FieldDef) -> str:
    """What a new profile holds in a field it was not given."""
    if field.type == "select":
        # Copernica preselects the first choice of a select field
        return field.choices[0] if field.choices else ""
    return coerce_value(field, field.value)


def coerce_fields(database: DatabaseSchema | CollectionSchema, given: dict[str, Any]) -> dict[str, str]:
    """Given fields by their real names, coerced; unknown names are dropped silently."""
    stored: dict[str, str] = {}
    for name, value in given.items():
        field = database.field(str(name))
        if field is not None:
            stored[field.name] = coerce_value(field, value)
    return stored


def default_fields(database: DatabaseSchema | CollectionSchema) -> dict[str, str]:
    return {field.name: default_value(field) for field in database.fields}


def interest_switches(database: DatabaseSchema, given: Any) -> dict[str, bool]:
    """Real interest name -> on/off from an object (name -> 1/0) or a list of names.

    Unknown interests are dropped silently; values use PHP truthiness, so the
    text "no" switches an interest ON, as it would in Copernica.
    """
    if isinstance(given, dict):
        pairs: Iterable[tuple[Any, Any]] = given.items()
    elif isinstance(given, list):
        pairs = ((name, True) for name in given)
    else:
        return {}
    switches: dict[str, bool] = {}
    for name, on in pairs:
        interest = database.interest(php_string(name))
        if interest is not None:
            switches[interest.name] = php_truthy(on)
    return switches


def apply_switches(current: Iterable[str], switches: dict[str, bool], database: DatabaseSchema) -> list[str]:
    """The interests switched on after ``switches``, in schema order."""
    on = set(current)
    for name, state in switches.items():
        (on.add if state else on.discard)(name)
    return [i.name for i in database.interests if i.name in on]
