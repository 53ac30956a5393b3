"""Phone numbers (the ``phone:`` rule), empty yes/no cells, and numbers that lost their leading zeros.

Through the mapping (load -> compile -> convert) and, for what a user reads,
through ``check`` in a subprocess.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from importer import phones
from importer.errors import MappingError
from importer.mapping import compile_mapping, load_mapping
from importer.mapping import convert as convert_module
from importer.mapping import notes as notes_module
from importer.models import REASON_TITLES, Profile, Row, RowError
from tests.helpers import SAMPLE_SCHEMA, cli


def converter(tmp_path: Path, text: str, headers: list[str]):
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return compile_mapping(load_mapping(path), headers)


def one(convert, **cells: str):
    return convert(Row(2, dict(cells)))


# ---------------------------------------------------------------- the phone rule

@pytest.mark.parametrize("cell, fmt, sent", [
    ("+31 (6) 1234-5678", "e164", "+31612345678"), ("06-12345678", "e164", "+31612345678"),
    ("0031 6 12345678", "e164", "+31612345678"), ("020 123 4567", "international", "+31 20 123 4567"),
    ("+31612345678", "national", "06 12345678"), ("+49 151 23456789", "e164", "+4915123456789"),
])
def test_phone_numbers_are_checked_and_sent_in_one_form(tmp_path, cell, fmt, sent):
    convert = converter(tmp_path, f"fields:\n  phone: {{column: Phone, phone: {{region: NL, format: {fmt}}}}}\n",
                        ["Phone"])
    assert one(convert, Phone=cell).fields["phone"] == sent


@pytest.mark.parametrize("cell, why", [
    ("06-123", phones.Msg.TOO_SHORT), ("+31 20 12", phones.Msg.TOO_SHORT), ("call me", phones.Msg.NOT_A_NUMBER),
    ("+999 1234567", phones.Msg.UNKNOWN_COUNTRY_CODE), ("0612345678901234567", phones.Msg.TOO_LONG),
    ("+31 6 00000000", phones.Msg.NO_SUCH_RANGE.format(country="NL")),
    ("020 12345678", phones.Msg.WRONG_LENGTH.format(country="NL")),
])
def test_an_invalid_number_makes_the_row_invalid_with_a_clear_reason(tmp_path, cell, why):
    convert = converter(tmp_path, "fields:\n  phone: {column: Phone, phone: {region: NL}}\n", ["Phone"])
    result = one(convert, Phone=cell)
    assert isinstance(result, RowError)
    assert result.code == "invalid_phone" and "invalid_phone" in REASON_TITLES
    where = phones.Msg.IN_REGION.format(region="NL")
    assert result.message == f"column 'Phone': '{cell}' is not a valid phone number{where}: {why}"
    assert result.reasons[0].params["value"] == cell      # the report's example value


def test_without_a_region_a_number_needs_its_country_code(tmp_path):
    convert = converter(tmp_path, "fields:\n  phone: {column: Phone, phone: true}\n", ["Phone"])
    assert one(convert, Phone="+32 470 12 34 56").fields["phone"] == "+32470123456"
    result = one(convert, Phone="0612345678")
    assert result.message == ("column 'Phone': '0612345678' is not a valid phone number"
                              f"{phones.Msg.NO_REGION}: {phones.Msg.NO_COUNTRY_CODE}")


def test_the_region_shorthand_and_the_wrong_settings_are_explained(tmp_path):
    convert = converter(tmp_path, "fields:\n  phone: {column: Phone, phone: nl}\n", ["Phone"])
    assert one(convert, Phone="0612345678").fields["phone"] == "+31612345678"
    path = tmp_path / "bad.yaml"
    path.write_text("fields:\n  phone: {column: Phone, phone: {region: NLD, format: e164}}\n", encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert phones.Msg.UNKNOWN_REGION.format(region="NLD", hint="; did you mean 'NL'?") in str(caught.value)
    path.write_text('fields:\n  phone: {column: Phone, phone: NL, date_format: "%d-%m-%Y"}\n', encoding="utf-8")
    with pytest.raises(MappingError, match="phone and date_format cannot both apply to one field"):
        load_mapping(path)
    path.write_text("fields:\n  phone: {column: Phone, phone: {region: NL, format: dutch}}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="'dutch' is not allowed here.*e164, international, national"):
        load_mapping(path)


def test_init_proposes_the_region_most_numbers_are_valid_in():
    assert phones.propose_region(["06-12345678", "020-1234567", "+49 151 23456789"]) == ("NL", 3)
    assert phones.propose_region(["+31612345678", "+4915123456789"]) == (None, 2)
    assert phones.propose_region(["0470 12 34 56", "0470 65 43 21"], hint="BE") == ("BE", 2)
    assert phones.propose_region(["hello", "world"]) == (None, 0)


# ---------------------------------------------------------------- empty yes/no cells

YES_NO = "fields:\n  email: Email\ninterests:\n  nieuwsbrief: {column: Nieuwsbrief, truthy: [ja], falsy: [nee]%s}\n"


def test_an_empty_yes_no_cell_switches_nothing_by_default(tmp_path):
    convert = converter(tmp_path, YES_NO % "", ["Email", "Nieuwsbrief"])
    results = [convert(Row(n, {"Email": "a@x.nl", "Nieuwsbrief": cell})) for n, cell in
               enumerate(["ja", "nee", "", "  "], start=2)]
    assert all(isinstance(r, Profile) for r in results)
    # off for a new profile (which does not have it anyway); an update leaves it alone (blank_existing: true
    # would switch it off): the sender reads empty_interests
    assert [r.interests.get("nieuwsbrief") for r in results] == [1, 0, 0, 0]
    assert [r.empty_interests for r in results] == [set(), set(), {"nieuwsbrief"}, {"nieuwsbrief"}]
    notes = convert.notes()
    assert [n.code for n in notes] == ["blank_yes_no"] and "blank_yes_no" in REASON_TITLES
    assert notes[0].message == notes_module.Msg.BLANK_YES_NO.format(
        count=2, column="Nieuwsbrief", interest="nieuwsbrief", rows="4, 5")


def test_an_empty_cell_is_off_when_falsy_says_so_and_invalid_when_required(tmp_path):
    off = converter(tmp_path, YES_NO.replace("falsy: [nee]", 'falsy: [nee, ""]') % "", ["Email", "Nieuwsbrief"])
    assert one(off, Email="a@x.nl", Nieuwsbrief="").interests["nieuwsbrief"] == 0
    assert off.notes() == []
    required = converter(tmp_path, YES_NO % ", required: true", ["Email", "Nieuwsbrief"])
    result = one(required, Email="a@x.nl", Nieuwsbrief="")
    assert isinstance(result, RowError) and result.code == "empty_required"
    assert result.message == convert_module.Msg.EMPTY_YES_NO_REQUIRED.format(column="Nieuwsbrief",
                                                                             interest="nieuwsbrief")
    path = tmp_path / "bad.yaml"
    path.write_text("fields:\n  email: Email\ninterests:\n  football: {column: S, contains: F, required: true}\n")
    with pytest.raises(MappingError, match="'required' applies to a yes/no column, not to 'contains'"):
        load_mapping(path)


def test_check_says_how_many_empty_cells_switched_nothing_and_how_to_change_it(tmp_path):
    (tmp_path / "m.yaml").write_text("database: 2\nkey: email\nfields:\n  email: Email\ninterests:\n"
                                     "  newsletter: {column: Newsletter, truthy: [ja], falsy: [nee]}\n")
    rows = "\n".join(f"p{n}@example.com,{'ja' if n % 3 == 0 else ('nee' if n % 3 == 1 else '')}" for n in range(30))
    (tmp_path / "in.csv").write_text("Email,Newsletter\n" + rows + "\n", encoding="utf-8")
    result = cli("check", str(tmp_path / "in.csv"), "--mapping", str(tmp_path / "m.yaml"), "--schema",
                 str(SAMPLE_SCHEMA), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"would send +30\n", result.stdout)
    assert "Notes:\n  10 empty cells in column 'Newsletter' switched interest 'newsletter' neither on nor off " \
           "(rows 4, 7, 10, 13, 16, ...): the default. To change it, add blank_existing: true" in result.stdout


# ---------------------------------------------------------------- lost leading zeros

def test_check_flags_numbers_that_lost_their_leading_zero(tmp_path):
    (tmp_path / "m.yaml").write_text("database: 1\nkey: email\nfields:\n  email: Email\n  phone: Phone\n")
    lines = [f"p{n}@example.com,0201234{n:03d}" for n in range(20)]
    lines[3] = "p3@example.com,201234003"         # saved from a spreadsheet as a number
    lines[11] = "p11@example.com,201234011"
    (tmp_path / "in.csv").write_text("Email,Phone\n" + "\n".join(lines) + "\n", encoding="utf-8")
    result = cli("check", str(tmp_path / "in.csv"), "--mapping", str(tmp_path / "m.yaml"), "--schema",
                 str(SAMPLE_SCHEMA), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = notes_module.Msg.LOST_ZEROS.format(column="Phone", count=2, rows="5, 13", value="201234003",
                                                    like="0201234000", width=10, field="phone")
    assert expected in result.stdout
    assert "lost_leading_zeros" in REASON_TITLES


def test_no_lost_zeros_are_suspected_in_numbers_or_with_a_rule_that_reads_them(tmp_path):
    cells = [f"0201234{n:03d}" for n in range(10)] + ["201234999"]
    for text in ("fields:\n  phone: {column: P, phone: NL}\n", "fields:\n  phone: {column: P, transform: [{zfill: 10}]}\n",
                 "fields:\n  phone: {column: P, decimal_comma: true}\n"):
        convert = converter(tmp_path, text, ["P"])
        for n, cell in enumerate(cells):
            convert(Row(n + 2, {"P": cell}))
        assert convert.notes() == [], text
    mostly_plain = converter(tmp_path, "fields:\n  code: C\n", ["C"])
    for n, cell in enumerate(["12345", "23456", "34567", "01234", "99999", "45678"]):
        mostly_plain(Row(n + 2, {"C": cell}))
    assert mostly_plain.notes() == []
