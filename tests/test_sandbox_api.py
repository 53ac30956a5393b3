"""Every endpoint of the sandbox, over real HTTP, with Copernica's wire behaviour."""
from __future__ import annotations

import socket

import pytest
import requests

from importer.sandbox import Sandbox
from importer.schema import load_schema_file
from tests.helpers import SAMPLE_SCHEMA, SANDBOX_TOKEN, ApiClient


@pytest.fixture
def sb():
    with Sandbox(schema=SAMPLE_SCHEMA, token=SANDBOX_TOKEN) as sandbox:
        yield sandbox


@pytest.fixture
def api(sb):
    return ApiClient(sb)


def error_message(response: requests.Response) -> str:
    return response.json()["error"]["message"]


# --- authentication -----------------------------------------------------------------
@pytest.mark.parametrize("token", ["wrong", ""])
def test_wrong_token_is_400_invalid_access_token(sb, token):
    response = ApiClient(sb, token=token).call("GET", "databases")
    assert response.status_code == 400
    assert error_message(response) == "Invalid access token"


def test_missing_token_is_400(sb):
    response = requests.get(f"{sb.api_url}/databases", timeout=5)
    assert (response.status_code, error_message(response)) == (400, "Invalid access token")


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_v1_v2_v3_are_aliases(sb, version):
    response = ApiClient(sb, version=version).call("GET", "database/1")
    assert response.status_code == 200
    assert response.json()["name"] == "Contacts"


# --- structure ----------------------------------------------------------------------
def test_identity(api):
    response = api.call("GET", "identity")
    assert response.status_code == 200 and response.json()["name"] == "sandbox"


def test_databases_lists_the_schema(api):
    body = api.call("GET", "databases").json()
    assert [d["ID"] for d in body["data"]] == [1, 2]
    assert (body["start"], body["count"], body["total"]) == (0, 2, 2)


def test_database_by_id_and_by_name(api):
    by_id = api.call("GET", "database/2").json()
    assert by_id["name"] == "Test database"
    assert [f["name"] for f in by_id["fields"]["data"]][:3] == ["email", "firstname", "lastname"]
    assert [i["name"] for i in by_id["interests"]["data"]] == ["newsletter", "football", "baseball", "tennis"]
    assert api.call("GET", "database/Contacts").json()["ID"] == 1


def test_database_fields_carry_type_choices_and_length(api):
    fields = {f["name"]: f for f in api.call("GET", "database/1/fields").json()["data"]}
    assert fields["country"]["type"] == "select"
    assert fields["country"]["value"].splitlines() == ["NL", "BE", "DE", "FR", "GB"]
    assert fields["email"]["length"] == 100
    assert fields["score"]["type"] == "integer"
    assert set(fields["email"]) >= {"ID", "name", "type", "value", "displayed", "ordered", "length",
                                    "textlines", "hidden", "index"}


def test_database_interests(api):
    data = api.call("GET", "database/1/interests").json()["data"]
    assert {"name": "football", "group": "sports"}.items() <= data[1].items()


@pytest.mark.parametrize("path", ["database/99", "database/99/fields", "database/99/interests",
                                  "database/99/profiles"])
def test_unknown_database_is_400(api, path):
    response = api.call("GET", path)
    assert (response.status_code, error_message(response)) == (400, "No database with supplied ID")


@pytest.mark.parametrize("method, path", [("GET", "nonsense"), ("PATCH", "database/1/profiles"),
                                          ("DELETE", "database/1"), ("GET", "profile/abc")])
def test_unknown_path_or_method_is_400_invalid_method(api, method, path):
    response = api.call(method, path)
    assert (response.status_code, error_message(response)) == (400, "Invalid method")


# --- create -------------------------------------------------------------------------------
def test_create_answers_201_with_x_created_and_empty_body(sb, api):
    response = api.call("POST", "database/1/profiles", json={"fields": {"email": "a@b.c"}})
    assert response.status_code == 201
    assert response.content == b"" and response.headers["Content-Length"] == "0"
    profile_id = int(response.headers["X-Created"])
    assert response.headers["X-location"] == f"{sb.api_url}/profile/{profile_id}"
    assert sb.profiles(1)[0]["ID"] == profile_id
    assert sb.profiles(1)[0]["fields"]["email"] == "a@b.c"


