"""Shell completion (issue 15, point 5): `copernica-import completion SHELL`
prints a script generated from the real parser; each one is loaded by the
real shell here and asked what it completes, as a user pressing Tab would.
bash always; zsh and fish when they are installed (skipped otherwise)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, cli

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A working folder as a user has it: mappings, data files, a folder, a jobs file."""
    root = tmp_path_factory.mktemp("completion")
    for name in ("shop.yaml", "leads.yml", "contacts.csv", "notes.txt"):
        (root / name).write_text("x")
    (root / "drops").mkdir()
    (root / "copernica-import.toml").write_text(
        '[defaults]\nyes = true\n\n[jobs.leads]\ninput = "drops/*.csv"\nmapping = "leads.yml"\n\n'
        '[jobs.orders-eu]\ninput = "drops/*.xlsx"\nmapping = "shop.yaml"\n')
    return root


def script(shell: str, folder: Path) -> Path:
    """The script `copernica-import completion SHELL` prints (made once per shell)."""
    path = folder.parent / f"completion.{shell}"
    if not path.exists():
        done = cli("completion", shell, cwd=folder)
        assert done.returncode == 0, done.stderr
        path.write_text(done.stdout)
    return path


# -- bash ------------------------------------------------------------------------------------
def bash_complete(folder: Path, words: list[str]) -> list[str]:
    """What bash's programmable completion offers for ``words`` (the last one being typed)."""
    path = script("bash", folder)
    program = (f"source {path}\n"
               "COMP_WORDS=(\"$@\"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE=\"$*\"; "
               "COMP_POINT=${#COMP_LINE}; COMPREPLY=()\n"
               "$(complete -p copernica-import | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p')\n"
               "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "-c", program, "bash", *words], cwd=folder, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    return sorted(set(done.stdout.split()))


def test_bash_completes_commands_options_choices_mappings_and_jobs(folder):
    assert bash_complete(folder, ["copernica-import", ""]) == sorted(
        ["run", "check", "init", "schema", "rollback", "config", "completion", "sandbox", "ui"])
    assert bash_complete(folder, ["copernica-import", "r"]) == ["rollback", "run"]
    assert {"--mapping", "--max-errors", "--max-runtime", "--max-outage"} <= set(
        bash_complete(folder, ["copernica-import", "run", "--ma"]))
    assert bash_complete(folder, ["copernica-import", "run", "--all"]) == ["--all-jobs"]
    assert bash_complete(folder, ["copernica-import", "run", "--on-existing", ""]) == [
        "create", "skip", "update", "upsert"]
    # mapping files: *.yaml / *.yml and folders, nothing else
    assert bash_complete(folder, ["copernica-import", "run", "--mapping", ""]) == ["drops", "leads.yml", "shop.yaml"]
    # the jobs of ./copernica-import.toml
    assert bash_complete(folder, ["copernica-import", "run", "--job", ""]) == ["leads", "orders-eu"]
    assert bash_complete(folder, ["copernica-import", "config", "--job", "o"]) == ["orders-eu"]
    # input files
    assert "contacts.csv" in bash_complete(folder, ["copernica-import", "check", "c"])
    assert bash_complete(folder, ["copernica-import", "run", "--format", "nd"]) == ["ndjson"]
    # the sandbox's own options
    assert bash_complete(folder, ["copernica-import", "sandbox", "--lat"]) == ["--latency-ms"]
    assert bash_complete(folder, ["copernica-import", "completion", ""]) == ["bash", "fish", "zsh"]


def test_the_scripts_come_from_the_real_parser(folder):
    """A flag the parser has is in every script: nothing is kept by hand."""
    from importer.command_parsers import build_parser

    flags = {o for a in build_parser().subcommands["run"]._actions for o in a.option_strings if o.startswith("--")}
    for shell in ("bash", "zsh", "fish"):
        text = script(shell, folder).read_text()
        missing = sorted(f for f in flags if f[2:] not in text)
        assert not missing, f"{shell}: {missing}"


# -- zsh -------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_from_its_fpath_like_an_interactive_shell(folder, tmp_path):
    functions = tmp_path / "zfunc"
    functions.mkdir()
    (functions / "_copernica-import").write_text(script("zsh", folder).read_text())

    def complete(line: str) -> set[str]:
        done = subprocess.run(["zsh", "-f", str(HERE / "zsh_complete.zsh"), str(functions), line], cwd=folder,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return set(done.stdout.split())

    assert {"run", "check", "config", "completion", "sandbox"} <= complete("copernica-import ")
    assert complete("copernica-import run --on-existing ") == {"create", "skip", "update", "upsert"}
    assert complete("copernica-import run --mapping ") == {"shop.yaml", "leads.yml", "drops"}
    assert complete("copernica-import run --job ") == {"leads", "orders-eu"}
    assert complete("copernica-import run --max-r") == {"--max-runtime"}


# -- fish ------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_with_descriptions(folder):
    path = script("fish", folder)

    def complete(line: str) -> dict[str, str]:
        done = subprocess.run(["fish", "--no-config", "-c", f"source {path}; complete -C {line!r}"], cwd=folder,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return dict((line.split("\t") + [""])[:2] for line in done.stdout.splitlines())

    assert "run" in complete("copernica-import ru")
    assert set(complete("copernica-import run --on-existing ")) == {"create", "skip", "update", "upsert"}
    assert set(complete("copernica-import run --mapping ")) == {"shop.yaml", "leads.yml", "drops/"}
    assert set(complete("copernica-import run --job ")) == {"leads", "orders-eu"}
    options = complete("copernica-import run --exp")
    assert "--expect-files" in options and "exit 66" in options["--expect-files"]


def test_an_unknown_shell_is_refused_with_the_choices(folder):
    done = cli("completion", "tcsh", cwd=folder)
    assert done.returncode == 2 and "bash" in done.stderr and "usage: copernica-import completion" in done.stderr


def test_readme_names_the_completion_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "copernica-import completion bash" in readme and "copernica-import completion fish" in readme
