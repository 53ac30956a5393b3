"""API v4 bearer authentication, and the sandbox as a separate process."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from importer.sandbox import Faults, Sandbox
from importer.sandbox.cli import main as sandbox_main
from tests.sandbox_fixtures import REPO, SAMPLE_SCHEMA, SANDBOX_TOKEN

LISTENING = re.compile(r"^Sandbox listening on (http://127\.0\.0\.1:(\d+)/v3) \(token: ")


def fetch_jwt(sb: Sandbox, token: str = SANDBOX_TOKEN) -> requests.Response:
    return requests.post(sb.auth_url, data={"access_token": token}, timeout=5)


def v4(sb: Sandbox, jwt: str | None, method: str = "GET", path: str = "database/1", **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {jwt}"} if jwt is not None else {}
    return requests.request(method, f"{sb.base_url}/v4/{path}", headers=headers, timeout=5,
                            allow_redirects=False, **kwargs)


# --- v4 -----------------------------------------------------------------------------
def test_v4_with_a_jwt_from_authenticate():
    with Sandbox(schema=SAMPLE_SCHEMA, token=SANDBOX_TOKEN) as sb:
        answer = fetch_jwt(sb)
        assert answer.status_code == 200 and answer.text.count(".") == 2
        jwt = answer.text
        assert v4(sb, jwt).json()["name"] == "Contacts"
        created = v4(sb, jwt, "POST", "database/1/profiles", json={"fields": {"email": "v4@x.y"}})
        assert created.status_code == 201
        assert created.headers["X-location"] == f"{sb.base_url}/v4/profile/{created.headers['X-Created']}"
        assert sb.stats()["jwts_issued"] == 1


@pytest.mark.parametrize("jwt", [None, "not-a-jwt", "a.b.c"])
def test_v4_without_a_valid_jwt_is_401_invalid_access_token(jwt):
    with Sandbox(schema=SAMPLE_SCHEMA, token=SANDBOX_TOKEN) as sb:
        response = v4(sb, jwt)
        assert response.status_code == 401
        assert response.json() == {"error": {"message": "Invalid access token"}}


def test_v4_does_not_take_the_access_token_in_the_query():
    with Sandbox(schema=SAMPLE_SCHEMA, token=SANDBOX_TOKEN) as sb:
        assert v4(sb, None, params={"access_token": SANDBOX_TOKEN}).status_code == 401


def test_a_jwt_from_another_sandbox_is_rejected():
    with Sandbox(token=SANDBOX_TOKEN) as other:
        foreign = fetch_jwt(other).text
    with Sandbox(token=SANDBOX_TOKEN) as sb:
        assert v4(sb, foreign).status_code == 401


def test_authenticate_with_a_wrong_token_is_400():
    with Sandbox(token=SANDBOX_TOKEN) as sb:
        response = fetch_jwt(sb, token="wrong")
        assert response.status_code == 400 and response.json()["error"]["message"] == "Invalid access token"
        assert requests.get(sb.auth_url, timeout=5).status_code == 400


def test_jwt_expires_after_its_lifetime_and_can_be_renewed():
    with Sandbox(token=SANDBOX_TOKEN, faults=Faults(jwt_lifetime=0.3)) as sb:
        jwt = fetch_jwt(sb).text
        assert v4(sb, jwt).status_code == 200
        time.sleep(0.4)
        assert v4(sb, jwt).status_code == 401
        assert v4(sb, fetch_jwt(sb).text).status_code == 200


def test_expire_jwts_revokes_all_at_once():
    with Sandbox(token=SANDBOX_TOKEN) as sb:
        jwt = fetch_jwt(sb).text
        requests.post(f"{sb.base_url}/_sandbox/expire-jwts", timeout=5)
        assert v4(sb, jwt).status_code == 401
        assert v4(sb, fetch_jwt(sb).text).status_code == 200


def test_expired_access_token_also_stops_v4_and_authenticate():
    with Sandbox(token=SANDBOX_TOKEN, faults=Faults(expire_token_after=2)) as sb:
        jwt = fetch_jwt(sb).text
        assert v4(sb, jwt).status_code == 200
        assert v4(sb, jwt).status_code == 401
        assert fetch_jwt(sb).status_code == 400


# --- the separate process --------------------------------------------------------------
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
