"""The mapping file's settings: validated models, and what is said when one is wrong.

``Mapping`` (with ``FieldSpec`` for each field and ``InterestSpec`` for each
interest) is the validated content of a mapping file. Every problem is
collected by pydantic and described here with the place in the file and,
through the line map of ``importer.mapping.load``, its line
("line 4: fields.email.transform[1]: unknown transform 'lowr'; did you mean
'lower'?"); ``validated`` raises one ``MappingError`` listing them all.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from importer import dates, phones, transforms
from importer.errors import MappingError
from importer.mapping.names import closest

DEFAULT_TRUTHY: tuple[str, ...] = ("yes", "y", "1", "x", "true", "ja")
# An empty cell is in neither list: by default it switches nothing (see InterestSpec).
DEFAULT_FALSY: tuple[str, ...] = ("no", "n", "0", "false", "nee")
RESULTS_DELIMITERS = {",": ",", ";": ";", "tab": "\t", "\t": "\t", "|": "|"}

# a place in the document ('fields', 'email', 'transform', 1) -> its line (see load.yaml_lines)
LineMap = dict[tuple[Any, ...], int]


class Msg:
    """What validating a mapping can say."""
    INVALID = "{path}: {count} in the mapping file:\n{problems}"
    ONE_PROBLEM = "a problem"
    PROBLEMS = "{n} problems"
    PROBLEM_ITEM = "  - {problem}"
    A_SET_OF_SETTINGS = "a set of settings"
    A_LIST = "a list"
    NOTHING = "nothing"
    NONE = "none"
    AT_LINE = "line {line}: "
    AT_PLACE = "{place}: "
    # settings
    UNKNOWN_SETTING = "unknown setting '{name}'{hint} (allowed: {allowed})"
    NO_SOURCE = "say where the value comes from: a column name, {{column: ...}} or a constant {{value: ...}}"
    BOTH_SOURCES = "use either 'column' or 'value', not both"
    EMPTY_COLUMN_NAME = "the column name is empty"
    EMPTY_CONSTANT = "the constant value is empty; leave the field out instead"
    CONSTANT_OPTIONS = "{options} only apply to a value read from a column, not to a constant"
    BAD_DATE_FORMAT = ("date format {fmt!r} cannot be used: {why} (write it with %d for the day, "
                       "%m for the month and %Y for the year, for example '%d-%m-%Y')")
    CONTAINS_WITH_TRUTHY = "truthy/falsy apply to a yes/no column, not to 'contains'"
    CONTAINS_EMPTY = "'contains' is empty; give the item to look for"
    SEPARATOR_WITHOUT_CONTAINS = "'separator' only applies together with 'contains'"
    REQUIRED_WITH_CONTAINS = "'required' applies to a yes/no column, not to 'contains'"
    TRUTHY_AND_FALSY = "{values} cannot mean both yes (truthy) and no (falsy)"
    BAD_INTEREST_CONSTANT = "{value!r} is not a yes/no value; use 1 (on) or 0 (off)"
    NOTHING_MAPPED = "the mapping maps no fields and no interests"
    SAME_NAME_TWICE = "{kind} {a!r} and {b!r} are the same {kind} (names are case-insensitive)"
    KEY_NOT_MAPPED = "key: {name!r} is not one of the mapped fields{hint} (mapped: {mapped})"
    KEY_IS_CONSTANT = "key: field {name!r} is a constant, so every row would have the same key"
    REQUIRED_OMIT = "a required field cannot be left out, so on_invalid cannot be 'omit' here"
    KEY_ON_INVALID = ("fields.{name}.on_invalid: a key field must be valid, so it cannot be "
                      "'{mode}'; remove on_invalid from this field")
    HEADER_ROW_AND_NONE = "header_row and 'header: none' contradict each other; keep one"
    NEEDS_KEY = ("on_existing: {mode} needs a key to find existing profiles; add for example "
                 "'key: email' to the mapping")
    NOT_ALLOWED = "{value!r} is not allowed here{hint}; use {expected}"
    NOT_BOOLEAN = "{value!r} is not true or false"
    NOT_WHOLE_NUMBER = "{value!r} is not a whole number"
    TOO_SMALL = "{value!r} is too small: {why}"
    NOT_TEXT = "expected a single value here, not {got}"
    NOT_SETTINGS = "expected settings written as 'name: value' lines here, not {got}"
    NOT_LIST = "expected a list here, such as [a, b], not {got}"
    BAD_TIMEZONE = "{why}"
    TIMEZONE_WITHOUT_DATES = "timezone only applies together with date_format"
    PHONE_WITH_DATE = "phone and date_format cannot both apply to one field"
    BAD_RESULTS_DELIMITER = "results_delimiter {value!r} is not one of: , ; tab |"
    FROM_PYTHON = "the mapping given from Python"


def plural(count: int, one: str, many: str) -> str:
    """``one`` for a single thing, else ``many`` with ``{n}`` filled in."""
    return one if count == 1 else many.format(n=count)


def described(value: Any) -> str:
    """A YAML value as a message names it: 'a list', 'a set of settings', 'nothing' or the quoted text."""
    if isinstance(value, dict):
        return Msg.A_SET_OF_SETTINGS
    if isinstance(value, list):
        return Msg.A_LIST
    if value is None:
        return Msg.NOTHING
    return repr(transforms.scalar_text(value))


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


def _checked_transform(spec: Any, info: ValidationInfo) -> Any:
    try:
        transforms.build_transform(spec, tables=lookup_tables(_base_of(info)))
    except transforms.TransformSpecError as exc:
        raise _mapping_error(str(exc)) from None
    return spec


def _base_of(info: ValidationInfo) -> Path:
    """The folder a mapping's file names (lookup tables) are relative to."""
    context = info.context if isinstance(info.context, dict) else {}
    return Path(context.get("base") or Path.cwd())


