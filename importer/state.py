"""The user's state folder: what runs on this computer share.

``COPERNICA_STATE_DIR``, else ``$XDG_STATE_HOME/copernica-import``, else
``~/.local/state/copernica-import``. It holds one lock per API host and
database, so that two runs on this computer never send to the same
database at once (two upserts of the same people in different orders can
each find nobody and both create: a duplicate). Runs on different computers
are not seen: the README says so.

The lock is named after the host as ``lock_name`` writes it, not as it was
typed: ``LOCALHOST:8765``, ``127.0.0.1:8765``, ``[::1]:8765`` and
``127.1:8765`` are one server, so they are one lock. A lock that is too wide
only makes a run wait; one that is too narrow lets a duplicate through.
"""
from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import re
import socket
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from importer.errors import DatabaseBusy, OutputError

STATE_DIR_ENV = "COPERNICA_STATE_DIR"
POLL_SECONDS = 0.5
HOSTS_FILE = Path("/etc/hosts")
HOSTS_FILE_MAX_BYTES = 1 << 20     # a bigger hosts file is not read (its names are then not resolved)
LOOPBACK = "loopback"              # the lock name of every spelling of this computer's own address
# names that always mean this computer (RFC 6761 reserves localhost and every name under it)
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
WEB_PORTS = "web"                  # the lock name's port for a missing port, 80 and 443
_IPV4_SHORT = re.compile(r"[0-9a-fA-FxX.]+")   # what inet_aton reads: 127.1, 0x7f.1, 2130706433


class Msg:
    BUSY = ("another copernica-import run is sending to database {database} at {host} right now{holder}; "
            "two runs at once could create the same person twice. Wait for it to finish, or add "
            "--wait-for-lock SECONDS to wait for it")
    BUSY_WAITED = ("another copernica-import run is still sending to database {database} at {host} after "
                   "{waited:g} s of waiting{holder}; nothing was sent. Run again when it has finished")
    HOLDER = " (process {pid}, importing {file} since {since})"
    NO_STATE_DIR = "the state folder could not be made ({why}); set COPERNICA_STATE_DIR to a writable folder"


class Busy:
    """``lock_file`` found the lock held; ``text`` is what its holder wrote in it."""

    def __init__(self, text: str) -> None:
        self.text = text


