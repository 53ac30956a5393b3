"""The confirmation before a real send: which database, where, how many rows;
only a typed 'yes' sends, and without a terminal nothing is sent without --yes."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import PEOPLE_MAPPING, SAMPLE_SCHEMA, cli, cli_env, people, write_csv

MAPPING = PEOPLE_MAPPING


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
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "importer", *args], stdin=follower,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=cli_env(), text=True)
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
