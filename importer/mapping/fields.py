"""One field's and one interest's settings in a mapping file, and what is said when one is wrong.

``FieldSpec`` (where a Copernica field's value comes from and how it is
prepared, with ``PhoneRule`` for phone numbers) and ``InterestSpec`` (where an
interest's on/off comes from). ``Settings`` is the base of every section of a
mapping: an unknown setting is refused with the closest known one.
``mapping_error`` is how a check says what is wrong (collected by pydantic and
described, with its line, by ``importer.mapping.spec``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from importer import dates, transforms
from importer.mapping.names import closest

DEFAULT_TRUTHY: tuple[str, ...] = ("yes", "y", "1", "x", "true", "ja")
# An empty cell is in neither list: by default it switches nothing (see InterestSpec).
DEFAULT_FALSY: tuple[str, ...] = ("no", "n", "0", "false", "nee")


class Msg:
    """What validating one field or interest can say."""
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
    REQUIRED_OMIT = "a required field cannot be left out, so on_invalid cannot be 'omit' here"
    BAD_TIMEZONE = "{why}"
    TIMEZONE_WITHOUT_DATES = "timezone only applies together with date_format"
    PHONE_WITH_DATE = "phone and date_format cannot both apply to one field"


def mapping_error(text: str) -> PydanticCustomError:
    # the text goes in through the context so that braces in it are not read as placeholders
    return PydanticCustomError("mapping", "{text}", {"text": text})


def as_text(value: Any) -> Any:
    """Scalars become the text the user typed; lists and mappings are left to fail."""
    if isinstance(value, (str, int, float, bool)):
        return transforms.scalar_text(value)
    return value


def as_list(value: Any) -> Any:
    """A single value where a list is allowed: ``transform: trim`` = ``transform: [trim]``."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _checked_transform(spec: Any, info: ValidationInfo) -> Any:
    try:
        transforms.build_transform(spec, tables=lookup_tables(_base_of(info)))
    except transforms.TransformSpecError as exc:
        raise mapping_error(str(exc)) from None
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
        raise mapping_error(Msg.BAD_DATE_FORMAT.format(fmt=fmt, why=why))
    return fmt


def _checked_timezone(name: str) -> str:
    try:
        dates.zone(name)
    except ValueError as exc:
        raise mapping_error(Msg.BAD_TIMEZONE.format(why=exc)) from None
    return name


def _checked_region(region: str) -> str:
    from importer import phones  # phonenumbers loads only for a mapping with phones: start-up

    if not phones.known_region(region):
        raise mapping_error(phones.Msg.UNKNOWN_REGION.format(
            region=region, hint=closest(region.upper(), ["NL", "BE", "DE", "FR", "GB", "US"])))
    return region.upper()


Text = Annotated[str, BeforeValidator(as_text)]
TransformStep = Annotated[Any, AfterValidator(_checked_transform)]
DateFormat = Annotated[str, BeforeValidator(as_text), AfterValidator(_checked_date_format)]


class Settings(BaseModel):
    """A section of the mapping: unknown settings are refused with the closest known one."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_settings(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = [f.alias or name for name, f in cls.model_fields.items()]
            for name in data:
                if name not in allowed:
                    raise mapping_error(Msg.UNKNOWN_SETTING.format(
                        name=name, hint=closest(str(name), allowed), allowed=", ".join(allowed)))
        return data


def _column_shorthand(data: Any) -> Any:
    """``firstname: First name`` means ``firstname: {column: First name}``."""
    if data is None:
        raise mapping_error(Msg.NO_SOURCE)
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


class PhoneRule(Settings):
    """A field whose cells are phone numbers: checked and written in one form (``importer.phones``)."""
    region: Annotated[str, BeforeValidator(as_text), AfterValidator(_checked_region)] | None = None
    format: Literal["e164", "international", "national"] = "e164"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _region_shorthand(data)


class FieldSpec(Settings):
    """Where one Copernica field's value comes from and how it is prepared."""
    column: Text | None = None
    value: Text | None = None
    transform: Annotated[list[TransformStep], BeforeValidator(as_list)] = []
    check_as: Literal["email"] | None = Field(default=None, alias="validate")
    required: bool = False
    date_format: Annotated[list[DateFormat], BeforeValidator(as_list)] = []
    decimal_comma: bool = False
    fix_case: bool = False
    on_invalid: Literal["reject", "omit", "send"] = "reject"
    blank_existing: bool = False
    phone: PhoneRule | None = None
    timezone: Annotated[str, BeforeValidator(as_text), AfterValidator(_checked_timezone)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _column_shorthand(data)

    @model_validator(mode="after")
    def _one_source(self) -> "FieldSpec":
        _check_one_source(self.column, self.value)
        if self.required and self.on_invalid == "omit":
            raise mapping_error(Msg.REQUIRED_OMIT)
        if self.timezone is not None and not self.date_format:
            raise mapping_error(Msg.TIMEZONE_WITHOUT_DATES)
        if self.phone is not None and self.date_format:
            raise mapping_error(Msg.PHONE_WITH_DATE)
        if self.value is not None:
            used = [name for name in ("transform", "validate", "required", "date_format", "blank_existing",
                                      "phone", "timezone")
                    if name in self.model_fields_set or (name == "validate" and self.check_as)]
            if used:
                raise mapping_error(Msg.CONSTANT_OPTIONS.format(options=", ".join(used)))
        return self


def _check_one_source(column: str | None, value: str | None) -> None:
    if column is None and value is None:
        raise mapping_error(Msg.NO_SOURCE)
    if column is not None and value is not None:
        raise mapping_error(Msg.BOTH_SOURCES)
    if column is not None and column.strip() == "":
        raise mapping_error(Msg.EMPTY_COLUMN_NAME)
    if value is not None and value == "":
        raise mapping_error(Msg.EMPTY_CONSTANT)


class InterestSpec(Settings):
    """Where one interest's on/off comes from: a yes/no column, an item in a list column, or a constant.

    An empty cell of a yes/no column switches nothing: a new profile does
    not get the interest, an existing one keeps what it has (the summary
    notes how many cells did so, unless "" is among the falsy values, which
    says an empty cell means no). ``blank_existing: true`` switches it off
    on update; ``required: true`` makes such a row invalid.
    """
    column: Text | None = None
    value: Text | None = None
    truthy: Annotated[list[Text], BeforeValidator(as_list)] = list(DEFAULT_TRUTHY)
    falsy: Annotated[list[Text], BeforeValidator(as_list)] = list(DEFAULT_FALSY)
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
                raise mapping_error(Msg.CONSTANT_OPTIONS.format(options=", ".join(used)))
        if self.contains is not None:
            if self.contains.strip() == "":
                raise mapping_error(Msg.CONTAINS_EMPTY)
            if {"truthy", "falsy"} & self.model_fields_set:
                raise mapping_error(Msg.CONTAINS_WITH_TRUTHY)
            if self.required:
                raise mapping_error(Msg.REQUIRED_WITH_CONTAINS)
        elif "separator" in self.model_fields_set:
            raise mapping_error(Msg.SEPARATOR_WITHOUT_CONTAINS)
        both = {folded(v) for v in self.truthy} & {folded(v) for v in self.falsy}
        if both and self.contains is None:
            raise mapping_error(Msg.TRUTHY_AND_FALSY.format(
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
    raise mapping_error(Msg.BAD_INTEREST_CONSTANT.format(value=value))
