"""Which date formats read a column: ``propose_date_formats`` (what ``init`` proposes) and
``guess_date_format``, from a sample of the column's values.

Each value's own candidates come from ``importer.dates.date_format_candidates``;
here they are weighed together: whether two short numbers are day and month
or month and day is decided by the values that can only be read one way, and
the values no proposed format reads are listed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from importer.dates import ISO_DATE, date_format_candidates


def guess_date_format(values: list[str]) -> tuple[str | None, list[str], int]:
    """(the one format every readable value fits, or None; the formats tied; count of unreadable values).

    ISO values need no format: (None, [], n). Values that are no date at all
    (a typo such as 30-02-1985) do not spoil the guess for the others.
    """
    readable = [c for c in (date_format_candidates(v) for v in values) if c]
    unreadable = len(values) - len(readable)
    if not readable or all(c[0].startswith(ISO_DATE) for c in readable):
        return None, [], unreadable
    counts = Counter(fmt for candidates in readable for fmt in candidates)
    fitting_all = [fmt for fmt, n in counts.items() if n == len(readable)]
    if len(fitting_all) == 1:
        return fitting_all[0], fitting_all, unreadable
    if len(fitting_all) > 1:
        return None, sorted(fitting_all), unreadable
    return None, [], len(values)


@dataclass
class DateProposal:
    """What ``propose_date_formats`` found in a column's sample.

    ``formats``: the formats that together read the readable values, the most
    used first; ``uncovered``: values that no proposed format reads (not dates,
    dates that are not real, or the minority of a column that writes day-first
    and month-first both); ``undecided``: the day-first and the month-first
    format when no value settles which one the column uses (then neither is in
    ``formats``); ``settled_by``: a value that settled it ('25-12-1980').
    """
    formats: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    settled_by: str = ""
    order: str | None = None       # "day" or "month" first, as settled_by shows; None when nothing settled it
    counts: dict[str, int] = field(default_factory=dict)   # format -> values it reads

    @property
    def zoned(self) -> bool:
        """True when a proposed format reads a time zone (%z)."""
        return any("%z" in f for f in self.formats)


def date_order(fmt: str) -> str | None:
    """'day' for a day-first format (%d before %m), 'month' for month-first, None for year-first."""
    day, month, year = fmt.find("%d"), fmt.find("%m"), fmt.find("%Y")
    if year < day and year < month:
        return None
    return "day" if day < month else "month"


def propose_date_formats(values: list[str]) -> DateProposal:
    """The ``date_format`` list that reads a column, from a sample of its values.

    ["25-12-1980", "1-3-1975", "1980-12-25"] -> formats ["%d-%m-%Y", "%Y-%m-%d"]:
    every value keeps its own shape, and whether two short numbers are day
    and month or month and day is decided by the values that can only be read
    one way (25-12-1980 is day-first). When no value settles it, both are in
    ``undecided`` and the values that need it are left out of ``formats``.
    """
    proposal = DateProposal()
    readable: list[tuple[str, list[str]]] = []
    for value in values:
        candidates = date_format_candidates(value)
        if candidates:
            readable.append((value, candidates))
        else:
            proposal.uncovered.append(value)
    settled = {"day": [], "month": []}
    for value, candidates in readable:
        orders = {date_order(c) for c in candidates}
        if len(candidates) == 1 and None not in orders:
            settled[date_order(candidates[0]) or "day"].append(value)
    if settled["day"] and settled["month"]:
        order = "day" if len(settled["day"]) >= len(settled["month"]) else "month"
    elif settled["day"] or settled["month"]:
        order = "day" if settled["day"] else "month"
    else:
        order = None
    if order is not None:
        proposal.settled_by, proposal.order = settled[order][0], order
    counts: Counter[str] = Counter()
    for value, candidates in readable:
        fitting = [c for c in candidates if date_order(c) in (None, order)]
        if order is None and len(candidates) > 1:
            proposal.undecided = sorted(set(proposal.undecided) | set(candidates))
            continue
        if not fitting:
            proposal.uncovered.append(value)   # month-first in a day-first column, or the other way round
            continue
        counts[fitting[0]] += 1
    proposal.formats = [fmt for fmt, _ in counts.most_common()]
    proposal.counts = dict(counts)
    return proposal
