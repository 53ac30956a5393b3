"""The command ``init`` prints as the next step reads the file as ``init`` read it.

The mapping does not hold how the file is read (its sheet, encoding,
delimiter, header row): the hint carries every such option ``init`` was given,
shell-quoted, and these tests run the hint exactly as printed (against a
sandbox named in the environment, as a user with COPERNICA_API_URL set).
"""
from __future__ import annotations

import shlex
import subprocess
import sys

from tests.file_builders import make_xlsx, write
from tests.helpers import cli, cli_env, read_results

HINT_START = "review it, then: "


def _hint(stderr: str) -> list[str]:
    line = next(line for line in stderr.splitlines() if HINT_START in line)
    words = shlex.split(line.split(HINT_START, 1)[1])
    assert words[:2] == ["copernica-import", "check"], words
    return words


def _run_hint(words: list[str], cwd, env: dict) -> subprocess.CompletedProcess:
    """The printed command, word for word, as the installed ``copernica-import`` would run it."""
    return subprocess.run([sys.executable, "-m", "importer", *words[1:]], cwd=cwd, env=cli_env(env),
                          capture_output=True, text=True, timeout=120)


def test_the_hint_checks_the_sheet_init_read(tmp_path, sandbox):
    leads = [["Email", "Name"], ["lead@example.com", "Lead"]]
    other = [["Email", "Name"], ["other1@example.com", "Other One"], ["other2@example.com", "Other Two"]]
    make_xlsx(tmp_path / "multi book.xlsx", {"Leads": leads, "Other sheet": other})
    env = {"COPERNICA_API_URL": sandbox.api_url}
    drafted = cli("init", "multi book.xlsx", "--sheet", "Other sheet", "--database", "2", "--output", "o.yaml",
                  cwd=tmp_path, env=env)
    assert drafted.returncode == 0, drafted.stderr
    words = _hint(drafted.stderr)
    assert words[2:] == ["multi book.xlsx", "--mapping", "o.yaml", "--sheet", "Other sheet"]
    checked = _run_hint(words + ["--report", "report.csv"], tmp_path, env)
    assert checked.returncode == 0, checked.stderr
    emails = [r["Email"] for r in read_results(tmp_path / "report.csv")]
    assert emails == ["other1@example.com", "other2@example.com"]


def test_the_hint_reads_with_the_encoding_delimiter_and_header_row_init_was_given(tmp_path, sandbox):
    text = "Export of 1 June\nEmail|First name|City\na@x.nl|Citroën|Ede\nb@x.nl|Jan|Ede\n"
    write(tmp_path, "nl.csv", text, "cp1252")
    env = {"COPERNICA_API_URL": sandbox.api_url}
    drafted = cli("init", "nl.csv", "--encoding", "cp1252", "--delimiter", "|", "--header-row", "2",
                  "--database", "2", "--output", "o.yaml", cwd=tmp_path, env=env)
    assert drafted.returncode == 0, drafted.stderr
    words = _hint(drafted.stderr)
    assert words[2:] == ["nl.csv", "--mapping", "o.yaml", "--encoding", "cp1252", "--delimiter", "|",
                         "--header-row", "2"]
    assert "'|'" in drafted.stderr     # quoted for the shell
    without = _run_hint(words[:5], tmp_path, env)
    assert without.returncode == 2 and "reads plausibly in more than one encoding" in without.stderr
    checked = _run_hint(words + ["--report", "report.csv"], tmp_path, env)
    assert checked.returncode == 0, checked.stderr
    assert "as cp1252" in checked.stderr
    names = [r["First name"] for r in read_results(tmp_path / "report.csv")]
    assert names == ["Citroën", "Jan"]


def test_without_reading_options_the_hint_is_the_plain_check(tmp_path, sandbox):
    write(tmp_path, "plain.csv", "Email,Name\na@x.nl,Ann\n")
    drafted = cli("init", "plain.csv", "--database", "2", "--output", "o.yaml", cwd=tmp_path,
                  env={"COPERNICA_API_URL": sandbox.api_url})
    assert drafted.returncode == 0, drafted.stderr
    assert _hint(drafted.stderr)[2:] == ["plain.csv", "--mapping", "o.yaml"]
