"""Where and how to reach Copernica: a library caller's Connection is what the
library really uses (its token, its pacing, its retries), and its address is
checked the way the command checks it."""
from __future__ import annotations

import pytest

from importer import Connection, ImportOptions, run_import
from importer.connection import DEFAULT_API_URL, DEFAULT_AUTH_URL, is_loopback
from importer.errors import InvalidTokenError, UsageError
from importer.journal import journal_path_for
from importer.models import Status, StopReason
from tests.helpers import SAMPLE_SCHEMA, TOKEN, people, read_results, write_csv, write_mapping


@pytest.fixture
def options(tmp_path) -> ImportOptions:
    src = write_csv(tmp_path / "in.csv", people(5))
    return ImportOptions(file=src, mapping=write_mapping(tmp_path / "m.yaml"), results=tmp_path / "r.csv", workers=2)


# -- the token --------------------------------------------------------------------------------------
def test_a_library_callers_token_is_used(options, sandbox):
    summary = run_import(options, Connection(token=TOKEN, api_url=sandbox.api_url))
    assert summary.exit_code == 0 and summary.stopped is None
    assert summary.counts[Status.CREATED] == 5 and len(sandbox.profiles(2)) == 5
    assert [line["status"] for line in read_results(options.results)] == ["created"] * 5


def test_a_wrong_token_is_refused_while_reading_the_structure_before_anything_is_sent(options, sandbox):
    with pytest.raises(InvalidTokenError) as refused:
        run_import(options, Connection(token="wrong-token", api_url=sandbox.api_url))
    assert refused.value.exit_code == 2 and "access token" in str(refused.value)
    assert "wrong-token" not in str(refused.value)
    assert sandbox.stats()["posts"] == 0 and sandbox.profiles(2) == []
    assert not options.results.exists()


def test_a_wrong_token_with_a_structure_file_stops_the_run_at_the_first_row(options, sandbox):
    """With --schema nothing is read before the first row: the run starts, the
    first POST is refused, and the run stops saying why; nothing was stored."""
    options.schema = SAMPLE_SCHEMA
    summary = run_import(options, Connection(token="wrong-token", api_url=sandbox.api_url))
    assert summary.stopped is StopReason.TOKEN and isinstance(summary.stop_error, InvalidTokenError)
    assert summary.sent == 0 and summary.exit_code == 2  # refused at the door: nothing sent
    assert sandbox.profiles(2) == [] and sandbox.stats()["posts"] == 0
    # nothing reached Copernica: no journal is left behind, so the same command simply runs again
    assert not journal_path_for(options.results).exists() and not options.results.exists()


def test_api_v4_through_a_connection_fetches_a_jwt_beside_a_local_api(options, sandbox):
    connection = Connection(token=TOKEN, api_url=sandbox.base_url + "/v4", api_version=4)
    assert connection.authentication_url == sandbox.base_url + "/authenticate"
    assert run_import(options, connection).counts[Status.CREATED] == 5
    assert sandbox.stats()["jwts_issued"] == 1


# -- what a connection makes ----------------------------------------------------------------------
def test_a_connection_makes_a_client_with_the_commands_pacing_retries_and_timeout(sandbox):
    connection = Connection(token=TOKEN, api_url=sandbox.api_url, timeout=7, retries=3, rate=50)
    with connection.open_client(workers=4) as client:
        assert client.pacer is not None
        assert (client.pacer.max_concurrency, client.pacer.rate) == (4, 50)
        assert client.retry.attempts == 3 and client.timeout[1] == 7
        client.create_profile(2, {"email": "a@example.com"})
        assert client.pacer.stats()["successes"] == 1  # its requests go through the pacer
    assert TOKEN not in repr(connection) and TOKEN not in repr(client)


# -- the address ------------------------------------------------------------------------------------
def test_defaults_are_copernicas_own_addresses():
    assert Connection(token=TOKEN).url == DEFAULT_API_URL
    v4 = Connection(token=TOKEN, api_version=4)
    assert v4.url.endswith("/v4") and v4.authentication_url == DEFAULT_AUTH_URL
    assert not v4.is_local


@pytest.mark.parametrize("settings, says", [
    ({"api_url": "http://api.copernica.com/v3"}, "refusing to send the access token over plain http://"),
    ({"api_url": "ftp://127.0.0.1/v3"}, "is not a valid http(s) URL"),
    ({"api_url": "http://127.0.0.1:9"}, "does not end in a version"),
    ({"api_url": "http://127.0.0.1:9/v3", "api_version": 4}, "does not fit --api-version 4"),
    ({"api_version": 5}, "must be 3 or 4"),
    ({"api_version": 4, "auth_url": "http://authenticate.copernica.com"}, "plain http://"),
    ({"timeout": 0}, "the timeout must be more than 0"),
    ({"retries": 0}, "retries must be at least 1"),
    ({"rate": -1}, "the rate must be more than 0"),
])
def test_bad_settings_are_refused_in_a_sentence_without_the_token(settings, says):
    with pytest.raises(UsageError) as refused:
        Connection(token=TOKEN, **settings)
    assert says in str(refused.value) and TOKEN not in str(refused.value)


def test_a_connection_needs_a_token():
    with pytest.raises(UsageError, match="no access token"):
        Connection(token="")


@pytest.mark.parametrize("host, loopback", [("localhost", True), ("LOCALHOST", True), ("127.0.0.1", True),
                                            ("127.8.9.10", True), ("::1", True), ("::1%lo", True),
                                            ("10.0.0.1", False), ("api.copernica.com", False),
                                            ("localhost.evil.example", False)])
def test_only_this_computer_counts_as_local(host, loopback):
    assert is_loopback(host) is loopback
