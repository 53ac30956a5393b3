"""What a file really is: its format (by name, checked against its content),
its text encoding and its delimiter."""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from charset_normalizer import from_bytes

from importer.errors import FileError, UsageError
from importer.readers import messages

TEXT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "txt"}
WORKBOOK_FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods"}
TAB_SEPARATED = {"tsv", "txt"}

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # old .xls, and encrypted .xlsx
GZIP_MAGIC = b"\x1f\x8b"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

SAMPLE_BYTES = 64 * 1024
SCAN_CHUNK = 256 * 1024
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
# Without a BOM and not UTF-8, a contact list is in practice Windows-1252
# (Excel's "CSV" on Western-European Windows) or Latin-1; anything wider lets
# charset-normalizer guess exotic code pages for a few accented letters.
LEGACY_CANDIDATES = ("cp1252", "latin_1")


@dataclass(frozen=True, slots=True)
class FileKind:
    format: str            # "csv" | "tsv" | "txt" | "xlsx" | "xls" | "ods", plus ".gz" when compressed
    base: str              # the format without compression
    gzip: bool


# --- format --------------------------------------------------------------------

def check_path(path: Path) -> None:
    if path.is_dir():
        raise FileError(messages.is_a_directory(path))
    if not path.exists():
        raise FileError(messages.not_found(path))
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileError(messages.cannot_open(path, exc.strerror or str(exc))) from exc
    if size == 0:
        raise FileError(messages.empty_file(path))


def kind_from_name(path: Path) -> FileKind:
    suffixes = [s.lower() for s in path.suffixes]
    last = suffixes[-1] if suffixes else ""
    if last == ".gz" and len(suffixes) >= 2 and suffixes[-2] in TEXT_FORMATS:
        base = TEXT_FORMATS[suffixes[-2]]
        return FileKind(format=f"{base}.gz", base=base, gzip=True)
    if last in TEXT_FORMATS:
        return FileKind(format=TEXT_FORMATS[last], base=TEXT_FORMATS[last], gzip=False)
    if last in WORKBOOK_FORMATS:
        return FileKind(format=WORKBOOK_FORMATS[last], base=WORKBOOK_FORMATS[last], gzip=False)
    shown = "".join(suffixes[-2:]) if last == ".gz" else last
    raise FileError(messages.unsupported_extension(path, shown))


