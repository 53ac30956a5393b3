"""One cell can never stop a run: a value at the limits of what can be converted
(a datetime its time zone moves past the year 1 or 9999, a whole number of
thousands of digits) makes its row invalid, and the other rows go through.
And the catch-all that a bug would reach suggests only commands that exist."""
from __future__ import annotations

import datetime as dt
import re
import shlex
from pathlib import Path

import pytest

from importer import checks
from importer import cli as cli_module
from importer.checks import ValueProblem, check_integer
from importer.command_parsers import build_parser
from importer.date_parser import DateParser
from importer.mapping import compile_mapping, load_mapping
from importer.models import REASON_TITLES, Row, RowError
from importer.readers.cells import datetime_to_text
from importer.sandbox import Sandbox
from importer.schema import FieldDef
from tests.helpers import SAMPLE_SCHEMA, TOKEN, cli, read_results

ISO_WITH_ZONE = "%Y-%m-%dT%H:%M:%S%z"
DT_MAPPING = """\
database: 2
key: email
fields:
  email: Email
  lastvisit: {{column: V, date_format: "{fmt}"{zone}}}
"""
FIRST_MOMENT = "0001-01-01T00:30:00+01:00"     # 31 December of the year 0 in UTC
LAST_MOMENT = "9999-12-31T23:59:59-12:00"      # 1 January 10000 in Amsterdam


# ---------------------------------------------------------------- the value layer

@pytest.mark.parametrize("value, timezone", [(FIRST_MOMENT, None), (LAST_MOMENT, "Europe/Amsterdam"),
                                             ("0001-01-01T00:00:00+00:00", "Pacific/Kiritimati")])
def test_a_moment_its_time_zone_moves_out_of_range_is_an_invalid_date(value, timezone):
    parse = DateParser([ISO_WITH_ZONE], with_time=True, timezone=timezone)
    with pytest.raises(ValueProblem) as caught:
        parse(value)
    assert caught.value.reason.code == "invalid_date"
    assert str(caught.value) == (f"'{value}' is out of the range of dates that can be stored: in time zone "
                                 f"{timezone or 'UTC'} it falls outside the years 1 to 9999")


def test_moments_at_the_limits_that_stay_inside_are_read():
    assert DateParser([ISO_WITH_ZONE], True)("0001-01-01T00:30:00+00:00") == "0001-01-01 00:30:00"
    assert DateParser([ISO_WITH_ZONE], True, "Europe/Amsterdam")("9999-12-31T22:59:59+00:00") == "9999-12-31 23:59:59"
    # a date field keeps the date as written: no zone conversion, nothing out of range
    assert DateParser([ISO_WITH_ZONE], False)("0001-01-01T00:00:00+01:00") == "0001-01-01"


@pytest.mark.parametrize("digits", [11, 400, 5000, 100_000])
def test_a_whole_number_of_many_digits_is_out_of_range_not_a_crash(digits):
    field = FieldDef(name="age", type="integer")
    for text in ("9" * digits, "-" + "9" * digits, "+" + "1" * digits):
        with pytest.raises(ValueProblem) as caught:
            check_integer(field, text)
        assert caught.value.reason.code == "out_of_range"
    # leading zeros do not make a number large
    assert check_integer(field, "0" * 5000 + "42") == "42"
    assert check_integer(field, "-2147483648") == "-2147483648"


def test_a_workbook_moment_at_the_last_second_of_9999_is_not_rounded_past_it():
    assert datetime_to_text(dt.datetime(9999, 12, 31, 23, 59, 59, 999_000)) == "9999-12-31 23:59:59"
    assert datetime_to_text(dt.datetime(2020, 1, 2, 3, 4, 5, 600_000)) == "2020-01-02 03:04:06"
    # the year written with four digits (strftime writes the year 33 as '33')
    assert datetime_to_text(dt.datetime(33, 1, 2, 3, 4, 5)) == "0033-01-02 03:04:05"


def test_a_check_that_fails_in_a_way_no_one_foresaw_makes_only_its_row_invalid(monkeypatch, tmp_path):
    def broken(value: str, field=None) -> str:
        if value.startswith("boom"):
            raise ZeroDivisionError("division by zero")
        return value

    monkeypatch.setattr(checks, "check_email", broken)  # the checks are picked when the mapping is compiled
    path = tmp_path / "m.yaml"
    path.write_text("database: 2\nkey: email\nfields:\n  email: {column: Email, validate: email}\n"
                    "  firstname: {column: Name, validate: email, on_invalid: send}\n")
    mapping = load_mapping(path)
    convert = compile_mapping(mapping, ["Email", "Name"])
    bad = convert(Row(2, {"Email": "boom@x.nl", "Name": "Ann"}))
    assert isinstance(bad, RowError) and [r.code for r in bad.reasons] == ["not_converted"]
    assert bad.key == "boom@x.nl"
    assert bad.reasons[0].message == ("column 'Email': 'boom@x.nl' could not be converted for field 'email' "
                                      "(ZeroDivisionError: division by zero); nothing of this row was sent")
    # on_invalid: send does not send a value no check could read
    also_bad = convert(Row(3, {"Email": "a@x.nl", "Name": "boom"}))
    assert isinstance(also_bad, RowError) and [r.code for r in also_bad.reasons] == ["not_converted"]
    assert convert(Row(4, {"Email": "a@x.nl", "Name": "Ann"})).fields == {"email": "a@x.nl", "firstname": "Ann"}
    assert "not_converted" in REASON_TITLES


