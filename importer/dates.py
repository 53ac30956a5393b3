"""Dates: reading a cell as a date, checking it, and saying why it is none.

Everything the importer knows about dates is here:

- ``check_date`` / ``check_datetime``: a cell for a date (or datetime) field
  without a ``date_format``. Only ``YYYY-MM-DD`` (and, for datetime fields,
  ``YYYY-MM-DD HH:MM[:SS]`` or with a ``T``) is accepted. Any other form,
  even one that can be read only one way such as 25-12-1980, is a problem
  whose sentence names the ``date_format`` to add. Why not guess when only one
  reading is valid: in one column 25-12-1980 would then be read day-first and
  12-25-1980 month-first, and 03-09-1980 would be the only row rejected; a
  column has one format, and the mapping is where it is written down.
- ``DateParser`` (``importer.date_parser``): a cell read with the mapping's
  ``date_format`` (one or more), written as Copernica wants it.
- ``date_format_candidates``: the formats a value fits (which a sentence
  about a date not written as YYYY-MM-DD names);
  ``importer.date_proposals.propose_date_formats``: the formats that
  together cover a column's sample, as ``copernica-import init`` proposes
  them, day-first or month-first as the cells that settle it say (a first
  number over 12 is a day), with the cells no format covers. Unpadded days
  and months (1-3-1975) are read by the same formats as padded ones.
- Time zones: an ISO timestamp with ``Z`` or an offset (2019-11-26T04:42:59Z,
  ...+02:00) is read with a ``%z`` format. Copernica stores dates and times
  without a zone, so for a datetime field the moment is converted to the
  field's ``timezone`` (default UTC) and written without the zone; for a
  date field the date is kept as written (a birthday must not move a day
  because of the writer's offset). A value without an offset is sent as
  written, whatever ``timezone`` says.
- ``why_not_real``: the one sentence for a date that names no real day.
- ``strptime``: ``datetime.strptime`` that also reads a format with a day of
  the month but no year the way it always did, without Python 3.13's
  warning (an error from 3.15 on); ``date_format_problem`` checks a
  mapping's ``date_format`` with it.

A problem raises ``ValueProblem`` carrying a ``Reason`` (codes
``invalid_date``, ``ambiguous_date``, ``date_has_time``). ``ValueProblem``
and ``quoted`` are defined here, at the bottom of the value layer, because
``importer.checks`` calls into this module and a date that is no date must
raise the same problem as any other value; import them from
``importer.checks``.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from importer.models import Reason

MONTHS = ("January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December")
ISO_DATE = "%Y-%m-%d"
DEFAULT_TIMEZONE = "UTC"
VALUE_SHOWN = 60             # characters of a value quoted in a message, at most


class Msg:
    """Every sentence about a date ('{value}' is the cell as ``shown`` writes it; a mapping's date_format:
    ``importer.date_parser``)."""
    # a date field without date_format (check_date, check_datetime)
    NOT_A_DATE = "'{value}' is not a date (field '{field}' holds dates written as YYYY-MM-DD, such as 1980-12-25)"
    NOT_A_DATETIME = ("'{value}' is not a date and time (field '{field}' holds values written as "
                      "YYYY-MM-DD HH:MM:SS, such as 1980-12-25 14:30:00)")
    NO_SUCH_DAY = "'{value}' is not a real date (field '{field}'): {why}"
    NEEDS_FORMAT = ("'{value}' is not written as YYYY-MM-DD (field '{field}'); it reads as {reading}: "
                    "add date_format: \"{fmt}\" for this field in the mapping")
    DAY_OR_MONTH_FIRST = ("'{value}' is ambiguous (field '{field}'): it could be {first} or {second}; add "
                          "date_format: \"{fmt1}\" (day first) or \"{fmt2}\" (month first) for this field in the mapping")
    WRONG_FORMAT = ("'{value}' does not match date_format \"{fmt}\" of field '{field}' (which expects, "
                    "for example, {example})")
    TIME_IN_DATE_FIELD = ("'{value}' has a time of day, but field '{field}' holds dates only and Copernica would "
                          "drop the time; map it to a datetime field or remove the time from the file")
    # why a date is not real (why_not_real)
    NO_MONTH = "there is no month {month}"
    NO_DAY = "{month_name} {year} has no day {day}"
    NOT_A_TIME = "the time is not a real time of day"
    # a date in words
    SPOKEN = "{day} {month_name} {year}"
    # what is wrong with a date_format itself (the mapping says which one)
    FORMAT_INCOMPLETE = "it must contain a day, a month and a year"
    FORMAT_REPEATS = "it names the same part of the date more than once"
    # a mapping's timezone
    UNKNOWN_TIMEZONE = "unknown time zone {name!r}; use a name such as UTC, Europe/Amsterdam or America/New_York"


# ---------------------------------------------------------------- problems

class ValueProblem(Exception):
    """A value Copernica would store differently.

    ``reason`` says why (a code of ``REASON_TITLES``, a template, its params);
    ``str(exc)`` is the sentence for the user.
    """

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason.message


def shown(value: str) -> str:
    """A value as a sentence shows it inside quotes: line breaks visible, long ones shortened."""
    text = value.replace("\r\n", "\n").replace("\n", "\u23ce")   # ⏎ for a line break
    return text if len(text) <= VALUE_SHOWN else text[:VALUE_SHOWN - 1] + "\u2026"


def quoted(value: str) -> str:
    """A value as it appears in a message: in quotes, line breaks visible, long ones shortened."""
    return f"'{shown(value)}'"


def value_problem(code: str, template: str, value: str, **params: str | int) -> ValueProblem:
    """The problem ``template`` describes; ``{value}`` in it is ``value`` as ``shown`` writes it."""
    return ValueProblem(Reason(code, template, {"value": shown(value), **params}))


# ---------------------------------------------------------------- days

def valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def why_not_real(year: int, month: int, day: int) -> str:
    """Why a date (and time) that failed to be built is none: no such month, no such day, or else the time."""
    if not 1 <= month <= 12:
        return Msg.NO_MONTH.format(month=month)
    if valid_date(year, month, day) is None:
        return Msg.NO_DAY.format(month_name=MONTHS[month - 1], year=year, day=day)
    return Msg.NOT_A_TIME


def spoken(day: date) -> str:
    """'3 September 1980'."""
    return Msg.SPOKEN.format(day=day.day, month_name=MONTHS[day.month - 1], year=day.year)


# ---------------------------------------------------------------- formats

# strptime directives -> how a person writes them ("%d-%m-%Y" -> "DD-MM-YYYY")
_HUMAN_DIRECTIVES = {
    "d": "DD", "m": "MM", "Y": "YYYY", "y": "YY", "H": "HH", "I": "hh", "M": "mm", "S": "ss",
    "p": "AM/PM", "b": "Mon", "B": "Month", "a": "Day", "A": "Weekday", "j": "DDD", "f": "ffffff",
    "%": "%", "z": "Z or +HH:MM",
}
DIRECTIVE = re.compile(r"%(.)")
TIME_DIRECTIVES = frozenset("HIMSpfz")
_YEAR_DIRECTIVES = frozenset("YyG")   # what strptime counts as a year
_NO_YEAR = 1900                      # the year strptime gives a format without one
_YEAR_GLUE = "/"


def human_date_format(fmt: str) -> str:
    """'%d-%m-%Y' -> 'DD-MM-YYYY', for messages."""
    return DIRECTIVE.sub(lambda m: _HUMAN_DIRECTIVES.get(m.group(1), m.group(0)), fmt)


def has_time(fmt: str) -> bool:
    return bool(set(DIRECTIVE.findall(fmt)) & TIME_DIRECTIVES)


def strptime(text: str, fmt: str) -> datetime:
    """``datetime.strptime(text, fmt)``, also for a format with a day of the month but no year.

    Python 3.13 warns about such a format (it cannot read 29 February) and
    3.15 will refuse it or change its default year. The year strptime has
    always given it, 1900, is then put in front of both the text and the
    format: the same texts are read, as the same moments, and a ``ValueError``
    names the text and the format that were given.
    """
    directives = set(DIRECTIVE.findall(fmt))
    if "d" not in directives or directives & _YEAR_DIRECTIVES:
        return datetime.strptime(text, fmt)
    try:
        return datetime.strptime(f"{_NO_YEAR}{_YEAR_GLUE}{text}", f"%Y{_YEAR_GLUE}{fmt}")
    except ValueError as exc:
        # strptime quotes the text and the format: drop the year in front after each quote
        why = str(exc)
        for quote in "'\"":
            why = why.replace(f"{quote}{_NO_YEAR}{_YEAR_GLUE}", quote).replace(f"{quote}%Y{_YEAR_GLUE}", quote)
        raise ValueError(why) from None


def date_format_problem(fmt: str) -> str | None:
    """Why a mapping's ``date_format`` cannot be used (strptime's own words, or that it lacks a part), or None."""
    sample = datetime(2001, 11, 23, 14, 35, 56, tzinfo=UTC)   # aware, so that %z writes an offset
    try:
        parsed = strptime(sample.strftime(fmt), fmt)
    except ValueError as exc:
        return str(exc)
    except re.error:            # '%d-%d-%Y': the same directive twice
        return Msg.FORMAT_REPEATS
    if parsed.date() != sample.date():
        return Msg.FORMAT_INCOMPLETE
    return None


def zone(name: str):
    """The time zone called ``name`` (UTC without the system's zone data); ``ValueError`` says why not."""
    if name.strip().upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(Msg.UNKNOWN_TIMEZONE.format(name=name)) from None


# ---------------------------------------------------------------- candidates

_ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_ISO_DATETIME_RE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?")
# Two short numbers and a year, such as 03-09-1980, 3/9/1980 or 03.09.1980,
# optionally followed by a time.
_DMY_OR_MDY_RE = re.compile(r"([0-9]{1,2})([-/.])([0-9]{1,2})\2([0-9]{4})(?:( |T)([0-9]{1,2}):([0-9]{2})(:[0-9]{2})?)?")
_SLASH_ISO_RE = re.compile(r"([0-9]{4})([/.])([0-9]{1,2})\2([0-9]{1,2})")
# An ISO timestamp with fractional seconds and/or a time zone: 2019-11-26T04:42:59.123Z, ...+02:00
_ISO_STAMP_RE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})([T ])([0-9]{1,2}):([0-9]{2})"
                           r"(?::([0-9]{2})(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?")


