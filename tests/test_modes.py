"""Existing profiles: create / skip / update / upsert by key, against the sandbox over real HTTP."""
from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from importer.client import CopernicaClient
from importer.pacing import Pacer
from importer.retry import RetryPolicy
from importer.runner import ImportOptions, run_import
from importer.sandbox import Sandbox
from tests.helpers import TOKEN, cli, read_results, write_csv

HEADER = ("Email", "First name", "Last name", "Zip", "Age", "Newsletter", "Football")
MAPPING = """\
database: 2
key: {key}
on_existing: {mode}
interests_on_update: {interests_on_update}
fields:
  email: {{column: Email, transform: [trim, lower]}}
  firstname: {{column: First name{blank_first}}}
  lastname: Last name
  zipcode: Zip
  age: Age
interests:
  newsletter: {{column: Newsletter{blank_news}}}
  football: {{column: Football}}
"""


def write_mapping(tmp_path: Path, mode: str = "create", key: str = "email", interests_on_update: str = "add",
                  blank_existing: bool = False) -> Path:
    blank = ", blank_existing: true" if blank_existing else ""
    path = tmp_path / f"{mode}.yaml"
    path.write_text(MAPPING.format(mode=mode, key=key, interests_on_update=interests_on_update,
                                   blank_first=blank, blank_news=blank))
    return path


def write_people(path: Path, rows: list[tuple[str, ...]]) -> Path:
    return write_csv(path, rows, header=HEADER)


def person(i: int, first: str = "New", newsletter: str = "yes", football: str = "") -> tuple[str, ...]:
    return (f"person{i}@example.com", f"{first}{i}", f"Last{i}", f"{1000 + i}AB", str(30 + i), newsletter, football)


def client_for(sb: Sandbox) -> CopernicaClient:
    return CopernicaClient(sb.api_url, sb.token, pacer=Pacer(4),
                           retry=RetryPolicy(attempts=3, backoff=0.01, max_wait=0.1))


def run(sb: Sandbox, tmp_path: Path, mapping: Path, csv_path: Path, name: str = "out"):
    results = tmp_path / f"{name}.csv"
    with client_for(sb) as client:
        summary = run_import(ImportOptions(file=csv_path, mapping=mapping, results=results, workers=4), client)
    return summary, {int(line["row"]): line for line in read_results(results)}


def seed(sb: Sandbox, fields: dict[str, str], interests: dict[str, int] | None = None, db: int = 2) -> int:
    with client_for(sb) as client:
        return client.create_profile(db, fields, interests).profile_id


def by_id(sb: Sandbox, db: int = 2) -> dict[int, dict]:
    return {p["ID"]: p for p in sb.profiles(db)}


def on(profile: dict) -> set[str]:
    """The interests switched on, whatever shape the API gives them in."""
    interests = profile["interests"]
    if isinstance(interests, dict):
        return {name for name, value in interests.items() if int(value)}
    return set(interests)


@pytest.fixture
def half_existing(sandbox: Sandbox, tmp_path: Path):
    """Ten people in a file; the first five are in the database already, with an
    old first name, a value the file does not map, and an interest it does not map."""
    existing = {i: seed(sandbox, {"email": f"person{i}@example.com", "firstname": f"Old{i}", "lastname": f"Last{i}",
                                  "weight": "70.5"}, {"baseball": 1}) for i in range(5)}
    csv_path = write_people(tmp_path / "people.csv", [person(i) for i in range(10)])
    return existing, csv_path


# ---------------------------------------------------------------- the four modes

def test_create_always_posts_even_when_the_key_exists(sandbox, tmp_path, half_existing):
    existing, csv_path = half_existing
    summary, lines = run(sandbox, tmp_path, write_mapping(tmp_path, "create"), csv_path)
    assert Counter(line["status"] for line in lines.values()) == {"created": 10}
    emails = Counter(p["fields"]["email"] for p in sandbox.profiles(2))
    assert emails["person0@example.com"] == 2 and emails["person9@example.com"] == 1
    assert summary.exit_code == 0


