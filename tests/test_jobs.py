"""The jobs file (issue 15, point 1): named jobs in copernica-import.toml, `run
--job NAME`, `run --all-jobs` (exit = the highest job's), one documented order
of settings (command line > environment > jobs file > mapping > defaults) and
`copernica-import config`, which shows each setting's source and never the
token."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from importer.errors import UsageError
from importer.jobs_file import load_jobs_file
from importer.settings import resolve
from tests.helpers import PEOPLE_MAPPING, SAMPLE_SCHEMA, TOKEN, cli, people, read_results, write_csv

JOBS = """\
# the nightly imports of this folder
[defaults]
workers = 4
yes = true
settle_seconds = 0
schema = "{schema}"

[jobs.leads]
input = "drops/leads/*.csv"
mapping = "leads.yaml"
workers = 8
archive_dir = "archive/{{job}}"

[jobs.orders]
input = ["drops/orders/*.csv"]
mapping = "orders.yaml"
on_existing = "upsert"
max_runtime = "2h"
"""


@pytest.fixture
def site(tmp_path) -> Path:
    """/srv/import as the README sets it up: a jobs file, two mappings, two drop folders."""
    root = tmp_path / "srv"
    (root / "drops" / "leads").mkdir(parents=True)
    (root / "drops" / "orders").mkdir(parents=True)
    (root / "leads.yaml").write_text(PEOPLE_MAPPING)
    (root / "orders.yaml").write_text(PEOPLE_MAPPING.replace("key: email", "key: email\non_existing: skip"))
    (root / "copernica-import.toml").write_text(JOBS.format(schema=SAMPLE_SCHEMA))
    return root


def jobs_file(site: Path):
    return load_jobs_file(site / "copernica-import.toml")


# -- the order of settings --------------------------------------------------------------------
def test_each_setting_comes_from_the_first_of_command_line_environment_jobs_file_mapping_default(site):
    file = jobs_file(site)
    plain = resolve({}, {}, jobs_file=file, job="leads", read_mapping=True)
    assert (plain.workers, plain.sources["workers"]) == (8, "jobs file copernica-import.toml [jobs.leads]")
    assert plain.yes is True and plain.sources["yes"] == "jobs file copernica-import.toml [defaults]"
    assert (plain.database, plain.sources["database"]) == (2, "mapping leads.yaml")
    assert (plain.retries, plain.sources["retries"]) == (6, "default")
    # paths of the jobs file are relative to its folder; {job} is the job's name
    assert plain.mapping == str(site / "leads.yaml") and plain.archive_dir == str(site / "archive" / "leads")
    assert plain.input == [str(site / "drops" / "leads" / "*.csv")]
    assert plain.results_dir == str(site / "results" / "leads") and plain.sources["results_dir"] == "default for jobs"

    env = resolve({}, {"COPERNICA_WORKERS": "12", "COPERNICA_DATABASE": "7"}, jobs_file=file, job="leads",
                  read_mapping=True)
    assert (env.workers, env.sources["workers"]) == (12, "environment ($COPERNICA_WORKERS)")
    assert (env.database, env.sources["database"]) == (7, "environment ($COPERNICA_DATABASE)")

    typed = resolve({"workers": 16, "database": 9}, {"COPERNICA_WORKERS": "12"}, jobs_file=file, job="leads")
    assert (typed.workers, typed.sources["workers"]) == (16, "command line (--workers)")
    assert typed.database == 9

    # the mapping's on_existing, unless the jobs file says otherwise
    orders = resolve({}, {}, jobs_file=file, job="orders", read_mapping=True)
    assert (orders.on_existing, orders.sources["on_existing"]) == ("upsert", "jobs file copernica-import.toml [jobs.orders]")
    leads = resolve({}, {}, jobs_file=file, job="leads", read_mapping=True)
    assert (leads.on_existing, leads.sources["on_existing"]) == ("create", "default")
    assert orders.max_runtime == 7200


def test_the_token_comes_from_the_command_lines_file_then_the_environment_then_the_jobs_file(site):
    (site / "token").write_text("x" * 20)
    text = (site / "copernica-import.toml").read_text().replace("[defaults]\n", '[defaults]\ntoken_file = "token"\n')
    (site / "copernica-import.toml").write_text(text)
    file = jobs_file(site)
    from_file = resolve({}, {}, jobs_file=file, job="leads")
    assert from_file.token.startswith(f"set from the token file {site / 'token'}") and from_file.token_file
    from_env = resolve({}, {"COPERNICA_ACCESS_TOKEN": TOKEN}, jobs_file=file, job="leads")
    assert from_env.token == "set from $COPERNICA_ACCESS_TOKEN (environment)" and from_env.token_file is None
    typed = resolve({"token_file": str(site / "token")}, {"COPERNICA_ACCESS_TOKEN": TOKEN}, jobs_file=file, job="leads")
    assert typed.token_file == str(site / "token") and "command line (--token-file)" in typed.token


def test_config_prints_every_jobs_settings_with_their_sources_and_never_the_token(site):
    env = {"COPERNICA_WORKERS": "12"}
    done = cli("config", cwd=site, env=env)
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert "job leads" in done.stdout and "job orders" in done.stdout
    lines = {tuple(line.split()[:1]): line for line in done.stdout.splitlines() if line.startswith("  workers")}
    assert lines and all("environment ($COPERNICA_WORKERS)" in line for line in lines.values())
    assert "set from $COPERNICA_ACCESS_TOKEN (environment)" in done.stdout
    one = cli("config", "--job", "orders", "--json", "--max-errors", "5", cwd=site)
    assert one.returncode == 0, one.stderr
    (job,) = json.loads(one.stdout)["jobs"]
    settings = job["settings"]
    assert settings["max_errors"] == {"value": 5, "source": "command line (--max-errors)"}
    assert settings["database"] == {"value": 2, "source": "mapping orders.yaml"}
    assert settings["on_existing"]["value"] == "upsert" and settings["token"]["value"] is None
    assert TOKEN not in one.stdout


# -- mistakes in the jobs file ----------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("[jobs.a]\ninput = 'x.csv'\nmaping = 'm.yaml'\n", "[jobs.a] maping: unknown setting (did you mean 'mapping'?)"),
    ("[jobs.a]\ninput = 'x.csv'\ntoken = 'abc'\n", "the access token does not belong in the jobs file"),
    ("[jobs.a]\ninput = 'x.csv'\nworkers = 'many'\n", "[jobs.a] workers: must be a whole number"),
    ("[jobs.a]\ninput = 'x.csv'\nmax_runtime = 'soon'\n", "max_runtime: must be a duration"),
    ("[jobs.a]\ninput = 'x.csv'\non_existing = 'merge'\n", "must be one of create, skip, update, upsert"),
    ("[jobs.a]\ninput = 'x.csv'\nresults = 'r.csv'\n", "results: this setting is for the command line only"),
    ("[job.a]\ninput = 'x.csv'\n", "unknown section [job]"),
    ("[jobs.'a b']\ninput = 'x.csv'\n", "may only hold letters, digits"),
    ("[jobs.a]\ninput = \n", "is not valid TOML"),
    ("[defaults]\nyes = true\n", "names no job"),
])
def test_a_mistake_in_the_jobs_file_is_named_with_its_place(tmp_path, text, expected):
    path = tmp_path / "copernica-import.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        load_jobs_file(path)
    assert expected in str(caught.value) and str(path) in str(caught.value)


def test_an_unknown_job_and_a_missing_jobs_file_are_clear_errors(site, tmp_path):
    done = cli("run", "--job", "lead", cwd=site)
    assert done.returncode == 2 and "has no job 'lead' (did you mean 'leads'?)" in done.stderr
    assert "its jobs are: leads, orders" in done.stderr
    nowhere = cli("run", "--all-jobs", cwd=tmp_path)
    assert nowhere.returncode == 2 and "no jobs file: copernica-import.toml is not in" in nowhere.stderr


# -- running jobs -------------------------------------------------------------------------------
def test_run_job_runs_one_and_all_jobs_runs_each_with_its_own_results_and_the_highest_exit(site, sandbox):
    write_csv(site / "drops" / "leads" / "monday.csv", people(3))
    write_csv(site / "drops" / "orders" / "monday.csv", people(2, start=10) + [["broken", "X", "1", "no"]])
    elsewhere = site.parent  # relative paths in the jobs file do not depend on where the command runs
    one = cli("run", "--job", "leads", "--config", str(site / "copernica-import.toml"), "--api-url",
              sandbox.api_url, "--quiet", cwd=elsewhere)
    assert one.returncode == 0, one.stderr
    assert not (site / "drops" / "leads" / "monday.csv").exists()  # archived
    assert (site / "archive" / "leads" / "monday.results.csv").exists()
    assert (site / "drops" / "orders" / "monday.csv").exists()     # another job: not touched

    write_csv(site / "drops" / "leads" / "tuesday.csv", people(2, start=20))
    every = cli("run", "--all-jobs", "--api-url", sandbox.api_url, "--quiet", "--json", cwd=site)
    assert every.returncode == 1, every.stderr  # leads 0, orders 1 (one invalid row): the highest
    document = json.loads(every.stdout)
    assert [(j["job"], j["exit_code"]) for j in document["jobs"]] == [("leads", 0), ("orders", 1)]
    assert document["exit_code"] == 1 and document["exit_meaning"] == "rows_not_ok"
    assert "== job leads ==" in every.stderr and "== job orders ==" in every.stderr
    orders = read_results(site / "results" / "orders" / "monday.results.csv")
    assert [r["status"] for r in orders] == ["created", "created", "invalid"]
    assert len(sandbox.profiles(2)) == 7

    # a job that cannot start (its mapping is gone) does not keep the other from running
    (site / "orders.yaml").unlink()
    write_csv(site / "drops" / "leads" / "wednesday.csv", people(1, start=30))
    broken = cli("run", "--all-jobs", "--api-url", sandbox.api_url, "--quiet", cwd=site)
    assert broken.returncode == 2, broken.stderr
    orders_part = broken.stderr[broken.stderr.index("== job orders =="):]
    assert "orders.yaml: the mapping file does not exist" in orders_part
    assert (site / "archive" / "leads" / "wednesday.csv").exists()


def test_files_on_the_command_line_replace_the_jobs_input(site, sandbox):
    write_csv(site / "extra.csv", people(2, start=40))
    done = cli("run", "--job", "orders", "extra.csv", "--api-url", sandbox.api_url, "--quiet", cwd=site)
    assert done.returncode == 0, done.stderr
    assert (site / "results" / "orders" / "extra.results.csv").exists()
    both = cli("run", "--all-jobs", "extra.csv", cwd=site)
    assert both.returncode == 2 and "leave out FILE(s)" in both.stderr


def test_the_same_job_twice_at_once_is_skipped_with_exit_75(site, sandbox, tmp_path):
    from importer.jobs import job_lock

    write_csv(site / "drops" / "leads" / "a.csv", people(1))
    state = tmp_path / "state"
    os.environ["COPERNICA_STATE_DIR"] = str(state)
    try:
        held = job_lock(resolve({}, {}, jobs_file=jobs_file(site), job="leads"))
    finally:
        del os.environ["COPERNICA_STATE_DIR"]
    try:
        done = cli("run", "--job", "leads", "--api-url", sandbox.api_url, cwd=site,
                   env={"COPERNICA_STATE_DIR": str(state)})
    finally:
        held.release()
    assert done.returncode == 75, done.stderr
    assert "job leads is still running (process" in done.stderr and "skipped" in done.stderr
    assert (site / "drops" / "leads" / "a.csv").exists() and not sandbox.profiles(2)
    assert not list(state.rglob("*.lock")), "the lock file goes when it is let go"