def read_head(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(size)
    except OSError as exc:
        raise FileError(messages.cannot_open(path, exc.strerror or str(exc))) from exc


def check_content_matches(path: Path, kind: FileKind) -> None:
    """One clear error when the bytes are not what the name says."""
    head = read_head(path)
    if kind.gzip:
        if not head.startswith(GZIP_MAGIC):
            raise FileError(messages.not_gzip(path, "." + kind.base))
        return
    if kind.base in TEXT_FORMATS.values():
        _check_text_is_not_a_container(path, head)
    elif kind.base == "xlsx":
        _check_is_xlsx(path, head)
    elif kind.base == "xls":
        _check_is_xls(path, head)
    elif kind.base == "ods":
        _check_is_ods(path, head)


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
            raise FileError(messages.wrong_extension(path, "an Excel workbook", ".xlsx"))
        if kind == "ods":
            raise FileError(messages.wrong_extension(path, "an OpenDocument spreadsheet", ".ods"))
        raise FileError(messages.binary_junk(path))
    if head.startswith(OLE2_MAGIC):
        if _is_encrypted_ole2(path):
            raise FileError(messages.password_protected(path))
        raise FileError(messages.wrong_extension(path, "an Excel 97-2003 workbook", ".xls"))
    if head.startswith(GZIP_MAGIC):
        raise FileError(messages.wrong_extension(path, "gzip-compressed", path.name + ".gz"))


def _check_is_xlsx(path: Path, head: bytes) -> None:
    if head.startswith(ZIP_MAGIC):
        kind = _zip_workbook_kind(path)
        if kind == "ods":
            raise FileError(messages.wrong_extension(path, "an OpenDocument spreadsheet", ".ods"))
        if kind != "xlsx":
            raise FileError(messages.damaged_workbook(path, "Excel (.xlsx)"))
        return
    if head.startswith(OLE2_MAGIC):
        if _is_encrypted_ole2(path):
            raise FileError(messages.password_protected(path))
        raise FileError(messages.wrong_extension(path, "an Excel 97-2003 workbook", ".xls"))
    _raise_for_non_workbook(path, head, "Excel")


def _check_is_xls(path: Path, head: bytes) -> None:
    if head.startswith(OLE2_MAGIC):
        if _is_encrypted_ole2(path) and not _has_ole2_stream(path, "Workbook"):
            raise FileError(messages.password_protected(path))
        return
    if head.startswith(ZIP_MAGIC):
        kind = _zip_workbook_kind(path)
        if kind == "xlsx":
            raise FileError(messages.wrong_extension(path, "a newer Excel workbook", ".xlsx"))
        if kind == "ods":
            raise FileError(messages.wrong_extension(path, "an OpenDocument spreadsheet", ".ods"))
        raise FileError(messages.damaged_workbook(path, "Excel (.xls)"))
    _raise_for_non_workbook(path, head, "Excel")


def _check_is_ods(path: Path, head: bytes) -> None:
    if head.startswith(ZIP_MAGIC):
        kind = _zip_workbook_kind(path)
        if kind == "xlsx":
            raise FileError(messages.wrong_extension(path, "an Excel workbook", ".xlsx"))
        if kind != "ods":
            raise FileError(messages.damaged_workbook(path, "OpenDocument (.ods)"))
        return
    if head.startswith(OLE2_MAGIC):
        raise FileError(messages.wrong_extension(path, "an Excel 97-2003 workbook", ".xls"))
    _raise_for_non_workbook(path, head, "OpenDocument")


def _raise_for_non_workbook(path: Path, head: bytes, kind_name: str) -> None:
    lowered = head[:2048].lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<table")):
        raise FileError(messages.looks_like_html(path))
    if looks_like_text(head):
        raise FileError(messages.looks_like_text(path, kind_name))
    raise FileError(messages.damaged_workbook(path, kind_name))


def looks_like_text(head: bytes) -> bool:
    if any(head.startswith(bom) for bom, _ in BOMS):
        return True
    if b"\x00" in head:
        return False
    text = head.decode("latin_1")
    return _control_char_share(text) < 0.01


def _control_char_share(text: str) -> float:
    if not text:
        return 0.0
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
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


def _has_ole2_stream(path: Path, name: str) -> bool:
    return name in _ole2_directory_names(path)


# --- encoding --------------------------------------------------------------------

def open_binary(path: Path, kind: FileKind) -> BinaryIO:
    try:
        return gzip.open(path, "rb") if kind.gzip else path.open("rb")  # type: ignore[return-value]
    except OSError as exc:
        raise FileError(messages.cannot_open(path, exc.strerror or str(exc))) from exc


def read_sample(path: Path, kind: FileKind) -> bytes:
    with open_binary(path, kind) as stream:
        try:
            return stream.read(SAMPLE_BYTES)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise FileError(messages.damaged_gzip(path)) from exc


def normalise_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise UsageError(messages.unknown_encoding(name)) from exc


def bom_encoding(sample: bytes) -> str | None:
    for bom, encoding in BOMS:
        if sample.startswith(bom):
            return encoding
    return None


def utf16_without_bom(sample: bytes) -> str | None:
    """Mostly-ASCII text in UTF-16 has a zero in every other byte."""
    even, odd = sample[0::2], sample[1::2]
    if len(sample) < 4:
        return None
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def detect_encoding(path: Path, kind: FileKind, forced: str | None) -> str:
    """The encoding to read the text with, checked against every byte of the
    file (a streaming pass), so a bad byte at row 900,000 stops the run before
    anything is sent rather than halfway."""
    sample = read_sample(path, kind)
    if forced:
        encoding = normalise_encoding(forced)
        if encoding == "utf-8" and sample.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"          # the BOM is not part of the first column's name
        _require_decodable(path, kind, encoding, forced=True)
        return encoding
    encoding = bom_encoding(sample) or utf16_without_bom(sample)
    if encoding:
        _require_decodable(path, kind, encoding, forced=False)
        return encoding
    if b"\x00" in sample:
        raise FileError(messages.binary_junk(path))
    if _first_undecodable(path, kind, "utf-8") is None:
        return "utf-8"
    for encoding in _legacy_candidates(path, kind):
        if _first_undecodable(path, kind, encoding) is None:
            return encoding
    _require_decodable(path, kind, "utf-8", forced=False)   # raises with the position
    return "utf-8"


def _legacy_candidates(path: Path, kind: FileKind) -> list[str]:
    """charset-normalizer's pick among the legacy encodings first, then the rest."""
    sample = _sample_with_non_ascii(path, kind)
    best = from_bytes(sample, cp_isolation=list(LEGACY_CANDIDATES)).best()
    guessed = codecs.lookup(best.encoding).name if best else None
    ordered = [guessed] if guessed else []
    ordered += [codecs.lookup(c).name for c in LEGACY_CANDIDATES if codecs.lookup(c).name != guessed]
    return ordered


def _sample_with_non_ascii(path: Path, kind: FileKind) -> bytes:
    """Up to 64 KiB of lines that contain non-ASCII bytes: those are what
    tells one legacy encoding from another."""
    picked: list[bytes] = []
    size = 0
    with open_binary(path, kind) as stream:
        for line in stream:
            if max(line, default=0) > 127:
                picked.append(line)
                size += len(line)
                if size >= SAMPLE_BYTES:
                    break
    return b"".join(picked)


def _byte_chunks(path: Path, kind: FileKind) -> Iterator[bytes]:
    """The file's (decompressed) bytes in chunks, then one final b""."""
    with open_binary(path, kind) as stream:
        while True:
            try:
                chunk = stream.read(SCAN_CHUNK)
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise FileError(messages.damaged_gzip(path)) from exc
            yield chunk
            if not chunk:
                return


def _first_undecodable(path: Path, kind: FileKind, encoding: str) -> tuple[int, int] | None:
    """(line, byte) of the first byte that does not decode, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    for chunk in _byte_chunks(path, kind):
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            bad_byte = exc.object[exc.start] if exc.start < len(exc.object) else 0
            return lines_before + _line_breaks_before(exc) + 1, bad_byte
        lines_before += text.count("\n")
    return None


def _line_breaks_before(exc: UnicodeDecodeError) -> int:
    """Line breaks before the bad byte (counted in the raw bytes: exact for
    UTF-8 and the single-byte encodings, close enough for UTF-16)."""
    return exc.object[:exc.start].count(b"\n")


def _require_decodable(path: Path, kind: FileKind, encoding: str, forced: bool) -> None:
    failure = _first_undecodable(path, kind, encoding)
    if failure is not None:
        line, byte = failure
        raise FileError(messages.undecodable(path, encoding, line, byte, forced))


def check_not_binary(path: Path, text_sample: str) -> None:
    if "\x00" in text_sample or _control_char_share(text_sample) >= 0.01:
        raise FileError(messages.binary_junk(path))


def read_text_sample(path: Path, kind: FileKind, encoding: str) -> str:
    with open_binary(path, kind) as stream:
        with io.TextIOWrapper(stream, encoding=encoding, newline="") as text:
            return text.read(SAMPLE_BYTES)


# --- delimiter --------------------------------------------------------------------

def parse_delimiter(value: str) -> str:
    delimiter = DELIMITER_ALIASES.get(value.lower(), value) if value else value
    if len(delimiter) != 1 or delimiter in "\"\r\n":
        raise UsageError(messages.bad_delimiter(value))
    return delimiter


def detect_delimiter(sample: str, kind: FileKind) -> str:
    """Pick among , ; tab | the delimiter that gives the header the most
    columns with the following rows agreeing.

    The header decides because it is the one line without free text: a comma
    inside an unquoted interests list or a decimal comma is no vote. csv.Sniffer
    only breaks ties (on its own it misreads such files).
    """
    records = _complete_records(sample)
    scores = {d: _delimiter_score(records, d) for d in CANDIDATE_DELIMITERS}
    consistent, width = scores["\t"]
    if kind.base in TAB_SEPARATED and consistent and width > 1:
        return "\t"                                      # what the name promises, when it fits
    best = max(scores.values())
    if best[1] <= 1:                                      # a single column
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


def _delimiter_score(lines: list[str], delimiter: str) -> tuple[bool, int]:
    rows = [r for r in csv.reader(lines, delimiter=delimiter) if any(c.strip() for c in r)]
    if not rows:
        return (False, 0)
    width = len(rows[0])
    data = rows[1:] or rows
    agreeing = sum(1 for r in data if 2 <= len(r) and _used_width(r) <= width)
    return (agreeing >= 0.9 * len(data), width)


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
