"""One exception tree (importer/errors.py): every error the tool reports is a
CopernicaImportError, its exit code is a property of its type, its docstring
draws the tree as it is, and the command maps errors to exit codes by type."""
from __future__ import annotations

import inspect
import re

import pytest

from importer import errors
from importer.errors import (
    AnswerLost,
    CopernicaImportError,
    DatabaseNotFound,
    InvalidTokenError,
    OutputError,
    RequestFailed,
    RequestRefused,
    RunStopped,
)
from importer.models import StopReason
from tests.helpers import PEOPLE_MAPPING, SAMPLE_SCHEMA, cli, people, write_csv, write_mapping

CLASSES = {name: cls for name, cls in inspect.getmembers(errors, inspect.isclass)
           if issubclass(cls, BaseException) and cls.__module__ == errors.__name__}


def test_every_error_class_is_a_copernica_import_error_with_one_parent():
    assert len(CLASSES) >= 15
    for name, cls in CLASSES.items():
        assert issubclass(cls, CopernicaImportError), name
        assert len(cls.__bases__) == 1, f"{name} has two parents"


def test_the_exit_code_is_a_property_of_the_type():
    codes = {name: cls.exit_code for name, cls in CLASSES.items()}
    assert codes.pop("RunStopped") == 3  # stopped after rows were sent: --resume continues
    # temporary, nothing sent: run it again later (Copernica unreachable, another run busy)
    assert {n for n, c in codes.items() if c == 75} == {"RunBusy", "DatabaseBusy", "ApiUnreachable"}
    assert {n for n, c in codes.items() if c == 66} == {"NoInputFiles"}  # --expect-files and nothing came
    assert {c for c in codes.values()} == {2, 66, 75}  # everything else: a setup problem, nothing sent


def test_the_docstring_draws_the_tree_as_it_is():
    drawn: dict[str, str] = {}
    parents: list[str] = []
    for line in errors.__doc__.splitlines():
        match = re.match(r"^    ((?:│   |    )*)(?:[├└]── )?([A-Z]\w+)\s", line + " ")
        if not match or match.group(2) not in CLASSES:
            continue
        depth = len(match.group(1)) // 4 + (1 if "──" in line else 0)
        parents[depth:] = [match.group(2)]
        if depth:
            drawn[match.group(2)] = parents[depth - 1]
    actual = {name: cls.__bases__[0].__name__ for name, cls in CLASSES.items() if cls is not CopernicaImportError}
    assert drawn == actual


def test_context_is_set_by_constructors():
    token = InvalidTokenError(api_version=4, status=401, maybe_stored=True)
    assert (token.api_version, token.status, token.maybe_stored) == (4, 401, True)
    assert "HTTP 401" in str(token)
    missing = DatabaseNotFound(99, sandbox_databases="database 1 (Contacts)")
    assert missing.database_id == 99 and "it has database 1 (Contacts)" in str(missing)
    refused = RequestRefused("Copernica refused the profile: bad", 2, status=400, api_message="bad")
    assert (refused.attempts, refused.status, refused.api_message, refused.reason_code) == (2, 400, "bad", "refused")
    assert AnswerLost("lost", 1).reason_code == "answer_lost" and isinstance(AnswerLost("x"), RequestFailed)
    stopped = RunStopped(StopReason.ERROR, "disk full", cause=OutputError("r.csv", "no space"), sent=4)
    assert (stopped.reason, stopped.sent, str(stopped.cause)) == (StopReason.ERROR, 4, "cannot write r.csv: no space")


# -- the command maps them by type --------------------------------------------------------------
CASES = {  # what goes wrong: (the mapping's text, the file's bytes or None, extra arguments, words of the message)
    "MappingError": (PEOPLE_MAPPING.replace("[trim, lower]", "[trim, lowr]"), None, [], "did you mean 'lower'"),
    "InputFileError": (PEOPLE_MAPPING, b"", [], "empty"),
    "SchemaError": (PEOPLE_MAPPING.replace("firstname:", "frstname:"), None, [], "frstname"),
    "JournalError": (PEOPLE_MAPPING, None, ["--resume"], "nothing to resume"),
    "UsageError": (PEOPLE_MAPPING, None, ["--workers", "0"], "--workers must be at least 1"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_command_exits_with_the_errors_code_and_one_sentence(tmp_path, kind):
    mapping, content, extra, says = CASES[kind]
    src = write_csv(tmp_path / "in.csv", people(2))
    if content is not None:
        src.write_bytes(content)
    write_mapping(tmp_path / "m.yaml", mapping)
    # the structure comes from a file and nothing listens at the API address: nothing can be sent
    done = cli("run", str(src), "--mapping", "m.yaml", "--schema", str(SAMPLE_SCHEMA),
               "--api-url", "http://127.0.0.1:9/v3", *extra, cwd=tmp_path)
    assert done.returncode == CLASSES[kind].exit_code == 2, done.stderr
    # one sentence, after the notes on how the file was read (its encoding)
    assert done.stderr.count("error: ") == 1, done.stderr
    assert says in done.stderr[done.stderr.index("error: "):], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "in.results.csv").exists()
