"""The text encoding of a CSV/TSV/TXT file: by its BOM, by its bytes, or as
given with --encoding, checked against every byte of the file before a row is
read (so a bad byte at row 900,000 stops the run before anything is sent).

Without a BOM the whole file is scanned (``scan_file``): is it UTF-8; if
not, which legacy encodings decode every byte of it; and the distinct words
that hold non-ASCII bytes. Each surviving encoding's reading of those words is
then judged by ``importer.readers.plausible`` (charset-normalizer's measures
plus checks of its own: one script and one language's letters per word, no
symbols between letters, sensible upper/lower case, common CJK characters).
One plausible reading is used; when several readings that differ stay
plausible the file is refused with a sample line in each and the
``--encoding`` value to pass, never guessed. A file that is UTF-8 but for a
few bad bytes is refused with the row and byte offset, never read as cp1252.

The same scan bounds the decompressed size of a ``.gz`` file and the length
of a line (``importer.readers.limits``).
"""
from __future__ import annotations

import codecs
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from importer.errors import InputFileError, UsageError
from importer.readers import limits
from importer.readers.detect import BOMS, SAMPLE_BYTES, FileKind, control_char_share
from importer.readers.messages import Msg, undecodable
from importer.readers.plausible import LEGACY_ENCODINGS, Verdict, encoding_label, judge

SCAN_CHUNK = 256 * 1024
MAX_WORDS = 4000            # distinct non-ASCII words kept to judge the readings by
MAX_WORD_BYTES = 200
MAX_SAMPLE_LINES = 40       # lines with non-ASCII bytes kept to show in a message
# a word: bytes between separators that can never be part of a multi-byte
# character (all below 0x40, the lowest trail byte of Shift-JIS, GBK and Big5)
# (anchored at a word's start and possessive, so each word is scanned once)
_WORD = re.compile(rb"(?<![^\x00-\x20,;\"'\t])[^\x00-\x20,;\"'\t\x80-\xff]*+[\x80-\xff][^\x00-\x20,;\"'\t]*")
WORDS_FROM_EVERY = 8        # after the first blocks, words are taken from one block in this many
_MULTI_BYTE = {"cp932", "euc_jp", "gb18030", "cp950", "cp949"}


def open_binary(path: Path, kind: FileKind) -> BinaryIO:
    """The file's bytes (decompressed for .gz, with the size limits of ``limits``)."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InputFileError(Msg.CANNOT_OPEN.format(path=path, reason=exc.strerror or str(exc))) from exc
    if not kind.gzip:
        return raw  # type: ignore[return-value]
    return limits.BoundedGzip(path, raw)  # type: ignore[return-value]


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


@dataclass
class Scan:
    """What the passes over a text file's bytes found."""
    utf8_error: tuple[int, int, int] | None = None   # (line, byte offset, byte) of the first non-UTF-8 byte
    utf8_characters: int = 0          # non-ASCII characters that are valid UTF-8
    bad_bytes: int = 0                # bytes that are not
    high_bytes: set[int] = field(default_factory=set)
    multi_byte_alive: set[str] = field(default_factory=lambda: set(_MULTI_BYTE))
    words: dict[bytes, None] = field(default_factory=dict)     # distinct, in order of appearance
    sample_lines: list[tuple[int, bytes]] = field(default_factory=list)
    lines: int = 0
    ends_with_line_break: bool = True
    last_line: bytes = b""


def _blocks(path: Path, kind: FileKind) -> Iterator[tuple[bytes, int, int]]:
    """(block, its byte offset, lines before it): the file in blocks of whole
    lines (a multi-byte character never spans a line break in the encodings
    judged), refusing a line longer than the limit."""
    rest = b""
    offset = lines = 0
    for chunk in _byte_chunks(path, kind):
        data = rest + chunk
        if chunk:
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                limits.check_line_length(path, len(data), lines + 1)
                rest = data
                continue
            limits.check_line_length(path, data.find(b"\n"), lines + 1)   # the line begun in earlier chunks
            block, rest = data[:cut], data[cut:]
        else:
            block, rest = data, b""
        if block:
            yield block, offset, lines
            offset += len(block)
            lines += block.count(b"\n")
        if not chunk:
            return


def scan_file(path: Path, kind: FileKind) -> Scan:
    """The first pass: is every byte UTF-8 (and if not, where is the first bad one)."""
    scan = Scan()
    for block, offset, lines in _blocks(path, kind):
        scan.lines = lines + block.count(b"\n")
        stripped = block.rstrip(b"\r\n")
        scan.ends_with_line_break = block.endswith(b"\n")
        scan.last_line = block[block.rfind(b"\n", 0, len(stripped)) + 1:]
        if block.isascii():
            continue
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            if scan.utf8_error is None:
                scan.utf8_error = (lines + block.count(b"\n", 0, exc.start) + 1, offset + exc.start,
                                   block[exc.start])
            text = block.decode("utf-8", "ignore")
            scan.bad_bytes += len(block) - len(text.encode("utf-8"))
        scan.utf8_characters += len(text) - len(text.encode("ascii", "ignore"))
    return scan


_NON_ASCII_LINE = re.compile(rb"[^\n]*[\x80-\xff][^\n]*")


