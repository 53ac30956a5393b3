"""The access token never leaves the process except in the request itself.

Runs the real program under every fault the sandbox knows (dropped and slow
answers, 429/503, refused connections, an interrupt), with the most verbose
logging and a log file, then searches everything it wrote, byte for byte:
stdout, stderr, the results CSV, the journal (SQLite file and its WAL), the
lock file and the log file. Also: token files readable by others warn, and
TLS certificates are always verified.
"""
from __future__ import annotations

import csv
import http.server
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from importer.client import CopernicaClient
from importer.errors import ApiError
from importer.retry import RetryPolicy
from importer.sandbox import Faults, Sandbox
from tests.helpers import REPO, SAMPLE_SCHEMA, TOKEN, cli

MAPPING = """\
database: 2
key: email
fields:
  email: {column: Email, required: true}
  firstname: Name
"""
ALL_FAULTS = Faults(drop_after_store=0.15, slow_after_store=0.1, slow_seconds=1.0, drop_before_store=0.1,
                    rate_429=0.1, rate_503=0.1, retry_after=0, seed=5)
# the token as it may appear: plain, URL-encoded, in bytes of any file
TOKEN_FORMS = {TOKEN, quote(TOKEN, safe=""), quote_plus(TOKEN)}


def write_people(path: Path, n: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(("Email", "Name"))
        # formula-looking names (every third row, so that some have a line whatever the faults do):
        # the results must neutralise them
        w.writerows((f"p{i}@example.com", "=HYPERLINK(\"http://x\")" if i % 3 == 0 else f"N {i}") for i in range(n))
    return path


def assert_no_token_in(texts: dict[str, bytes | str]) -> None:
    for name, content in texts.items():
        data = content.encode("utf-8", "replace") if isinstance(content, str) else content
        for form in TOKEN_FORMS:
            assert form.encode() not in data, f"the access token appears in {name}"


def written_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file() and p.suffix != ".yaml"}


def test_no_token_in_any_output_under_every_fault(tmp_path):
    (tmp_path / "m.yaml").write_text(MAPPING)
    write_people(tmp_path / "in.csv", 150)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=ALL_FAULTS) as sb:
        result = cli("run", "in.csv", "--mapping", "m.yaml", "--api-url", sb.api_url, "--timeout", "0.3",
                     "--retries", "3", "-vv", "--log-file", "run.log", cwd=tmp_path)
        stats = sb.stats()
    # 3: a row whose lost answer could not be checked either is left for --resume
    assert result.returncode in (0, 1, 3), result.stderr
    assert stats["dropped_after_store"] and stats["slow"] and stats["dropped_before_store"]
    assert stats["rate_limited"] and stats["unavailable"]
    log = (tmp_path / "run.log").read_text()
    assert "access_token=***" in log  # the request lines are there, scrubbed
    assert "GET" in log and "POST" in log
    results = (tmp_path / "in.results.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in results and ",=HYPERLINK" not in results  # neutralised formula
    assert {"in.results.csv", "in.results.csv.journal", "run.log"} <= set(written_files(tmp_path))
    assert_no_token_in({"stdout": result.stdout, "stderr": result.stderr, **written_files(tmp_path)})


def test_no_token_when_the_api_cannot_be_reached(tmp_path):
    (tmp_path / "m.yaml").write_text(MAPPING)
    write_people(tmp_path / "in.csv", 3)
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = cli("run", "in.csv", "--mapping", "m.yaml", "--schema", str(SAMPLE_SCHEMA), "--retries", "2",
                 "--api-url", f"http://127.0.0.1:{port}/v3", "-vv", "--log-file", "run.log", cwd=tmp_path)
    assert result.returncode != 0
    assert "refused" in (result.stdout + result.stderr).lower()
    assert_no_token_in({"stdout": result.stdout, "stderr": result.stderr, **written_files(tmp_path)})


TRACEBACK_SCRIPT = """
import sys
from importer.client import CopernicaClient
from importer.retry import RetryPolicy
client = CopernicaClient(sys.argv[1], sys.argv[2], timeout=(2, 0.3), retry=RetryPolicy(attempts=2, backoff=0.01))
client.{call}
"""


@pytest.mark.parametrize("faults, call", [
    (Faults(drop_after_store=1.0), "create_profile(2, {'email': 'a@example.com'})"),   # ambiguous POST
    (Faults(slow_after_store=1.0, slow_seconds=1), "create_profile(2, {'email': 'b@example.com'})"),  # timeout
    (Faults(drop_before_store=1.0), "find_profiles(2, {'email': 'c@example.com'})"),   # GET retried, then fails
    (Faults(rate_503=1.0, retry_after=0), "fields(2)"),                                # temporary, retries run out
    (None, "fields(999)"),                                                              # a refusal
])
def test_no_token_in_an_uncaught_exceptions_traceback(faults, call):
    """Python prints the whole exception chain of an uncaught error: none of
    it (requests' exceptions hold the URL with its query string) may show."""
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=faults) as sb:
        done = subprocess.run([sys.executable, "-c", TRACEBACK_SCRIPT.format(call=call), sb.api_url, TOKEN],
                              capture_output=True, text=True, env={"PYTHONPATH": str(REPO)}, timeout=60)
    assert done.returncode == 1 and "Traceback" in done.stderr
    assert_no_token_in({"stdout": done.stdout, "stderr": done.stderr})


