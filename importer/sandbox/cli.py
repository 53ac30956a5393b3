"""``copernica-import sandbox`` (or ``python -m importer.sandbox``): run the sandbox.

The first line on stdout is always ``Sandbox listening on URL (token: ...)``
so scripts and tests can read the port; it runs until SIGINT or SIGTERM and
then exits 0. ``--dump`` prints a sandbox database file's profiles as JSON
lines, then its subprofiles (each with ``"subprofile": true``), and exits.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from importer.errors import CopernicaImportError, UsageError
from importer.sandbox.api import profile_json, subprofile_json
from importer.sandbox.faults import Faults
from importer.sandbox.messages import Msg
from importer.sandbox.server import DEFAULT_TOKEN, Sandbox, default_schema
from importer.sandbox.store import read_all_profiles, read_all_subprofiles
from importer.schema import SchemaFile, load_schema_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="copernica-import sandbox",
        description="Run a local stand-in for the Copernica REST API: rehearse an import against "
                    "a copy of your database's structure, with faults on demand, before touching production.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one, shown on the first line)")
    p.add_argument("--schema", type=Path, help="database structure YAML (default: the built-in 'Contacts' database 1)")
    p.add_argument("--db", type=Path, help="SQLite file keeping the profiles (default: temporary, deleted at exit)")
    p.add_argument("--token", help=f"access token clients must send (default {DEFAULT_TOKEN!r}); "
                                   "prefer --token-file, command lines are visible to other users")
    p.add_argument("--token-file", type=Path, help="read the access token from this file")
    p.add_argument("--dump", action="store_true",
                   help="print the profiles (then the subprofiles) stored in --db as JSON lines, then exit")
    f = p.add_argument_group("faults (rates are 0..1, e.g. 0.1 = one request in ten)")
    f.add_argument("--latency-ms", type=float, default=0, help="added to every API request")
    f.add_argument("--jitter-ms", type=float, default=0, help="plus a random 0..MS")
    f.add_argument("--capacity", type=int, help="more requests in flight than this get 503 'too many requests'")
    f.add_argument("--seed", type=int, default=0, help="random seed, for repeatable runs")
    f.add_argument("--rate-429", type=float, default=0.0, help="answer 429 Too Many Requests")
    f.add_argument("--rate-503", type=float, default=0.0, help="answer 503 Loadbalancer Error")
    f.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds on 429/503 (default 1)")
    f.add_argument("--drop-before-store", type=float, default=0.0, help="close the connection, nothing stored")
    f.add_argument("--drop-after-store", type=float, default=0.0,
                   help="store the profile, then close the connection without answering")
    f.add_argument("--slow-after-store", type=float, default=0.0,
                   help="store the profile, then answer only after --slow-seconds")
    f.add_argument("--slow-seconds", type=float, default=3.0, help="delay for --slow-after-store (default 3)")
    f.add_argument("--expire-token-after", type=int, metavar="K",
                   help="from the K-th API request on, answer 'Invalid access token'")
    f.add_argument("--lookup-lag-ms", type=float, default=0,
                   help="look-ups do not see profiles younger than this (a store that lags behind writes)")
    f.add_argument("--jwt-lifetime", type=float, default=86400, help="seconds a v4 JWT stays valid (default 86400)")
    return p


def faults_from(args: argparse.Namespace) -> Faults:
    try:
        # every Faults setting has an option of the same name (--rate-503 -> rate_503)
        return Faults(**{name: getattr(args, name) for name in Faults.field_names()})
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def token_from(args: argparse.Namespace) -> tuple[str, bool]:
    """The token and whether the user chose it (a chosen token is never printed)."""
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(Msg.CLI_TOKEN_FILE_UNREADABLE.format(path=args.token_file,
                                                                       reason=exc.strerror)) from None
        if not token:
            raise UsageError(Msg.CLI_TOKEN_FILE_EMPTY.format(path=args.token_file))
        return token, True
    if args.token:
        return args.token, True
    return DEFAULT_TOKEN, False


def dump(db_path: Path | None, schema: SchemaFile) -> None:
    if db_path is None:
        raise UsageError(Msg.CLI_DUMP_NEEDS_DB)
    if not db_path.exists():
        raise UsageError(Msg.CLI_DB_MISSING.format(path=db_path))
    databases = {db.id: db for db in schema.databases}
    collections = {c.id: c for db in schema.databases for c in db.collections}
    for line in _dumped(db_path, databases, collections):
        try:
            print(json.dumps(line, ensure_ascii=False))
        except BrokenPipeError:  # `--dump | head`: the reader has seen enough
            sys.stdout = None  # type: ignore[assignment]  # no second error at exit
            return


def _dumped(db_path: Path, databases: dict, collections: dict) -> Iterator[dict[str, Any]]:
    for profile in read_all_profiles(db_path):
        db = databases.get(profile.database_id)
        yield profile_json(db, profile) if db else {
            "ID": profile.id, "fields": profile.fields, "interests": profile.interests,
            "database": profile.database_id, "created": profile.created, "modified": profile.modified,
            "removed": profile.removed is not None}
    for sp in read_all_subprofiles(db_path):
        collection = collections.get(sp.collection_id)
        line = subprofile_json(collection, sp) if collection else {
            "ID": sp.id, "fields": sp.fields, "profile": sp.profile_id, "collection": sp.collection_id,
            "created": sp.created, "modified": sp.modified, "removed": sp.removed is not None}
        yield {"subprofile": True} | line


def serve(args: argparse.Namespace, schema: SchemaFile) -> None:
    token, chosen = token_from(args)
    sandbox = Sandbox(schema=schema, token=token, db_path=args.db, faults=faults_from(args),
                      host=args.host, port=args.port)
    try:
        sandbox.start()
    except OSError as exc:
        sandbox.store.close()
        raise UsageError(Msg.CLI_PORT_IN_USE.format(host=args.host, port=args.port,
                                                         reason=exc.strerror or exc)) from None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        first = (Msg.CLI_LISTENING_WITH_USER_TOKEN if chosen
                 else Msg.CLI_LISTENING_WITH_DEFAULT_TOKEN)
        print(first.format(api_url=sandbox.api_url, token=token), flush=True)
        db = args.db if args.db is not None else Msg.CLI_TEMPORARY_DB
        print(Msg.CLI_DETAILS.format(base_url=sandbox.base_url, auth_url=sandbox.auth_url, db=db),
              flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.close()
    print(Msg.CLI_STOPPED, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        schema = load_schema_file(args.schema) if args.schema else default_schema()
        if args.dump:
            dump(args.db, schema)
        else:
            serve(args, schema)
    except CopernicaImportError as exc:
        print(f"copernica-import sandbox: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0
