"""The mapping table of the page and the YAML file the CLI reads: a round trip loses nothing."""
from __future__ import annotations

from pathlib import Path

import pytest

from importer.draft import draft_mapping
from importer.errors import MappingError
from importer.mapping import load_mapping
from importer.mapping.load import parse_yaml
from importer.mapping.spec import validated
from importer.reader import open_sheet
from importer.schema import load_schema_file
from importer.ui.table import Line, MappingTable, parse_transforms, transform_text
from tests.ui_support import REPO, SAMPLE_CSV, SAMPLE_SCHEMA

EXAMPLE = """\
database: 2
key: [firstname, lastname]
on_existing: upsert
duplicates: last
interests_on_update: replace
fields:
  firstname: {column: Name, transform: [trim, title, {replace: {"n/a": "", Jan: Jan}}]}
  lastname: {column: Surname, required: true, on_invalid: reject}
  age: {column: Age, decimal_comma: true, on_invalid: omit, blank_existing: true}
  birthdate: {column: Born, date_format: ["%d.%m.%Y", "%Y-%m-%d"]}
  optin: {column: Optin, fix_case: true, transform: [{default: "no"}]}
  zipcode: {value: "0000"}
  email: {column: Mail, validate: email, transform: [trim, lower, {zfill: 3}]}
interests:
  newsletter: {column: News, truthy: [yes, Y, "1"], falsy: [no, "0"]}
  football: {column: Sports, contains: Football, separator: "|"}
  tennis: {column: Sports, contains: Tennis, separator: "|", blank_existing: true}
  baseball: {value: 1}
"""
HEADERS = ["Name", "Surname", "Age", "Born", "Optin", "Mail", "News", "Sports", "Unused"]


def round_trip(mapping, headers):
    table = MappingTable.from_mapping(mapping, headers)
    text = table.yaml_text("people.csv", "people.yaml")
    data, lines = parse_yaml(text, "people.yaml")
    return table, validated(data, "people.yaml", lines)


def same(a, b) -> None:
    assert a.fingerprint() == b.fingerprint()
    assert (a.database, a.on_existing) == (b.database, b.on_existing)


def test_every_setting_survives_the_table(tmp_path: Path):
    path = tmp_path / "m.yaml"
    path.write_text(EXAMPLE, encoding="utf-8")
    original = load_mapping(path)
    table, back = round_trip(original, HEADERS)
    same(original, back)
    assert [line.column for line in table.lines] == ["Name", "Surname", "Age", "Born", "Optin", "Mail", "News",
                                                      "Sports", "Sports", "Unused"]
    assert table.lines[-1].target == "" and len(table.constants) == 2
    assert table.lines[0].transform == "trim, title, {replace: {n/a: '', Jan: Jan}}"


def test_the_readme_mapping_and_the_init_draft_survive_the_table():
    with open_sheet(SAMPLE_CSV) as sheet:
        headers = list(sheet.headers)
        rows = [row for _, row in zip(range(200), sheet)]
    original = load_mapping(REPO / "mappings" / "contacts.yaml")
    same(original, round_trip(original, headers)[1])
    schema = load_schema_file(SAMPLE_SCHEMA).database(1)
    draft_text = draft_mapping(headers, rows, schema, database_id=1)
    data, lines = parse_yaml(draft_text, "draft")
    draft = validated(data, "draft", lines)
    same(draft, round_trip(draft, headers)[1])


@pytest.mark.parametrize("setting, written", [("", None), ("duplicates: first\n", None),
                                               ("duplicates: last\n", "last"),
                                               ("duplicates: {keep: newest, by: Born}\n", {"keep": "newest", "by": "Born"})])
def test_the_duplicates_rule_is_written_as_the_mapping_says_it(setting, written):
    original = validated(parse_yaml(f"database: 2\n{setting}fields:\n  email: Mail\n", "m.yaml")[0], "m.yaml", {})
    data, _ = parse_yaml(MappingTable.from_mapping(original, ["Mail", "Born"]).yaml_text("p.csv", "p.yaml"), "p")
    assert data.get("duplicates") == written


def test_a_mapped_column_the_file_lacks_stays_visible():
    original = validated({"fields": {"email": {"column": "E-mail"}}}, "m", {})
    table = MappingTable.from_mapping(original, ["Email", "Name"])
    assert [(line.column, line.missing) for line in table.lines] == [("Email", False), ("Name", False),
                                                                      ("E-mail", True)]


def test_what_the_table_refuses():
    table = MappingTable([Line("A", "field:email"), Line("B", "field:Email")], database=1)
    with pytest.raises(MappingError, match="field 'Email' is filled by two lines"):
        table.data()
    with pytest.raises(MappingError, match="column 'A', transforms: .*not valid YAML"):
        MappingTable([Line("A", "field:email", transform="trim, {replace: ")]).data()
    with pytest.raises(MappingError, match="unknown transform 'lowr'; did you mean 'lower'"):
        MappingTable([Line("A", "field:email", transform="lowr")]).mapping()
    with pytest.raises(MappingError, match="maps no fields and no interests"):
        MappingTable([Line("A")]).mapping()


@pytest.mark.parametrize("steps", [["trim"], ["trim", {"zfill": "6"}], [{"replace": {"Holland": "NL", "yes": "no"}}],
                                   [{"default": "2020-01-01"}], [{"replace": {"a: b": "{c}", "00": "true"}}]])
def test_transforms_as_one_line_and_back(steps):
    assert parse_transforms(transform_text(steps), "c") == steps
