"""`copernica-import sandbox`: the sandbox as a separate process, its flags and its errors."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest
import requests

from importer.sandbox import Sandbox
from importer.sandbox.cli import main as sandbox_main
from tests.helpers import REPO, SAMPLE_SCHEMA, SANDBOX_TOKEN

LISTENING = re.compile(r"^Sandbox listening on (http://127\.0\.0\.1:(\d+)/v3) \(token: ")


def start_process(*args: str) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, "-m", "importer.sandbox", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    first_line = process.stdout.readline()
    return process, first_line


def stop_process(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=10)
    return process.returncode, out


def test_cli_serves_over_http_until_sigterm(tmp_path):
    token_file = tmp_path / "token.txt"
    token_file.write_text(SANDBOX_TOKEN + "\n")
    process, first_line = start_process("--schema", str(SAMPLE_SCHEMA), "--token-file", str(token_file),
                                        "--db", str(tmp_path / "p.sqlite"), "--seed", "5")
    try:
        match = LISTENING.match(first_line)
        assert match, first_line
        assert SANDBOX_TOKEN not in first_line   # a token the user chose is never printed
        api_url = match.group(1)
        response = requests.post(f"{api_url}/database/1/profiles", params={"access_token": SANDBOX_TOKEN},
                                 json={"fields": {"email": "a@b.c"}}, timeout=5)
        assert response.status_code == 201 and response.headers["X-Created"].isdigit()
        listed = requests.get(f"{api_url[:-3]}/_sandbox/profiles?database=1", timeout=5).json()
        assert [p["fields"]["email"] for p in listed] == ["a@b.c"]
    finally:
        returncode, out = stop_process(process)
    assert returncode == 0 and "Sandbox stopped." in out and SANDBOX_TOKEN not in out


def test_cli_default_token_is_announced_and_faults_come_from_flags():
    process, first_line = start_process("--rate-503", "1", "--retry-after", "4")
    try:
        assert LISTENING.match(first_line) and "token: sandbox-token" in first_line
        api_url = LISTENING.match(first_line).group(1)
        response = requests.get(f"{api_url}/identity", params={"access_token": "sandbox-token"}, timeout=5)
        assert response.status_code == 503 and response.headers["Retry-After"] == "4"
    finally:
        assert stop_process(process)[0] == 0


def test_cli_dump_prints_json_lines(tmp_path, capsys):
    db = tmp_path / "dump.sqlite"
    with Sandbox(schema=SAMPLE_SCHEMA, token="t", db_path=db) as sb:
        for email in ("one@x.y", "two@x.y"):
            requests.post(f"{sb.api_url}/database/2/profiles", params={"access_token": "t"},
                          json={"fields": {"email": email, "age": "41"}}, timeout=5)
    assert sandbox_main(["--dump", "--db", str(db), "--schema", str(SAMPLE_SCHEMA)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(p["fields"]["email"], p["fields"]["age"], p["database"]) for p in lines] == [
        ("one@x.y", "41", 2), ("two@x.y", "41", 2)]


@pytest.mark.parametrize("argv, says", [
    (["--dump"], "--dump needs --db"),
    (["--dump", "--db", "/nonexistent/x.sqlite"], "does not exist"),
    (["--rate-503", "3"], "rate_503 must be a rate between 0 and 1"),
    (["--schema", "/nonexistent/s.yaml"], "does not exist"),
])
def test_cli_errors_are_plain_and_exit_2(capsys, argv, says):
    assert sandbox_main(argv) == 2
    assert says in capsys.readouterr().err


def test_cli_port_in_use(capsys):
    with Sandbox(token="t") as sb:
        assert sandbox_main(["--port", str(sb.port)]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err
