"""Collections (issue 16, points 1-3): the mapping, its checks, the sandbox's
subprofile endpoints, and imports in every mode against the sandbox over HTTP."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
import requests

from importer import Connection, ImportOptions, check_file, run_import
from importer.client import CopernicaClient
from importer.errors import MappingError, SchemaError
from importer.mapping import load_mapping
from importer.sandbox import Sandbox
from importer.schema import dump_schema, load_schema_file
from tests.helpers import TOKEN, cli

SCHEMA = """\
databases:
  - id: 5
    name: Club
    fields:
      - {name: email, type: email}
      - {name: firstname, type: text, length: 30}
    interests: [newsletter, tennis]
    collections:
      - id: 51
        name: Memberships
        fields:
          - {name: number, type: text, length: 10}
          - {name: level, type: select, choices: [gold, silver]}
          - {name: fee, type: float}
          - {name: years, type: integer}
          - {name: since, type: date}
          - {name: renewed, type: datetime}
      - name: Visits
        fields: [{name: when, type: datetime}]
"""
MAPPING = """\
database: 5
collection: Memberships
key: number
on_existing: {mode}
missing_profile: {missing}
profile_key:
  email: {{column: E-mail, transform: [trim, lower]}}
profile_fields:
  firstname: Name
profile_interests:
  tennis: {{column: Tennis}}
fields:
  number: No
  level: Level
  fee: {{column: Fee, decimal_comma: true}}
  years: Years
  since: {{column: Since, date_format: "%d-%m-%Y"}}