def date_format_candidates(value: str) -> list[str]:
    """The ``date_format`` strings under which ``value`` is a real date (or date and time).

    "25-12-1980" -> ["%d-%m-%Y"]; "03-09-1980" -> ["%d-%m-%Y", "%m-%d-%Y"];
    "1980-12-25" -> ["%Y-%m-%d"]; "hello" -> []. Used by the sentences below
    and by ``importer.date_proposals``.
    """
    text = value.strip()
    iso = _ISO_DATETIME_RE.fullmatch(text)
    if iso and valid_date(int(iso[1]), int(iso[2]), int(iso[3])) and _valid_time(iso[4], iso[5], iso[6]):
        return [ISO_DATE + _time_format(text[10:11], iso[4], iso[6])]
    stamp = _ISO_STAMP_RE.fullmatch(text)
    if stamp and (stamp[8] or stamp[9]) and valid_date(int(stamp[1]), int(stamp[2]), int(stamp[3])) \
            and _valid_time(stamp[5], stamp[6], stamp[7]):
        fmt = (f"{ISO_DATE}{stamp[4]}%H:%M" + (":%S" if stamp[7] else "") + (".%f" if stamp[8] else "")
               + ("%z" if stamp[9] else ""))
        try:
            strptime(text, fmt)      # an offset such as +25:00 is no offset
        except ValueError:
            return []
        return [fmt]
    slash_iso = _SLASH_ISO_RE.fullmatch(text)
    if slash_iso and valid_date(int(slash_iso[1]), int(slash_iso[3]), int(slash_iso[4])):
        sep = slash_iso[2]
        return [f"%Y{sep}%m{sep}%d"]
    m = _DMY_OR_MDY_RE.fullmatch(text)
    if not m or not _valid_time(m[6], m[7], m[8] and m[8][1:]):
        return []
    first, sep, second, year = int(m[1]), m[2], int(m[3]), int(m[4])
    time_part = _time_format(m[5] or "", m[6], m[8])
    out = []
    if valid_date(year, second, first):
        out.append(f"%d{sep}%m{sep}%Y{time_part}")
    if valid_date(year, first, second):
        out.append(f"%m{sep}%d{sep}%Y{time_part}")
    if len(out) == 2 and first == second:
        return out[:1]           # 05-05-1980 reads the same both ways
    return out