# ---------------------------------------------------------------- check and run

def write_files(tmp_path: Path, bad: str, zone: str | None) -> tuple[Path, Path]:
    mapping = tmp_path / "dt2.yaml"
    mapping.write_text(DT_MAPPING.format(fmt=ISO_WITH_ZONE, zone=f", timezone: {zone}" if zone else ""))
    src = tmp_path / "ov2.csv"
    src.write_text(f"Email,V\na@dt.nl,2020-01-01T00:30:00+01:00\nz@dt.nl,{bad}\nb@dt.nl,2020-06-01T12:00:00+02:00\n")
    return src, mapping


@pytest.mark.parametrize("bad, zone", [(FIRST_MOMENT, None), (LAST_MOMENT, "Europe/Amsterdam")])
def test_check_reports_a_datetime_out_of_range_and_every_other_row(tmp_path, bad, zone):
    src, mapping = write_files(tmp_path, bad, zone)
    done = cli("check", str(src), "--mapping", str(mapping), "--schema", str(SAMPLE_SCHEMA),
               "--report", str(tmp_path / "r.csv"), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "unexpected" not in done.stderr and "--resume" not in done.stderr + done.stdout
    report = {line["row"]: line for line in read_results(tmp_path / "r.csv")}
    assert [report[n]["status"] for n in ("2", "3", "4")] == ["valid", "invalid", "valid"]
    assert report["3"]["code"] == "invalid_date" and "out of the range of dates" in report["3"]["error"]


@pytest.mark.parametrize("bad, zone", [(FIRST_MOMENT, None), (LAST_MOMENT, "Europe/Amsterdam")])
def test_run_imports_the_other_rows_of_a_file_with_a_datetime_out_of_range(tmp_path, bad, zone):
    src, mapping = write_files(tmp_path, bad, zone)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        args = ["run", str(src), "--mapping", str(mapping), "--api-url", sb.api_url, "--schema", str(SAMPLE_SCHEMA)]
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 1, done.stderr      # finished, one row invalid
        assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
        stored = {p["fields"]["email"]: p["fields"]["lastvisit"] for p in sb.profiles(2)}
        moment_b = "2020-06-01 12:00:00" if zone else "2020-06-01 10:00:00"
        first = "2020-01-01 00:30:00" if zone else "2019-12-31 23:30:00"
        assert stored == {"a@dt.nl": first, "b@dt.nl": moment_b}
        results = {line["row"]: line for line in read_results(tmp_path / "ov2.results.csv")}
        assert [results[n]["status"] for n in ("2", "3", "4")] == ["created", "invalid", "created"]
        assert results["3"]["code"] == "invalid_date"
        again = cli(*args, "--resume", cwd=tmp_path)
        assert again.returncode == 1, again.stderr
        assert len(sb.profiles(2)) == 2


# ---------------------------------------------------------------- the catch-all

# the least each command needs on the command line
COMMAND_LINES = {
    "run": ["run", "in.csv", "--mapping", "m.yaml"],
    "check": ["check", "in.csv", "--mapping", "m.yaml"],
    "init": ["init", "in.csv"],
    "schema": ["schema", "--database", "2"],
    "rollback": ["rollback", "in.results.csv"],
    "config": ["config"],
    "completion": ["completion", "bash"],
    "ui": ["ui", "--no-browser"],
}
REHEARSALS = [["run", "in.csv", "--mapping", "m.yaml", "--sandbox"],
              ["run", "in.csv", "--mapping", "m.yaml", "--dry-run"]]


def catch_all(monkeypatch, capsys, argv: list[str]) -> tuple[int, str]:
    def bug(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli_module, "_setup_logging", lambda verbose, log_file: None)
    monkeypatch.setitem(cli_module.COMMANDS, argv[0], bug)
    code = cli_module.main(argv)
    return code, capsys.readouterr().err


def suggested_commands(text: str) -> list[list[str]]:
    return [shlex.split(line.strip())[1:] for line in text.splitlines() if line.strip().startswith("copernica-import")]


def test_every_command_has_a_catch_all_for_bugs():
    assert set(COMMAND_LINES) == set(cli_module.COMMANDS)


@pytest.mark.parametrize("argv", [*COMMAND_LINES.values(), *REHEARSALS], ids=lambda a: " ".join(a))
def test_the_catch_all_suggests_only_commands_that_exist(monkeypatch, capsys, tmp_path, argv):
    monkeypatch.chdir(tmp_path)
    code, err = catch_all(monkeypatch, capsys, argv)
    assert code == (3 if argv[0] in ("run", "rollback") else 2)
    assert err.startswith("error: an unexpected error stopped the command: RuntimeError('a bug')"), err
    assert "(with -v the details are shown)" in err
    commands = suggested_commands(err)
    for words in commands:
        args, extras = build_parser().parse_known_args(words)   # exits (SystemExit) on an unknown command
        assert extras == [] and args.command == argv[0]
    if argv in REHEARSALS:
        assert commands == [] and "run the same command again" in err and "--resume" not in err
    elif argv[0] == "run":
        assert commands == [[*argv, "--resume"]]
    else:
        assert commands == [] and "--resume" not in err
    if argv[0] not in ("run", "rollback"):
        assert re.search(r"Nothing was changed in Copernica", err)
