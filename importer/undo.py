"""Undo a run: delete every profile it created (never the ones it updated or skipped).

Which profiles: the ``created`` lines of the run's results file, together with
the run's journal when it is still there (the journal is written first, so it
may know a few profiles the results file does not yet show):
``importer.undo_record``. The deletes themselves: ``importer.undo_deletes``.

Writes its own record (``RESULTS.rollback.csv``, in the results file's own
layout: its byte-order mark and delimiter, so Excel opens both the same way;
a workbook's record is a CSV with a byte-order mark and commas), one line
per profile: each
sending thread records a delete (flushed) before it sends its next one, so
whatever stops a rollback (Ctrl-C, SIGTERM, kill -9, a refused token) leaves
a record that holds every delete Copernica may have done but one per
thread at most. Running the command again continues where it stopped:
profiles already ``deleted`` in the record are not sent again, and a profile
that is already gone (deleted just before an interruption, or by someone
else) counts as rolled back and says so. It holds the run's lock, so it
cannot run beside the import it undoes, nor twice at once.

    from importer import Connection, rollback
    done = rollback(Path("contacts.results.csv"), Connection(token=token), yes=True)
    done.exit_code   # 0 all deleted, 1 some failed, 2 declined/nothing sent, 3 stopped

A collection import's run (its results file has ``subprofile_id``) is undone
in two steps: first every subprofile it created, then every profile it
created (``profile_status`` ``created``, and the journal's profiles table:
also a profile whose row never got its subprofile). Its record has a
``subprofile_id`` column: a line with one is a subprofile's delete.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

from importer.connection import Connection
from importer.earlier import note_rollback, sandbox_run
from importer.errors import UsageError
from importer.journal import RunLock, journal_path_for
from importer.undo_deletes import Delete, RollbackResult, Talk, delete_all, say_end
from importer.undo_record import Plan, already_deleted, default_output, output_layout, plan_rollback, read_run

__all__ = ["RollbackResult", "already_deleted", "default_output", "read_run", "refuse_sandbox_run", "rollback"]


class Msg:
    """Everything the command says (the notes before it deletes: ``importer.undo_record``; the counts after:
    ``importer.undo_deletes``)."""
    NO_RESULTS = "results file {path} does not exist"
    SANDBOX_RUN = ("nothing to roll back: {path} is the record of a run into the built-in sandbox (--sandbox), "
                   "which ended with that run and took its profiles with it. Nothing was sent")
    WOULD_DELETE = "would delete profile {pid} (row {row})"
    DRY_RUN_TOTAL = "{todo:,} profiles would be deleted ({done:,} deleted by an earlier rollback)."
    NOTHING_TO_DO = "Nothing to delete: the run created {created:,} profiles, {done:,} are deleted already."
    NOT_A_TERMINAL = ("rollback would delete {todo:,} profiles; add --yes to confirm when not at a terminal "
                      "(or --dry-run to list them)")
    CONFIRM = ("Delete {todo:,} profiles created by the run in {path} from {target}? "
               "This cannot be undone. Type yes: ")
    DECLINED = "Nothing deleted."
    # a collection import's run
    WOULD_DELETE_SUBPROFILE = "would delete subprofile {sid} of profile {pid} (row {row})"
    SUB_DRY_RUN_TOTAL = ("{subprofiles:,} subprofiles and {profiles:,} profiles would be deleted ({done:,} deleted "
                         "by an earlier rollback).")
    SUB_NOTHING_TO_DO = ("Nothing to delete: the run created {created:,} subprofiles and profiles, {done:,} are "
                         "deleted already.")
    SUB_NOT_A_TERMINAL = ("rollback would delete {subprofiles:,} subprofiles and {profiles:,} profiles; add --yes to "
                          "confirm when not at a terminal (or --dry-run to list them)")
    SUB_CONFIRM = ("Delete {subprofiles:,} subprofiles and {profiles:,} profiles created by the run in {path} from "
                   "{target}? This cannot be undone. Type yes: ")
    SUB_DONE = ("Deleted {subprofiles:,} subprofiles and {profiles:,} profiles ({gone:,} of them were already gone), "
                "{failed:,} failed. Record: {output}")


def rollback(results: Path, api, *, yes: bool = False, dry_run: bool = False,
             output: Path | None = None, workers: int = 8, target: str = "Copernica",
             confirm: Callable[[str], str] = input, is_terminal: Callable[[], bool] | None = None,
             stop: threading.Event | None = None, say: Callable[[str], None] | None = None) -> RollbackResult:
    """Deletes what the run behind ``results`` created.

    ``api``: a ``Connection`` (a client with its pacing and ``rate`` is made
    here, for ``workers`` deletes in flight) or a client; None only for
    ``dry_run``. ``stop``: set it to stop after the deletes in flight. ``say``:
    where the sentences go (default: stdout, notes on stderr).
    """
    results = Path(results)
    if not results.exists():
        raise UsageError(Msg.NO_RESULTS.format(path=results))
    refuse_sandbox_run(results)
    stop = stop or threading.Event()
    output = Path(output) if output else default_output(results)
    talk = Talk(say)
    with RunLock(journal_path_for(results)):  # not beside the run, not twice
        plan = plan_rollback(results, output)
        for note in plan.notes:
            talk.note(note)
        if plan.record.collection:
            return _collection_rollback(plan, results, api, output, workers, target, yes, dry_run, confirm,
                                        is_terminal, stop, talk)
        if dry_run:
            for row, pid in plan.todo:
                talk.out(Msg.WOULD_DELETE.format(pid=pid, row=row))
            talk.out(Msg.DRY_RUN_TOTAL.format(todo=len(plan.todo), done=len(plan.done)))
            return RollbackResult(output, todo=len(plan.todo))
        if not plan.todo:
            talk.out(Msg.NOTHING_TO_DO.format(created=len(plan.record.created), done=len(plan.done)))
            return RollbackResult(output)
        if not yes:
            if not (is_terminal or _stdin_is_terminal)():
                raise UsageError(Msg.NOT_A_TERMINAL.format(todo=len(plan.todo)))
            if confirm(Msg.CONFIRM.format(todo=len(plan.todo), path=results, target=target)).strip().lower() != "yes":
                talk.out(Msg.DECLINED)
                return RollbackResult(output, todo=len(plan.todo), declined=True)
        layout = output_layout(results, output)
        note_rollback(journal_path_for(results), output)  # a --resume of this run is refused from now on
        if isinstance(api, Connection):
            with api.open_client(workers, stop=stop) as client:
                return delete_all(plan.todo, client, output, workers, stop, talk, layout)
        return delete_all(plan.todo, api, output, workers, stop, talk, layout)


def refuse_sandbox_run(results: Path) -> None:
    """A run into the built-in sandbox (``--sandbox``) has nothing left to roll back: refused before anything
    is sent (its journal names the sandbox's address of then, where something else may listen now)."""
    if sandbox_run(journal_path_for(results), results):
        raise UsageError(Msg.SANDBOX_RUN.format(path=results))


def _collection_rollback(plan: "Plan", results: Path, api, output: Path, workers: int, target: str, yes: bool,
                         dry_run: bool, confirm: Callable[[str], str], is_terminal: Callable[[], bool] | None,
                         stop: threading.Event | None, talk: "Talk") -> RollbackResult:
    """A collection import's run: its subprofiles first, then the profiles it created."""
    subprofiles = [(row, sid, pid) for sid, (row, pid) in sorted(plan.record.subprofiles.items(), key=lambda kv: kv[1][0])
                   if sid not in plan.done_subprofiles]
    profiles = plan.todo
    counts = {"subprofiles": len(subprofiles), "profiles": len(profiles)}
    total = len(subprofiles) + len(profiles)
    if dry_run:
        for row, sid, pid in subprofiles:
            talk.out(Msg.WOULD_DELETE_SUBPROFILE.format(sid=sid, pid=pid if pid is not None else "?", row=row))
        for row, pid in profiles:
            talk.out(Msg.WOULD_DELETE.format(pid=pid, row=row))
        talk.out(Msg.SUB_DRY_RUN_TOTAL.format(**counts, done=len(plan.done) + len(plan.done_subprofiles)))
        return RollbackResult(output, todo=total)
    if not total:
        talk.out(Msg.SUB_NOTHING_TO_DO.format(created=len(plan.record.created) + len(plan.record.subprofiles),
                                              done=len(plan.done) + len(plan.done_subprofiles)))
        return RollbackResult(output)
    if not yes:
        if not (is_terminal or _stdin_is_terminal)():
            raise UsageError(Msg.SUB_NOT_A_TERMINAL.format(**counts))
        if confirm(Msg.SUB_CONFIRM.format(**counts, path=results, target=target)).strip().lower() != "yes":
            talk.out(Msg.DECLINED)
            return RollbackResult(output, todo=total, declined=True)
    items = [Delete(row, pid, sid) for row, sid, pid in subprofiles]
    note_rollback(journal_path_for(results), output)
    quiet = Talk(lambda text: None)
    layout = output_layout(results, output)
    if isinstance(api, Connection):
        with api.open_client(workers, stop=stop) as client:
            first = delete_all(items, client, output, workers, stop, quiet, layout, collection=True)
            second = _then_profiles(first, profiles, client, output, workers, stop, quiet, layout)
    else:
        first = delete_all(items, api, output, workers, stop, quiet, layout, collection=True)
        second = _then_profiles(first, profiles, api, output, workers, stop, quiet, layout)
    done = RollbackResult(output, todo=total, deleted=first.deleted + second.deleted,
                          already_gone=first.already_gone + second.already_gone, failed=first.failed + second.failed,
                          stopped=first.stopped or second.stopped, error=first.error or second.error)
    say_end(done, talk, Msg.SUB_DONE.format(subprofiles=first.deleted, profiles=second.deleted,
                                            gone=done.already_gone, failed=done.failed, output=output))
    return done


def _then_profiles(first: RollbackResult, profiles: list[tuple[int, int]], client, output: Path, workers: int,
                   stop: threading.Event | None, talk: "Talk", layout: tuple[bool, str]) -> RollbackResult:
    if first.stopped or first.error is not None:
        return RollbackResult(output)
    return delete_all([Delete(row, pid) for row, pid in profiles], client, output, workers, stop, talk, layout,
                       collection=True)


def _stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()
