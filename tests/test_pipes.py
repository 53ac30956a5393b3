"""Pipelines (issue 15, points 2 and 3): '-' reads standard input (CSV, NDJSON,
a workbook), --report - / --summary-json - / --json write to standard output
with every human text on stderr, and the JSON has a versioned, documented
schema. Each test runs real shell pipelines against the sandbox."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from importer.sandbox import Faults, Sandbox
from tests.helpers import PEOPLE_MAPPING, REPO, SAMPLE_SCHEMA, TOKEN, cli, people, read_results, write_csv

CONTACTS_XLSX = REPO / "sample_data" / "contacts.xlsx"
CONTACTS_MAPPING = REPO / "mappings" / "contacts.yaml"


def install(tmp_path: Path) -> dict:
    """An environment where `copernica-import` is a command on PATH, as after `pip install`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    command = bin_dir / "copernica-import"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m importer "$@"\n')
    command.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPERNICA_")}
    env.update(PATH=f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}", PYTHONPATH=str(REPO),
               COPERNICA_ACCESS_TOKEN=TOKEN, COPERNICA_STATE_DIR=str(tmp_path / "state"), PYTHON=sys.executable)
    return env


def shell(line: str, cwd: Path, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """One shell command line, run by /bin/sh as cron or a CI step would."""
    return subprocess.run(["/bin/sh", "-c", line], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def sandbox_db2():
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        yield sb


def test_a_csv_piped_in_is_imported_and_json_load_reads_stdout(tmp_path, sandbox_db2):
    env = install(tmp_path)
    write_csv(tmp_path / "people.csv", people(5))
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING)
    line = (f"cat people.csv | copernica-import run - --format csv --mapping m.yaml --api-url {sandbox_db2.api_url} "
            "--archive-dir archive --json | \"$PYTHON\" -c 'import json,sys; d = json.load(sys.stdin); "
            "print(d[\"exit_code\"], d[\"counts\"][\"created\"], d[\"schema_version\"], d[\"files\"][0][\"file\"], "
            "d[\"files\"][0][\"source\"])'")
    done = shell(line, tmp_path, env)
    assert done.returncode == 0, done.stderr
    code, created, version, where, source = done.stdout.split()
    assert (code, created, version, source) == ("0", "5", "2", "-")
    assert "Import summary" in done.stderr  # the human text went to stderr
    assert len(sandbox_db2.profiles(2)) == 5
    # the data, its results and journal are named after the content's digest (and archived together)
    (results,) = (tmp_path / "archive").glob("stdin-*.results.csv")
    assert [r["status"] for r in read_results(results)] == ["created"] * 5
    assert (results.parent / (results.name + ".journal")).exists()
    assert tmp_path / where == tmp_path / "archive" / results.name.replace(".results.csv", ".csv")
    assert (tmp_path / where).read_bytes() == (tmp_path / "people.csv").read_bytes()
    assert not list(tmp_path.glob("-*")), "no file named '-'"


def test_the_same_data_piped_again_is_recognised_and_resume_finishes_it_without_a_duplicate(tmp_path):
    env = install(tmp_path)
    write_csv(tmp_path / "people.csv", people(60))
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=150)) as sb:
        base = f"copernica-import run - --mapping m.yaml --api-url {sb.api_url} --workers 2 --quiet"
        first = shell(f"cat people.csv | {base} --max-runtime 3s", tmp_path, env)
        assert first.returncode == 3, first.stderr
        assert "--max-runtime 3 s reached" in first.stderr
        assert "pipe the same data into it again" in first.stderr
        stored = len(sb.profiles(2))
        assert 0 < stored < 60
        sb.set_faults(latency_ms=0)
        second = shell(f"cat people.csv | {base} --resume", tmp_path, env)
        assert second.returncode == 0, second.stderr
        emails = [p["fields"]["email"] for p in sb.profiles(2)]
        assert sorted(emails) == sorted(f"person{i}@example.com" for i in range(60)), "every row exactly once"
        # other data through the same pipe is another import: with --resume it simply starts
        write_csv(tmp_path / "more.csv", people(3, start=100))
        third = shell(f"cat more.csv | {base} --resume", tmp_path, env)
        assert third.returncode == 0, third.stderr
        assert len(sb.profiles(2)) == 63
    assert len(list(tmp_path.glob("stdin-*.results.csv"))) == 2


