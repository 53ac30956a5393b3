"""Hostile files are refused fast and small (issue 13, point 9).

Builds the files the issue names, and a few more, then runs
``python -m importer check FILE --mapping M.yaml --offline`` on each as a
separate process, measuring its wall time and its peak memory (RSS, from
``os.wait4``). The target for each: refused with one ``error:`` line and exit
2, in under 10 s and under 300 MB RSS. Prints a table; exits 1 if a target is
missed.

    python benchmarks/hostile_files.py [--keep DIR]

Building the files takes a minute (gigabytes are compressed); only the
refusals are measured.
"""
from __future__ import annotations

import argparse
import gzip
import itertools
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIME_LIMIT_S = 10.0
RSS_LIMIT_MB = 300.0
CHUNK = 8 * 1024 * 1024

SHEET = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
         b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>')
WORKBOOK = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            b'2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            b'<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
BOOK_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
             b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
             b'2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://'
             b'schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"'
             b'/></Relationships>')
TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
         b'content-types"><Default Extension="xml" ContentType="application/xml"/><Default Extension="rels" '
         b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override PartName="/xl/'
         b'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
         b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
         b'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
         b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')


def _repeat(piece: bytes, total: int):
    block = piece * max(1, CHUNK // len(piece))
    written = 0
    while written < total:
        part = block[: total - written]
        written += len(part)
        yield part


def xlsx_with(path: Path, shared_strings: Iterable[bytes], sheet: bytes = SHEET) -> Path:
    """A minimal workbook whose shared strings part is streamed from pieces."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", BOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            for piece in shared_strings:
                part.write(piece)
            part.write(b"</sst>")
    return path


def millions_of_shared_strings(folder: Path) -> Path:
    """The issue's 2 MB .xlsx: shared strings that unpack to ~100 million entries (1.7 GB)."""
    return xlsx_with(folder / "millions-of-strings.xlsx", _repeat(b"<si><t>x</t></si>", 1_700_000_000))


def one_huge_shared_string(folder: Path) -> Path:
    """The issue's 1.5 GB shared string."""
    return xlsx_with(folder / "huge-string.xlsx",
                     itertools.chain([b"<si><t>"], _repeat(b"A", 1_500_000_000), [b"</t></si>"]))


def long_random_shared_string(folder: Path) -> Path:
    """One 100 MB shared string of random letters: it packs too badly for the
    ratio limit, so the cell-length limit (Excel's 32,767 characters) refuses it."""
    letters = bytes(97 + b % 26 for b in range(256))
    pieces = (os.urandom(CHUNK).translate(letters) for _ in range(100 * 1024 ** 2 // CHUNK))
    return xlsx_with(folder / "random-string.xlsx", itertools.chain([b"<si><t>"], pieces, [b"</t></si>"]))


def gz_one_endless_line(folder: Path) -> Path:
    """The issue's 2 MB .csv.gz holding one 2 GB line."""
    path = folder / "endless-line.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"Email,Name\n")
        for part in _repeat(b"a", 2_000_000_000):
            out.write(part)
    return path


def gz_many_lines(folder: Path) -> Path:
    """A .csv.gz of ordinary-looking rows that unpacks to 3 GB."""
    path = folder / "many-lines.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"Email,Name\n")
        for part in _repeat(b"p@example.com,Jan\n", 3_000_000_000):
            out.write(part)
    return path


def plain_endless_line(folder: Path) -> Path:
    """An uncompressed .csv whose second line is 200 MB long."""
    path = folder / "endless-line.csv"
    with path.open("wb") as out:
        out.write(b"Email,Name\n")
        for part in _repeat(b"b", 200_000_000):
            out.write(part)
    return path


def yaml_alias_bomb(folder: Path) -> Path:
    """The issue's YAML alias bomb: nine levels of nine aliases (a billion values)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        previous, name = chr(96 + level), chr(97 + level)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    path = folder / "alias-bomb.yaml"
    path.write_text("\n".join(lines) + "\nfields:\n  email: Email\n")
    return path


def measure(command: list[str]) -> tuple[float, float, int, str]:
    """(seconds, peak RSS in MB, exit code, last stderr line) of one process."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    return seconds, usage.ru_maxrss / 1024, process.returncode, (errors or stderr.splitlines() or [""])[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="build the files here and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    mapping = folder / "m.yaml"
    mapping.write_text("fields:\n  email: Email\n")
    csv = folder / "ok.csv"
    csv.write_text("Email,Name\np@example.com,Jan\n")
    cases = []
    for build in (millions_of_shared_strings, one_huge_shared_string, long_random_shared_string,
                  gz_one_endless_line, gz_many_lines, plain_endless_line):
        print(f"building {build.__name__} ...", file=sys.stderr, flush=True)
        path = build(folder)
        cases.append((build.__name__, path, [sys.executable, "-m", "importer", "check", str(path),
                                             "--mapping", str(mapping), "--offline"]))
    bomb = yaml_alias_bomb(folder)
    cases.append(("yaml_alias_bomb", bomb, [sys.executable, "-m", "importer", "check", str(csv),
                                            "--mapping", str(bomb), "--offline"]))
    print(f"\n{'file':28} {'size':>10} {'exit':>4} {'seconds':>8} {'peak RSS':>9}  refusal")
    missed = 0
    for name, path, command in cases:
        seconds, rss, code, line = measure(command)
        ok = code == 2 and line.startswith("error:") and seconds < TIME_LIMIT_S and rss < RSS_LIMIT_MB
        missed += not ok
        size = path.stat().st_size
        shown = f"{size / 1024 ** 2:.1f} MB" if size >= 1024 ** 2 else f"{size / 1024:.1f} kB"
        print(f"{name:28} {shown:>10} {code:>4} {seconds:>8.2f} {rss:>6.0f} MB  {'ok  ' if ok else 'MISS'} "
              f"{line[:150]}")
    print(f"\ntargets: exit 2 with one error line, under {TIME_LIMIT_S:.0f} s and {RSS_LIMIT_MB:.0f} MB RSS each; "
          f"{len(cases) - missed} of {len(cases)} met")
    if not args.keep:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