def scan_legacy(path: Path, kind: FileKind, scan: Scan) -> None:
    """The second pass, for a file that is not UTF-8: which legacy encodings
    decode every byte, its distinct non-ASCII words and a few sample lines."""
    non_ascii_blocks = 0
    for block, _, lines in _blocks(path, kind):
        if block.isascii():
            continue
        non_ascii_blocks += 1
        scan.high_bytes.update(block.translate(None, _ASCII_BYTES))
        for name in list(scan.multi_byte_alive):
            try:
                block.decode(name)
            except UnicodeDecodeError:
                scan.multi_byte_alive.discard(name)
        if len(scan.sample_lines) < MAX_SAMPLE_LINES:
            for match in _NON_ASCII_LINE.finditer(block):
                number = lines + block.count(b"\n", 0, match.start()) + 1
                scan.sample_lines.append((number, match.group().rstrip(b"\r")[:limits.SAMPLE_LINE_BYTES]))
                if len(scan.sample_lines) >= MAX_SAMPLE_LINES:
                    break
        # every byte is decoded above; the words that judge the readings come
        # from the first blocks and then from one block in WORDS_FROM_EVERY
        if len(scan.words) < MAX_WORDS and (non_ascii_blocks <= 4 or non_ascii_blocks % WORDS_FROM_EVERY == 0):
            for word in _WORD.findall(block):
                if len(word) <= MAX_WORD_BYTES:
                    scan.words.setdefault(word, None)
                    if len(scan.words) >= MAX_WORDS:
                        break


_ASCII_BYTES = bytes(range(128))


def detect_encoding(path: Path, kind: FileKind, forced: str | None) -> str:
    """The encoding to read the text with, checked against every byte of the
    file (a streaming pass), so a bad byte at row 900,000 stops the run before
    anything is sent rather than halfway."""
    return detect_with_scan(path, kind, forced)[0]


def detect_with_scan(path: Path, kind: FileKind, forced: str | None) -> tuple[str, Scan | None]:
    """(encoding, the scan when one was made)."""
    sample = read_sample(path, kind)
    if forced:
        encoding = normalise_encoding(forced)
        if encoding == "utf-8" and sample.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"          # the BOM is not part of the first column's name
        _require_decodable(path, kind, encoding, forced=True)
        return encoding, None
    encoding = bom_encoding(sample) or utf16_without_bom(sample)
    if encoding:
        _require_decodable(path, kind, encoding, forced=False)
        return encoding, None
    if b"\x00" in sample:
        raise InputFileError(Msg.BINARY_JUNK.format(path=path))
    scan = scan_file(path, kind)
    if scan.utf8_error is None:
        return "utf-8", scan
    if scan.utf8_characters > scan.bad_bytes:
        line, offset, byte = scan.utf8_error
        more = Msg.MORE_BAD_BYTES.format(count=scan.bad_bytes - 1) if scan.bad_bytes > 1 else ""
        raise InputFileError(Msg.MOSTLY_UTF8.format(path=path, line=line, offset=offset, byte=byte, more=more))
    scan_legacy(path, kind, scan)
    verdict = judge(_candidates(scan), list(scan.words), scan.sample_lines)
    return _decided(path, verdict), scan


def _candidates(scan: Scan) -> list[str]:
    """The legacy encodings that decode every byte of the file, in preference order."""
    alive = []
    for name in LEGACY_ENCODINGS:
        if name in _MULTI_BYTE:
            if name in scan.multi_byte_alive:
                alive.append(name)
        elif _decodes_bytes(name, frozenset(scan.high_bytes)):
            alive.append(name)
    return alive


_UNDECODABLE_CACHE: dict[str, frozenset[int]] = {}


def _decodes_bytes(name: str, high_bytes: frozenset[int]) -> bool:
    """A single-byte encoding decodes a file exactly when it decodes each byte value in it."""
    bad = _UNDECODABLE_CACHE.get(name)
    if bad is None:
        bad = frozenset(b for b in range(128, 256) if _fails(name, bytes([b])))
        _UNDECODABLE_CACHE[name] = bad
    return not (bad & high_bytes)


def _fails(name: str, data: bytes) -> bool:
    try:
        data.decode(name)
    except UnicodeDecodeError:
        return True
    return False


def _decided(path: Path, verdict: Verdict) -> str:
    if verdict.encoding is not None:
        return verdict.encoding
    if verdict.ambiguous:
        readings = "; ".join(Msg.READING.format(encoding=name, label=encoding_label(name), text=text)
                             for name, text in verdict.ambiguous)
        raise InputFileError(Msg.AMBIGUOUS_ENCODING.format(
            path=path, row=verdict.sample_row, readings=readings,
            # every candidate, none singled out: the first is not more likely the right one
            choices=" or ".join(f"--encoding {name}" for name, _ in verdict.ambiguous)))
    raise InputFileError(Msg.NO_PLAUSIBLE_ENCODING.format(path=path, row=verdict.sample_row,
                                                          text=verdict.sample_text))


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
    """(line, byte) of the first byte that does not decode, or None; refuses a
    line longer than the limit on the way."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    since_line_break = 0
    for chunk in _byte_chunks(path, kind):
        first_break = chunk.find(b"\n")
        if first_break < 0:
            since_line_break += len(chunk)
            limits.check_line_length(path, since_line_break, lines_before + 1)
        else:   # the line that ends here began in earlier chunks; later ones are shorter than a chunk
            limits.check_line_length(path, since_line_break + first_break, lines_before + 1)
            since_line_break = len(chunk) - chunk.rfind(b"\n") - 1
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


# vertical tab and form feed are spacing, not binary data (seen inside quoted headers)
def check_not_binary(path: Path, text_sample: str) -> None:
    if "\x00" in text_sample or control_char_share(text_sample) >= 0.01:
        raise InputFileError(Msg.BINARY_JUNK.format(path=path))


def read_text_sample(path: Path, kind: FileKind, encoding: str) -> str:
    with open_binary(path, kind) as stream:
        with io.TextIOWrapper(stream, encoding=encoding, newline="") as text:
            return text.read(SAMPLE_BYTES)
