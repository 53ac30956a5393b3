"""Value checks: is this cell's text something Copernica stores as it is?

Copernica never rejects a value; it coerces it (COPERNICA_API.md): "12a" in
an integer field becomes 0, "Yes" for a select with choices yes/no becomes
empty, an unreadable date becomes 0000-00-00, a long text is cut off. These
pure functions catch each of those before anything is sent. They run once per
cell, so they avoid I/O and keep to cheap string work.

``check_value`` returns the text to send (normalised: "  3 " -> "3",
"1,5" -> "1.5" with ``decimal_comma``, "NL" for "nl" with ``fix_case``) or
raises ``ValueProblem``. Its ``reason`` carries a code (``not_whole_number``,
``not_a_number``, ``out_of_range``, ``not_a_choice``, ``invalid_email``,
``too_long``, and the date codes of ``importer.dates``) and the sentence,
``str(exc)``, names the value, the field and what is allowed. The sentences
live in ``Msg``; those about dates, and the date checks themselves, in
``importer.dates``.
"""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from importer import dates
from importer.dates import ValueProblem, quoted, value_problem
from importer.schema import FieldDef

__all__ = ["Msg", "ValueProblem", "check_email", "check_float", "check_integer", "check_length",
           "check_select", "check_value", "choices_text", "quoted"]

# Copernica stores integer fields in a signed 32-bit column (MySQL INT).
INT_MIN, INT_MAX = -2_147_483_648, 2_147_483_647
INT_DIGITS = len(str(INT_MAX))   # digits of the longest number within that range
CHOICES_SHOWN = 10           # a select's choices listed in a message, at most


class Msg:
    """Every sentence a value check can say, in one place ('{value}' is the value as ``dates.shown`` writes it)."""
    NOT_WHOLE = "'{value}' is not a whole number (field '{field}' holds whole numbers)"
    THOUSANDS = ("'{value}' is not a whole number (field '{field}' holds whole numbers); if the "
                 "{sep!r} separates thousands, remove it from the file{hint}")
    THOUSANDS_HINT = " or set decimal_comma: true for this field"
    INT_RANGE = ("'{value}' is too large for field '{field}' (Copernica whole-number fields hold "
                 "-2,147,483,648 to 2,147,483,647)")
    FLOAT_RANGE = ("'{value}' is too large or too small for field '{field}' (a decimal number field holds about "
                   "15 significant digits between 1e-307 and 1e308); Copernica would store 0")
    NOT_NUMBER = "'{value}' is not a number (field '{field}' holds numbers such as 12.5)"
    COMMA_WITHOUT_SETTING = ("'{value}' is not a number with a decimal point (field '{field}'); if the "
                             "file writes decimals with a comma, set decimal_comma: true for this field")
    DOT_WITH_DECIMAL_COMMA = ("'{value}' does not fit decimal_comma: true (field '{field}'): with that setting a "
                              "comma marks the decimals and a dot may only separate thousands, as in 1.234,5")
    CHOICE_CASE = ("'{value}' is not a choice of field '{field}': did you mean {choice!r}? Copernica only "
                   "accepts the exact spelling; set fix_case: true for this field to correct the case")
    CHOICE_TRAILING_SPACE = ("'{value}' matches the choice {choice!r} of field '{field}' only with its trailing "
                             "space; Copernica compares choices without their trailing spaces and would store an "
                             "empty value. Send {stripped!r}: add transform: [trim] for this field")
    CHOICE_SPACES = ("'{value}' is not a choice of field '{field}' because of the spaces around it; "
                     "add transform: [trim] for this field")
    NOT_A_CHOICE = "'{value}' is not a choice of field '{field}': allowed are {choices}"
    NO_CHOICES = "'{value}' cannot be stored: field '{field}' is a selection field without any choices"
    MORE_CHOICES = " and {count} more"
    EMAIL = "'{value}' is not a valid email address ({why})"
    EMAIL_IN_FIELD = "'{value}' is not a valid email address for field '{field}' ({why})"
    TOO_LONG = ("'{value}' is {n} characters long; field '{field}' holds at most {max}, "
                "and Copernica would cut off the rest")
    # why an email address is not valid, in a marketer's words
    EMAIL_TWO_ATS = "there is more than one @"
    EMAIL_NO_AT = "there is no @"
    EMAIL_SPACE = "it contains a space"
    EMAIL_NOTHING_BEFORE_AT = "there is nothing before the @"
    EMAIL_NOTHING_AFTER_AT = "there is nothing after the @"
    EMAIL_NO_DOT = "the part after the @ has no dot, as in example.com"
    EMAIL_TWO_DOTS = "it has two dots in a row"
    EMAIL_STARTS_WITH_DOT = "it starts with a dot"
    EMAIL_ENDS_WITH_DOT = "it ends with a dot"


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
                hint = Msg.THOUSANDS_HINT if sep == "." else ""
                raise value_problem("not_whole_number", Msg.THOUSANDS, value, field=field.name, sep=sep, hint=hint)
        raise value_problem("not_whole_number", Msg.NOT_WHOLE, value, field=field.name)
    # int() of thousands of digits raises ValueError: more digits than any 32-bit number has is out of range
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > INT_DIGITS:
        raise value_problem("out_of_range", Msg.INT_RANGE, value, field=field.name)
    number = -int(digits or "0") if text.startswith("-") else int(digits or "0")
    if not INT_MIN <= number <= INT_MAX:
        raise value_problem("out_of_range", Msg.INT_RANGE, value, field=field.name)
    return str(number)


