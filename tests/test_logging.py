"""Logging: the CLI's log file (timestamps, every request, never the token),
and the library installing no log filter behind its caller's back."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap

from tests.helpers import PEOPLE_MAPPING, REPO, TOKEN, cli, people, write_csv

MAPPING = PEOPLE_MAPPING


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


def test_making_a_client_installs_no_log_filter_the_cli_installs_them_once():
    """Log redaction is installed explicitly (the CLI does it at start-up), not
    as a side effect of constructing a client or a Connection."""
    code = textwrap.dedent(f"""
        import logging
        from importer import Connection, install_log_redaction
        from importer.client import CopernicaClient
        from importer.redaction import LIBRARY_LOGGERS
        CopernicaClient("http://127.0.0.1:9/v3", {TOKEN!r}).close()
        Connection(token={TOKEN!r}, api_url="http://127.0.0.1:9/v3").open_client().close()
        print(sum(len(logging.getLogger(n).filters) for n in LIBRARY_LOGGERS))
        install_log_redaction()
        install_log_redaction()
        print(len(logging.getLogger("urllib3").filters))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "1"]
