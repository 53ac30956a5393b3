import subprocess
import sys
import textwrap

import pytest

from importer.dedupe import DuplicateIndex
from importer.journal import Journal, JournalError, RunIdentity
from importer.models import Outcome, Reason, Status

IDENTITY = RunIdentity("contacts.csv", "f" * 64, "m" * 64, 1, "create")
BAD_EMAIL = Reason("invalid_email", "column {column!r}: {value!r} is not a valid email address",
                   {"column": "Email", "value": "bad"})


def test_states_come_back_in_row_order_with_final_outcomes(tmp_path):
    path = tmp_path / "r.journal"
    with Journal.open(path, IDENTITY, resume=False) as j:
        j.mark_sending([(5, "e@x"), (2, "b@x")])
        j.record(Outcome(2, Status.CREATED, 77, (), 1, "b@x"))
        j.record(Outcome(3, Status.INVALID, None, (BAD_EMAIL,), 0, ""))
        j.commit()
    with Journal.open(path, IDENTITY, resume=True) as j:
        states = list(j.states(page=2))
    assert [(r, s) for r, s, _ in states] == [(2, "final"), (3, "final"), (5, "sending")]
    assert states[0][2] == Outcome(2, Status.CREATED, 77, (), 1, "b@x")
    assert states[1][2] == Outcome(3, Status.INVALID, None, (BAD_EMAIL,), 0, "")  # code, template and values kept
    assert states[2][2] is None


def test_uncommitted_outcomes_are_lost_but_the_sending_mark_stays(tmp_path):
    path = tmp_path / "r.journal"
    crash = textwrap.dedent(f"""
        import os
        from importer.journal import Journal, RunIdentity
        from importer.models import Outcome, Status
        j = Journal.open({str(path)!r}, RunIdentity("contacts.csv", "f"*64, "m"*64, 1, "create"), resume=False)
        j.mark_sending([(2, "a@x")])
        j.record(Outcome(2, Status.CREATED, 1, (), 1, "a@x"))  # not committed
        os._exit(0)  # a crash: no commit, no close
    """)
    subprocess.run([sys.executable, "-c", crash], check=True, timeout=60)
    with Journal.open(path, IDENTITY, resume=True) as j2:
        assert [(r, s) for r, s, _ in j2.states()] == [(2, "sending")]


def test_resume_with_another_file_or_mapping_is_refused(tmp_path):
    path = tmp_path / "r.journal"
    Journal.open(path, IDENTITY, resume=False).close()
    changed = RunIdentity("contacts.csv", "0" * 64, "1" * 64, 1, "create")
    with pytest.raises(JournalError, match="changed: the input file's content .*; the mapping"):
        Journal.open(path, changed, resume=True)


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
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
        assert "REFUSED another copernica-import run is using" in out
    # the lock goes with its holder
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "REFUSED" not in out


def test_duplicate_index_first_and_last():
    first = DuplicateIndex("first")
    assert [first.winner(r, k) for r, k in [(2, "a"), (3, "b"), (4, "a"), (5, ""), (6, "")]] == [None, None, 2, None, None]
    last = DuplicateIndex("last")
    last.learn([(2, "a"), (3, "b"), (4, "a")])
    assert [last.winner(r, k) for r, k in [(2, "a"), (3, "b"), (4, "a")]] == [4, None, None]


def test_duplicate_keys_are_compared_ignoring_case_and_unicode_form():
    index = DuplicateIndex("first")
    assert index.winner(2, "jos\u00e9@x.nl") is None          # é as one character
    assert index.winner(3, "JOSE\u0301@X.NL") == 2            # E + combining accent, upper case
    assert index.winner(4, "jose@x.nl") is None               # no accent: someone else