def check_float(field: FieldDef, value: str, *, decimal_comma: bool = False) -> str:
    """A number with a decimal point ("1,5" -> "1.5" with ``decimal_comma``), without thousands separators."""
    text = value.strip()
    if decimal_comma:
        if not _COMMA_DECIMAL.fullmatch(text):
            if _PLAIN_DECIMAL.fullmatch(text):
                raise value_problem("not_a_number", Msg.DOT_WITH_DECIMAL_COMMA, value, field=field.name)
            raise value_problem("not_a_number", Msg.NOT_NUMBER, value, field=field.name)
        text = text.replace(".", "").replace(",", ".")
    elif not _PLAIN_DECIMAL.fullmatch(text):
        if _EN_GROUPED_DECIMAL.fullmatch(text) and "." in text:
            text = text.replace(",", "")  # 1,234.5: unmistakably a thousands comma
        elif _COMMA_DECIMAL.fullmatch(text) and "," in text:
            raise value_problem("not_a_number", Msg.COMMA_WITHOUT_SETTING, value, field=field.name)
        else:
            raise value_problem("not_a_number", Msg.NOT_NUMBER, value, field=field.name)
    try:
        number = Decimal(text)
    except InvalidOperation:  # the patterns above should make this unreachable
        raise value_problem("not_a_number", Msg.NOT_NUMBER, value, field=field.name) from None
    if not number.is_finite():
        raise value_problem("not_a_number", Msg.NOT_NUMBER, value, field=field.name)
    # Copernica keeps a double: beyond its range the value would become 0 or infinity
    as_double = float(number)
    if math.isinf(as_double) or (as_double == 0.0 and number != 0):
        raise value_problem("out_of_range", Msg.FLOAT_RANGE, value, field=field.name)
    # plain notation, no exponent, no float rounding: "1e3" -> "1000", ".5" -> "0.5"
    return format(number, "f")


# ---------------------------------------------------------------- select

def check_select(field: FieldDef, value: str, *, fix_case: bool = False) -> str:
    """Exactly one of the field's choices; with ``fix_case`` a case-only difference is corrected.

    Copernica compares each choice with its trailing whitespace removed (and the
    value as sent): with a choice "gold ", "gold" is stored and "gold " is
    stored empty (COPERNICA_API.md)."""
    choices = tuple(c.rstrip() for c in field.choices)
    if value in choices:
        return value
    if value in field.choices:          # only the choice's own trailing space matches
        raise value_problem("not_a_choice", Msg.CHOICE_TRAILING_SPACE, value, field=field.name,
                            choice=value, stripped=value.rstrip())
    same_but_case = [c for c in choices if c.casefold() == value.casefold()]
    if len(same_but_case) == 1:
        if fix_case:
            return same_but_case[0]
        raise value_problem("not_a_choice", Msg.CHOICE_CASE, value, field=field.name, choice=same_but_case[0])
    stripped = value.strip()
    if stripped != value and (stripped in choices or any(c.casefold() == stripped.casefold() for c in choices)):
        raise value_problem("not_a_choice", Msg.CHOICE_SPACES, value, field=field.name)
    if not choices:
        raise value_problem("not_a_choice", Msg.NO_CHOICES, value, field=field.name)
    raise value_problem("not_a_choice", Msg.NOT_A_CHOICE, value, field=field.name, choices=choices_text(choices))


def choices_text(choices: tuple[str, ...]) -> str:
    """'yes, no' or the first ten and 'and 5 more'."""
    shown = ", ".join(repr(c) if c == "" or c != c.strip() or "," in c else c for c in choices[:CHOICES_SHOWN])
    rest = len(choices) - CHOICES_SHOWN
    return shown + (Msg.MORE_CHOICES.format(count=rest) if rest > 0 else "")


# ---------------------------------------------------------------- email

