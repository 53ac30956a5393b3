"""What a file really is: its format (by name, checked against its content)
and its delimiter. Its text encoding is found by ``importer.readers.encoding``."""
from __future__ import annotations

import codecs
import csv
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from importer.errors import InputFileError, UsageError
from importer.readers.messages import Msg

TEXT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "txt"}
JSON_FORMATS = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}  # read by readers/objects.py
WORKBOOK_FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods"}
JSON_LINES_FORMATS = {".ndjson": "ndjson", ".jsonl": "ndjson"}
TAB_SEPARATED = {"tsv", "txt"}
SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz",
                      ".xlsx", ".xlsm", ".xls", ".ods", ".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz",
                      ".jsonl.gz")

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # old .xls, and encrypted .xlsx
GZIP_MAGIC = b"\x1f\x8b"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

SAMPLE_BYTES = 64 * 1024
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True, slots=True)
class FileKind:
    format: str            # "csv" | "tsv" | "txt" | "xlsx" | "xls" | "ods", plus ".gz" when compressed
    base: str              # the format without compression
    gzip: bool


# --- format --------------------------------------------------------------------

def lock_file_owner(path: Path) -> tuple[str, str] | None:
    """(program, the file it locks) when ``path`` is an office lock file:
    Excel's ``~$name.xlsx`` or LibreOffice's ``.~lock.name#``."""
    name = path.name
    if name.startswith("~$"):
        return "Excel", name[2:]
    if name.startswith(".~lock.") and name.endswith("#"):
        return "LibreOffice", name[len(".~lock."):-1]
    return None


def check_path(path: Path) -> None:
    owner = lock_file_owner(path)
    if owner is not None:
        raise InputFileError(Msg.LOCK_FILE.format(path=path, program=owner[0], original=owner[1]))
    if path.is_dir():
        raise InputFileError(Msg.IS_A_DIRECTORY.format(path=path))
    if not path.exists():
        raise InputFileError(Msg.NOT_FOUND.format(path=path))
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputFileError(Msg.CANNOT_OPEN.format(path=path, reason=exc.strerror or str(exc))) from exc
    if size == 0:
        raise InputFileError(Msg.EMPTY_FILE.format(path=path))


def kind_from_name(path: Path) -> FileKind:
    suffixes = [s.lower() for s in path.suffixes]
    last = suffixes[-1] if suffixes else ""
    plain = {**TEXT_FORMATS, **JSON_FORMATS}
    if last == ".gz" and len(suffixes) >= 2 and suffixes[-2] in plain:
        base = plain[suffixes[-2]]
        return FileKind(format=f"{base}.gz", base=base, gzip=True)
    if last in plain:
        return FileKind(format=plain[last], base=plain[last], gzip=False)
    if last in WORKBOOK_FORMATS:
        return FileKind(format=WORKBOOK_FORMATS[last], base=WORKBOOK_FORMATS[last], gzip=False)
    if last in JSON_LINES_FORMATS:
        return FileKind(format="ndjson", base="ndjson", gzip=False)
    shown = "".join(suffixes[-2:]) if last == ".gz" else last
    raise InputFileError(Msg.UNSUPPORTED_EXTENSION.format(path=path, suffix=shown or Msg.NO_EXTENSION,
                                                          supported=", ".join(SUPPORTED_SUFFIXES)))


