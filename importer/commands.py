"""The bodies of the check, init and schema commands, as library calls: plain values in, an exit code out.

``importer.cli`` parses their arguments and reads the token (``connect``
makes the Connection when one is needed, so a missing token is reported where
it always was); what they print and write is here.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from importer.errors import CopernicaImportError, UsageError

if TYPE_CHECKING:
    from importer.connection import Connection
    from importer.prepare import ImportOptions


class Msg:
    """What the commands say when they are done."""
    DRAFT_WRITTEN = "Draft mapping written to {out}; review it, then: {command}"
    DRAFT_EXISTS = "{out} exists already; choose another --output (it is not overwritten)"
    SCHEMA_WRITTEN = ("Database {id} ({name}): {fields} fields, {interests} interests, {collections} collections "
                      "written to {out}")


def check(options: ImportOptions, connect: Callable[[], Connection | None], *, report: str | None,
          input_format: str | None, json_out: bool, summary_json: str | None, stdin: BinaryIO | None = None) -> int:
    """``check``: every row read, mapped and checked, nothing sent. The summary is printed (on stderr when
    stdout carries data), ``report`` written ('-': to stdout), and with ``json_out``/``summary_json`` the JSON
    summary, even when the check ends in an error. Returns 0, or 1 when some rows are invalid."""
    from importer.batch import check_input
    from importer.progress import Progress
    from importer.settings import stdout_outputs
    from importer.summary import combined_dict
    from importer.terminal import copy_to_stdout, write_output
    from importer.times import local_text

    to_stdout = stdout_outputs(json=json_out, summary_json=summary_json, report=report)
    started, summary, error = local_text(), None, None
    try:
        connection = connect()
        progress = Progress(quiet=False, check=True)
        with check_input(options, connection, report=report, input_format=input_format,
                         stdin=stdin if stdin is not None else sys.stdin.buffer,
                         on_outcome=progress.update) as summary:
            progress.close()
            report_path = summary.results_path
            if report == "-":
                summary.results_path = None  # a temporary file: the report is on stdout
            print(summary.format_text(), file=sys.stderr if to_stdout else sys.stdout)
            if report == "-":
                copy_to_stdout(report_path)
    except CopernicaImportError as exc:
        error = exc
        raise
    finally:
        if json_out or summary_json:
            code = error.exit_code if error is not None else (1 if summary is not None and summary.exit_code else 0)
            document = combined_dict([summary] if summary is not None else [], exit_code=code, command="check",
                                     error=str(error) if error is not None else None, started_at=started,
                                     finished_at=local_text())
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
            for target in {t for t in (summary_json, "-" if json_out else None) if t}:
                write_output(target, text)
    return 1 if summary.exit_code else 0


def init(file: str, *, schema: str | None, database: int | None, connect: Callable[[], Connection],
         encoding: str | None, delimiter: str | None, sheet: str | None, header_row: int | None,
         output: str | None) -> int:
    """``init``: a draft mapping from the file's headers and first rows, matched to the database's fields
    (``schema``, a structure file, or the API's for ``database``); printed, or written to ``output``."""
    from importer.draft import draft_mapping
    from importer.reader import open_sheet
    from importer.schema import load_schema_file

    structure = None
    if schema:
        schema_file = load_schema_file(schema)
        structure = schema_file.database(database) if database else schema_file.databases[0]
    elif database:
        with connect().open_client() as client:
            structure = client.fetch_schema(database)
    with open_sheet(file, encoding=encoding, delimiter=delimiter, sheet=sheet,
                    header_row=header_row, allow_no_header=True) as opened:
        opened.announce()
        samples = []
        for row in opened:
            samples.append(row)
            if len(samples) >= 200:
                break
        text = draft_mapping(opened.headers, samples, structure,
                             database_id=structure.id if structure else database, no_header=not opened.has_header,
                             header_row=opened.header_row if opened.has_header else None)
    if not output:
        sys.stdout.write(text)
        return 0
    out = Path(output)
    if out.exists():
        raise UsageError(Msg.DRAFT_EXISTS.format(out=out))
    out.write_text(text, encoding="utf-8")
    command = check_command(file, output, encoding=encoding, delimiter=delimiter, sheet=sheet, header_row=header_row)
    print(Msg.DRAFT_WRITTEN.format(out=out, command=command), file=sys.stderr)
    return 0


def check_command(file: str, mapping: str, *, encoding: str | None, delimiter: str | None, sheet: str | None,
                  header_row: int | None) -> str:
    """The ``check`` command line that reads ``file`` as ``init`` read it: every reading option it was given
    (the mapping does not hold them), each word shell-quoted."""
    import shlex

    words = ["copernica-import", "check", file, "--mapping", mapping]
    for option, value in (("--sheet", sheet), ("--encoding", encoding), ("--delimiter", delimiter),
                          ("--header-row", header_row)):
        if value is not None:
            words += [option, str(value)]
    return shlex.join(words)


def schema(connection: Connection, database: int, output: str | None) -> int:
    """``schema``: a database's fields, interests and collections as a structure file; printed, or written."""
    from importer.schema import dump_schema

    with connection.open_client() as client:
        db = client.fetch_schema(database, collections=True)
    text = dump_schema([db])
    if not output:
        sys.stdout.write(text)
        return 0
    Path(output).write_text(text, encoding="utf-8")
    print(Msg.SCHEMA_WRITTEN.format(id=db.id, name=db.name, fields=len(db.fields), interests=len(db.interests),
                                    collections=len(db.collections), out=output), file=sys.stderr)
    return 0