def lookup_tables(base: Path) -> transforms.Tables:
    """What builds ``{lookup: FILE}`` transforms for a mapping in folder ``base``."""
    from importer.mapping.lookup import load_table
    return lambda argument: load_table(argument, base).transform()


def _checked_date_format(fmt: str) -> str:
    why = dates.date_format_problem(fmt)
    if why is not None:
        raise _mapping_error(Msg.BAD_DATE_FORMAT.format(fmt=fmt, why=why))
    return fmt


def _checked_timezone(name: str) -> str:
    try:
        dates.zone(name)
    except ValueError as exc:
        raise _mapping_error(Msg.BAD_TIMEZONE.format(why=exc)) from None
    return name


def _checked_region(region: str) -> str:
    if not phones.known_region(region):
        raise _mapping_error(phones.Msg.UNKNOWN_REGION.format(
            region=region, hint=closest(region.upper(), ["NL", "BE", "DE", "FR", "GB", "US"])))
    return region.upper()


def _checked_results_delimiter(value: str) -> str:
    if value not in RESULTS_DELIMITERS:
        raise _mapping_error(Msg.BAD_RESULTS_DELIMITER.format(value=value))
    return RESULTS_DELIMITERS[value]


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
                    raise _mapping_error(Msg.UNKNOWN_SETTING.format(
                        name=name, hint=closest(str(name), allowed), allowed=", ".join(allowed)))
        return data


def _column_shorthand(data: Any) -> Any:
    """``firstname: First name`` means ``firstname: {column: First name}``."""
    if data is None:
        raise _mapping_error(Msg.NO_SOURCE)
    if isinstance(data, (str, int, float, bool)):
        return {"column": transforms.scalar_text(data)}
    return data


def _region_shorthand(data: Any) -> Any:
    """``phone: NL`` means ``phone: {region: NL}``; ``phone: true`` means numbers with a country code only."""
    if data is True:
        return {}
    if isinstance(data, (str, int, float)):
        return {"region": transforms.scalar_text(data)}
    return data


