"""Fewer requests per row (issue 17): the database's keys read once, unchanged
rows not written, an update's fields and interests in one request.

Request counts come from the sandbox's own counters, over real HTTP.
"""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
import requests

from importer.client import CopernicaClient, RetryPolicy
from importer.key_index import KeyIndex, ValueForms, pages_needed, read_key_index
from importer.pacing import Pacer
from importer.runner import ImportOptions, run_import
from importer.sandbox import Faults, Sandbox
from tests.helpers import TOKEN, cli

SCHEMA_CALLS = 3   # database, fields, interests

HEADER = ("Email", "Name", "Age", "Weight", "Born", "Visit", "Optin", "News", "Ball")
MAPPING = """\
database: 2
key: email
on_existing: {mode}
interests_on_update: {interests}
fields:
  email: {{column: Email, transform: [trim, lower]}}
  firstname: Name
  age: Age
  weight: Weight
  birthdate: {{column: Born, date_format: "%d-%m-%Y"}}
  lastvisit: Visit
  optin: {{column: Optin, fix_case: true}}
{more}"""
INTERESTS = """\
interests:
  newsletter: {column: News, truthy: [yes], falsy: [no, ""]}
  football: {column: Ball, truthy: [yes], falsy: [no, ""]}
"""


def mapping(tmp_path: Path, mode: str, interests: str = "add", with_interests: bool = False) -> Path:
    path = tmp_path / f"{mode}-{interests}-{with_interests}.yaml"
    path.write_text(MAPPING.format(mode=mode, interests=interests, more=INTERESTS if with_interests else ""))
    return path


def person(i: int, name: str = "Ann", weight: str = "70.5", news: str = "yes", ball: str = "") -> tuple[str, ...]:
    return (f"p{i}@example.com", f"{name}{i}", str(30 + i), weight, "25-12-1980", "2020-01-02 03:04", "yes",
            news, ball)


