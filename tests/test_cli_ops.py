"""Operating the tool: JSON summary and HTML report, the confirmation before
a real send, nightly drops with archiving, environment settings, API v4
through the CLI, logging without the token, and every input format."""
from __future__ import annotations

import gzip
import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_SCHEMA, TOKEN, cli
from test_reader import compound_file, make_ods, xls_workbook_stream
from test_report import ReportParser
from test_run import MAPPING, people, read_results, write_csv

from importer.sandbox import Faults, Sandbox

SAMPLE = str(REPO / "sample_data" / "contacts.csv")
SAMPLE_MAPPING = str(REPO / "mappings" / "contacts.yaml")
SIMPLE_MAPPING = """\
database: 2
key: email
fields:
  email: {column: Email, validate: email, required: true}
  firstname: Name
"""


def an_hour_ago(*paths: Path) -> None:
    """A drop that arrived a while ago (the still-being-written rule passes it)."""
    past = time.time() - 3600
    for p in paths:
        os.utime(p, (past, past))


# -- summary JSON and HTML report -------------------------------------------------------------

def test_summary_json_and_html_report_describe_the_sample_import(sandbox, tmp_path):
    done = cli("run", SAMPLE, "--mapping", SAMPLE_MAPPING, "--api-url", sandbox.api_url,
               "--summary-json", "s.json", "--report-html", "r.html", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # six rows are invalid
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["exit_code"] == 1 and data["error"] is None and data["rows"] == 200
    assert data["counts"] == {"created": 189, "skipped": 5, "invalid": 6, "failed": 0}
    (one,) = data["files"]
    assert one["file"] == SAMPLE and one["counts"] == data["counts"]
    assert Path(one["results"]) == tmp_path / "contacts.results.csv"
    assert Path(one["journal"]).exists()
    invalid_rows = sorted(row for r in one["reasons"] if r["status"] == "invalid" for row in r["rows"])
    assert invalid_rows == [12, 37, 58, 83, 121, 160]
    assert sum(r["count"] for r in one["reasons"] if r["status"] == "skipped") == 5
    assert one["throughput"][0] == [0.0, 0] and one["throughput"][-1][1] == 200

    page = ReportParser.of((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert page.status_counts == {"created": 189, "skipped": 5, "invalid": 6}
    assert page.exit_code == "1"
    assert sorted(int(n) for r in page.reasons if r[0] == "invalid" for n in re.findall(r"\d+", r[3])) == \
        invalid_rows
    # self-contained: no script, style or font from elsewhere; the one link is to the results file beside it
    assert page.has_chart and not page.scripts and page.external_refs == ["contacts.results.csv"]


def test_summary_json_is_written_when_the_run_stops_with_an_error(tmp_path, sandbox):
    (tmp_path / "m.yaml").write_text(MAPPING.replace("database: 2", "database: 99"))
    write_csv(tmp_path / "a.csv", people(3))
    done = cli("run", "a.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url,
               "--summary-json", "s.json", cwd=tmp_path)
    assert done.returncode == 2
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["exit_code"] == 2 and "99" in data["error"] and data["files"] == []


# -- confirmation before a real send --------------------------------------------------------

def test_no_terminal_and_a_remote_host_refuses_without_yes_before_any_request(tmp_path):
    write_csv(tmp_path / "a.csv", people(3))
    (tmp_path / "m.yaml").write_text(MAPPING)
    # --schema: the structure is known offline, so the refusal needs no network at all
    done = cli("run", "a.csv", "--mapping", "m.yaml", "--schema", str(SAMPLE_SCHEMA),
               "--api-url", "https://api.copernica.com/v3", cwd=tmp_path, input="yes\n")
    assert done.returncode == 2
    assert "without confirmation" in done.stderr and "--yes" in done.stderr
    assert not (tmp_path / "a.results.csv").exists()


def run_in_pty(args: list[str], answer: str, cwd: Path) -> tuple[int, str]:
    """Runs the CLI with a pseudo-terminal as stdin and types ``answer``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPERNICA_")}
    env |= {"COPERNICA_ACCESS_TOKEN": TOKEN, "PYTHONPATH": str(REPO)}
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "importer", *args], stdin=follower,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env, text=True)
        os.write(leader, answer.encode() + b"\n")  # the terminal holds the line until it is read
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    return proc.returncode, out + err


@pytest.mark.parametrize("answer,sent", [("no", False), ("yes", True)])
def test_the_prompt_names_database_host_and_rows_and_only_yes_sends(tmp_path, sandbox, answer, sent):
    write_csv(tmp_path / "a.csv", people(7))
    (tmp_path / "m.yaml").write_text(MAPPING)
    code, output = run_in_pty(["run", "a.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url,
                               "--confirm", "--quiet"], answer, tmp_path)
    host = sandbox.api_url.split("/")[2]
    assert f"About to import 7 row(s) from a.csv into database 2 ('Test database') at {host}." in output
    assert "Type yes to continue" in output
    assert len(sandbox.profiles(2)) == (7 if sent else 0)
    if sent:
        assert code == 0, output
    else:
        assert code == 2 and "not confirmed" in output and not (tmp_path / "a.results.csv").exists()


# -- nightly drops ----------------------------------------------------------------------------

def test_a_drop_folder_from_the_environment_is_imported_file_by_file_and_archived(tmp_path, sandbox):
    drops, archive, results = tmp_path / "drops", tmp_path / "archive", tmp_path / "results"
    drops.mkdir()
    first = write_csv(drops / "monday.csv", people(4))
    second = write_csv(drops / "tuesday.csv", people(3, start=100))
    an_hour_ago(first, second)
    arriving = write_csv(drops / "wednesday.csv", people(2, start=200))  # modified just now
    (tmp_path / "m.yaml").write_text(MAPPING)
    env = {"COPERNICA_API_URL": sandbox.api_url, "COPERNICA_MAPPING": str(tmp_path / "m.yaml"),
           "COPERNICA_RESULTS_DIR": str(results), "COPERNICA_ARCHIVE_DIR": str(archive),
           "COPERNICA_SETTLE_SECONDS": "1"}
    # the pattern reaches the program unexpanded, as in a cron line with quotes
    done = cli("run", str(drops / "*.csv"), "--quiet", "--summary-json", "s.json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(sandbox.profiles(2)) == 7
    assert sorted(p.name for p in drops.iterdir()) == ["wednesday.csv"]
    assert "left for the next run" in done.stderr and "wednesday.csv" in done.stderr
    archived = sorted(p.name for p in archive.iterdir())
    assert archived == ["monday.csv", "monday.results.csv", "monday.results.csv.journal",
                        "tuesday.csv", "tuesday.results.csv", "tuesday.results.csv.journal"]
    assert [line["status"] for line in read_results(archive / "tuesday.results.csv")] == ["created"] * 3
    data = json.loads((tmp_path / "s.json").read_text())
    assert [Path(f["file"]).name for f in data["files"]] == ["monday.csv", "tuesday.csv"]
    assert data["counts"]["created"] == 7 and "wednesday.csv" in data["left_for_next_run"][0]

    # the next night: wednesday's file is complete; yesterday's names in the archive stay untouched.
    # The cron line always says --resume: a new file without a journal simply starts.
    an_hour_ago(arriving)
    again = cli("run", str(drops / "*.csv"), "--quiet", "--resume", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert list(drops.iterdir()) == [] and len(sandbox.profiles(2)) == 9
    assert (archive / "wednesday.csv").exists() and len(list(archive.iterdir())) == 9


def test_one_broken_drop_file_does_not_hold_back_the_others(tmp_path, sandbox):
    drops = tmp_path / "drops"
    drops.mkdir()
    good = write_csv(drops / "b_good.csv", people(3))
    broken = drops / "a_broken.csv"
    broken.write_bytes(b"")  # an empty upload
    an_hour_ago(good, broken)
    (tmp_path / "m.yaml").write_text(MAPPING)
    done = cli("run", "drops/*.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url, "--quiet", cwd=tmp_path)
    assert done.returncode == 2, done.stderr  # the highest code of the night's files
    assert "a_broken.csv" in done.stderr and "empty" in done.stderr
    assert len(sandbox.profiles(2)) == 3
    assert [line["status"] for line in read_results(tmp_path / "b_good.results.csv")] == ["created"] * 3


def test_an_empty_drop_folder_is_a_quiet_night(tmp_path, sandbox):
    (tmp_path / "drops").mkdir()
    (tmp_path / "m.yaml").write_text(MAPPING)
    done = cli("run", "drops/*.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url, cwd=tmp_path)
    assert done.returncode == 0 and "no file matches 'drops/*.csv'" in done.stderr


def test_a_bad_number_in_the_environment_is_named(tmp_path):
    (tmp_path / "m.yaml").write_text(MAPPING)
    write_csv(tmp_path / "a.csv", people(1))
    done = cli("run", "a.csv", "--mapping", "m.yaml", env={"COPERNICA_WORKERS": "lots"}, cwd=tmp_path)
    assert done.returncode == 2 and "COPERNICA_WORKERS must be a number, not 'lots'" in done.stderr


# -- API v4 through the CLI -----------------------------------------------------------------

def test_v4_run_fetches_a_jwt_and_renews_it_after_the_sandbox_revokes_it(tmp_path):
    write_csv(tmp_path / "a.csv", people(300))
    (tmp_path / "m.yaml").write_text(MAPPING)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=4)) as sb:
        proc = subprocess.Popen(
            [sys.executable, "-m", "importer", "run", "a.csv", "--mapping", "m.yaml", "--quiet",
             "--api-version", "4", "--api-url", sb.base_url + "/v4", "--workers", "2"],
            cwd=tmp_path, env=_cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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


def _cli_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPERNICA_")}
    return env | {"COPERNICA_ACCESS_TOKEN": TOKEN, "PYTHONPATH": str(REPO)}


# -- logging ----------------------------------------------------------------------------------

def test_log_file_has_timestamps_every_request_and_never_the_token(tmp_path, sandbox):
    write_csv(tmp_path / "a.csv", people(5))
    (tmp_path / "m.yaml").write_text(MAPPING)
    done = cli("run", "a.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url, "-vv",
               "--log-file", "run.log", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    log = (tmp_path / "run.log").read_text(encoding="utf-8")
    lines = log.splitlines()
    # times with their zone (issue 15): 2026-01-05T02:00:03+01:00
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ", line) for line in lines)
    assert "access_token=***" in log  # urllib3's request lines, scrubbed (v3 puts the token in the URL)
    assert "finished a.csv: 5 created" in log
    assert TOKEN not in log and TOKEN not in done.stderr + done.stdout


# -- every input format through the CLI ------------------------------------------------------

def _xls(path: Path) -> None:
    stream = xls_workbook_stream([("Contacts", False, {(0, 0): "Email", (0, 1): "Name",
                                                       (1, 0): "ann@example.com", (1, 1): "Ann",
                                                       (2, 0): "bob@example.com", (2, 1): "Bob"})])
    path.write_bytes(compound_file(stream, "Workbook"))


def _ods(path: Path) -> None:
    def row(*cells: str) -> str:
        return "<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>'
            for c in cells) + "</table:table-row>"
    make_ods(path, "Contacts", [row("Email", "Name"), row("ann@example.com", "Ann"), row("bob@example.com", "Bob")])


TEXT = "Email\tName\nann@example.com\tAnn\nbob@example.com\tBob\n"
BUILDERS = {
    "people.xls": _xls,
    "people.ods": _ods,
    "people.txt": lambda p: p.write_text(TEXT, encoding="utf-8"),
    "people.csv.gz": lambda p: p.write_bytes(gzip.compress(TEXT.replace("\t", ",").encode())),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_each_format_imports_through_the_cli(tmp_path, sandbox, name):
    BUILDERS[name](tmp_path / name)
    (tmp_path / "m.yaml").write_text(SIMPLE_MAPPING)
    done = cli("run", name, "--mapping", "m.yaml", "--api-url", sandbox.api_url, "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    stored = sorted((p["fields"]["email"], p["fields"]["firstname"]) for p in sandbox.profiles(2))
    assert stored == [("ann@example.com", "Ann"), ("bob@example.com", "Bob")]
    assert [line["status"] for line in read_results(tmp_path / "people.results.csv")] == ["created"] * 2
