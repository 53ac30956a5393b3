"""A run stopped, its file changed, then --resume; a rollback of a stopped run, then --resume;
rollbacks that cannot reach their API, or are stopped. Every profile a run created is deleted by
its rollback, exactly once; no command creates a person twice; a stopped command never exits 0.

Real `python -m importer` processes against a sandbox over HTTP.
"""
from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

from importer.sandbox import Sandbox
from importer.sandbox.store import read_all_profiles
from tests.helpers import SAMPLE_CSV, SAMPLE_MAPPING, SAMPLE_SCHEMA, TOKEN, read_results
from tests.test_recovery_moves import env, start, wait_until

MAPPING = """\
database: 2
key: email
on_existing: create
fields:
  email: Email
  firstname: Name
  lastname: City
"""


def cli(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "importer", *args], cwd=tmp_path, env=env(tmp_path),
                          capture_output=True, text=True, timeout=timeout)
    for text in (done.stdout, done.stderr):
        assert "Traceback" not in text and TOKEN not in text, text
    return done


def write_people(path: Path, n: int) -> Path:
    path.write_text("Email,Name,City\n" + "".join(f"r{i}@shift.nl,Name {i},City {i}\n" for i in range(n)))
    return path


def emails(sb: Sandbox) -> Counter:
    return Counter(p["fields"]["email"] for p in sb.profiles(2))


def run_args(sb: Sandbox, *extra: str) -> list[str]:
    return ["run", "s.csv", "--mapping", "m2.yaml", "--api-url", sb.api_url, "--quiet", *extra]


