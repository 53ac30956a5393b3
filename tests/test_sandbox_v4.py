"""The sandbox's API v4: bearer JWTs from /authenticate, their lifetime and revocation."""
from __future__ import annotations

import time

import pytest
import requests

from importer.sandbox import Faults, Sandbox
from tests.helpers import SAMPLE_SCHEMA, SANDBOX_TOKEN


def fetch_jwt(sb: Sandbox, token: str = SANDBOX_TOKEN) -> requests.Response:
    return requests.post(sb.auth_url, data={"access_token": token}, timeout=5)


def v4(sb: Sandbox, jwt: str | None, method: str = "GET", path: str = "database/1", **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {jwt}"} if jwt is not None else {}
    return requests.request(method, f"{sb.base_url}/v4/{path}", headers=headers, timeout=5,
                            allow_redirects=False, **kwargs)


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
