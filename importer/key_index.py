"""The keys of a whole database, read once: key -> profile ID(s), with a
digest of what each profile holds.

In skip, update and upsert mode every row used to cost a look-up (``GET
database/{id}/profiles?fields[]=email==...``) before its write, so half a
file of existing people cost 1.5 to 2 requests per row, and Copernica's
limit is requests. When a file is large relative to the database, reading
the key fields of every profile once, in pages of 1,000 with several pages
in flight (each paced and retried like every other call), costs far fewer
requests; then only the writes are sent.

- **When** (``pages_needed``, ``RATIO``): the database's profile total (one
  cheap call, ``limit=1&total=true``) gives the pages to read; the index is
  read when the file has at least ``RATIO`` rows to send per page (the
  runner reads that far ahead). Smaller files keep their per-row look-ups,
  which also see the newest state of the database.
- **Compact** (``KeyIndex``): open addressing in four flat arrays: a 64-bit
  hash of the key folded as ``importer.dedupe`` folds keys (case and Unicode
  form ignored, spaces around trimmed), a second 32-bit hash (CRC-32) of the
  same text, so two keys are only taken as one when 96 bits agree, the
  profile ID and a 64-bit digest of the profile's mapped values: 28 bytes a
  slot, about 40 MB for a million profiles (``benchmarks/key_index.py``
  measures it). Several profiles with one key are all kept (``many_match``).
- **Unchanged rows** (``ValueForms``): the digest covers the mapped fields
  and interests in the form Copernica stores them (whole numbers and
  decimals normalised, dates as ``YYYY-MM-DD``); a row whose writes would
  leave the profile as it is gets ``skipped``, code ``unchanged``, and costs
  nothing. A field the row does not write (an empty cell) is compared with
  the field's empty value, so a difference there only costs a write, never
  a lost change.
- **Read consistently** (``read_key_index``): pages overlap by one profile
  and must continue one another in ascending ID order; a database whose
  profiles are removed (or reordered) while it is read breaks that chain,
  and the run falls back to per-row look-ups instead of trusting a gap.

What the index cannot see: keys written by another tool (a web form, an
integration) after their page was read. A key found in the index is safe to
use (its profile existed; if it is removed meanwhile the write fails and
says so). A key that appears meanwhile is created a second time by skip or
upsert, as it would be by a look-up that came a moment too early; the
lost-answer rules (``importer.sender``) still look every lost answer up by
key, one row at a time.
"""
from __future__ import annotations

import logging
import math
import re
import zlib
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from importer.dedupe import fold_key
from importer.mapping.convert import key_text

if TYPE_CHECKING:
    from concurrent.futures import Future

    from importer.client import CopernicaClient
    from importer.mapping import Mapping
    from importer.schema import DatabaseSchema

log = logging.getLogger(__name__)

RATIO = 10          # the index is read when the file has at least this many rows to send per page
PAGES_IN_FLIGHT = 8  # pages requested at once (at most the run's workers)


class Msg:
    """What reading the keys says in the log."""
    READING = "reading the keys of %s profile(s) of database %s in %s page(s), %s at a time"
    READ = "read %s key(s) of %s profile(s) in %s page(s); %s KB of index"
    CHANGED = ("database %s changed while its keys were read (%s); every row is looked up on its own "
               "instead")
    R_ORDER = "a page was not in ascending ID order"
    R_GAP = "profiles were removed between two pages"
    R_PAGE_SIZE = "the page size changed"


# ----------------------------------------------------------------- stored forms

_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")
_DECIMAL = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
_NUMBER_TYPES = frozenset({"integer", "foreign_key"})
_EMPTY_VALUES = {"integer": "0", "foreign_key": "0", "float": "0", "date": "0000-00-00",
                 "datetime": "0000-00-00 00:00:00"}
_NOT_A_FORM = "\x00"   # a stored value that is not in its field's form: equal to nothing a row writes


def _as_integer(text: str) -> str | None:
    return str(int(text)) if _INTEGER.fullmatch(text) else None


def _as_decimal(text: str) -> str | None:
    if not _DECIMAL.fullmatch(text):
        return None
    number = float(text)
    return repr(number) if math.isfinite(number) else None


def _as_text(text: str) -> str | None:
    return text


def _form_of(field_type: str) -> Callable[[str], str | None]:
    """How a value of this type is compared: None means 'not in the stored form'."""
    if field_type in _NUMBER_TYPES:
        return _as_integer
    if field_type == "float":
        return _as_decimal
    return _as_text


