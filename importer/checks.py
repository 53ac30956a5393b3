"""Value checks: is this cell's text something Copernica stores as it is?

Copernica never rejects a value; it coerces it (COPERNICA_API.md): "12a" in
an integer field becomes 0, "Yes" for a select with choices yes/no becomes
empty, an unreadable date becomes 0000-00-00, a long text is cut off. These
pure functions catch each of those before anything is sent. They run once per
cell, so they avoid I/O and keep to cheap string work.

``check_value`` returns the text to send (normalised: "  3 " -> "3",
"1,5" -> "1.5" with ``decimal_comma``, "NL" for "nl" with ``fix_case``) or
raises ``ValueProblem`` whose text is one plain-English sentence naming the
value, the field and what is allowed. All sentences live in ``Messages``.

Dates: only ``YYYY-MM-DD`` (and, for datetime fields, ``YYYY-MM-DD HH:MM[:SS]``
or with a ``T``) is accepted without a ``date_format``. Any other form, even
one that can be read only one way such as 25-12-1980, is a problem whose
message names the ``date_format`` to add. Why not guess when only one reading
is valid: in one column 25-12-1980 would then be read day-first and 12-25-1980
month-first, and 03-09-1980 would be the only row rejected; a column has one
format, and the mapping is where it is written down. ``copernica-import init``
proposes the format from the file's values (see ``date_format_candidates``).
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from importer.schema import FieldDef

# Copernica stores integer fields in a signed 32-bit column (MySQL INT).
INT_MIN, INT_MAX = -2_147_483_648, 2_147_483_647
CHOICES_SHOWN = 10           # a select's choices listed in a message, at most
VALUE_SHOWN = 60             # characters of a value quoted in a message, at most

MONTHS = ("January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December")


class Messages:
    """Every sentence a value check can say, in one place (easy to read, test, translate)."""
    NOT_WHOLE = "{v} is not a whole number (field {f} holds whole numbers)"
    THOUSANDS = ("{v} is not a whole number (field {f} holds whole numbers); if the "
                 "{sep!r} separates thousands, remove it from the file{hint}")
    THOUSANDS_HINT = " or set decimal_comma: true for this field"
    INT_RANGE = ("{v} is too large for field {f} (Copernica whole-number fields hold "
                 f"{INT_MIN:,} to {INT_MAX:,})")
    FLOAT_RANGE = ("{v} is too large or too small for field {f} (a decimal number field holds about "
                   "15 significant digits between 1e-307 and 1e308); Copernica would store 0")
    NOT_NUMBER = "{v} is not a number (field {f} holds numbers such as 12.5)"
    COMMA_WITHOUT_SETTING = ("{v} is not a number with a decimal point (field {f}); if the "
                             "file writes decimals with a comma, set decimal_comma: true for this field")
    DOT_WITH_DECIMAL_COMMA = ("{v} does not fit decimal_comma: true (field {f}): with that setting a "
                              "comma marks the decimals and a dot may only separate thousands, as in 1.234,5")
    CHOICE_CASE = ("{v} is not a choice of field {f}: did you mean {choice!r}? Copernica only accepts "
                   "the exact spelling; set fix_case: true for this field to correct the case")
    CHOICE_SPACES = ("{v} is not a choice of field {f} because of the spaces around it; "
                     "add transform: [trim] for this field")
    NOT_A_CHOICE = "{v} is not a choice of field {f}: allowed are {choices}"
    NO_CHOICES = "{v} cannot be stored: field {f} is a selection field without any choices"
    NOT_A_DATE = "{v} is not a date (field {f} holds dates written as YYYY-MM-DD, such as 1980-12-25)"
    NOT_A_DATETIME = ("{v} is not a date and time (field {f} holds values written as "
                      "YYYY-MM-DD HH:MM:SS, such as 1980-12-25 14:30:00)")
    NO_SUCH_DAY = "{v} is not a real date (field {f}): {why}"
    DATE_NEEDS_FORMAT = ("{v} is not written as YYYY-MM-DD (field {f}); it reads as {reading}: "
                         "add date_format: \"{fmt}\" for this field in the mapping")
    DATE_AMBIGUOUS = ("{v} is ambiguous (field {f}): it could be {first} or {second}; add "
                      "date_format: \"{fmt1}\" (day first) or \"{fmt2}\" (month first) for this field in the mapping")
    DATE_WRONG_FORMAT = "{v} does not match date_format \"{fmt}\" of field {f} (which expects, for example, {example})"
    DATE_HAS_TIME = ("{v} has a time of day, but field {f} holds dates only and Copernica would drop "
                     "the time; map it to a datetime field or remove the time from the file")
    EMAIL = "{v} is not a valid email address ({why})"
    EMAIL_IN_FIELD = "{v} is not a valid email address for field {f} ({why})"
    TOO_LONG = ("{v} is {n} characters long; field {f} holds at most {max}, "
                "and Copernica would cut off the rest")


class ValueProblem(Exception):
    """A value Copernica would store differently; ``str(exc)`` is the sentence for the user."""


# ---------------------------------------------------------------- helpers

def quoted(value: str) -> str:
    """A value as it appears in a message: in quotes, line breaks visible, long ones shortened."""
    shown = value.replace("\r\n", "\n").replace("\n", "\u23ce")   # ⏎ for a line break
    if len(shown) > VALUE_SHOWN:
        shown = shown[:VALUE_SHOWN - 1] + "\u2026"
    return f"'{shown}'"


def _problem(template: str, value: str, field: FieldDef | None, **extra: object) -> ValueProblem:
    f = f"'{field.name}'" if field is not None else ""
    return ValueProblem(template.format(v=quoted(value), f=f, **extra))


# ---------------------------------------------------------------- numbers

_SIGNED_DIGITS = re.compile(r"[+-]?[0-9]+")
_GROUPED = {  # thousands separator -> a number written with it, e.g. 1.234.567
    ".": re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})+"),
    ",": re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+"),
}
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_COMMA_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]+)?")
_EN_GROUPED_DECIMAL = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")


def check_integer(field: FieldDef, value: str, *, decimal_comma: bool = False) -> str:
    """A whole number within Copernica's 32-bit range, as plain digits ("007" -> "7")."""
    text = value.strip()
    if decimal_comma and _GROUPED["."].fullmatch(text):
        text = text.replace(".", "")    # the mapping says: a dot separates thousands
    if not _SIGNED_DIGITS.fullmatch(text):
        for sep, grouped in _GROUPED.items():
            if grouped.fullmatch(text):
                hint = Messages.THOUSANDS_HINT if sep == "." else ""
                raise _problem(Messages.THOUSANDS, value, field, sep=sep, hint=hint)
        raise _problem(Messages.NOT_WHOLE, value, field)
    number = int(text)
    if not INT_MIN <= number <= INT_MAX:
        raise _problem(Messages.INT_RANGE, value, field)
    return str(number)