def test_no_token_after_an_interrupt(tmp_path):
    (tmp_path / "m.yaml").write_text(MAPPING)
    write_people(tmp_path / "in.csv", 200)
    env = {"COPERNICA_ACCESS_TOKEN": TOKEN, "PYTHONPATH": str(REPO)}
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=30, drop_after_store=0.2)) as sb:
        proc = subprocess.Popen([sys.executable, "-m", "importer", "run", "in.csv", "--mapping", "m.yaml",
                                 "--api-url", sb.api_url, "--workers", "4", "-vv", "--log-file", "run.log"],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while sb.stats()["posts"] < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert_no_token_in({"stdout": out, "stderr": err, **written_files(tmp_path)})


# -- token files -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode, warns", [(0o644, True), (0o600, False)])
def test_a_token_file_readable_by_others_gives_a_warning(tmp_path, sandbox, mode, warns):
    (tmp_path / "m.yaml").write_text(MAPPING)
    write_people(tmp_path / "in.csv", 2)
    token_file = tmp_path / "token.txt"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(mode)
    result = cli("run", "in.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url,
                 "--token-file", str(token_file), cwd=tmp_path, env={"COPERNICA_ACCESS_TOKEN": ""})
    assert result.returncode == 0, result.stderr
    assert ("readable by other users" in result.stderr) == warns
    if warns:
        assert f"chmod 600 {token_file}" in result.stderr
    assert len(sandbox.profiles(2)) == 2  # a warning, not a refusal
    assert TOKEN not in result.stdout + result.stderr


# -- TLS ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def self_signed_https(tmp_path_factory):
    """An HTTPS server with a certificate nobody vouches for; it counts requests."""
    directory = tmp_path_factory.mktemp("tls")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/v3", seen
    server.shutdown()
    server.server_close()


def test_an_unverifiable_certificate_stops_before_the_token_is_sent(self_signed_https, monkeypatch):
    url, seen = self_signed_https
    # an empty CA-bundle variable must not switch verification off
    monkeypatch.setenv("CURL_CA_BUNDLE", "")
    client = CopernicaClient(url, TOKEN, retry=RetryPolicy(attempts=3, backoff=0.01))
    with pytest.raises(ApiError) as caught:
        client.create_profile(1, {"email": "a@example.com"})
    client.close()
    message = str(caught.value)
    assert "could not be verified" in message and "nothing was sent" in message
    assert seen == []  # the handshake failed: no request, no token, reached the server
    assert TOKEN not in message and TOKEN not in repr(caught.value)


def test_the_cli_refuses_an_unverifiable_certificate_with_a_plain_message(self_signed_https, tmp_path):
    url, seen = self_signed_https
    (tmp_path / "m.yaml").write_text(MAPPING)
    write_people(tmp_path / "in.csv", 2)
    result = cli("run", "in.csv", "--mapping", "m.yaml", "--api-url", url, "--schema", str(SAMPLE_SCHEMA),
                 cwd=tmp_path)
    assert result.returncode != 0
    assert "could not be verified" in result.stderr
    assert "Traceback" not in result.stderr
    assert seen == []
    assert_no_token_in({"stdout": result.stdout, "stderr": result.stderr, **written_files(tmp_path)})
