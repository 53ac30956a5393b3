"""Times as the night's records show them: always with a zone, durations in words.

    local_text(time.time())   -> '2026-01-05T02:00:03+01:00'   (log lines, history, summaries)
    utc_stamp()               -> '20260105T010003Z'            (archive names: sortable, no zone doubt)
    duration_text(250)        -> '4 min'
    parse_duration('1h30m')   -> 5400.0                        (--max-runtime, --max-outage, jobs file)
"""
from __future__ import annotations

import re
import time
from datetime import UTC, datetime


class Msg:
    BAD_DURATION = ("{name} must be a duration such as 90s, 45m, 2h or 1h30m (a plain number is seconds), "
                    "not {value!r}")


_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(sec|s|min|m|h|d)?", re.IGNORECASE)


def local_text(timestamp: float | None = None) -> str:
    """An ISO 8601 time in this computer's zone, with its offset."""
    moment = datetime.fromtimestamp(time.time() if timestamp is None else timestamp).astimezone()
    return moment.isoformat(timespec="seconds")


def utc_stamp(timestamp: float | None = None) -> str:
    """A compact UTC stamp for file names: 20260105T010003Z."""
    moment = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, tz=UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def duration_text(seconds: float) -> str:
    """45 s, 4 min, 1 h 10 min: rounded the way a person reads a log."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def parse_duration(value: object, name: str = "the duration") -> float:
    """Seconds from 90, '90s', '45m', '2h', '1h30m' (a number: seconds). ValueError with a sentence."""
    if isinstance(value, bool):
        raise ValueError(Msg.BAD_DURATION.format(name=name, value=value))
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(Msg.BAD_DURATION.format(name=name, value=value))
        return float(value)
    text = str(value).strip()
    total, position = 0.0, 0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(Msg.BAD_DURATION.format(name=name, value=value))
        unit = (match.group(2) or "s").lower()
        if match.group(2) is None and match.end() != len(text):
            raise ValueError(Msg.BAD_DURATION.format(name=name, value=value))  # '5 3h'
        total += float(match.group(1)) * _UNITS[unit]
        position = match.end()
    if not text:
        raise ValueError(Msg.BAD_DURATION.format(name=name, value=value))
    return total
