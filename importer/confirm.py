"""What is asked before anything is sent: the confirmation of a real send, and of an --overwrite that
would create profiles a second time.

``needs_confirmation``: a real send to a Copernica on another computer (or
``always_confirm``), unless ``yes`` or a dry run. ``confirm_send`` counts the
rows and names the database and host in a ``Confirmation`` for the caller's
``confirm``; ``guard_overwrite`` asks, through an ``OverwriteQuestion``, before
an --overwrite in create mode of a run that created profiles. Without a way to
ask, both refuse: nothing is sent.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from importer.connection import Connection
from importer.errors import UsageError
from importer.prepare import ImportOptions, load_run_mapping, resolve_schema

if TYPE_CHECKING:
    from importer.batch import BatchOptions


class Msg:
    """What is said when a send is not confirmed (the questions themselves: ``importer.prompt``)."""
    NEEDS_YES = ("refusing to import into {host} without confirmation: no terminal to ask on. "
                 "Add --yes to the command (for cron jobs and scripts); nothing was sent")
    DECLINED = "nothing was sent: the import was not confirmed"
    OVERWRITE_CREATED = ("{results} belongs to an earlier run that created {created:,} profiles (its results and "
                         "journal will be kept under a dated name). Running the file again in create mode would "
                         "create them a second time. To undo that run first: copernica-import rollback {results}; "
                         "or to add only the people not in Copernica yet: --on-existing skip")
    OVERWRITE_PARTLY_ROLLED_BACK = (
        "{results} belongs to an earlier run that created {total:,} profiles; a rollback deleted {rolled_back:,} of "
        "them and did not finish, so {created:,} are still there (its results and journal will be kept under a "
        "dated name). Running the file again in create mode would create those a second time. To finish the "
        "rollback first: copernica-import rollback {results}; or to add only the people not in Copernica yet: "
        "--on-existing skip")


@dataclass(frozen=True)
class Confirmation:
    """What a user confirms before a real send."""
    rows: int
    files: list[Path]
    database_id: int | None
    database_name: str
    host: str


@dataclass(frozen=True)
class OverwriteQuestion:
    """--overwrite of a run that created profiles, in create mode: asked before anything is sent."""
    results: Path
    created: int
    text: str


def needs_confirmation(options: BatchOptions, connection: Connection) -> bool:
    if options.yes or options.dry_run:
        return False
    return options.always_confirm or not connection.is_local


def confirm_send(options: BatchOptions, files: list[Path], client, connection: Connection,
             confirm: Callable[[Confirmation], bool] | None) -> None:
    """Before the first row is sent to a real Copernica: which database, where,
    how many rows. Uses --schema when given, so no request is needed to ask."""
    from importer.prepare import open_input

    if confirm is None:
        raise UsageError(Msg.NEEDS_YES.format(host=connection.host))
    first = options.for_file(files[0])
    mapping = load_run_mapping(first)
    schema = resolve_schema(first, mapping, client)
    rows = 0
    for file in files:
        with open_input(options.for_file(file), mapping) as sheet:
            rows += sum(1 for _ in sheet)
    asked = Confirmation(rows=rows, files=files, database_id=schema.id if schema is not None else mapping.database,
                         database_name=schema.name if schema is not None else "?", host=connection.host)
    if not confirm(asked):
        raise UsageError(Msg.DECLINED)


def guard_overwrite(file_options: ImportOptions, options: BatchOptions,
                     confirm: Callable[[OverwriteQuestion], bool] | None) -> None:
    """--overwrite of a run that created profiles, in create mode, needs an explicit yes."""
    from importer.earlier import earlier_run
    from importer.journal import journal_path_for, rollback_path_for

    if not file_options.overwrite or file_options.resume or file_options.discard_earlier or options.dry_run:
        return
    results = file_options.results_path()
    earlier = earlier_run(journal_path_for(results), rollback_path_for(results))
    remaining = earlier.created - earlier.rolled_back
    if remaining <= 0 or options.yes:
        return
    if load_run_mapping(file_options).on_existing != "create":
        return  # skip/update/upsert look every person up first: nobody is created twice
    text = Msg.OVERWRITE_CREATED.format(results=results, created=remaining) if not earlier.rolled_back else \
        Msg.OVERWRITE_PARTLY_ROLLED_BACK.format(results=results, created=remaining, total=earlier.created,
                                                rolled_back=earlier.rolled_back)
    if confirm is None or not confirm(OverwriteQuestion(results, remaining, text)):
        raise UsageError(text)
