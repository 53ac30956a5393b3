"""The sandbox stores values the way Copernica silently coerces them."""
from __future__ import annotations

import pytest

from importer.sandbox import Sandbox
from importer.sandbox.coerce import parse_loose_datetime, php_float, php_int
from tests.helpers import SAMPLE_SCHEMA, SANDBOX_TOKEN, ApiClient


@pytest.fixture(scope="module")
def api():
    with Sandbox(schema=SAMPLE_SCHEMA, token=SANDBOX_TOKEN) as sb:
        yield ApiClient(sb)


@pytest.mark.parametrize("given, stored", [
    ("abc", "0"), ("  3 ", "3"), ("2.99", "2"), ("-2.99", "-2"), ("1,5", "1"), ("12abc", "12"),
    ("1e3", "1000"), ("", "0"), (7, "7"), (2.99, "2"), (True, "1"), (None, "0"),
    ("99999999999999999999", "9223372036854775807"), ("0x1A", "0"),
])
def test_integer_field_is_cast_like_php(api, given, stored):
    assert api.stored_fields(2, {"age": given})["age"] == stored


@pytest.mark.parametrize("given, stored", [
    ("abc", "0"), ("1,5", "1"), ("2.50", "2.5"), ("  -0.25kg", "-0.25"), (3, "3"), (1.75, "1.75"),
    ("", "0"),
])
def test_float_field_is_cast_like_php(api, given, stored):
    assert api.stored_fields(2, {"weight": given})["weight"] == stored


@pytest.mark.parametrize("given, stored", [
    ("yes", "yes"), ("no", "no"), ("Yes", ""), ("maybe", ""), (" yes", ""), ("", ""),
])
def test_select_outside_the_choices_is_stored_empty(api, given, stored):
    assert api.stored_fields(2, {"optin": given})["optin"] == stored


def test_select_not_given_gets_the_first_choice(api):
    fields = api.stored_fields(2, {"email": "x@y.z"})
    assert fields["optin"] == "yes"
    assert api.stored_fields(1, {})["country"] == "NL"


@pytest.mark.parametrize("given, stored", [
    ("1980-09-03", "1980-09-03"), ("1980-9-3", "1980-09-03"), ("1980/09/03", "1980-09-03"),
    ("03-09-1980", "1980-09-03"),  # dashes: day-month-year, as PHP reads it
    ("03.09.1980", "1980-09-03"),
    ("03/09/1980", "1980-03-09"),  # slashes: month/day/year, as PHP reads it
    ("1980-09-03 14:15:16", "1980-09-03"), ("3 September 1980", "1980-09-03"),
    ("19800903", "1980-09-03"),
    ("not a date", "0000-00-00"), ("2023-02-30", "0000-00-00"), ("", "0000-00-00"),
])
def test_date_field_parses_loosely_and_zeroes_the_rest(api, given, stored):
    assert api.stored_fields(2, {"birthdate": given})["birthdate"] == stored


@pytest.mark.parametrize("given, stored", [
    ("2024-05-06 07:08:09", "2024-05-06 07:08:09"), ("2024-05-06T07:08", "2024-05-06 07:08:00"),
    ("2024-05-06", "2024-05-06 00:00:00"), ("yesterday-ish", "0000-00-00 00:00:00"),
])
def test_datetime_field(api, given, stored):
    assert api.stored_fields(2, {"lastvisit": given})["lastvisit"] == stored


@pytest.mark.parametrize("field, given, stored", [
    ("anniversary", "garbage", ""), ("anniversary", "", ""), ("anniversary", "2001-02-03", "2001-02-03"),
    ("seen", "garbage", ""), ("seen", "2001-02-03 04:05:06", "2001-02-03 04:05:06"),
])
def test_empty_date_types_store_empty_for_unparseable(api, field, given, stored):
    assert api.stored_fields(2, {field: given})[field] == stored


def test_date_fields_not_given_get_their_type_default(api):
    fields = api.stored_fields(2, {})
    assert (fields["birthdate"], fields["lastvisit"]) == ("0000-00-00", "0000-00-00 00:00:00")
    assert (fields["anniversary"], fields["seen"], fields["age"]) == ("", "", "0")


def test_email_is_not_validated_and_text_keeps_spaces(api):
    fields = api.stored_fields(2, {"email": "  not an email ", "firstname": "  Ann  "})
    assert fields["email"] == "  not an email "
    assert fields["firstname"] == "  Ann  "


def test_text_longer_than_the_field_is_cut(api):
    fields = api.stored_fields(1, {"customer_number": "X" * 25, "firstname": "é" * 60})
    assert fields["customer_number"] == "X" * 20
    assert fields["firstname"] == "é" * 50


def test_unknown_fields_are_ignored_and_names_match_case_insensitively(api):
    fields = api.stored_fields(2, {"emial": "typo@x.y", "EMAIL": "right@x.y", "FirstName": "Bo"})
    assert fields["email"] == "right@x.y"
    assert fields["firstname"] == "Bo"
    assert "emial" not in fields and "EMAIL" not in fields


def test_non_text_json_values_in_text_fields(api):
    fields = api.stored_fields(2, {"firstname": 12, "lastname": True, "zipcode": None, "email": ["a"]})
    assert (fields["firstname"], fields["lastname"], fields["zipcode"], fields["email"]) == ("12", "1", "", "")


@pytest.mark.parametrize("interests, switched_on", [
    ({"football": 1, "baseball": 0}, ["football"]),
    ({"football": "1", "tennis": "0"}, ["football"]),
    ({"football": True, "tennis": False}, ["football"]),
    ({"Football": 1, "golf": 1}, ["football"]),          # case-insensitive; unknown ignored
    ({"tennis": "no"}, ["tennis"]),                      # PHP truthiness: "no" is on
    (["baseball", "newsletter", "golf"], ["newsletter", "baseball"]),  # schema order
])
def test_interests_as_object_or_list(api, interests, switched_on):
    assert api.profile(api.create(2, {}, interests))["interests"] == switched_on


def test_php_casts_directly():
    assert php_int("  -17 apples") == -17
    assert php_float(".5") == 0.5
    assert php_float("inf") == 0.0
    assert parse_loose_datetime("31-12-1999 23:59") is not None
    assert parse_loose_datetime("12/31/1999").day == 31
