import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing

import pytest

from importer.errors import JournalError
from importer.journal import Journal, RunIdentity, RunLock
from importer.models import Outcome, Reason, Status
from tests.helpers import REPO

IDENTITY = RunIdentity("contacts.csv", "f" * 64, "m" * 64, 1, "create")
BAD_EMAIL = Reason("invalid_email", "column {column!r}: {value!r} is not a valid email address",
                   {"column": "Email", "value": "bad"})


def test_states_come_back_in_row_order_with_final_outcomes(tmp_path):
    path = tmp_path / "r.journal"
    with Journal.open(path, IDENTITY, resume=False) as j:
        j.mark(5, "e@x", "d5")
        j.mark(2, "b@x", "d2")
        j.record(Outcome(2, Status.CREATED, 77, (), 1, "b@x"))
        j.record(Outcome(3, Status.INVALID, None, (BAD_EMAIL,), 0, ""))
        j.commit()
    with Journal.open(path, IDENTITY, resume=True) as j:
        states = list(j.states(page=2))
    assert [(s.row, s.state) for s in states] == [(2, "final"), (3, "final"), (5, "sending")]
    assert states[0].outcome == Outcome(2, Status.CREATED, 77, (), 1, "b@x")
    assert states[1].outcome == Outcome(3, Status.INVALID, None, (BAD_EMAIL,), 0, "")  # code, template, values kept
    assert states[2].outcome is None and states[2].key == "e@x" and states[2].digest == "d5"


def test_uncommitted_outcomes_are_lost_but_the_sending_mark_stays(tmp_path):
    path = tmp_path / "r.journal"
    crash = textwrap.dedent(f"""
        import os
        from importer.journal import Journal, RunIdentity
        from importer.models import Outcome, Status
        j = Journal.open({str(path)!r}, RunIdentity("contacts.csv", "f"*64, "m"*64, 1, "create"), resume=False)
        j.mark(2, "a@x", "d2")
        j.record(Outcome(2, Status.CREATED, 1, (), 1, "a@x"), "d2")  # not committed
        os._exit(0)  # a crash: no commit, no close
    """)
    subprocess.run([sys.executable, "-c", crash], check=True, timeout=60, cwd=REPO)
    with Journal.open(path, IDENTITY, resume=True) as j2:
        assert [(s.row, s.state) for s in j2.states()] == [(2, "sending")]


def test_resume_with_another_mapping_is_refused_but_a_changed_file_is_compared_row_by_row(tmp_path):
    path = tmp_path / "r.journal"
    Journal.open(path, IDENTITY, resume=False).close()
    changed = RunIdentity("contacts.csv", "0" * 64, "1" * 64, 1, "create")
    with pytest.raises(JournalError, match="changed: the mapping"):
        Journal.open(path, changed, resume=True)
    fixed_file = RunIdentity("contacts.csv", "0" * 64, "m" * 64, 1, "create")
    with Journal.open(path, fixed_file, resume=True) as j:
        assert j.file_changed


def test_a_new_run_does_not_silently_replace_an_earlier_journal(tmp_path):
    path = tmp_path / "r.journal"
    Journal.open(path, IDENTITY, resume=False).close()
    with pytest.raises(JournalError, match="--resume"):
        Journal.open(path, IDENTITY, resume=False)
    Journal.open(path, IDENTITY, resume=False, overwrite=True).close()


def test_resume_without_a_journal_says_there_is_nothing_to_resume(tmp_path):
    with pytest.raises(JournalError, match="nothing to resume"):
        Journal.open(tmp_path / "none.journal", IDENTITY, resume=True)


def test_a_second_process_is_refused_while_the_first_holds_the_journal(tmp_path):
    path = tmp_path / "r.journal"
    code = textwrap.dedent(f"""
        from importer.journal import Journal, JournalError, RunIdentity
        try:
            Journal.open({str(path)!r}, RunIdentity("contacts.csv", "f"*64, "m"*64, 1, "create"), resume=True)
        except JournalError as e:
            print("REFUSED", e)
    """)
    with Journal.open(path, IDENTITY, resume=False):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout
        assert "REFUSED another copernica-import run is using" in out
    # the lock goes with its holder
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout
    assert "REFUSED" not in out


