"""The command line's settings: the environment, the token, and the address
of the API, each refused with a sentence (exit 2) before anything is sent."""
from __future__ import annotations

from tests.helpers import PEOPLE_MAPPING, cli, people, write_csv, write_mapping

MAPPING = PEOPLE_MAPPING


def test_a_bad_number_in_the_environment_is_named(tmp_path):
    (tmp_path / "m.yaml").write_text(MAPPING)
    write_csv(tmp_path / "a.csv", people(1))
    done = cli("run", "a.csv", "--mapping", "m.yaml", env={"COPERNICA_WORKERS": "lots"}, cwd=tmp_path)
    assert done.returncode == 2 and "COPERNICA_WORKERS must be a number, not 'lots'" in done.stderr


def test_cli_no_token_message_offers_the_sandbox_only_where_there_is_one(tmp_path):
    (tmp_path / "r.csv").write_text("row,status,profile_id,error,attempts,key\n2,created,7,,1,a@x.nl\n")
    done = cli("rollback", "r.csv", "--yes", cwd=tmp_path, env={"COPERNICA_ACCESS_TOKEN": ""})
    assert done.returncode == 2 and "no access token" in done.stderr and "--sandbox" not in done.stderr
    src = write_csv(tmp_path / "in.csv", [["a@example.com"]], header=("Email",))
    m = write_mapping(tmp_path / "m.yaml", "database: 2\nfields:\n  email: Email\n")
    done = cli("run", str(src), "--mapping", str(m), cwd=tmp_path, env={"COPERNICA_ACCESS_TOKEN": ""})
    assert done.returncode == 2 and "--sandbox" in done.stderr


def test_cli_api_url_without_a_version_is_explained_before_any_request(tmp_path):
    src = write_csv(tmp_path / "in.csv", [["a@example.com"]], header=("Email",))
    m = write_mapping(tmp_path / "m.yaml", "database: 2\nfields:\n  email: Email\n")
    done = cli("check", str(src), "--mapping", str(m), "--api-url", "http://127.0.0.1:9", cwd=tmp_path)
    assert done.returncode == 2 and "does not end in a version" in done.stderr
    done = cli("check", str(src), "--mapping", str(m), "--api-url", "http://127.0.0.1:9/v3", "--api-version", "4",
               cwd=tmp_path)
    assert done.returncode == 2 and "does not fit --api-version 4" in done.stderr


def test_cli_an_unreachable_api_names_the_host_and_database(tmp_path):
    src = write_csv(tmp_path / "in.csv", [["a@example.com"]], header=("Email",))
    m = write_mapping(tmp_path / "m.yaml", "database: 2\nfields:\n  email: Email\n")
    # nothing listens on port 9; two tries keep the test quick (check retries six times)
    done = cli("run", str(src), "--mapping", str(m), "--api-url", "http://127.0.0.1:9/v3", "--retries", "2",
               cwd=tmp_path)
    assert done.returncode == 75, done.stderr  # temporary (issue 15): nothing sent, try again later
    assert "could not read the structure of database 2 at 127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "in.results.csv").exists()
