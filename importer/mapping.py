"""The YAML column mapping: load and validate it, then turn rows into profiles.

Two steps, so that everything that can be checked once is checked once:

1. ``load_mapping(path)`` reads and validates the file itself (pydantic
   models, every error naming the file, the line and the place in it).
2. ``compile_mapping(mapping, headers, schema)`` fits it to one input file and
   one database: mapped columns must exist in the file, mapped fields and
   interests in the database. It returns a ``RowConverter``, a callable that
   turns each ``Row`` into a ``Profile`` or a ``RowError`` with all the
   row's problems in one message.

The format (see also mappings/contacts.yaml, which explains every option)::

    database: 1234            # optional; --database overrides
    key: email                # or a list: [firstname, lastname, zipcode]
    on_existing: create       # create | skip | update | upsert
    duplicates: first         # first | last
    interests_on_update: add  # add | replace
    fields:
      email: {column: E-mail address, transform: [trim, lower], validate: email, required: true}
      firstname: First name                         # shorthand: just the column
      birthdate: {column: Date of birth, date_format: ["%d-%m-%Y", "%Y-%m-%d"]}
      source: {value: spring-fair-2026}             # a constant
      score: {column: Score, decimal_comma: true}
      country: {column: Country, fix_case: true}
      city: {column: City, on_invalid: omit}        # reject | omit | send
      phone: {column: Phone, blank_existing: true}
    interests:
      newsletter: {column: Newsletter, truthy: [yes, y, "1", x, true, ja]}
      football: {column: Sports, contains: Football, separator: ";"}
      vip: {value: 1}

YAML detail: only ``true``/``false`` are booleans and numbers stay text, so
``yes``, ``no``, ``NO`` (Norway), ``0123`` and ``2026-03-01`` mean what they
look like (plain YAML 1.1 would turn them into True, False, 83 and a date).
"""
from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from importer import checks, transforms
from importer.errors import MappingError, SchemaError
from importer.models import Profile, Row, RowError
from importer.schema import DatabaseSchema, FieldDef

DEFAULT_TRUTHY: tuple[str, ...] = ("yes", "y", "1", "x", "true", "ja")
DEFAULT_FALSY: tuple[str, ...] = ("no", "n", "0", "false", "nee", "")
KEY_SEPARATOR = " | "


def _key_text(parts: list[str]) -> str:
    """A composite key as one readable, unambiguous text: ('a | b', 'c') and
    ('a', 'b | c') must not both read 'a | b | c' (that would make two people
    one duplicate), so a part holding '|' or '"' is written in JSON quotes."""
    if len(parts) == 1:
        return parts[0]
    return KEY_SEPARATOR.join(json.dumps(p, ensure_ascii=False) if ("|" in p or '"' in p) else p for p in parts)
DATE_TYPES = frozenset({"date", "empty_date"})
DATETIME_TYPES = frozenset({"datetime", "empty_datetime"})