def test_marking_rows_as_sending_does_not_hide_outcomes_waiting_for_a_commit(tmp_path):
    with Journal.open(tmp_path / "j", IDENTITY, resume=False) as journal:
        journal.record(Outcome(1, Status.CREATED, 11, (), 1, "a@example.com"))
        journal.mark(2, "b@example.com", "d2")   # commits, as before every send
        # the runner writes its results lines when this says so
        assert journal.commit_due(max_pending=1)


def test_a_run_lock_is_refused_while_held_and_free_again_after_release(tmp_path):
    path = tmp_path / "r.journal"
    with RunLock(path):
        with pytest.raises(JournalError, match="another copernica-import run is using"):
            RunLock(path).acquire()
    RunLock(path).acquire().release()


def test_a_journal_of_version_1_resumes_with_its_texts_under_a_code(tmp_path):
    """A run interrupted before reasons had codes: its journal kept one text per row."""
    path = tmp_path / "r.journal"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript("""
            CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE rows (row INTEGER PRIMARY KEY, state TEXT NOT NULL, status TEXT, profile_id INTEGER,
                               error TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
                               key TEXT NOT NULL DEFAULT '');
        """)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [("version", "1"),
                                                            ("identity", json.dumps(IDENTITY.__dict__))])
        conn.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?)", [
            (2, "final", "created", 7, "", 1, "a@x"),
            (3, "final", "skipped", None, "duplicate of row 2", 0, "a@x"),
            (4, "sending", None, None, "", 0, "b@x")])
    with Journal.open(path, IDENTITY, resume=True) as j:
        states = list(j.states())
    assert [(s.row, s.state) for s in states] == [(2, "final"), (3, "final"), (4, "sending")]
    created, skipped = states[0].outcome, states[1].outcome
    assert created.reasons == () and created.profile_id == 7
    assert (skipped.status, skipped.error, skipped.code) == (Status.SKIPPED, "duplicate of row 2", "duplicate")


def test_a_refused_resume_leaves_no_file_open(tmp_path):
    """Python 3.13 warns about every sqlite3 connection left to the garbage collector."""
    path = tmp_path / "r.journal"
    Journal.open(path, IDENTITY, resume=False).close()
    open_files = len(os.listdir("/proc/self/fd"))
    with pytest.raises(JournalError, match="cannot resume") as refused:
        Journal.open(path, RunIdentity("contacts.csv", "0" * 64, "1" * 64, 1, "create"), resume=True)
    assert refused.value.__traceback__ is not None  # its frames (and what they hold) are still alive here
    assert len(os.listdir("/proc/self/fd")) == open_files
    RunLock(path).acquire().release()  # and the run's lock was let go


def test_a_journal_without_the_subprofile_record_gets_it_filled_from_its_rows_and_keeps_it(tmp_path):
    """A collection import's journal made before ``created_subprofiles``: its created rows fill it when
    opened; a later outcome of a row (a resume after the file changed) never renumbers nor removes one."""
    from importer.created_record import CreatedRecord
    path = tmp_path / "r.journal"
    with Journal.open(path, IDENTITY, resume=False) as j:
        j.set_meta("collection", {"id": 71, "name": "Orders"})
        j.record(Outcome(2, Status.CREATED, 7, (), 1, "O-1", subprofile_id=5001, profile_status="created"), "d2")
        j.record(Outcome(3, Status.CREATED, 7, (), 1, "O-2", subprofile_id=5002, profile_status="found"), "d3")
        j.commit()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DROP TABLE created_subprofiles")
    with Journal.open(path, IDENTITY, resume=True) as j:
        record = CreatedRecord(j, subprofiles=True)
        found = record.with_digest("d2")
        assert [(c.subprofile_id, c.profile_id, c.row, c.key, c.profile_status) for c in found] == [
            (5001, 7, 2, "O-1", "created")]
        assert j.read("SELECT collection_id FROM created_subprofiles") == [(71,), (71,)]
        j.record(Outcome(3, Status.SKIPPED, None, (), 0, "O-9"), "other")   # row 3 is another row now
        j.record(Outcome(4, Status.CREATED, 7, (), 1, "O-2", subprofile_id=5002, profile_status="found"), "d3")
        j.commit()
        assert record.with_key("o-2").row == 3 and record.with_key("O-3") is None
        assert CreatedRecord(j, subprofiles=False).with_digest("d2") == []
