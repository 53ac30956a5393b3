"""The mapping file: loading and its errors, fitting it to a file and a database, rows to profiles."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from importer.errors import MappingError, SchemaError
from importer.mapping import RowConverter, compile_mapping, load_mapping
from importer.models import REASON_TITLES, Profile, Reason, Row, RowError
from importer.schema import DatabaseSchema, load_schema_file

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SCHEMA = ROOT / "sample_data" / "schema.yaml"

CONTACT_HEADERS = ["Customer no", "E-mail address", "First name", "Last name", "Phone", "Date of birth",
                   "City", "Country", "Newsletter", "Sports", "Opt-in", "Score", "Notes"]

FULL_MAPPING = """\
    database: 1
    key: email
    fields:
      email:
        column: E-mail address
        transform: [trim, lower]
        validate: email
        required: true
      firstname: First name
      lastname: {column: Last name, transform: [trim]}
      phone: {column: Phone, blank_existing: true}
      birthdate: {column: Date of birth, date_format: ["%d-%m-%Y", "%Y-%m-%d"]}
      city: {column: City, on_invalid: omit}
      country: {column: Country, fix_case: true}
      optin: {column: Opt-in}
      customer_number: {column: Customer no, transform: [{zfill: 6}]}
      score: {column: Score, decimal_comma: true}
      source: {value: spring-fair-2026}
    interests:
      newsletter: {column: Newsletter, truthy: [yes, y, "1", x, true, ja]}
      football: {column: Sports, contains: Football, separator: ";"}
      tennis: {column: Sports, contains: tennis}
      running: {value: 1}