class Messages:
    """Every sentence this module says to a user, in one place."""
    # loading the file
    NO_FILE = "{path}: the mapping file does not exist"
    NOT_READABLE = "{path}: the mapping file cannot be read ({why})"
    BAD_YAML = "{path}: line {line}, column {col}: this is not valid YAML: {why}"
    DUPLICATE_YAML_KEY = "'{key}' appears twice in the same section"
    EMPTY_FILE = "{path}: the mapping file is empty; it needs at least a 'fields:' section"
    NOT_A_MAPPING = "{path}: the mapping file must consist of settings such as 'fields:', not {got}"
    INVALID = "{path}: {count} in the mapping file:\n{problems}"
    # settings
    UNKNOWN_SETTING = "unknown setting '{name}'{hint} (allowed: {allowed})"
    NO_SOURCE = "say where the value comes from: a column name, {{column: ...}} or a constant {{value: ...}}"
    BOTH_SOURCES = "use either 'column' or 'value', not both"
    EMPTY_COLUMN_NAME = "the column name is empty"
    EMPTY_CONSTANT = "the constant value is empty; leave the field out instead"
    CONSTANT_OPTIONS = "{options} only apply to a value read from a column, not to a constant"
    BAD_DATE_FORMAT = ("date format {fmt!r} cannot be used: {why} (write it with %d for the day, "
                       "%m for the month and %Y for the year, for example '%d-%m-%Y')")
    DATE_FORMAT_INCOMPLETE = "it must contain a day, a month and a year"
    CONTAINS_WITH_TRUTHY = "truthy/falsy apply to a yes/no column, not to 'contains'"
    CONTAINS_EMPTY = "'contains' is empty; give the item to look for"
    SEPARATOR_WITHOUT_CONTAINS = "'separator' only applies together with 'contains'"
    TRUTHY_AND_FALSY = "{values} cannot mean both yes (truthy) and no (falsy)"
    BAD_INTEREST_CONSTANT = "{value!r} is not a yes/no value; use 1 (on) or 0 (off)"
    NOTHING_MAPPED = "the mapping maps no fields and no interests"
    SAME_NAME_TWICE = "{kind} {a!r} and {b!r} are the same {kind} (names are case-insensitive)"
    KEY_NOT_MAPPED = "key: {name!r} is not one of the mapped fields{hint} (mapped: {mapped})"
    KEY_IS_CONSTANT = "key: field {name!r} is a constant, so every row would have the same key"
    REQUIRED_OMIT = "a required field cannot be left out, so on_invalid cannot be 'omit' here"
    KEY_ON_INVALID = ("fields.{name}.on_invalid: a key field must be valid, so it cannot be "
                      "'{mode}'; remove on_invalid from this field")
    NEEDS_KEY = ("on_existing: {mode} needs a key to find existing profiles; add for example "
                 "'key: email' to the mapping")
    NOT_ALLOWED = "{value!r} is not allowed here{hint}; use {expected}"
    NOT_BOOLEAN = "{value!r} is not true or false"
    NOT_WHOLE_NUMBER = "{value!r} is not a whole number"
    TOO_SMALL = "{value!r} is too small: {why}"
    NOT_TEXT = "expected a single value here, not {got}"
    NOT_SETTINGS = "expected settings written as 'name: value' lines here, not {got}"
    NOT_LIST = "expected a list here, such as [a, b], not {got}"
    # fitting the mapping to a file and a database
    MISSING_COLUMNS = ("{source}: {count} not in the file: {missing}. "
                       "The file's columns are: {headers}")
    MISSING_COLUMN = "{column!r}{hint}"
    WRONG_DELIMITER = ("{source}: the file was read as one single column ({header!r}...): its columns are "
                       "separated by {delimiter!r}. Leave --delimiter out to detect it, or use "
                       "--delimiter '{delimiter}'")
    UNKNOWN_FIELDS = ("{source}: {count} not in database {database}: {names}. "
                      "Its {kind} are: {known}")
    UNKNOWN_NAME = "{name!r}{hint}"
    BAD_CONSTANT = "{source}: fields.{name}.value: {why}"
    # rows
    EMPTY_BUT_REQUIRED = "column {column!r} is empty but required"
    EMPTY_KEY = ("the key field {field!r} (column {column!r}) is empty, so this row cannot be "
                 "matched or de-duplicated")
    IN_COLUMN = "column {column!r}: {problem}"
    NOT_YES_NO = ("{value} is not a yes/no value for interest {interest!r} "
                  "(yes: {truthy}; no: {falsy})")
    UNMATCHED_ITEM = ("column {column!r}: {value} matches no mapped interest and is not imported "
                      "(mapped: {known})")
    OMITTED = "{problem}; left out (on_invalid: omit)"
    SENT_ANYWAY = "{problem}; sent anyway (on_invalid: send)"


def _nearest(name: str, candidates: list[str]) -> str | None:
    """The candidate ``name`` most likely means (case-insensitive), or None."""
    by_folded = {c.casefold(): c for c in candidates}
    folded = name.casefold().strip()
    close = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=0.6)
    if close:
        return by_folded[close[0]]
    # 'phone number' for 'Phone': one name inside the other is a likely match too
    inside = [c for f, c in by_folded.items() if len(f) >= 3 and len(folded) >= 3 and (f in folded or folded in f)]
    return inside[0] if len(inside) == 1 else None


def _closest(name: str, candidates: list[str]) -> str:
    """'; did you mean 'x'?' for the nearest candidate, or ''."""
    nearest = _nearest(name, candidates)
    return f"; did you mean {nearest!r}?" if nearest is not None else ""


def _closest_in_list(name: str, candidates: list[str]) -> str:
    """" (did you mean 'x'?)" for the nearest candidate, or '', for one item of a list."""
    nearest = _nearest(name, candidates)
    return f" (did you mean {nearest!r}?)" if nearest is not None else ""


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many.format(n=count)