class PhoneRule(_Settings):
    """A field whose cells are phone numbers: checked and written in one form (``importer.phones``)."""
    region: Annotated[str, BeforeValidator(_as_text), AfterValidator(_checked_region)] | None = None
    format: Literal["e164", "international", "national"] = "e164"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _region_shorthand(data)


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
    phone: PhoneRule | None = None
    timezone: Annotated[str, BeforeValidator(_as_text), AfterValidator(_checked_timezone)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _column_shorthand(data)

    @model_validator(mode="after")
    def _one_source(self) -> "FieldSpec":
        _check_one_source(self.column, self.value)
        if self.required and self.on_invalid == "omit":
            raise _mapping_error(Msg.REQUIRED_OMIT)
        if self.timezone is not None and not self.date_format:
            raise _mapping_error(Msg.TIMEZONE_WITHOUT_DATES)
        if self.phone is not None and self.date_format:
            raise _mapping_error(Msg.PHONE_WITH_DATE)
        if self.value is not None:
            used = [name for name in ("transform", "validate", "required", "date_format", "blank_existing",
                                      "phone", "timezone")
                    if name in self.model_fields_set or (name == "validate" and self.check_as)]
            if used:
                raise _mapping_error(Msg.CONSTANT_OPTIONS.format(options=", ".join(used)))
        return self


def _check_one_source(column: str | None, value: str | None) -> None:
    if column is None and value is None:
        raise _mapping_error(Msg.NO_SOURCE)
    if column is not None and value is not None:
        raise _mapping_error(Msg.BOTH_SOURCES)
    if column is not None and column.strip() == "":
        raise _mapping_error(Msg.EMPTY_COLUMN_NAME)
    if value is not None and value == "":
        raise _mapping_error(Msg.EMPTY_CONSTANT)


class InterestSpec(_Settings):
    """Where one interest's on/off comes from: a yes/no column, an item in a list column, or a constant.

    An empty cell of a yes/no column switches nothing: a new profile does
    not get the interest, an existing one keeps what it has (the summary
    notes how many cells did so, unless "" is among the falsy values, which
    says an empty cell means no). ``blank_existing: true`` switches it off
    on update; ``required: true`` makes such a row invalid.
    """
    column: Text | None = None
    value: Text | None = None
    truthy: Annotated[list[Text], BeforeValidator(_as_list)] = list(DEFAULT_TRUTHY)
    falsy: Annotated[list[Text], BeforeValidator(_as_list)] = list(DEFAULT_FALSY)
    contains: Text | None = None
    separator: Text = ";"
    blank_existing: bool = False  # on update, an empty cell switches the interest off
    required: bool = False        # an empty yes/no cell makes the row invalid

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _column_shorthand(data)

    @model_validator(mode="after")
    def _consistent(self) -> "InterestSpec":
        _check_one_source(self.column, self.value)
        if self.value is not None:
            interest_constant(self.value)
            used = [n for n in ("truthy", "falsy", "contains", "separator", "blank_existing", "required")
                    if n in self.model_fields_set]
            if used:
                raise _mapping_error(Msg.CONSTANT_OPTIONS.format(options=", ".join(used)))
        if self.contains is not None:
            if self.contains.strip() == "":
                raise _mapping_error(Msg.CONTAINS_EMPTY)
            if {"truthy", "falsy"} & self.model_fields_set:
                raise _mapping_error(Msg.CONTAINS_WITH_TRUTHY)
            if self.required:
                raise _mapping_error(Msg.REQUIRED_WITH_CONTAINS)
        elif "separator" in self.model_fields_set:
            raise _mapping_error(Msg.SEPARATOR_WITHOUT_CONTAINS)
        both = {folded(v) for v in self.truthy} & {folded(v) for v in self.falsy}
        if both and self.contains is None:
            raise _mapping_error(Msg.TRUTHY_AND_FALSY.format(
                values=", ".join(repr(v) for v in sorted(both))))
        return self


def folded(value: str) -> str:
    return value.strip().casefold()


def interest_constant(value: str) -> int:
    text = folded(value)
    if text in DEFAULT_TRUTHY or text == "on":
        return 1
    if text in DEFAULT_FALSY or text == "off":
        return 0
    raise _mapping_error(Msg.BAD_INTEREST_CONSTANT.format(value=value))


class Mapping(_Settings):
    """A validated mapping file. Build with ``load_mapping``; fit to a file with ``compile_mapping``.

    With ``collection``, each row becomes a subprofile (a record of that
    collection) under the profile that ``profile_key`` finds: see
    ``CollectionSettings`` for the settings that only apply then."""
    database: int | None = Field(default=None, ge=1)
    collection: Text | None = None
    key: Annotated[list[Text], BeforeValidator(_as_list)] = []
    on_existing: Literal["create", "skip", "update", "upsert"] = "create"
    duplicates: Annotated["DuplicatesRule", BeforeValidator(_duplicates_shorthand)] = Field(
        default_factory=lambda: DuplicatesRule())
    interests_on_update: Literal["add", "replace"] = "add"
    header_row: int | None = Field(default=None, ge=1)   # the row with the column names (found when not set)
    header: Literal["auto", "none"] = "auto"            # none: no header row, columns are A, B, C...
    # the results CSV's delimiter (--results-delimiter overrides): ";" for Excel in most of Europe
    results_delimiter: Annotated[str, BeforeValidator(_as_text), AfterValidator(_checked_results_delimiter)] | None = None
    fields: dict[Text, FieldSpec] = {}
    interests: dict[Text, InterestSpec] = {}
    # collection imports only (CollectionSettings): the profile each row belongs to
    missing_profile: Literal["fail", "create"] = "fail"
    existing_profile: Literal["keep", "update"] = "keep"
    profile_fields: dict[Text, FieldSpec] = {}
    profile_interests: dict[Text, InterestSpec] = {}
    profile_key: Annotated[dict[Text, FieldSpec | None], BeforeValidator(_profile_key_shorthand)] = {}

    _source: str = PrivateAttr(default="the mapping")
    _base: Path | None = PrivateAttr(default=None)

    @field_validator("fields", "interests", "profile_fields", "profile_interests", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_serializer("duplicates")
    def _duplicates_text(self, rule: "DuplicatesRule") -> Any:
        # 'first' and 'last' stay a word, as the file says them (and as fingerprints of earlier runs hold them)
        return rule.keep if rule.by is None and rule.keep in ("first", "last") else rule.model_dump()

    @field_validator("profile_key", mode="after")
    @classmethod
    def _profile_key_mapped(cls, value: dict[str, "FieldSpec | None"], info: ValidationInfo) -> Any:
        if info.data.get("collection") is None:
            return value  # refused as a whole by check_collection_settings
        return checked_profile_key(value, info.data.get("profile_fields") or {})

    @model_validator(mode="after")
    def _collection_settings(self) -> "Mapping":
        check_collection_settings(self)
        return self

    @model_validator(mode="after")
    def _consistent(self) -> "Mapping":
        if not self.fields and not self.interests:
            raise _mapping_error(Msg.NOTHING_MAPPED)
        for kind, names in (("field", list(self.fields)), ("interest", list(self.interests))):
            seen: dict[str, str] = {}
            for name in names:
                if name.casefold() in seen:
                    raise _mapping_error(Msg.SAME_NAME_TWICE.format(
                        kind=kind, a=seen[name.casefold()], b=name))
                seen[name.casefold()] = name
        for name in self.key:
            spec = self._field_spec(name)
            if spec is None:
                raise _mapping_error(Msg.KEY_NOT_MAPPED.format(
                    name=name, hint=closest(name, list(self.fields)), mapped=", ".join(self.fields) or Msg.NONE))
            if spec.value is not None:
                raise _mapping_error(Msg.KEY_IS_CONSTANT.format(name=name))
            if spec.on_invalid != "reject":
                raise _mapping_error(Msg.KEY_ON_INVALID.format(name=name, mode=spec.on_invalid))
        if self.on_existing != "create" and not self.key:
            raise _mapping_error(Msg.NEEDS_KEY.format(mode=self.on_existing))
        if self.header == "none" and self.header_row is not None:
            raise _mapping_error(Msg.HEADER_ROW_AND_NONE)
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
        on their own, so a refused resume says which of them changed. The
        collection settings are left out when there is no collection (so a
        mapping's fingerprint is what it was before they existed), and the
        content of every lookup table is in."""
        left_out = {"database", "on_existing", "results_delimiter"}
        if self.collection is None:
            left_out |= set(COLLECTION_SETTINGS)
        # settings at their defaults are left out too, so a setting added later leaves fingerprints as they were
        content = self.model_dump(mode="json", by_alias=True, exclude=left_out, exclude_defaults=True)
        tables = self.lookup_digests()
        if tables:
            content["lookup tables"] = tables
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def with_overrides(self, database: int | None = None, on_existing: str | None = None) -> "Mapping":
        """A copy with command-line overrides applied (None keeps the mapping's setting)."""
        data = self.model_dump(by_alias=True, exclude_unset=True)
        if database is not None:
            data["database"] = database
        if on_existing is not None:
            data["on_existing"] = on_existing
        return validated(data, self._source, {}, base=self._base)

    # -- lookup tables and collections (issue 16) ---------------------------
    @property
    def base(self) -> Path:
        """The folder the mapping's file names (lookup tables) are relative to."""
        return self._base or Path.cwd()

    def tables(self) -> transforms.Tables:
        return lookup_tables(self.base)

    def lookup_digests(self) -> dict[str, str]:
        """{table file as written: digest of its content} for every lookup the mapping uses."""
        from importer.mapping.lookup import load_table, table_spec
        found: dict[str, str] = {}
        specs = [*self.fields.values(), *self.profile_fields.values(), *(s for s in self.profile_key.values() if s)]
        for spec in specs:
            for step in spec.transform:
                if isinstance(step, dict) and set(step) == {"lookup"}:
                    try:
                        found[table_spec(step["lookup"])[0]] = load_table(step["lookup"], self.base).digest
                    except transforms.TransformSpecError:
                        continue  # reported where the transform is built
        return found

    @property
    def is_collection(self) -> bool:
        return self.collection is not None

    def profile_field_specs(self) -> dict[str, FieldSpec]:
        """A collection import's profile fields: those of ``profile_key`` first, then ``profile_fields``."""
        specs = {name: spec for name, spec in self.profile_key.items() if spec is not None}
        return specs | dict(self.profile_fields)

    def profile_part(self) -> "Mapping":
        """The profile side of a collection import, as a mapping of its own (its key: ``profile_key``)."""
        return self._part({"key": list(self.profile_key), "on_existing": "skip", "duplicates": DuplicatesRule(),
                           "interests_on_update": self.interests_on_update,
                           "fields": self.profile_field_specs(), "interests": dict(self.profile_interests)})

    def collection_part(self) -> "Mapping":
        """The subprofile side of a collection import, as a mapping of its own (no interests)."""
        return self._part({"key": list(self.key), "on_existing": self.on_existing, "duplicates": self.duplicates,
                           "fields": dict(self.fields)})

    def _part(self, settings: dict[str, Any]) -> "Mapping":
        part = Mapping.model_construct(database=self.database, **settings)
        part._source, part._base = self._source, self._base
        return part


def validated(data: Any, source: str, lines: LineMap, *, base: Path | None = None) -> Mapping:
    """``data`` (a mapping file's content) as a ``Mapping``; one ``MappingError`` listing every problem.

    ``base``: the folder the mapping's file names are relative to (default: the current one)."""
    try:
        mapping = Mapping.model_validate(data, context={"base": base})
    except ValidationError as exc:
        problems = [_describe_error(err, lines) for err in exc.errors()]
        count = plural(len(problems), Msg.ONE_PROBLEM, Msg.PROBLEMS)
        raise MappingError(Msg.INVALID.format(
            path=source, count=count, problems="\n".join(Msg.PROBLEM_ITEM.format(problem=p) for p in problems))) from None
    mapping._source = source
    mapping._base = base
    return mapping


def mapping_from_dict(data: Any, *, base: Path | None = None) -> Mapping:
    """A mapping given from Python (the same settings as a mapping file, as a dict)."""
    if not isinstance(data, dict):
        raise MappingError(Msg.INVALID.format(path=Msg.FROM_PYTHON, count=Msg.ONE_PROBLEM,
                                              problems=Msg.PROBLEM_ITEM.format(
                                                  problem=Msg.NOT_SETTINGS.format(got=described(data)))))
    return validated(data, Msg.FROM_PYTHON, {}, base=base)


# ------------------------------------------------- migration rules (issue 16)
# Kept apart from the settings above: the rules of collection imports and of
# `duplicates: {keep: newest, by: COLUMN}`.

COLLECTION_SETTINGS = ("collection", "missing_profile", "existing_profile", "profile_fields", "profile_interests",
                       "profile_key")


class DuplicatesRule(_Settings):
    """Which of several rows with one key is imported: ``first``, ``last``, or by a column's value
    (``newest``/``oldest``: the row whose ``by`` column holds the latest/earliest date or the
    highest/lowest number)."""
    keep: Literal["first", "last", "newest", "oldest"] = "first"
    by: Text | None = None
    date_format: Annotated[list[DateFormat], BeforeValidator(_as_list)] = []

    @model_validator(mode="after")
    def _by_when_ranked(self) -> "DuplicatesRule":
        if self.keep in ("newest", "oldest"):
            if self.by is None or not self.by.strip():
                raise _mapping_error(CollectionMsg.RANK_NEEDS_BY.format(keep=self.keep))
        elif self.by is not None or self.date_format:
            raise _mapping_error(CollectionMsg.BY_WITHOUT_RANK.format(keep=self.keep))
        return self

    @property
    def ranked(self) -> bool:
        return self.keep in ("newest", "oldest")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):  # `mapping.duplicates == "last"`, as when it was a word
            return self.by is None and self.keep == other
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash((self.keep, self.by, tuple(self.date_format)))


def _duplicates_shorthand(value: Any) -> Any:
    """``duplicates: last`` means ``duplicates: {keep: last}``."""
    if value is None:
        return {}
    if isinstance(value, (str, int, float, bool)):
        return {"keep": transforms.scalar_text(value)}
    return value


def _profile_key_shorthand(value: Any) -> Any:
    """``profile_key: email`` (a field of ``profile_fields``) means ``{email: }``; a list names several."""
    if value is None:
        return {}
    if isinstance(value, (str, int, float, bool)):
        return {transforms.scalar_text(value): None}
    if isinstance(value, list):
        return {(transforms.scalar_text(v) if isinstance(v, (str, int, float, bool)) else v): None for v in value}
    return value


class CollectionMsg:
    """What the collection settings and ranked duplicates can say."""
    RANK_NEEDS_BY = ("keep: {keep} needs the column to compare: add 'by: COLUMN', for example "
                     "{{keep: {keep}, by: created_at}}")
    BY_WITHOUT_RANK = "'by' and 'date_format' only apply to keep: newest or oldest, not to keep: {keep}"
    NEEDS_PROFILE_KEY = ("collection: {collection}: each row belongs to a profile; say how to find it with "
                         "profile_key, for example 'profile_key: {{email: {{column: E-mail}}}}'")
    ONLY_WITH_COLLECTION = ("{names}: only apply when the rows go into a collection; add 'collection: NAME' "
                            "(or remove them)")
    NO_INTERESTS = ("interests: a collection has no interests; the interests of each row's profile go under "
                    "profile_interests")
    NO_FIELDS = "collection: {collection}: map at least one field of the collection under fields"
    PROFILE_KEY_NOT_MAPPED = ("{name!r} is not one of the profile fields{hint}; map it here ({name}: {{column: ...}}) "
                              "or under profile_fields (mapped: {mapped})")
    PROFILE_KEY_TWICE = "{name!r} is mapped here and under profile_fields; map it in one place"
    PROFILE_KEY_CONSTANT = "{name!r} is a constant, so every row would belong to the same profile"
    PROFILE_KEY_ON_INVALID = ("{name!r}: a key field must be valid, so on_invalid cannot be '{mode}'; "
                              "remove on_invalid from it")
    SAME_NAME_TWICE = "{section}: {a!r} and {b!r} are the same field (names are case-insensitive)"
    PROFILE_FIELDS_UNUSED = ("{names} would never be sent: with missing_profile: fail and existing_profile: keep "
                             "a row's profile is only looked up. Add missing_profile: create (to create the "
                             "profiles that are not there) or existing_profile: update, or remove them")


Mapping.model_rebuild()  # its annotations name DuplicatesRule and the shorthands defined above


def checked_profile_key(key: dict[str, FieldSpec | None], profile_fields: dict[str, FieldSpec]) -> dict:
    mapped = {n.casefold(): n for n in profile_fields}
    for name, spec in key.items():
        if spec is None:
            if name.casefold() not in mapped:
                raise _mapping_error(CollectionMsg.PROFILE_KEY_NOT_MAPPED.format(
                    name=name, hint=closest(name, list(profile_fields)), mapped=", ".join(profile_fields) or Msg.NONE))
            spec = profile_fields[mapped[name.casefold()]]
        elif name.casefold() in mapped:
            raise _mapping_error(CollectionMsg.PROFILE_KEY_TWICE.format(name=name))
        if spec.value is not None:
            raise _mapping_error(CollectionMsg.PROFILE_KEY_CONSTANT.format(name=name))
        if spec.on_invalid != "reject":
            raise _mapping_error(CollectionMsg.PROFILE_KEY_ON_INVALID.format(name=name, mode=spec.on_invalid))
    return key


def check_collection_settings(mapping: Mapping) -> None:
    """The settings of a collection import fit together (or are absent without a collection)."""
    if mapping.collection is None:
        given = [n for n in COLLECTION_SETTINGS if n in mapping.model_fields_set and n != "collection"]
        if given:
            raise _mapping_error(CollectionMsg.ONLY_WITH_COLLECTION.format(names=", ".join(given)))
        return
    if not mapping.profile_key:
        raise _mapping_error(CollectionMsg.NEEDS_PROFILE_KEY.format(collection=mapping.collection))
    if mapping.interests:
        raise _mapping_error(CollectionMsg.NO_INTERESTS)
    if not mapping.fields:
        raise _mapping_error(CollectionMsg.NO_FIELDS.format(collection=mapping.collection))
    unused = [name for name in ("profile_fields", "profile_interests") if getattr(mapping, name)]
    if unused and mapping.missing_profile == "fail" and mapping.existing_profile == "keep":
        raise _mapping_error(CollectionMsg.PROFILE_FIELDS_UNUSED.format(names=" and ".join(unused)))
    for section, names in (("profile_fields", list(mapping.profile_field_specs())),
                           ("profile_interests", list(mapping.profile_interests))):
        seen: dict[str, str] = {}
        for name in names:
            if name.casefold() in seen:
                raise _mapping_error(CollectionMsg.SAME_NAME_TWICE.format(section=section, a=seen[name.casefold()],
                                                                          b=name))
            seen[name.casefold()] = name


def _place(loc: tuple[Any, ...]) -> str:
    """('fields', 'email', 'transform', 1) -> 'fields.email.transform[1]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line_of(loc: tuple[Any, ...], lines: LineMap) -> int | None:
    for end in range(len(loc), 0, -1):  # the deepest place the YAML knows
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _describe_error(err: dict[str, Any], lines: LineMap) -> str:
    # pydantic adds the name of a type-specific validator ('function-after[...]') to loc
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    text = _error_text(err)
    place = _place(loc)
    line = _line_of(loc, lines)
    where = (Msg.AT_LINE.format(line=line) if line else "") + (Msg.AT_PLACE.format(place=place) if place else "")
    return where + text


def _error_text(err: dict[str, Any]) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "mapping":
        return err["ctx"]["text"]
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", err["ctx"]["expected"])
        return Msg.NOT_ALLOWED.format(value=transforms.scalar_text(value),
                                      hint=closest(transforms.scalar_text(value), allowed),
                                      expected=", ".join(allowed))
    if kind in ("bool_parsing", "bool_type"):
        return Msg.NOT_BOOLEAN.format(value=transforms.scalar_text(value))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return Msg.NOT_WHOLE_NUMBER.format(value=transforms.scalar_text(value))
    if kind in ("greater_than_equal", "greater_than"):
        return Msg.TOO_SMALL.format(value=transforms.scalar_text(value), why=err["msg"].lower())
    if kind == "string_type":
        return Msg.NOT_TEXT.format(got=described(value))
    if kind in ("model_type", "dict_type"):
        return Msg.NOT_SETTINGS.format(got=described(value))
    if kind == "list_type":
        return Msg.NOT_LIST.format(got=described(value))
    return err["msg"].removeprefix("Value error, ")
