"""Every switchable fault, with rates of 0/1 or seeds so the outcome is exact."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from importer.sandbox import Faults, Sandbox
from importer.sandbox.faults import FaultInjector
from tests.helpers import SAMPLE_SCHEMA, SANDBOX_TOKEN, ApiClient


def sandbox(**faults) -> Sandbox:
    return Sandbox(schema=SAMPLE_SCHEMA, token=SANDBOX_TOKEN, faults=Faults(**faults))


def post(api: ApiClient, timeout: float = 10) -> requests.Response:
    return api.call("POST", "database/1/profiles", json={"fields": {"email": "f@x.y"}}, timeout=timeout)


def test_latency_delays_every_api_request_but_not_inspection():
    with sandbox(latency_ms=150) as sb:
        api = ApiClient(sb)
        started = time.monotonic()
        assert api.call("GET", "identity").status_code == 200
        assert time.monotonic() - started >= 0.15
    with sandbox(latency_ms=60_000) as sb:  # a delayed inspection would take a minute, however busy the machine
        started = time.monotonic()
        assert requests.get(f"{sb.base_url}/_sandbox/stats", timeout=30).status_code == 200
        assert time.monotonic() - started < 10


def test_jitter_is_bounded_and_repeatable_with_a_seed():
    def delays(seed: int) -> list[float]:
        injector = FaultInjector(Faults(latency_ms=100, jitter_ms=50, seed=seed))
        return [injector.delay_seconds() for _ in range(20)]
    first = delays(seed=3)
    assert first == delays(seed=3) and first != delays(seed=4)
    assert all(0.1 <= d <= 0.15 for d in first) and len(set(first)) > 1


@pytest.mark.parametrize("rate_field, status", [("rate_429", 429), ("rate_503", 503)])
def test_429_and_503_with_retry_after_and_nothing_stored(rate_field, status):
    with sandbox(**{rate_field: 1.0}, retry_after=7) as sb:
        response = post(ApiClient(sb))
        assert response.status_code == status
        assert response.headers["Retry-After"] == "7"
        assert "Loadbalancer Error" in response.text
        assert response.headers["Content-Type"].startswith("text/html")
        assert sb.profiles(1) == []
        assert sb.stats()["by_status"] == {str(status): 1}


def test_retry_after_zero_and_none():
    with sandbox(rate_503=1.0, retry_after=0) as sb:
        assert post(ApiClient(sb)).headers["Retry-After"] == "0"
        sb.set_faults(retry_after=None)
        assert "Retry-After" not in post(ApiClient(sb)).headers


def test_random_faults_repeat_with_the_same_seed():
    def statuses(seed: int) -> list[int]:
        with sandbox(rate_503=0.5, seed=seed) as sb:
            api = ApiClient(sb)
            return [api.call("GET", "identity").status_code for _ in range(30)]
    first = statuses(11)
    assert first == statuses(11)
    assert set(first) == {200, 503}


def test_capacity_answers_503_too_many_requests_when_exceeded():
    with sandbox(capacity=2, latency_ms=400) as sb:
        def call(_: int) -> requests.Response:
            return ApiClient(sb).call("GET", "identity")
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(call, range(4)))
        rejected = [r for r in responses if r.status_code == 503]
        assert sorted(r.status_code for r in responses) == [200, 200, 503, 503]
        assert all(r.headers["X-Reason"] == "too many requests to handle" for r in rejected)
        assert all("Loadbalancer Error" in r.text and r.headers["Retry-After"] == "1" for r in rejected)
        stats = sb.stats()
        assert stats["over_capacity"] == 2 and stats["max_in_flight"] >= 3


def test_drop_before_store_closes_the_connection_and_stores_nothing():
    with sandbox(drop_before_store=1.0) as sb:
        with pytest.raises(requests.ConnectionError):
            post(ApiClient(sb))
        assert sb.profiles(1) == []
        assert sb.stats()["dropped"] == 1 and sb.stats()["dropped_before_store"] == 1


def test_drop_after_store_closes_the_connection_but_the_profile_exists():
    with sandbox(drop_after_store=1.0) as sb:
        with pytest.raises(requests.ConnectionError):
            post(ApiClient(sb))
        assert [p["fields"]["email"] for p in sb.profiles(1)] == ["f@x.y"]
        assert sb.stats()["dropped_after_store"] == 1
        # reads are not writes: they are answered
        assert ApiClient(sb).call("GET", "database/1/profiles").status_code == 200


def test_slow_after_store_outlasts_the_client_timeout_but_stores():
    with sandbox(slow_after_store=1.0, slow_seconds=5) as sb:
        started = time.monotonic()
        with pytest.raises(requests.ReadTimeout):
            post(ApiClient(sb), timeout=0.3)
        assert len(sb.profiles(1)) == 1 and sb.stats()["slow"] == 1
    assert time.monotonic() - started < 3   # closing the sandbox cuts the wait short


def test_slow_after_store_answers_a_patient_client():
    with sandbox(slow_after_store=1.0, slow_seconds=0.2) as sb:
        response = post(ApiClient(sb), timeout=5)
        assert response.status_code == 201 and response.headers["X-Created"].isdigit()


def test_after_store_faults_hit_updates_too():
    with sandbox() as sb:
        api = ApiClient(sb)
        profile_id = api.create(1, {"email": "u@x.y"})
        sb.set_faults(drop_after_store=1.0)
        with pytest.raises(requests.ConnectionError):
            api.call("PUT", f"profile/{profile_id}", json={"fields": {"city": "Zwolle"}})
        assert sb.profiles(1)[0]["fields"]["city"] == "Zwolle"


def test_expired_token_from_the_kth_request_on():
    with sandbox(expire_token_after=3) as sb:
        api = ApiClient(sb)
        statuses = [api.call("GET", "identity").status_code for _ in range(5)]
        assert statuses == [200, 200, 400, 400, 400]
        assert api.call("GET", "identity").json()["error"]["message"] == "Invalid access token"
        sb.set_faults(expire_token_after=None)
        assert api.call("GET", "identity").status_code == 200


def test_faults_spare_inspection_and_authentication():
    with sandbox(rate_503=1.0, drop_before_store=1.0, latency_ms=300) as sb:
        assert requests.get(f"{sb.base_url}/_sandbox/stats", timeout=1).status_code == 200
        assert requests.post(sb.auth_url, data={"access_token": SANDBOX_TOKEN}, timeout=1).status_code == 200


def test_set_faults_at_run_time_and_validation():
    with sandbox() as sb:
        api = ApiClient(sb)
        assert post(api).status_code == 201
        assert sb.set_faults(rate_429=1.0).rate_429 == 1.0
        assert post(api).status_code == 429
        with pytest.raises(ValueError):
            sb.set_faults(rate_429=1.5)
        with pytest.raises(TypeError):
            sb.set_faults(rate_428=1.0)
        assert sb.faults.rate_429 == 1.0


def test_stats_count_requests_and_reset():
    with sandbox() as sb:
        api = ApiClient(sb)
        post(api)
        api.call("GET", "identity")
        stats = sb.stats()
        assert (stats["requests"], stats["posts"], stats["stored"]) == (2, 1, 1)
        assert stats["by_status"] == {"201": 1, "200": 1}
        sb.reset_stats()
        assert sb.stats()["requests"] == 0 and sb.stats()["profiles"] == 1


def test_32_parallel_clients_create_exactly_1600_distinct_profiles():
    with sandbox() as sb:
        ids: list[int] = []
        ids_lock = threading.Lock()

        def client(worker: int) -> None:
            api = ApiClient(sb)
            mine = [api.create(1, {"email": f"w{worker}-{n}@x.y"}) for n in range(50)]
            with ids_lock:
                ids.extend(mine)

        with ThreadPoolExecutor(32) as pool:
            list(pool.map(client, range(32)))
        stored = sb.profiles(1)
        assert len(ids) == len(set(ids)) == 1600
        assert sorted(p["ID"] for p in stored) == sorted(ids)
        assert len({p["fields"]["email"] for p in stored}) == 1600
        stats = sb.stats()
        assert stats["stored"] == 1600 and stats["max_in_flight"] > 1
