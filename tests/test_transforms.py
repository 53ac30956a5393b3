"""Named transforms used by mappings (the date parser is tested in test_dates.py)."""
from __future__ import annotations

import pytest

from importer import transforms
from importer.transforms import TransformSpecError, build_transform, chain


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