def check_float(field: FieldDef, value: str, *, decimal_comma: bool = False) -> str:
    """A number with a decimal point ("1,5" -> "1.5" with ``decimal_comma``), without thousands separators."""
    text = value.strip()
    if decimal_comma:
        if not _COMMA_DECIMAL.fullmatch(text):
            if _PLAIN_DECIMAL.fullmatch(text):
                raise _problem(Messages.DOT_WITH_DECIMAL_COMMA, value, field)
            raise _problem(Messages.NOT_NUMBER, value, field)
        text = text.replace(".", "").replace(",", ".")
    elif not _PLAIN_DECIMAL.fullmatch(text):
        if _EN_GROUPED_DECIMAL.fullmatch(text) and "." in text:
            text = text.replace(",", "")  # 1,234.5: unmistakably a thousands comma
        elif _COMMA_DECIMAL.fullmatch(text) and "," in text:
            raise _problem(Messages.COMMA_WITHOUT_SETTING, value, field)
        else:
            raise _problem(Messages.NOT_NUMBER, value, field)
    try:
        number = Decimal(text)
    except InvalidOperation:  # the patterns above should make this unreachable
        raise _problem(Messages.NOT_NUMBER, value, field) from None
    if not number.is_finite():
        raise _problem(Messages.NOT_NUMBER, value, field)
    # Copernica keeps a double: beyond its range the value would become 0 or infinity
    as_double = float(number)
    if math.isinf(as_double) or (as_double == 0.0 and number != 0):
        raise _problem(Messages.FLOAT_RANGE, value, field)
    # plain notation, no exponent, no float rounding: "1e3" -> "1000", ".5" -> "0.5"
    return format(number, "f")


