"""Spreadsheet cell values to the text a person sees in Excel (General format).

Rules (chosen so a value survives the trip into Copernica unchanged):
- empty cell -> ""; text -> unchanged (spaces kept: transforms decide);
- TRUE/FALSE for booleans, as Excel shows them;
- integral numbers without ".0" and never in scientific notation
  (31612345678, not 31612345678.0 or 3.16E+10);
- other numbers with at most 15 significant digits (what Excel shows, so
  0.1+0.2 stored as 0.30000000000000004 reads 0.3), never scientific (1E-07 -> 0.0000001);
- a date -> YYYY-MM-DD; a date-time -> YYYY-MM-DD HH:MM:SS, or just the date
  when the time is exactly midnight (date cells come back as midnight datetimes);
- a time -> HH:MM:SS; a duration ([h]:mm:ss) -> H:MM:SS.
Times are rounded to the second: Excel stores them as fractions of a day,
which come back as 10:59:59.999999 for 11:00:00.

Two number formats change what a person sees so much that the General text
would be a different value (``formatted_number``): zero padding ("000000":
123 shows as 000123, a customer number or zip code) and percentages ("0%":
0.15 shows as 15%).
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

_HALF_SECOND = dt.timedelta(microseconds=500_000)


def cell_to_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):          # before int: bool is an int
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_to_text(value)
    if isinstance(value, dt.datetime):   # before date: datetime is a date
        return datetime_to_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return time_to_text(value)
    if isinstance(value, dt.timedelta):
        return duration_to_text(value)
    return str(value)


_ZERO_PADDED = re.compile(r"0+")
_PERCENT = re.compile(r"0(?:\.(0+))?%")


def formatted_number(value: object, number_format: str | None) -> str | None:
    """The text of a number cell whose format pads it with zeros or shows it as
    a percentage, as Excel displays it; None for every other case."""
    if not number_format or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if _ZERO_PADDED.fullmatch(number_format) and float(value).is_integer():
        digits = str(abs(int(value))).zfill(len(number_format))
        return f"-{digits}" if value < 0 else digits
    percent = _PERCENT.fullmatch(number_format)
    if percent:
        decimals = len(percent.group(1) or "")
        return f"{Decimal(repr(value)) * 100:.{decimals}f}%"
    return None


def number_to_text(number: float) -> str:
    if number != number or number in (float("inf"), float("-inf")):
        return str(number)               # cannot come from Excel; keep it visible
    if number.is_integer():
        return str(int(number))
    shown = format(number, ".15g")
    if "e" in shown or "E" in shown:
        shown = format(Decimal(shown), "f")
    return shown


def datetime_to_text(value: dt.datetime) -> str:
    try:
        rounded = (value + _HALF_SECOND).replace(microsecond=0) if value.microsecond else value
    except OverflowError:                # 9999-12-31 23:59:59.6 has no next second: keep the last one
        rounded = value.replace(microsecond=0)
    if rounded.time() == dt.time(0, 0):
        return rounded.date().isoformat()
    # isoformat, not strftime: strftime writes the year 33 as '33', not '0033'
    return rounded.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def time_to_text(value: dt.time) -> str:
    seconds = value.hour * 3600 + value.minute * 60 + value.second + round(value.microsecond / 1e6)
    seconds = min(seconds, 24 * 3600 - 1)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def duration_to_text(value: dt.timedelta) -> str:
    seconds = round(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
