"""Every error the tool reports, in one tree.

Row-level problems found before sending are not exceptions: they are
``RowError`` values with reason codes (``importer.models``). What is raised
is one of these; ``str(exc)`` is the sentence a user reads, and every bit of
context is set by the constructor. ``exit_code`` is a property of the type::

    CopernicaImportError               exit 2: stopped before anything was sent (a setup problem)
    ├── UsageError                     bad options, arguments, environment or jobs file
    │   └── NoInputFiles               exit 66: --expect-files, and no input file was found
    ├── InputFileError                 the input file cannot be read as a table
    │   └── HeaderRowMissing           the header row set (header_row, --header-row) is empty or past the end
    ├── MappingError                   the mapping file is wrong, or does not fit the file
    ├── SchemaError                    the mapping does not fit the database's structure
    ├── JournalError                   the run's journal is missing or of another import
    │   └── RunBusy                    exit 75: another run holds this journal (or job) right now
    │       └── DatabaseBusy           another run on this computer is sending to the same database
    ├── OutputError                    a results, journal or report file cannot be written
    ├── ApiError                       Copernica's answer stops the whole command
    │   ├── InvalidTokenError          the access token is refused
    │   ├── DatabaseNotFound           no database with that ID for this token
    │   └── ApiUnavailable             Copernica answered nonsense
    │       └── ApiUnreachable         exit 75: Copernica could not be reached (nothing sent)
    ├── RunStopped                     exit 3: stopped after rows were sent; --resume continues
    └── RequestFailed                  one request did not succeed (the sender makes it a row's outcome)
        ├── RequestRefused             Copernica refused it: sending it again will not help
        ├── TemporaryFailure           retries ran out; it was certainly not processed
        └── AnswerLost                 it was sent and its answer lost: it may have been processed

Exit 75 (``EXIT_TEMPORARY``, sysexits' EX_TEMPFAIL) means nothing was sent
and nothing is wrong with the setup: the same command later will work (the
README's crontab line gives ``flock -n -E 75`` the same code for an
overlapping night). Exit 66 (``EXIT_NO_INPUT``, EX_NOINPUT) is a night
without input under ``--expect-files``.

A ``RequestFailed`` never reaches the user on its own: the sender turns it
into a row's outcome, and calls made before any row (reading the database's
structure) turn it into an ``ApiError``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importer.models import StopReason


class Msg:
    """The texts of the errors built here."""
    INVALID_TOKEN = ("Copernica does not accept the access token (\"Invalid access token\"). "
                     "Check COPERNICA_ACCESS_TOKEN or --token-file; nothing more will be sent.")
    INVALID_TOKEN_V4 = ("Copernica's authentication service does not accept the access token "
                        "(HTTP {status}). Check COPERNICA_ACCESS_TOKEN or --token-file, and --api-version.")
    NO_DATABASE = "Copernica has no database with ID {database_id} for this access token"
    NO_DATABASE_IN_SANDBOX = ("the built-in sandbox has no database with ID {database_id}; it has {databases}. "
                              "To rehearse with your own database's structure: copernica-import schema "
                              "--database ID --output S.yaml, then run --sandbox --schema S.yaml (or use "
                              "--database with one of the sandbox's)")


EXIT_NO_INPUT = 66     # --expect-files and no input file found
EXIT_TEMPORARY = 75    # nothing sent, nothing wrong with the setup: try again later


class CopernicaImportError(Exception):
    """Root of every error the tool reports; ``str()`` is for the user."""
    exit_code = 2


class UsageError(CopernicaImportError):
    """Bad command-line arguments, options or environment settings."""


class NoInputFiles(UsageError):
    """``--expect-files``: the patterns found no input file (a feed that did not arrive)."""
    exit_code = EXIT_NO_INPUT


class InputFileError(CopernicaImportError):
    """The input file cannot be read as a spreadsheet."""


class HeaderRowMissing(InputFileError):
    """The header row set (``header_row: N``, ``--header-row N``) is empty or past the file's last row."""

    def __init__(self, message: str, row: int, why: str) -> None:
        super().__init__(message)
        self.row = row
        self.why = why      # "that row is empty", "the file has no row N"


