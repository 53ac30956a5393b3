"""Help that teaches (issue 15, point 4): each command's --help ends with real
examples and its exit codes; an unknown option gets the command's own usage;
every COPERNICA_* variable the code reads is in --help and in the README."""
from __future__ import annotations

import re
import shlex

import pytest

from importer.command_parsers import EXAMPLES, build_parser
from tests.helpers import REPO, cli

COMMANDS = ("run", "check", "init", "schema", "rollback", "config", "completion")


def variables_in_code() -> set[str]:
    """Every COPERNICA_* environment variable the importer reads (os.environ / a *_ENV constant / a Setting)."""
    found = set()
    for path in (REPO / "importer").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"[\"'](COPERNICA_[A-Z_]+)[\"']", text))
    # names of Python constants that are not variables (Copernica's own error texts)
    return {v for v in found if v not in ("COPERNICA_INVALID_TOKEN", "COPERNICA_NO_DATABASE",
                                          "COPERNICA_ALREADY_REMOVED")}


def exit_code_table(text: str) -> dict[str, str]:
    """{code: meaning} of the help's exit-code table (wrapped lines joined)."""
    table: dict[str, str] = {}
    code = None
    for line in text.splitlines()[1:]:
        match = re.match(r"^  (\d+) +(.+)$", line)
        if match:
            code = match.group(1)
            table[code] = match.group(2)
        elif line.startswith("      ") and code is not None:
            table[code] += " " + line.strip()
        else:
            break
    return table


@pytest.mark.parametrize("command", COMMANDS)
def test_each_commands_help_ends_with_examples_and_its_exit_codes(command):
    done = cli(command, "--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    examples = text.index("examples:")
    codes = text.index("exit codes:")
    assert examples < codes, "examples first, then the exit codes, at the end of the help"
    shown = [line.strip() for line in text[examples:codes].splitlines() if line.strip().startswith("copernica-import")]
    assert 2 <= len(shown) <= 4
    table = exit_code_table(text[codes:])
    assert "0" in table and "2" in table
    if command == "run":
        assert set(table) == {"0", "1", "2", "3", "66", "75"}
        assert "--resume" in table["3"] and "try again later" not in table["2"] and "again later" in table["75"]


@pytest.mark.parametrize("command,example", [(c, line) for c, rows in EXAMPLES.items() for _, line in rows])
def test_every_help_example_is_a_command_the_real_parser_takes(command, example):
    words = shlex.split(example.split("|")[-1].split(">")[0].removeprefix("source <(").rstrip(")"))
    assert words[0] == "copernica-import"
    build_parser().parse_args(words[1:])


@pytest.mark.parametrize("argv,usage", [
    (["run", "a.csv", "--mapping", "m.yaml", "--workrs", "4"], "usage: copernica-import run"),
    (["check", "a.csv", "--mapping", "m.yaml", "--reprt", "x.csv"], "usage: copernica-import check"),
    (["rollback", "r.csv", "--bogus"], "usage: copernica-import rollback"),
    (["config", "--jbo", "x"], "usage: copernica-import config"),
])
def test_an_unknown_option_prints_the_commands_usage_and_what_was_meant(tmp_path, argv, usage):
    done = cli(*argv, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(usage), done.stderr
    assert "unrecognized arguments" in done.stderr
    if "--workrs" in argv:
        assert "did you mean --workers?" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_every_copernica_variable_is_in_the_help_and_in_the_readme():
    variables = variables_in_code()
    assert {"COPERNICA_ACCESS_TOKEN", "COPERNICA_STATE_DIR", "COPERNICA_CONFIG", "COPERNICA_HISTORY"} <= variables
    top = cli("--help").stdout
    run = cli("run", "--help").stdout
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for variable in sorted(variables):
        assert variable in run or variable in top, f"{variable} is not in --help"
        assert variable in readme, f"{variable} is not in the README"
    # the top-level help lists them all, with what each one sets
    assert all(v in top for v in variables)


def test_the_top_level_help_shows_the_commands_examples_and_exit_codes():
    text = cli("--help").stdout
    for command in COMMANDS:
        assert command in text
    assert "copernica-import run --all-jobs" in text and "exit codes:" in text and "75" in text