def test_skip_leaves_existing_profiles_alone_and_creates_the_others(sandbox, tmp_path, half_existing):
    existing, csv_path = half_existing
    before = by_id(sandbox)
    summary, lines = run(sandbox, tmp_path, write_mapping(tmp_path, "skip"), csv_path)
    for i in range(5):
        line = lines[i + 2]
        assert (line["status"], line["profile_id"], line["error"]) == ("skipped", str(existing[i]), "exists")
    created = [lines[i + 2] for i in range(5, 10)]
    assert all(line["status"] == "created" for line in created)
    after = by_id(sandbox)
    assert {pid: after[pid] for pid in before} == before  # not one byte changed, not even `modified`
    assert len(after) == 10
    assert summary.counts["skipped"] == 5 and summary.counts["created"] == 5 and summary.exit_code == 0


def test_update_changes_only_mapped_values_and_skips_people_not_found(sandbox, tmp_path, half_existing):
    existing, csv_path = half_existing
    summary, lines = run(sandbox, tmp_path, write_mapping(tmp_path, "update"), csv_path)
    for i in range(5):
        assert (lines[i + 2]["status"], lines[i + 2]["profile_id"]) == ("updated", str(existing[i]))
    for i in range(5, 10):
        assert (lines[i + 2]["status"], lines[i + 2]["profile_id"], lines[i + 2]["error"]) == \
            ("skipped", "", "not found")
    profiles = by_id(sandbox)
    assert set(profiles) == set(existing.values())  # nobody created
    for i, pid in existing.items():
        fields = profiles[pid]["fields"]
        assert (fields["firstname"], fields["age"], fields["zipcode"]) == (f"New{i}", str(30 + i), f"{1000 + i}AB")
        assert fields["weight"] == "70.5"  # not mapped: left alone
        assert on(profiles[pid]) == {"baseball", "newsletter"}  # mapped interests added, others kept
    text = summary.format_text()
    assert "updated" in text and "skipped" in text
    assert summary.counts["updated"] == 5 and summary.counts["skipped"] == 5 and summary.exit_code == 0


def test_upsert_updates_who_exists_and_creates_who_does_not(sandbox, tmp_path, half_existing):
    existing, csv_path = half_existing
    sandbox.reset_stats()
    summary, lines = run(sandbox, tmp_path, write_mapping(tmp_path, "upsert"), csv_path)
    statuses = Counter(line["status"] for line in lines.values())
    assert statuses == {"updated": 5, "created": 5}
    profiles = by_id(sandbox)
    assert len(profiles) == 10
    for line in lines.values():
        assert profiles[int(line["profile_id"])]["fields"]["email"] == line["Email"]
    # 303 See Other on every PUT of an update (one PUT /profile/{id} with fields and
    # interests), never followed by a GET: GETs are the 3 schema calls, the profile
    # count and one page of the database's keys (10 rows, 5 profiles: read at once)
    stats = sandbox.stats()
    assert stats["by_status"] == {"200": 3 + 2, "303": 5, "201": 5}
    assert stats["requests"] == 3 + 2 + 5 + 5
    assert summary.format_text().count("updated") == 1


@pytest.mark.parametrize("mode", ["skip", "upsert"])
def test_running_the_same_file_twice_creates_nobody_twice(sandbox, tmp_path, half_existing, mode):
    _, csv_path = half_existing
    mapping = write_mapping(tmp_path, mode)
    _, first = run(sandbox, tmp_path, mapping, csv_path, "first")
    _, second = run(sandbox, tmp_path, mapping, csv_path, "second")
    emails = Counter(p["fields"]["email"] for p in sandbox.profiles(2))
    assert set(emails.values()) == {1} and len(emails) == 10
    # skip: they exist; upsert: they hold what the file says already (unchanged, nothing sent)
    assert Counter((line["status"], line["code"]) for line in second.values()) == \
        {("skipped", "exists" if mode == "skip" else "unchanged"): 10}
    # the second run names the same profile as the first for every row
    assert {r: line["profile_id"] for r, line in first.items()} == \
        {r: line["profile_id"] for r, line in second.items()}


# ---------------------------------------------------------------- keys