def _described(value: Any) -> str:
    if isinstance(value, dict):
        return "a set of settings"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(transforms.scalar_text(value))


# ------------------------------------------------------------------ YAML

_BOOL_TAG = "tag:yaml.org,2002:bool"
_KEEP_TAGS = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"}


class _MappingLoader(yaml.SafeLoader):
    """YAML without the 1.1 surprises: only true/false are booleans, everything else is text.

    Also refuses a key given twice in one section (plain YAML keeps the last
    one silently, which would drop a mapped field without a word).
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, bool, type(None))) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, Messages.DUPLICATE_YAML_KEY.format(key=key), key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_MappingLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag in _KEEP_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_MappingLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _yaml_lines(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """The line number of every place in the document, so errors can point at it."""
    lines: dict[tuple[Any, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            place = (*path, key_node.value)
            lines[place] = key_node.start_mark.line + 1
            lines.update(_yaml_lines(value_node, place))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            place = (*path, index)
            lines[place] = item.start_mark.line + 1
            lines.update(_yaml_lines(item, place))
    return lines


def _parse_yaml(text: str, path: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    loader = _MappingLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        why = " ".join(p for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise MappingError(Messages.BAD_YAML.format(path=path, line=line, col=col,
                                                    why=why or str(exc))) from None
    finally:
        loader.dispose()
    return data, _yaml_lines(node)


# --------------------------------------------------------------- the model

def _mapping_error(text: str) -> PydanticCustomError:
    # the text goes in through the context so that braces in it are not read as placeholders
    return PydanticCustomError("mapping", "{text}", {"text": text})


def _as_text(value: Any) -> Any:
    """Scalars become the text the user typed; lists and mappings are left to fail."""
    if isinstance(value, (str, int, float, bool)):
        return transforms.scalar_text(value)
    return value


def _as_list(value: Any) -> Any:
    """A single value where a list is allowed: ``transform: trim`` = ``transform: [trim]``."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _checked_transform(spec: Any) -> Any:
    try:
        transforms.build_transform(spec)
    except transforms.TransformSpecError as exc:
        raise _mapping_error(str(exc)) from None
    return spec


def _checked_date_format(fmt: str) -> str:
    sample = datetime(2001, 11, 23, 14, 35, 56)
    try:
        parsed = datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError as exc:
        raise _mapping_error(Messages.BAD_DATE_FORMAT.format(fmt=fmt, why=exc)) from None
    if parsed.date() != sample.date():
        raise _mapping_error(Messages.BAD_DATE_FORMAT.format(fmt=fmt, why=Messages.DATE_FORMAT_INCOMPLETE))
    return fmt


Text = Annotated[str, BeforeValidator(_as_text)]
TransformStep = Annotated[Any, AfterValidator(_checked_transform)]
DateFormat = Annotated[str, BeforeValidator(_as_text), AfterValidator(_checked_date_format)]


class _Settings(BaseModel):
    """A section of the mapping: unknown settings are refused with the closest known one."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_settings(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = [f.alias or name for name, f in cls.model_fields.items()]
            for name in data:
                if name not in allowed:
                    raise _mapping_error(Messages.UNKNOWN_SETTING.format(
                        name=name, hint=_closest(str(name), allowed), allowed=", ".join(allowed)))
        return data


def _column_shorthand(data: Any) -> Any:
    """``firstname: First name`` means ``firstname: {column: First name}``."""
    if data is None:
        raise _mapping_error(Messages.NO_SOURCE)
    if isinstance(data, (str, int, float, bool)):
        return {"column": transforms.scalar_text(data)}
    return data


class FieldSpec(_Settings):
    """Where one Copernica field's value comes from and how it is prepared."""
    column: Text | None = None
    value: Text | None = None
    transform: Annotated[list[TransformStep], BeforeValidator(_as_list)] = []
    check_as: Literal["email"] | None = Field(default=None, alias="validate")
    required: bool = False
    date_format: Annotated[list[DateFormat], BeforeValidator(_as_list)] = []
    decimal_comma: bool = False
    fix_case: bool = False
    on_invalid: Literal["reject", "omit", "send"] = "reject"
    blank_existing: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _column_shorthand(data)

    @model_validator(mode="after")
    def _one_source(self) -> "FieldSpec":
        _check_one_source(self.column, self.value)
        if self.required and self.on_invalid == "omit":
            raise _mapping_error(Messages.REQUIRED_OMIT)
        if self.value is not None:
            used = [name for name in ("transform", "validate", "required", "date_format", "blank_existing")
                    if name in self.model_fields_set or (name == "validate" and self.check_as)]
            if used:
                raise _mapping_error(Messages.CONSTANT_OPTIONS.format(options=", ".join(used)))
        return self


