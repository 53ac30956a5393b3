"""No output ever lands on an input: a report written over the input file, a
summary over the mapping, a log appended to the file before it is read.

Every path is compared as the system sees it: resolved (symlinks followed),
and, where both exist, by ``os.path.samefile`` (which also follows hard
links and a case-insensitive file system's idea of one name).
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from importer.errors import UsageError


class Msg:
    SAME = ("{output_label} {output} is the same file as {input_label} {input}; "
            "writing it would destroy the {input_kind}. Choose another path for the {output_kind}")
    TWO_OUTPUTS = "{a_label} {a} and {b_label} {b} are the same file; choose another path for one of them"


def same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(str(a.resolve())) == os.path.normcase(str(b.resolve()))


def refuse_overlaps(inputs: Iterable[tuple[str, Path | None]], outputs: Iterable[tuple[str, Path | None]]) -> None:
    """UsageError when an output (label, path) is an input or another output.

    Labels read like "the results file" / "the input file".
    """
    ins = [(label, Path(path)) for label, path in inputs if path is not None]
    outs = [(label, Path(path)) for label, path in outputs if path is not None]
    for out_label, out in outs:
        for in_label, source in ins:
            if same_file(out, source):
                raise UsageError(Msg.SAME.format(output_label=out_label, output=out, input_label=in_label,
                                                 input=source, input_kind=_kind(in_label),
                                                 output_kind=_kind(out_label)))
    for i, (a_label, a) in enumerate(outs):
        for b_label, b in outs[i + 1:]:
            if same_file(a, b):
                raise UsageError(Msg.TWO_OUTPUTS.format(a_label=a_label, a=a, b_label=b_label, b=b))


def _kind(label: str) -> str:
    return label.removeprefix("the ").removeprefix("--")


def inside(path: Path, folder: Path) -> bool:
    """True when ``path`` lies in ``folder`` (or below it)."""
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False