def _valid_time(hour: str | None, minute: str | None, second: str | None) -> bool:
    """True for a real time of day (or none at all): 23:59:59 is one, 25:00 is not."""
    return int(hour or 0) <= 23 and int(minute or 0) <= 59 and int(second or 0) <= 59


def _time_format(separator: str, hour: str | None, seconds: str | None) -> str:
    if hour is None:
        return ""
    return f"{separator}%H:%M" + (":%S" if seconds else "")


# ---------------------------------------------------------------- without date_format

def check_date(field: str, value: str, *, date_format: str | None = None) -> str:
    """A real calendar date as YYYY-MM-DD for field ``field``; other forms only with ``date_format``."""
    text = value.strip()
    iso = _ISO_DATE_RE.fullmatch(text)
    if iso:
        year, month, day = int(iso[1]), int(iso[2]), int(iso[3])
        parsed = valid_date(year, month, day)
        if parsed is None:
            raise value_problem("invalid_date", Msg.NO_SUCH_DAY, value, field=field,
                                why=why_not_real(year, month, day))
        return parsed.isoformat()
    with_time = _ISO_DATETIME_RE.fullmatch(text)
    day_of = with_time and valid_date(int(with_time[1]), int(with_time[2]), int(with_time[3]))
    if with_time and day_of:
        # "1980-12-25 00:00:00" (a date cell exported with its midnight) loses nothing
        if any(int(part or 0) for part in with_time.groups()[3:]):
            raise value_problem("date_has_time", Msg.TIME_IN_DATE_FIELD, value, field=field)
        return day_of.isoformat()
    if date_format:
        parsed_with_format = _parse_with_format(field, value, date_format)
        if parsed_with_format.time() != datetime.min.time():
            raise value_problem("date_has_time", Msg.TIME_IN_DATE_FIELD, value, field=field)
        return parsed_with_format.date().isoformat()
    raise _date_problem(field, value, datetime_field=False)