"""
HEADER = ["No", "E-mail", "Name", "Tennis", "Level", "Fee", "Years", "Since"]


def write(folder: Path, rows: list[list[str]], mode: str = "create", missing: str = "create",
          extra: str = "") -> tuple[Path, Path]:
    (folder / "club.yaml").write_text(SCHEMA)
    mapping = folder / "m.yaml"
    mapping.write_text(MAPPING.format(mode=mode, missing=missing) + extra)
    src = folder / "members.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return src, mapping


def member(n: int, email: str | None = None, **changes: str) -> list[str]:
    row = {"No": f"M{n}", "E-mail": email or f"p{n}@club.nl", "Name": f"Name {n}", "Tennis": "yes",
           "Level": "gold", "Fee": "12,50", "Years": "3", "Since": "01-02-2020"}
    row.update(changes)
    return [row[h] for h in HEADER]


def results(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def club(tmp_path):
    (tmp_path / "club.yaml").write_text(SCHEMA)
    with Sandbox(schema=tmp_path / "club.yaml", token=TOKEN) as sb:
        yield sb


def run(tmp_path: Path, sb: Sandbox, src: Path, mapping: Path, **options):
    options.setdefault("results", tmp_path / "out.csv")
    return run_import(ImportOptions(file=src, mapping=mapping, schema=tmp_path / "club.yaml", **options),
                      Connection(token=TOKEN, api_url=sb.api_url))


# -- the mapping -------------------------------------------------------------------------------------
def test_collection_settings_are_validated_with_file_line_place_and_what_is_allowed(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("database: 5\ncollection: Memberships\nkey: number\nmissing_profile: maybe\n"
                    "profile_key:\n  email: {column: E-mail, transform: [trim, lowr]}\nfields:\n  number: No\n")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    text = str(caught.value)
    assert f"{path}: 2 problems" in text
    assert "line 4: missing_profile: 'maybe' is not allowed here; use fail, create" in text
    assert "line 6: profile_key.email.transform[1]: unknown transform 'lowr'; did you mean 'lower'?" in text


@pytest.mark.parametrize("yaml_text, expected", [
    ("collection: Memberships\nfields: {number: No}\n", "each row belongs to a profile; say how to find it with profile_key"),
    ("profile_key: email\nfields: {email: E}\n", "profile_key: only apply when the rows go into a collection"),
    ("collection: M\nprofile_key: email\nfields: {number: No}\n", "'email' is not one of the profile fields"),
    ("collection: M\nprofile_key: {email: E}\nfields: {number: No}\ninterests: {tennis: T}\n",
     "a collection has no interests"),
    ("collection: M\nprofile_key: {email: {value: x}}\nfields: {number: No}\n",
     "'email' is a constant, so every row would belong to the same profile"),
    ("collection: M\nprofile_key: {email: E}\nprofile_fields: {Email: E2}\nfields: {number: No}\n",
     "'email' is mapped here and under profile_fields"),
    ("collection: M\nprofile_key: {email: E}\nprofile_fields: {firstname: F}\nfields: {number: No}\n",
     "profile_fields would never be sent: with missing_profile: fail and existing_profile: keep"),
])
def test_collection_mistakes_are_named(tmp_path, yaml_text, expected):
    path = tmp_path / "m.yaml"
    path.write_text(yaml_text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert expected in str(caught.value)


def test_an_unknown_collection_or_field_is_refused_before_anything_is_sent(tmp_path, club):
    src, mapping = write(tmp_path, [member(1)])
    mapping.write_text(mapping.read_text().replace("collection: Memberships", "collection: Membership"))
    with pytest.raises(SchemaError) as caught:
        run(tmp_path, club, src, mapping)
    assert "collection 'Membership' is not in database 5 (did you mean 'Memberships'?)" in str(caught.value)
    assert "Memberships (ID 51), Visits (ID 1)" in str(caught.value)
    mapping.write_text(MAPPING.format(mode="create", missing="create").replace("  years: Years", "  yeers: Years"))
    with pytest.raises(SchemaError) as caught:
        run(tmp_path, club, src, mapping)
    assert "the mapped field is not in collection 'Memberships' (ID 51): 'yeers' (did you mean 'years'?)" in str(caught.value)
    mapping.write_text(MAPPING.format(mode="create", missing="create").replace("firstname: Name", "firstnaam: Name"))
    with pytest.raises(SchemaError, match="not in database 5: 'firstnaam'"):
        run(tmp_path, club, src, mapping)
    assert club.stats()["posts"] == 0


def test_columns_missing_on_both_sides_are_named_in_one_message(tmp_path, club):
    src, mapping = write(tmp_path, [member(1)])
    mapping.write_text(mapping.read_text().replace("column: E-mail", "column: Email").replace("number: No", "number: Nr"))
    with pytest.raises(MappingError) as caught:
        run(tmp_path, club, src, mapping)
    assert "2 mapped columns are not in the file: 'Nr', 'Email' (did you mean 'E-mail'?)" in str(caught.value)


def test_collection_values_are_checked_per_type_and_the_report_has_the_subprofile_columns(tmp_path, club):
    rows = [member(1), member(2, Level="Gold"), member(3, Fee="12.5.0"), member(4, Years="3.5"),
            member(5, Since="31-02-2020"), member(6, email=" "), member(7, No="M1")]
    src, mapping = write(tmp_path, rows)
    report = tmp_path / "check.csv"
    summary = check_file(ImportOptions(file=src, mapping=mapping, schema=tmp_path / "club.yaml"), report=report)
    lines = {int(r["row"]): r for r in results(report)}
    assert list(results(report)[0])[:9] == ["row", "status", "profile_id", "subprofile_id", "profile_status",
                                            "error", "code", "attempts", "key"]
    assert lines[2]["status"] == "valid"
    assert (lines[3]["code"], lines[4]["code"], lines[5]["code"], lines[6]["code"]) == (
        "not_a_choice", "not_a_number", "not_whole_number", "invalid_date")
    assert lines[7]["code"] == "empty_key"
    assert (lines[8]["status"], lines[8]["error"]) == ("skipped", "duplicate of row 2")
    assert summary.counts["valid"] == 1


# -- the sandbox -----------------------------------------------------------------------------------------
def test_the_sandbox_serves_collections_and_subprofiles_like_copernica(club):
    api, params = club.api_url, {"access_token": TOKEN}
    collections = requests.get(f"{api}/database/5/collections", params=params).json()
    assert [(c["ID"], c["name"], c["database"]) for c in collections["data"]] == [(51, "Memberships", 5), (1, "Visits", 5)]
    assert collections["data"][0]["fields"]["count"] == 6
    assert requests.get(f"{api}/collection/51", params=params).json()["name"] == "Memberships"
    fields = requests.get(f"{api}/collection/51/fields", params=params).json()["data"]
    assert [f["name"] for f in fields][:2] == ["number", "level"]
    pid = int(requests.post(f"{api}/database/5/profiles", params=params,
                            json={"fields": {"email": "a@b.nl"}}).headers["X-Created"])
    # a bare field object, by collection name; coerced as Copernica does, unknown names ignored
    answer = requests.post(f"{api}/profile/{pid}/subprofiles/Memberships", params=params,
                           json={"NUMBER": "M1", "level": "Gold", "fee": "1,5", "years": "3x", "colour": "red",
                                 "since": " 2020-2-3"})
    assert answer.status_code == 201
    sid = int(answer.headers["X-Created"])
    stored = requests.get(f"{api}/subprofile/{sid}", params=params).json()
    assert stored["fields"] == {"number": "M1", "level": "", "fee": "1", "years": "3", "since": "2020-02-03",
                                "renewed": "0000-00-00 00:00:00"}
    assert (stored["profile"], stored["collection"], stored["removed"]) == (pid, 51, False)
    # by ID too; an unknown collection is Copernica's 400
    assert requests.post(f"{api}/profile/{pid}/subprofiles/51", params=params, json={"number": "M2"}).status_code == 201
    refused = requests.post(f"{api}/profile/{pid}/subprofiles/Nope", params=params, json={})
    assert (refused.status_code, refused.json()["error"]["message"]) == (400, "Subprofile could not be created")
    found = requests.get(f"{api}/collection/51/subprofiles", params=[*params.items(), ("fields[]", "number==m1")]).json()
    assert [s["ID"] for s in found["data"]] == [sid]
    page = requests.get(f"{api}/profile/{pid}/subprofiles/Memberships",
                        params={**params, "limit": 1, "start": 1, "orderby": "number", "order": "desc"}).json()
    assert (page["total"], [s["fields"]["number"] for s in page["data"]]) == (2, ["M1"])
    put = requests.put(f"{api}/subprofile/{sid}/fields", params=params, json={"level": "silver"},
                       allow_redirects=False)
    assert put.status_code == 303 and put.headers["Location"].endswith(f"/subprofile/{sid}")
    assert club.subprofiles(51)[0]["fields"]["level"] == "silver"
    assert requests.delete(f"{api}/subprofile/{sid}", params=params).status_code == 200
    again = requests.delete(f"{api}/subprofile/{sid}", params=params)
    assert again.json()["error"]["message"] == "Subprofile has already been removed"
    inspected = requests.get(f"{club.base_url}/_sandbox/subprofiles", params={"collection": 51}).json()
    assert [s["fields"]["number"] for s in inspected] == ["M2"]
    assert club.stats()["subprofiles"] == 1
    requests.delete(f"{api}/profile/{pid}", params=params)   # its subprofiles go with it
    assert club.subprofiles() == []


def test_subprofile_writes_meet_the_same_faults(club):
    client = CopernicaClient(club.api_url, TOKEN)
    pid = client.create_profile(5, {"email": "a@b.nl"}).profile_id
    club.set_faults(drop_after_store=1.0)
    from importer.errors import AnswerLost
    with pytest.raises(AnswerLost):
        client.create_subprofile(pid, 51, {"number": "M9"})
    assert [s["fields"]["number"] for s in club.subprofiles(51)] == ["M9"]   # stored, answer lost
    club.set_faults(drop_after_store=0.0, lookup_lag_ms=60_000)
    client.create_subprofile(pid, 51, {"number": "M10"})
    assert [s["fields"]["number"] for s in client.find_subprofiles(51, {"number": "M10"})] == []   # lags


def test_the_schema_command_writes_collections_and_they_load_back(tmp_path, club):
    done = cli("schema", "--database", "5", "--api-url", club.api_url, "--output", str(tmp_path / "s.yaml"))
    assert done.returncode == 0, done.stderr
    loaded = load_schema_file(tmp_path / "s.yaml").database(5)
    assert [(c.id, c.name, [f.name for f in c.fields]) for c in loaded.collections][0] == (
        51, "Memberships", ["number", "level", "fee", "years", "since", "renewed"])
    assert loaded.collection("memberships").field("LEVEL").choices == ("gold", "silver")
    assert "collections:" in dump_schema([loaded])


# -- imports -------------------------------------------------------------------------------------------------
def test_create_mode_with_missing_profiles_created_once_per_customer(tmp_path, club):
    rows = [member(n, email=f"p{n % 3}@club.nl") for n in range(9)]
    rows[4][1] = "  P1@CLUB.NL "   # the same customer after the transforms
    src, mapping = write(tmp_path, rows)
    summary = run(tmp_path, club, src, mapping)
    assert summary.counts["created"] == 9
    assert sorted(p["fields"]["email"] for p in club.profiles(5)) == ["p0@club.nl", "p1@club.nl", "p2@club.nl"]
    assert all(p["interests"] == ["tennis"] for p in club.profiles(5))
    lines = results(tmp_path / "out.csv")
    assert sum(r["profile_status"] == "created" for r in lines) == 3
    by_id = {p["ID"]: p["fields"]["email"] for p in club.profiles(5)}
    subs = {s["ID"]: s for s in club.subprofiles(51)}
    for r in lines:
        assert by_id[int(r["profile_id"])] == f"p{int(r['key'][1:]) % 3}@club.nl"
        assert subs[int(r["subprofile_id"])]["fields"]["fee"] == "12.5"


def test_missing_profile_fail_fails_the_row_and_names_the_key(tmp_path, club):
    CopernicaClient(club.api_url, TOKEN).create_profile(5, {"email": "p1@club.nl"})
    src, mapping = write(tmp_path, [member(1), member(2)], missing="fail", extra="existing_profile: update\n")
    summary = run(tmp_path, club, src, mapping)
    lines = {r["key"]: r for r in results(tmp_path / "out.csv")}
    assert (lines["M1"]["status"], lines["M1"]["profile_status"]) == ("created", "updated")
    assert (lines["M2"]["status"], lines["M2"]["code"]) == ("failed", "no_profile")
    assert "no profile with email 'p2@club.nl' in database 5 (missing_profile: fail)" in lines["M2"]["error"]
    assert summary.exit_code == 1 and len(club.profiles(5)) == 1


@pytest.mark.parametrize("mode, expected", [
    ("skip", {"M1": ("skipped", "silver"), "M2": ("created", "gold")}),
    ("update", {"M1": ("updated", "gold"), "M2": ("skipped", None)}),
    ("upsert", {"M1": ("updated", "gold"), "M2": ("created", "gold")}),
])
def test_modes_work_within_the_collection(tmp_path, club, mode, expected):
    client = CopernicaClient(club.api_url, TOKEN)
    pid = client.create_profile(5, {"email": "p1@club.nl"}).profile_id
    client.create_subprofile(pid, 51, {"number": "M1", "level": "silver"})
    src, mapping = write(tmp_path, [member(1), member(2)], mode=mode)
    run(tmp_path, club, src, mapping)
    lines = {r["key"]: r for r in results(tmp_path / "out.csv")}
    levels = {s["fields"]["number"]: s["fields"]["level"] for s in club.subprofiles(51)}
    for key, (status, level) in expected.items():
        assert lines[key]["status"] == status, lines[key]
        assert levels.get(key) == level
    assert len(club.subprofiles(51)) == len([k for k, (_, lvl) in expected.items() if lvl])


def test_a_key_found_under_another_profile_is_never_changed(tmp_path, club):
    client = CopernicaClient(club.api_url, TOKEN)
    other = client.create_profile(5, {"email": "someone@else.nl"}).profile_id
    client.create_subprofile(other, 51, {"number": "M1", "level": "silver"})
    src, mapping = write(tmp_path, [member(1)], mode="upsert")
    run(tmp_path, club, src, mapping)
    line = results(tmp_path / "out.csv")[0]
    assert (line["status"], line["code"]) == ("failed", "other_profile")
    assert f"belongs to profile {other}, not to the row's profile" in line["error"]
    assert club.subprofiles(51)[0]["fields"]["level"] == "silver"


def test_existing_profile_update_sends_the_profile_fields_once_per_distinct_values(tmp_path, club):
    CopernicaClient(club.api_url, TOKEN).create_profile(5, {"email": "p1@club.nl", "firstname": "Old"})
    rows = [member(1, email="p1@club.nl", Name="New"), member(2, email="p1@club.nl", Name="New")]
    src, mapping = write(tmp_path, rows, missing="fail", extra="existing_profile: update\n")
    club.reset_stats()
    run(tmp_path, club, src, mapping, workers=1)
    assert club.profiles(5)[0]["fields"]["firstname"] == "New"
    assert [r["profile_status"] for r in results(tmp_path / "out.csv")] == ["updated", "found"]
    assert club.stats()["updated"] == 2   # the fields and the interests, once


def test_lost_answers_of_profiles_and_subprofiles_are_looked_up_not_sent_twice(tmp_path, club):
    rows = [member(n, email=f"p{n % 4}@club.nl") for n in range(24)]
    src, mapping = write(tmp_path, rows)
    club.set_faults(drop_after_store=0.3, seed=4)
    summary = run(tmp_path, club, src, mapping)
    assert club.stats()["dropped_after_store"] > 3
    assert summary.counts["created"] == 24
    assert sorted(s["fields"]["number"] for s in club.subprofiles(51)) == sorted(f"M{n}" for n in range(24))
    assert len(club.profiles(5)) == 4
    assert "the subprofile was found by its key" in (tmp_path / "out.csv").read_text(encoding="utf-8-sig")


def test_a_results_file_of_a_collection_import_can_be_imported_again(tmp_path, club):
    src, mapping = write(tmp_path, [member(1), member(2, Years="x")])
    run(tmp_path, club, src, mapping)
    again = run(tmp_path, club, tmp_path / "out.csv", mapping, results=tmp_path / "again.csv")
    lines = results(tmp_path / "again.csv")
    assert [(r["status"], r["code"]) for r in lines] == [("skipped", "done_before"), ("invalid", "not_whole_number")]
    assert again.counts["skipped"] == 1 and len(club.subprofiles(51)) == 1


def test_rollback_of_a_collection_import_deletes_its_subprofiles_then_its_profiles(tmp_path, club):
    client = CopernicaClient(club.api_url, TOKEN)
    kept = client.create_profile(5, {"email": "p0@club.nl"}).profile_id
    client.create_subprofile(kept, 51, {"number": "OLD"})
    src, mapping = write(tmp_path, [member(n, email=f"p{n % 2}@club.nl") for n in range(4)])
    run(tmp_path, club, src, mapping)
    dry = cli("rollback", "out.csv", "--dry-run", "--api-url", club.api_url, cwd=tmp_path)
    assert "4 subprofiles and 1 profiles would be deleted" in dry.stdout
    done = cli("rollback", "out.csv", "--yes", "--api-url", club.api_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Deleted 4 subprofiles and 1 profiles" in done.stdout
    assert [p["ID"] for p in club.profiles(5)] == [kept]
    assert [s["fields"]["number"] for s in club.subprofiles(51)] == ["OLD"]
    with open(tmp_path / "out.rollback.csv", encoding="utf-8", newline="") as f:
        record = list(csv.DictReader(f))
    assert sum(1 for r in record if r["subprofile_id"]) == 4 and len(record) == 5
    again = cli("rollback", "out.csv", "--yes", "--api-url", club.api_url, cwd=tmp_path)
    assert "Nothing to delete" in again.stdout


def test_a_profile_key_several_profiles_share_fails_the_row_and_names_them(tmp_path, club):
    client = CopernicaClient(club.api_url, TOKEN)
    ids = [client.create_profile(5, {"email": "p1@club.nl"}).profile_id for _ in range(2)]
    src, mapping = write(tmp_path, [member(1)])
    run(tmp_path, club, src, mapping)
    line = results(tmp_path / "out.csv")[0]
    assert (line["status"], line["code"], line["subprofile_id"]) == ("failed", "many_match", "")
    assert f"2 profiles match email 'p1@club.nl' (profile IDs {ids[0]}, {ids[1]}); the row was not imported" in line["error"]
    assert club.subprofiles() == [] and len(club.profiles(5)) == 2
