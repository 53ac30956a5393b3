"""The import end to end: files -> sandbox over real HTTP -> results CSV."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from importer.errors import DatabaseNotFound
from importer.models import StopReason
from importer.runner import ImportOptions, run_import
from importer.sandbox import Faults, Sandbox
from tests.helpers import (
    PEOPLE_MAPPING,
    REPO,
    SAMPLE_SCHEMA,
    TOKEN,
    cli,
    cli_env,
    client_for,
    people,
    read_results,
    write_csv,
)

MAPPING = PEOPLE_MAPPING


@pytest.fixture
def mapping(tmp_path) -> Path:
    p = tmp_path / "m.yaml"
    p.write_text(MAPPING)
    return p


def test_sample_import_gives_one_line_per_row_and_every_created_profile_holds_its_values(tmp_path):
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb, client_for(sb) as client:
        options = ImportOptions(file=REPO / "sample_data/contacts.csv", mapping=REPO / "mappings/contacts.yaml",
                                results=tmp_path / "out.csv", workers=8)
        summary = run_import(options, client)
        stored = {p["ID"]: p for p in sb.profiles(1)}
    lines = read_results(tmp_path / "out.csv")
    assert [int(line["row"]) for line in lines] == list(range(2, 202))  # in the file's order
    assert Counter(line["status"] for line in lines) == {"created": 189, "skipped": 5, "invalid": 6}
    assert summary.exit_code == 1  # some rows are invalid
    created = [line for line in lines if line["status"] == "created"]
    assert len(stored) == len(created) == 189
    for line in created:
        profile = stored[int(line["profile_id"])]
        assert profile["fields"]["email"] == line["E-mail address"].strip().lower()
        assert profile["fields"]["firstname"] == line["First name"]
    for line in lines:
        if line["status"] != "created":
            assert line["error"], line


def test_results_are_the_same_whatever_the_number_of_workers(tmp_path, mapping):
    src = write_csv(tmp_path / "in.csv", people(60) + [["bad-address", "X", "1", "no"]])
    seen = []
    for workers in (1, 8):
        with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb, client_for(sb, workers) as client:
            run_import(ImportOptions(file=src, mapping=mapping, results=tmp_path / f"r{workers}.csv",
                                     workers=workers), client)
        lines = read_results(tmp_path / f"r{workers}.csv")
        seen.append(sorted((line["row"], line["status"], line["key"], line["error"]) for line in lines))
    assert seen[0] == seen[1]
    assert len(seen[0]) == 61


def test_temporary_errors_are_retried_without_duplicates(tmp_path, mapping):
    src = write_csv(tmp_path / "in.csv", people(80))
    faults = Faults(seed=3, rate_503=0.2, rate_429=0.1, retry_after=0, drop_before_store=0.05)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=faults) as sb, client_for(sb) as client:
        summary = run_import(ImportOptions(file=src, mapping=mapping, results=tmp_path / "r.csv"), client)
        emails = Counter(p["fields"]["email"] for p in sb.profiles(2))
        assert sb.stats()["by_status"].get("503", 0) > 0
    # a row whose POST lost its answer twice, and that two look-ups did not find, ends unknown (never a
    # third POST); a dropped request stored nothing, so such a row has no profile: nobody is there twice
    unknown = summary.counts["unknown"]
    assert summary.counts["created"] + unknown == 80 and unknown <= 2
    assert len(emails) == 80 - unknown and set(emails.values()) == {1}


def test_an_unknown_database_stops_the_run_after_one_request(tmp_path):
    # a mapping for a database the sandbox does not have, checked offline against a schema that has it
    schema = tmp_path / "s.yaml"
    schema.write_text("databases:\n  - id: 99\n    fields: [email]\n")
    m = tmp_path / "m.yaml"
    m.write_text("database: 99\nfields:\n  email: Email\n")
    src = write_csv(tmp_path / "in.csv", [["a@x.nl"]], header=("Email",))
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb, client_for(sb) as client:
        summary = run_import(ImportOptions(file=src, mapping=m, schema=schema, results=tmp_path / "r.csv"), client)
        assert sb.stats()["posts"] == 1
    assert summary.stopped is StopReason.API
    assert isinstance(summary.stop_error, DatabaseNotFound) and "no database with ID 99" in str(summary.stop_error)
    assert summary.sent == 0 and summary.exit_code == 2  # refused at the door: nothing was stored
    assert TOKEN not in str(summary.stop_error)


def test_cli_sample_import_into_the_embedded_sandbox(tmp_path):
    result = cli("run", str(REPO / "sample_data/contacts.xlsx"), "--mapping", str(REPO / "mappings/contacts.yaml"),
                 "--sandbox", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # 6 invalid rows in the sample
    assert "created          189" in result.stdout
    assert "rows/s" in result.stdout
    lines = read_results(tmp_path / "contacts.sandbox-results.csv")
    assert len(lines) == 200
    assert TOKEN not in result.stdout + result.stderr


def test_cli_misspelt_field_stops_before_anything_is_sent(tmp_path, sandbox):
    m = tmp_path / "m.yaml"
    m.write_text(MAPPING.replace("firstname:", "frstname:"))
    src = write_csv(tmp_path / "in.csv", people(3))
    result = cli("run", str(src), "--mapping", str(m), "--api-url", sandbox.api_url, cwd=tmp_path)
    assert result.returncode == 2
    assert "frstname" in result.stderr and "firstname" in result.stderr
    assert sandbox.profiles(2) == []
    assert sandbox.stats()["posts"] == 0


def test_cli_missing_column_lists_the_files_headers(tmp_path, sandbox):
    m = tmp_path / "m.yaml"
    m.write_text(MAPPING.replace("column: Email", "column: E-mail"))
    src = write_csv(tmp_path / "in.csv", people(3))
    result = cli("run", str(src), "--mapping", str(m), "--api-url", sandbox.api_url, cwd=tmp_path)
    assert result.returncode == 2
    assert "E-mail" in result.stderr and "Email" in result.stderr
    assert sandbox.stats()["posts"] == 0


def test_cli_invalid_token_stops_at_once_with_exit_2(tmp_path, sandbox, mapping):
    src = write_csv(tmp_path / "in.csv", people(5))
    result = cli("run", str(src), "--mapping", str(mapping), "--api-url", sandbox.api_url, cwd=tmp_path,
                 env={"COPERNICA_ACCESS_TOKEN": "wrong-token"})
    assert result.returncode == 2
    assert "access token" in result.stderr.lower()
    assert "wrong-token" not in result.stdout + result.stderr
    assert sandbox.profiles(2) == []


def test_cli_token_expiring_mid_run_leaves_unsent_rows_unmarked(tmp_path, mapping):
    src = write_csv(tmp_path / "in.csv", people(40))
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(expire_token_after=23)) as sb:
        result = cli("run", str(src), "--mapping", str(mapping), "--api-url", sb.api_url, "--workers", "2",
                     cwd=tmp_path)
        stored = len(sb.profiles(2))
    assert result.returncode == 3, result.stderr  # stopped after rows were sent: resumable
    assert "access token" in result.stderr.lower() and "--resume" in result.stderr
    lines = read_results(tmp_path / "in.results.csv")
    assert all(line["status"] == "created" for line in lines)  # nothing marked failed for the token
    assert len(lines) == stored < 40


def test_cli_does_not_overwrite_an_earlier_results_file(tmp_path, sandbox, mapping):
    src = write_csv(tmp_path / "in.csv", people(2))
    (tmp_path / "in.results.csv").write_text("precious\n")
    result = cli("run", str(src), "--mapping", str(mapping), "--api-url", sandbox.api_url, cwd=tmp_path)
    assert result.returncode == 2
    assert "--overwrite" in result.stderr
    assert (tmp_path / "in.results.csv").read_text() == "precious\n"
    assert sandbox.stats()["posts"] == 0


def test_cli_dry_run_sends_nothing(tmp_path, sandbox, mapping):
    src = write_csv(tmp_path / "in.csv", people(4) + [["nope", "X", "1", "no"]])
    result = cli("run", str(src), "--mapping", str(mapping), "--api-url", sandbox.api_url, "--dry-run",
                 cwd=tmp_path)
    assert result.returncode == 1
    assert "would send" in result.stdout and "4" in result.stdout
    assert sandbox.stats()["posts"] == 0


def test_cli_interrupt_then_resume_imports_every_row_exactly_once(tmp_path, mapping):
    src = write_csv(tmp_path / "in.csv", people(150))
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=40)) as sb:
        proc = subprocess.Popen([sys.executable, "-m", "importer", "run", str(src), "--mapping", str(mapping),
                                 "--api-url", sb.api_url, "--workers", "4", "--quiet"],
                                cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while len(sb.profiles(2)) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 3, err
        assert "--resume" in err and f"--api-url {sb.api_url}" in err  # the user's own command, resumed
        first = len(read_results(tmp_path / "in.results.csv"))
        assert 20 <= first < 150
        result = cli("run", str(src), "--mapping", str(mapping), "--api-url", sb.api_url, "--resume", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        emails = Counter(p["fields"]["email"] for p in sb.profiles(2))
    lines = read_results(tmp_path / "in.results.csv")
    assert sorted(int(line["row"]) for line in lines) == list(range(2, 152))
    assert len(emails) == 150 and set(emails.values()) == {1}
    ids = {int(p) for p in (line["profile_id"] for line in lines)}
    assert len(ids) == 150


def test_a_fixed_results_file_imported_again_sends_only_what_was_not_done(tmp_path, sandbox):
    """README, troubleshooting 10: fix a cell in the results file and import that
    file again with the same mapping. Rows created before are not sent twice;
    a source column called 'Status' survives the round trip."""
    m = tmp_path / "m.yaml"
    m.write_text("database: 2\nkey: email\nfields:\n  email: {column: Email, validate: email}\n"
                 "  firstname: Name\n  lastname: Status\n")
    src = write_csv(tmp_path / "in.csv", [["a@example.com", "Ann", "lead"], ["b@@example.com", "Bob", "=vip"],
                                          ["c@example.com", "Cem", "lead"]], header=("Email", "Name", "Status"))
    first = cli("run", str(src), "--mapping", str(m), "--api-url", sandbox.api_url, cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    results = tmp_path / "in.results.csv"
    text = results.read_text(encoding="utf-8-sig")
    assert "Status (source)" in text.splitlines()[0]
    (tmp_path / "fixed.csv").write_text(text.replace("b@@example.com", "b@example.com"), encoding="utf-8-sig")
    again = cli("run", "fixed.csv", "--mapping", str(m), "--api-url", sandbox.api_url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    stored = {p["fields"]["email"]: p["fields"] for p in sandbox.profiles(2)}
    assert sorted(stored) == ["a@example.com", "b@example.com", "c@example.com"]
    assert stored["b@example.com"]["lastname"] == "=vip"  # un-neutralised on the way back in
    lines = {line["Email"]: line for line in read_results(tmp_path / "fixed.results.csv")}
    assert lines["b@example.com"]["status"] == "created"
    assert lines["a@example.com"]["status"] == "skipped"
    assert "already created in the run this results file came from" in lines["a@example.com"]["error"]


def test_v4_run_fetches_a_jwt_and_renews_it_after_the_sandbox_revokes_it(tmp_path):
    """API v4 through the command: a bearer JWT, renewed when revoked mid-run."""
    write_csv(tmp_path / "a.csv", people(300))
    (tmp_path / "m.yaml").write_text(MAPPING)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=4)) as sb:
        proc = subprocess.Popen(
            [sys.executable, "-m", "importer", "run", "a.csv", "--mapping", "m.yaml", "--quiet",
             "--api-version", "4", "--api-url", sb.base_url + "/v4", "--workers", "2"],
            cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # revoke every JWT once the run is under way: the next request gets 401
        while sb.stats()["profiles"] < 30 and proc.poll() is None:
            time.sleep(0.02)
        sb.expire_jwts()
        out, err = proc.communicate(timeout=60)
        stats = sb.stats()
        stored = len(sb.profiles(2))
    assert proc.returncode == 0, err
    assert stored == 300, "every row created exactly once, none lost at the renewal"
    assert stats["jwts_issued"] >= 2
    assert TOKEN not in out + err