def read_head(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(size)
    except OSError as exc:
        raise InputFileError(Msg.CANNOT_OPEN.format(path=path, reason=exc.strerror or str(exc))) from exc


def check_content_matches(path: Path, kind: FileKind) -> None:
    """One clear error when the bytes are not what the name says."""
    head = read_head(path)
    if kind.gzip:
        if not head.startswith(GZIP_MAGIC):
            raise InputFileError(Msg.NOT_GZIP.format(path=path, inner_suffix="." + kind.base))
        return
    if kind.base in TEXT_FORMATS.values() or kind.base in JSON_FORMATS.values():
        _check_text_is_not_a_container(path, head)
    elif kind.base == "xlsx":
        _check_is_xlsx(path, head)
    elif kind.base == "xls":
        _check_is_xls(path, head)
    elif kind.base == "ods":
        _check_is_ods(path, head)


def guess_format(path: Path) -> str:
    """What a file without a telling name holds (standard input, spooled): "xlsx", "ods", "xls", "csv.gz",
    "json" (its first character, after white space and a BOM, is "[", or "{" that does not close on the
    first line: a JSON document), "ndjson" (a first line that is one object) or "csv"."""
    head = read_head(path)
    if head.startswith(ZIP_MAGIC):
        return _zip_workbook_kind(path) or "xlsx"
    if head.startswith(OLE2_MAGIC):
        return "xls"
    if head.startswith(GZIP_MAGIC):
        return "csv.gz"
    text = _without_bom(head).lstrip()
    if text[:1] == b"[":
        return "json"
    if text[:1] != b"{":
        return "csv"
    first_line, newline, _ = text.partition(b"\n")
    return "json" if newline and not first_line.rstrip().endswith(b"}") else "ndjson"


def _without_bom(head: bytes) -> bytes:
    for bom, _ in BOMS:
        if head.startswith(bom):
            return head[len(bom):]
    return head


def starts_json_array(path: Path) -> bool:
    """Whether the file's first character (after white space and a BOM) opens a JSON array."""
    return _without_bom(read_head(path, 4096)).lstrip()[:1] == b"["


def _zip_names(path: Path) -> set[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return set()


def _zip_workbook_kind(path: Path) -> str | None:
    names = _zip_names(path)
    if "xl/workbook.xml" in names or any(n.startswith("xl/workbook") for n in names):
        return "xlsx"
    if "content.xml" in names and "mimetype" in names:
        try:
            with zipfile.ZipFile(path) as archive:
                if archive.read("mimetype").strip() == ODS_MIMETYPE:
                    return "ods"
        except (zipfile.BadZipFile, OSError, KeyError):
            return None
    return None


def _check_text_is_not_a_container(path: Path, head: bytes) -> None:
    if head.startswith(ZIP_MAGIC):
        kind = _zip_workbook_kind(path)
        if kind == "xlsx":
            raise InputFileError(Msg.WRONG_EXTENSION.format(path=path, what_it_is=Msg.IS_XLSX, right_suffix=".xlsx"))
        if kind == "ods":
            raise InputFileError(Msg.WRONG_EXTENSION.format(path=path, what_it_is=Msg.IS_ODS, right_suffix=".ods"))
        raise InputFileError(Msg.BINARY_JUNK.format(path=path))
    if head.startswith(OLE2_MAGIC):
        if _is_encrypted_ole2(path):
            raise InputFileError(Msg.PASSWORD_PROTECTED.format(path=path))
        raise InputFileError(Msg.WRONG_EXTENSION.format(path=path, what_it_is=Msg.IS_XLS, right_suffix=".xls"))
    if head.startswith(GZIP_MAGIC):
        raise InputFileError(Msg.WRONG_EXTENSION.format(path=path, what_it_is=Msg.IS_GZIP, right_suffix=path.name + ".gz"))


def _check_is_xlsx(path: Path, head: bytes) -> None:
    if head.startswith(ZIP_MAGIC):
        kind = _zip_workbook_kind(path)
        if kind == "ods":
            raise InputFileError(Msg.WRONG_EXTENSION.format(path=path, what_it_is=Msg.IS_ODS, right_suffix=".ods"))
        if kind != "xlsx":
            raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=path, kind="Excel (.xlsx)"))
        return
    if head.startswith(OLE2_MAGIC):
        if _is_encrypted_ole2(path):
            raise InputFileError(Msg.PASSWORD_PROTECTED.format(path=path))
        raise InputFileError(Msg.WRONG_EXTENSION.format(path=path, what_it_is=Msg.IS_XLS, right_suffix=".xls"))
    _raise_for_non_workbook(path, head, "Excel")


# The BOF record that starts a BIFF2-BIFF4 file (no compound-file wrapper): Excel 2.x-4.0
_OLD_BIFF = {b"\x09\x00": "Excel 2.x (BIFF2)", b"\x09\x02": "Excel 3.0 (BIFF3)",
             b"\x09\x04": "Excel 4.0 (BIFF4)"}


def _check_is_xls(path: Path, head: bytes) -> None:
    if head[:2] in _OLD_BIFF and len(head) >= 4 and head[2:4] in (b"\x04\x00", b"\x06\x00", b"\x08\x00"):
        raise InputFileError(Msg.OLD_EXCEL.format(path=path, version=_OLD_BIFF[head[:2]]))
    if head.startswith(OLE2_MAGIC):
        names = _ole2_directory_names(path)
        if ("EncryptedPackage" in names or "EncryptionInfo" in names) and "Workbook" not in names:
            raise InputFileError(Msg.PASSWORD_PROTECTED.format(path=path))
        if "Book" in names and "Workbook" not in names:
            raise InputFileError(Msg.OLD_EXCEL.format(path=path, version="Excel 5.0/95 (BIFF5)"))
        return
    if head.startswith(ZIP_MAGIC):
        kind = _zip_workbook_kind(path)
        if kind == "xlsx":
            raise InputFileError(Msg.WRONG_EXTENSION.format(path=path, what_it_is=Msg.IS_NEWER_XLSX, right_suffix=".xlsx"))
        if kind == "ods":
            raise InputFileError(Msg.WRONG_EXTENSION.format(path=path, what_it_is=Msg.IS_ODS, right_suffix=".ods"))
        raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=path, kind="Excel (.xls)"))
    _raise_for_non_workbook(path, head, "Excel")


def _check_is_ods(path: Path, head: bytes) -> None:
    if head.startswith(ZIP_MAGIC):
        kind = _zip_workbook_kind(path)
        if kind == "xlsx":
            raise InputFileError(Msg.WRONG_EXTENSION.format(path=path, what_it_is=Msg.IS_XLSX, right_suffix=".xlsx"))
        if kind != "ods":
            raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=path, kind="OpenDocument (.ods)"))
        return
    if head.startswith(OLE2_MAGIC):
        raise InputFileError(Msg.WRONG_EXTENSION.format(path=path, what_it_is=Msg.IS_XLS, right_suffix=".xls"))
    _raise_for_non_workbook(path, head, "OpenDocument")


