"""Nothing silently lost: every value the real API would mangle is caught
by `check` and by `run` before a single profile is sent."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.helpers import SAMPLE_SCHEMA, cli

# Database 2 of the sample schema has a field of every type.
MAPPING = """\
database: 2
key: email
fields:
  email: {column: Email, transform: [trim, lower]}
  firstname: Name
  age: Age
  weight: Weight
  optin: Optin
  birthdate: Birthdate
  lastvisit: Last visit
interests:
  newsletter: {column: Newsletter, truthy: [yes], falsy: [no, ""]}
"""
HEADER = ["Email", "Name", "Age", "Weight", "Optin", "Birthdate", "Last visit", "Newsletter"]
GOOD = ["good@example.com", "Ann", "42", "61.5", "yes", "1980-09-03", "2026-01-02 10:11:12", "yes"]

# Each case: the column, the value the real API would silently mangle, and
# what the user is told instead (COPERNICA_API.md, "Silent behaviour").
MANGLED = [
    ("Age", "12a", "is not a whole number"),                # integer: "12a" -> 12 or 0
    ("Age", "2.99", "is not a whole number"),               # integer: 2.99 -> 2
    ("Weight", "abc", "is not a number"),                   # float: "abc" -> 0.0
    ("Weight", "1,5", "decimal_comma"),                     # float: "1,5" -> 1.0
    ("Optin", "Yes", "'yes'"),                              # select, case differs -> stored empty
    ("Optin", "maybe", "allowed are yes, no"),              # select, not a choice -> stored empty
    ("Birthdate", "31-02-1980", "date"),                    # date: unparseable -> 0000-00-00
    ("Birthdate", "03-09-1980", "could be"),                # date: day-month or month-day?
    ("Birthdate", "1980-02-30", "February 1980 has no day 30"),
    ("Last visit", "yesterday", "date"),                    # datetime -> 0000-00-00 00:00:00
    ("Email", "jan@@example.com", "not a valid email address"),  # API does not check syntax
]


def write_file(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def row_with(column: str, value: str, n: int) -> list[str]:
    row = list(GOOD)
    row[0] = f"p{n}@example.com"
    row[HEADER.index(column)] = value
    return row


@pytest.fixture
def mangled_file(tmp_path) -> Path:
    rows = [row_with(col, value, i) for i, (col, value, _) in enumerate(MANGLED)]
    rows.append(GOOD)
    return write_file(tmp_path / "in.csv", rows)


@pytest.fixture
def mapping(tmp_path) -> Path:
    p = tmp_path / "m.yaml"
    p.write_text(MAPPING)
    return p


def report_lines(path: Path) -> dict[int, dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return {int(line["row"]): line for line in csv.DictReader(f)}


@pytest.mark.parametrize("source", ["api", "schema-file"])
def test_check_catches_every_value_the_api_would_mangle(tmp_path, sandbox, mangled_file, mapping, source):
    extra = ["--api-url", sandbox.api_url] if source == "api" else ["--schema", str(SAMPLE_SCHEMA)]
    result = cli("check", str(mangled_file), "--mapping", str(mapping), "--report", str(tmp_path / "r.csv"),
                 *extra, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = report_lines(tmp_path / "r.csv")
    for i, (column, value, message) in enumerate(MANGLED):
        line = lines[i + 2]
        assert line["status"] == "invalid", (column, value, line)
        assert message in line["error"] and column in line["error"] and value in line["error"], line["error"]
    assert lines[len(MANGLED) + 2]["status"] == "valid"
    assert "would send" in result.stdout and "invalid" in result.stdout
    assert sandbox.stats()["posts"] == 0


def test_run_sends_only_the_rows_that_would_be_stored_as_given(tmp_path, sandbox, mangled_file, mapping):
    result = cli("run", str(mangled_file), "--mapping", str(mapping), "--api-url", sandbox.api_url, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    stored = sandbox.profiles(2)
    assert [p["fields"]["email"] for p in stored] == ["good@example.com"]
    assert stored[0]["fields"]["age"] == "42" and stored[0]["fields"]["optin"] == "yes"
    lines = report_lines(tmp_path / "in.results.csv")
    assert sum(line["status"] == "invalid" for line in lines.values()) == len(MANGLED)


def test_text_longer_than_the_field_is_caught_not_cut(tmp_path, sandbox):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("database: 1\nkey: email\nfields:\n  email: Email\n  firstname: Name\n")
    src = tmp_path / "in.csv"
    src.write_text("Email,Name\na@example.com," + "x" * 51 + "\nb@example.com,Bob\n")
    result = cli("run", str(src), "--mapping", str(mapping), "--api-url", sandbox.api_url, cwd=tmp_path)
    assert result.returncode == 1
    line = report_lines(tmp_path / "in.results.csv")[2]
    assert line["status"] == "invalid" and "50" in line["error"], line
    assert [p["fields"]["email"] for p in sandbox.profiles(1)] == ["b@example.com"]


@pytest.mark.parametrize("kind,typo,real", [("fields", "emial", "email"), ("interests", "newsleter", "newsletter")])
def test_unknown_field_or_interest_stops_check_and_run_with_the_closest_real_name(tmp_path, sandbox, kind, typo, real):
    m = tmp_path / "m.yaml"
    text = MAPPING.replace("  newsletter:", f"  {typo}:") if kind == "interests" else \
        MAPPING.replace("key: email", "key: emial").replace("  email:", "  emial:")
    m.write_text(text)
    src = write_file(tmp_path / "in.csv", [GOOD])
    for command in ("check", "run"):
        result = cli(command, str(src), "--mapping", str(m), "--api-url", sandbox.api_url, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert typo in result.stderr and real in result.stderr
    assert sandbox.stats()["posts"] == 0 and sandbox.profiles(2) == []


def test_field_names_match_case_insensitively_and_are_reported_by_their_real_name(tmp_path, sandbox):
    m = tmp_path / "m.yaml"
    m.write_text("database: 2\nkey: EMAIL\nfields:\n  EMAIL: Email\n  FirstName: Name\n")
    src = write_file(tmp_path / "in.csv", [GOOD])
    result = cli("run", str(src), "--mapping", str(m), "--api-url", sandbox.api_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [profile] = sandbox.profiles(2)
    assert profile["fields"]["email"] == "good@example.com" and profile["fields"]["firstname"] == "Ann"


def test_duplicates_first_wins_by_default_and_last_wins_on_request(tmp_path, sandbox, mapping):
    rows = [row_with("Name", "First", 1), row_with("Name", "Second", 1), row_with("Name", "Other", 2)]
    rows[1][0] = "  P1@Example.com "  # the same person after trim + lower
    src = write_file(tmp_path / "in.csv", rows)
    result = cli("check", str(src), "--mapping", str(mapping), "--schema", str(SAMPLE_SCHEMA),
                 "--report", str(tmp_path / "first.csv"), cwd=tmp_path)
    lines = report_lines(tmp_path / "first.csv")
    assert (lines[2]["status"], lines[3]["status"], lines[3]["error"]) == ("valid", "skipped", "duplicate of row 2")
    assert result.returncode == 0  # a skipped duplicate is what the user asked for

    last = tmp_path / "last.yaml"
    last.write_text(MAPPING.replace("key: email", "key: email\nduplicates: last"))
    cli("run", str(src), "--mapping", str(last), "--api-url", sandbox.api_url, cwd=tmp_path)
    lines = report_lines(tmp_path / "in.results.csv")
    assert lines[2]["status"] == "skipped" and "row 3" in lines[2]["error"]
    assert {p["fields"]["firstname"] for p in sandbox.profiles(2)} == {"Second", "Other"}


def test_check_report_summarises_reasons_with_counts_and_first_rows(tmp_path, mapping):
    rows = [row_with("Age", f"{i}x", i) for i in range(7)] + [GOOD]
    src = write_file(tmp_path / "in.csv", rows + [[""] * len(HEADER)])
    result = cli("check", str(src), "--mapping", str(mapping), "--schema", str(SAMPLE_SCHEMA), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "not_whole_number:" in line)
    assert lines[at].split()[:3] == ["7", "invalid", "not_whole_number:"] and "rows 2, 3, 4, 5, 6, ..." in lines[at]
    assert lines[at + 1].strip() == ("e.g. row 2: column 'Age': '0x' is not a whole number "
                                     "(field 'age' holds whole numbers)")
    assert "1 empty row skipped" in result.stdout


def test_check_without_structure_says_values_were_not_type_checked(tmp_path, mapping):
    src = write_file(tmp_path / "in.csv", [GOOD])
    result = cli("check", str(src), "--mapping", str(mapping), "--offline", cwd=tmp_path,
                 env={"COPERNICA_ACCESS_TOKEN": ""})
    assert result.returncode == 0, result.stderr
    assert "NOT checked" in result.stdout