def test_a_composite_key_matches_on_every_part(sandbox, tmp_path):
    jan_amsterdam = seed(sandbox, {"firstname": "Jan", "lastname": "Jansen", "zipcode": "1234AB", "age": "40"})
    jan_utrecht = seed(sandbox, {"firstname": "Jan", "lastname": "Jansen", "zipcode": "3511XX", "age": "50"})
    csv_path = write_people(tmp_path / "people.csv", [
        ("", "Jan", "Jansen", "1234AB", "41", "", ""),     # Jan in Amsterdam: updated
        ("", "Jan", "Jansen", "9999ZZ", "42", "", ""),     # another Jan Jansen: created
        ("", "Piet", "Jansen", "1234AB", "43", "", ""),    # same address, other person: created
    ])
    mapping = write_mapping(tmp_path, "upsert", key="[firstname, lastname, zipcode]")
    _, lines = run(sandbox, tmp_path, mapping, csv_path)
    assert (lines[2]["status"], lines[2]["profile_id"]) == ("updated", str(jan_amsterdam))
    assert lines[3]["status"] == lines[4]["status"] == "created"
    assert lines[2]["key"] == "Jan | Jansen | 1234AB"
    profiles = by_id(sandbox)
    assert profiles[jan_amsterdam]["fields"]["age"] == "41"
    assert profiles[jan_utrecht]["fields"]["age"] == "50"
    assert len(profiles) == 4


@pytest.mark.parametrize("mode, status", [("update", "failed"), ("upsert", "failed"), ("skip", "skipped")])
def test_several_profiles_with_one_key_are_not_touched(sandbox, tmp_path, mode, status):
    twins = [seed(sandbox, {"email": "twin@example.com", "firstname": "Old"}) for _ in range(2)]
    csv_path = write_people(tmp_path / "people.csv", [("twin@example.com", "New", "", "", "", "yes", "")])
    before = by_id(sandbox)
    summary, lines = run(sandbox, tmp_path, write_mapping(tmp_path, mode), csv_path)
    line = lines[2]
    assert line["status"] == status and line["profile_id"] == ""
    assert "2 profiles match key: 'twin@example.com'" in line["error"]
    assert f"{twins[0]}, {twins[1]}" in line["error"]
    assert by_id(sandbox) == before
    # update/upsert did not do what the row asked: the exit code says so; skip did
    assert summary.exit_code == (1 if status == "failed" else 0)


# ---------------------------------------------------------------- interests and empty cells

@pytest.mark.parametrize("interests_on_update, expected", [
    ("add", {"baseball", "tennis", "newsletter", "football"}),
    ("replace", {"newsletter", "football"}),
])
def test_interests_are_added_or_replaced_on_update(sandbox, tmp_path, interests_on_update, expected):
    pid = seed(sandbox, {"email": "fan@example.com"}, {"baseball": 1, "tennis": 1})
    csv_path = write_people(tmp_path / "people.csv", [("fan@example.com", "Fan", "", "", "", "yes", "yes")])
    _, lines = run(sandbox, tmp_path, write_mapping(tmp_path, "update", interests_on_update=interests_on_update),
                   csv_path)
    assert lines[2]["status"] == "updated"
    assert on(by_id(sandbox)[pid]) == expected


def test_an_interest_marked_no_is_switched_off_on_update(sandbox, tmp_path):
    pid = seed(sandbox, {"email": "fan@example.com"}, {"newsletter": 1, "football": 1})
    csv_path = write_people(tmp_path / "people.csv", [("fan@example.com", "", "", "", "", "no", "yes")])
    run(sandbox, tmp_path, write_mapping(tmp_path, "update"), csv_path)
    assert on(by_id(sandbox)[pid]) == {"football"}


def test_empty_cells_do_not_blank_existing_values_or_switch_interests_off(sandbox, tmp_path):
    pid = seed(sandbox, {"email": "kept@example.com", "firstname": "Kept", "age": "40"}, {"newsletter": 1})
    csv_path = write_people(tmp_path / "people.csv", [("kept@example.com", "", "", "", "", "", "")])
    _, lines = run(sandbox, tmp_path, write_mapping(tmp_path, "update"), csv_path)
    assert lines[2]["status"] == "updated"
    profile = by_id(sandbox)[pid]
    assert (profile["fields"]["firstname"], profile["fields"]["age"]) == ("Kept", "40")
    assert on(profile) == {"newsletter"}