def _check_one_source(column: str | None, value: str | None) -> None:
    if column is None and value is None:
        raise _mapping_error(Messages.NO_SOURCE)
    if column is not None and value is not None:
        raise _mapping_error(Messages.BOTH_SOURCES)
    if column is not None and column.strip() == "":
        raise _mapping_error(Messages.EMPTY_COLUMN_NAME)
    if value is not None and value == "":
        raise _mapping_error(Messages.EMPTY_CONSTANT)


class InterestSpec(_Settings):
    """Where one interest's on/off comes from: a yes/no column, an item in a list column, or a constant."""
    column: Text | None = None
    value: Text | None = None
    truthy: Annotated[list[Text], BeforeValidator(_as_list)] = list(DEFAULT_TRUTHY)
    falsy: Annotated[list[Text], BeforeValidator(_as_list)] = list(DEFAULT_FALSY)
    contains: Text | None = None
    separator: Text = ";"
    blank_existing: bool = False  # on update, an empty cell switches the interest off

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _column_shorthand(data)

    @model_validator(mode="after")
    def _consistent(self) -> "InterestSpec":
        _check_one_source(self.column, self.value)
        if self.value is not None:
            _interest_constant(self.value)
            used = [n for n in ("truthy", "falsy", "contains", "separator", "blank_existing")
                    if n in self.model_fields_set]
            if used:
                raise _mapping_error(Messages.CONSTANT_OPTIONS.format(options=", ".join(used)))
        if self.contains is not None:
            if self.contains.strip() == "":
                raise _mapping_error(Messages.CONTAINS_EMPTY)
            if {"truthy", "falsy"} & self.model_fields_set:
                raise _mapping_error(Messages.CONTAINS_WITH_TRUTHY)
        elif "separator" in self.model_fields_set:
            raise _mapping_error(Messages.SEPARATOR_WITHOUT_CONTAINS)
        both = {_folded(v) for v in self.truthy} & {_folded(v) for v in self.falsy}
        if both and self.contains is None:
            raise _mapping_error(Messages.TRUTHY_AND_FALSY.format(
                values=", ".join(repr(v) for v in sorted(both))))
        return self


def _folded(value: str) -> str:
    return value.strip().casefold()


def _interest_constant(value: str) -> int:
    folded = _folded(value)
    if folded in DEFAULT_TRUTHY or folded == "on":
        return 1
    if folded in DEFAULT_FALSY or folded == "off":
        return 0
    raise _mapping_error(Messages.BAD_INTEREST_CONSTANT.format(value=value))