def test_an_ndjson_stream_is_imported_with_numbers_and_bad_lines_kept_as_they_are(tmp_path, sandbox_db2):
    env = install(tmp_path)
    (tmp_path / "m.yaml").write_text("database: 2\nkey: email\nfields:\n  email: {column: email, validate: email}\n"
                                     "  firstname: name\n  zipcode: zip\n  weight: weight\n")
    lines = [json.dumps({"email": "a@example.com", "name": "Ann", "zip": "01234"}),
             '{"email": "b@example.com", "name": "Bob", "weight": 71.50}',
             "",
             '{"email": "c@example.com", "name": "Cy", "zip": "9999 AB"}',
             "this is not json",
             json.dumps({"email": "d@example.com", "name": "Dé", "later_key": True})]
    (tmp_path / "feed.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    line = (f"cat feed.ndjson | copernica-import run - --format ndjson --mapping m.yaml "
            f"--api-url {sandbox_db2.api_url} --results out.csv --summary-json -")
    done = shell(line, tmp_path, env)
    assert done.returncode == 1, done.stderr  # the line that is not JSON
    summary = json.loads(done.stdout)
    assert summary["counts"]["created"] == 4 and summary["counts"]["invalid"] == 1
    assert summary["files"][0]["file"] == "-" and len(summary["files"][0]["stdin_sha256"]) == 64
    rows = {r["row"]: r for r in read_results(tmp_path / "out.csv")}
    assert rows["5"]["status"] == "invalid" and rows["5"]["code"] == "bad_json"
    assert "line 5 is not valid JSON" in rows["5"]["error"]
    assert rows["2"]["weight"] == "71.50" and rows["1"]["zip"] == "01234"  # numbers exactly as written
    assert rows["6"]["later_key"] == "true"  # a key only a later object has is a column too
    stored = {p["fields"]["email"]: p["fields"] for p in sandbox_db2.profiles(2)}
    assert stored["a@example.com"]["zipcode"] == "01234" and stored["d@example.com"]["firstname"] == "Dé"
    assert summary["files"][0]["empty_rows"] == 1


@pytest.mark.parametrize("format_option", [["--format", "xlsx"], []], ids=["--format xlsx", "recognised"])
def test_a_workbook_through_a_pipe_is_spooled_and_read(tmp_path, format_option):
    spool = tmp_path / "tmp"   # its own temporary folder: other tests pipe files at the same time
    spool.mkdir()
    done = subprocess.run([sys.executable, "-m", "importer", "check", "-", *format_option, "--mapping",
                           str(CONTACTS_MAPPING), "--schema", str(SAMPLE_SCHEMA), "--json"],
                          input=CONTACTS_XLSX.read_bytes(), capture_output=True, cwd=tmp_path,
                          env={**install(tmp_path), "TMPDIR": str(spool)}, timeout=120)
    assert done.returncode == 1, done.stderr  # the sample holds six invalid rows
    summary = json.loads(done.stdout)
    assert summary["command"] == "check" and summary["rows"] == 200 and summary["counts"]["invalid"] == 6
    assert not list(spool.glob("copernica-import-stdin-*/stdin-*"))  # the spooled copy is gone


def test_check_report_to_stdout_is_a_clean_csv_and_the_summary_goes_to_stderr(tmp_path):
    write_csv(tmp_path / "people.csv", people(3) + [["not-an-email", "X", "1", "no"]])
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING)
    done = cli("check", "people.csv", "--mapping", "m.yaml", "--schema", str(SAMPLE_SCHEMA), "--report", "-",
               cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert not done.stdout.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["status"] for r in rows] == ["valid"] * 3 + ["invalid"]
    assert "Check summary" in done.stderr and "report.csv" not in done.stderr
    assert not (tmp_path / "-").exists()


def test_summary_json_dash_and_html_dash_write_to_stdout_but_not_both(tmp_path, sandbox_db2):
    write_csv(tmp_path / "people.csv", people(2))
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING)
    args = ["run", "people.csv", "--mapping", "m.yaml", "--api-url", sandbox_db2.api_url, "--quiet"]
    html = cli(*args, "--report-html", "-", cwd=tmp_path)
    assert html.returncode == 0, html.stderr
    assert html.stdout.lstrip().startswith("<!DOCTYPE html>") and "Import summary" in html.stderr
    both = cli(*args, "--overwrite", "--yes", "--report-html", "-", "--summary-json", "-", cwd=tmp_path)
    assert both.returncode == 2 and "only one output can go to standard output" in both.stderr
    assert not (tmp_path / "-").exists()