# ---------------------------------------------------------------- select

def check_select(field: FieldDef, value: str, *, fix_case: bool = False) -> str:
    """Exactly one of the field's choices; with ``fix_case`` a case-only difference is corrected."""
    choices = field.choices
    if value in choices:
        return value
    same_but_case = [c for c in choices if c.casefold() == value.casefold()]
    if len(same_but_case) == 1:
        if fix_case:
            return same_but_case[0]
        raise _problem(Messages.CHOICE_CASE, value, field, choice=same_but_case[0])
    stripped = value.strip()
    if stripped != value and (stripped in choices or any(c.casefold() == stripped.casefold() for c in choices)):
        raise _problem(Messages.CHOICE_SPACES, value, field)
    if not choices:
        raise _problem(Messages.NO_CHOICES, value, field)
    raise _problem(Messages.NOT_A_CHOICE, value, field, choices=choices_text(choices))


def choices_text(choices: tuple[str, ...]) -> str:
    """'yes, no' or the first ten and 'and 5 more'."""
    shown = ", ".join(repr(c) if c == "" or c != c.strip() or "," in c else c for c in choices[:CHOICES_SHOWN])
    rest = len(choices) - CHOICES_SHOWN
    return shown + (f" and {rest} more" if rest > 0 else "")


# ---------------------------------------------------------------- dates

ISO_DATE = "%Y-%m-%d"
_ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_ISO_DATETIME_RE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?")
# Two short numbers and a year, such as 03-09-1980, 3/9/1980 or 03.09.1980,
# optionally followed by a time.
_DMY_OR_MDY_RE = re.compile(r"([0-9]{1,2})([-/.])([0-9]{1,2})\2([0-9]{4})(?:( |T)([0-9]{1,2}):([0-9]{2})(:[0-9]{2})?)?")
_SLASH_ISO_RE = re.compile(r"([0-9]{4})([/.])([0-9]{1,2})\2([0-9]{1,2})")


