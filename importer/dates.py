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
- ``DateParser``: a cell read with the mapping's ``date_format`` (one or
  more), written as Copernica wants it.
- ``date_format_candidates`` / ``propose_date_formats``: the formats a value
  (a column's sample) fits; ``copernica-import init`` proposes the formats
  that together cover a column, day-first or month-first as the cells that
  settle it say (a first number over 12 is a day), and lists the cells no
  format covers. Unpadded days and months (1-3-1975) are read by the same
  formats as padded ones.
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
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from importer.models import Reason

MONTHS = ("January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December")
ISO_DATE = "%Y-%m-%d"
DEFAULT_TIMEZONE = "UTC"
VALUE_SHOWN = 60             # characters of a value quoted in a message, at most


class Msg:
    """Every sentence about a date ('{value}' is the cell as ``shown`` writes it)."""
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
    # a mapping's date_format (DateParser; the mapping adds the column)
    NOT_IN_FORMS = "'{value}' is not a date in the form {forms}"
    NOT_REAL = "'{value}' is not a real date ({why}); expected the form {forms}"
    FITS_TWO_FORMATS = ("'{value}' fits more than one date format of this field ({readings}); "
                        "keep only one of them in the mapping")
    READING = "{moment} as {form}"
    HAS_TIME = ("'{value}' has a time of day ({time}), but this field holds dates only and Copernica would "
                "drop the time; map it to a datetime field or leave the time out of date_format")
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
_DIRECTIVE = re.compile(r"%(.)")
TIME_DIRECTIVES = frozenset("HIMSpfz")
_YEAR_DIRECTIVES = frozenset("YyG")   # what strptime counts as a year
_NO_YEAR = 1900                      # the year strptime gives a format without one
_YEAR_GLUE = "/"


def human_date_format(fmt: str) -> str:
    """'%d-%m-%Y' -> 'DD-MM-YYYY', for messages."""
    return _DIRECTIVE.sub(lambda m: _HUMAN_DIRECTIVES.get(m.group(1), m.group(0)), fmt)


def has_time(fmt: str) -> bool:
    return bool(set(_DIRECTIVE.findall(fmt)) & TIME_DIRECTIVES)


def strptime(text: str, fmt: str) -> datetime:
    """``datetime.strptime(text, fmt)``, also for a format with a day of the month but no year.

    Python 3.13 warns about such a format (it cannot read 29 February) and
    3.15 will refuse it or change its default year. The year strptime has
    always given it, 1900, is then put in front of both the text and the
    format: the same texts are read, as the same moments, and a ``ValueError``
    names the text and the format that were given.
    """
    directives = set(_DIRECTIVE.findall(fmt))
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
    and by ``guess_date_format``.
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


def guess_date_format(values: list[str]) -> tuple[str | None, list[str], int]:
    """(the one format every readable value fits, or None; the formats tied; count of unreadable values).

    ISO values need no format: (None, [], n). Values that are no date at all
    (a typo such as 30-02-1985) do not spoil the guess for the others.
    """
    readable = [c for c in (date_format_candidates(v) for v in values) if c]
    unreadable = len(values) - len(readable)
    if not readable or all(c[0].startswith(ISO_DATE) for c in readable):
        return None, [], unreadable
    counts = Counter(fmt for candidates in readable for fmt in candidates)
    fitting_all = [fmt for fmt, n in counts.items() if n == len(readable)]
    if len(fitting_all) == 1:
        return fitting_all[0], fitting_all, unreadable
    if len(fitting_all) > 1:
        return None, sorted(fitting_all), unreadable
    return None, [], len(values)


@dataclass
class DateProposal:
    """What ``propose_date_formats`` found in a column's sample.

    ``formats``: the formats that together read the readable values, the most
    used first; ``uncovered``: values that no proposed format reads (not dates,
    dates that are not real, or the minority of a column that writes day-first
    and month-first both); ``undecided``: the day-first and the month-first
    format when no value settles which one the column uses (then neither is in
    ``formats``); ``settled_by``: a value that settled it ('25-12-1980').
    """
    formats: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    settled_by: str = ""
    order: str | None = None       # "day" or "month" first, as settled_by shows; None when nothing settled it
    counts: dict[str, int] = field(default_factory=dict)   # format -> values it reads

    @property
    def zoned(self) -> bool:
        """True when a proposed format reads a time zone (%z)."""
        return any("%z" in f for f in self.formats)


def _order(fmt: str) -> str | None:
    """'day' for a day-first format (%d before %m), 'month' for month-first, None for year-first."""
    day, month, year = fmt.find("%d"), fmt.find("%m"), fmt.find("%Y")
    if year < day and year < month:
        return None
    return "day" if day < month else "month"


def propose_date_formats(values: list[str]) -> DateProposal:
    """The ``date_format`` list that reads a column, from a sample of its values.

    ["25-12-1980", "1-3-1975", "1980-12-25"] -> formats ["%d-%m-%Y", "%Y-%m-%d"]:
    every value keeps its own shape, and whether two short numbers are day
    and month or month and day is decided by the values that can only be read
    one way (25-12-1980 is day-first). When no value settles it, both are in
    ``undecided`` and the values that need it are left out of ``formats``.
    """
    proposal = DateProposal()
    readable: list[tuple[str, list[str]]] = []
    for value in values:
        candidates = date_format_candidates(value)
        if candidates:
            readable.append((value, candidates))
        else:
            proposal.uncovered.append(value)
    settled = {"day": [], "month": []}
    for value, candidates in readable:
        orders = {_order(c) for c in candidates}
        if len(candidates) == 1 and None not in orders:
            settled[_order(candidates[0]) or "day"].append(value)
    if settled["day"] and settled["month"]:
        order = "day" if len(settled["day"]) >= len(settled["month"]) else "month"
    elif settled["day"] or settled["month"]:
        order = "day" if settled["day"] else "month"
    else:
        order = None
    if order is not None:
        proposal.settled_by, proposal.order = settled[order][0], order
    counts: Counter[str] = Counter()
    for value, candidates in readable:
        fitting = [c for c in candidates if _order(c) in (None, order)]
        if order is None and len(candidates) > 1:
            proposal.undecided = sorted(set(proposal.undecided) | set(candidates))
            continue
        if not fitting:
            proposal.uncovered.append(value)   # month-first in a day-first column, or the other way round
            continue
        counts[fitting[0]] += 1
    proposal.formats = [fmt for fmt, _ in counts.most_common()]
    proposal.counts = dict(counts)
    return proposal


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


# ---------------------------------------------------------------- with date_format

# directives read with a regular expression instead of strptime, which is several times slower
_FAST_DIRECTIVES = {"d": r"(?P<day>[0-9]{1,2})", "m": r"(?P<month>[0-9]{1,2})", "Y": r"(?P<year>[0-9]{4})",
                    "H": r"(?P<hour>[0-9]{1,2})", "M": r"(?P<minute>[0-9]{1,2})",
                    "S": r"(?P<second>[0-9]{1,2})"}


def _fast_source(fmt: str, prefix: str = "") -> str | None:
    """A regular expression equivalent to ``fmt`` for plain numeric formats (its groups
    named ``prefix`` + year, month, ...), else None."""
    directives = _DIRECTIVE.findall(fmt)
    if (not {"d", "m", "Y"} <= set(directives) or any(d not in _FAST_DIRECTIVES for d in directives)
            or len(set(directives)) != len(directives)):
        return None
    pieces = _DIRECTIVE.split(fmt)  # literal, directive, literal, ...
    return "".join(_FAST_DIRECTIVES[p].replace("(?P<", "(?P<" + prefix) if i % 2 else re.escape(p)
                   for i, p in enumerate(pieces))


def _fast_pattern(fmt: str) -> re.Pattern[str] | None:
    """A regular expression equivalent to ``fmt`` for plain numeric formats, else None."""
    source = _fast_source(fmt)
    return re.compile(source) if source is not None else None


def zone(name: str):
    """The time zone called ``name`` (UTC without the system's zone data); ``ValueError`` says why not."""
    if name.strip().upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(Msg.UNKNOWN_TIMEZONE.format(name=name)) from None


class NotARealDate(ValueError):
    """The text has the format's shape but names no real day (31-02-1980); str() says why."""


_PARTS = ("year", "month", "day", "hour", "minute", "second")
_DIGIT_RUNS = re.compile(r"[0-9]+")
SHAPES_KEPT = 256            # distinct text shapes a DateParser remembers its candidate formats for


def text_shape(text: str) -> str:
    """``text`` with every run of digits as one '#': '25-12-1980' -> '#-#-#'.

    A numeric format can only read a text of its own shape (its directives
    are runs of digits, its other characters literal), so a parser tries
    only the formats of the text's shape."""
    return _DIGIT_RUNS.sub("#", text)


def _run_lengths(fmt: str) -> tuple[tuple[int, int], ...]:
    """The shortest and longest length of each run of digits a numeric format reads."""
    runs: list[tuple[int, int]] = []
    open_run = False
    for n, piece in enumerate(_DIRECTIVE.split(fmt)):
        for lo, hi in ([(4, 4) if piece == "Y" else (1, 2)] if n % 2 else
                       [(1, 1) if ch.isdigit() else (0, 0) for ch in piece]):
            if hi == 0:
                open_run = False
            elif open_run:
                runs[-1] = (runs[-1][0] + lo, runs[-1][1] + hi)
            else:
                runs.append((lo, hi))
                open_run = True
    return tuple(runs)


class _DateFormat:
    __slots__ = ("fmt", "fast", "positions", "shape", "runs")

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.fast = _fast_pattern(fmt)
        # where each part is among the pattern's groups (-1: not in this format)
        self.positions = tuple(self.fast.groupindex.get(part, 0) - 1 for part in _PARTS) if self.fast else ()
        self.shape = text_shape(_DIRECTIVE.sub("0", fmt)) if self.fast else None
        self.runs = _run_lengths(fmt) if self.fast else ()

    def may_read_alike(self, other: "_DateFormat") -> bool:
        """False when no text fits both numeric formats (another shape, or digit runs
        of lengths that cannot be the same)."""
        return self.shape == other.shape and all(
            max(a[0], b[0]) <= min(a[1], b[1]) for a, b in zip(self.runs, other.runs))

    def parse(self, text: str) -> datetime | None:
        """The moment ``text`` holds in this format; None when it has another shape."""
        if self.fast is None:
            try:
                return strptime(text, self.fmt)
            except ValueError:
                return None
        match = self.fast.fullmatch(text)
        if match is None:
            return None
        groups = match.groups()
        year, month, day, hour, minute, second = (int(groups[i]) if i >= 0 else 0 for i in self.positions)
        try:
            return datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise NotARealDate(why_not_real(year, month, day)) from None


def _iso(moment: datetime, with_time: bool) -> str:
    # f-string formatting: strftime costs several microseconds per call
    text = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    return f"{text} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}" if with_time else text


class DateParser:
    """Reads a cell with one or more ``strptime`` formats and writes it as Copernica wants.

    The output is ``YYYY-MM-DD`` (``with_time``: ``YYYY-MM-DD HH:MM:SS``).
    Formats are tried together, not in turn: a value that two of them read
    as different dates (03-04-1980 with both %d-%m-%Y and %m-%d-%Y) is a
    problem, never a guess. Problems raise ``ValueProblem``.
    """

    # Always read as well: Copernica's own form, which is also how date cells of a
    # workbook come out of the reader. A four-digit year first cannot be confused
    # with any day-first or month-first format.
    ISO_FORMATS = (ISO_DATE, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")

    def __init__(self, formats: Iterable[str], with_time: bool, timezone: str | None = None) -> None:
        given = list(dict.fromkeys(formats))
        self.forms = " or ".join(human_date_format(f) for f in given)
        self.formats = tuple(_DateFormat(f) for f in given + [f for f in self.ISO_FORMATS if f not in given])
        self.with_time = with_time
        self.zone = zone(timezone or DEFAULT_TIMEZONE)
        self._by_shape: dict[str, tuple[_DateFormat, ...]] = {}
        self._quick, self._quick_parts = self._quick_pattern()

    def _quick_pattern(self) -> tuple[re.Pattern[str] | None, dict[str, tuple[int, ...]]]:
        """One regular expression for the numeric formats that no other format could read
        alike, when every format is numeric: a text it reads is read by that format only,
        so the date is written from the digits at once. Anything else takes the full way."""
        if any(f.fast is None for f in self.formats):
            return None, {}
        sources = {f"F{n}": _fast_source(f.fmt, f"F{n}_") for n, f in enumerate(self.formats)
                   if not any(g is not f and f.may_read_alike(g) for g in self.formats)}
        if not sources:
            return None, {}
        pattern = re.compile("|".join(f"(?P<{name}>{source})" for name, source in sources.items()))
        # each part's position in match.groups() (-1: not in that format)
        parts = {name: tuple(pattern.groupindex.get(f"{name}_{part}", 0) - 1 for part in _PARTS)
                 for name in sources}
        return pattern, parts

    def _quick_read(self, match: re.Match[str]) -> str | None:
        """The date as Copernica wants it, from the digits the quick pattern matched;
        None when the full way must say what is wrong (no such day, a time in a date field)."""
        groups = match.groups()
        y, m, d, h, mi, s = self._quick_parts[match.lastgroup or ""]
        year, month, day = groups[y], groups[m], groups[d]
        if h < 0 and mi < 0 and s < 0:   # a format without a time of day
            try:
                date(int(year), int(month), int(day))
            except ValueError:
                return None
            date_text = f"{year}-{month.zfill(2)}-{day.zfill(2)}"
            return date_text + " 00:00:00" if self.with_time else date_text
        hour, minute, second = (groups[h] if h >= 0 else "0"), (groups[mi] if mi >= 0 else "0"), \
            (groups[s] if s >= 0 else "0")
        try:
            datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        except ValueError:
            return None
        if self.with_time:
            return f"{year}-{month.zfill(2)}-{day.zfill(2)} {hour.zfill(2)}:{minute.zfill(2)}:{second.zfill(2)}"
        if int(hour) or int(minute) or int(second):
            return None
        return f"{year}-{month.zfill(2)}-{day.zfill(2)}"

    def _candidates(self, text: str) -> tuple[_DateFormat, ...]:
        """The formats that can read ``text``, in the mapping's order: those of its
        shape and those read by strptime (the same readings as trying them all)."""
        shape = text_shape(text)
        found = self._by_shape.get(shape)
        if found is None:
            found = tuple(f for f in self.formats if f.fast is None or f.shape == shape)
            if len(self._by_shape) < SHAPES_KEPT:
                self._by_shape[shape] = found
        return found

    def __call__(self, value: str) -> str:
        text = value.strip()
        if self._quick is not None:
            match = self._quick.fullmatch(text)
            if match is not None:
                done = self._quick_read(match)
                if done is not None:
                    return done
        readings: dict[datetime, str] = {}
        not_real = ""
        for date_format in self._candidates(text):
            try:
                moment = date_format.parse(text)
            except NotARealDate as exc:
                not_real = not_real or str(exc)
                continue
            if moment is not None:
                readings.setdefault(moment, date_format.fmt)
        if len(readings) == 1:
            moment = next(iter(readings))
            if moment.tzinfo is not None:
                # a datetime field gets the moment in the mapping's zone; a date keeps the date as written
                moment = (moment.astimezone(self.zone) if self.with_time else moment).replace(tzinfo=None)
            if not self.with_time and moment.time() != datetime.min.time():
                raise value_problem("date_has_time", Msg.HAS_TIME, value, time=moment.strftime("%H:%M:%S"))
            return _iso(moment, self.with_time)
        raise self._problem(value, readings, not_real)

    def _problem(self, value: str, readings: dict[datetime, str], not_real: str) -> ValueProblem:
        if readings:
            described = " or ".join(Msg.READING.format(moment=_iso(m, self.with_time), form=human_date_format(f))
                                    for m, f in readings.items())
            return value_problem("ambiguous_date", Msg.FITS_TWO_FORMATS, value, readings=described)
        if not_real:
            return value_problem("invalid_date", Msg.NOT_REAL, value, why=not_real, forms=self.forms)
        return value_problem("invalid_date", Msg.NOT_IN_FORMS, value, forms=self.forms)