def write_csv(path: Path, rows: list[tuple[str, ...]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def client_for(sb: Sandbox, page_size: int | None = None) -> CopernicaClient:
    return CopernicaClient(sb.api_url, sb.token, pacer=Pacer(4), page_size=page_size,
                           retry=RetryPolicy(attempts=3, backoff=0.01, max_wait=0.1))


def run(sb: Sandbox, tmp_path: Path, mapping_path: Path, csv_path: Path, name: str = "out", page_size=None):
    results = tmp_path / f"{name}.results.csv"
    with client_for(sb, page_size) as client:
        summary = run_import(ImportOptions(file=csv_path, mapping=mapping_path, results=results, workers=4,
                                           overwrite=True), client)
    with open(results, encoding="utf-8-sig", newline="") as f:
        return summary, {int(line["row"]): line for line in csv.DictReader(f)}


def seed(sb: Sandbox, tmp_path: Path, rows: list[tuple[str, ...]], name: str = "seed") -> dict[str, int]:
    """Imports ``rows`` in create mode; their e-mail -> profile ID."""
    _, lines = run(sb, tmp_path, mapping(tmp_path, "create", with_interests=True),
                   write_csv(tmp_path / f"{name}.csv", rows), name)
    assert {line["status"] for line in lines.values()} == {"created"}
    return {line["Email"]: int(line["profile_id"]) for line in lines.values()}


def counted(sb: Sandbox, action):
    sb.reset_stats()
    out = action()
    return out, sb.stats()


# ---------------------------------------------------------------- the index itself

def test_the_index_finds_keys_as_copernica_compares_them_and_keeps_every_profile_of_a_key():
    index = KeyIndex(2)   # grows past what was expected
    for n in range(1000):
        index.add(f"person{n}@example.com", 100_000 + n, n)
    index.add("Émile@Example.com", 7, 1)
    index.add("twin@example.com", 8, 2)
    index.add("twin@example.com", 9, 3)
    index.add("twin@example.com", 9, 4)   # the same profile twice (pages overlap): kept once, newest digest
    assert len(index) == 1003
    assert index.find("person500@example.com") == [(100_500, 500)]
    assert index.find("  E\u0301MILE@example.COM ") == [(7, 1)]     # case, Unicode form and spaces ignored
    assert index.find("twin@example.com") == [(8, 2), (9, 4)]
    assert index.find("nobody@example.com") == []
    assert index.nbytes == 28 * index._size


def test_pages_overlap_by_one_profile():
    # up to the first page that is not full: it shows where the list ends
    assert [pages_needed(n, 1000) for n in (0, 1, 999, 1000, 1001, 1998, 1999, 2000)] == [1, 1, 1, 2, 2, 2, 3, 3]


def test_forms_compare_values_as_copernica_stores_them():
    forms = ValueForms([("age", "integer"), ("weight", "float"), ("born", "date"), ("name", "text")],
                       ["news"], replace=False)
    stored = forms.stored({"age": "7", "weight": "70.5", "born": "1980-12-25", "name": "Ann"}, ["news"])
    assert forms.sent({"age": "007", "weight": "70.50", "born": "1980-12-25", "name": "Ann"}, {"news": 1}) == stored
    assert forms.sent({"age": "7", "weight": "70.5", "born": "1980-12-25", "name": "ann"}, {"news": 1}) != stored
    assert forms.sent({"age": "7", "weight": "70.5", "born": "1980-12-25", "name": "Ann"}, {"news": 0}) != stored
    assert forms.sent({"age": "7abc", "weight": "70.5", "born": "1980-12-25", "name": "Ann"}, {"news": 1}) is None
    # a field the row leaves alone counts as empty: a stored value there costs a write, never a lost change
    empty = forms.stored({"age": "0", "weight": "0", "born": "0000-00-00", "name": ""}, [])
    assert forms.sent({}, {}) == empty


# ---------------------------------------------------------------- fewer requests

@pytest.mark.parametrize("mode, statuses, writes", [
    ("skip", {"skipped": 10, "created": 10}, {"posts": 10, "updated": 0}),
    ("update", {"updated": 10, "skipped": 10}, {"posts": 0, "updated": 10}),
    ("upsert", {"updated": 10, "created": 10}, {"posts": 10, "updated": 10}),
])
def test_a_file_large_relative_to_the_database_reads_its_keys_once_and_sends_only_the_writes(
        sandbox, tmp_path, mode, statuses, writes):
    existing = seed(sandbox, tmp_path, [person(i, name="Old") for i in range(10)])
    csv_path = write_csv(tmp_path / "in.csv", [person(i) for i in range(20)])
    (summary, lines), stats = counted(sandbox, lambda: run(sandbox, tmp_path, mapping(tmp_path, mode), csv_path))
    assert Counter(line["status"] for line in lines.values()) == statuses
    for i in range(10):
        assert lines[i + 2]["profile_id"] == str(existing[f"p{i}@example.com"])
    # the schema, the profile count and one page of keys; then only writes
    assert stats["requests"] == SCHEMA_CALLS + 2 + writes["posts"] + writes["updated"]
    assert (stats["posts"], stats["updated"]) == (writes["posts"], writes["updated"])
    assert len(sandbox.profiles(2)) == 10 + writes["posts"]
    if mode != "skip":
        assert {sandbox.profiles(2)[i]["fields"]["firstname"] for i in range(10)} == {f"Ann{i}" for i in range(10)}


def test_a_small_file_keeps_one_look_up_per_row(sandbox, tmp_path):
    seed(sandbox, tmp_path, [person(i, name="Old") for i in range(30)])
    csv_path = write_csv(tmp_path / "in.csv", [person(0), person(99)])   # 2 rows, 30 profiles: 1 page > 2 / 10
    (_, lines), stats = counted(sandbox, lambda: run(sandbox, tmp_path, mapping(tmp_path, "upsert"), csv_path))
    assert [lines[2]["status"], lines[3]["status"]] == ["updated", "created"]
    assert stats["requests"] == SCHEMA_CALLS + 1 + 2 + 2   # count, a look-up per row, a write per row


def test_an_empty_database_needs_no_look_ups_at_all(sandbox, tmp_path):
    csv_path = write_csv(tmp_path / "in.csv", [person(i) for i in range(5)])
    (_, lines), stats = counted(sandbox, lambda: run(sandbox, tmp_path, mapping(tmp_path, "upsert"), csv_path))
    assert {line["status"] for line in lines.values()} == {"created"}
    assert stats["requests"] == SCHEMA_CALLS + 1 + 5   # the count said 0: only the writes


def test_many_pages_are_read_in_order_and_chained(sandbox, tmp_path):
    existing = seed(sandbox, tmp_path, [person(i, name="Old") for i in range(25)])
    csv_path = write_csv(tmp_path / "in.csv", [person(i) for i in range(25)] +
                         [person(i) for i in range(100, 200)])
    (_, lines), stats = counted(sandbox, lambda: run(sandbox, tmp_path, mapping(tmp_path, "skip"), csv_path,
                                                     page_size=4))
    assert Counter(line["status"] for line in lines.values()) == {"skipped": 25, "created": 100}
    assert {int(lines[i + 2]["profile_id"]) for i in range(25)} == set(existing.values())
    pages = pages_needed(25, 4)   # 9 pages of 4 overlapping by one (25 = 4 + 7 * 3, and one to see the end)
    assert pages == 9
    assert stats["requests"] == SCHEMA_CALLS + 1 + pages + 100


def test_a_database_that_loses_profiles_while_it_is_read_falls_back_to_look_ups(sandbox, tmp_path):
    existing = seed(sandbox, tmp_path, [person(i) for i in range(12)])
    # the lowest ID is on page 1 whatever order the seeding threads created the profiles in
    first = min(existing, key=existing.get)

    class Removing(CopernicaClient):
        """Another tool removes a profile of page 1 while page 2 is on its way."""
        removed = False

        def profiles_page(self, database_id, start, limit=None):
            if start and not self.removed:
                type(self).removed = True
                self.delete_profile(existing[first])
            return super().profiles_page(database_id, start, limit)

    with Removing(sandbox.api_url, TOKEN, page_size=5) as client:
        assert read_key_index(client, 2, ["email"], None, 12, in_flight=1) is None
        index = read_key_index(client, 2, ["email"], None, 11, in_flight=3)
    assert index is not None and len(index) == 11 and index.find(first) == []


# ---------------------------------------------------------------- unchanged rows cost nothing

def test_importing_the_same_file_again_writes_nothing(sandbox, tmp_path):
    rows = [person(i, news="yes" if i % 2 else "no", ball="yes" if i % 3 else "") for i in range(20)]
    seed(sandbox, tmp_path, rows)
    before = sandbox.profiles(2)
    again = write_csv(tmp_path / "again.csv", [(*r[:2], f"0{r[2]}", f"{r[3]}0", *r[4:]) for r in rows])  # 030, 70.50
    m = mapping(tmp_path, "upsert", with_interests=True)
    (summary, lines), stats = counted(sandbox, lambda: run(sandbox, tmp_path, m, again))
    assert Counter((line["status"], line["code"]) for line in lines.values()) == {("skipped", "unchanged"): 20}
    assert "unchanged" in lines[2]["error"] and lines[2]["profile_id"]
    assert stats["requests"] == SCHEMA_CALLS + 2 and stats["updated"] == 0
    assert sandbox.profiles(2) == before   # not even `modified` moved
    assert summary.exit_code == 0 and "unchanged" in summary.format_text()


def test_only_the_changed_rows_are_written(sandbox, tmp_path):
    rows = [person(i) for i in range(20)]
    ids = seed(sandbox, tmp_path, rows)
    changed = list(rows)
    changed[3] = person(3, weight="71")                  # a number
    changed[5] = person(5, name="Bob")                    # a text
    changed[7] = (*rows[7][:4], "26-12-1980", *rows[7][5:])  # a date
    changed[9] = person(9, news="no")                     # an interest
    (_, lines), stats = counted(sandbox, lambda: run(sandbox, tmp_path, mapping(tmp_path, "update",
                                                                                with_interests=True),
                                                     write_csv(tmp_path / "changed.csv", changed)))
    updated = sorted(n - 2 for n, line in lines.items() if line["status"] == "updated")
    assert updated == [3, 5, 7, 9]
    assert stats["requests"] == SCHEMA_CALLS + 2 + 4
    stored = {p["ID"]: p for p in sandbox.profiles(2)}
    assert stored[ids["p3@example.com"]]["fields"]["weight"] == "71"
    assert stored[ids["p7@example.com"]]["fields"]["birthdate"] == "1980-12-26"
    assert "newsletter" not in stored[ids["p9@example.com"]]["interests"]


def test_an_unchanged_row_found_by_its_own_look_up_is_not_written_either(sandbox, tmp_path):
    seed(sandbox, tmp_path, [person(i) for i in range(30)])
    csv_path = write_csv(tmp_path / "in.csv", [person(4)])
    (_, lines), stats = counted(sandbox, lambda: run(sandbox, tmp_path, mapping(tmp_path, "upsert"), csv_path))
    assert (lines[2]["status"], lines[2]["code"]) == ("skipped", "unchanged")
    assert stats["requests"] == SCHEMA_CALLS + 1 + 1   # the count and the row's look-up


def test_replace_sees_an_interest_the_file_does_not_map(sandbox, tmp_path):
    seed(sandbox, tmp_path, [person(i) for i in range(10)])
    with client_for(sandbox) as client:
        pid = client.find_profiles(2, {"email": "p1@example.com"})[0]["ID"]
        client.update_interests(pid, {"baseball": 1})
    m = mapping(tmp_path, "update", interests="replace", with_interests=True)
    _, lines = run(sandbox, tmp_path, m, write_csv(tmp_path / "in.csv", [person(i) for i in range(10)]))
    assert [n - 2 for n, line in lines.items() if line["status"] == "updated"] == [1]
    assert next(p for p in sandbox.profiles(2) if p["ID"] == pid)["interests"] == ["newsletter"]


# ---------------------------------------------------------------- fields and interests in one request

def test_the_sandbox_put_profile_switches_the_named_interests_and_keeps_the_others(sandbox):
    with client_for(sandbox) as client:
        pid = client.create_profile(2, {"email": "a@example.com"}, {"baseball": 1, "tennis": 1}).profile_id
    answer = requests.put(f"{sandbox.api_url}/profile/{pid}", params={"access_token": TOKEN}, allow_redirects=False,
                          json={"fields": {"firstname": "A"}, "interests": {"football": 1, "tennis": 0}})
    assert answer.status_code == 303
    profile = next(p for p in sandbox.profiles(2) if p["ID"] == pid)
    assert profile["fields"]["firstname"] == "A" and profile["interests"] == ["football", "baseball"]


@pytest.mark.parametrize("interests, expected", [
    ("add", {"baseball", "tennis", "newsletter", "football"}),
    ("replace", {"newsletter", "football"}),
])
def test_an_update_with_interests_is_one_request(sandbox, tmp_path, interests, expected):
    with client_for(sandbox) as client:
        pid = client.create_profile(2, {"email": "p1@example.com"}, {"baseball": 1, "tennis": 1}).profile_id
    csv_path = write_csv(tmp_path / "in.csv", [person(1, ball="yes")])
    (_, lines), stats = counted(sandbox, lambda: run(sandbox, tmp_path, mapping(tmp_path, "update", interests,
                                                                                with_interests=True), csv_path))
    assert lines[2]["status"] == "updated"
    assert stats["by_status"]["303"] == 1 and stats["requests"] == SCHEMA_CALLS + 1 + 1 + 1
    assert set(next(p for p in sandbox.profiles(2) if p["ID"] == pid)["interests"]) == expected


def test_replace_against_a_schema_file_keeps_two_requests(sandbox, tmp_path):
    from tests.helpers import SAMPLE_SCHEMA
    with client_for(sandbox) as client:
        pid = client.create_profile(2, {"email": "p1@example.com"}, {"baseball": 1}).profile_id
    results = tmp_path / "r.csv"
    sandbox.reset_stats()
    done = cli("run", str(write_csv(tmp_path / "in.csv", [person(1, ball="yes")])), "--mapping",
               str(mapping(tmp_path, "update", "replace", with_interests=True)), "--schema", str(SAMPLE_SCHEMA),
               "--api-url", sandbox.api_url, "--results", str(results), "--quiet")
    assert done.returncode == 0, done.stderr
    assert sandbox.stats()["by_status"]["303"] == 2   # the fields, then the whole set of interests
    assert set(next(p for p in sandbox.profiles(2) if p["ID"] == pid)["interests"]) == {"newsletter", "football"}


# ---------------------------------------------------------------- what the index cannot see

def test_a_profile_removed_after_the_keys_were_read_fails_its_row_and_says_why(sandbox, tmp_path):
    ids = seed(sandbox, tmp_path, [person(i, name="Old") for i in range(10)])

    class RemovingAfterRead(CopernicaClient):
        def put_profile(self, profile_id, fields, interests=None):
            if profile_id == ids["p2@example.com"]:
                self.delete_profile(profile_id)
            return super().put_profile(profile_id, fields, interests)

    results = tmp_path / "r.csv"
    with RemovingAfterRead(sandbox.api_url, TOKEN, pacer=Pacer(4)) as client:
        summary = run_import(ImportOptions(file=write_csv(tmp_path / "in.csv", [person(i) for i in range(20)]),
                                           mapping=mapping(tmp_path, "update"), results=results), client)
    with open(results, encoding="utf-8-sig", newline="") as f:
        line = next(r for r in csv.DictReader(f) if r["Email"] == "p2@example.com")
    assert line["status"] == "failed" and line["code"] == "refused" and summary.exit_code == 1


def test_lost_answers_are_still_looked_up_one_by_one_and_nobody_is_created_twice(tmp_path):
    from tests.helpers import SAMPLE_SCHEMA
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(drop_after_store=0.3, seed=5)) as sb:
        sb.set_faults(drop_after_store=0.0)
        seed(sb, tmp_path, [person(i, name="Old") for i in range(20)])
        sb.set_faults(drop_after_store=0.3)
        _, lines = run(sb, tmp_path, mapping(tmp_path, "upsert"),
                       write_csv(tmp_path / "in.csv", [person(i) for i in range(60)]))
        assert sb.stats()["dropped_after_store"] > 0
        emails = Counter(p["fields"]["email"] for p in sb.profiles(2))
    assert set(emails.values()) == {1} and len(emails) == 60
    statuses = Counter((line["status"], line["code"]) for line in lines.values())
    assert statuses[("created", "")] + statuses[("created", "recovered")] == 40
    # an update whose every answer was lost says so (importing it again is safe)
    assert statuses[("updated", "")] + statuses[("failed", "answer_lost")] == 20


# ---------------------------------------------------------------- duplicates: last, read cheaply

def test_duplicates_last_keeps_the_last_valid_row_of_each_key(tmp_path):
    """The first pass reads only keys, and whole rows only for a key's later rows:
    the winners are the last valid rows, as before."""
    from importer.runner import check_file
    from tests.helpers import SAMPLE_SCHEMA
    rows = [person(1, name="First"), person(1, name="Second"), (*person(1)[:2], "old", *person(1)[3:]),  # invalid age
            (*person(2)[:2], "old", *person(2)[3:]), person(2, name="Valid"),                              # invalid first
            person(3), (*person(3)[:4], "31-02-1980", *person(3)[5:]),                                     # invalid last
            person(4)]
    m = tmp_path / "last.yaml"
    m.write_text(MAPPING.format(mode="create", interests="add", more="").replace("key: email", "key: email\nduplicates: last"))
    report = tmp_path / "report.csv"
    check_file(ImportOptions(file=write_csv(tmp_path / "in.csv", rows), mapping=m, schema=SAMPLE_SCHEMA), report=report)
    with open(report, encoding="utf-8-sig", newline="") as f:
        got = [(line["status"], line["error"]) for line in csv.DictReader(f)]
    assert got == [("skipped", "duplicate of row 3 (the later row is imported)"), ("valid", ""),
                   ("invalid", got[2][1]), ("invalid", got[3][1]), ("valid", ""),
                   ("valid", ""), ("invalid", got[6][1]), ("valid", "")]