def test_blank_existing_lets_an_empty_cell_blank_the_value_and_switch_the_interest_off(sandbox, tmp_path):
    pid = seed(sandbox, {"email": "blank@example.com", "firstname": "Gone", "age": "40"}, {"newsletter": 1})
    csv_path = write_people(tmp_path / "people.csv", [("blank@example.com", "", "", "", "", "", "")])
    run(sandbox, tmp_path, write_mapping(tmp_path, "update", blank_existing=True), csv_path)
    profile = by_id(sandbox)[pid]
    assert profile["fields"]["firstname"] == ""       # marked blank_existing
    assert profile["fields"]["age"] == "40"           # not marked: kept
    assert on(profile) == set()


def test_a_create_leaves_empty_cells_out_and_empty_interests_off(sandbox, tmp_path):
    csv_path = write_people(tmp_path / "people.csv", [("new@example.com", "", "", "", "", "", "")])
    _, lines = run(sandbox, tmp_path, write_mapping(tmp_path, "upsert", blank_existing=True), csv_path)
    profile = by_id(sandbox)[int(lines[2]["profile_id"])]
    assert lines[2]["status"] == "created"
    assert profile["fields"]["firstname"] == "" and on(profile) == set()


# ---------------------------------------------------------------- the HTTP side of an update

def test_an_update_answered_303_counts_as_success_and_the_redirect_is_not_followed(sandbox):
    pid = seed(sandbox, {"email": "a@example.com"})
    sandbox.reset_stats()
    with client_for(sandbox) as client:
        attempts = client.update_profile(pid, {"firstname": "A"}, {"newsletter": 1})
    stats = sandbox.stats()
    assert attempts == 2
    assert stats["requests"] == 2 and stats["by_status"] == {"303": 2}


class _NoContent(BaseHTTPRequestHandler):
    """A bare API that answers every write with a fixed status (204 or 200)."""
    status = 204
    seen: list[tuple[str, str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        json.loads(self.rfile.read(length) or b"null")
        type(self).seen.append((self.command, self.path.split("?")[0]))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("status", [200, 204])
def test_an_update_answered_2xx_counts_as_success(status):
    _NoContent.status, _NoContent.seen = status, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoContent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with CopernicaClient(f"http://127.0.0.1:{server.server_port}/v3", TOKEN, pacer=Pacer(1),
                             retry=RetryPolicy(attempts=1)) as client:
            assert client.update_profile(7, {"firstname": "A"}, {"football": 1}, replace_interests=True) == 2
    finally:
        server.shutdown()
        server.server_close()
    assert _NoContent.seen == [("PUT", "/v3/profile/7/fields"), ("PUT", "/v3/profile/7/interests")]


# ---------------------------------------------------------------- command line

def test_on_existing_flag_overrides_the_mapping(sandbox, tmp_path, half_existing):
    existing, csv_path = half_existing
    results = tmp_path / "cli.csv"
    done = cli("run", str(csv_path), "--mapping", str(write_mapping(tmp_path, "create")), "--on-existing", "update",
               "--api-url", sandbox.api_url, "--results", str(results), "--quiet", "--workers", "4")
    assert done.returncode == 0, done.stderr
    assert Counter(line["status"] for line in read_results(results)) == {"updated": 5, "skipped": 5}
    assert "updated" in done.stdout and "not found" in done.stdout
    assert TOKEN not in done.stdout + done.stderr + results.read_text()


# ---------------------------------------------------------------- resumed rows

@pytest.mark.parametrize("mode, status", [("update", "updated"), ("upsert", "updated"), ("skip", "skipped")])
def test_a_row_in_flight_at_a_crash_is_never_called_created_outside_create_mode(sandbox, mode, status):
    """A profile found after a crash may have existed before the run: calling it
    `created` would let a rollback delete it."""
    from importer.models import Profile
    from importer.sender import ProfileSender

    pid = seed(sandbox, {"email": "old@example.com", "firstname": "Same"})
    profile = Profile(2, "old@example.com", {"email": "old@example.com", "firstname": "Same"}, {})
    with client_for(sandbox) as client:
        outcome = ProfileSender(client, 2, mode, ("email",)).send(profile, was_in_flight=True)
    assert (outcome.status.value, outcome.profile_id) == (status, pid)
    assert len(sandbox.profiles(2)) == 1