_EMAIL_REASONS: tuple[tuple[str, str], ...] = (
    # email-validator's wording -> a marketer's wording; first match wins
    ("must have an @-sign", Msg.EMAIL_NO_AT),
    ("invalid characters: SPACE", Msg.EMAIL_SPACE),
    ("before the @-sign: SPACE", Msg.EMAIL_SPACE),
    ("There must be something before the @-sign", Msg.EMAIL_NOTHING_BEFORE_AT),
    ("There must be something after the @-sign", Msg.EMAIL_NOTHING_AFTER_AT),
    ("It should have a period", Msg.EMAIL_NO_DOT),
    ("two periods in a row", Msg.EMAIL_TWO_DOTS),
    ("cannot start with a period", Msg.EMAIL_STARTS_WITH_DOT),
    ("cannot end with a period", Msg.EMAIL_ENDS_WITH_DOT),
)


def check_email(value: str, field: FieldDef | None = None) -> str:
    """An email address by its syntax only (no DNS lookups); returned unchanged."""
    if value.count("@") > 1:
        raise _email_problem(value, field, Msg.EMAIL_TWO_ATS)
    if _plainly_valid_email(value):
        return value
    from email_validator import EmailNotValidError, validate_email  # at the first address that needs it

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise _email_problem(value, field, _email_reason(str(exc))) from None
    return value


def _email_problem(value: str, field: FieldDef | None, why: str) -> ValueProblem:
    if field is None:
        return value_problem("invalid_email", Msg.EMAIL, value, why=why)
    return value_problem("invalid_email", Msg.EMAIL_IN_FIELD, value, field=field.name, why=why)


# The fast path for the common address. email-validator costs ~40 us per
# call, most of it on the domain (IDNA tables); a list of a million contacts
# has a few thousand distinct domains. An address whose local part is plain
# ASCII (letters, digits, _ + - and single dots inside) and whose domain is
# plain ASCII without IDNA ("xn--", whose Unicode form may be longer) is
# valid for email-validator exactly when its domain is and the lengths fit,
# so only the domain is validated, once per distinct domain. Everything else
# takes the full check, which also words the problem. The accepted set is a
# strict subset of email-validator's (tests/test_email_check.py
# compares the two on many generated addresses).
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_PLAIN_DOMAIN = re.compile(r"[A-Za-z0-9.-]+")
EMAIL_MAX_LENGTH = 254        # RFC 5321, as email-validator counts it
EMAIL_LOCAL_MAX_LENGTH = 64


_PLAIN_EMAIL = re.compile(f"({_PLAIN_LOCAL.pattern})@({_PLAIN_DOMAIN.pattern})")


def _plainly_valid_email(value: str) -> bool:
    """True only for plain addresses email-validator certainly accepts (a local
    part and a domain as above, split at the one @: check_email refuses two)."""
    match = _PLAIN_EMAIL.fullmatch(value)
    if match is None:
        return False
    domain = match[2]
    return (len(value) <= EMAIL_MAX_LENGTH and match.end(1) <= EMAIL_LOCAL_MAX_LENGTH
            and "xn--" not in domain.lower() and _valid_email_domain(domain))


@lru_cache(maxsize=4096)   # bounded: memory stays flat however many domains a file has
def _valid_email_domain(domain: str) -> bool:
    from email_validator import EmailNotValidError, validate_email  # ~0.1 s to import: not at start-up

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
        raise value_problem("too_long", Msg.TOO_LONG, value, field=field.name, n=len(value), max=field.length)
    return value


# ---------------------------------------------------------------- dispatch

def checker(field: FieldDef, *, decimal_comma: bool = False, fix_case: bool = False) -> Callable[[str], str]:
    """``check_value`` for one field with its dispatch done once: the mapping
    calls it for every cell of a column (the same result, one call less per cell)."""
    kind = field.type
    if kind in ("integer", "foreign_key"):
        return functools.partial(check_integer, field, decimal_comma=decimal_comma)
    if kind == "float":
        return functools.partial(check_float, field, decimal_comma=decimal_comma)
    if kind == "select":
        return functools.partial(check_select, field, fix_case=fix_case)
    if kind in ("date", "empty_date"):
        return functools.partial(dates.check_date, field.name)
    if kind in ("datetime", "empty_datetime"):
        return functools.partial(dates.check_datetime, field.name)
    if kind == "email":
        def email_and_length(value: str) -> str:
            check_email(value, field)
            return check_length(field, value)
        return email_and_length
    return functools.partial(check_length, field)


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
        return dates.check_date(field.name, value, date_format=date_format)
    if kind in ("datetime", "empty_datetime"):
        return dates.check_datetime(field.name, value, date_format=date_format)
    if kind == "email":
        check_email(value, field)
    return check_length(field, value)
