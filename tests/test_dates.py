"""Dates: a mapping's date_format, the formats a value fits, why a date is none, and strptime without a year.

The ISO checks of date and datetime fields are tested through ``check_value``
in test_value_checks.py; a date_format through a whole run at the end.
"""
from __future__ import annotations

import warnings
from datetime import datetime

import pytest

from importer.checks import ValueProblem
from importer.client import CopernicaClient
from importer.date_parser import DateParser
from importer.date_proposals import guess_date_format
from importer.dates import (
    date_format_candidates,
    date_format_problem,
    human_date_format,
    strptime,
    why_not_real,
)
from importer.pacing import Pacer
from importer.runner import ImportOptions, run_import
from importer.sandbox import Sandbox
from tests.helpers import ONE_TRY, SAMPLE_SCHEMA, TOKEN, read_results, write_csv, write_mapping


def parser_problem(parse: DateParser, value: str) -> ValueProblem:
    with pytest.raises(ValueProblem) as caught:
        parse(value)
    return caught.value


# ---------------------------------------------------------------- formats

def test_human_date_format() -> None:
    assert human_date_format("%d-%m-%Y") == "DD-MM-YYYY"
    assert human_date_format("%Y-%m-%d %H:%M:%S") == "YYYY-MM-DD HH:mm:ss"
    assert human_date_format("%d %B %Y") == "DD Month YYYY"


@pytest.mark.parametrize("value, formats", [
    ("25-12-1980", ["%d-%m-%Y"]), ("12-25-1980", ["%m-%d-%Y"]),
    ("03-09-1980", ["%d-%m-%Y", "%m-%d-%Y"]), ("05/05/1980", ["%d/%m/%Y"]),
    ("1980-12-25", ["%Y-%m-%d"]), ("1980-12-25 10:00", ["%Y-%m-%d %H:%M"]),
    ("1980/12/25", ["%Y/%m/%d"]), ("31-31-1980", []), ("hello", []), ("", []),
    ("25-12-1980 23:59:59", ["%d-%m-%Y %H:%M:%S"]), ("25-12-1980 25:00", []), ("1980-12-25 10:60", []),
])
def test_date_format_candidates(value: str, formats: list[str]) -> None:
    assert date_format_candidates(value) == formats


@pytest.mark.parametrize("values, expected", [
    (["25-12-1980", "03-09-1980", "30-02-1985"], ("%d-%m-%Y", ["%d-%m-%Y"], 1)),
    (["12-25-1980", "03-09-1980"], ("%m-%d-%Y", ["%m-%d-%Y"], 0)),
    (["03-09-1980"], (None, ["%d-%m-%Y", "%m-%d-%Y"], 0)),
    (["1980-12-25", "1980-01-01"], (None, [], 0)),
    (["25-12-1980", "12-25-1980"], (None, [], 2)),
])
def test_guess_date_format(values: list[str], expected: tuple[object, ...]) -> None:
    assert guess_date_format(values) == expected


# ---------------------------------------------------------------- why a date is none

def test_one_sentence_for_a_date_that_names_no_real_day() -> None:
    assert why_not_real(1980, 13, 1) == "there is no month 13"
    assert why_not_real(1980, 2, 30) == "February 1980 has no day 30"
    assert why_not_real(1980, 2, 29) == "the time is not a real time of day"   # the day exists


# ---------------------------------------------------------------- strptime without a year

def test_a_format_without_a_year_reads_as_it_always_did_and_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # Python 3.13 warns (DeprecationWarning) for %d without a year
        assert strptime("23-11", "%d-%m") == datetime(1900, 11, 23)
        assert strptime("23-11 14:05", "%d-%m %H:%M") == datetime(1900, 11, 23, 14, 5)
        with pytest.raises(ValueError, match="day is out of range for month"):
            strptime("29-02", "%d-%m")       # 1900 was no leap year
        assert strptime("25-12-1980", "%d-%m-%Y") == datetime(1980, 12, 25)


