"""``DateParser``: a cell read with a mapping's ``date_format`` (one or more) and written as Copernica wants it.

Formats are tried together, not in turn: a value that two of them read as
different dates is a problem, never a guess. Plain numeric formats (%d, %m,
%Y, %H, %M, %S) are read with regular expressions instead of ``strptime``,
which is several times slower: a text is tried only with the formats of its
shape (its runs of digits), and when no other format could read a text alike,
one combined pattern writes the date from its digits at once. The sentences
of a value that is no date in these formats are here; the rest of what the
importer knows about dates is in ``importer.dates``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

from importer.dates import (
    DEFAULT_TIMEZONE,
    DIRECTIVE,
    ISO_DATE,
    ValueProblem,
    human_date_format,
    strptime,
    value_problem,
    why_not_real,
    zone,
)


class Msg:
    """What reading a cell with a mapping's date_format can say (the mapping adds the column)."""
    NOT_IN_FORMS = "'{value}' is not a date in the form {forms}"
    NOT_REAL = "'{value}' is not a real date ({why}); expected the form {forms}"
    FITS_TWO_FORMATS = ("'{value}' fits more than one date format of this field ({readings}); "
                        "keep only one of them in the mapping")
    READING = "{moment} as {form}"
    HAS_TIME = ("'{value}' has a time of day ({time}), but this field holds dates only and Copernica would "
                "drop the time; map it to a datetime field or leave the time out of date_format")
    OUT_OF_RANGE = ("'{value}' is out of the range of dates that can be stored: in time zone {zone} it falls "
                    "outside the years 1 to 9999")


# directives read with a regular expression instead of strptime, which is several times slower
_FAST_DIRECTIVES = {"d": r"(?P<day>[0-9]{1,2})", "m": r"(?P<month>[0-9]{1,2})", "Y": r"(?P<year>[0-9]{4})",
                    "H": r"(?P<hour>[0-9]{1,2})", "M": r"(?P<minute>[0-9]{1,2})",
                    "S": r"(?P<second>[0-9]{1,2})"}


def _fast_source(fmt: str, prefix: str = "") -> str | None:
    """A regular expression equivalent to ``fmt`` for plain numeric formats (its groups
    named ``prefix`` + year, month, ...), else None."""
    directives = DIRECTIVE.findall(fmt)
    if (not {"d", "m", "Y"} <= set(directives) or any(d not in _FAST_DIRECTIVES for d in directives)
            or len(set(directives)) != len(directives)):
        return None
    pieces = DIRECTIVE.split(fmt)  # literal, directive, literal, ...
    return "".join(_FAST_DIRECTIVES[p].replace("(?P<", "(?P<" + prefix) if i % 2 else re.escape(p)
                   for i, p in enumerate(pieces))


def _fast_pattern(fmt: str) -> re.Pattern[str] | None:
    """A regular expression equivalent to ``fmt`` for plain numeric formats, else None."""
    source = _fast_source(fmt)
    return re.compile(source) if source is not None else None


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
    for n, piece in enumerate(DIRECTIVE.split(fmt)):
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
        self.shape = text_shape(DIRECTIVE.sub("0", fmt)) if self.fast else None
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
        self.zone_name = (timezone or DEFAULT_TIMEZONE).strip()
        self.zone = zone(self.zone_name)
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
                moment = self._in_zone(value, moment)
            if not self.with_time and moment.time() != datetime.min.time():
                raise value_problem("date_has_time", Msg.HAS_TIME, value, time=moment.strftime("%H:%M:%S"))
            return _iso(moment, self.with_time)
        raise self._problem(value, readings, not_real)

    def _in_zone(self, value: str, moment: datetime) -> datetime:
        """A datetime field gets the moment in the mapping's zone; a date keeps the date as written.
        A moment the zone moves past 1 January of the year 1 or 31 December 9999 is a problem."""
        if not self.with_time:
            return moment.replace(tzinfo=None)
        try:
            return moment.astimezone(self.zone).replace(tzinfo=None)
        except (OverflowError, ValueError):   # 'date value out of range'
            raise value_problem("invalid_date", Msg.OUT_OF_RANGE, value, zone=self.zone_name) from None

    def _problem(self, value: str, readings: dict[datetime, str], not_real: str) -> ValueProblem:
        if readings:
            described = " or ".join(Msg.READING.format(moment=_iso(m, self.with_time), form=human_date_format(f))
                                    for m, f in readings.items())
            return value_problem("ambiguous_date", Msg.FITS_TWO_FORMATS, value, readings=described)
        if not_real:
            return value_problem("invalid_date", Msg.NOT_REAL, value, why=not_real, forms=self.forms)
        return value_problem("invalid_date", Msg.NOT_IN_FORMS, value, forms=self.forms)
