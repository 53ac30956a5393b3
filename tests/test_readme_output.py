"""The README's sample output is exactly what the README's first command prints.

The command runs as a user runs it (a subprocess, the real sandbox, relative
results in the current folder), with stdout and stderr read together in the
order a terminal shows them: the program runs unbuffered (PYTHONUNBUFFERED=1),
so every line reaches the shared pipe when it is printed.

Normalised before comparing, in both texts alike and nothing else:
- the sandbox's port (``127.0.0.1:NNNNN``): the operating system picks a free
  one on every run;
- the two measured numbers of the ``Time:`` line (seconds and rows per
  second), which differ from run to run and machine to machine.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.helpers import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
FIRST_COMMAND = "copernica-import run sample_data/contacts.xlsx --mapping mappings/contacts.yaml --sandbox"


def normalised(text: str) -> str:
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    text = re.sub(r"^Time: [0-9.,]+ s, [0-9.,]+ rows/s$", "Time: S s, R rows/s", text, flags=re.M)
    return text.strip("\n")


def readme_sample_output() -> str:
    """The first plain code block after the sentence that introduces the first command's output."""
    after = README[README.index("The first command prints"):]
    return re.search(r"```\n(.*?)```", after, flags=re.S).group(1)


def test_the_readme_sample_output_is_what_the_first_command_prints(tmp_path):
    assert FIRST_COMMAND in README
    words = FIRST_COMMAND.split()[1:]
    argv = [str(REPO / w) if w.startswith(("sample_data/", "mappings/")) else w for w in words]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPERNICA_")}
    env.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    result = subprocess.run([sys.executable, "-m", "importer", *argv], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert result.returncode == 1  # the sample's broken rows, as the README says
    assert normalised(result.stdout) == normalised(readme_sample_output())
    assert (tmp_path / "contacts.sandbox-results.csv").exists()


def test_the_normalisation_only_touches_the_port_and_the_timings():
    text = ("Using the built-in sandbox at http://127.0.0.1:40939/v3 (x)\nTime: 0.4 s, 477 rows/s\n"
            "Results: contacts.sandbox-results.csv")
    assert normalised(text) == ("Using the built-in sandbox at http://127.0.0.1:PORT/v3 (x)\nTime: S s, R rows/s\n"
                                "Results: contacts.sandbox-results.csv")
    assert normalised("created          189") == "created          189"
