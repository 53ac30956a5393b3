"""Every value check, its message and its code: what Copernica would silently coerce is caught here."""
from __future__ import annotations

import json

import pytest

from importer.checks import ValueProblem, check_email, check_float, check_value, choices_text, quoted
from importer.models import REASON_TITLES, Reason
from importer.schema import FieldDef

SCORE = FieldDef(name="score", type="integer")
WEIGHT = FieldDef(name="weight", type="float")
COUNTRY = FieldDef(name="country", type="select", choices=("NL", "BE", "DE", "FR", "GB"))
BIRTHDATE = FieldDef(name="birthdate", type="empty_date")
LASTVISIT = FieldDef(name="lastvisit", type="datetime")
EMAIL = FieldDef(name="email", type="email", length=100)
CITY = FieldDef(name="city", type="text", length=10)


def problem(field: FieldDef, value: str, **options: object) -> str:
    return reason(field, value, **options).message


def reason(field: FieldDef, value: str, **options: object) -> Reason:
    with pytest.raises(ValueProblem) as caught:
        check_value(field, value, **options)  # type: ignore[arg-type]
    assert str(caught.value) == caught.value.reason.message
    return caught.value.reason


# ---------------------------------------------------------------- codes

@pytest.mark.parametrize("field, value, options, code", [
    (SCORE, "12a", {}, "not_whole_number"),
    (SCORE, "1.000", {}, "not_whole_number"),
    (SCORE, "7,5", {"decimal_comma": True}, "not_whole_number"),
    (SCORE, "2147483648", {}, "out_of_range"),
    (WEIGHT, "abc", {}, "not_a_number"),
    (WEIGHT, "1,5", {}, "not_a_number"),
    (WEIGHT, "1.5", {"decimal_comma": True}, "not_a_number"),
    (WEIGHT, "1e400", {}, "out_of_range"),
    (COUNTRY, "nl", {}, "not_a_choice"),
    (COUNTRY, " NL ", {}, "not_a_choice"),
    (COUNTRY, "Holland", {}, "not_a_choice"),
    (FieldDef(name="shop", type="select"), "x", {}, "not_a_choice"),
    (BIRTHDATE, "1980-02-30", {}, "invalid_date"),
    (BIRTHDATE, "30-02-1980", {}, "invalid_date"),
    (BIRTHDATE, "25-12-1980", {}, "invalid_date"),
    (BIRTHDATE, "next tuesday", {}, "invalid_date"),
    (BIRTHDATE, "1980/09/03", {"date_format": "%d-%m-%Y"}, "invalid_date"),
    (BIRTHDATE, "03-09-1980", {}, "ambiguous_date"),
    (BIRTHDATE, "1980-12-25 14:30", {}, "date_has_time"),
    (BIRTHDATE, "25-12-1980 14:30", {"date_format": "%d-%m-%Y %H:%M"}, "date_has_time"),
    (LASTVISIT, "1980-12-25 25:00", {}, "invalid_date"),
    (LASTVISIT, "25-12-1980 14:30", {}, "invalid_date"),
    (EMAIL, "jan@@example", {}, "invalid_email"),
    (EMAIL, "piet.example.com", {}, "invalid_email"),
    (CITY, "Amsterdam-Zuidoost", {}, "too_long"),
])
def test_every_problem_has_a_code_and_plain_params(field: FieldDef, value: str, options: dict[str, object],
                                                   code: str) -> None:
    found = reason(field, value, **options)
    assert found.code == code and code in REASON_TITLES
    # the journal stores the params as JSON: plain values that make the same sentence again
    stored = Reason.from_json(json.loads(json.dumps(found.to_json())))
    assert stored == found and stored.message == found.message


def test_params_name_the_value_and_the_field() -> None:
    assert reason(SCORE, "12a").params == {"value": "12a", "field": "score"}
    assert reason(CITY, "Amsterdam-Zuidoost").params == {"value": "Amsterdam-Zuidoost", "field": "city",
                                                         "n": 18, "max": 10}
    with pytest.raises(ValueProblem) as caught:
        check_email("jan@@example")
    assert caught.value.reason.params == {"value": "jan@@example", "why": "there is more than one @"}


# ---------------------------------------------------------------- integer