def _text(value: Any) -> str:
    """A value of a JSON answer as the text Copernica means by it."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    return str(value)


def interests_on(interests: Any) -> set[str]:
    """The (lower-cased) interests switched on, from a list of names or a name -> 0/1 object."""
    if isinstance(interests, dict):
        return {str(name).lower() for name, value in interests.items() if _text(value) not in ("", "0")}
    if isinstance(interests, list):
        return {str(name).lower() for name in interests}
    return set()


class ValueForms:
    """Compares what a row would write with what a profile holds, by digest.

    ``fields``: (real name, field type) of every mapped field; ``interests``:
    the mapped interests' real names; ``replace``: the update replaces the
    whole set of interests, so an unmapped interest switched on is a change.
    """

    def __init__(self, fields: Iterable[tuple[str, str]], interests: Iterable[str], replace: bool) -> None:
        self._fields = tuple((name.lower(), _form_of(kind), _form_of(kind)(_EMPTY_VALUES.get(kind, "")))
                             for name, kind in fields)
        self._interests = tuple(dict.fromkeys(name.lower() for name in interests))
        self._mapped_interests = frozenset(self._interests)
        self._replace = replace and bool(self._interests)

    @classmethod
    def for_mapping(cls, mapping: "Mapping", schema: "DatabaseSchema | None") -> "ValueForms":
        fields, interests = [], []
        for name in mapping.fields:
            definition = schema.field(name) if schema is not None else None
            fields.append((definition.name, definition.type) if definition is not None else (name, "text"))
        for name in mapping.interests:
            definition = schema.interest(name) if schema is not None else None
            interests.append(definition.name if definition is not None else name)
        return cls(fields, interests, mapping.interests_on_update == "replace")

    def stored(self, fields: Any, interests: Any) -> int:
        """The digest of what a profile (as the API lists it) holds in the mapped fields and interests."""
        lowered = {str(k).lower(): v for k, v in fields.items()} if isinstance(fields, dict) else {}
        parts: list[Any] = []
        for name, form, _ in self._fields:
            value = lowered.get(name)
            shown = form(_text(value)) if value is not None else None
            parts.append(_NOT_A_FORM if shown is None else shown)
        on = interests_on(interests)
        parts.extend("1" if name in on else "0" for name in self._interests)
        if self._replace:
            parts.append(tuple(sorted(on - self._mapped_interests)))
        return hash(tuple(parts))

    def sent(self, fields: dict[str, Any], interests: dict[str, int]) -> int | None:
        """The digest of a profile after this write, as far as the mapping reaches
        (a field it does not write counts as empty); None: cannot be compared."""
        lowered = {k.lower(): v for k, v in fields.items()}
        parts: list[Any] = []
        for name, form, empty in self._fields:
            value = lowered.get(name)
            if value is None:
                parts.append(_NOT_A_FORM if empty is None else empty)
                continue
            shown = form(_text(value))
            if shown is None:
                return None  # a value sent anyway (on_invalid: send): Copernica coerces it
            parts.append(shown)
        switched = {k.lower(): v for k, v in interests.items()}
        parts.extend("1" if switched.get(name) else "0" for name in self._interests)
        if self._replace:
            parts.append(())
        return hash(tuple(parts))


# ----------------------------------------------------------------- the index

def key_hashes(key: str) -> tuple[int, int]:
    """Two independent hashes of a key, folded as the in-file duplicate check folds it."""
    text = fold_key(key.strip())
    return (hash(text) or 1), zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _zeros(code: str, size: int) -> array:
    return array(code, bytes(array(code).itemsize * size))


_CHECK = "I" if array("I").itemsize == 4 else "L"


class KeyIndex:
    """Key -> [(profile ID, digest)], in flat arrays (open addressing, linear probing).

    Filled by one thread, then only read (by every sender thread).
    """

    LOAD = 0.7

    def __init__(self, expected: int = 0) -> None:
        self._count = 0
        self._allocate(max(16, int(expected / self.LOAD) + 1))

    def _allocate(self, size: int) -> None:
        self._size = size
        self._hashes = _zeros("q", size)   # 0: an empty slot
        self._checks = _zeros(_CHECK, size)
        self._ids = _zeros("q", size)
        self._digests = _zeros("q", size)

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return sum(a.itemsize * len(a) for a in (self._hashes, self._checks, self._ids, self._digests))

    def add(self, key: str, profile_id: int, digest: int = 0) -> None:
        h, c = key_hashes(key)
        if self._count + 1 > self._size * 0.75:
            self._grow()
        self._put(h, c, profile_id, digest)

    def _put(self, h: int, c: int, profile_id: int, digest: int) -> None:
        hashes, size = self._hashes, self._size
        i = h % size
        while True:
            slot = hashes[i]
            if slot == 0:
                break
            if slot == h and self._checks[i] == c and self._ids[i] == profile_id:
                self._digests[i] = digest  # the same profile again (pages overlap by one)
                return
            i += 1
            if i == size:
                i = 0
        hashes[i], self._checks[i], self._ids[i], self._digests[i] = h, c, profile_id, digest
        self._count += 1

    def _grow(self) -> None:
        old = (self._hashes, self._checks, self._ids, self._digests)
        self._allocate(self._size * 2)
        self._count = 0
        for h, c, pid, digest in zip(*old):
            if h:
                self._put(h, c, pid, digest)

    def find(self, key: str) -> list[tuple[int, int]]:
        """(profile ID, digest) of every profile with this key, oldest first."""
        h, c = key_hashes(key)
        hashes, size = self._hashes, self._size
        found = []
        i = h % size
        while True:
            slot = hashes[i]
            if slot == 0:
                return sorted(found)
            if slot == h and self._checks[i] == c:
                found.append((self._ids[i], self._digests[i]))
            i += 1
            if i == size:
                i = 0


# ----------------------------------------------------------------- reading it

def pages_needed(total: int, page_size: int) -> int:
    """Pages read for ``total`` profiles: pages of ``page_size`` overlapping by one
    profile, up to the first one that is not full (it shows where the list ends)."""
    if total < page_size:
        return 1
    return (total - page_size) // (page_size - 1) + 2


class _Changed(Exception):
    """The database changed shape while it was read (see ``read_key_index``)."""


class _Filler:
    """Adds the profiles of one page after another, checking that they continue each other."""

    def __init__(self, index: KeyIndex, key_fields: list[str], forms: ValueForms | None) -> None:
        self.index = index
        self.key_fields = [f.lower() for f in key_fields]
        self.forms = forms
        self.last_id: int | None = None
        self.profiles = 0

    def add(self, page: list[dict], *, overlaps: bool) -> None:
        ids = []
        for item in page:
            try:
                ids.append(int(item["ID"]))
            except (KeyError, TypeError, ValueError):
                raise _Changed(Msg.R_ORDER) from None
        if any(a >= b for a, b in zip(ids, ids[1:])):
            raise _Changed(Msg.R_ORDER)
        if overlaps:
            if not ids or ids[0] != self.last_id:
                raise _Changed(Msg.R_GAP)
            ids, page = ids[1:], page[1:]
        for profile_id, item in zip(ids, page):
            self.profiles += 1
            fields = item.get("fields")
            if item.get("removed") in (True, 1, "1", "true") or not isinstance(fields, dict):
                continue
            lowered = {str(k).lower(): v for k, v in fields.items()}
            parts = [_text(lowered.get(name)).strip() for name in self.key_fields]
            if not all(parts):
                continue  # a row never has an empty key
            digest = self.forms.stored(fields, item.get("interests")) if self.forms is not None else 0
            self.index.add(key_text(parts), profile_id, digest)
        if ids:
            self.last_id = ids[-1]


def read_key_index(client: "CopernicaClient", database_id: int, key_fields: list[str], forms: ValueForms | None,
                   total: int, in_flight: int = PAGES_IN_FLIGHT) -> KeyIndex | None:
    """Every profile's key, ID and digest; None when the database changed while
    it was read (per-row look-ups are then used). Request errors propagate.

    Pages overlap by one profile: page k starts with the last profile of page
    k-1. The pages are requested ``in_flight`` at a time and checked in order;
    a full last page means the database grew, and reading goes on.
    """
    index = KeyIndex(total)
    filler = _Filler(index, key_fields, forms)
    log.info(Msg.READING, f"{total:,}", database_id, f"{pages_needed(total, client.page_size):,}", in_flight)
    try:
        first, limit = client.profiles_page(database_id, 0)
        filler.add(first, overlaps=False)
        pages = 1
        if len(first) >= limit:
            if limit < 2:
                raise _Changed(Msg.R_PAGE_SIZE)  # pages of one profile cannot overlap
            pages += _read_rest(client, database_id, filler, total, limit, max(1, in_flight))
    except _Changed as changed:
        log.warning(Msg.CHANGED, database_id, changed)
        return None
    log.info(Msg.READ, f"{len(index):,}", f"{filler.profiles:,}", pages, index.nbytes // 1024)
    return index


def _read_rest(client: "CopernicaClient", database_id: int, filler: _Filler, total: int, limit: int,
               in_flight: int) -> int:
    from concurrent.futures import ThreadPoolExecutor  # only when there is more than one page

    step = limit - 1
    next_start = step
    pending: deque[Future] = deque()
    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="keys")

    def submit() -> None:
        nonlocal next_start
        pending.append(pool.submit(client.profiles_page, database_id, next_start, limit))
        next_start += step

    pages, previous_full = 0, True
    try:
        while pending or previous_full:
            while previous_full and next_start < total and len(pending) < in_flight + 2:
                submit()
            if not pending:
                submit()  # the last page was full: the database grew while it was read
            page, used = pending.popleft().result()
            pages += 1
            if not previous_full:
                if page:
                    raise _Changed(Msg.R_GAP)
                continue
            if used != limit:
                raise _Changed(Msg.R_PAGE_SIZE)
            filler.add(page, overlaps=True)
            previous_full = len(page) >= limit
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return pages