@pytest.mark.parametrize("text, fmt, why", [
    ("23-11x", "%d-%m", "unconverted data remains: x"),
    ("2311", "%d-%m", "time data '2311' does not match format '%d-%m'"),
    ("23-11", "%d-%Q", "'Q' is a bad directive in format '%d-%Q'"),
    ("23-11", "%d-%m %", "stray % in format '%d-%m %'"),
])
def test_a_format_without_a_year_fails_in_strptimes_own_words(text: str, fmt: str, why: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as caught:
            strptime(text, fmt)
    assert str(caught.value) == why


@pytest.mark.parametrize("fmt, why", [
    ("%d-%m-%Y", None), ("%d/%m/%y", None), ("%Y-%m-%d %H:%M", None), ("%d %B %Y", None), ("%x", None),
    ("%d-%m", "it must contain a day, a month and a year"),
    ("%m-%Y", "it must contain a day, a month and a year"),
    ("%d-%m-%Q", "'Q' is a bad directive in format '%d-%m-%Q'"),
    ("%d-%Q", "'Q' is a bad directive in format '%d-%Q'"),
    ("%d-%d-%Y", "it names the same part of the date more than once"),
])
def test_date_format_problem(fmt: str, why: str | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert date_format_problem(fmt) == why


# ---------------------------------------------------------------- DateParser

def test_date_parser_writes_iso_dates() -> None:
    parse = DateParser(["%d-%m-%Y", "%Y-%m-%d"], with_time=False)
    assert parse("31-12-1980") == "1980-12-31"
    assert parse("1-2-1980") == "1980-02-01"
    assert parse(" 1980-12-31 ") == "1980-12-31"


def test_date_parser_adds_the_time_for_datetime_fields() -> None:
    assert DateParser(["%d-%m-%Y"], with_time=True)("31-12-1980") == "1980-12-31 00:00:00"
    assert DateParser(["%d/%m/%Y %H:%M"], with_time=True)("31/12/1980 14:05") == "1980-12-31 14:05:00"


def test_date_parser_uses_strptime_for_named_months() -> None:
    assert DateParser(["%d %B %Y"], with_time=False)("25 December 1980") == "1980-12-25"


def test_date_parser_names_the_expected_form() -> None:
    problem = parser_problem(DateParser(["%d-%m-%Y"], with_time=False), "1980/12/31")
    assert str(problem) == "'1980/12/31' is not a date in the form DD-MM-YYYY"
    assert problem.reason.code == "invalid_date"
    assert problem.reason.params == {"value": "1980/12/31", "forms": "DD-MM-YYYY"}


def test_date_parser_explains_an_impossible_day() -> None:
    parse = DateParser(["%d-%m-%Y", "%Y-%m-%d"], with_time=False)
    problem = parser_problem(parse, "31-02-1980")
    assert str(problem) == ("'31-02-1980' is not a real date (February 1980 has no day 31); "
                            "expected the form DD-MM-YYYY or YYYY-MM-DD")
    assert problem.reason.code == "invalid_date"
    assert "there is no month 13" in str(parser_problem(parse, "01-13-1980"))
    assert "the time is not a real time of day" in str(
        parser_problem(DateParser(["%d-%m-%Y %H:%M"], with_time=True), "01-02-1980 25:00"))


def test_date_parser_refuses_to_guess_between_two_readings() -> None:
    parse = DateParser(["%d-%m-%Y", "%m-%d-%Y"], with_time=False)
    assert parse("25-12-1980") == "1980-12-25"   # only one reading is a real date
    assert parse("05-05-1980") == "1980-05-05"   # both readings are the same day
    problem = parser_problem(parse, "03-04-1980")
    assert str(problem) == ("'03-04-1980' fits more than one date format of this field (1980-04-03 as "
                            "DD-MM-YYYY or 1980-03-04 as MM-DD-YYYY); keep only one of them in the mapping")
    assert problem.reason.code == "ambiguous_date"


def test_date_parser_refuses_a_time_in_a_date_field() -> None:
    problem = parser_problem(DateParser(["%d-%m-%Y %H:%M"], with_time=False), "31-12-1980 14:05")
    assert str(problem) == ("'31-12-1980 14:05' has a time of day (14:05:00), but this field holds dates only "
                            "and Copernica would drop the time; map it to a datetime field or leave the time "
                            "out of date_format")
    assert problem.reason.code == "date_has_time"


def test_a_date_format_also_reads_the_iso_dates_of_workbook_date_cells() -> None:
    day_first = DateParser(["%d-%m-%Y"], with_time=False)
    assert day_first("31-12-1980") == day_first("1980-12-31") == "1980-12-31"
    with pytest.raises(ValueProblem, match="DD-MM-YYYY"):
        day_first("12/31/1980")


# ---------------------------------------------------------------- through a run

def test_a_time_of_day_is_not_dropped_silently_by_a_date_format(tmp_path):
    src = write_csv(tmp_path / "in.csv", header=["Email", "Born"], rows=[["a@example.com", "03-09-1980 14:30"],
                                                          ["b@example.com", "03-09-1980 00:00"]])
    m = write_mapping(tmp_path / "m.yaml", "database: 2\nfields:\n  email: Email\n"
                                          "  birthdate: {column: Born, date_format: \"%d-%m-%Y %H:%M\"}\n")
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb, \
            CopernicaClient(sb.api_url, TOKEN, retry=ONE_TRY, pacer=Pacer(1)) as client:
        run_import(ImportOptions(file=src, mapping=m, results=tmp_path / "r.csv", workers=1,
                                 schema=SAMPLE_SCHEMA), client)
        assert [p["fields"]["birthdate"] for p in sb.profiles(2)] == ["1980-09-03"]
    first = read_results(tmp_path / "r.csv")
    invalid = next(line for line in first if line["row"] == "2")
    assert invalid["status"] == "invalid" and "has a time of day (14:30:00)" in invalid["error"]
