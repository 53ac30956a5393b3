"""What many test files share: paths, the token, files the tests write, the
real program in a subprocess, clients for a sandbox, reading results and
journals back. Fixtures live in conftest.py; tests import these by name
(``from tests.helpers import cli, write_csv``)."""
from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import requests

from importer.client import CopernicaClient
from importer.pacing import Pacer
from importer.retry import RetryPolicy
from importer.sandbox import Sandbox

REPO = Path(__file__).resolve().parent.parent
SAMPLE_SCHEMA = REPO / "sample_data" / "schema.yaml"
SAMPLE_CSV = REPO / "sample_data" / "contacts.csv"
SAMPLE_XLSX = REPO / "sample_data" / "contacts.xlsx"
SAMPLE_MAPPING = REPO / "mappings" / "contacts.yaml"
TOKEN = "t0ken-SECRET-7f3a9c"  # searched for in every output by the leak tests
SANDBOX_TOKEN = "sandbox-test-token-93ab"  # the sandbox's own tests

# database 2 of the sample schema, for files made by the tests (Email, Name, Age, Newsletter)
PEOPLE_HEADER = ("Email", "Name", "Age", "Newsletter")
PEOPLE_MAPPING = """\
database: 2
key: email
fields:
  email: {column: Email, transform: [trim, lower], validate: email, required: true}
  firstname: Name
  age: Age
interests:
  newsletter: {column: Newsletter, truthy: [yes]}
"""

# a retry policy that keeps failing tests fast
FAST_RETRY = RetryPolicy(attempts=6, backoff=0.01, max_wait=0.2)
ONE_TRY = RetryPolicy(attempts=1, backoff=0.01, max_wait=0.05)


# -- files -------------------------------------------------------------------------
def write_csv(path: Path, rows: list[list[str]] | list[tuple[str, ...]], header=PEOPLE_HEADER) -> Path:
    """A UTF-8 CSV file with ``header`` and ``rows``."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def people(n: int, start: int = 0) -> list[list[str]]:
    """Rows for PEOPLE_HEADER: person{i}@example.com, all valid."""
    return [[f"person{i}@example.com", f"Name {i}", str(20 + i % 50), "yes" if i % 2 else "no"]
            for i in range(start, start + n)]


def write_mapping(path: Path, text: str = PEOPLE_MAPPING) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def read_results(path: Path) -> list[dict[str, str]]:
    """A results (or report) file's lines as dicts, by column name."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def journal_rows(results: Path) -> list[tuple[int, str, str | None]]:
    """(row, state, status) of every row in the journal beside ``results``, read-only."""
    with closing(sqlite3.connect(f"file:{results}.journal?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT row, state, status FROM rows ORDER BY row").fetchall()


def journal_states(results: Path) -> Counter:
    """How many rows of the journal beside ``results`` are in each state or status."""
    with closing(sqlite3.connect(f"file:{results}.journal?mode=ro", uri=True)) as conn:
        return Counter(dict(conn.execute("SELECT coalesce(status, state), count(*) FROM rows GROUP BY 1")))


# -- the real program ---------------------------------------------------------------
def cli_env(env: dict | None = None) -> dict[str, str]:
    """The environment of a user with the token set: none of the caller's COPERNICA_ settings."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("COPERNICA_")}
    full["COPERNICA_ACCESS_TOKEN"] = TOKEN
    full["PYTHONPATH"] = str(REPO)
    if env:
        full.update(env)
    return full


def cli(*args: str, env: dict | None = None, cwd: Path | None = None, input: str | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs `python -m importer ARGS` as a user would, with the token in the environment."""
    return subprocess.run([sys.executable, "-m", "importer", *args], cwd=cwd, env=cli_env(env), input=input,
                          capture_output=True, text=True, timeout=timeout)


def start_cli(*args: str, cwd: Path, env: dict | None = None, **popen: Any) -> subprocess.Popen:
    """The program started in the background (stdout and stderr piped, as text)."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "importer", *args], cwd=cwd, env=cli_env(env), text=True, **popen)


def wait_until(condition, *, timeout: float = 30, proc: subprocess.Popen | None = None, what: str = "") -> None:
    """Polls ``condition()`` until true; fails if ``proc`` ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None:
            assert proc.poll() is None, f"the run ended before {what or 'the expected moment'}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.005)


# -- clients ------------------------------------------------------------------------
def client_for(sb: Sandbox, workers: int = 8, **kw: Any) -> CopernicaClient:
    """A client of ``sb`` with its own pacer and quick retries."""
    kw.setdefault("retry", FAST_RETRY)
    return CopernicaClient(sb.api_url, sb.token, pacer=Pacer(workers), **kw)


class ApiClient:
    """Calls the sandbox's v3 API like a plain Copernica client would (the sandbox's own tests)."""

    def __init__(self, sandbox: Sandbox, token: str = SANDBOX_TOKEN, version: str = "v3") -> None:
        self.base = f"{sandbox.base_url}/{version}"
        self.token = token
        self.session = requests.Session()

    def call(self, method: str, path: str, params: Any = None, **kwargs: Any) -> requests.Response:
        query = list(params.items()) if isinstance(params, dict) else list(params or [])
        query.append(("access_token", self.token))
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("allow_redirects", False)
        return self.session.request(method, f"{self.base}/{path}", params=query, **kwargs)

    def create(self, database: int = 1, fields: dict | None = None, interests: Any = None) -> int:
        body: dict[str, Any] = {"fields": fields or {}}
        if interests is not None:
            body["interests"] = interests
        response = self.call("POST", f"database/{database}/profiles", json=body)
        assert response.status_code == 201, response.text
        return int(response.headers["X-Created"])

    def profile(self, profile_id: int) -> dict[str, Any]:
        response = self.call("GET", f"profile/{profile_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def stored_fields(self, database: int, fields: dict[str, Any]) -> dict[str, str]:
        """Create a profile with ``fields`` and return what the sandbox stored."""
        return self.profile(self.create(database, fields))["fields"]
