"""Nightly drops: which input files to import, which to leave for the next
run (still being written), and moving finished ones to an archive folder.

Knows nothing about rows, mappings or HTTP: only paths, sizes and times.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from importer.errors import UsageError
from importer.times import utc_stamp

# A file modified this recently may still be arriving (an upload, a copy).
DEFAULT_SETTLE_SECONDS = 60.0
# How long to watch a file's size and modification time for a change.
DEFAULT_OBSERVE_SECONDS = 2.0
_GLOB_CHARACTERS = set("*?[")


class Msg:
    """Every text this module shows a user, in one place."""
    NO_MATCH = "no file matches {pattern!r} (nothing to import)"
    MISSING = "the file {path} does not exist"
    STILL_WRITTEN = ("left for the next run: {path} is still being written "
                     "(it changed {age:.0f} s ago; files changed in the last {settle:.0f} s are not imported yet)")
    STILL_GROWING = "left for the next run: {path} is still being written (its size or time changed just now)"
    ARCHIVE_NOT_DIR = "the archive folder {path} is not a folder"
    ARCHIVED = "archived {path} to {target}"
    PRUNED = "removed {path} from the archive (archived {days:.0f} days ago; --keep-days {keep:g})"


@dataclass(frozen=True)
class Skipped:
    """An input left alone this time, and why (a sentence for the log)."""
    path: Path
    reason: str


@dataclass
class Inputs:
    """The files to import; ``from_patterns`` are the ones a glob found (drops)."""
    files: list[Path]
    from_patterns: set[Path]
    notes: list[str]


def expand_inputs(patterns: Iterable[str]) -> Inputs:
    """The files that FILE arguments name, in a stable order, each once.

    Globs are expanded here too, so a quoted pattern in a cron line works the
    same as one the shell expanded. A pattern matching nothing is reported
    (not an error: an empty drop folder is a normal night). A plain name that
    does not exist is an error: that is a typo, not an empty night.
    """
    inputs = Inputs([], set(), [])
    seen: set[Path] = set()
    for pattern in patterns:
        from_pattern = bool(_GLOB_CHARACTERS & set(pattern)) and not Path(pattern).exists()
        if from_pattern:
            matches = sorted(Path(p) for p in glob.glob(os.path.expanduser(pattern)) if Path(p).is_file())
            matches = [m for m in matches if not _is_our_output(m) and not is_lock_file(m)]
            if not matches:
                inputs.notes.append(Msg.NO_MATCH.format(pattern=pattern))
        else:
            path = Path(os.path.expanduser(pattern))
            if not path.exists():
                raise UsageError(Msg.MISSING.format(path=path))
            matches = [path]
        for path in matches:
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                inputs.files.append(path)
                if from_pattern:
                    inputs.from_patterns.add(path)
    return inputs


_OUR_OUTPUT = re.compile(r".*\.((sandbox-)?results(-[0-9]+)?(\.csv|\.xlsx|\.rollback\.csv)"
                         r"|journal(-wal|-shm|\.lock|\.new)?|lock)$")


def is_lock_file(path: Path) -> bool:
    """Excel's ``~$name.xlsx`` and LibreOffice's ``.~lock.name#``, kept beside a file
    while it is open: no data, and not a drop (named explicitly, the reader
    refuses one and says what it is)."""
    name = path.name
    return name.startswith("~$") or (name.startswith(".~lock.") and name.endswith("#"))


def _is_our_output(path: Path) -> bool:
    """`drops/*` must not pick up results, journals or locks written next to the drops."""
    return _OUR_OUTPUT.fullmatch(path.name) is not None


def still_being_written(path: Path, *, settle_seconds: float = DEFAULT_SETTLE_SECONDS,
                        observe_seconds: float = DEFAULT_OBSERVE_SECONDS,
                        now: Callable[[], float] = time.time,
                        sleep: Callable[[float], None] = time.sleep) -> str | None:
    """Why the file must wait for the next run, or None when it is complete.

    Two signs of a file still arriving: it was modified within the last
    ``settle_seconds``, or its size or modification time changes while we
    watch it for ``observe_seconds``. Neither is proof of the opposite, so
    the uploader should still write to a temporary name and rename at the
    end (README); this rule catches the ones that do not.
    """
    before = path.stat()
    age = now() - before.st_mtime
    if settle_seconds > 0 and age < settle_seconds:
        return Msg.STILL_WRITTEN.format(path=path, age=max(age, 0), settle=settle_seconds)
    if observe_seconds > 0:
        sleep(observe_seconds)
        after = path.stat()
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            return Msg.STILL_GROWING.format(path=path)
    return None


def ready_files(files: list[Path], *, settle_seconds: float = DEFAULT_SETTLE_SECONDS,
                observe_seconds: float = DEFAULT_OBSERVE_SECONDS) -> tuple[list[Path], list[Skipped]]:
    """Splits the inputs into the complete ones and the ones still arriving.

    All files are watched during one shared observation window, so ten files
    cost one wait, not ten.
    """
    if not files:
        return [], []
    first = {p: p.stat() for p in files}
    skipped: list[Skipped] = []
    candidates: list[Path] = []
    for path in files:
        reason = still_being_written(path, settle_seconds=settle_seconds, observe_seconds=0)
        if reason:
            skipped.append(Skipped(path, reason))
        else:
            candidates.append(path)
    if candidates and observe_seconds > 0:
        time.sleep(observe_seconds)
    ready: list[Path] = []
    for path in candidates:
        now_stat = path.stat()
        if (now_stat.st_size, now_stat.st_mtime_ns) != (first[path].st_size, first[path].st_mtime_ns):
            skipped.append(Skipped(path, Msg.STILL_GROWING.format(path=path)))
        else:
            ready.append(path)
    return ready, skipped


def check_archive_dir(archive_dir: Path) -> Path:
    """Creates the archive folder if needed; refuses a path that is a file."""
    if archive_dir.exists() and not archive_dir.is_dir():
        raise UsageError(Msg.ARCHIVE_NOT_DIR.format(path=archive_dir))
    archive_dir.mkdir(parents=True, exist_ok=True)
    return archive_dir


def archive(paths: Iterable[Path], archive_dir: Path) -> list[Path]:
    """Moves each existing path into ``archive_dir``; returns the new paths.

    A name already taken in the archive (yesterday's ``orders.csv``) gets a
    UTC date-time stamp (``orders.20260105T010003Z.csv``), so nothing archived
    earlier is ever overwritten and the stamp means the same moment in every
    zone and across a daylight-saving change. The input file and its results
    and journal get the same stamp, so they stay recognisable as one set.
    Each moved file's modification time becomes the time it was archived:
    that is the age ``prune_archive`` (``--keep-days``) goes by.
    """
    paths = [p for p in paths if p.exists()]
    stamp = ""
    if any((archive_dir / p.name).exists() for p in paths):
        stamp = utc_stamp()
    moved = []
    for path in paths:
        target = archive_dir / _stamped(path.name, stamp)
        counter = 1
        while target.exists():  # two runs within one second
            counter += 1
            target = archive_dir / _stamped(path.name, f"{stamp}-{counter}" if stamp else str(counter))
        moved.append(Path(shutil.move(str(path), str(target))))
        os.utime(moved[-1])
    return moved


def prune_archive(archive_dir: Path, keep_days: float, *, now: float | None = None,
                  keep: Iterable[Path] = ()) -> list[Path]:
    """Removes the files in ``archive_dir`` archived more than ``keep_days`` ago
    (by modification time, which ``archive`` sets to the moment of the move);
    returns what it removed. Only plain files directly in the folder: never a
    folder, never a file in ``keep`` (what this run archived)."""
    now = time.time() if now is None else now
    limit = now - keep_days * 86400
    kept = {p.resolve() for p in keep}
    removed = []
    for path in sorted(archive_dir.iterdir()) if archive_dir.is_dir() else []:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if not path.is_file() or path.is_symlink() or info.st_mtime >= limit or path.resolve() in kept:
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _stamped(name: str, stamp: str) -> str:
    """orders.csv -> orders.20260105T010000Z.csv (stamp before all suffixes)."""
    if not stamp:
        return name
    base, dot, rest = name.partition(".")
    return f"{base}.{stamp}.{rest}" if dot else f"{base}.{stamp}"
