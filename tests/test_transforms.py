"""Named transforms and the date parser used by mappings."""
from __future__ import annotations

import pytest

from importer import transforms
from importer.checks import ValueProblem
from importer.transforms import DateParser, TransformSpecError, build_transform, chain, human_date_format


@pytest.mark.parametrize(("name", "cell", "expected"), [
    ("trim", "  Jan \t", "Jan"),
    ("trim", "\u200b jan@example.com \ufeff", "jan@example.com"),   # invisible characters from web exports
    ("lower", "Jan@Example.COM", "jan@example.com"),
    ("upper", "nl", "NL"),
    ("title", "jan VAN der berg", "Jan Van Der Berg"),
    ("title", "o'brien", "O'Brien"),
    ("title", "anne's café", "Anne's Café"),
    ("title", "jean-luc", "Jean-Luc"),
    ("title", "ØDEGÅRD", "Ødegård"),
    ("collapse_spaces", "  Amsterdam,\n  Noord-Holland ", "Amsterdam, Noord-Holland"),
    ("collapse", "a \u00a0 b", "a b"),
    ("digits", "+31 (0)6-123 45", "310612345"),
])
def test_simple_transforms(name: str, cell: str, expected: str) -> None:
    assert build_transform(name)(cell) == expected


def test_replace_swaps_whole_values_only() -> None:
    holland = build_transform({"replace": {"Holland": "NL", "Nederland": "NL"}})
    assert holland("Holland") == "NL"
    assert holland("Nederland") == "NL"
    assert holland("Holland Park") == "Holland Park"   # not a substring replacement
    assert holland("holland") == "holland"             # exact, case included


def test_replace_turns_yaml_scalars_into_text() -> None:
    numbers = build_transform({"replace": {1: True, "0": False}})
    assert numbers("1") == "true"
    assert numbers("0") == "false"


def test_default_fills_only_empty_cells() -> None:
    fallback = build_transform({"default": "NL"})
    assert fallback("") == "NL"
    assert fallback("BE") == "BE"
    assert fallback(" ") == " "   # trim first if spaces count as empty


def test_zfill_restores_leading_zeros_of_numbers_only() -> None:
    pad = build_transform({"zfill": 6})
    assert pad("123") == "000123"
    assert pad("000123") == "000123"
    assert pad("1234567") == "1234567"
    assert pad("A-12") == "A-12"
    assert pad("") == ""


def test_chain_applies_left_to_right() -> None:
    steps = chain([build_transform("trim"), build_transform({"default": "unknown"}), build_transform("upper")])
    assert steps is not None
    assert steps("   ") == "UNKNOWN"
    assert steps(" nl ") == "NL"
    assert chain([]) is None


def test_unknown_transform_suggests_the_closest_and_lists_all() -> None:
    with pytest.raises(TransformSpecError) as caught:
        build_transform("lowr")
    message = str(caught.value)
    assert message.startswith("unknown transform 'lowr'; did you mean 'lower'?")
    for name in ("trim", "lower", "upper", "title", "collapse_spaces", "replace", "default"):
        assert name in message


def test_unknown_transform_with_argument() -> None:
    with pytest.raises(TransformSpecError, match="unknown transform 'replce'; did you mean 'replace'"):
        build_transform({"replce": {"a": "b"}})


@pytest.mark.parametrize(("spec", "message"), [
    ("replace", "transform 'replace' needs an argument"),
    ({"trim": True}, "transform 'trim' takes no argument"),
    ({"replace": "NL"}, "replace needs a list of 'from: to' pairs"),
    ({"replace": {"a": ["b"]}}, "each 'from' and 'to' must be a single value"),
    ({"default": None}, "default needs a single value"),
    ({"zfill": "six"}, "zfill needs a width"),
    ({"zfill": 0}, "zfill needs a width"),
    ({"trim": 1, "lower": 2}, "a transform is a name such as trim"),
    (["trim"], "a transform is a name such as trim"),
])
def test_bad_transform_specs_say_what_is_expected(spec: object, message: str) -> None:
    with pytest.raises(TransformSpecError, match=message):
        build_transform(spec)


def test_registry_is_extensible() -> None:
    transforms.SIMPLE["reverse"] = lambda value: value[::-1]
    try:
        assert build_transform("reverse")("abc") == "cba"
        assert "reverse" in transforms.known_names()
    finally:
        del transforms.SIMPLE["reverse"]


# ------------------------------------------------------------------- dates

def test_human_date_format() -> None:
    assert human_date_format("%d-%m-%Y") == "DD-MM-YYYY"
    assert human_date_format("%Y-%m-%d %H:%M:%S") == "YYYY-MM-DD HH:mm:ss"
    assert human_date_format("%d %B %Y") == "DD Month YYYY"


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
    with pytest.raises(ValueProblem) as caught:
        DateParser(["%d-%m-%Y"], with_time=False)("1980/12/31")
    assert str(caught.value) == "'1980/12/31' is not a date in the form DD-MM-YYYY"


def test_date_parser_explains_an_impossible_day() -> None:
    parse = DateParser(["%d-%m-%Y", "%Y-%m-%d"], with_time=False)
    with pytest.raises(ValueProblem) as caught:
        parse("31-02-1980")
    assert str(caught.value) == ("'31-02-1980' is not a real date (February 1980 has no day 31); "
                                 "expected the form DD-MM-YYYY or YYYY-MM-DD")
    with pytest.raises(ValueProblem, match="there is no month 13"):
        parse("01-13-1980")


def test_date_parser_refuses_to_guess_between_two_readings() -> None:
    parse = DateParser(["%d-%m-%Y", "%m-%d-%Y"], with_time=False)
    assert parse("25-12-1980") == "1980-12-25"   # only one reading is a real date
    assert parse("05-05-1980") == "1980-05-05"   # both readings are the same day
    with pytest.raises(ValueProblem) as caught:
        parse("03-04-1980")
    assert "fits more than one date format" in str(caught.value)
    assert "1980-04-03 as DD-MM-YYYY" in str(caught.value)
    assert "1980-03-04 as MM-DD-YYYY" in str(caught.value)
