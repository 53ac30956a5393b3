"""The Sandbox: a Copernica-compatible API server on a free port, for tests and rehearsals.

``Sandbox`` holds the schema, the profile store, the faults and the counters,
starts and stops the HTTP server (``importer.sandbox.handler``, which
describes the paths served) and offers the same inspection and control to
Python that ``/_sandbox/...`` offers over HTTP.
"""
from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Any

from importer.sandbox.api import CopernicaApi, profile_json, subprofile_json
from importer.sandbox.auth import JwtIssuer
from importer.sandbox.faults import FaultInjector, Faults
from importer.sandbox.handler import AUTH_PATH, HttpServer
from importer.sandbox.messages import Msg
from importer.sandbox.store import ProfileStore
from importer.schema import SchemaFile, load_schema_file

DEFAULT_TOKEN = "sandbox-token"


def default_schema() -> SchemaFile:
    """The built-in schema (database 1 "Contacts" of the demo)."""
    with resources.as_file(resources.files("importer.sandbox") / "default_schema.yaml") as path:
        return load_schema_file(path)


class Stats:
    """Counters of what the sandbox answered; safe across request threads."""

    COUNTERS = ("requests", "posts", "stored", "updated", "deleted", "dropped", "dropped_before_store",
                "dropped_after_store", "slow", "rate_limited", "unavailable", "over_capacity",
                "invalid_token", "jwts_issued")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._counts = dict.fromkeys(self.COUNTERS, 0)
            self._by_status: dict[str, int] = {}

    def add(self, counter: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[counter] += amount

    def answered(self, status: int) -> None:
        with self._lock:
            self._by_status[str(status)] = self._by_status.get(str(status), 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._counts) | {"by_status": dict(self._by_status)}


class Sandbox:
    """A Copernica-compatible API server on a free port, for tests and rehearsals.

    >>> with Sandbox(token="test-token") as sb:
    ...     requests.post(f"{sb.api_url}/database/1/profiles", params={"access_token": "test-token"},
    ...                   json={"fields": {"email": "a@b.c"}})
    """

    def __init__(self, schema: str | Path | SchemaFile | None = None, token: str = DEFAULT_TOKEN,
                 db_path: str | Path | None = None, faults: Faults | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        if isinstance(schema, SchemaFile):
            self.schema = schema
        else:
            self.schema = load_schema_file(schema) if schema is not None else default_schema()
        self.token = token
        self.host = host
        self.injector = FaultInjector(faults or Faults())
        self.jwts = JwtIssuer()
        self.stats_counter = Stats()
        self.stop_event = threading.Event()
        field_names = {f.name for db in self.schema.databases for f in db.fields}
        collection_field_names = {f.name for db in self.schema.databases for c in db.collections for f in c.fields}
        self.store = ProfileStore(db_path, indexed_fields=field_names, indexed_collection_fields=collection_field_names)
        self.api = CopernicaApi(self.schema, self.store, visible=self.injector.visible)
        self._requested_port = port
        self._http: HttpServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---
    def start(self) -> "Sandbox":
        """Listen and serve in a background thread (raises OSError if the port is taken)."""
        self._http = HttpServer((self.host, self._requested_port), self)
        # a short poll interval makes close() fast: test suites start hundreds of sandboxes
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="copernica-sandbox", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.stop_event.set()   # ends latency and slow-answer waits at once
        if self._http is not None:
            self._http.shutdown()
            self._http.close_all_connections()
            self._http.server_close()
            self._http = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.store.close()

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- addresses ---
    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the sandbox is not running; use it as a context manager or call start()")
        return self._http.server_address[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v3"

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}{AUTH_PATH}"

    @property
    def db_path(self) -> Path:
        return self.store.path

    # --- inspection and control ---
    def profiles(self, database_id: int | None = None) -> list[dict[str, Any]]:
        """Live profiles as the API returns them, oldest first; all databases when None."""
        out = []
        for db in self.schema.databases:
            if database_id is None or db.id == database_id:
                found, _ = self.store.find(db.id, [])
                out.extend(profile_json(db, p) for p in found)
        return out

    def subprofiles(self, collection_id: int | None = None, *, profile: int | None = None) -> list[dict[str, Any]]:
        """Live subprofiles as the API returns them (with ``profile`` and ``collection``), oldest first;
        every collection when ``collection_id`` is None, one profile's when ``profile`` is given."""
        out = []
        for db in self.schema.databases:
            for c in db.collections:
                if collection_id is None or c.id == collection_id:
                    found, _ = self.store.find_subprofiles(c.id or 0, [], profile_id=profile)
                    out.extend(subprofile_json(c, sp) for sp in found)
        return sorted(out, key=lambda sp: sp["ID"])

    @property
    def faults(self) -> Faults:
        return self.injector.faults

    def set_faults(self, **changes: Any) -> Faults:
        """Change faults while running, e.g. ``sb.set_faults(rate_503=0.1)``."""
        return self.injector.set_faults(**changes)

    @staticmethod
    def fault_change_problem(changes: dict[str, Any]) -> str | None:
        known = Faults.field_names()
        for name in changes:
            if name not in known:
                return Msg.INSPECTION_UNKNOWN_FAULT.format(name=name, known=", ".join(known))
        try:
            Faults().replaced(**changes)
        except (TypeError, ValueError) as exc:
            return Msg.INSPECTION_BAD_FAULT_VALUE.format(name=", ".join(changes), problem=exc)
        return None

    def stats(self) -> dict[str, Any]:
        in_flight, max_in_flight = self.injector.in_flight()
        return self.stats_counter.snapshot() | {"in_flight": in_flight, "max_in_flight": max_in_flight,
                                                "profiles": self.store.count(),
                                                "subprofiles": self.store.count_subprofiles()}

    def reset_stats(self) -> None:
        self.stats_counter.reset()
        self.injector.reset_max_in_flight()

    def expire_jwts(self) -> None:
        """Revoke every v4 JWT handed out so far: the next v4 call gets 401."""
        self.jwts.expire_all()