def _spoken(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _why_not_a_day(year: int, month: int, day: int) -> str:
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    return f"{MONTHS[month - 1]} {year} has no day {day}"


def date_format_candidates(value: str) -> list[str]:
    """The ``date_format`` strings under which ``value`` is a real date (or date and time).

    "25-12-1980" -> ["%d-%m-%Y"]; "03-09-1980" -> ["%d-%m-%Y", "%m-%d-%Y"];
    "1980-12-25" -> ["%Y-%m-%d"]; "hello" -> []. Used by the messages below and
    by ``init`` to propose a format that fits every sample of a column.
    """
    text = value.strip()
    iso = _ISO_DATETIME_RE.fullmatch(text)
    if iso and _valid_date(int(iso[1]), int(iso[2]), int(iso[3])):
        return [ISO_DATE + _time_format(text[10:11], iso[4], iso[6])]
    slash_iso = _SLASH_ISO_RE.fullmatch(text)
    if slash_iso and _valid_date(int(slash_iso[1]), int(slash_iso[3]), int(slash_iso[4])):
        sep = slash_iso[2]
        return [f"%Y{sep}%m{sep}%d"]
    m = _DMY_OR_MDY_RE.fullmatch(text)
    if not m:
        return []
    first, sep, second, year = int(m[1]), m[2], int(m[3]), int(m[4])
    time_part = _time_format(m[5] or "", m[6], m[8])
    out = []
    if _valid_date(year, second, first):
        out.append(f"%d{sep}%m{sep}%Y{time_part}")
    if _valid_date(year, first, second):
        out.append(f"%m{sep}%d{sep}%Y{time_part}")
    if len(out) == 2 and first == second:
        return out[:1]           # 05-05-1980 reads the same both ways
    return out


def _time_format(separator: str, hour: str | None, seconds: str | None) -> str:
    if hour is None:
        return ""
    return f"{separator}%H:%M" + (":%S" if seconds else "")


def check_date(field: FieldDef, value: str, *, date_format: str | None = None) -> str:
    """A real calendar date as YYYY-MM-DD; other forms only with the mapping's ``date_format``."""
    text = value.strip()
    iso = _ISO_DATE_RE.fullmatch(text)
    if iso:
        year, month, day = int(iso[1]), int(iso[2]), int(iso[3])
        parsed = _valid_date(year, month, day)
        if parsed is None:
            raise _problem(Messages.NO_SUCH_DAY, value, field, why=_why_not_a_day(year, month, day))
        return parsed.isoformat()
    with_time = _ISO_DATETIME_RE.fullmatch(text)
    day_of = with_time and _valid_date(int(with_time[1]), int(with_time[2]), int(with_time[3]))
    if with_time and day_of:
        # "1980-12-25 00:00:00" (a date cell exported with its midnight) loses nothing
        if any(int(part or 0) for part in with_time.groups()[3:]):
            raise _problem(Messages.DATE_HAS_TIME, value, field)
        return day_of.isoformat()
    if date_format:
        parsed_with_format = _parse_with_format(field, value, date_format)
        if parsed_with_format.time() != datetime.min.time():
            raise _problem(Messages.DATE_HAS_TIME, value, field)
        return parsed_with_format.date().isoformat()
    raise _date_problem(field, value, datetime_field=False)


def check_datetime(field: FieldDef, value: str, *, date_format: str | None = None) -> str:
    """A real date and time as YYYY-MM-DD HH:MM:SS; a bare date means midnight."""
    text = value.strip()
    iso = _ISO_DATETIME_RE.fullmatch(text)
    if iso:
        year, month, day = int(iso[1]), int(iso[2]), int(iso[3])
        if _valid_date(year, month, day) is None:
            raise _problem(Messages.NO_SUCH_DAY, value, field, why=_why_not_a_day(year, month, day))
        hour, minute, second = int(iso[4] or 0), int(iso[5] or 0), int(iso[6] or 0)
        try:
            return datetime(year, month, day, hour, minute, second).isoformat(sep=" ", timespec="seconds")
        except ValueError:
            raise _problem(Messages.NOT_A_DATETIME, value, field) from None
    if date_format:
        return _parse_with_format(field, value, date_format).isoformat(sep=" ", timespec="seconds")
    raise _date_problem(field, value, datetime_field=True)


def _parse_with_format(field: FieldDef, value: str, date_format: str) -> datetime:
    try:
        return datetime.strptime(value.strip(), date_format)
    except ValueError:
        example = datetime(1980, 12, 25, 14, 30, 0).strftime(date_format)
        raise _problem(Messages.DATE_WRONG_FORMAT, value, field, fmt=date_format, example=example) from None


def _date_problem(field: FieldDef, value: str, *, datetime_field: bool) -> ValueProblem:
    """The most helpful sentence for a date not written as YYYY-MM-DD."""
    text = value.strip()
    candidates = date_format_candidates(text)
    if len(candidates) == 1:
        reading = datetime.strptime(text, candidates[0])
        shown = _spoken(reading.date()) + (reading.strftime(" %H:%M:%S") if datetime_field else "")
        return _problem(Messages.DATE_NEEDS_FORMAT, value, field, reading=shown, fmt=candidates[0])
    if len(candidates) == 2:
        day_first, month_first = (datetime.strptime(text, c).date() for c in candidates)
        return _problem(Messages.DATE_AMBIGUOUS, value, field, first=_spoken(day_first),
                        second=_spoken(month_first), fmt1=candidates[0], fmt2=candidates[1])
    m = _DMY_OR_MDY_RE.fullmatch(text)
    if m:  # shaped like a date, but no reading is a real day (31-31-1980, 30-02-1980)
        first, second, year = int(m[1]), int(m[3]), int(m[4])
        return _problem(Messages.NO_SUCH_DAY, value, field, why=_why_not_a_day(year, second, first))
    return _problem(Messages.NOT_A_DATETIME if datetime_field else Messages.NOT_A_DATE, value, field)


# ---------------------------------------------------------------- email

_EMAIL_REASONS: tuple[tuple[str, str], ...] = (
    # email-validator's wording -> a marketer's wording; first match wins
    ("must have an @-sign", "there is no @"),
    ("invalid characters: SPACE", "it contains a space"),
    ("before the @-sign: SPACE", "it contains a space"),
    ("There must be something before the @-sign", "there is nothing before the @"),
    ("There must be something after the @-sign", "there is nothing after the @"),
    ("It should have a period", "the part after the @ has no dot, as in example.com"),
    ("two periods in a row", "it has two dots in a row"),
    ("cannot start with a period", "it starts with a dot"),
    ("cannot end with a period", "it ends with a dot"),
)


def check_email(value: str, field: FieldDef | None = None) -> str:
    """An email address by its syntax only (no DNS lookups); returned unchanged."""
    template = Messages.EMAIL if field is None else Messages.EMAIL_IN_FIELD
    if value.count("@") > 1:
        raise _problem(template, value, field, why="there is more than one @")
    if _plainly_valid_email(value):
        return value
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise _problem(template, value, field, why=_email_reason(str(exc))) from None
    return value


# The fast path for the common address. email-validator costs ~40 us per
# call, most of it on the domain (IDNA tables); a list of a million contacts
# has a few thousand distinct domains. An address whose local part is plain
# ASCII (letters, digits, _ + - and single dots inside) and whose domain is
# plain ASCII without IDNA ("xn--", whose Unicode form may be longer) is
# valid for email-validator exactly when its domain is and the lengths fit,
# so only the domain is validated, once per distinct domain. Everything else
# takes the full check, which also words the problem. The accepted set is a
# strict subset of email-validator's (tests/test_checks_email_fast.py
# compares the two on many generated addresses).
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_PLAIN_DOMAIN = re.compile(r"[A-Za-z0-9.-]+")
EMAIL_MAX_LENGTH = 254        # RFC 5321, as email-validator counts it
EMAIL_LOCAL_MAX_LENGTH = 64


def _plainly_valid_email(value: str) -> bool:
    """True only for plain addresses email-validator certainly accepts."""
    local, _, domain = value.partition("@")
    return (len(value) <= EMAIL_MAX_LENGTH and len(local) <= EMAIL_LOCAL_MAX_LENGTH
            and _PLAIN_LOCAL.fullmatch(local) is not None and _PLAIN_DOMAIN.fullmatch(domain) is not None
            and "xn--" not in domain.lower() and _valid_email_domain(domain))


@lru_cache(maxsize=4096)   # bounded: memory stays flat however many domains a file has
def _valid_email_domain(domain: str) -> bool:
    try:
        validate_email("x@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _email_reason(validator_message: str) -> str:
    for needle, reason in _EMAIL_REASONS:
        if needle in validator_message:
            return reason
    # otherwise email-validator's own sentence, made to fit inside brackets
    reason = validator_message.strip().rstrip(".")
    reason = reason.replace("The email address ", "it ").replace("An email address ", "it ")
    return reason[:1].lower() + reason[1:]


# ---------------------------------------------------------------- text

def check_length(field: FieldDef, value: str) -> str:
    """Text no longer than the field's ``length``, since Copernica cuts off the rest."""
    if field.length is not None and len(value) > field.length:
        raise _problem(Messages.TOO_LONG, value, field, n=len(value), max=field.length)
    return value


# ---------------------------------------------------------------- dispatch

def check_value(field: FieldDef, value: str, *, decimal_comma: bool = False, fix_case: bool = False,
                date_format: str | None = None) -> str:
    """The text to send for ``value`` in ``field``, or ``ValueProblem`` saying what is wrong.

    Never called with "" (an empty cell means "not sent"). ``date_format`` is
    optional: a value already written as YYYY-MM-DD is always accepted, so
    calling this after the mapping converted a date is harmless.
    """
    kind = field.type
    if kind in ("integer", "foreign_key"):
        return check_integer(field, value, decimal_comma=decimal_comma)
    if kind == "float":
        return check_float(field, value, decimal_comma=decimal_comma)
    if kind == "select":
        return check_select(field, value, fix_case=fix_case)
    if kind in ("date", "empty_date"):
        return check_date(field, value, date_format=date_format)
    if kind in ("datetime", "empty_datetime"):
        return check_datetime(field, value, date_format=date_format)
    if kind == "email":
        check_email(value, field)
    return check_length(field, value)