@pytest.mark.parametrize("value, sent", [
    ("3", "3"), ("  3 ", "3"), ("-12", "-12"), ("+5", "5"), ("007", "7"),
    ("2147483647", "2147483647"), ("-2147483648", "-2147483648"),
])
def test_integer_accepts_whole_numbers(value: str, sent: str) -> None:
    assert check_value(SCORE, value) == sent


@pytest.mark.parametrize("value", ["12a", "1.5", "7,5", "abc", "1 000", "٣", "1e3", "3.0"])
def test_integer_rejects_what_is_not_a_whole_number(value: str) -> None:
    assert problem(SCORE, value) == f"'{value}' is not a whole number (field 'score' holds whole numbers)"


def test_integer_with_a_thousands_dot_is_ambiguous_without_decimal_comma() -> None:
    assert problem(SCORE, "1.000") == (
        "'1.000' is not a whole number (field 'score' holds whole numbers); if the '.' separates "
        "thousands, remove it from the file or set decimal_comma: true for this field")
    assert problem(SCORE, "1,000").startswith("'1,000' is not a whole number")


def test_integer_with_decimal_comma_reads_the_dot_as_thousands() -> None:
    assert check_value(SCORE, "1.000", decimal_comma=True) == "1000"
    assert check_value(SCORE, "1.234.567", decimal_comma=True) == "1234567"
    assert problem(SCORE, "7,5", decimal_comma=True).startswith("'7,5' is not a whole number")


def test_integer_outside_32_bits_is_refused() -> None:
    assert problem(SCORE, "2147483648") == (
        "'2147483648' is too large for field 'score' (Copernica whole-number fields hold "
        "-2,147,483,648 to 2,147,483,647)")
    assert "too large" in problem(SCORE, "-2147483649")


def test_foreign_key_is_checked_as_a_whole_number() -> None:
    assert problem(FieldDef(name="parent", type="foreign_key"), "x1").startswith("'x1' is not a whole number")


# ---------------------------------------------------------------- float

@pytest.mark.parametrize("value, sent", [
    ("1.5", "1.5"), (" 12 ", "12"), ("-0.25", "-0.25"), (".5", "0.5"), ("1e3", "1000"),
    ("1,234.5", "1234.5"), ("0.1", "0.1"),
])
def test_float_accepts_decimal_point_numbers(value: str, sent: str) -> None:
    assert check_value(WEIGHT, value) == sent


@pytest.mark.parametrize("value, sent", [
    ("1,5", "1.5"), ("1.234,5", "1234.5"), ("12", "12"), ("1.234", "1234"), ("-0,25", "-0.25"),
])
def test_float_with_decimal_comma(value: str, sent: str) -> None:
    assert check_value(WEIGHT, value, decimal_comma=True) == sent


@pytest.mark.parametrize("value", ["abc", "1.2.3", "inf", "nan", "1,5,5", "12kg"])
def test_float_rejects_non_numbers(value: str) -> None:
    assert problem(WEIGHT, value) == f"'{value}' is not a number (field 'weight' holds numbers such as 12.5)"


def test_float_comma_without_the_setting_gives_the_hint() -> None:
    assert problem(WEIGHT, "1,5") == (
        "'1,5' is not a number with a decimal point (field 'weight'); if the file writes decimals "
        "with a comma, set decimal_comma: true for this field")


def test_float_dot_decimal_with_decimal_comma_setting_is_refused() -> None:
    assert problem(WEIGHT, "1.5", decimal_comma=True) == (
        "'1.5' does not fit decimal_comma: true (field 'weight'): with that setting a comma marks "
        "the decimals and a dot may only separate thousands, as in 1.234,5")


# ---------------------------------------------------------------- select

def test_select_exact_choice_is_sent_as_it_is() -> None:
    assert check_value(COUNTRY, "NL") == "NL"


def test_select_case_only_difference_names_the_choice_meant() -> None:
    assert problem(COUNTRY, "nl") == (
        "'nl' is not a choice of field 'country': did you mean 'NL'? Copernica only accepts the "
        "exact spelling; set fix_case: true for this field to correct the case")


def test_select_fix_case_returns_the_real_choice() -> None:
    assert check_value(COUNTRY, "nl", fix_case=True) == "NL"
    assert check_value(FieldDef(name="optin", type="select", choices=("yes", "no")), "YES", fix_case=True) == "yes"


def test_select_fix_case_does_not_make_up_other_values() -> None:
    assert problem(COUNTRY, "Holland", fix_case=True) == (
        "'Holland' is not a choice of field 'country': allowed are NL, BE, DE, FR, GB")


