"""The mapping file's settings: validated models, and what is said when one is wrong.

``Mapping`` (with ``FieldSpec`` for each field and ``InterestSpec`` for each
interest) is the validated content of a mapping file. Every problem is
collected by pydantic and described here with the place in the file and,
through the line map of ``importer.mapping.load``, its line
("line 4: fields.email.transform[1]: unknown transform 'lowr'; did you mean
'lower'?"); ``validated`` raises one ``MappingError`` listing them all.

The settings of one field or interest are in ``importer.mapping.fields``;
those of collection imports and ranked duplicates in
``importer.mapping.collection``.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from importer import transforms
from importer.errors import MappingError
from importer.mapping.collection import (
    COLLECTION_SETTINGS,
    DuplicatesRule,
    check_collection_settings,
    checked_profile_key,
    duplicates_shorthand,
    profile_key_shorthand,
)
from importer.mapping.fields import (
    FieldSpec,
    InterestSpec,
    Settings,
    Text,
    as_list,
    as_text,
    lookup_tables,
    mapping_error,
)
from importer.mapping.names import closest

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
    NOTHING_MAPPED = "the mapping maps no fields and no interests"
    SAME_NAME_TWICE = "{kind} {a!r} and {b!r} are the same {kind} (names are case-insensitive)"
    KEY_NOT_MAPPED = "key: {name!r} is not one of the mapped fields{hint} (mapped: {mapped})"
    KEY_IS_CONSTANT = "key: field {name!r} is a constant, so every row would have the same key"
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


def _checked_results_delimiter(value: str) -> str:
    if value not in RESULTS_DELIMITERS:
        raise mapping_error(Msg.BAD_RESULTS_DELIMITER.format(value=value))
    return RESULTS_DELIMITERS[value]


class Mapping(Settings):
    """A validated mapping file. Build with ``load_mapping``; fit to a file with ``compile_mapping``.

    With ``collection``, each row becomes a subprofile (a record of that
    collection) under the profile that ``profile_key`` finds: see
    ``importer.mapping.collection`` for the settings that only apply then."""
    database: int | None = Field(default=None, ge=1)
    collection: Text | None = None
    key: Annotated[list[Text], BeforeValidator(as_list)] = []
    on_existing: Literal["create", "skip", "update", "upsert"] = "create"
    duplicates: Annotated["DuplicatesRule", BeforeValidator(duplicates_shorthand)] = Field(
        default_factory=lambda: DuplicatesRule())
    interests_on_update: Literal["add", "replace"] = "add"
    header_row: int | None = Field(default=None, ge=1)   # the row with the column names (found when not set)
    header: Literal["auto", "none"] = "auto"            # none: no header row, columns are A, B, C...
    # the results CSV's delimiter (--results-delimiter overrides): ";" for Excel in most of Europe
    results_delimiter: Annotated[str, BeforeValidator(as_text), AfterValidator(_checked_results_delimiter)] | None = None
    fields: dict[Text, FieldSpec] = {}
    interests: dict[Text, InterestSpec] = {}
    # collection imports only (importer.mapping.collection): the profile each row belongs to
    missing_profile: Literal["fail", "create"] = "fail"
    existing_profile: Literal["keep", "update"] = "keep"
    profile_fields: dict[Text, FieldSpec] = {}
    profile_interests: dict[Text, InterestSpec] = {}
    profile_key: Annotated[dict[Text, FieldSpec | None], BeforeValidator(profile_key_shorthand)] = {}

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
            raise mapping_error(Msg.NOTHING_MAPPED)
        for kind, names in (("field", list(self.fields)), ("interest", list(self.interests))):
            seen: dict[str, str] = {}
            for name in names:
                if name.casefold() in seen:
                    raise mapping_error(Msg.SAME_NAME_TWICE.format(
                        kind=kind, a=seen[name.casefold()], b=name))
                seen[name.casefold()] = name
        for name in self.key:
            spec = self._field_spec(name)
            if spec is None:
                raise mapping_error(Msg.KEY_NOT_MAPPED.format(
                    name=name, hint=closest(name, list(self.fields)), mapped=", ".join(self.fields) or Msg.NONE))
            if spec.value is not None:
                raise mapping_error(Msg.KEY_IS_CONSTANT.format(name=name))
            if spec.on_invalid != "reject":
                raise mapping_error(Msg.KEY_ON_INVALID.format(name=name, mode=spec.on_invalid))
        if self.on_existing != "create" and not self.key:
            raise mapping_error(Msg.NEEDS_KEY.format(mode=self.on_existing))
        if self.header == "none" and self.header_row is not None:
            raise mapping_error(Msg.HEADER_ROW_AND_NONE)
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
