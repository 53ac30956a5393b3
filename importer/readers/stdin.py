"""``-`` as the input: standard input, copied to a temporary spool file.

    with spool_stdin(sys.stdin.buffer, "csv") as spooled:
        spooled.path      # /tmp/copernica-import-stdin-.../stdin-3f2a9c01be47.csv
        spooled.digest    # sha256 of the bytes that came through

Why a spool and not rows straight from the pipe: the reader checks every
byte of a text file before the first row is sent (a bad byte at row 900,000
must stop the run before anything leaves, not halfway), a workbook needs
seeking, and ``--resume`` must recognise the same data when it is piped in
again: the spool is named after the digest of its content, so its results
file and journal are too (``stdin-3f2a9c01be47.results.csv``). The copy is
made in chunks (memory stays flat; the disk holds one copy of the input, in
``$TMPDIR``) and is removed when the ``with`` block ends.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from importer.errors import InputFileError, UsageError
from importer.readers import detect

STDIN = "-"
CHUNK = 1024 * 1024
# --format values and the suffix the spool gets (the reader goes by the suffix)
FORMATS = {"csv": ".csv", "tsv": ".tsv", "csv.gz": ".csv.gz", "xlsx": ".xlsx", "xls": ".xls", "ods": ".ods",
           "json": ".json", "ndjson": ".ndjson"}
SPOOL_FOLDER_PREFIX = "copernica-import-stdin-"
SPOOL_NAME_PREFIX = "stdin-"


class Msg:
    """What a user reads about standard input."""
    TERMINAL = ("'-' reads the file from standard input, but standard input is this terminal. Pipe the data in, "
                "for example: cat contacts.csv | copernica-import run - --format csv --mapping M.yaml")
    EMPTY = "nothing came through standard input: it was empty (nothing to import)"
    READ_FAILED = "standard input could not be read ({why})"
    SPOOL_FAILED = "standard input could not be copied to a temporary file in {folder} ({why}); set TMPDIR to a folder with room"
    BAD_FORMAT = "--format must be one of {formats}, not {value!r}"
    ARRAY_AS_NDJSON = ("standard input starts with '[': it is a JSON array, not NDJSON (one object per line); "
                       "use --format json")
    NAME = "standard input"


@dataclass(frozen=True)
class Spooled:
    """Standard input, copied: where it is, its content digest and its format."""
    path: Path
    digest: str
    format: str

    @property
    def name(self) -> str:
        return self.path.name


def spool_name(digest: str, format: str) -> str:
    """stdin-<first 12 hex digits of the sha256>.<format's suffix>: the same data, the same name."""
    return f"{SPOOL_NAME_PREFIX}{digest[:12]}{FORMATS[format]}"


def shown_name(path: Path) -> str:
    """How a file is named to the user: 'standard input' for the spool of '-', else its name."""
    if path.name.startswith(SPOOL_NAME_PREFIX) and path.parent.name.startswith(SPOOL_FOLDER_PREFIX):
        return Msg.NAME
    return path.name


@contextmanager
def spool_stdin(stream: BinaryIO, format: str | None = None, *, folder: Path | None = None) -> Iterator[Spooled]:
    """Copies ``stream`` to a temporary file named after its digest; removed afterwards
    (unless it was moved away, for example into the archive)."""
    if format is not None and format not in FORMATS:
        raise UsageError(Msg.BAD_FORMAT.format(formats=", ".join(FORMATS), value=format))
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        raise UsageError(Msg.TERMINAL)
    base = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    try:
        workdir = Path(tempfile.mkdtemp(prefix=SPOOL_FOLDER_PREFIX, dir=base))
    except OSError as exc:
        raise InputFileError(Msg.SPOOL_FAILED.format(folder=base, why=exc.strerror or exc)) from None
    try:
        raw = workdir / "stdin.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with raw.open("wb") as out:
                while True:
                    try:
                        chunk = stream.read(CHUNK)
                    except OSError as exc:
                        raise InputFileError(Msg.READ_FAILED.format(why=exc.strerror or exc)) from None
                    if not chunk:
                        break
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except OSError as exc:
            raise InputFileError(Msg.SPOOL_FAILED.format(folder=workdir, why=exc.strerror or exc)) from None
        if size == 0:
            raise InputFileError(Msg.EMPTY)
        chosen = format or detect.guess_format(raw)
        if chosen == "ndjson" and detect.starts_json_array(raw):
            raise UsageError(Msg.ARRAY_AS_NDJSON)
        path = workdir / spool_name(digest.hexdigest(), chosen)
        os.replace(raw, path)
        yield Spooled(path, digest.hexdigest(), chosen)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
