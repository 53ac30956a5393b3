"""The text encoding of a CSV/TSV/TXT file: by its BOM, by its bytes, or as
given with --encoding, checked against every byte of the file before a row is
read (so a bad byte at row 900,000 stops the run before anything is sent)."""
from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from importer.errors import InputFileError, UsageError
from importer.readers.detect import BOMS, SAMPLE_BYTES, FileKind, control_char_share
from importer.readers.messages import Msg, undecodable

SCAN_CHUNK = 256 * 1024
# Without a BOM and not UTF-8, a contact list is in practice Windows-1252
# (Excel's "CSV" on Western-European Windows) or Latin-1; anything wider lets
# charset-normalizer guess exotic code pages for a few accented letters.
LEGACY_CANDIDATES = ("cp1252", "latin_1")


def open_binary(path: Path, kind: FileKind) -> BinaryIO:
    try:
        return gzip.open(path, "rb") if kind.gzip else path.open("rb")  # type: ignore[return-value]
    except OSError as exc:
        raise InputFileError(Msg.CANNOT_OPEN.format(path=path, reason=exc.strerror or str(exc))) from exc


def read_sample(path: Path, kind: FileKind) -> bytes:
    with open_binary(path, kind) as stream:
        try:
            return stream.read(SAMPLE_BYTES)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise InputFileError(Msg.DAMAGED_GZIP.format(path=path)) from exc


def normalise_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise UsageError(Msg.UNKNOWN_ENCODING.format(name=name)) from exc


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
        raise InputFileError(Msg.BINARY_JUNK.format(path=path))
    if _first_undecodable(path, kind, "utf-8") is None:
        return "utf-8"
    for encoding in _legacy_candidates(path, kind):
        if _first_undecodable(path, kind, encoding) is None:
            return encoding
    _require_decodable(path, kind, "utf-8", forced=False)   # raises with the position
    return "utf-8"


def _legacy_candidates(path: Path, kind: FileKind) -> list[str]:
    """charset-normalizer's pick among the legacy encodings first, then the rest."""
    from charset_normalizer import from_bytes  # only for a file that is not UTF-8

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
                raise InputFileError(Msg.DAMAGED_GZIP.format(path=path)) from exc
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
        raise InputFileError(undecodable(path, encoding, line, byte, forced=forced))


def check_not_binary(path: Path, text_sample: str) -> None:
    if "\x00" in text_sample or control_char_share(text_sample) >= 0.01:
        raise InputFileError(Msg.BINARY_JUNK.format(path=path))


def read_text_sample(path: Path, kind: FileKind, encoding: str) -> str:
    with open_binary(path, kind) as stream:
        with io.TextIOWrapper(stream, encoding=encoding, newline="") as text:
            return text.read(SAMPLE_BYTES)
