"""Named value transforms that a mapping applies to a cell before checking it.

A transform is a pure function ``str -> str``. A mapping names them in a list::

    transform: [trim, lower, {replace: {Holland: NL}}, {default: NL}]
    transform: [{regex_replace: {"^00": "+"}}]      # a pattern and what replaces it

(``{lookup: countries.csv}``, a table read from a file, needs the mapping's
folder and is built by ``importer.mapping.lookup``.)

Two kinds of transform live here:

- ``SIMPLE``: used by name alone (``trim``).
- ``PARAMETERISED``: a one-key mapping ``{name: argument}``; the factory gets
  the argument and returns the transform, or raises ``TransformSpecError``
  with a sentence saying what argument it wants.

To add a transform, add a function to one of the two registries; the mapping
loader, its error messages and the README list pick it up from there.
"""
from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

Transform = Callable[[str], str]


class Msg:
    """What a transform that a mapping names wrongly is told (the mapping adds the place)."""
    REPLACE_NEEDS_PAIRS = ("replace needs a list of 'from: to' pairs, for example "
                           "{{replace: {{Holland: NL, Nederland: NL}}}}")
    REPLACE_NOT_SINGLE = "replace: each 'from' and 'to' must be a single value, not a list or a mapping"
    DEFAULT_NEEDS_VALUE = "default needs a single value, for example {{default: NL}}"
    ZFILL_NEEDS_WIDTH = "zfill needs a width, a whole number of 1 or more, for example {{zfill: 6}}"
    REGEX_NEEDS_PAIRS = ("regex_replace needs 'pattern: replacement' pairs, for example "
                         "{{regex_replace: {{'^00': '+'}}}} (quote them: YAML reads some characters itself)")
    REGEX_NOT_SINGLE = "regex_replace: each pattern and replacement must be a single value, not a list or a mapping"
    REGEX_BAD = "regex_replace: {pattern!r} cannot be used: {why}"
    UNKNOWN = "unknown transform '{name}'{hint} (known: {known})"
    DID_YOU_MEAN = "; did you mean '{name}'?"
    NEEDS_ARGUMENT = "transform '{name}' needs an argument, written as {{{name}: ...}}"
    TAKES_NO_ARGUMENT = "transform '{name}' takes no argument; write it as just {name}"
    NOT_A_TRANSFORM = "a transform is a name such as trim, or one name with its argument such as {{default: NL}}"
    NO_TABLES = "lookup tables can only be used in a mapping file (or a mapping given to run_import)"


class TransformSpecError(ValueError):
    """A transform in a mapping is unknown or has a bad argument; str() is the sentence."""


# ---------------------------------------------------------------- simple ones

# Besides ordinary whitespace, spreadsheets exported from the web carry
# zero-width spaces and byte-order marks that nobody can see in a cell.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def trim(value: str) -> str:
    """Remove spaces (and invisible characters) at both ends."""
    trimmed = value.strip()
    if trimmed.isascii():   # the invisible characters are not ASCII: nothing more to remove
        return trimmed
    return trimmed.strip(_INVISIBLE).strip()


def collapse_spaces(value: str) -> str:
    """Trim, and turn every run of spaces, tabs or line breaks inside into one space."""
    return " ".join(value.split())


_NOT_DIGITS = re.compile(r"[^0-9]+")


def digits(value: str) -> str:
    """Keep only the digits 0-9: '06-123 45' -> '0612345', '+31 6 1' -> '3161'."""
    return _NOT_DIGITS.sub("", value)


_WORD_START = re.compile(r"(^|[\s\-])(\w)")
# O'Brien, D'Arcy: a single letter and an apostrophe start a name of their own
_APOSTROPHE_NAME = re.compile(r"(^|[\s\-])(\w)'(\w)")


@functools.lru_cache(maxsize=8192)   # names and places repeat: most cells are found here (bounded memory)
def title(value: str) -> str:
    """Capitalise each word ('jan VAN der berg' -> 'Jan Van Der Berg', "o'brien" -> "O'Brien").

    Unlike Python's ``str.title`` it does not capitalise after every
    apostrophe ("Anne's" stays "Anne's").
    """
    lowered = value.lower()
    result = _WORD_START.sub(lambda m: m.group(1) + m.group(2).upper(), lowered)
    return _APOSTROPHE_NAME.sub(lambda m: f"{m.group(1)}{m.group(2)}'{m.group(3).upper()}", result)


SIMPLE: dict[str, Transform] = {
    "trim": trim,
    "lower": str.lower,
    "upper": str.upper,
    "title": title,
    "collapse_spaces": collapse_spaces,
    "collapse": collapse_spaces,  # short alias
    "digits": digits,
}


# ---------------------------------------------------------- with an argument