def test_json_reports_an_error_too_and_stdout_holds_nothing_else(tmp_path):
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING)
    write_csv(tmp_path / "people.csv", people(2))
    done = cli("run", "people.csv", "--mapping", "m.yaml", "--api-url", "http://127.0.0.1:9/v3", "--retries", "1",
               "--json", cwd=tmp_path)
    assert done.returncode == 75, done.stderr  # unreachable: temporary, nothing sent
    summary = json.loads(done.stdout)
    assert summary["exit_code"] == 75 and summary["exit_meaning"] == "temporary"
    assert "could not be reached" in summary["error"] and summary["files"] == []


def test_empty_standard_input_and_format_without_dash_are_clear_errors(tmp_path):
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING)
    empty = cli("run", "-", "--mapping", "m.yaml", "--sandbox", input="", cwd=tmp_path)
    assert empty.returncode == 2 and "nothing came through standard input" in empty.stderr
    write_csv(tmp_path / "people.csv", people(1))
    wrong = cli("run", "people.csv", "--format", "csv", "--mapping", "m.yaml", "--sandbox", cwd=tmp_path)
    assert wrong.returncode == 2 and "--format is for '-'" in wrong.stderr
    results = cli("run", "people.csv", "--results", "-", "--mapping", "m.yaml", "--sandbox", cwd=tmp_path)
    assert results.returncode == 2 and "--results cannot be '-'" in results.stderr
    assert not (tmp_path / "-").exists()


def test_the_json_summary_follows_its_published_schema(tmp_path, sandbox_db2):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((REPO / "importer" / "summary.schema.json").read_text(encoding="utf-8"))
    write_csv(tmp_path / "people.csv", people(4) + [["bad", "X", "1", "no"]])
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING)
    done = cli("run", "people.csv", "--mapping", "m.yaml", "--api-url", sandbox_db2.api_url, "--json", "--quiet",
               cwd=tmp_path)
    document = json.loads(done.stdout)
    jsonschema.validate(document, schema)
    assert document["schema_version"] == schema["properties"]["schema_version"]["const"]
    assert {r["code"] for r in document["files"][0]["reasons"]} == {"invalid_email"}


JSON_PEOPLE = """\
database: 2
key: email
fields:
  email: email
  firstname: name
"""
JSON_ARRAY = '[\n  {"email": "j1@js.nl", "name": "J1", "n": 1e2},\n  {"email": "j2@js.nl", "name": "J2", "n": 0.10}\n]\n'


@pytest.mark.parametrize("data, format_option", [
    (JSON_ARRAY, "--format json"), (JSON_ARRAY, ""), ("\ufeff  " + JSON_ARRAY, ""),
    ('{\n  "data": [{"email": "j1@js.nl", "name": "J1", "n": 1e2}, {"email": "j2@js.nl", "n": 0.10, "name": "J2"}]\n}\n',
     ""),
], ids=["--format json", "recognised", "bom and spaces", "wrapped, recognised"])
def test_a_json_array_through_a_pipe_is_read_as_json(tmp_path, data, format_option):
    (tmp_path / "j1.json").write_text(data, encoding="utf-8")
    (tmp_path / "js.yaml").write_text(JSON_PEOPLE)
    done = shell(f"cat j1.json | copernica-import check - {format_option} --mapping js.yaml --offline --report -",
                 tmp_path, install(tmp_path))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["row"], r["status"], r["email"], r["n"]) for r in rows] == [
        ("1", "valid", "j1@js.nl", "1e2"), ("2", "valid", "j2@js.nl", "0.10")]


def test_a_json_array_given_as_ndjson_is_refused_with_the_format_to_use(tmp_path):
    (tmp_path / "j1.json").write_text(JSON_ARRAY)
    (tmp_path / "js.yaml").write_text(JSON_PEOPLE)
    done = shell("cat j1.json | copernica-import check - --format ndjson --mapping js.yaml --offline",
                 tmp_path, install(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == ("error: standard input starts with '[': it is a JSON array, "
                                                    "not NDJSON (one object per line); use --format json")


def test_the_read_line_names_standard_input_not_the_spool(tmp_path):
    write_csv(tmp_path / "people.csv", people(3))
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING)
    done = shell("cat people.csv | copernica-import check - --mapping m.yaml --offline", tmp_path, install(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Read standard input as utf-8 (Unicode)" in done.stderr
    assert "stdin-" not in done.stderr
