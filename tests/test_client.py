"""The API client against the sandbox over real HTTP on 127.0.0.1.

A few edge cases the sandbox cannot produce (a 201 without X-Created, a
Retry-After given as a date, a 502 on a POST) use a tiny scripted HTTP server
defined here: still real HTTP, no request mocking.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from importer.client import CopernicaClient, CreateResult
from importer.errors import (
    AnswerLost,
    ApiError,
    DatabaseNotFound,
    InvalidTokenError,
    RequestRefused,
    TemporaryFailure,
    UsageError,
)
from importer.pacing import Pacer
from importer.redaction import install_log_redaction
from importer.retry import RetryPolicy
from importer.sandbox import Faults, Sandbox
from importer.schema import load_schema_file
from tests.helpers import SAMPLE_SCHEMA, TOKEN

FAST_RETRY = RetryPolicy(attempts=4, backoff=0.01, max_wait=0.05)


@pytest.fixture
def client(sandbox):
    with CopernicaClient(sandbox.api_url, TOKEN, retry=FAST_RETRY, timeout=(2.0, 5.0)) as c:
        yield c


def v4_client(sb: Sandbox, token: str = TOKEN) -> CopernicaClient:
    return CopernicaClient(sb.base_url + "/v4", token, api_version=4, auth_url=sb.auth_url,
                           retry=FAST_RETRY, timeout=(2.0, 5.0))


# --- creating ----------------------------------------------------------------
def test_create_returns_the_id_the_sandbox_stored(client, sandbox):
    result = client.create_profile(1, {"email": "ann@example.com", "firstname": "Ann"}, {"newsletter": 1})
    stored = sandbox.profiles(1)
    assert isinstance(result, CreateResult) and result.attempts == 1
    assert [p["ID"] for p in stored] == [result.profile_id]
    assert stored[0]["fields"]["email"] == "ann@example.com"


def test_a_refusal_is_not_retried_and_carries_copernicas_message(client, sandbox):
    with pytest.raises(RequestRefused) as caught:
        client.create_profile(1, ["not", "an", "object"])  # type: ignore[arg-type]
    assert str(caught.value) == "Copernica refused the profile: Invalid data provided"
    assert caught.value.attempts == 1 and caught.value.status == 400
    assert sandbox.stats()["requests"] == 1


def test_an_unknown_database_stops_the_run(client, sandbox):
    with pytest.raises(DatabaseNotFound) as caught:
        client.create_profile(999, {"email": "a@b.nl"})
    assert isinstance(caught.value, ApiError)  # the runner stops on ApiError
    assert "999" in str(caught.value)
    assert sandbox.stats()["requests"] == 1


def test_an_invalid_token_stops_at_once_without_retrying(sandbox):
    with CopernicaClient(sandbox.api_url, "wrong-token", retry=FAST_RETRY) as c:
        with pytest.raises(InvalidTokenError) as caught:
            c.create_profile(1, {"email": "a@b.nl"})
    assert "access token" in str(caught.value)
    assert sandbox.stats()["requests"] == 1 and sandbox.profiles(1) == []


def test_503_is_retried_until_the_budget_runs_out_and_nothing_is_stored(client, sandbox):
    sandbox.set_faults(rate_503=1.0, retry_after=0)
    with pytest.raises(TemporaryFailure) as caught:
        client.create_profile(1, {"email": "a@b.nl"})
    assert caught.value.attempts == 4
    assert "503" in str(caught.value)
    assert sandbox.stats()["by_status"] == {"503": 4} and sandbox.profiles(1) == []


def test_occasional_503_and_429_end_in_exactly_one_profile_each(client, sandbox):
    sandbox.set_faults(rate_503=0.3, rate_429=0.2, retry_after=0, seed=3)
    results = [client.create_profile(1, {"email": f"p{i}@b.nl"}) for i in range(15)]
    stats = sandbox.stats()
    assert stats["rate_limited"] + stats["unavailable"] > 0          # faults did happen
    assert max(r.attempts for r in results) > 1
    assert sorted(p["ID"] for p in sandbox.profiles(1)) == sorted(r.profile_id for r in results)


def test_retry_after_is_honoured(sandbox):
    sandbox.set_faults(rate_429=1.0, retry_after=1)
    policy = RetryPolicy(attempts=2, backoff=0.01, max_wait=5)
    with CopernicaClient(sandbox.api_url, TOKEN, retry=policy) as c:
        began = time.monotonic()
        with pytest.raises(TemporaryFailure):
            c.create_profile(1, {"email": "a@b.nl"})
    assert time.monotonic() - began >= 1.0
    assert sandbox.stats()["by_status"] == {"429": 2}


# --- ambiguous failures: a POST is never sent twice ---------------------------
@pytest.mark.parametrize("fault, stored", [("drop_before_store", 0), ("drop_after_store", 1)])
def test_a_dropped_connection_on_post_is_ambiguous_and_never_resent(client, sandbox, fault, stored):
    sandbox.set_faults(**{fault: 1.0})
    with pytest.raises(AnswerLost) as caught:
        client.create_profile(1, {"email": "a@b.nl"})
    assert caught.value.attempts == 1
    assert "may or may not have been created" in str(caught.value)
    assert sandbox.stats()["posts"] == (1 if fault == "drop_after_store" else 0)
    assert sandbox.stats()["requests"] == 1
    assert len(sandbox.profiles(1)) == stored


def test_a_read_timeout_on_post_is_ambiguous_and_never_resent(sandbox):
    sandbox.set_faults(slow_after_store=1.0, slow_seconds=1.0)
    with CopernicaClient(sandbox.api_url, TOKEN, retry=FAST_RETRY, timeout=(2.0, 0.3)) as c:
        with pytest.raises(AnswerLost) as caught:
            c.create_profile(1, {"email": "a@b.nl"})
    assert "no answer within 0.3 seconds" in str(caught.value)
    assert sandbox.stats()["posts"] == 1 and len(sandbox.profiles(1)) == 1


def test_a_get_is_retried_after_a_dropped_connection(client, sandbox):
    client.create_profile(1, {"email": "a@b.nl"})
    sandbox.set_faults(drop_before_store=0.5, seed=1)
    for _ in range(6):
        assert len(client.find_profiles(1, {"email": "a@b.nl"})) == 1
    assert sandbox.stats()["dropped_before_store"] > 0


# --- finding, updating, deleting ----------------------------------------------
def test_find_profiles_reads_every_page_and_escapes_values(sandbox):
    awkward = "a+b&c=d%20 e@x.nl"
    with CopernicaClient(sandbox.api_url, TOKEN, retry=FAST_RETRY, page_size=3) as c:
        for i in range(7):
            c.create_profile(1, {"email": f"p{i}@x.nl", "lastname": "Smith"})
        c.create_profile(1, {"email": awkward, "lastname": "Jones"})
        smiths = c.find_profiles(1, {"lastname": "Smith"})
        assert sorted(p["fields"]["email"] for p in smiths) == [f"p{i}@x.nl" for i in range(7)]
        assert [p["fields"]["email"] for p in c.find_profiles(1, {"email": awkward})] == [awkward]
        assert c.find_profiles(1, {"email": awkward, "lastname": "Smith"}) == []


def test_update_sets_fields_and_adds_or_replaces_interests(client, sandbox):
    pid = client.create_profile(1, {"email": "a@b.nl", "firstname": "Ann"}, {"newsletter": 1}).profile_id
    assert client.update_profile(pid, {"firstname": "Anna"}, {"football": 1}) == 2
    stored = sandbox.profiles(1)[0]
    assert stored["fields"]["firstname"] == "Anna"
    assert set(stored["interests"]) == {"newsletter", "football"}
    client.update_profile(pid, {}, {"football": 1}, replace_interests=True)
    assert set(sandbox.profiles(1)[0]["interests"]) == {"football"}
    assert sandbox.stats()["by_status"].get("303", 0) >= 2  # 303 See Other is success, not followed


def test_delete_removes_and_a_second_delete_is_refused(client, sandbox):
    pid = client.create_profile(1, {"email": "a@b.nl"}).profile_id
    client.delete_profile(pid)
    assert client.find_profiles(1, {"email": "a@b.nl"}) == []
    with pytest.raises(RequestRefused, match="already been removed"):
        client.delete_profile(pid)


def test_fetch_schema_matches_the_served_schema(client):
    expected = load_schema_file(SAMPLE_SCHEMA).database(2)
    got = client.fetch_schema(2)
    assert got.name == expected.name
    assert [(f.name, f.type, f.choices) for f in got.fields] == \
           [(f.name, f.type, f.choices) for f in expected.fields]
    assert [i.name for i in got.interests] == [i.name for i in expected.interests]


# --- API v4 ------------------------------------------------------------------
def test_v4_fetches_one_jwt_and_renews_it_when_rejected(sandbox):
    with v4_client(sandbox) as c:
        c.create_profile(1, {"email": "a@b.nl"})
        c.find_profiles(1, {"email": "a@b.nl"})
        assert sandbox.stats()["jwts_issued"] == 1
        sandbox.expire_jwts()
        c.create_profile(1, {"email": "b@b.nl"})
    assert sandbox.stats()["jwts_issued"] == 2
    assert len(sandbox.profiles(1)) == 2


def test_v4_renews_the_jwt_before_it_expires():
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(jwt_lifetime=1)) as sb, v4_client(sb) as c:
        c.create_profile(1, {"email": "a@b.nl"})
        time.sleep(1.0)
        c.create_profile(1, {"email": "b@b.nl"})
        assert sb.stats()["jwts_issued"] == 2
        assert sb.stats()["invalid_token"] == 0  # renewed before, not after, a rejection


def test_v4_with_a_wrong_token_stops(sandbox):
    with v4_client(sandbox, token="wrong-token") as c, pytest.raises(InvalidTokenError):
        c.create_profile(1, {"email": "a@b.nl"})
    assert sandbox.profiles(1) == []


def test_v4_token_that_stays_rejected_after_renewal_stops(sandbox):
    with v4_client(sandbox) as c:
        c.create_profile(1, {"email": "a@b.nl"})
        sandbox.set_faults(expire_token_after=1)
        with pytest.raises(InvalidTokenError):
            c.create_profile(1, {"email": "b@b.nl"})


# --- the token never leaks -----------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rendered(error: BaseException) -> str:
    text = "".join(traceback.format_exception(error))
    chain: BaseException | None = error
    while chain is not None:  # also what a debugger or a `raise ... from` would show
        text += repr(chain) + str(chain.args)
        chain = chain.__cause__ or chain.__context__
    return text


@pytest.mark.parametrize("api_version", [3, 4])
def test_the_token_never_appears_in_errors_logs_or_repr(sandbox, caplog, api_version):
    install_log_redaction()  # what the CLI does at start-up (a library caller who logs urllib3 too)
    caplog.set_level(logging.DEBUG)
    one_try = RetryPolicy(attempts=2, backoff=0.01, max_wait=0.02)

    def make(url: str, timeout: tuple[float, float] = (1.0, 0.3)) -> CopernicaClient:
        auth = sandbox.auth_url if api_version == 4 else None
        return CopernicaClient(url, TOKEN, api_version=api_version, auth_url=auth, retry=one_try, timeout=timeout)

    api = sandbox.api_url if api_version == 3 else sandbox.base_url + "/v4"
    texts: list[str] = []
    cases = [
        (f"http://127.0.0.1:{_closed_port()}/v3", {}),              # connection refused
        ("https://no-such-host.invalid/v3", {}),                      # bad host
        (api, {"slow_after_store": 1.0, "slow_seconds": 1.0}),        # read timeout
        (api, {"drop_after_store": 1.0, "slow_after_store": 0.0}),   # dropped connection
        (api, {"drop_after_store": 0.0, "rate_503": 1.0, "retry_after": 0}),  # overload
    ]
    for url, faults in cases:
        sandbox.set_faults(**faults)
        client = make(url)
        texts.append(repr(client))
        with pytest.raises(Exception) as caught:
            client.create_profile(1, {"email": "a@b.nl"})
        texts.append(_rendered(caught.value))
        client.close()
    texts.append(caplog.text)
    texts.extend(repr(r.args) + str(r.msg) for r in caplog.records)
    everything = "\n".join(texts)
    assert TOKEN not in everything
    assert "access_token=" not in everything.replace("access_token=***", "")
    assert "127.0.0.1" in everything  # the texts are real (and would show a leak)


def test_plain_http_to_another_host_is_refused_before_anything_is_sent():
    with pytest.raises(UsageError) as caught:
        CopernicaClient("http://api.copernica.com/v3", TOKEN)
    assert "https://" in str(caught.value) and TOKEN not in str(caught.value)
    with pytest.raises(UsageError):
        CopernicaClient("https://api.copernica.com/v4", TOKEN, api_version=4,
                        auth_url="http://authenticate.copernica.com")
    CopernicaClient("http://localhost:1/v3", TOKEN).close()   # loopback: allowed


# --- pacing with the sandbox's capacity limit ----------------------------------
def test_many_threads_within_a_capacity_limit_store_every_profile_once():
    faults = Faults(capacity=3, latency_ms=20, retry_after=0)
    pacer = Pacer(max_concurrency=8)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=faults) as sb, \
            CopernicaClient(sb.api_url, TOKEN, retry=RetryPolicy(attempts=8, backoff=0.02, max_wait=0.2),
                            pacer=pacer) as c:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: c.create_profile(1, {"email": f"p{i}@b.nl"}), range(60)))
        stats = sb.stats()
        stored_ids = sorted(p["ID"] for p in sb.profiles(1))
    assert stored_ids == sorted(r.profile_id for r in results)
    assert len(set(r.profile_id for r in results)) == 60
    assert stats["over_capacity"] < 20          # the window shrank instead of hammering
    assert pacer.stats()["window_cuts"] >= 1


# --- edge cases from a scripted server -------------------------------------------
class _Script(BaseHTTPRequestHandler):
    answers: list[tuple[int, dict[str, str]]] = []
    seen: list[str] = []

    def _answer(self) -> None:
        type(self).seen.append(f"{self.command} {self.path.split('?')[0]}")
        status, headers = type(self).answers.pop(0)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Script)
    _Script.answers, _Script.seen = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v3", _Script
    server.shutdown()
    server.server_close()


def test_a_201_without_x_created_is_ambiguous(scripted):
    url, script = scripted
    script.answers = [(201, {}), (201, {"x-created": "0"}), (201, {"x-CREATED": " 42 "})]
    with CopernicaClient(url, TOKEN, retry=FAST_RETRY) as c:
        for _ in range(2):
            with pytest.raises(AnswerLost, match="sent no profile ID"):
                c.create_profile(1, {"email": "a@b.nl"})
        assert c.create_profile(1, {"email": "a@b.nl"}).profile_id == 42  # header name in any case


@pytest.mark.parametrize("status", [502, 504, 500])
def test_a_5xx_on_post_is_ambiguous_but_a_get_is_retried(scripted, status):
    url, script = scripted
    script.answers = [(status, {}), (status, {}), (200, {"Content-Type": "application/json"})]
    with CopernicaClient(url, TOKEN, retry=FAST_RETRY) as c:
        with pytest.raises(AnswerLost):
            c.create_profile(1, {"email": "a@b.nl"})
        assert script.seen == ["POST /v3/database/1/profiles"]
        script.answers = [(status, {}), (200, {})]
        c.delete_profile(5)
    assert script.seen[1:] == ["DELETE /v3/profile/5"] * 2


def test_retry_after_as_an_http_date_is_honoured(scripted):
    url, script = scripted
    script.answers = [(503, {"Retry-After": formatdate(time.time() + 2, usegmt=True)}),
                      (201, {"X-Created": "7"})]
    with CopernicaClient(url, TOKEN, retry=RetryPolicy(attempts=3, backoff=0.01, max_wait=5)) as c:
        began = time.monotonic()
        assert c.create_profile(1, {}).attempts == 2
    assert time.monotonic() - began >= 0.9  # the date has one-second resolution


def test_a_redirect_on_post_is_not_followed(scripted):
    url, script = scripted
    script.answers = [(302, {"Location": "http://127.0.0.1:1/elsewhere"})]
    with CopernicaClient(url, TOKEN, retry=FAST_RETRY) as c, pytest.raises(RequestRefused, match="redirect"):
        c.create_profile(1, {})
    assert script.seen == ["POST /v3/database/1/profiles"]