def _raise_for_non_workbook(path: Path, head: bytes, kind_name: str) -> None:
    lowered = head[:2048].lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<table")):
        raise InputFileError(Msg.LOOKS_LIKE_HTML.format(path=path))
    if looks_like_text(head):
        raise InputFileError(Msg.LOOKS_LIKE_TEXT.format(path=path, kind=kind_name))
    raise InputFileError(Msg.DAMAGED_WORKBOOK.format(path=path, kind=kind_name))


def looks_like_text(head: bytes) -> bool:
    if any(head.startswith(bom) for bom, _ in BOMS):
        return True
    if b"\x00" in head:
        return False
    text = head.decode("latin_1")
    return control_char_share(text) < 0.01


def control_char_share(text: str) -> float:
    """The share of control characters; tab, line breaks, vertical tab and form
    feed are spacing (a quoted header may hold them), not binary data."""
    if not text:
        return 0.0
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f\v")
    return controls / len(text)


def _ole2_directory_names(path: Path) -> list[str]:
    """Names in the first directory sector of an OLE2 (compound) file: enough
    to tell an encrypted Office file (EncryptionInfo/EncryptedPackage)."""
    try:
        with path.open("rb") as file:
            header = file.read(512)
            sector_shift = struct.unpack_from("<H", header, 30)[0]
            first_directory_sector = struct.unpack_from("<I", header, 48)[0]
            sector_size = 1 << sector_shift
            file.seek((first_directory_sector + 1) * sector_size)
            directory = file.read(sector_size)
    except (OSError, struct.error):
        return []
    names = []
    for offset in range(0, len(directory) - 127, 128):
        name_length = struct.unpack_from("<H", directory, offset + 64)[0]
        if 2 <= name_length <= 64:
            names.append(directory[offset:offset + name_length - 2].decode("utf-16-le", "replace"))
    return names


def _is_encrypted_ole2(path: Path) -> bool:
    names = _ole2_directory_names(path)
    return "EncryptedPackage" in names or "EncryptionInfo" in names


# --- delimiter --------------------------------------------------------------------

def parse_delimiter(value: str) -> str:
    delimiter = DELIMITER_ALIASES.get(value.lower(), value) if value else value
    if len(delimiter) != 1 or delimiter in "\"\r\n":
        raise UsageError(Msg.BAD_DELIMITER.format(value=value))
    return delimiter


def detect_delimiter(sample: str, kind: FileKind) -> str:
    """Pick among , ; tab | the delimiter that gives the header the most
    columns with the following rows agreeing.

    The header decides because it is the one line without free text: a comma
    inside an unquoted interests list or a decimal comma is no vote. The
    header is the first line with the most common width, so a title or a
    "Generated by" line above it (commas in a title above ;-separated data)
    does not vote either. csv.Sniffer only breaks ties (on its own it
    misreads such files).
    """
    records = _complete_records(sample)
    scores = {d: _delimiter_score(records, d) for d in CANDIDATE_DELIMITERS}
    consistent, _, width = scores["\t"]
    if kind.base in TAB_SEPARATED and consistent and width > 1:
        return "\t"                                      # what the name promises, when it fits
    best = max(scores.values())
    if best[2] <= 1:                                      # a single column
        return "\t" if kind.base in TAB_SEPARATED else ","
    tied = [d for d, score in scores.items() if score == best]
    if len(tied) == 1:
        return tied[0]
    sniffed = _sniff(sample)
    if sniffed in tied:
        return sniffed
    return tied[0]


def excel_sep_line(sample: str) -> str | None:
    """The delimiter named by an Excel "sep=;" first line, if there is one."""
    first_line = sample.split("\n", 1)[0].rstrip("\r")
    if len(first_line) == 5 and first_line.lower().startswith("sep="):
        return first_line[4]
    return None


def _complete_records(sample: str) -> list[str]:
    """The sample without its last, possibly cut-off line."""
    lines = sample.splitlines(keepends=True)
    if len(sample) >= SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]
    return lines[:200]


def _delimiter_score(lines: list[str], delimiter: str) -> tuple[bool, int, int]:
    """(the rows after the header agree, minus the header's line index, the header's width)."""
    rows = [r for r in csv.reader(lines, delimiter=delimiter) if any(c.strip() for c in r)]
    if not rows:
        return (False, 0, 0)
    widths = [len(r) for r in rows]
    wide = [w for w in widths if w >= 2]
    if not wide:
        return (False, 0, 1)
    common = max(set(wide), key=lambda w: (wide.count(w), w))
    header = widths.index(common) if common in widths else 0
    data = rows[header + 1:] or rows[header:]
    agreeing = sum(1 for r in data if 2 <= len(r) and _used_width(r) <= common)
    return (agreeing >= 0.9 * len(data), -header, common)


def _used_width(row: list[str]) -> int:
    width = len(row)
    while width and not row[width - 1].strip():
        width -= 1
    return width


def _sniff(sample: str) -> str | None:
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(CANDIDATE_DELIMITERS)).delimiter
    except csv.Error:
        return None
