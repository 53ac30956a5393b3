"""One run per database, however the API host is written: the lock is named
after the server, not after the text typed (two upserts of the same people
through localhost and 127.0.0.1 at once would each create them)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from importer import state
from importer.errors import DatabaseBusy
from importer.sandbox import Faults, Sandbox
from importer.state import DatabaseLock, lock_name
from tests.helpers import SAMPLE_SCHEMA, TOKEN
from tests.test_recovery_moves import (
    cli,
    emails,
    mapping,
    no_traceback,
    people,
    reversed_copy,
    run_args,
    start,
    wait_until,
)

PORT = 8765
LOOPBACK_SPELLINGS = [
    f"localhost:{PORT}", f"LocalHost:{PORT}", f"localhost.:{PORT}", f"127.0.0.1:{PORT}", f"127.0.1.1:{PORT}",
    f"127.1:{PORT}", f"2130706433:{PORT}", f"0x7f.0.0.1:{PORT}", f"[::1]:{PORT}", f"[0:0:0:0:0:0:0:1]:{PORT}",
    f"[::ffff:127.0.0.1]:{PORT}", f"0.0.0.0:{PORT}", f"app.localhost:{PORT}", f"ip6-localhost:{PORT}",
    f"http://localhost:{PORT}/v3", f"http://127.0.0.1:{PORT}/v3", f"https://[::1]:{PORT}/v3",
    f"user:secret@localhost:{PORT}",
]


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_every_spelling_of_this_computer_is_one_lock_name(spelling):
    assert lock_name(spelling) == f"loopback_{PORT}"


@pytest.mark.parametrize("spelling", [
    "api.copernica.com", "API.Copernica.COM", "api.copernica.com.", "api.copernica.com:443", "api.copernica.com:80",
    "https://api.copernica.com/v3", "https://API.copernica.com.:443/v3", "http://api.copernica.com/v2",
    "token:secret@api.copernica.com",
])
def test_the_default_port_is_written_out_and_the_host_folded(spelling):
    assert lock_name(spelling) == "api.copernica.com_web"


@pytest.mark.parametrize("one, other", [
    ("localhost:8765", "localhost:8766"), ("api.copernica.com", "api.copernica.com:8443"),
    ("api.copernica.com", "rest.copernica.com"), ("10.0.0.1:8765", "10.0.0.2:8765"), ("localhost", "10.0.0.1"),
])
def test_other_servers_keep_other_names(one, other):
    assert lock_name(one) != lock_name(other)


def test_ip_addresses_are_written_in_one_form():
    assert lock_name("[2001:DB8:0:0::1]:8765") == lock_name("[2001:db8::1]:8765") == "2001:db8::1_8765"
    assert lock_name("[::ffff:10.0.0.1]:8765") == lock_name("10.0.0.1:8765") == "10.0.0.1_8765"
    assert lock_name("[fe80::1%25eth0]:8765") == "fe80::1_8765"


def test_a_name_in_the_hosts_file_is_its_address(tmp_path, monkeypatch):
    hosts = tmp_path / "hosts"
    hosts.write_text("# comment\n127.0.1.1 builder builder.example\n10.1.2.3 CRM.Example. crm # the CRM\n\n")
    monkeypatch.setattr(state, "HOSTS_FILE", hosts)
    assert lock_name("builder:8765") == lock_name("builder.example:8765") == f"loopback_{PORT}"
    assert lock_name("crm.example:8765") == lock_name("CRM:8765") == lock_name("10.1.2.3:8765") == "10.1.2.3_8765"
    assert lock_name("elsewhere.example:8765") == "elsewhere.example_8765"    # no DNS: never waits on a network
    monkeypatch.setattr(state, "HOSTS_FILE", tmp_path / "none")
    assert lock_name("crm:8765") == "crm_8765"


def test_two_spellings_of_one_host_take_one_lock_and_no_password_reaches_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COPERNICA_STATE_DIR", str(tmp_path / "state"))
    first = DatabaseLock("localhost:8765", 2, about="a.csv").acquire()
    try:
        with pytest.raises(DatabaseBusy) as busy:
            DatabaseLock("user:secret@127.0.0.1:8765", 2).acquire()
        assert "at 127.0.0.1:8765" in str(busy.value) and "secret" not in str(busy.value)
        DatabaseLock("127.0.0.1:8765", 3).acquire().release()     # another database: its own lock
        names = [p.name for p in Path(tmp_path / "state").rglob("*.lock")]
        assert names == ["loopback_8765-database-2.lock"]
    finally:
        first.release()


def test_a_second_run_through_another_spelling_of_the_host_stops_and_creates_no_duplicate(tmp_path):
    n = 200  # the first run must still be sending when the second starts
    a = people(tmp_path / "a.csv", n)
    b = reversed_copy(a, tmp_path / "b.csv")
    m = mapping(tmp_path, "upsert")
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=40)) as sb:
        assert sb.api_url.startswith("http://127.0.0.1:")
        by_name = sb.api_url.replace("127.0.0.1", "localhost")
        first = start(tmp_path, *run_args(a, m, sb, "--workers", "2", "--api-url", by_name))
        wait_until(lambda: sb.stats()["posts"] >= 2, first)
        second = cli(tmp_path, *run_args(b, m, sb))
        no_traceback(second)
        assert second.returncode == 75, second.stderr  # nothing was sent, try again later
        assert "another copernica-import run is sending to database 2" in second.stderr
        assert f"process {first.pid}" in second.stderr and "a.csv" in second.stderr
        waited = cli(tmp_path, *run_args(b, m, sb, "--wait-for-lock", "60"))
        assert waited.returncode == 0, waited.stderr
        assert first.wait(timeout=60) == 0, first.communicate()
        assert emails(sb) == Counter({f"p{i}@example.com": 1 for i in range(n)})
    assert not list((tmp_path / "state").rglob("*.lock")), "a lock file stayed behind"