def test_create_accepts_a_form_encoded_body(api):
    response = api.call("POST", "database/1/profiles",
                        data={"fields[email]": "form@x.y", "fields[firstname]": "Fo", "interests[]": "tennis"})
    profile = api.profile(int(response.headers["X-Created"]))
    assert (profile["fields"]["email"], profile["fields"]["firstname"]) == ("form@x.y", "Fo")
    assert profile["interests"] == ["tennis"]
    response = api.call("POST", "database/1/profiles", data={"interests[football]": "1", "interests[tennis]": "0"})
    assert api.profile(int(response.headers["X-Created"]))["interests"] == ["football"]


def test_create_without_fields_gives_defaults(api):
    profile = api.profile(api.create(1, {}))
    assert profile["fields"]["email"] == "" and profile["interests"] == []
    assert profile["database"] == 1 and profile["removed"] is False
    assert len(profile["secret"]) == 32 and len(profile["created"]) == 19


@pytest.mark.parametrize("body", ['{"fields": "email=a"}', '{"fields": ["a"]}', "{not json", '[1, 2]',
                                  '{"fields": {}, "interests": "football"}'])
def test_malformed_body_is_400_invalid_data(sb, api, body):
    response = api.call("POST", "database/1/profiles", data=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, error_message(response)) == (400, "Invalid data provided")
    assert sb.profiles(1) == []


def test_profile_ids_are_distinct_and_not_row_numbers(api):
    ids = [api.create(1, {"email": f"{n}@x.y"}) for n in range(3)]
    assert len(set(ids)) == 3 and min(ids) > 100000


# --- search -------------------------------------------------------------------------------
@pytest.fixture
def people(api):
    rows = [("ann@x.nl", "Ann", 10, "NL"), ("bob@x.be", "Bob", 20, "BE"), ("cy@x.nl", "Cy", 30, "NL"),
            ("Dee@X.nl", "Dee", 40, "DE")]
    return [api.create(1, {"email": e, "firstname": f, "score": s, "country": c}) for e, f, s, c in rows]


def search(api, *conditions, **params):
    query = [("fields[]", c) for c in conditions] + list(params.items())
    response = api.call("GET", "database/1/profiles", params=query)
    assert response.status_code == 200, response.text
    return response.json()


def names(body):
    return [p["fields"]["firstname"] for p in body["data"]]


def test_search_by_key_equality(api, people):
    body = search(api, "email==bob@x.be")
    assert names(body) == ["Bob"] and body["total"] == 1 and body["count"] == 1
    assert body["data"][0]["ID"] == people[1]


def test_search_matches_field_name_and_text_case_insensitively(api, people):
    assert names(search(api, "EMAIL==dee@x.nl")) == ["Dee"]


@pytest.mark.parametrize("condition, expected", [
    ("score>20", ["Cy", "Dee"]), ("score>=20", ["Bob", "Cy", "Dee"]), ("score<20", ["Ann"]),
    ("score<=20", ["Ann", "Bob"]), ("score!=20", ["Ann", "Cy", "Dee"]), ("score==30", ["Cy"]),
    ("email=~%.nl", ["Ann", "Cy", "Dee"]), ("firstname=~_o_", ["Bob"]), ("email!~%.nl", ["Bob"]),
    ("country!=NL", ["Bob", "Dee"]),
])
def test_search_operators(api, people, condition, expected):
    assert names(search(api, condition)) == expected


def test_several_conditions_are_anded(api, people):
    assert names(search(api, "country==NL", "score>10")) == ["Cy"]


def test_search_paging_and_total(api, people):
    page = search(api, start=1, limit=2)
    assert names(page) == ["Bob", "Cy"]
    assert (page["start"], page["limit"], page["count"], page["total"]) == (1, 2, 2, 4)
    assert search(api, limit=5000)["limit"] == 1000
    assert search(api)["limit"] == 100
    assert "total" not in search(api, total="false")