def test_select_with_spaces_around_suggests_trim() -> None:
    assert problem(COUNTRY, " NL ") == (
        "' NL ' is not a choice of field 'country' because of the spaces around it; "
        "add transform: [trim] for this field")


def test_select_lists_only_the_first_ten_choices() -> None:
    many = FieldDef(name="shop", type="select", choices=tuple(f"shop{i}" for i in range(13)))
    message = problem(many, "other")
    assert message.endswith("allowed are shop0, shop1, shop2, shop3, shop4, shop5, shop6, shop7, "
                            "shop8, shop9 and 3 more")


def test_choices_text_quotes_choices_that_would_otherwise_be_unreadable() -> None:
    assert choices_text(("a, b", "c")) == "'a, b', c"


def test_select_two_choices_differing_only_in_case_are_not_guessed() -> None:
    tricky = FieldDef(name="size", type="select", choices=("S", "s", "M"))
    assert problem(tricky, "S ").startswith("'S ' is not a choice")
    with pytest.raises(ValueProblem):
        check_value(FieldDef(name="x", type="select", choices=("Ab", "aB")), "ab", fix_case=True)


# ---------------------------------------------------------------- dates

@pytest.mark.parametrize("value, sent", [
    ("1980-12-25", "1980-12-25"), ("1980-1-5", "1980-01-05"), (" 2000-02-29 ", "2000-02-29"),
    ("1980-12-25 00:00:00", "1980-12-25"),
])
def test_date_accepts_iso_dates(value: str, sent: str) -> None:
    assert check_value(BIRTHDATE, value) == sent
    assert check_value(FieldDef(name="d", type="date"), value) == sent


def test_date_that_does_not_exist_is_refused() -> None:
    assert problem(BIRTHDATE, "1980-02-30") == "'1980-02-30' is not a real date (field 'birthdate'): February 1980 has no day 30"
    assert problem(BIRTHDATE, "1981-13-01") == "'1981-13-01' is not a real date (field 'birthdate'): there is no month 13"
    assert problem(BIRTHDATE, "30-02-1980") == "'30-02-1980' is not a real date (field 'birthdate'): February 1980 has no day 30"


def test_ambiguous_day_month_date_is_an_error_not_a_guess() -> None:
    assert problem(BIRTHDATE, "03-09-1980") == (
        "'03-09-1980' is ambiguous (field 'birthdate'): it could be 3 September 1980 or 9 March 1980; "
        "add date_format: \"%d-%m-%Y\" (day first) or \"%m-%d-%Y\" (month first) for this field in the mapping")


def test_readable_non_iso_date_still_asks_for_a_date_format() -> None:
    assert problem(BIRTHDATE, "25-12-1980") == (
        "'25-12-1980' is not written as YYYY-MM-DD (field 'birthdate'); it reads as 25 December 1980: "
        "add date_format: \"%d-%m-%Y\" for this field in the mapping")
    assert "date_format: \"%m/%d/%Y\"" in problem(BIRTHDATE, "12/25/1980")
    assert "date_format: \"%d.%m.%Y\"" in problem(BIRTHDATE, "25.12.1980")


def test_date_with_a_time_of_day_would_lose_the_time() -> None:
    assert problem(BIRTHDATE, "1980-12-25 14:30") == (
        "'1980-12-25 14:30' has a time of day, but field 'birthdate' holds dates only and Copernica "
        "would drop the time; map it to a datetime field or remove the time from the file")


def test_unreadable_date() -> None:
    assert problem(BIRTHDATE, "next tuesday") == (
        "'next tuesday' is not a date (field 'birthdate' holds dates written as YYYY-MM-DD, such as 1980-12-25)")


def test_date_with_date_format() -> None:
    assert check_value(BIRTHDATE, "03-09-1980", date_format="%d-%m-%Y") == "1980-09-03"
    assert check_value(BIRTHDATE, "1980-09-03", date_format="%d-%m-%Y") == "1980-09-03"  # already converted
    assert problem(BIRTHDATE, "1980/09/03", date_format="%d-%m-%Y") == (
        "'1980/09/03' does not match date_format \"%d-%m-%Y\" of field 'birthdate' "
        "(which expects, for example, 25-12-1980)")