def check_datetime(field: str, value: str, *, date_format: str | None = None) -> str:
    """A real date and time as YYYY-MM-DD HH:MM:SS for field ``field``; a bare date means midnight."""
    text = value.strip()
    iso = _ISO_DATETIME_RE.fullmatch(text)
    if iso:
        year, month, day = int(iso[1]), int(iso[2]), int(iso[3])
        if valid_date(year, month, day) is None:
            raise value_problem("invalid_date", Msg.NO_SUCH_DAY, value, field=field,
                                why=why_not_real(year, month, day))
        hour, minute, second = int(iso[4] or 0), int(iso[5] or 0), int(iso[6] or 0)
        try:
            return datetime(year, month, day, hour, minute, second).isoformat(sep=" ", timespec="seconds")
        except ValueError:
            raise value_problem("invalid_date", Msg.NOT_A_DATETIME, value, field=field) from None
    if date_format:
        return _parse_with_format(field, value, date_format).isoformat(sep=" ", timespec="seconds")
    raise _date_problem(field, value, datetime_field=True)


def _parse_with_format(field: str, value: str, date_format: str) -> datetime:
    try:
        return strptime(value.strip(), date_format)
    except ValueError:
        example = datetime(1980, 12, 25, 14, 30, 0, tzinfo=UTC).strftime(date_format)
        raise value_problem("invalid_date", Msg.WRONG_FORMAT, value, field=field, fmt=date_format,
                            example=example) from None


def _date_problem(field: str, value: str, *, datetime_field: bool) -> ValueProblem:
    """The most helpful sentence for a date not written as YYYY-MM-DD."""
    text = value.strip()
    candidates = date_format_candidates(text)
    if len(candidates) == 1:
        reading = strptime(text, candidates[0])
        said = spoken(reading.date()) + (reading.strftime(" %H:%M:%S") if datetime_field else "")
        return value_problem("invalid_date", Msg.NEEDS_FORMAT, value, field=field, reading=said,
                             fmt=candidates[0])
    if len(candidates) == 2:
        day_first, month_first = (strptime(text, c).date() for c in candidates)
        return value_problem("ambiguous_date", Msg.DAY_OR_MONTH_FIRST, value, field=field,
                             first=spoken(day_first), second=spoken(month_first),
                             fmt1=candidates[0], fmt2=candidates[1])
    m = _DMY_OR_MDY_RE.fullmatch(text)
    if m:  # shaped like a date, but no reading is a real day (31-31-1980, 30-02-1980)
        first, second, year = int(m[1]), int(m[3]), int(m[4])
        return value_problem("invalid_date", Msg.NO_SUCH_DAY, value, field=field,
                             why=why_not_real(year, second, first))
    template = Msg.NOT_A_DATETIME if datetime_field else Msg.NOT_A_DATE
    return value_problem("invalid_date", template, value, field=field)