def test_search_dataonly_gives_id_fields_interests_modified(api, people):
    profile = search(api, "email==ann@x.nl", dataonly="true")["data"][0]
    assert set(profile) == {"ID", "fields", "interests", "modified"}


def test_search_filter_errors(api, people):
    response = api.call("GET", "database/1/profiles", params=[("fields[]", "emial==x")])
    assert response.status_code == 400 and "emial" in error_message(response)
    response = api.call("GET", "database/1/profiles", params=[("fields[]", "no operator")])
    assert response.status_code == 400


def test_removed_profiles_are_not_found(api, people):
    api.call("DELETE", f"profile/{people[0]}")
    assert names(search(api)) == ["Bob", "Cy", "Dee"]


# --- one profile ---------------------------------------------------------------------------
def test_get_profile_fields_and_interests(api):
    profile_id = api.create(1, {"email": "g@x.y"}, ["tennis", "newsletter"])
    assert api.call("GET", f"profile/{profile_id}/fields").json()["email"] == "g@x.y"
    assert api.call("GET", f"profile/{profile_id}/interests").json() == ["newsletter", "tennis"]
    assert api.call("GET", "profile/999999999").status_code == 400


def test_put_profile_answers_303_and_updates_only_given_fields(sb, api):
    profile_id = api.create(1, {"email": "p@x.y", "firstname": "Old", "city": "Utrecht"}, ["tennis"])
    response = api.call("PUT", f"profile/{profile_id}",
                        json={"fields": {"firstname": "New", "score": "7x"}, "interests": {"football": 1}})
    assert response.status_code == 303
    assert response.headers["Location"] == f"{sb.api_url}/profile/{profile_id}"
    assert response.headers["Content-Length"] == "0"
    profile = api.profile(profile_id)
    assert (profile["fields"]["firstname"], profile["fields"]["city"], profile["fields"]["score"]) == ("New", "Utrecht", "7")
    assert profile["interests"] == ["football", "tennis"]


def test_put_profile_fields_takes_the_bare_object(api):
    profile_id = api.create(1, {"email": "f@x.y"})
    response = api.call("PUT", f"profile/{profile_id}/fields", json={"City": "Gent"})
    assert response.status_code == 303
    assert api.profile(profile_id)["fields"]["city"] == "Gent"


def test_post_interests_adds_and_put_interests_replaces(api):
    profile_id = api.create(1, {}, ["tennis", "running"])
    assert api.call("POST", f"profile/{profile_id}/interests", json={"football": 1, "running": 0}).status_code == 303
    assert api.profile(profile_id)["interests"] == ["football", "tennis"]
    assert api.call("PUT", f"profile/{profile_id}/interests", json=["cycling"]).status_code == 303
    assert api.profile(profile_id)["interests"] == ["cycling"]


def test_put_on_unknown_profile_is_400(api):
    response = api.call("PUT", "profile/123", json={"fields": {"email": "x"}})
    assert response.status_code == 400


def test_put_database_profiles_updates_all_matches(sb, api, people):
    response = api.call("PUT", "database/1/profiles", params=[("fields[]", "country==NL")],
                        json={"fields": {"city": "Amsterdam"}})
    assert response.status_code == 303
    assert response.headers["Location"] == f"{sb.api_url}/profile/{people[0]}"
    cities = {p["fields"]["firstname"]: p["fields"]["city"] for p in sb.profiles(1)}
    assert cities == {"Ann": "Amsterdam", "Bob": "", "Cy": "Amsterdam", "Dee": ""}


def test_put_database_profiles_creates_once_when_nothing_matches(sb, api):
    params = [("fields[]", "email==new@x.y"), ("create", "true")]
    first = api.call("PUT", "database/1/profiles", params=params, json={"fields": {"email": "new@x.y"}})
    assert first.status_code == 201
    created = int(first.headers["X-Created"])
    second = api.call("PUT", "database/1/profiles", params=params, json={"fields": {"firstname": "Nu"}})
    assert second.status_code == 303 and second.headers["Location"].endswith(f"/profile/{created}")
    assert [(p["ID"], p["fields"]["firstname"]) for p in sb.profiles(1)] == [(created, "Nu")]