def test_a_day_first_date_with_an_impossible_time_is_a_problem_not_a_crash() -> None:
    for field in (BIRTHDATE, LASTVISIT):
        assert problem(field, "25-12-1980 25:00") == (
            f"'25-12-1980 25:00' is not a real date (field '{field.name}'): the time is not a real time of day")


@pytest.mark.parametrize("value, sent", [
    ("1980-12-25 14:30:05", "1980-12-25 14:30:05"), ("1980-12-25 14:30", "1980-12-25 14:30:00"),
    ("1980-12-25T14:30:05", "1980-12-25 14:30:05"), ("1980-12-25", "1980-12-25 00:00:00"),
])
def test_datetime_accepts_iso_forms(value: str, sent: str) -> None:
    assert check_value(LASTVISIT, value) == sent
    assert check_value(FieldDef(name="seen", type="empty_datetime"), value) == sent


def test_datetime_problems() -> None:
    assert problem(LASTVISIT, "1980-12-25 25:00") == (
        "'1980-12-25 25:00' is not a date and time (field 'lastvisit' holds values written as "
        "YYYY-MM-DD HH:MM:SS, such as 1980-12-25 14:30:00)")
    assert "February 1981 has no day 29" in problem(LASTVISIT, "1981-02-29 10:00")
    assert "date_format: \"%d-%m-%Y %H:%M\"" in problem(LASTVISIT, "25-12-1980 14:30")
    assert check_value(LASTVISIT, "25-12-1980 14:30", date_format="%d-%m-%Y %H:%M") == "1980-12-25 14:30:00"


# ---------------------------------------------------------------- email

@pytest.mark.parametrize("value, why", [
    ("jan@@example", "there is more than one @"),
    ("piet.example.com", "there is no @"),
    ("jan@example", "the part after the @ has no dot, as in example.com"),
    ("jan @example.com", "it contains a space"),
    ("a..b@example.com", "it has two dots in a row"),
    ("@example.com", "there is nothing before the @"),
    ("jan@", "there is nothing after the @"),
])
def test_email_problems_are_phrased_for_a_marketer(value: str, why: str) -> None:
    with pytest.raises(ValueProblem) as caught:
        check_email(value)
    assert str(caught.value) == f"'{value}' is not a valid email address ({why})"


def test_email_unusual_reason_keeps_the_validator_sentence_readable() -> None:
    with pytest.raises(ValueProblem) as caught:
        check_email("jan@exa_mple.com")
    assert str(caught.value) == (
        "'jan@exa_mple.com' is not a valid email address (the part after the @-sign contains "
        "invalid characters: '_')")


def test_email_valid_addresses_are_returned_unchanged() -> None:
    assert check_email("Jan.Jansen@Example.COM") == "Jan.Jansen@Example.COM"
    assert check_email("jørgen@example.dk") == "jørgen@example.dk"
    assert check_value(EMAIL, "jan@example.com") == "jan@example.com"


def test_email_field_message_names_the_field() -> None:
    assert problem(EMAIL, "jan@@example") == (
        "'jan@@example' is not a valid email address for field 'email' (there is more than one @)")


# ---------------------------------------------------------------- text

def test_text_longer_than_the_field_is_refused() -> None:
    assert problem(CITY, "Amsterdam-Zuidoost") == (
        "'Amsterdam-Zuidoost' is 18 characters long; field 'city' holds at most 10, "
        "and Copernica would cut off the rest")
    assert check_value(CITY, "Ødegård") == "Ødegård"
    assert check_value(CITY, "  spaces  ") == "  spaces  "   # text is sent as it is


def test_text_without_length_and_other_types_pass() -> None:
    assert check_value(FieldDef(name="notes", type="big"), "x" * 5000) == "x" * 5000
    assert "is 31 characters long" in problem(FieldDef(name="phone", type="phone", length=30), "0" * 31)


def test_email_field_length_is_checked_too() -> None:
    long_address = "a" * 60 + "@" + "b" * 40 + ".com"
    assert "holds at most 100" in problem(EMAIL, long_address)


def test_quoted_values_are_short_and_show_line_breaks() -> None:
    assert quoted("two\nlines") == "'two\u23celines'"
    assert quoted("x" * 100) == "'" + "x" * 59 + "\u2026'"


@pytest.mark.parametrize("value", ["1e400", "-1e400", "1e-400"])
def test_floats_beyond_a_double_are_refused(value):
    with pytest.raises(ValueProblem, match="too large or too small"):
        check_float(FieldDef(name="weight", type="float"), value)
