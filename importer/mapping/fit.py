"""Does a mapping fit one file and one database? What ``compile_mapping`` checks once, before any row.

Mapped columns must exist in the file (a file read with the wrong delimiter
is said so), mapped fields and interests in the database, constants must fit
their fields, and ``blank_existing`` cannot blank a number. Each check lists
every problem at once.
"""
from __future__ import annotations

from typing import Any

from importer import checks
from importer.errors import MappingError, SchemaError
from importer.mapping.fields import FieldSpec
from importer.mapping.names import closest_in_list
from importer.mapping.spec import Mapping, plural
from importer.schema import DatabaseSchema, FieldDef

NUMBER_TYPES = frozenset({"integer", "float", "foreign_key"})


class Msg:
    """What fitting a mapping to a file and a database can say."""
    MISSING_COLUMNS = ("{source}: {count} not in the file: {missing}. "
                       "The file's columns are: {headers}")
    MISSING_COLUMN = "{column!r}{hint}"
    WRONG_DELIMITER = ("{source}: the file was read as one single column ({header!r}...): its columns are "
                       "separated by {delimiter!r}. Leave --delimiter out to detect it, or use "
                       "--delimiter '{delimiter}'")
    ONE_MISSING_COLUMN = "a mapped column is"
    MISSING_COLUMNS_COUNT = "{n} mapped columns are"
    UNKNOWN_FIELDS = ("{source}: {count} not in database {database}: {names}. "
                      "Its {kind}s are: {known}")
    ONE_UNKNOWN = "the mapped {kind} is"
    UNKNOWN_COUNT = "{{n}} mapped {kind}s are"     # {kind} is filled first, then {n}
    NONE = "none"
    UNKNOWN_NAME = "{name!r}{hint}"
    BAD_CONSTANT = "{source}: fields.{name}.value: {why}"
    BLANK_NUMBER = ("{source}: fields.{name}.blank_existing: field {field!r} holds numbers, and Copernica stores "
                    "an empty number as 0 instead of blanking it; remove blank_existing from this field")


def check_blank_existing(mapping: Mapping, name: str, spec: FieldSpec, field_def: FieldDef | None) -> None:
    """``blank_existing`` on a number field: Copernica stores an empty number as 0 instead of blanking it."""
    if spec.blank_existing and field_def is not None and field_def.type in NUMBER_TYPES:
        raise SchemaError(Msg.BLANK_NUMBER.format(source=mapping.source, name=name, field=field_def.name))


def mapped_name(mapping: Mapping, name: str) -> str:
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


def check_columns(mapping: Mapping, headers: list[str]) -> None:
    present = set(headers)
    missing = [c for c in mapping.source_columns() if c not in present]
    if not missing:
        return
    glued = _delimiter_in_single_header(headers, missing)
    if glued is not None:  # read with the wrong delimiter: one long column
        raise MappingError(Msg.WRONG_DELIMITER.format(source=mapping.source, delimiter=glued,
                                                          header=headers[0][:80]))
    described = ", ".join(Msg.MISSING_COLUMN.format(column=c, hint=closest_in_list(c, headers)) for c in missing)
    raise MappingError(Msg.MISSING_COLUMNS.format(
        source=mapping.source, count=plural(len(missing), Msg.ONE_MISSING_COLUMN, Msg.MISSING_COLUMNS_COUNT),
        missing=described, headers=", ".join(repr(h) for h in headers) or Msg.NONE))


def resolve(mapping: Mapping, schema: DatabaseSchema | None, kind: str, names: list[str]) -> dict[str, Any]:
    """Each mapped name -> its definition in the database (None without a schema); all unknown ones at once."""
    if schema is None:
        return {name: None for name in names}
    lookup = schema.field if kind == "field" else schema.interest
    found = {name: lookup(name) for name in names}
    unknown = [name for name, definition in found.items() if definition is None]
    if unknown:
        known = [d.name for d in (schema.fields if kind == "field" else schema.interests)]
        described = ", ".join(Msg.UNKNOWN_NAME.format(name=n, hint=closest_in_list(n, known)) for n in unknown)
        count = plural(len(unknown), Msg.ONE_UNKNOWN.format(kind=kind), Msg.UNKNOWN_COUNT.format(kind=kind))
        raise SchemaError(Msg.UNKNOWN_FIELDS.format(
            source=mapping.source, count=count, database=schema.id, names=described,
            kind=kind, known=", ".join(known) or Msg.NONE))
    return found


def checked_constant(mapping: Mapping, name: str, spec: FieldSpec, field_def: FieldDef | None) -> str:
    value = spec.value or ""
    if field_def is None:
        return value
    try:
        return checks.check_value(field_def, value, decimal_comma=spec.decimal_comma, fix_case=spec.fix_case)
    except checks.ValueProblem as exc:
        raise MappingError(Msg.BAD_CONSTANT.format(source=mapping.source, name=name, why=exc)) from None