class Mapping(_Settings):
    """A validated mapping file. Build with ``load_mapping``; fit to a file with ``compile_mapping``."""
    database: int | None = Field(default=None, ge=1)
    key: Annotated[list[Text], BeforeValidator(_as_list)] = []
    on_existing: Literal["create", "skip", "update", "upsert"] = "create"
    duplicates: Literal["first", "last"] = "first"
    interests_on_update: Literal["add", "replace"] = "add"
    fields: dict[Text, FieldSpec] = {}
    interests: dict[Text, InterestSpec] = {}

    _source: str = PrivateAttr(default="the mapping")

    @field_validator("fields", "interests", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _consistent(self) -> "Mapping":
        if not self.fields and not self.interests:
            raise _mapping_error(Messages.NOTHING_MAPPED)
        for kind, names in (("field", list(self.fields)), ("interest", list(self.interests))):
            seen: dict[str, str] = {}
            for name in names:
                if name.casefold() in seen:
                    raise _mapping_error(Messages.SAME_NAME_TWICE.format(
                        kind=kind, a=seen[name.casefold()], b=name))
                seen[name.casefold()] = name
        for name in self.key:
            spec = self._field_spec(name)
            if spec is None:
                raise _mapping_error(Messages.KEY_NOT_MAPPED.format(
                    name=name, hint=_closest(name, list(self.fields)), mapped=", ".join(self.fields) or "none"))
            if spec.value is not None:
                raise _mapping_error(Messages.KEY_IS_CONSTANT.format(name=name))
            if spec.on_invalid != "reject":
                raise _mapping_error(Messages.KEY_ON_INVALID.format(name=name, mode=spec.on_invalid))
        if self.on_existing != "create" and not self.key:
            raise _mapping_error(Messages.NEEDS_KEY.format(mode=self.on_existing))
        return self

    def _field_spec(self, name: str) -> FieldSpec | None:
        folded = name.casefold()
        return next((spec for n, spec in self.fields.items() if n.casefold() == folded), None)

    @property
    def source(self) -> str:
        """The mapping file's path, for messages."""
        return self._source

    @property
    def key_fields(self) -> list[str]:
        """The key's field names as the mapping spells them; [] without a key."""
        return list(self.key)

    def source_columns(self) -> list[str]:
        """The spreadsheet columns the mapping reads, each once, in mapping order."""
        columns = [s.column for s in (*self.fields.values(), *self.interests.values()) if s.column is not None]
        return list(dict.fromkeys(columns))

    def fingerprint(self) -> str:
        """sha256 of the mapping's content (not its formatting or comments): resume refuses a change.

        The database and on_existing are left out: a run's identity names them
        on their own, so a refused resume says which of them changed."""
        content = self.model_dump(mode="json", by_alias=True, exclude={"database", "on_existing"})
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def with_overrides(self, database: int | None = None, on_existing: str | None = None) -> "Mapping":
        """A copy with command-line overrides applied (None keeps the mapping's setting)."""
        data = self.model_dump(by_alias=True, exclude_unset=True)
        if database is not None:
            data["database"] = database
        if on_existing is not None:
            data["on_existing"] = on_existing
        return _validated(data, self._source, {})


def _validated(data: Any, source: str, lines: dict[tuple[Any, ...], int]) -> Mapping:
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        problems = [_describe_error(err, lines) for err in exc.errors()]
        count = _plural(len(problems), "a problem", "{n} problems")
        raise MappingError(Messages.INVALID.format(
            path=source, count=count, problems="\n".join(f"  - {p}" for p in problems))) from None
    mapping._source = source
    return mapping


def _place(loc: tuple[Any, ...]) -> str:
    """('fields', 'email', 'transform', 1) -> 'fields.email.transform[1]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line_of(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for end in range(len(loc), 0, -1):  # the deepest place the YAML knows
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _describe_error(err: dict[str, Any], lines: dict[tuple[Any, ...], int]) -> str:
    # pydantic adds the name of a type-specific validator ('function-after[...]') to loc
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    text = _error_text(err)
    place = _place(loc)
    line = _line_of(loc, lines)
    where = (f"line {line}: " if line else "") + (f"{place}: " if place else "")
    return where + text


def _error_text(err: dict[str, Any]) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "mapping":
        return err["ctx"]["text"]
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", err["ctx"]["expected"])
        return Messages.NOT_ALLOWED.format(value=transforms.scalar_text(value),
                                           hint=_closest(transforms.scalar_text(value), allowed),
                                           expected=", ".join(allowed))
    if kind in ("bool_parsing", "bool_type"):
        return Messages.NOT_BOOLEAN.format(value=transforms.scalar_text(value))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return Messages.NOT_WHOLE_NUMBER.format(value=transforms.scalar_text(value))
    if kind in ("greater_than_equal", "greater_than"):
        return Messages.TOO_SMALL.format(value=transforms.scalar_text(value), why=err["msg"].lower())
    if kind == "string_type":
        return Messages.NOT_TEXT.format(got=_described(value))
    if kind in ("model_type", "dict_type"):
        return Messages.NOT_SETTINGS.format(got=_described(value))
    if kind == "list_type":
        return Messages.NOT_LIST.format(got=_described(value))
    return err["msg"].removeprefix("Value error, ")


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file; raises ``MappingError`` naming the file, line and place."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MappingError(Messages.NO_FILE.format(path=source)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(Messages.NOT_READABLE.format(path=source, why=exc)) from None
    data, lines = _parse_yaml(text, source)
    if data is None:
        raise MappingError(Messages.EMPTY_FILE.format(path=source))
    if not isinstance(data, dict):
        raise MappingError(Messages.NOT_A_MAPPING.format(path=source, got=_described(data)))
    return _validated(data, source, lines)


def _date_parser(formats: list[str], field_def: FieldDef | None) -> transforms.DateParser:
    """Dates go out as YYYY-MM-DD, with the time for datetime fields (or, without a schema, time formats)."""
    if field_def is not None and field_def.type in DATETIME_TYPES | DATE_TYPES:
        with_time = field_def.type in DATETIME_TYPES
    else:
        with_time = any(transforms.has_time(f) for f in formats)
    return transforms.DateParser(formats, with_time)


# ----------------------------------------------------------- compiled rules

Check = Callable[[str], str]   # returns the value to send or raises checks.ValueProblem

_NUMBER_WITH_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")


def _comma_to_dot(value: str) -> str:
    """decimal_comma without a schema to check against: '7,5' -> '7.5', anything else unchanged."""
    text = value.strip()
    return text.replace(",", ".") if _NUMBER_WITH_COMMA.fullmatch(text) else value


@dataclass(frozen=True, slots=True)
class _FieldRule:
    """Everything needed to produce one field of one row, decided at compile time."""
    name: str                    # real spelling
    column: str
    transform: Check | None
    checks: tuple[Check, ...]
    required: bool
    is_key: bool
    on_invalid: str
    blank_existing: bool


@dataclass(frozen=True, slots=True)
class _YesNoInterest:
    """An interest switched on or off by a yes/no column."""
    name: str                    # real spelling
    column: str
    truthy: frozenset[str]       # casefolded
    falsy: frozenset[str]
    allowed_text: tuple[str, str]


@dataclass(frozen=True, slots=True)
class _ListColumn:
    """A column holding a separated list ("Football;Tennis") that several interests read.

    It is split once per row; items that no interest takes are reported.
    """
    column: str
    separator: str
    interests: tuple[tuple[str, str], ...]   # (interest's real name, casefolded item)
    known: frozenset[str]
    known_text: str


def _field_checks(spec: FieldSpec, field_def: FieldDef | None) -> tuple[Check, ...]:
    """The checks one field's non-empty value goes through, in order."""
    steps: list[Check] = []
    if spec.check_as == "email" and not (field_def is not None and field_def.type == "email"):
        steps.append(checks.check_email)   # an email-type field is checked by check_value below
    if spec.date_format:
        steps.append(_date_parser(spec.date_format, field_def))
    if field_def is not None and _needs_type_check(spec, field_def):
        steps.append(functools.partial(checks.check_value, field_def,
                                       decimal_comma=spec.decimal_comma, fix_case=spec.fix_case))
    elif field_def is None and spec.decimal_comma:
        steps.append(_comma_to_dot)
    return tuple(steps)


def _needs_type_check(spec: FieldSpec, field_def: FieldDef) -> bool:
    """False where check_value could not object, to keep the per-row work small."""
    if spec.date_format and field_def.type in DATE_TYPES | DATETIME_TYPES:
        return False  # the date parser already wrote a valid YYYY-MM-DD
    if field_def.type in ("text", "big", "phone") and field_def.length is None:
        return False
    return True


def _yes_no_text(values: list[str]) -> str:
    return ", ".join("empty" if v == "" else v for v in values)


class RowConverter:
    """Turns a ``Row`` into a ``Profile`` or a ``RowError``; build with ``compile_mapping``.

    An empty cell is not sent: its field is absent from ``Profile.fields``,
    except for fields marked ``blank_existing``, which appear there as ""
    and are listed in ``Profile.empty_fields`` (an update blanks them, a
    create leaves them out). Interests read from an empty cell are "off" and
    listed in ``Profile.empty_interests``: an update leaves them alone unless
    the interest is marked ``blank_existing``.
    """

    def __init__(self, mapping: Mapping, fields: list[_FieldRule], constants: dict[str, str],
                 yes_no_interests: list[_YesNoInterest], interest_constants: dict[str, int],
                 list_columns: list[_ListColumn], key_fields: list[str]) -> None:
        self.mapping = mapping
        self.key_fields = key_fields            # real spelling, in key order
        self._fields = tuple(fields)
        self._constants = constants
        self._yes_no_interests = tuple(yes_no_interests)
        self._interest_constants = interest_constants
        self._list_columns = tuple(list_columns)

    def __call__(self, row: Row) -> Profile | RowError:
        if row.problem:
            return RowError(row.number, row.problem)
        cells = row.values
        values = dict(self._constants)
        problems: list[str] = []
        warnings: list[str] = []
        blanks: list[str] = []
        keys: dict[str, str] = {}
        for rule in self._fields:
            value = cells.get(rule.column, "")
            if rule.transform is not None:
                value = rule.transform(value)
            if rule.is_key:
                keys[rule.name] = value
            if value == "":
                if rule.is_key:
                    problems.append(Messages.EMPTY_KEY.format(field=rule.name, column=rule.column))
                elif rule.required:
                    problems.append(Messages.EMPTY_BUT_REQUIRED.format(column=rule.column))
                elif rule.blank_existing:
                    # sent as "" by an update only; a create leaves out what is in empty_fields
                    values[rule.name] = ""
                    blanks.append(rule.name)
                continue
            try:
                for check in rule.checks:
                    value = check(value)
            except checks.ValueProblem as exc:
                problem = Messages.IN_COLUMN.format(column=rule.column, problem=exc)
                if rule.on_invalid == "reject":
                    problems.append(problem)
                    continue
                if rule.on_invalid == "omit":
                    warnings.append(Messages.OMITTED.format(problem=problem))
                    continue
                warnings.append(Messages.SENT_ANYWAY.format(problem=problem))
            values[rule.name] = value
            if rule.is_key:
                keys[rule.name] = value
        interests = dict(self._interest_constants)
        empty_interests: set[str] = set()
        self._read_yes_no(cells, interests, problems, empty_interests)
        if self._list_columns:
            self._read_lists(cells, interests, warnings, empty_interests)
        key = _key_text([keys[name] for name in self.key_fields]) if self.key_fields else ""
        if problems:
            return RowError(row.number, "; ".join(problems), key)
        return Profile(row.number, key, values, interests, frozenset(blanks), warnings,
                       empty_interests=frozenset(empty_interests))

    def _read_yes_no(self, cells: dict[str, str], interests: dict[str, int], problems: list[str],
                     empty_interests: set[str]) -> None:
        for rule in self._yes_no_interests:
            cell = cells.get(rule.column, "")
            folded = cell.strip().casefold()
            if folded == "" and "" in rule.falsy:
                empty_interests.add(rule.name)  # "off" for a create; an update leaves it alone
            if folded in rule.truthy:
                interests[rule.name] = 1
            elif folded in rule.falsy:
                interests[rule.name] = 0
            else:
                problem = Messages.NOT_YES_NO.format(value=checks.quoted(cell), interest=rule.name,
                                                     truthy=rule.allowed_text[0], falsy=rule.allowed_text[1])
                problems.append(Messages.IN_COLUMN.format(column=rule.column, problem=problem))

    def _read_lists(self, cells: dict[str, str], interests: dict[str, int], warnings: list[str],
                    empty_interests: set[str]) -> None:
        for list_column in self._list_columns:
            cell = cells.get(list_column.column, "")
            if cell.strip() == "":
                empty_interests.update(name for name, _ in list_column.interests)
            items = [item.strip() for item in cell.split(list_column.separator)]
            folded = {item.casefold() for item in items}
            for name, wanted in list_column.interests:
                interests[name] = 1 if wanted in folded else 0
            for item in items:  # said, not silently dropped
                if item and item.casefold() not in list_column.known:
                    warnings.append(Messages.UNMATCHED_ITEM.format(
                        column=list_column.column, value=checks.quoted(item), known=list_column.known_text))


# ------------------------------------------------------------------ compile

def compile_mapping(mapping: Mapping, headers: list[str], schema: DatabaseSchema | None = None) -> RowConverter:
    """Fit ``mapping`` to a file with ``headers`` and (when given) a database's structure.

    Raises ``MappingError`` when mapped columns are missing from the file or a
    constant does not fit its field, and ``SchemaError`` when mapped fields or
    interests do not exist in the database. Each lists every problem at once.
    """
    _check_columns(mapping, headers)
    field_defs = _resolve(mapping, schema, "field", list(mapping.fields))
    interest_names = _resolve(mapping, schema, "interest", list(mapping.interests))
    real_field = {name: (d.name if d is not None else name) for name, d in field_defs.items()}
    real_interest = {name: (d.name if d is not None else name) for name, d in interest_names.items()}
    key_folded = {k.casefold() for k in mapping.key}

    fields: list[_FieldRule] = []
    constants: dict[str, str] = {}
    for name, spec in mapping.fields.items():
        field_def = field_defs[name]
        if spec.value is not None:
            constants[real_field[name]] = _checked_constant(mapping, name, spec, field_def)
            continue
        fields.append(_FieldRule(
            name=real_field[name], column=spec.column or "",
            transform=transforms.chain(transforms.build_transform(t) for t in spec.transform),
            checks=_field_checks(spec, field_def), required=spec.required,
            is_key=name.casefold() in key_folded, on_invalid=spec.on_invalid,
            blank_existing=spec.blank_existing))

    yes_no: list[_YesNoInterest] = []
    interest_constants: dict[str, int] = {}
    for name, ispec in mapping.interests.items():
        if ispec.value is not None:
            interest_constants[real_interest[name]] = _interest_constant(ispec.value)
        elif ispec.contains is None:
            yes_no.append(_YesNoInterest(
                name=real_interest[name], column=ispec.column or "",
                truthy=frozenset(_folded(v) for v in ispec.truthy),
                falsy=frozenset(_folded(v) for v in ispec.falsy),
                allowed_text=(_yes_no_text(ispec.truthy), _yes_no_text(ispec.falsy))))

    key_fields = [real_field[_mapped_name(mapping, k)] for k in mapping.key]
    return RowConverter(mapping, fields, constants, yes_no, interest_constants,
                        _list_columns(mapping, real_interest), key_fields)


def _mapped_name(mapping: Mapping, name: str) -> str:
    """The mapping's own spelling of a field named case-insensitively (the key may differ in case)."""
    folded = name.casefold()
    return next(n for n in mapping.fields if n.casefold() == folded)


def _delimiter_in_single_header(headers: list[str], missing: list[str]) -> str | None:
    """The delimiter a one-column header is made of, when the mapped columns sit inside it."""
    if len(headers) != 1:
        return None
    for delimiter in (";", ",", "\t", "|"):
        parts = headers[0].split(delimiter)
        if len(parts) > 1 and any(c in parts for c in missing):
            return "tab" if delimiter == "\t" else delimiter
    return None


def _check_columns(mapping: Mapping, headers: list[str]) -> None:
    present = set(headers)
    missing = [c for c in mapping.source_columns() if c not in present]
    if not missing:
        return
    glued = _delimiter_in_single_header(headers, missing)
    if glued is not None:  # read with the wrong delimiter: one long column
        raise MappingError(Messages.WRONG_DELIMITER.format(source=mapping.source, delimiter=glued,
                                                          header=headers[0][:80]))
    described = ", ".join(Messages.MISSING_COLUMN.format(column=c, hint=_closest_in_list(c, headers)) for c in missing)
    raise MappingError(Messages.MISSING_COLUMNS.format(
        source=mapping.source, count=_plural(len(missing), "a mapped column is", "{n} mapped columns are"),
        missing=described, headers=", ".join(repr(h) for h in headers) or "none"))


def _resolve(mapping: Mapping, schema: DatabaseSchema | None, kind: str, names: list[str]) -> dict[str, Any]:
    """Each mapped name -> its definition in the database (None without a schema); all unknown ones at once."""
    if schema is None:
        return {name: None for name in names}
    lookup = schema.field if kind == "field" else schema.interest
    found = {name: lookup(name) for name in names}
    unknown = [name for name, definition in found.items() if definition is None]
    if unknown:
        known = [d.name for d in (schema.fields if kind == "field" else schema.interests)]
        described = ", ".join(Messages.UNKNOWN_NAME.format(name=n, hint=_closest_in_list(n, known)) for n in unknown)
        count = _plural(len(unknown), f"the mapped {kind} is", f"{{n}} mapped {kind}s are")
        raise SchemaError(Messages.UNKNOWN_FIELDS.format(
            source=mapping.source, count=count, database=schema.id, names=described,
            kind=f"{kind}s", known=", ".join(known) or "none"))
    return found


def _checked_constant(mapping: Mapping, name: str, spec: FieldSpec, field_def: FieldDef | None) -> str:
    value = spec.value or ""
    if field_def is None:
        return value
    try:
        return checks.check_value(field_def, value, decimal_comma=spec.decimal_comma, fix_case=spec.fix_case)
    except checks.ValueProblem as exc:
        raise MappingError(Messages.BAD_CONSTANT.format(source=mapping.source, name=name, why=exc)) from None


def _list_columns(mapping: Mapping, real_interest: dict[str, str]) -> list[_ListColumn]:
    by_column: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name, spec in mapping.interests.items():
        if spec.contains is not None and spec.column is not None:
            by_column.setdefault((spec.column, spec.separator), []).append((name, spec.contains.strip()))
    return [_ListColumn(column=column, separator=separator,
                        interests=tuple((real_interest[name], item.casefold()) for name, item in pairs),
                        known=frozenset(item.casefold() for _, item in pairs),
                        known_text=", ".join(item for _, item in pairs))
            for (column, separator), pairs in by_column.items()]
