"""A Copernica database's structure: its fields, interests and collections.

The same YAML format is read by the sandbox (to serve a database) and by the
importer (``--schema``, offline checks), and written by
``copernica-import schema --database ID``::

    databases:
      - id: 1
        name: Contacts
        fields:
          - {name: email, type: email}
          - {name: firstname, type: text, length: 50}
          - {name: optin, type: select, choices: ["yes", "no"]}
          - {name: birthdate, type: date}
        interests:
          - {name: newsletter, group: mail}
          - football            # shorthand: just the name
        collections:            # a second layer of records under each profile
          - id: 11              # optional in a file written by hand
            name: Orders
            fields:
              - {name: order_id, type: text, length: 20}
              - {name: total, type: float}
              - {name: ordered_at, type: datetime}

Collection IDs are unique in the whole file (as in a Copernica account);
a collection without one gets the lowest free ID.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from importer.errors import SchemaError

FieldType = Literal[
    "text", "email", "select", "integer", "float", "date", "datetime",
    "empty_date", "empty_datetime", "big", "foreign_key", "phone",
]
FIELD_TYPES: tuple[str, ...] = FieldType.__args__  # type: ignore[attr-defined]


class Msg:
    """What reading a schema file can say."""
    DECLARED_TWICE = "database {database}: {kind} {name!r} is declared twice (names are case-insensitive)"
    COLLECTION_ID_TWICE = "collection ID {id} is used twice (collections {a!r} and {b!r})"
    NO_SUCH_DATABASE = "the schema file has no database {database} (it has: {known})"
    NO_FILE = "schema file {path} does not exist"
    BAD_YAML = "schema file {path} is not valid YAML: {why}"
    INVALID = "schema file {path} is invalid: {problems}"
    PROBLEM = "{place}: {why}"
    TOP = "(top)"
    NONE = "none"


class FieldDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: FieldType = "text"
    id: int | None = None
    # the field's default value; for a select field, its choices one per line
    value: str = ""
    choices: tuple[str, ...] = ()
    length: int | None = Field(default=None, ge=1)

    @field_validator("value", mode="before")
    @classmethod
    def _value_as_text(cls, v: Any) -> str:
        return "" if v is None else str(v)

    @field_validator("choices", mode="before")
    @classmethod
    def _choices_as_text(cls, v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            # YAML reads bare yes/no as booleans; a choice is always text
            return tuple(_yaml_scalar_text(c) for c in v)
        return v

    @model_validator(mode="after")
    def _choices_from_value(self) -> "FieldDef":
        # Copernica keeps select choices in `value`, one per line; accept either.
        if self.type == "select":
            if not self.choices and self.value:
                object.__setattr__(self, "choices", tuple(c for c in self.value.splitlines() if c != ""))
            elif self.choices and not self.value:
                object.__setattr__(self, "value", "\n".join(self.choices))
        return self


class InterestDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    group: str = ""
    id: int | None = None


def _field_shorthand(v: Any) -> Any:
    if isinstance(v, list):
        return [f if isinstance(f, (dict, BaseModel)) else {"name": _yaml_scalar_text(f)} for f in v]
    return v


def _unique_field_names(owner: str, fields: list[FieldDef]) -> None:
    seen: set[str] = set()
    for f in fields:
        if f.name.lower() in seen:
            raise ValueError(Msg.DECLARED_TWICE.format(database=owner, kind="field", name=f.name))
        seen.add(f.name.lower())


class CollectionSchema(BaseModel):
    """A collection: records (subprofiles) under each profile, with fields of their own (no interests)."""
    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    name: str
    fields: list[FieldDef] = []

    @field_validator("fields", mode="before")
    @classmethod
    def _fields_shorthand(cls, v: Any) -> Any:
        return _field_shorthand(v)

    @model_validator(mode="after")
    def _unique_names(self) -> "CollectionSchema":
        _unique_field_names(f"collection {self.name!r}", self.fields)
        return self

    def field(self, name: str) -> FieldDef | None:
        """The field called ``name``, matched case-insensitively as Copernica does."""
        lname = name.lower()
        return next((f for f in self.fields if f.name.lower() == lname), None)


class DatabaseSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    name: str = ""
    fields: list[FieldDef] = []
    interests: list[InterestDef] = []
    collections: list[CollectionSchema] = []

    @field_validator("interests", mode="before")
    @classmethod
    def _interest_shorthand(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [i if isinstance(i, (dict, BaseModel)) else {"name": _yaml_scalar_text(i)} for i in v]
        return v

    @field_validator("fields", mode="before")
    @classmethod
    def _field_shorthand(cls, v: Any) -> Any:
        return _field_shorthand(v)

    @model_validator(mode="after")
    def _unique_names(self) -> "DatabaseSchema":
        for kind, names in (("field", [f.name for f in self.fields]),
                            ("interest", [i.name for i in self.interests]),
                            ("collection", [c.name for c in self.collections])):
            seen: set[str] = set()
            for n in names:
                if n.lower() in seen:
                    raise ValueError(Msg.DECLARED_TWICE.format(database=self.id, kind=kind, name=n))
                seen.add(n.lower())
        return self

    def field(self, name: str) -> FieldDef | None:
        """The field called ``name``, matched case-insensitively as Copernica does."""
        lname = name.lower()
        return next((f for f in self.fields if f.name.lower() == lname), None)

    def interest(self, name: str) -> InterestDef | None:
        lname = name.lower()
        return next((i for i in self.interests if i.name.lower() == lname), None)

    def collection(self, ref: str | int) -> CollectionSchema | None:
        """A collection by its ID (a number, or its text) or by its name (exact, else ignoring case)."""
        text = str(ref).strip()
        if text.isdigit():
            found = next((c for c in self.collections if c.id == int(text)), None)
            if found is not None:
                return found
        exact = next((c for c in self.collections if c.name == text), None)
        if exact is not None:
            return exact
        return next((c for c in self.collections if c.name.lower() == text.lower()), None)


class SchemaFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    databases: list[DatabaseSchema]

    @model_validator(mode="after")
    def _collection_ids(self) -> "SchemaFile":
        """Collection IDs are unique in an account; collections without one get the lowest free IDs."""
        by_id: dict[int, str] = {}
        for c in (c for db in self.databases for c in db.collections if c.id is not None):
            if c.id in by_id:
                raise ValueError(Msg.COLLECTION_ID_TWICE.format(id=c.id, a=by_id[c.id], b=c.name))
            by_id[c.id] = c.name
        free = 1
        for c in (c for db in self.databases for c in db.collections if c.id is None):
            while free in by_id:
                free += 1
            c.id = free
            by_id[free] = c.name
        return self

    def database(self, database_id: int) -> DatabaseSchema:
        for db in self.databases:
            if db.id == database_id:
                return db
        known = ", ".join(str(d.id) for d in self.databases) or Msg.NONE
        raise SchemaError(Msg.NO_SUCH_DATABASE.format(database=database_id, known=known))


def _yaml_scalar_text(v: Any) -> str:
    if isinstance(v, bool):  # YAML 1.1 turns yes/no into booleans
        return "yes" if v else "no"
    return "" if v is None else str(v)


def load_schema_file(path: str | Path) -> SchemaFile:
    """Read and validate a schema YAML file; errors name the file and place."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(Msg.NO_FILE.format(path=path)) from None
    except yaml.YAMLError as exc:
        raise SchemaError(Msg.BAD_YAML.format(path=path, why=exc)) from None
    if isinstance(data, dict) and "databases" not in data and "id" in data:
        data = {"databases": [data]}  # a file holding one database
    try:
        return SchemaFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(Msg.PROBLEM.format(place=".".join(str(p) for p in e["loc"]) or Msg.TOP, why=e["msg"])
                             for e in exc.errors())
        raise SchemaError(Msg.INVALID.format(path=path, problems=problems)) from None


def _dumped_fields(fields: list[FieldDef]) -> list[dict[str, Any]]:
    out = []
    for f in fields:
        d: dict[str, Any] = {"name": f.name, "type": f.type}
        if f.id is not None:
            d["id"] = f.id
        if f.type == "select":
            d["choices"] = list(f.choices)
        elif f.value:
            d["value"] = f.value
        if f.length is not None:
            d["length"] = f.length
        out.append(d)
    return out


def dump_schema(databases: list[DatabaseSchema]) -> str:
    """The YAML text of a schema file, loadable by ``load_schema_file``."""
    out = []
    for db in databases:
        fields = _dumped_fields(db.fields)
        interests = []
        for i in db.interests:
            d = {"name": i.name}
            if i.group:
                d["group"] = i.group
            if i.id is not None:
                d["id"] = i.id
            interests.append(d)
        entry: dict[str, Any] = {"id": db.id, "name": db.name, "fields": fields, "interests": interests}
        if db.collections:
            entry["collections"] = [{"id": c.id, "name": c.name, "fields": _dumped_fields(c.fields)}
                                    for c in db.collections]
        out.append(entry)
    return yaml.safe_dump({"databases": out}, sort_keys=False, allow_unicode=True)
