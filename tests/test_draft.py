"""``init``: the drafted mapping loads without edits and fits the file and the database."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from importer.draft import draft_mapping
from importer.mapping import compile_mapping, load_mapping
from importer.mapping.names import concept, normalised_name, snake_case
from importer.models import Profile, Row, RowError
from importer.schema import DatabaseSchema, load_schema_file
from tests.helpers import REPO, SAMPLE_SCHEMA, cli

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
# rows of contacts.csv made invalid on purpose (see sample_data/make_samples.py)
SAMPLE_INVALID_ROWS = [12, 37, 58, 83, 121, 160]


def read_csv(path: Path) -> tuple[list[str], list[Row]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        headers = next(reader)
        return headers, [Row(n, dict(zip(headers, cells))) for n, cells in enumerate(reader, start=2)]


def rows_of(headers: list[str], *lines: list[str]) -> list[Row]:
    return [Row(n, dict(zip(headers, cells))) for n, cells in enumerate(lines, start=2)]


def database(number: int) -> DatabaseSchema:
    return load_schema_file(SAMPLE / "schema.yaml").database(number)


def saved(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the sample data

def test_sample_csv_draft_loads_and_fits_the_sample_database(tmp_path: Path) -> None:
    headers, rows = read_csv(SAMPLE / "contacts.csv")
    schema = database(1)
    text = draft_mapping(headers, rows, schema, database_id=None)
    mapping = load_mapping(saved(tmp_path, text))
    converter = compile_mapping(mapping, headers, schema)   # raises on any mapping or schema error

    assert mapping.database == 1
    assert mapping.key == ["email"]
    assert {name: spec.column for name, spec in mapping.fields.items()} == {
        "customer_number": "Customer no", "email": "E-mail address", "firstname": "First name",
        "lastname": "Last name", "phone": "Phone", "birthdate": "Date of birth", "city": "City",
        "country": "Country", "optin": "Opt-in", "score": "Score"}
    email = mapping.fields["email"]
    assert (email.transform, email.check_as, email.required) == (["trim", "lower"], "email", True)
    assert mapping.fields["birthdate"].date_format == ["%d-%m-%Y", "%Y-%m-%d"]
    assert mapping.fields["country"].fix_case is True
    assert mapping.interests["newsletter"].column == "Newsletter"
    assert {name: (spec.column, spec.contains, spec.separator) for name, spec in mapping.interests.items()
            if spec.contains} == {"football": ("Sports", "Football", ";"), "tennis": ("Sports", "Tennis", ";"),
                                  "cycling": ("Sports", "Cycling", ";"), "running": ("Sports", "Running", ";")}
    assert "# Notes: no matching field" in text
    assert "no column fills: source" in text

    outcomes = [converter(row) for row in rows]
    # row 121's country 'Holland' is no longer invalid: the draft replaces country names by their codes
    assert [o.row for o in outcomes if isinstance(o, RowError)] == [r for r in SAMPLE_INVALID_ROWS if r != 121]
    assert mapping.fields["country"].transform == ["trim", {"replace": {"Holland": "NL"}}]


def test_sample_draft_converts_a_messy_row_faithfully(tmp_path: Path) -> None:
    headers, rows = read_csv(SAMPLE / "contacts.csv")
    schema = database(1)
    mapping = load_mapping(saved(tmp_path, draft_mapping(headers, rows, schema, database_id=7)))
    assert mapping.database == 7
    profile = compile_mapping(mapping, headers, schema)(rows[0])
    assert isinstance(profile, Profile)
    assert profile.fields["email"] == rows[0].values["E-mail address"].strip().lower()
    assert profile.fields["customer_number"] == "000001"
    assert profile.fields["birthdate"] == "1989-06-04"        # from 04-06-1989
    assert profile.interests["running"] == 1 and profile.interests["football"] == 0


def test_draft_without_schema_maps_every_column(tmp_path: Path) -> None:
    headers, rows = read_csv(SAMPLE / "contacts.csv")
    text = draft_mapping(headers, rows, None, database_id=None)
    assert "# database: 1234" in text
    mapping = load_mapping(saved(tmp_path, text))
    assert mapping.database is None and mapping.key == ["email"]
    assert list(mapping.fields) == ["customer_number", "email", "firstname", "lastname", "phone", "birthdate",
                                    "city", "country", "score", "notes"]
    assert mapping.fields["birthdate"].date_format == ["%d-%m-%Y", "%Y-%m-%d"]
    assert set(mapping.interests) == {"newsletter", "opt_in", "football", "tennis", "cycling", "running"}
    compile_mapping(mapping, headers, None)


# ---------------------------------------------------------------- matching names

@pytest.mark.parametrize("header, field", [
    ("E-mailadres", "email"), ("Email address", "email"), ("EMAIL", "email"), ("Voornaam", "firstname"),
    ("Given name", "firstname"), ("Achternaam", "lastname"), ("Surname", "lastname"), ("Postcode", "zipcode"),
    ("Zip", "zipcode"), ("Geboortedatum", "birthdate"), ("Date of birth", "birthdate"), ("Age", "age"),
    ("Leeftijd", "age"), ("Alter", "age"), ("Âge", "age"),
    ("Opt in", "optin"),
])
def test_column_names_match_fields_forgivingly(tmp_path: Path, header: str, field: str) -> None:
    schema = database(2)
    text = draft_mapping([header], [], schema, database_id=None)
    assert {name: spec.column for name, spec in load_mapping(saved(tmp_path, text)).fields.items()} == {field: header}


def test_telephone_synonyms_match_a_phone_field(tmp_path: Path) -> None:
    schema = database(1)
    for header in ("Telefoon", "Mobile", "Telephone"):
        mapping = load_mapping(saved(tmp_path, draft_mapping([header], [], schema, database_id=None)))
        assert mapping.fields["phone"].column == header


def test_close_spelling_matches_with_a_note(tmp_path: Path) -> None:
    schema = database(1)
    text = draft_mapping(["Lastnme"], [], schema, database_id=None)
    assert "# close spelling of the field name; check it is the right field" in text
    assert load_mapping(saved(tmp_path, text)).fields["lastname"].column == "Lastnme"


def test_each_field_is_filled_by_one_column_the_best_one(tmp_path: Path) -> None:
    schema = database(1)
    text = draft_mapping(["Mail", "Email"], [], schema, database_id=None)
    mapping = load_mapping(saved(tmp_path, text))
    assert mapping.fields["email"].column == "Email"
    assert "# Mail: " in text


def test_unknown_column_is_a_comment_not_a_field(tmp_path: Path) -> None:
    schema = database(1)
    headers = ["Email", "Shoe size"]
    text = draft_mapping(headers, rows_of(headers, ["a@example.com", "42"]), schema, database_id=None)
    assert "# Shoe size: no matching field" in text
    assert list(load_mapping(saved(tmp_path, text)).fields) == ["email"]


@pytest.mark.parametrize("name, normal", [
    ("E-mail address", "emailaddress"), ("Customer no.", "customernumber"), ("firstName", "firstname"),
    ("  Straße ", "strae"), ("Téléphone", "telephone"),
])
def test_normalised_name(name: str, normal: str) -> None:
    assert normalised_name(name) == normal


def test_concept_and_snake_case() -> None:
    assert concept("E-mail address") == concept("e-mailadres") == "email"
    assert concept("Shoe size") == "shoesize"
    assert snake_case("Date of birth") == "date_of_birth"
    assert snake_case("%%") == "column"


# ---------------------------------------------------------------- values decide

def test_yes_no_column_becomes_an_interest_and_loads_back(tmp_path: Path) -> None:
    schema = database(2)
    headers = ["Email", "Newsletter", "Baseball fan"]
    rows = rows_of(headers, ["a@example.com", "yes", "X"], ["b@example.com", "", "nee"],
                   ["c@example.com", "Ja", ""])
    text = draft_mapping(headers, rows, schema, database_id=None)
    mapping = load_mapping(saved(tmp_path, text))
    assert mapping.interests["newsletter"].column == "Newsletter"
    assert mapping.interests["baseball"].column == "Baseball fan"
    converted = [compile_mapping(mapping, headers, schema)(row) for row in rows]
    # an empty cell switches nothing: off for a new profile, left alone by an update (empty_interests)
    assert [(p.interests["newsletter"], p.interests["baseball"]) for p in converted
            if isinstance(p, Profile)] == [(1, 1), (0, 0), (1, 0)]
    assert [sorted(p.empty_interests) for p in converted] == [[], ["newsletter"], ["baseball"]]


def test_yes_no_column_without_an_interest_of_its_name_is_a_comment(tmp_path: Path) -> None:
    schema = database(1)
    headers = ["Email", "Member"]
    text = draft_mapping(headers, rows_of(headers, ["a@example.com", "yes"]), schema, database_id=None)
    assert "# Member: yes/no values, but no interest or field of that name" in text
    assert set(load_mapping(saved(tmp_path, text)).interests) == set()


def test_list_column_items_become_contains_interests_with_the_other_items_named(tmp_path: Path) -> None:
    schema = database(1)
    headers = ["Email", "Hobbies"]
    rows = rows_of(headers, ["a@example.com", "tennis, Running"], ["b@example.com", "running"],
                   ["c@example.com", "Tennis,football,running"], ["d@example.com", "chess"])
    text = draft_mapping(headers, rows, schema, database_id=None)
    mapping = load_mapping(saved(tmp_path, text))
    assert {n: (s.contains, s.separator) for n, s in mapping.interests.items()} == {
        "football": ("football", ","), "tennis": ("tennis", ","), "running": ("Running", ",")}
    assert "# Hobbies: items that are no interest of the database: chess" in text


def test_ambiguous_dates_ask_for_a_choice_instead_of_guessing(tmp_path: Path) -> None:
    schema = database(2)
    headers = ["Email", "Birthdate"]
    rows = rows_of(headers, ["a@example.com", "03-09-1980"], ["b@example.com", "01-02-1990"])
    text = draft_mapping(headers, rows, schema, database_id=None)
    assert ("# the sample's dates read both day-first and month-first, and no cell settles it: choose one, e.g. "
            "date_format: [\"%d-%m-%Y\", \"%Y-%m-%d\"] or [\"%m-%d-%Y\", \"%Y-%m-%d\"]") in text
    assert load_mapping(saved(tmp_path, text)).fields["birthdate"].date_format == []


def test_datetime_field_gets_a_datetime_format(tmp_path: Path) -> None:
    schema = database(2)
    headers = ["Last visit"]
    rows = rows_of(headers, ["25/12/2024 14:30"], ["01/02/2025 09:05"])
    mapping = load_mapping(saved(tmp_path, draft_mapping(headers, rows, schema, database_id=None)))
    assert mapping.fields["lastvisit"].date_format == ["%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S"]
    profile = compile_mapping(mapping, headers, schema)(rows[0])
    assert isinstance(profile, Profile) and profile.fields["lastvisit"] == "2024-12-25 14:30:00"


def test_iso_dates_need_no_format(tmp_path: Path) -> None:
    headers = ["Birthdate"]
    text = draft_mapping(headers, rows_of(headers, ["1980-12-25"], ["1990-01-02"]), database(2), database_id=None)
    assert load_mapping(saved(tmp_path, text)).fields["birthdate"].date_format == []


def test_float_with_decimal_commas_gets_decimal_comma(tmp_path: Path) -> None:
    schema = database(2)
    headers = ["Weight"]
    rows = rows_of(headers, ["72,5"], ["80"], ["1.072,25"])
    mapping = load_mapping(saved(tmp_path, draft_mapping(headers, rows, schema, database_id=None)))
    assert mapping.fields["weight"].decimal_comma is True
    profile = compile_mapping(mapping, headers, schema)(rows[2])
    assert isinstance(profile, Profile) and profile.fields["weight"] == "1072.25"


def test_select_with_exact_values_gets_no_fix_case(tmp_path: Path) -> None:
    headers = ["Country"]
    text = draft_mapping(headers, rows_of(headers, ["NL"], ["BE"]), database(1), database_id=None)
    assert load_mapping(saved(tmp_path, text)).fields["country"].fix_case is False
    assert "not choices" not in text


# ---------------------------------------------------------------- YAML text

@pytest.mark.parametrize("header", [
    "E-mail: work", "Score #1", " padded ", "yes", "123", "Nötes", "Quote\"d", "a'b", "Naam & adres", "-",
])
def test_awkward_column_names_load_back_exactly(tmp_path: Path, header: str) -> None:
    text = draft_mapping([header], rows_of([header], ["value"]), None, database_id=3)
    mapping = load_mapping(saved(tmp_path, text))
    assert [spec.column for spec in mapping.fields.values()] == [header]
    assert yaml.safe_load(text)["database"] == 3


def test_every_drafted_line_is_yaml_or_a_comment() -> None:
    headers, rows = read_csv(SAMPLE / "contacts.csv")
    text = draft_mapping(headers, rows, database(1), database_id=None)
    data = yaml.safe_load(text)
    assert set(data) == {"database", "key", "fields", "interests"}


# -- through the init command ------------------------------------------------------------------
@pytest.mark.parametrize("sample", ["contacts.csv", "contacts.xlsx"])
def test_init_drafts_a_mapping_that_check_accepts_without_edits(tmp_path, sample):
    draft = tmp_path / "draft.yaml"
    result = cli("init", str(REPO / "sample_data" / sample), "--schema", str(SAMPLE_SCHEMA), "--database", "1",
                 "--output", str(draft), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(draft.read_text())["key"] == "email"
    result = cli("check", str(REPO / "sample_data" / sample), "--mapping", str(draft),
                 "--schema", str(SAMPLE_SCHEMA), cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr  # row problems are fine, mapping errors are not
    assert "error:" not in result.stderr
    assert "would send" in result.stdout
