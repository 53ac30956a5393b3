"""Questions at the terminal: before a real send, and before an --overwrite that would create profiles again.

A question waits for a line on standard input; while it waits, Ctrl-C aborts
at once (``asking`` tells the CLI's signal handler) instead of asking the run
to stop.
"""
from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importer.confirm import Confirmation, OverwriteQuestion


class Msg:
    """The questions."""
    CONFIRM = ("About to import {rows:,} row(s) from {files} into database {database_id} "
               "({database_name!r}) at {host}.")
    CONFIRM_QUESTION = "Send them? Type yes to continue: "
    OVERWRITE_QUESTION = "Create them again anyway? Type yes to continue: "


_prompting = threading.Event()


def asking() -> bool:
    """True while a question waits for its answer."""
    return _prompting.is_set()


def prompt(text: str) -> str:
    """A question at the terminal; Ctrl-C while it waits for the answer aborts."""
    print(text, end="", file=sys.stderr, flush=True)
    _prompting.set()
    try:
        return sys.stdin.readline()
    finally:
        _prompting.clear()


def ask_send(confirmation: Confirmation) -> bool:
    """Before the first row is sent: how many rows, from which files, into which database, where."""
    files = confirmation.files
    names = ", ".join(str(f) for f in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    print(Msg.CONFIRM.format(rows=confirmation.rows, files=names, database_id=confirmation.database_id,
                             database_name=confirmation.database_name, host=confirmation.host), file=sys.stderr)
    return prompt(Msg.CONFIRM_QUESTION).strip().lower() in ("y", "yes")


def ask_overwrite(question: OverwriteQuestion) -> bool:
    """Before an --overwrite in create mode of a run that created profiles."""
    print(question.text, file=sys.stderr)
    return prompt(Msg.OVERWRITE_QUESTION).strip().lower() in ("y", "yes")