"""


@pytest.fixture(scope="module")
def contacts_db() -> DatabaseSchema:
    return load_schema_file(SAMPLE_SCHEMA).database(1)


@pytest.fixture(scope="module")
def test_db() -> DatabaseSchema:
    return load_schema_file(SAMPLE_SCHEMA).database(2)


def write_mapping(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def mapping_error(tmp_path: Path, text: str) -> str:
    path = write_mapping(tmp_path, text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    return str(caught.value)


def contact_row(number: int = 2, **changes: str) -> Row:
    values = {
        "Customer no": "123", "E-mail address": " Jan@Example.COM ", "First name": "Jan",
        "Last name": " Müller ", "Phone": "0612345678", "Date of birth": "31-12-1980",
        "City": "Amsterdam, Noord-Holland", "Country": "nl", "Newsletter": "Y", "Sports": "football; Tennis",
        "Opt-in": "yes", "Score": "42", "Notes": "likes\ncake",
    }
    # keyword names stand for headers: E_mail_address -> "E-mail address", Opt_in -> "Opt-in"
    by_plain_name = {"".join(ch for ch in h.lower() if ch.isalnum()): h for h in values}
    values.update({by_plain_name[k.replace("_", "").lower()]: v for k, v in changes.items()})
    return Row(number, values)


@pytest.fixture()
def converter(tmp_path: Path, contacts_db: DatabaseSchema) -> RowConverter:
    return compile_mapping(load_mapping(write_mapping(tmp_path, FULL_MAPPING)), CONTACT_HEADERS, contacts_db)


def convert_fields(converter: RowConverter, **changes: str) -> Profile:
    result = converter(contact_row(**changes))
    assert isinstance(result, Profile), result
    return result


def rejection(converter: RowConverter, **changes: str) -> str:
    result = converter(contact_row(**changes))
    assert isinstance(result, RowError), result
    return result.message


# ------------------------------------------------------------------ loading

def test_full_example_loads_with_its_settings(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, FULL_MAPPING))
    assert mapping.database == 1
    assert mapping.key_fields == ["email"]
    assert (mapping.on_existing, mapping.duplicates, mapping.interests_on_update) == ("create", "first", "add")
    assert mapping.fields["firstname"].column == "First name"
    assert mapping.fields["email"].check_as == "email"
    assert mapping.fields["birthdate"].date_format == ["%d-%m-%Y", "%Y-%m-%d"]
    assert mapping.fields["source"].value == "spring-fair-2026"
    assert mapping.interests["tennis"].separator == ";"
    assert mapping.source == str(tmp_path / "m.yaml")


def test_source_columns_are_listed_once_in_mapping_order(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, FULL_MAPPING))
    assert mapping.source_columns() == ["E-mail address", "First name", "Last name", "Phone", "Date of birth",
                                        "City", "Country", "Opt-in", "Customer no", "Score", "Newsletter",
                                        "Sports"]


def test_composite_key_and_settings(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, """\
        key: [firstname, lastname, zipcode]
        on_existing: upsert
        duplicates: last
        interests_on_update: replace
        fields: {firstname: First, lastname: Last, zipcode: Zip}
    """))
    assert mapping.key_fields == ["firstname", "lastname", "zipcode"]
    assert (mapping.on_existing, mapping.duplicates, mapping.interests_on_update) == ("upsert", "last", "replace")


def test_yaml_words_and_numbers_stay_the_text_that_was_written(tmp_path: Path) -> None:
    # Plain YAML 1.1 would read yes as True, NO (Norway) as False, 0123 as 83 and a date as a date.
    mapping = load_mapping(write_mapping(tmp_path, """\
        fields:
          optin: {value: yes}
          country: {column: Land, transform: [{replace: {NO: "Norway", on: "1"}}]}
          customer_number: {value: 0123}
          joined: {value: 2026-03-01}
          time: {value: 12:30}
          yes: Yes
        interests:
          newsletter: {column: Newsletter, truthy: [yes, on, 1, true]}
    """))
    assert mapping.fields["optin"].value == "yes"
    assert mapping.fields["customer_number"].value == "0123"
    assert mapping.fields["joined"].value == "2026-03-01"
    assert mapping.fields["time"].value == "12:30"
    assert mapping.fields["yes"].column == "Yes"
    assert mapping.interests["newsletter"].truthy == ["yes", "on", "1", "true"]
    conv = compile_mapping(mapping, ["Land", "Yes", "Newsletter"])
    profile = conv(Row(2, {"Land": "NO", "Yes": "x", "Newsletter": "on"}))
    assert isinstance(profile, Profile)
    assert profile.fields["country"] == "Norway"
    assert profile.interests == {"newsletter": 1}


def test_unknown_transform_names_file_line_place_and_closest(tmp_path: Path) -> None:
    message = mapping_error(tmp_path, """\
        fields:
          email:
            column: E-mail
            transform: [trim, lowr]
    """)
    path = tmp_path / "m.yaml"
    assert message.startswith(f"{path}: a problem in the mapping file:")
    assert ("line 4: fields.email.transform[1]: unknown transform 'lowr'; did you mean 'lower'? "
            "(known: trim, lower, upper") in message


def test_unknown_setting_suggests_the_closest(tmp_path: Path) -> None:
    message = mapping_error(tmp_path, """\
        fields:
          email: {colum: E-mail}
    """)
    assert "line 2: fields.email: unknown setting 'colum'; did you mean 'column'?" in message
    assert "(allowed: column, value, transform, validate, required, date_format" in message


def test_unknown_top_level_setting(tmp_path: Path) -> None:
    message = mapping_error(tmp_path, """\
        datbase: 5
        fields: {email: E-mail}
    """)
    assert "unknown setting 'datbase'; did you mean 'database'?" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    message = mapping_error(tmp_path, """\
        on_existing: updte
        fields:
          email: {column: E-mail, required: maybe}
          score: {column: Score, on_invalid: drop}
          birthdate: {column: Born, date_format: "%d-%m"}
    """)
    assert "4 problems in the mapping file" in message
    assert "line 1: on_existing: 'updte' is not allowed here; did you mean 'update'?; " \
           "use create, skip, update, upsert" in message
    assert "line 3: fields.email.required: 'maybe' is not true or false" in message
    assert "line 4: fields.score.on_invalid: 'drop' is not allowed here; use reject, omit, send" in message
    assert "fields.birthdate.date_format[0]: date format '%d-%m' cannot be used: it must contain a day, " \
           "a month and a year" in message


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    message = mapping_error(tmp_path, """\
        fields:
          email: {column: E-mail
          firstname: First
    """)
    assert message.startswith(f"{tmp_path / 'm.yaml'}: line 3, column")
    assert "this is not valid YAML" in message


def test_a_key_given_twice_is_an_error_not_a_silent_overwrite(tmp_path: Path) -> None:
    message = mapping_error(tmp_path, """\
        fields:
          email: E-mail
          firstname: First
          email: Mail
    """)
    assert "line 4, column 3" in message
    assert "'email' appears twice in the same section" in message


@pytest.mark.parametrize(("text", "expected"), [
    ("", "the mapping file is empty"),
    ("# only a comment\n", "the mapping file is empty"),
    ("- email\n- firstname\n", "must consist of settings such as 'fields:', not a list"),
    ("database: 1\n", "the mapping maps no fields and no interests"),
    ("fields:\n  email:\n", "fields.email: say where the value comes from"),
    ("fields:\n  email: {column: E-mail, value: x}\n", "fields.email: use either 'column' or 'value', not both"),
    ("fields:\n  email: {column: ' '}\n", "the column name is empty"),
    ("fields:\n  source: {value: x, transform: [trim]}\n", "transform only apply to a value read from a column"),
    ("fields:\n  email: [E-mail]\n", "fields.email: expected settings written as 'name: value' lines here, "
                                     "not a list"),
    ("fields:\n  email: {column: [a, b]}\n", "fields.email.column: expected a single value here, not a list"),
    ("fields:\n  email: E-mail\n  Email: Mail\n", "field 'email' and 'Email' are the same field"),
    ("database: abc\nfields: {email: E}\n", "database: 'abc' is not a whole number"),
    ("database: 0\nfields: {email: E}\n", "database: '0' is too small"),
    ("key: emial\nfields: {email: E}\n", "key: 'emial' is not one of the mapped fields; did you mean 'email'?"),
    ("key: source\nfields: {source: {value: x}}\n", "key: field 'source' is a constant"),
    ("key: email\nfields: {email: {column: E, on_invalid: send}}\n", "a key field must be valid"),
    ("fields: {email: {column: E, required: true, on_invalid: omit}}\n", "a required field cannot be left out"),
    ("on_existing: update\nfields: {email: E}\n", "on_existing: update needs a key"),
    ("interests: {vip: {value: maybe}}\n", "interests.vip: 'maybe' is not a yes/no value; use 1 (on) or 0 (off)"),
    ("interests: {n: {column: N, truthy: [ja, nee]}}\n", "'nee' cannot mean both yes (truthy) and no (falsy)"),
    ("interests: {f: {column: S, contains: F, truthy: [x]}}\n", "truthy/falsy apply to a yes/no column"),
    ("interests: {f: {column: S, separator: ','}}\n", "'separator' only applies together with 'contains'"),
    ("fields: {email: {column: E, validate: phone}}\n", "'phone' is not allowed here; use email"),
])
def test_mapping_file_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in mapping_error(tmp_path, text)


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="the mapping file does not exist"):
        load_mapping(tmp_path / "nope.yaml")


def test_fingerprint_ignores_formatting_but_not_content(tmp_path: Path) -> None:
    a = load_mapping(write_mapping(tmp_path, "key: email\nfields: {email: E-mail}\n", "a.yaml"))
    b = load_mapping(write_mapping(tmp_path, "# comment\nfields:\n  email:\n    column: E-mail\nkey: [email]\n",
                                   "b.yaml"))
    c = load_mapping(write_mapping(tmp_path, "key: email\nfields: {email: E-mail address}\n", "c.yaml"))
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()
    assert len(a.fingerprint()) == 64


def test_with_overrides(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, "database: 1\nkey: email\nfields: {email: E-mail}\n"))
    changed = mapping.with_overrides(database=7, on_existing="upsert")
    assert (changed.database, changed.on_existing) == (7, "upsert")
    assert (mapping.database, mapping.on_existing) == (1, "create")
    assert changed.source == mapping.source
    assert mapping.with_overrides() == mapping
    # the run's identity names database and on_existing itself, so a refused
    # resume can say which one changed
    assert changed.fingerprint() == mapping.fingerprint()


def test_override_needing_a_key_is_refused(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, "fields: {email: E-mail}\n"))
    with pytest.raises(MappingError, match="on_existing: skip needs a key"):
        mapping.with_overrides(on_existing="skip")
    with pytest.raises(MappingError, match="'sometimes' is not allowed here"):
        mapping.with_overrides(on_existing="sometimes")


# ------------------------------------------------------------------ compile

def test_missing_columns_are_all_listed_with_the_closest_header(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, """\
        fields:
          email: E-mail adress
          firstname: First name
          phone: phone number
        interests:
          golf: Golf
    """))
    with pytest.raises(MappingError) as caught:
        compile_mapping(mapping, ["E-mail address", "First name", "Phone"])
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'm.yaml'}: 3 mapped columns are not in the file: ")
    assert ("'E-mail adress' (did you mean 'E-mail address'?), 'phone number' (did you mean 'Phone'?), "
            "'Golf'. ") in message
    assert "The file's columns are: 'E-mail address', 'First name', 'Phone'" in message


def test_unknown_fields_and_interests_are_all_listed(tmp_path: Path, contacts_db: DatabaseSchema) -> None:
    mapping = load_mapping(write_mapping(tmp_path, """\
        fields: {emial: E, firstname: F, zipcode: Z}
        interests: {newsleter: N, football: S}
    """))
    with pytest.raises(SchemaError) as caught:
        compile_mapping(mapping, ["E", "F", "Z", "N", "S"], contacts_db)
    message = str(caught.value)
    assert "2 mapped fields are not in database 1: 'emial' (did you mean 'email'?), 'zipcode'. " in message
    assert "Its fields are: email, firstname, lastname" in message

    mapping = load_mapping(write_mapping(tmp_path, "interests: {newsleter: N, football: S}\n"))
    with pytest.raises(SchemaError, match="the mapped interest is not in database 1: 'newsleter' "
                                          r"\(did you mean 'newsletter'\?\)"):
        compile_mapping(mapping, ["N", "S"], contacts_db)


def test_names_are_resolved_to_the_database_spelling(tmp_path: Path, contacts_db: DatabaseSchema) -> None:
    mapping = load_mapping(write_mapping(tmp_path, """\
        key: EMAIL
        fields: {EMAIL: E, FirstName: F}
        interests: {NewsLetter: N}
    """))
    conv = compile_mapping(mapping, ["E", "F", "N"], contacts_db)
    assert conv.key_fields == ["email"]
    profile = conv(Row(2, {"E": "a@b.nl", "F": "Ann", "N": "yes"}))
    assert isinstance(profile, Profile)
    assert profile.fields == {"email": "a@b.nl", "firstname": "Ann"}
    assert profile.interests == {"newsletter": 1}
    assert profile.key == "a@b.nl"


def test_constants_are_checked_against_the_database_once(tmp_path: Path, contacts_db: DatabaseSchema) -> None:
    mapping = load_mapping(write_mapping(tmp_path, "fields: {optin: {value: Yes}, score: {value: lots}}\n"))
    with pytest.raises(MappingError, match=r"fields\.optin\.value: 'Yes' is not a choice of field 'optin': "
                                           r"did you mean 'yes'\?"):
        compile_mapping(mapping, [], contacts_db)
    fixed = load_mapping(write_mapping(tmp_path, "fields: {optin: {value: Yes, fix_case: true}}\n"))
    profile = compile_mapping(fixed, [], contacts_db)(Row(2, {}))
    assert isinstance(profile, Profile) and profile.fields == {"optin": "yes"}


# --------------------------------------------------------------------- rows

def test_a_valid_row_becomes_a_profile(converter: RowConverter) -> None:
    profile = convert_fields(converter)
    assert profile == Profile(
        row=2, key="jan@example.com",
        fields={"source": "spring-fair-2026", "email": "jan@example.com", "firstname": "Jan",
                "lastname": "Müller", "phone": "0612345678", "birthdate": "1980-12-31",
                "city": "Amsterdam, Noord-Holland", "country": "NL", "optin": "yes",
                "customer_number": "000123", "score": "42"},
        interests={"running": 1, "newsletter": 1, "football": 1, "tennis": 1},
        empty_fields=frozenset(), warnings=[])


def test_reader_problem_makes_the_row_invalid(converter: RowConverter) -> None:
    problem = Reason("extra_cells", "row {row:,} has {count} cells but the header has 13", {"row": 7, "count": 15})
    result = converter(Row(7, {}, problem=problem))
    assert result == RowError(7, (problem,))
    assert (result.code, result.message) == ("extra_cells", "row 7 has 15 cells but the header has 13")


def test_all_problems_of_a_row_in_one_message(converter: RowConverter) -> None:
    message = rejection(converter, E_mail_address="jan@@example", Date_of_birth="31-02-1980", Score="7,5",
                        Country="Holland", Newsletter="maybe", Opt_in="Yes")
    assert message.split("; column ") == [
        "column 'E-mail address': 'jan@@example' is not a valid email address for field 'email' "
        "(there is more than one @)",
        "'Date of birth': '31-02-1980' is not a real date (February 1980 has no day 31); expected the form "
        "DD-MM-YYYY or YYYY-MM-DD",
        "'Country': 'Holland' is not a choice of field 'country': allowed are NL, BE, DE, FR, GB",
        "'Opt-in': 'Yes' is not a choice of field 'optin': did you mean 'yes'? Copernica only accepts the exact "
        "spelling; set fix_case: true for this field to correct the case",
        "'Score': '7,5' is not a whole number (field 'score' holds whole numbers)",
        "'Newsletter': 'maybe' is not a yes/no value for interest 'newsletter' "
        "(yes: yes, y, 1, x, true, ja; no: no, n, 0, false, nee)",
    ]


def test_each_problem_of_a_row_is_a_reason_with_its_code(converter: RowConverter) -> None:
    result = converter(contact_row(Date_of_birth="31-02-1980", Country="Holland"))
    assert isinstance(result, RowError)
    assert [r.code for r in result.reasons] == ["invalid_date", "not_a_choice"]
    assert [r.message for r in result.reasons] == [
        "column 'Date of birth': '31-02-1980' is not a real date (February 1980 has no day 31); expected the "
        "form DD-MM-YYYY or YYYY-MM-DD",
        "column 'Country': 'Holland' is not a choice of field 'country': allowed are NL, BE, DE, FR, GB",
    ]
    assert result.code == "invalid_date;not_a_choice"
    assert result.message == "; ".join(r.message for r in result.reasons)
    # the column is added around the check's own sentence, which stays a param
    assert result.reasons[1].params == {
        "column": "Country",
        "inner": "'Holland' is not a choice of field 'country': allowed are NL, BE, DE, FR, GB",
        "value": "Holland"}   # the cell, for the report's example value


def test_every_row_problem_has_a_known_code_and_plain_params(converter: RowConverter) -> None:
    result = converter(contact_row(E_mail_address="jan@@example", Phone="1" * 40, Date_of_birth="1980-04-03 10:00",
                                   Country="Holland", Opt_in="Yes", Score="7,5", Newsletter="maybe",
                                   Sports="Golf"))
    assert isinstance(result, RowError)
    assert [r.code for r in result.reasons] == [
        "invalid_email", "too_long", "date_has_time", "not_a_choice", "not_a_choice", "not_whole_number",
        "not_yes_no"]
    for reason in result.reasons:
        assert reason.code in REASON_TITLES
        assert Reason.from_json(json.loads(json.dumps(reason.to_json()))).message == reason.message


def test_row_error_carries_the_key(converter: RowConverter) -> None:
    result = converter(contact_row(Score="abc"))
    assert isinstance(result, RowError) and result.key == "jan@example.com"


def test_empty_key_is_explained(converter: RowConverter) -> None:
    assert rejection(converter, E_mail_address="   ") == (
        "the key field 'email' (column 'E-mail address') is empty, so this row cannot be matched or de-duplicated")
    result = converter(contact_row(E_mail_address=""))
    assert isinstance(result, RowError) and result.code == "empty_key"


def test_empty_required_field(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, "fields: {email: {column: E-mail, required: true}}\n"))
    result = compile_mapping(mapping, ["E-mail"])(Row(5, {"E-mail": ""}))
    assert isinstance(result, RowError) and result.row == 5
    assert [(r.code, r.message) for r in result.reasons] == [
        ("empty_required", "column 'E-mail' is empty but required")]


def test_empty_cells_are_not_sent_and_not_checked(converter: RowConverter) -> None:
    profile = convert_fields(converter, Date_of_birth="", Score="", Country="", City="", Phone="")
    for name in ("birthdate", "score", "country", "city"):
        assert name not in profile.fields
    # only a field marked blank_existing is there, to be blanked by an update (a create leaves it out)
    assert profile.fields["phone"] == ""
    assert profile.empty_fields == frozenset({"phone"})


def test_composite_key_is_joined_after_transforms(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, """\
        key: [firstname, lastname]
        fields:
          firstname: {column: First, transform: [trim, title]}
          lastname: {column: Last, transform: [collapse, title]}
    """))
    conv = compile_mapping(mapping, ["First", "Last"])
    profile = conv(Row(2, {"First": " jan ", "Last": "VAN  DER berg"}))
    assert isinstance(profile, Profile) and profile.key == "Jan | Van Der Berg"
    missing = conv(Row(3, {"First": "jan", "Last": ""}))
    assert isinstance(missing, RowError)
    assert missing.message.startswith("the key field 'lastname' (column 'Last') is empty")


def test_xlsx_style_values_give_the_same_profile(converter: RowConverter) -> None:
    csv_profile = convert_fields(converter, Customer_no="000123", Date_of_birth="31-12-1980")
    xlsx_profile = convert_fields(converter, Customer_no="123", Date_of_birth="1980-12-31")
    assert csv_profile.fields == xlsx_profile.fields


def test_on_invalid_omit_leaves_the_field_out_with_a_warning(converter: RowConverter) -> None:
    profile = convert_fields(converter, City="x" * 61)
    assert "city" not in profile.fields
    assert len(profile.warnings) == 1
    warning = profile.warnings[0]
    assert warning.code == "value_omitted"
    assert warning.params["cause"] == "too_long"
    # the long value is shortened inside the sentence; the sentence itself is whole
    assert warning.message == ("column 'City': '" + "x" * 59 + "\u2026' is 61 characters long; field 'city' holds "
                               "at most 60, and Copernica would cut off the rest; left out (on_invalid: omit)")


def test_on_invalid_send_sends_the_value_with_a_warning(tmp_path: Path, test_db: DatabaseSchema) -> None:
    mapping = load_mapping(write_mapping(tmp_path, "fields: {age: {column: Age, on_invalid: send}}\n"))
    profile = compile_mapping(mapping, ["Age"], test_db)(Row(2, {"Age": "about 40"}))
    assert isinstance(profile, Profile)
    assert profile.fields == {"age": "about 40"}
    assert [w.message for w in profile.warnings] == [
        "column 'Age': 'about 40' is not a whole number (field 'age' holds whole numbers); sent anyway "
        "(on_invalid: send)"]
    assert [(w.code, w.params["cause"]) for w in profile.warnings] == [("sent_anyway", "not_whole_number")]


def test_values_are_normalised_by_the_type_checks(tmp_path: Path, test_db: DatabaseSchema) -> None:
    mapping = load_mapping(write_mapping(tmp_path, """\
        fields:
          age: Age
          weight: {column: Weight, decimal_comma: true}
          optin: {column: Optin, fix_case: true}
          lastvisit: {column: Visit, date_format: "%d-%m-%Y %H:%M"}
          seen: {column: Seen, date_format: "%d-%m-%Y"}
          birthdate: Born
    """))
    conv = compile_mapping(mapping, ["Age", "Weight", "Optin", "Visit", "Seen", "Born"], test_db)
    profile = conv(Row(2, {"Age": " 007 ", "Weight": "72,5", "Optin": "YES", "Visit": "31-12-2025 23:59",
                           "Seen": "01-02-2026", "Born": "1980-12-25"}))
    assert isinstance(profile, Profile), profile
    assert profile.fields == {"age": "7", "weight": "72.5", "optin": "yes", "lastvisit": "2025-12-31 23:59:00",
                              "seen": "2026-02-01 00:00:00", "birthdate": "1980-12-25"}


def test_a_date_without_date_format_is_not_guessed(tmp_path: Path, test_db: DatabaseSchema) -> None:
    mapping = load_mapping(write_mapping(tmp_path, "fields: {birthdate: Born}\n"))
    result = compile_mapping(mapping, ["Born"], test_db)(Row(9, {"Born": "03-09-1980"}))
    assert isinstance(result, RowError)
    assert result.message.startswith("column 'Born': '03-09-1980' is ambiguous (field 'birthdate'): it could be "
                                     "3 September 1980 or 9 March 1980")


def test_email_validation_on_a_text_field_and_without_schema(tmp_path: Path, test_db: DatabaseSchema) -> None:
    mapping = load_mapping(write_mapping(tmp_path, "fields: {firstname: {column: Mail, validate: email}}\n"))
    for schema in (test_db, None):
        result = compile_mapping(mapping, ["Mail"], schema)(Row(3, {"Mail": "piet.example.com"}))
        assert isinstance(result, RowError) and result.row == 3
        assert [(r.code, r.message) for r in result.reasons] == [
            ("invalid_email", "column 'Mail': 'piet.example.com' is not a valid email address (there is no @)")]


def test_without_schema_values_are_not_type_checked(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, """\
        fields:
          score: {column: Score, decimal_comma: true}
          country: {column: Country, fix_case: true}
    """))
    profile = compile_mapping(mapping, ["Score", "Country"])(Row(2, {"Score": "7,5", "Country": "nl"}))
    assert isinstance(profile, Profile)
    assert profile.fields == {"score": "7.5", "country": "nl"}


def test_yes_no_interests(converter: RowConverter) -> None:
    for cell, expected in (("yes", 1), (" JA ", 1), ("x", 1), ("1", 1), ("No", 0), ("nee", 0)):
        assert convert_fields(converter, Newsletter=cell).interests["newsletter"] == expected, cell
    # an empty cell switches nothing by default: off for a create, left alone by an update (tests/test_phone.py)
    assert convert_fields(converter, Newsletter="").empty_interests == {"newsletter"}


def test_list_interests_match_items_without_regard_to_case(converter: RowConverter) -> None:
    assert convert_fields(converter, Sports="Tennis").interests == {
        "running": 1, "newsletter": 1, "football": 0, "tennis": 1}
    assert convert_fields(converter, Sports="").interests["football"] == 0
    # an item is matched whole: "Table football" is not football
    assert convert_fields(converter, Sports="Table football").interests["football"] == 0


def test_list_items_no_interest_takes_are_reported(converter: RowConverter) -> None:
    profile = convert_fields(converter, Sports="Football;Golf;;cycling")
    assert {w.code for w in profile.warnings} == {"unmatched_item"}
    assert [w.message for w in profile.warnings] == [
        "column 'Sports': 'Golf' matches no mapped interest and is not imported (mapped: Football, tennis)",
        "column 'Sports': 'cycling' matches no mapped interest and is not imported (mapped: Football, tennis)",
    ]


def test_converter_is_fast(converter: RowConverter) -> None:
    import time
    row = contact_row()
    converter(row)
    started = time.perf_counter()
    for _ in range(2000):
        converter(row)
    per_row = (time.perf_counter() - started) / 2000
    assert per_row < 0.001  # generous: measured ~45 µs with email syntax checks, ~15 µs without


# ------------------------------------------------------------ sample files

def test_sample_mapping_gives_the_same_profiles_for_csv_and_xlsx(contacts_db: DatabaseSchema) -> None:
    from importer.reader import open_sheet

    mapping = load_mapping(ROOT / "mappings" / "contacts.yaml")
    results = []
    for name in ("contacts.csv", "contacts.xlsx"):
        with open_sheet(ROOT / "sample_data" / name) as sheet:
            rows = list(sheet)
        conv = compile_mapping(mapping, list(rows[0].values), contacts_db)
        results.append([conv(row) for row in rows])
    from_csv, from_xlsx = results
    assert len(from_csv) == len(from_xlsx) >= 100
    for a, b in zip(from_csv, from_xlsx):
        assert type(a) is type(b) and a.row == b.row and a.key == b.key
        if isinstance(a, Profile) and isinstance(b, Profile):
            assert a.fields == b.fields and a.interests == b.interests
    invalid = [r for r in from_csv if isinstance(r, RowError)]
    assert invalid and all(r.message for r in invalid)
    assert len(invalid) < len(from_csv) / 10


def test_a_file_read_with_the_wrong_delimiter_is_explained(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, "fields:\n  email: E-mail\n  firstname: Voornaam\n"))
    with pytest.raises(MappingError, match="read as one single column .* separated by ';'.*--delimiter ';'"):
        compile_mapping(mapping, ["E-mail;Voornaam;Plaats"])