class MappingError(CopernicaImportError):
    """The mapping file is invalid or does not fit the input file."""


class SchemaError(CopernicaImportError):
    """The mapping does not fit the database's structure."""


class JournalError(CopernicaImportError):
    """The journal cannot be used for this run (locked, mismatched, missing)."""


class RunBusy(JournalError):
    """Another run holds this run's journal (or job) right now: try again later."""
    exit_code = EXIT_TEMPORARY


class DatabaseBusy(RunBusy):
    """Another run on this computer is sending to the same database right now."""


class OutputError(CopernicaImportError):
    """A file the tool writes (results, journal, report) cannot be written."""

    def __init__(self, path: object, why: str) -> None:
        super().__init__(f"cannot write {path}: {why}")
        self.path = path
        self.why = why


class ApiError(CopernicaImportError):
    """Copernica's answer stops the whole command: every row would fail alike."""


class InvalidTokenError(ApiError):
    """Copernica refused the access token (400 "Invalid access token", or 401).

    ``maybe_stored``: the request it answered may have been stored (the
    answer to an earlier attempt of the same POST was lost).
    """

    def __init__(self, *, api_version: int = 3, status: int | None = None, maybe_stored: bool = False) -> None:
        text = Msg.INVALID_TOKEN_V4.format(status=status) if api_version == 4 and status else Msg.INVALID_TOKEN
        super().__init__(text)
        self.api_version = api_version
        self.status = status
        self.maybe_stored = maybe_stored


class DatabaseNotFound(ApiError):
    """"No database with supplied ID"; names what a sandbox has, when it is one."""

    def __init__(self, database_id: int | None, *, sandbox_databases: str | None = None) -> None:
        shown = "?" if database_id is None else database_id
        if sandbox_databases is None:
            text = Msg.NO_DATABASE.format(database_id=shown)
        else:
            text = Msg.NO_DATABASE_IN_SANDBOX.format(database_id=shown, databases=sandbox_databases)
        super().__init__(text)
        self.database_id = database_id
        self.sandbox_databases = sandbox_databases


class ApiUnavailable(ApiError):
    """Copernica answered something that is not its API (or could not be reached: ``ApiUnreachable``)."""


class ApiUnreachable(ApiUnavailable):
    """Copernica could not be reached after every retry; nothing was sent. Temporary: try again later."""
    exit_code = EXIT_TEMPORARY


class RunStopped(CopernicaImportError):
    """The run stopped after rows were sent; ``--resume`` continues it.

    ``reason`` says why, ``cause`` is the error behind it (if any), ``sent``
    how many rows had left.
    """
    exit_code = 3

    def __init__(self, reason: "StopReason", message: str, *, cause: CopernicaImportError | None = None,
                 sent: int = 0) -> None:
        super().__init__(message)
        self.reason = reason
        self.cause = cause
        self.sent = sent


class RequestFailed(CopernicaImportError):
    """A request for one row did not succeed; ``str()`` is for a marketer.

    ``attempts`` counts the tries made; ``reason_code`` is the code its row's
    outcome gets.
    """
    reason_code = "refused"

    def __init__(self, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts

    def __str__(self) -> str:
        return self.message


class RequestRefused(RequestFailed):
    """Copernica answered with an error (usually 400); retrying will not help.

    ``api_message`` is Copernica's own text, when it sent one.
    """
    reason_code = "refused"

    def __init__(self, message: str, attempts: int = 1, *, status: int | None = None,
                 api_message: str = "") -> None:
        super().__init__(message, attempts)
        self.status = status
        self.api_message = api_message


class TemporaryFailure(RequestFailed):
    """Retries ran out; the request was certainly not processed. ``no_connection``: the last
    try found no server at all (refused, no such host, connecting timed out), not a busy one."""
    reason_code = "unreachable"
    no_connection = False


class AnswerLost(RequestFailed):
    """The request was sent and its answer lost or unclear: it may have been processed."""
    reason_code = "answer_lost"
