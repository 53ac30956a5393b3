"""Step 1 of the page: where profiles go. Copernica (its address and the person's token), or the sandbox.

The token lives in the ``Destination``'s ``Connection``, in memory only. A
rehearsal with a copy of a real database's structure reads that structure
with the real token, then drops it: the sandbox gets a token of its own.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace

from importer.connection import Connection
from importer.errors import CopernicaImportError, RequestFailed, UsageError
from importer.schema import DatabaseSchema, SchemaFile, dump_schema
from importer.ui.state import State

LOOKUP_RETRIES = 2      # attempts for the page's own look-ups (databases, structure): a person is waiting


class Msg:
    """What choosing where profiles go says."""
    NO_TOKEN = "Give your access token to import into Copernica, or choose the sandbox to rehearse without one."
    NO_DATABASES = "This access token sees no databases at {host}."
    DATABASES_FAILED = "The list of databases could not be read from {host}: {error}"
    UNKNOWN_DATABASE = "There is no database {id} in the list."
    SANDBOX_LABEL = "the built-in sandbox (nothing is sent to Copernica)"
    SANDBOX_COPY_LABEL = ("the built-in sandbox, with a copy of the structure of database {id} ({name}) "
                          "at {host} (nothing is sent to Copernica)")
    COPERNICA_LABEL = "Copernica at {host}"


@dataclass
class Destination:
    """Where profiles go; ``connection`` holds the token (in memory only)."""
    connection: Connection
    label: str
    sandbox: object | None = None          # importer.sandbox.Sandbox when rehearsing
    copy_from: Connection | None = None    # rehearsal with a copy of a real database's structure
    databases: list[tuple[int, str]] = field(default_factory=list)
    schema: DatabaseSchema | None = None   # the chosen database's structure

    @property
    def host(self) -> str:
        return self.connection.host

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None


class DestinationSteps(State):
    """Connecting, choosing the database, disconnecting."""

    def connect(self, *, api_url: str | None, token: str, api_version: int, sandbox: bool) -> None:
        """Copernica (URL + token), or the sandbox (with a token: to copy a database's structure)."""
        self.require_idle()
        if not sandbox and not token:
            raise UsageError(Msg.NO_TOKEN)
        self.disconnect()
        if sandbox and not token:
            self.destination = self._start_sandbox(None)
        else:
            connection = Connection(token=token, api_url=api_url or None, api_version=api_version)
            label = Msg.COPERNICA_LABEL.format(host=connection.host)
            self.destination = Destination(connection, label, copy_from=connection if sandbox else None)
        dest = self.destination
        source = dest.copy_from or dest.connection
        try:
            with replace(source, retries=LOOKUP_RETRIES).open_client(1) as client:
                listed = client.databases()
        except RequestFailed as exc:
            self.disconnect()
            raise UsageError(Msg.DATABASES_FAILED.format(host=source.host, error=exc)) from None
        except CopernicaImportError:
            self.disconnect()
            raise
        dest.databases = sorted((int(d.get("ID", d.get("id", 0))), str(d.get("name", ""))) for d in listed)
        if not dest.databases:
            host = source.host
            self.disconnect()
            raise UsageError(Msg.NO_DATABASES.format(host=host))

    def _start_sandbox(self, schema: DatabaseSchema | None, copied: str | None = None) -> Destination:
        from importer.sandbox import Sandbox

        sandbox = Sandbox(schema=SchemaFile(databases=[schema]) if schema is not None else None,
                          token=secrets.token_urlsafe(24)).start()
        connection = Connection(token=sandbox.token, api_url=sandbox.api_url)
        return Destination(connection, copied or Msg.SANDBOX_LABEL, sandbox=sandbox)

    def choose_database(self, database_id: int) -> None:
        self.require_idle()
        dest = self.require_destination()
        names = dict(dest.databases)
        if database_id not in names:
            raise UsageError(Msg.UNKNOWN_DATABASE.format(id=database_id))
        if dest.copy_from is not None:
            with replace(dest.copy_from, retries=LOOKUP_RETRIES).open_client(1) as client:
                schema = client.fetch_schema(database_id)
            label = Msg.SANDBOX_COPY_LABEL.format(id=database_id, name=names[database_id], host=dest.copy_from.host)
            rehearsal = self._start_sandbox(schema, label)   # the real token is dropped with dest
            rehearsal.databases = [(database_id, names[database_id])]
            self.destination = dest = rehearsal
        else:
            with replace(dest.connection, retries=LOOKUP_RETRIES).open_client(1) as client:
                schema = client.fetch_schema(database_id)
        dest.schema = schema
        (self.folder / "uploads" / "structure.yaml").write_text(dump_schema([schema]), encoding="utf-8")
        if self.table is not None:
            self.table.database = database_id
        if self.upload is not None and self.upload.detection and not self.upload.detection.error:
            self.draft()

    def disconnect(self) -> None:
        dest, self.destination = self.destination, None
        if dest is not None and dest.sandbox is not None:
            dest.sandbox.close()