def lock_file(path: Path):
    """An open file holding an exclusive flock on ``path``, or ``Busy``.

    The file is removed when it is unlocked (``unlock_file``), so no lock file
    stays behind after a clean end. That is race-free because a lock taken on
    a file that was removed (or replaced) meanwhile is let go and taken again
    on the file that is there now.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        f = open(path, "a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            text = f.read()
            f.close()
            return Busy(text)
        try:
            if os.fstat(f.fileno()).st_ino == os.stat(path).st_ino:
                return f
        except FileNotFoundError:
            pass
        f.close()  # the holder removed it just before we got it: take the new one


def unlock_file(path: Path, f) -> None:
    """Removes the lock file while still holding it, then lets go."""
    try:
        try:
            path.unlink()
        except OSError:
            pass
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    finally:
        f.close()


def _holder(text: str) -> str:
    try:
        info = json.loads(text or "{}")
        return Msg.HOLDER.format(pid=info["pid"], file=info.get("file") or "?", since=info.get("since", "?"))
    except (ValueError, KeyError, TypeError):
        return ""


def state_dir() -> Path:
    given = os.environ.get(STATE_DIR_ENV, "").strip()
    if given:
        return Path(given).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "copernica-import"


def lock_name(address: str) -> str:
    """One name for every spelling of one API server: ``address`` is a URL or its ``host[:port]``.

    The host is lower-cased, without a trailing dot, user or password; an IP
    address is written in its one canonical form (IPv4 also from 127.1 or
    2130706433, an IPv4-mapped IPv6 address as IPv4); every loopback address
    and name (localhost, 127.0.0.0/8, ::1, 0.0.0.0, names under .localhost) is
    ``loopback``; a name in the hosts file is its address there. The port is
    always written, the default one too: a missing port, 80 and 443 are one
    name, ``web``. Per scheme (http 80, https 443) they would be two, but the
    runner gives only ``host[:port]``, without the scheme, and both forms of
    an address must give one name; joining an http and an https server on one
    host only makes a run wait.

    DNS is not asked: ``getaddrinfo`` has no time limit and can hang for
    seconds on a slow resolver, before anything is sent. So a DNS name and
    its address typed as an IP (api.example.com and 203.0.113.7) are two names.
    """
    text = address.strip()
    if "://" in text:
        text = urlsplit(text).netloc
    host, port = _split_port(text.rpartition("@")[2])     # never a user or password in a file name
    return f"{_host_name(host)}_{WEB_PORTS if port in (None, *_DEFAULT_PORTS.values()) else port}"


def _split_port(netloc: str) -> tuple[str, int | None]:
    """'host:8765' -> ('host', 8765); '[::1]:8765' -> ('::1', 8765); '::1' -> ('::1', None)."""
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        return host, _port(rest[1:]) if rest.startswith(":") else None
    if netloc.count(":") == 1:
        host, _, port = netloc.partition(":")
        return host, _port(port)
    return netloc, None


def _port(text: str) -> int | None:
    return int(text) if text.isdigit() and text.isascii() else None


def _host_name(host: str) -> str:
    """A host as the lock names it (``lock_name``)."""
    name = host.strip().lower().rstrip(".")
    name = name.partition("%")[0]       # fe80::1%eth0: the zone names a route, not another server
    address = _ip(name)
    if address is None and (name in _LOOPBACK_NAMES or name.endswith(".localhost")):
        return LOOPBACK
    if address is None:
        address = _ip(_hosts_file().get(name, ""))
    if address is None:
        return name
    if address.is_loopback or address.is_unspecified:
        return LOOPBACK
    return str(address)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``text`` as an IP address in every form a connection reads it (127.1 too), else None."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        if not text or not _IPV4_SHORT.fullmatch(text) or not any(c.isdigit() for c in text):
            return None
        try:
            address = ipaddress.ip_address(socket.inet_aton(text))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _hosts_file() -> dict[str, str]:
    """Name -> the first address the hosts file gives it (a local file: read at once, never waits on a network)."""
    try:
        if not HOSTS_FILE.is_file() or HOSTS_FILE.stat().st_size > HOSTS_FILE_MAX_BYTES:
            return {}
        text = HOSTS_FILE.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    names: dict[str, str] = {}
    for line in text.splitlines():
        address, *aliases = line.partition("#")[0].split() or [""]
        for alias in aliases:
            names.setdefault(alias.lower().rstrip("."), address)
    return names


class HeldLock:
    """A lock file held while ``acquire`` (in the subclass) has it: released by
    ``release`` or at the end of a ``with`` block, the file removed when unused."""
    path: Path
    _file = None

    def acquire(self):  # each lock says how it waits and what it says when busy
        raise NotImplementedError

    def release(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            unlock_file(self.path, f)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class DatabaseLock(HeldLock):
    """An OS-level lock on one database of one API host (freed when the process ends, kill -9 included).

    ``host`` is the API's URL or its ``host[:port]``; every spelling of one
    server takes the same lock (``lock_name``)."""

    def __init__(self, host: str, database: int, *, about: str = "") -> None:
        self.host = host.rpartition("@")[2]     # as the user wrote it, for the message; never a password
        self.database = database
        self.about = about
        safe_host = re.sub(r"[^A-Za-z0-9.-]+", "_", lock_name(host))
        self.path = state_dir() / "locks" / f"{safe_host}-database-{int(database)}.lock"
        self._file = None

    def acquire(self, wait_seconds: float = 0.0, *, stopping: Callable[[], bool] = lambda: False) -> "DatabaseLock":
        deadline = time.monotonic() + max(0.0, wait_seconds)
        while True:
            try:
                f = lock_file(self.path)
            except OSError as exc:
                raise OutputError(self.path.parent, Msg.NO_STATE_DIR.format(why=exc.strerror or exc)) from None
            if not isinstance(f, Busy):
                break
            if time.monotonic() >= deadline or stopping():
                template = Msg.BUSY_WAITED if wait_seconds > 0 else Msg.BUSY
                raise DatabaseBusy(template.format(database=self.database, host=self.host,
                                                   holder=_holder(f.text), waited=wait_seconds))
            time.sleep(POLL_SECONDS)
        f.seek(0)
        f.truncate()
        json.dump({"pid": os.getpid(), "file": self.about, "since": datetime.now().strftime("%H:%M:%S")}, f)
        f.flush()
        self._file = f
        return self

