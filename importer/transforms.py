"""Named value transforms that a mapping applies to a cell before checking it.

A transform is a pure function ``str -> str``. A mapping names them in a list::

    transform: [trim, lower, {replace: {Holland: NL}}, {default: NL}]

Also here: ``DateParser``, which reads dates with a mapping's ``date_format``.

Two kinds of transform live here:

- ``SIMPLE``: used by name alone (``trim``).
- ``PARAMETERISED``: a one-key mapping ``{name: argument}``; the factory gets
  the argument and returns the transform, or raises ``TransformSpecError``
  with a sentence saying what argument it wants.

To add a transform, add a function to one of the two registries; the mapping
loader, its error messages and the README list pick it up from there.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from importer.checks import ValueProblem, quoted

Transform = Callable[[str], str]


class TransformSpecError(ValueError):
    """A transform in a mapping is unknown or has a bad argument; str() is the sentence."""


# ---------------------------------------------------------------- simple ones

# Besides ordinary whitespace, spreadsheets exported from the web carry
# zero-width spaces and byte-order marks that nobody can see in a cell.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def trim(value: str) -> str:
    """Remove spaces (and invisible characters) at both ends."""
    return value.strip().strip(_INVISIBLE).strip()


def collapse_spaces(value: str) -> str:
    """Trim, and turn every run of spaces, tabs or line breaks inside into one space."""
    return " ".join(value.split())


def digits(value: str) -> str:
    """Keep only the digits 0-9: '06-123 45' -> '0612345', '+31 6 1' -> '3161'."""
    return "".join(ch for ch in value if "0" <= ch <= "9")


_WORD_START = re.compile(r"(^|[\s\-])(\w)")
# O'Brien, D'Arcy: a single letter and an apostrophe start a name of their own
_APOSTROPHE_NAME = re.compile(r"(^|[\s\-])(\w)'(\w)")


def title(value: str) -> str:
    """Capitalise each word ('jan VAN der berg' -> 'Jan Van Der Berg', "o'brien" -> "O'Brien").

    Unlike Python's ``str.title`` it does not capitalise after every
    apostrophe ("Anne's" stays "Anne's").
    """
    lowered = value.lower()
    result = _WORD_START.sub(lambda m: m.group(1) + m.group(2).upper(), lowered)
    return _APOSTROPHE_NAME.sub(lambda m: f"{m.group(1)}{m.group(2)}'{m.group(3).upper()}", result)


SIMPLE: dict[str, Transform] = {
    "trim": trim,
    "lower": str.lower,
    "upper": str.upper,
    "title": title,
    "collapse_spaces": collapse_spaces,
    "collapse": collapse_spaces,  # short alias
    "digits": digits,
}


# ---------------------------------------------------------- with an argument

def scalar_text(value: Any) -> str:
    """A YAML scalar as the text a person typed (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def replace(argument: Any) -> Transform:
    """``{replace: {from: to, ...}}``: swap a whole cell value for another (exact match)."""
    if not isinstance(argument, dict) or not argument:
        raise TransformSpecError(
            "replace needs a list of 'from: to' pairs, for example {replace: {Holland: NL, Nederland: NL}}")
    if not all(_is_scalar(k) and _is_scalar(v) for k, v in argument.items()):
        raise TransformSpecError("replace: each 'from' and 'to' must be a single value, not a list or a mapping")
    table = {scalar_text(k): scalar_text(v) for k, v in argument.items()}
    return lambda value: table.get(value, value)


def default(argument: Any) -> Transform:
    """``{default: text}``: use ``text`` when the cell is empty."""
    if not _is_scalar(argument) or argument is None:
        raise TransformSpecError("default needs a single value, for example {default: NL}")
    fallback = scalar_text(argument)
    return lambda value: value if value != "" else fallback


def zfill(argument: Any) -> Transform:
    """``{zfill: 6}``: pad a number with leading zeros to that width ('123' -> '000123').

    Spreadsheet programs drop leading zeros of number cells; this puts them
    back so that the CSV and the Excel export of one list give the same value.
    Values that are not all digits are left alone.
    """
    try:
        width = int(scalar_text(argument))
    except ValueError:
        width = 0
    if width < 1 or isinstance(argument, bool):
        raise TransformSpecError("zfill needs a width, a whole number of 1 or more, for example {zfill: 6}")
    return lambda value: value.zfill(width) if value.isdigit() else value


PARAMETERISED: dict[str, Callable[[Any], Transform]] = {
    "replace": replace,
    "default": default,
    "zfill": zfill,
}


# ---------------------------------------------------------------- building

def known_names() -> list[str]:
    return [*SIMPLE, *PARAMETERISED]


def _unknown(name: str) -> TransformSpecError:
    close = difflib.get_close_matches(name.lower(), known_names(), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return TransformSpecError(
        f"unknown transform '{name}'{hint} (known: {', '.join(known_names())})")


def build_transform(spec: Any) -> Transform:
    """The transform a mapping entry names: ``'trim'`` or ``{'replace': {...}}``."""
    if isinstance(spec, str):
        if spec in SIMPLE:
            return SIMPLE[spec]
        if spec in PARAMETERISED:
            raise TransformSpecError(f"transform '{spec}' needs an argument, written as {{{spec}: ...}}")
        raise _unknown(spec)
    if isinstance(spec, dict) and len(spec) == 1:
        ((name, argument),) = spec.items()
        name = scalar_text(name)
        if name in PARAMETERISED:
            return PARAMETERISED[name](argument)
        if name in SIMPLE:
            raise TransformSpecError(f"transform '{name}' takes no argument; write it as just {name}")
        raise _unknown(name)
    raise TransformSpecError(
        "a transform is a name such as trim, or one name with its argument such as {default: NL}")


def chain(transforms: Iterable[Transform]) -> Transform | None:
    """One function applying ``transforms`` left to right; None when there are none."""
    steps = tuple(transforms)
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def apply_all(value: str) -> str:
        for step in steps:
            value = step(value)
        return value
    return apply_all


# ------------------------------------------------------------------- dates

class DateMessages:
    """What a date parser says about a cell (the column is added by the mapping)."""
    WRONG_FORM = "{value} is not a date in the form {forms}"
    NOT_REAL = "{value} is not a real date ({why}); expected the form {forms}"
    AMBIGUOUS = ("{value} fits more than one date format of this field ({readings}); "
                 "keep only one of them in the mapping")
    HAS_TIME = ("{value} has a time of day ({time}), but this field holds dates only and Copernica would "
                "drop the time; map it to a datetime field or leave the time out of date_format")
    NO_MONTH = "there is no month {month}"
    NO_DAY = "{month_name} {year} has no day {day}"


# strptime directives -> how a person writes them ("%d-%m-%Y" -> "DD-MM-YYYY")
_HUMAN_DIRECTIVES = {
    "d": "DD", "m": "MM", "Y": "YYYY", "y": "YY", "H": "HH", "I": "hh", "M": "mm", "S": "ss",
    "p": "AM/PM", "b": "Mon", "B": "Month", "a": "Day", "A": "Weekday", "j": "DDD", "f": "ffffff",
    "%": "%", "z": "+HHMM",
}
# directives read with a regular expression instead of strptime, which is several times slower
_FAST_DIRECTIVES = {"d": r"(?P<day>[0-9]{1,2})", "m": r"(?P<month>[0-9]{1,2})", "Y": r"(?P<year>[0-9]{4})",
                    "H": r"(?P<hour>[0-9]{1,2})", "M": r"(?P<minute>[0-9]{1,2})",
                    "S": r"(?P<second>[0-9]{1,2})"}
_DIRECTIVE = re.compile(r"%(.)")
TIME_DIRECTIVES = frozenset("HIMSpfz")


def human_date_format(fmt: str) -> str:
    """'%d-%m-%Y' -> 'DD-MM-YYYY', for messages."""
    return _DIRECTIVE.sub(lambda m: _HUMAN_DIRECTIVES.get(m.group(1), m.group(0)), fmt)


def has_time(fmt: str) -> bool:
    return bool(set(_DIRECTIVE.findall(fmt)) & TIME_DIRECTIVES)


def _fast_pattern(fmt: str) -> re.Pattern[str] | None:
    """A regular expression equivalent to ``fmt`` for plain numeric formats, else None."""
    directives = _DIRECTIVE.findall(fmt)
    if (not {"d", "m", "Y"} <= set(directives) or any(d not in _FAST_DIRECTIVES for d in directives)
            or len(set(directives)) != len(directives)):
        return None
    pieces = _DIRECTIVE.split(fmt)  # literal, directive, literal, ...
    return re.compile("".join(_FAST_DIRECTIVES[p] if i % 2 else re.escape(p) for i, p in enumerate(pieces)))


class NotARealDate(ValueError):
    """The text has the format's shape but names no real day (31-02-1980); str() says why."""


class _DateFormat:
    __slots__ = ("fmt", "fast")

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.fast = _fast_pattern(fmt)

    def parse(self, text: str) -> datetime | None:
        """The moment ``text`` holds in this format; None when it has another shape."""
        if self.fast is None:
            try:
                return datetime.strptime(text, self.fmt)
            except ValueError:
                return None
        match = self.fast.fullmatch(text)
        if match is None:
            return None
        year, month, day, hour, minute, second = (
            int(match["year"]), int(match["month"]), int(match["day"]),
            int(match.groupdict().get("hour") or 0), int(match.groupdict().get("minute") or 0),
            int(match.groupdict().get("second") or 0))
        try:
            return datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise NotARealDate(_why_not_real(year, month, day)) from None


def _why_not_real(year: int, month: int, day: int) -> str:
    if not 1 <= month <= 12:
        return DateMessages.NO_MONTH.format(month=month)
    try:
        date(year, month, day)
    except ValueError:
        return DateMessages.NO_DAY.format(month_name=date(2000, month, 1).strftime("%B"), year=year, day=day)
    return "the time is not a real time of day"


def _iso(moment: datetime, with_time: bool) -> str:
    # f-string formatting: strftime costs several microseconds per call
    text = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    return f"{text} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}" if with_time else text


class DateParser:
    """Reads a cell with one or more ``strptime`` formats and writes it as Copernica wants.

    The output is ``YYYY-MM-DD`` (``with_time``: ``YYYY-MM-DD HH:MM:SS``).
    Formats are tried together, not in turn: a value that two of them read
    as different dates (03-04-1980 with both %d-%m-%Y and %m-%d-%Y) is a
    problem, never a guess. Problems raise ``checks.ValueProblem``.
    """

    # Always read as well: Copernica's own form, which is also how date cells of a
    # workbook come out of the reader. A four-digit year first cannot be confused
    # with any day-first or month-first format.
    ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")

    def __init__(self, formats: Iterable[str], with_time: bool) -> None:
        given = list(dict.fromkeys(formats))
        self.forms = " or ".join(human_date_format(f) for f in given)
        self.formats = tuple(_DateFormat(f) for f in given + [f for f in self.ISO_FORMATS if f not in given])
        self.with_time = with_time

    def __call__(self, value: str) -> str:
        text = value.strip()
        readings: dict[datetime, str] = {}
        not_real = ""
        for date_format in self.formats:
            try:
                moment = date_format.parse(text)
            except NotARealDate as exc:
                not_real = not_real or str(exc)
                continue
            if moment is not None:
                readings.setdefault(moment, date_format.fmt)
        if len(readings) == 1:
            moment = next(iter(readings))
            if not self.with_time and moment.time() != datetime.min.time():
                raise ValueProblem(DateMessages.HAS_TIME.format(value=quoted(value),
                                                                time=moment.strftime("%H:%M:%S")))
            return _iso(moment, self.with_time)
        raise ValueProblem(self._problem(value, readings, not_real))

    def _problem(self, value: str, readings: dict[datetime, str], not_real: str) -> str:
        shown = quoted(value)
        if readings:
            described = " or ".join(f"{_iso(m, self.with_time)} as {human_date_format(f)}"
                                    for m, f in readings.items())
            return DateMessages.AMBIGUOUS.format(value=shown, readings=described)
        if not_real:
            return DateMessages.NOT_REAL.format(value=shown, why=not_real, forms=self.forms)
        return DateMessages.WRONG_FORM.format(value=shown, forms=self.forms)