def test_put_database_profiles_without_create_creates_nothing(sb, api):
    response = api.call("PUT", "database/1/profiles", params=[("fields[]", "email==none@x.y")],
                        json={"fields": {"city": "X"}})
    assert response.status_code == 200 and sb.profiles(1) == []


def test_delete_profile_then_again(sb, api):
    profile_id = api.create(1, {"email": "d@x.y"})
    response = api.call("DELETE", f"profile/{profile_id}")
    assert response.status_code == 200
    assert response.headers["X-deleted"] == f"profile {profile_id}"
    assert sb.profiles(1) == []
    assert api.profile(profile_id)["removed"] is True
    again = api.call("DELETE", f"profile/{profile_id}")
    assert again.status_code == 400 and "removed" in error_message(again)
    assert api.call("DELETE", "profile/42").status_code == 400


# --- HTTP/1.1 -------------------------------------------------------------------------------
def test_keep_alive_serves_many_requests_on_one_connection(sb):
    with socket.create_connection(("127.0.0.1", sb.port), timeout=5) as conn:
        reader = conn.makefile("rb")
        for _ in range(3):
            conn.sendall(f"GET /v3/identity?access_token={SANDBOX_TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            status = reader.readline()
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            body = reader.read(int(headers["content-length"]))
            assert status.startswith(b"HTTP/1.1 200") and b"sandbox" in body


# --- inspection ---------------------------------------------------------------------------
def test_inspection_endpoints_need_no_token(sb, api):
    api.create(2, {"email": "i@x.y"})
    listed = requests.get(f"{sb.base_url}/_sandbox/profiles", params={"database": 2}, timeout=5).json()
    assert listed == sb.profiles(2) and listed[0]["fields"]["email"] == "i@x.y"
    assert requests.get(f"{sb.base_url}/_sandbox/profiles", params={"database": 1}, timeout=5).json() == []
    stats = requests.get(f"{sb.base_url}/_sandbox/stats", timeout=5).json()
    assert stats["posts"] == 1 and stats["stored"] == 1 and stats["by_status"]["201"] == 1
    changed = requests.post(f"{sb.base_url}/_sandbox/faults", json={"rate_503": 0.25}, timeout=5).json()
    assert changed["rate_503"] == 0.25 and sb.faults.rate_503 == 0.25
    reset = requests.post(f"{sb.base_url}/_sandbox/reset-stats", timeout=5).json()
    assert reset["requests"] == 0 and reset["by_status"] == {}


def test_inspection_rejects_bad_fault_changes(sb):
    bad = requests.post(f"{sb.base_url}/_sandbox/faults", json={"rate_5O3": 1}, timeout=5)
    assert bad.status_code == 400 and "rate_5O3" in error_message(bad)
    bad = requests.post(f"{sb.base_url}/_sandbox/faults", json={"rate_503": 2}, timeout=5)
    assert bad.status_code == 400 and sb.faults.rate_503 == 0.0
    assert requests.get(f"{sb.base_url}/_sandbox/nothing", timeout=5).status_code == 404


def test_schema_object_and_default_schema():
    with Sandbox(schema=load_schema_file(SAMPLE_SCHEMA), token="t") as with_object:
        assert ApiClient(with_object, token="t").call("GET", "database/2").status_code == 200
    with Sandbox() as default:
        client = ApiClient(default, token="sandbox-token")
        assert client.call("GET", "database/1").json()["name"] == "Contacts"
        assert client.call("GET", "database/2").status_code == 400


def test_db_file_keeps_profiles_across_runs(tmp_path):
    db = tmp_path / "kept.sqlite"
    with Sandbox(schema=SAMPLE_SCHEMA, token="t", db_path=db) as first:
        created = ApiClient(first, token="t").create(1, {"email": "keep@x.y"})
    with Sandbox(schema=SAMPLE_SCHEMA, token="t", db_path=db) as second:
        assert [p["ID"] for p in second.profiles(1)] == [created]
        assert ApiClient(second, token="t").create(1, {}) > created
