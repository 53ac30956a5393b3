"""The README's commands are part of the product: they must keep working.

Every `copernica-import ...` command shown in the README is parsed by the
real argument parser (so a renamed or removed flag fails here), the first two
commands are the ones CI runs, and the sandbox walk-through is run for real.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from importer.command_parsers import build_parser
from importer.sandbox.cli import build_parser as build_sandbox_parser
from tests.helpers import REPO, TOKEN, cli, cli_env

README = (REPO / "README.md").read_text(encoding="utf-8")


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def commands() -> list[str]:
    """Each `copernica-import ...` invocation in the README's shell blocks."""
    found = []
    for block in shell_blocks():
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split("  #")[0].strip()
            for part in re.split(r"&&|\|", line):
                part = re.split(r"\s[12]?>{1,2}\s", f" {part} ")[0].strip()  # without its output redirection
                words = shlex.split(part, comments=True) if part else []
                while words and "=" in words[0] and not words[0].startswith("-"):
                    words = words[1:]  # VAR=value prefixes
                if words[:1] == ["copernica-import"]:
                    found.append(words[1:])
    return found


def test_the_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    first_block = shell_blocks()[0]
    lines = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert lines[0] == ("pip install . && copernica-import run sample_data/contacts.xlsx "
                        "--mapping mappings/contacts.yaml --sandbox")
    ci = (REPO / ".ci/run").read_text()
    assert lines[1] in ci


@pytest.mark.parametrize("argv", commands(), ids=lambda a: " ".join(a)[:60])
def test_every_readme_command_parses(argv):
    if argv[0] == "sandbox":
        build_sandbox_parser().parse_args(argv[1:])
    else:
        build_parser().parse_args(argv)


def test_the_readme_shows_many_commands():
    assert len(commands()) >= 8


def test_the_sandbox_walkthrough_runs(tmp_path):
    env_token = "my-token"
    proc = subprocess.Popen([sys.executable, "-m", "importer", "sandbox", "--schema",
                             str(REPO / "sample_data/schema.yaml"), "--port", "0", "--token", env_token,
                             "--db", str(tmp_path / "rehearsal.sqlite")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    try:
        first = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/v3)", first).group(1)
        result = cli("run", str(REPO / "sample_data/contacts.csv"), "--mapping", str(REPO / "mappings/contacts.yaml"),
                     "--api-url", url, cwd=tmp_path, env={"COPERNICA_ACCESS_TOKEN": env_token})
        assert result.returncode == 1, result.stderr  # the sample's 6 invalid rows
        assert "created          189" in result.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    dump = cli("sandbox", "--db", str(tmp_path / "rehearsal.sqlite"), "--schema",
               str(REPO / "sample_data/schema.yaml"), "--dump", cwd=tmp_path)
    assert dump.returncode == 0, dump.stderr
    assert len(dump.stdout.strip().splitlines()) == 189
    assert TOKEN not in dump.stdout


def library_example() -> str:
    """The Python block of the README's "The library" section."""
    section = README[README.index("### The library"):]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_the_library_example_names_what_the_package_exports():
    import importer
    block = library_example()
    names = re.search(r"from importer import (.+)", block).group(1).split(", ")
    assert all(hasattr(importer, n) for n in names)
    assert importer.__version__ in (REPO / "pyproject.toml").read_text()


def test_the_library_example_runs_against_a_sandbox(tmp_path, sandbox):
    """The README's Python example, as written, with the sandbox's address and token (and a
    higher rate cap: at 20 requests a second the 200 sample rows take ten seconds)."""
    block = library_example()
    code = (block.replace('token="..."', f"token={TOKEN!r}").replace("rate=20)", "rate=400)")
            .replace('"https://api.copernica.com/v3"', repr(sandbox.api_url))
            .replace('Path("sample_data/', f'Path("{REPO}/sample_data/').replace('Path("mappings/', f'Path("{REPO}/mappings/'))
    assert code.count(str(REPO)) == 2 and sandbox.api_url in code and "rate=400" in code, \
        "the example changed: update this test"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=cli_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "created          189" in done.stdout
    assert len(sandbox.profiles(1)) == 189 and (tmp_path / "contacts.results.csv").exists()
    assert TOKEN not in done.stdout + done.stderr
