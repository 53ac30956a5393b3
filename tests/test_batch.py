"""The batch layer under `run`: several files, the confirmation, a stop, a
sandbox rehearsal; what happened comes back as a BatchResult."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from importer import BatchOptions, BatchReporter, BatchResult, Connection, FileResult, run_batch
from importer.batch import Confirmation
from importer.errors import InputFileError, UsageError
from importer.models import Status, StopReason
from tests.helpers import (
    PEOPLE_MAPPING,
    SAMPLE_CSV,
    SAMPLE_MAPPING,
    SAMPLE_SCHEMA,
    TOKEN,
    cli,
    people,
    read_results,
    write_csv,
    write_mapping,
)


class Heard(BatchReporter):
    """Everything a front end is told, in order."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.outcomes = 0

    def note(self, text: str) -> None:
        self.events.append(("note", text))

    def file_started(self, number: int, total: int, options) -> None:
        self.events.append(("started", number, total, Path(options.file).name))

    def outcome(self, outcome) -> None:
        self.outcomes += 1

    def file_finished(self, result: FileResult) -> None:
        self.events.append(("finished", result.path.name, result.exit_code))


def three_files(tmp_path: Path) -> list[Path]:
    """a.csv and c.csv are fine; b.csv is an empty upload."""
    a = write_csv(tmp_path / "a.csv", people(3))
    b = tmp_path / "b.csv"
    b.write_bytes(b"")
    c = write_csv(tmp_path / "c.csv", people(2, start=10))
    return [a, b, c]


def test_one_broken_file_is_reported_in_its_result_and_the_others_are_imported(tmp_path, sandbox, monkeypatch):
    monkeypatch.chdir(tmp_path)  # each file's results land beside the test, not in the repository
    files = three_files(tmp_path)
    heard = Heard()
    result = run_batch(BatchOptions(inputs=[str(f) for f in files], mapping=write_mapping(tmp_path / "m.yaml")),
                       Connection(token=TOKEN, api_url=sandbox.api_url), reporter=heard)
    assert isinstance(result, BatchResult)
    assert [f.path.name for f in result.files] == ["a.csv", "b.csv", "c.csv"]
    a, b, c = result.files
    assert a.summary.counts[Status.CREATED] == 3 and a.exit_code == 0 and a.error is None
    assert b.summary is None and isinstance(b.error, InputFileError) and "empty" in str(b.error)
    assert c.summary.counts[Status.CREATED] == 2 and c.exit_code == 0
    assert result.exit_code == 2 == b.exit_code  # the highest of the files'
    assert result.error is b.error and len(result.summaries) == 2
    assert len(sandbox.profiles(2)) == 5
    assert [line["status"] for line in read_results(tmp_path / "c.results.csv")] == ["created"] * 2
    assert heard.events == [("started", 1, 3, "a.csv"), ("finished", "a.csv", 0),
                            ("started", 2, 3, "b.csv"), ("finished", "b.csv", 2),
                            ("started", 3, 3, "c.csv"), ("finished", "c.csv", 0)]
    assert heard.outcomes == 5


def test_a_stop_ends_the_batch_after_the_file_it_interrupted(tmp_path, sandbox, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = write_csv(tmp_path / "first.csv", people(40))
    second = write_csv(tmp_path / "second.csv", people(5, start=100))
    stop = threading.Event()

    class StopAfterTheFirstRow(BatchReporter):
        def outcome(self, outcome) -> None:
            stop.set()

    result = run_batch(BatchOptions(inputs=[str(first), str(second)], mapping=write_mapping(tmp_path / "m.yaml"),
                                    workers=1), Connection(token=TOKEN, api_url=sandbox.api_url),
                       reporter=StopAfterTheFirstRow(), stop=stop)
    (only,) = result.files
    assert only.path == first and only.summary.stopped is StopReason.INTERRUPTED
    assert result.exit_code == 3
    assert 1 <= len(sandbox.profiles(2)) < 40
    assert not (tmp_path / "second.results.csv").exists()


@pytest.mark.parametrize("answer", [False, True])
def test_the_confirmation_names_rows_database_and_host_and_only_yes_sends(tmp_path, sandbox, monkeypatch, answer):
    monkeypatch.chdir(tmp_path)
    src = write_csv(tmp_path / "a.csv", people(4))
    asked: list[Confirmation] = []
    options = BatchOptions(inputs=[str(src)], mapping=write_mapping(tmp_path / "m.yaml"), always_confirm=True)
    connection = Connection(token=TOKEN, api_url=sandbox.api_url)

    def confirm(question: Confirmation) -> bool:
        asked.append(question)
        return answer

    if answer:
        assert run_batch(options, connection, confirm=confirm).exit_code == 0
    else:
        with pytest.raises(UsageError, match="not confirmed"):
            run_batch(options, connection, confirm=confirm)
    (question,) = asked
    assert (question.rows, question.files, question.database_id, question.database_name) == \
        (4, [src], 2, "Test database")
    assert question.host == sandbox.api_url.split("/")[2]
    assert len(sandbox.profiles(2)) == (4 if answer else 0)


def test_a_remote_api_without_a_way_to_confirm_is_refused_before_any_request(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = write_csv(tmp_path / "a.csv", people(2))
    options = BatchOptions(inputs=[str(src)], mapping=write_mapping(tmp_path / "m.yaml"), schema=SAMPLE_SCHEMA)
    with pytest.raises(UsageError, match="without confirmation") as refused:
        run_batch(options, Connection(token=TOKEN, api_url="https://api.copernica.com/v3"))
    assert "api.copernica.com" in str(refused.value) and TOKEN not in str(refused.value)
    assert not (tmp_path / "a.results.csv").exists()


def test_a_sandbox_rehearsal_needs_no_connection(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    heard: list[str] = []

    class Reporter(BatchReporter):
        def sandbox_started(self, api_url: str) -> None:
            heard.append(api_url)

    result = run_batch(BatchOptions(inputs=[str(SAMPLE_CSV)], mapping=SAMPLE_MAPPING, sandbox=True),
                       reporter=Reporter())
    (one,) = result.summaries
    assert result.sandbox and one.counts[Status.CREATED] == 189 and result.exit_code == 1
    assert heard and heard[0].startswith("http://127.0.0.1:")
    assert one.results_path == tmp_path / "contacts.sandbox-results.csv"


def test_cli_sandbox_rehearsal_with_an_unknown_database_says_how_to_bring_your_own(tmp_path):
    src = write_csv(tmp_path / "in.csv", [["a@example.com"]], header=("Email",))
    m = write_mapping(tmp_path / "m.yaml", "database: 1234\nfields:\n  email: Email\n")
    done = cli("run", str(src), "--mapping", str(m), "--sandbox", cwd=tmp_path)
    assert done.returncode == 2
    assert "the built-in sandbox has no database with ID 1234; it has database 1 (Contacts)" in done.stderr
    assert "--sandbox --schema" in done.stderr


def test_several_inputs_cannot_share_one_results_file(tmp_path):
    files = [write_csv(tmp_path / f"{name}.csv", people(1)) for name in ("a", "b")]
    options = BatchOptions(inputs=[str(f) for f in files], mapping=write_mapping(tmp_path / "m.yaml", PEOPLE_MAPPING),
                           results=tmp_path / "one.csv", dry_run=True)
    with pytest.raises(UsageError, match="--results names one file"):
        run_batch(options)