def stopped_run(tmp_path: Path, sb: Sandbox, n: int, created: int) -> int:
    """A run of ``n`` rows, one worker, stopped by Ctrl-C (SIGINT) after about ``created`` profiles."""
    write_people(tmp_path / "s.csv", n)
    (tmp_path / "m2.yaml").write_text(MAPPING)
    sb.set_faults(latency_ms=100)
    proc = start(tmp_path, *run_args(sb, "--workers", "1"))
    wait_until(lambda: len(sb.profiles(2)) >= created, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3 and "Traceback" not in err, err
    sb.set_faults(latency_ms=0)
    return len(sb.profiles(2))


# -- 1. --resume after the file changed, then rollback ---------------------------------------------------------
def test_a_line_inserted_above_created_rows_keeps_their_profiles_and_rollback_deletes_all(tmp_path):
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        done_before = stopped_run(tmp_path, sb, 30, 8)
        before = {p["fields"]["email"]: p["ID"] for p in sb.profiles(2)}
        lines = (tmp_path / "s.csv").read_text().splitlines(keepends=True)
        (tmp_path / "s.csv").write_text("".join([lines[0], "zz@shift.nl,ZZ,Z\n", *lines[1:]]))
        resumed = cli(tmp_path, *run_args(sb, "--resume"))
        assert resumed.returncode == 0, resumed.stderr
        assert "0 rows changed" in resumed.stdout, resumed.stdout
        assert emails(sb) == Counter({f"r{i}@shift.nl": 1 for i in range(30)} | {"zz@shift.nl": 1})
        results = {int(line["row"]): line for line in read_results(tmp_path / "s.results.csv")}
        assert len(results) == 31 and all(line["status"] == "created" for line in results.values())
        for email, pid in before.items():  # each kept its profile, under its new row number
            i = int(email[1:].split("@")[0])
            line = results[i + 3]
            assert line["profile_id"] == str(pid) and line["code"] == "moved", line
            assert f"when this row was row {i + 2}" in line["error"], line
        assert len(before) == done_before
        undo = cli(tmp_path, "rollback", "s.results.csv", "--yes")
        assert undo.returncode == 0, undo.stderr
        assert "Deleted 31 profiles" in undo.stdout, undo.stdout
        assert sb.profiles(2) == []


def test_rows_edited_after_a_stop_are_all_rolled_back_even_an_edited_key(tmp_path):
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        assert stopped_run(tmp_path, sb, 30, 5) >= 5
        first = {p["fields"]["email"]: p["ID"] for p in sb.profiles(2)}
        text = (tmp_path / "s.csv").read_text()
        text = text.replace("r2@shift.nl,Name 2,", "r2@shift.nl,Renamed,").replace("r3@shift.nl,", "r3b@shift.nl,")
        (tmp_path / "s.csv").write_text(text)
        resumed = cli(tmp_path, *run_args(sb, "--resume"))
        assert resumed.returncode == 0, resumed.stderr
        assert len(sb.profiles(2)) == 31  # r3b is a new person; r3's profile stays the run's
        results = {line["key"]: line for line in read_results(tmp_path / "s.results.csv")}
        assert (results["r2@shift.nl"]["status"], results["r2@shift.nl"]["code"]) == ("skipped",
                                                                                        "changed_since_created")
        assert results["r2@shift.nl"]["profile_id"] == str(first["r2@shift.nl"])
        dry = cli(tmp_path, "rollback", "s.results.csv", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "31 profiles would be deleted" in dry.stdout, dry.stdout
        assert f"would delete profile {first['r3@shift.nl']} " in dry.stdout
        assert "1 of the profiles this run created are in its journal" in dry.stderr, dry.stderr
        undo = cli(tmp_path, "rollback", "s.results.csv", "--yes")
        assert undo.returncode == 0, undo.stderr
        assert sb.profiles(2) == []
        again = cli(tmp_path, "rollback", "s.results.csv", "--yes")  # nothing is deleted twice
        assert again.returncode == 0 and "Nothing to delete" in again.stdout, again.stdout


# -- 2. --resume after a rollback --------------------------------------------------------------------------------
def test_resume_after_a_rollback_is_refused_and_the_hint_imports_every_row_once(tmp_path):
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        assert stopped_run(tmp_path, sb, 40, 6) >= 6
        undo = cli(tmp_path, "rollback", "s.results.csv", "--yes")
        assert undo.returncode == 0 and sb.profiles(2) == [], undo.stderr
        posts = sb.stats()["posts"]
        resumed = cli(tmp_path, *run_args(sb, "--resume"))
        assert resumed.returncode == 2, resumed.stderr
        assert "was rolled back" in resumed.stderr and "Nothing was sent" in resumed.stderr
        assert "run the same command with --overwrite instead of --resume" in resumed.stderr
        assert sb.stats()["posts"] == posts and sb.profiles(2) == []
        # the hint, taken (no terminal: a question would refuse): every row once
        again = cli(tmp_path, *run_args(sb, "--overwrite"))
        assert again.returncode == 0, again.stderr
        assert emails(sb) == Counter({f"r{i}@shift.nl": 1 for i in range(40)})


def test_resume_and_overwrite_after_a_stopped_rollback_create_nobody_twice(tmp_path):
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        created = stopped_run(tmp_path, sb, 40, 10)
        sb.set_faults(latency_ms=200)
        proc = start(tmp_path, "rollback", "s.results.csv", "--yes", "--workers", "1")
        wait_until(lambda: sb.stats().get("deleted", 0) >= 3, proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 3 and "Stopped:" in err, (out, err)
        sb.set_faults(latency_ms=0)
        left = len(sb.profiles(2))
        assert 0 < left < created
        resumed = cli(tmp_path, *run_args(sb, "--resume"))
        assert resumed.returncode == 2, resumed.stderr
        assert f"deleted {created - left} of its {created} profiles and did not finish" in resumed.stderr
        overwrite = cli(tmp_path, *run_args(sb, "--overwrite"))  # not before the rollback is finished
        assert overwrite.returncode == 2, overwrite.stderr
        assert f"so {left} are still there" in overwrite.stderr and "To finish the rollback first" in overwrite.stderr
        assert len(sb.profiles(2)) == left
        # the hint, taken: finish the rollback (--yes: no terminal here), then --overwrite
        hint = resumed.stderr.split("Finish the rollback first: ")[1].split(";")[0]
        assert hint == f"copernica-import rollback {tmp_path / 's.results.csv'}", hint
        finish = cli(tmp_path, *hint.split()[1:], "--yes")
        assert finish.returncode == 0 and sb.profiles(2) == [], finish.stderr
        again = cli(tmp_path, *run_args(sb, "--overwrite"))
        assert again.returncode == 0, again.stderr
        assert emails(sb) == Counter({f"r{i}@shift.nl": 1 for i in range(40)})


# -- 3. a rollback of a --sandbox run; a rollback that cannot reach its API ---------------------------------------
class Listener:
    """Something else on the port the sandbox had: it notes every request it gets."""

    def __init__(self, port: int) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_DELETE(self) -> None:
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_DELETE

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def recorded_api(results: Path) -> dict:
    with closing(sqlite3.connect(f"{results}.journal")) as conn:
        return json.loads(conn.execute("SELECT value FROM meta WHERE name='api'").fetchone()[0])


def test_a_sandbox_run_is_refused_at_once_by_rollback_and_nothing_is_sent(tmp_path):
    done = cli(tmp_path, "run", str(SAMPLE_CSV), "--mapping", str(SAMPLE_MAPPING), "--sandbox", "--quiet")
    assert done.returncode in (0, 1), done.stderr
    results = tmp_path / "contacts.sandbox-results.csv"
    api = recorded_api(results)
    assert api["sandbox"] is True
    listener = Listener(urlsplit(api["url"]).port)  # something else answers on the sandbox's old port now
    try:
        started = time.monotonic()
        undo = cli(tmp_path, "rollback", str(results.name), "--yes")
        assert undo.returncode == 2, undo.stderr
        assert "built-in sandbox (--sandbox), which ended with that run" in undo.stderr
        assert "Nothing was sent" in undo.stderr and time.monotonic() - started < 10
        # a journal of a version that did not note the sandbox: told by its results name and address
        with closing(sqlite3.connect(f"{results}.journal")) as conn, conn:
            conn.execute("UPDATE meta SET value=? WHERE name='api'",
                         (json.dumps({k: v for k, v in api.items() if k != "sandbox"}),))
        old = cli(tmp_path, "rollback", str(results.name), "--dry-run")
        assert old.returncode == 2 and "built-in sandbox" in old.stderr, old.stderr
        assert listener.seen == []
    finally:
        listener.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_rollback_that_cannot_reach_copernica_names_the_host_and_stops(tmp_path):
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        write_people(tmp_path / "s.csv", 3)
        (tmp_path / "m2.yaml").write_text(MAPPING)
        assert cli(tmp_path, *run_args(sb)).returncode == 0
        host = urlsplit(sb.api_url).netloc
    undo = cli(tmp_path, "rollback", "s.results.csv", "--yes", timeout=180)  # the sandbox is gone
    assert undo.returncode == 75, undo.stderr
    assert f"Copernica at {host} could not be reached" in undo.stderr, undo.stderr
    assert "Stopped: 0 deleted so far" in undo.stderr


# -- 4, 5. a stopped rollback exits 3; SIGTERM during an outage stops it within seconds --------------------------
def test_sigterm_stops_a_rollback_waiting_out_an_outage_with_exit_3_and_every_delete_recorded(tmp_path):
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, db_path=tmp_path / "sandbox.sqlite") as sb:
        write_people(tmp_path / "s.csv", 60)
        (tmp_path / "m2.yaml").write_text(MAPPING)
        assert cli(tmp_path, *run_args(sb)).returncode == 0
        sb.set_faults(latency_ms=100)
        proc = start(tmp_path, "rollback", "s.results.csv", "--yes", "--workers", "2")
        wait_until(lambda: sb.stats().get("deleted", 0) >= 4, proc)
        # Copernica overloaded mid-rollback: every answer a 503 with Retry-After 60, so the
        # rollback waits (a server that is gone altogether stops it on its own: another test)
        sb.set_faults(rate_503=1.0, retry_after=60)
        time.sleep(3)
        assert proc.poll() is None
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 8, err
    assert proc.returncode == 3 and "Traceback" not in err and TOKEN not in err + out, err
    removed = {p.id for p in read_all_profiles(tmp_path / "sandbox.sqlite") if p.removed is not None}
    recorded = {int(line["profile_id"]) for line in read_results(tmp_path / "s.results.rollback.csv")
                if line["status"] == "deleted"}
    assert len(recorded) >= 4 and f"Stopped: {len(recorded)} deleted so far" in err, err
    # every delete answered is recorded; one per thread may have lost its answer as the server went away
    # (the next rollback counts that profile as already gone)
    assert recorded <= removed and len(removed - recorded) <= 2


def test_sigterm_before_any_delete_is_exit_3(tmp_path):
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        write_people(tmp_path / "s.csv", 3)
        (tmp_path / "m2.yaml").write_text(MAPPING)
        assert cli(tmp_path, *run_args(sb)).returncode == 0
    closed = f"http://127.0.0.1:{free_port()}/v3"  # nothing listens there
    proc = start(tmp_path, "rollback", "s.results.csv", "--yes", "--api-url", closed)
    wait_until(lambda: (tmp_path / "s.results.rollback.csv").exists(), proc)
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3 and "Stopped: 0 deleted so far" in err, (proc.returncode, err)
