"""Shared fixtures: a sandbox over real HTTP on 127.0.0.1 and a CLI runner
that starts the real program in a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE_SCHEMA = REPO / "sample_data" / "schema.yaml"
TOKEN = "t0ken-SECRET-7f3a9c"  # searched for in every output by the leak tests

# database 2 of the sample schema, for files made by the tests (Email, Name, Age, Newsletter)
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



@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
def sandbox():
    from importer.sandbox import Sandbox
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        yield sb


def cli(*args: str, env: dict | None = None, cwd: Path | None = None, input: str | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs `python -m importer ARGS` as a user would, with the token in the environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COPERNICA_")}
    full_env["COPERNICA_ACCESS_TOKEN"] = TOKEN
    full_env["PYTHONPATH"] = str(REPO)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "importer", *args], cwd=cwd, env=full_env, input=input,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def run_cli():
    return cli