def scalar_text(value: Any) -> str:
    """A YAML scalar as the text a person typed (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def replace(argument: Any) -> Transform:
    """``{replace: {from: to, ...}}``: swap a whole cell value for another (exact match)."""
    if not isinstance(argument, dict) or not argument:
        raise TransformSpecError(Msg.REPLACE_NEEDS_PAIRS.format())
    if not all(_is_scalar(k) and _is_scalar(v) for k, v in argument.items()):
        raise TransformSpecError(Msg.REPLACE_NOT_SINGLE.format())
    table = {scalar_text(k): scalar_text(v) for k, v in argument.items()}
    return lambda value: table.get(value, value)


def default(argument: Any) -> Transform:
    """``{default: text}``: use ``text`` when the cell is empty."""
    if not _is_scalar(argument) or argument is None:
        raise TransformSpecError(Msg.DEFAULT_NEEDS_VALUE.format())
    fallback = scalar_text(argument)
    return lambda value: value if value != "" else fallback


def zfill(argument: Any) -> Transform:
    """``{zfill: 6}``: pad a number with leading zeros to that width ('123' -> '000123').

    Spreadsheet programs drop leading zeros of number cells; this puts them
    back so that the CSV and the Excel export of one list give the same value.
    Values that are not all digits are left alone.
    """
    try:
        width = int(scalar_text(argument))
    except ValueError:
        width = 0
    if width < 1 or isinstance(argument, bool):
        raise TransformSpecError(Msg.ZFILL_NEEDS_WIDTH.format())
    return lambda value: value.zfill(width) if value.isdigit() else value


def regex_replace(argument: Any) -> Transform:
    """``{regex_replace: {pattern: replacement, ...}}``: every match of each pattern (a Python regular
    expression) is replaced, in order; ``\\1`` in the replacement is the first group ('^0031' -> '+31',
    '[^0-9+]' -> '')."""
    if not isinstance(argument, dict) or not argument:
        raise TransformSpecError(Msg.REGEX_NEEDS_PAIRS.format())
    if not all(_is_scalar(k) and _is_scalar(v) for k, v in argument.items()):
        raise TransformSpecError(Msg.REGEX_NOT_SINGLE.format())
    steps: list[tuple[re.Pattern[str], str]] = []
    for pattern_text, replacement in argument.items():
        pattern_text, replacement = scalar_text(pattern_text), scalar_text(replacement)
        try:
            pattern = re.compile(pattern_text)
            pattern.sub(replacement, "")  # a bad group reference in the replacement fails here, not per row
        except (re.error, IndexError) as exc:
            raise TransformSpecError(Msg.REGEX_BAD.format(pattern=pattern_text, why=exc)) from None
        steps.append((pattern, replacement))

    def apply(value: str) -> str:
        for pattern, replacement in steps:
            value = pattern.sub(replacement, value)
        return value
    return apply


PARAMETERISED: dict[str, Callable[[Any], Transform]] = {
    "replace": replace,
    "default": default,
    "zfill": zfill,
    "regex_replace": regex_replace,
}


# ---------------------------------------------------------------- building

# built by the mapping, which knows the folder its file names are relative to
# (``importer.mapping.lookup``): {lookup: countries.csv}
WITH_FILES = ("lookup",)
Tables = Callable[[Any], Transform]


def known_names() -> list[str]:
    return [*SIMPLE, *PARAMETERISED, *WITH_FILES]


def _unknown(name: str) -> TransformSpecError:
    close = difflib.get_close_matches(name.lower(), known_names(), n=1)
    hint = Msg.DID_YOU_MEAN.format(name=close[0]) if close else ""
    return TransformSpecError(Msg.UNKNOWN.format(name=name, hint=hint, known=", ".join(known_names())))


def build_transform(spec: Any, *, tables: Tables | None = None) -> Transform:
    """The transform a mapping entry names: ``'trim'`` or ``{'replace': {...}}``.

    ``tables`` builds ``{lookup: FILE}`` (see ``importer.mapping.lookup``)."""
    if isinstance(spec, str):
        if spec in SIMPLE:
            return SIMPLE[spec]
        if spec in PARAMETERISED or spec in WITH_FILES:
            raise TransformSpecError(Msg.NEEDS_ARGUMENT.format(name=spec))
        raise _unknown(spec)
    if isinstance(spec, dict) and len(spec) == 1:
        ((name, argument),) = spec.items()
        name = scalar_text(name)
        if name in PARAMETERISED:
            return PARAMETERISED[name](argument)
        if name in WITH_FILES:
            if tables is None:
                raise TransformSpecError(Msg.NO_TABLES.format())
            return tables(argument)
        if name in SIMPLE:
            raise TransformSpecError(Msg.TAKES_NO_ARGUMENT.format(name=name))
        raise _unknown(name)
    raise TransformSpecError(Msg.NOT_A_TRANSFORM.format())


def chain(transforms: Iterable[Transform]) -> Transform | None:
    """One function applying ``transforms`` left to right; None when there are none."""
    steps = tuple(transforms)
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    if len(steps) == 2:
        first, second = steps
        return lambda value: second(first(value))

    def apply_all(value: str) -> str:
        for step in steps:
            value = step(value)
        return value
    return apply_all
