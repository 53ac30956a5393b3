"""The mapping as the page shows it: one line per column, and back to the YAML the CLI reads.

A ``MappingTable`` is made from a validated ``Mapping`` (the ``init`` draft, or
a mapping file the user opens) and the file's columns; the page edits it
line by line; ``data()`` turns it back into the content of a mapping file,
which ``importer.mapping`` validates exactly as it validates a file on disk.
Nothing here checks values: that is the library's ``check_file``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from importer.errors import MappingError
from importer.mapping import DEFAULT_FALSY, DEFAULT_TRUTHY, Mapping
from importer.mapping.load import parse_yaml
from importer.mapping.spec import validated
from importer.schema import DatabaseSchema

MODES = ("create", "skip", "update", "upsert")
ON_INVALID = ("reject", "omit", "send")
FIELD, INTEREST = "field", "interest"


class Msg:
    """What the mapping table says about itself."""
    TWICE = "{kind} {name!r} is filled by two lines (columns {a!r} and {b!r}); choose one of them"
    TWICE_CONSTANT = "{kind} {name!r} is given a fixed value and is also filled by column {column!r}; choose one"
    BAD_TRANSFORM = "column {column!r}, transforms: {why}"
    NOT_A_LIST = "write the transforms as a list separated by commas, e.g. trim, lower, {{replace: {{Holland: NL}}}}"
    NOT_IN_DATABASE = "{name} (not in the database)"
    FILE_HEADER = ("# Mapping made on the copernica-import page for {file}.\n"
                   "# The same file works from a terminal or a cron job:\n"
                   "#   copernica-import run {file} --mapping {name}\n")


@dataclass
class Line:
    """One column of the file and where its value goes (one of several for a list column)."""
    column: str
    target: str = ""                 # "field:email", "interest:newsletter", or "" (not imported)
    transform: str = ""              # as typed: "trim, lower, {replace: {Holland: NL}}"
    date_format: str = ""            # "%d-%m-%Y, %Y-%m-%d"
    required: bool = False
    key: bool = False
    validate_email: bool = False
    fix_case: bool = False
    decimal_comma: bool = False
    on_invalid: str = "reject"
    blank_existing: bool = False
    contains: str = ""               # an interest switched on by an item of a list column
    separator: str = ";"
    truthy: str = ", ".join(DEFAULT_TRUTHY)
    falsy: str = ", ".join(v for v in DEFAULT_FALSY if v)
    empty_is_no: bool = True         # an empty cell means "no" (falsy holds "")
    missing: bool = False            # the column is not in the file (an opened mapping)

    @property
    def kind(self) -> str:
        return self.target.split(":", 1)[0] if self.target else ""

    @property
    def name(self) -> str:
        return self.target.split(":", 1)[1] if self.target else ""


@dataclass
class Constant:
    """A field or interest with the same value for every row."""
    target: str
    value: str


@dataclass
class MappingTable:
    lines: list[Line] = field(default_factory=list)
    constants: list[Constant] = field(default_factory=list)
    database: int | None = None
    on_existing: str = "create"
    duplicates: Any = "first"     # first | last, or a rule by a column as a dict
    interests_on_update: str = "add"
    header_row: int | None = None   # the row with the column names, as chosen on the file step (None: found)

    # -- from a mapping ---------------------------------------------------------
    @classmethod
    def from_mapping(cls, mapping: Mapping, headers: list[str]) -> "MappingTable":
        keys = {k.casefold() for k in mapping.key}
        by_column: dict[str, list[Line]] = {}
        constants: list[Constant] = []
        for name, spec in mapping.fields.items():
            if spec.value is not None:
                constants.append(Constant(f"{FIELD}:{name}", spec.value))
                continue
            by_column.setdefault(spec.column or "", []).append(Line(
                column=spec.column or "", target=f"{FIELD}:{name}", transform=transform_text(spec.transform),
                date_format=", ".join(spec.date_format), required=spec.required, key=name.casefold() in keys,
                validate_email=spec.check_as == "email", fix_case=spec.fix_case, decimal_comma=spec.decimal_comma,
                on_invalid=spec.on_invalid, blank_existing=spec.blank_existing))
        for name, ispec in mapping.interests.items():
            if ispec.value is not None:
                constants.append(Constant(f"{INTEREST}:{name}", ispec.value))
                continue
            by_column.setdefault(ispec.column or "", []).append(Line(
                column=ispec.column or "", target=f"{INTEREST}:{name}", contains=ispec.contains or "",
                separator=ispec.separator, truthy=", ".join(v for v in ispec.truthy if v),
                falsy=", ".join(v for v in ispec.falsy if v), empty_is_no="" in ispec.falsy,
                blank_existing=ispec.blank_existing))
        lines: list[Line] = []
        for header in headers:
            lines += by_column.pop(header, None) or [Line(column=header)]
        for entries in by_column.values():   # mapped columns the file does not have
            lines += [replace(line, missing=True) for line in entries]
        # the page offers first/last; a rule by a column (keep: newest, by: ...) is kept as the mapping has it
        rule = mapping.duplicates
        duplicates = rule.keep if rule.by is None and rule.keep in ("first", "last") else \
            rule.model_dump(exclude_defaults=True)
        return cls(lines, constants, mapping.database, mapping.on_existing, duplicates,
                   mapping.interests_on_update, mapping.header_row)

    # -- from the page's form ----------------------------------------------------
    def update_from_form(self, form: Any) -> None:
        """Takes the values of the mapping form (a werkzeug MultiDict or a dict of lists)."""
        def get(name: str, default: str = "") -> str:
            return (form.get(name) or default).strip() if hasattr(form, "get") else default

        lines: list[Line] = []
        for i in range(int(get("lines", "0") or 0)):
            p = f"l{i}-"
            column = form.get(p + "column")
            if column is None:
                continue
            lines.append(Line(
                column=column, target=get(p + "target"), transform=get(p + "transform"),
                date_format=get(p + "date_format"), required=bool(form.get(p + "required")),
                key=bool(form.get(p + "key")), validate_email=bool(form.get(p + "validate_email")),
                fix_case=bool(form.get(p + "fix_case")), decimal_comma=bool(form.get(p + "decimal_comma")),
                on_invalid=get(p + "on_invalid", "reject") if get(p + "on_invalid") in ON_INVALID else "reject",
                blank_existing=bool(form.get(p + "blank_existing")), contains=get(p + "contains"),
                separator=form.get(p + "separator") or ";", truthy=get(p + "truthy"), falsy=get(p + "falsy"),
                empty_is_no=bool(form.get(p + "empty_is_no")), missing=bool(form.get(p + "missing"))))
        constants = []
        for i in range(int(get("constants", "0") or 0)):
            target, value = get(f"c{i}-target"), form.get(f"c{i}-value") or ""
            if target or value:
                constants.append(Constant(target, value))
        self.lines, self.constants = lines, constants
        if get("on_existing") in MODES:
            self.on_existing = get("on_existing")
        if get("duplicates") in ("first", "last"):
            self.duplicates = get("duplicates")

    def add_line(self, index: int) -> None:
        """Another line for the column of line ``index`` (a list column feeding several interests)."""
        if 0 <= index < len(self.lines):
            self.lines.insert(index + 1, Line(column=self.lines[index].column, missing=self.lines[index].missing))

    def remove_line(self, index: int) -> None:
        """Drops line ``index``; the column's last line only loses its target."""
        if not 0 <= index < len(self.lines):
            return
        column = self.lines[index].column
        if sum(1 for line in self.lines if line.column == column) > 1 or self.lines[index].missing:
            del self.lines[index]
        else:
            self.lines[index] = Line(column=column)

    # -- to the mapping file -------------------------------------------------------
    def data(self) -> dict[str, Any]:
        """The content of the mapping file; MappingError names what is wrong on the page."""
        fields: dict[str, dict[str, Any]] = {}
        interests: dict[str, dict[str, Any]] = {}
        where: dict[tuple[str, str], str] = {}
        keys: list[str] = []
        for line in self.lines:
            if not line.target:
                continue
            kind, name = line.kind, line.name
            if (kind, name.casefold()) in where:
                raise MappingError(Msg.TWICE.format(kind=kind, name=name, a=where[kind, name.casefold()],
                                                    b=line.column))
            where[kind, name.casefold()] = line.column
            if kind == FIELD:
                fields[name] = _field_spec(line)
                if line.key:
                    keys.append(name)
            else:
                interests[name] = _interest_spec(line)
        for constant in self.constants:
            if not constant.target:
                continue
            kind, name = constant.target.split(":", 1)
            if (kind, name.casefold()) in where:
                raise MappingError(Msg.TWICE_CONSTANT.format(kind=kind, name=name, column=where[kind, name.casefold()]))
            where[kind, name.casefold()] = ""
            (fields if kind == FIELD else interests)[name] = {"value": constant.value}
        data: dict[str, Any] = {}
        if self.database is not None:
            data["database"] = self.database
        if self.header_row is not None:
            data["header_row"] = self.header_row
        if keys:
            data["key"] = keys[0] if len(keys) == 1 else keys
        data["on_existing"] = self.on_existing
        if self.duplicates != "first":
            data["duplicates"] = self.duplicates
        if self.interests_on_update != "add":
            data["interests_on_update"] = self.interests_on_update
        data["fields"] = fields
        if interests:
            data["interests"] = interests
        return data

    def mapping(self) -> Mapping:
        """The table as a validated Mapping (MappingError lists every problem)."""
        return validated(self.data(), "the mapping", {})

    def yaml_text(self, file_name: str = "FILE", mapping_name: str = "mapping.yaml") -> str:
        """The mapping file's text: what ``copernica-import run --mapping`` reads."""
        data = self.data()
        self.mapping()  # refuses what the CLI would refuse
        body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=1000)
        return Msg.FILE_HEADER.format(file=file_name, name=mapping_name) + "\n" + body

    # -- what the page lists ----------------------------------------------------------
    def used_targets(self) -> set[str]:
        return {line.target for line in self.lines if line.target} | {c.target for c in self.constants if c.target}


def _field_spec(line: Line) -> dict[str, Any]:
    spec: dict[str, Any] = {"column": line.column}
    steps = parse_transforms(line.transform, line.column)
    if steps:
        spec["transform"] = steps
    if line.validate_email:
        spec["validate"] = "email"
    if line.required:
        spec["required"] = True
    formats = [f.strip() for f in line.date_format.split(",") if f.strip()]
    if formats:
        spec["date_format"] = formats if len(formats) > 1 else formats[0]
    if line.decimal_comma:
        spec["decimal_comma"] = True
    if line.fix_case:
        spec["fix_case"] = True
    if line.on_invalid != "reject":
        spec["on_invalid"] = line.on_invalid
    if line.blank_existing:
        spec["blank_existing"] = True
    return spec


def _interest_spec(line: Line) -> dict[str, Any]:
    spec: dict[str, Any] = {"column": line.column}
    if line.contains:
        spec["contains"] = line.contains
        if line.separator != ";":
            spec["separator"] = line.separator
    else:
        truthy = _words(line.truthy)
        falsy = _words(line.falsy) + ([""] if line.empty_is_no else [])
        if truthy != list(DEFAULT_TRUTHY):
            spec["truthy"] = truthy
        if falsy != list(DEFAULT_FALSY):
            spec["falsy"] = falsy
    if line.blank_existing:
        spec["blank_existing"] = True
    return spec


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def parse_transforms(text: str, column: str) -> list[Any]:
    """'trim, lower, {replace: {Holland: NL}}' -> the mapping file's transform list (same YAML rules)."""
    if not text.strip():
        return []
    try:
        data, _ = parse_yaml("[" + text + "]", "transforms")
    except MappingError as exc:
        raise MappingError(Msg.BAD_TRANSFORM.format(column=column, why=_after_place(str(exc)))) from None
    if not isinstance(data, list):
        raise MappingError(Msg.BAD_TRANSFORM.format(column=column, why=Msg.NOT_A_LIST))
    return data


def _after_place(message: str) -> str:
    """'transforms: line 1, column 9: this is not valid YAML: ...' without the place in the made-up text."""
    return message.split(": ", 2)[-1] if message.startswith("transforms: ") else message


class _TextDumper(yaml.SafeDumper):
    """YAML for the transforms field: numbers need no quotes there, the mapping reads every value as text."""


_TextDumper.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (
        "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()}


def transform_text(steps: list[Any]) -> str:
    """The transform list as one line the page shows and ``parse_transforms`` reads back."""
    parts = []
    for step in steps:
        if isinstance(step, str):
            parts.append(step)
        else:
            parts.append(yaml.dump(step, Dumper=_TextDumper, default_flow_style=True, allow_unicode=True, sort_keys=False,
                                   width=1000).strip())
    return ", ".join(parts)


def target_options(schema: DatabaseSchema | None, table: MappingTable) -> list[tuple[str, list[tuple[str, str]]]]:
    """The choices of the 'imported into' lists: [(group label, [(value, label)])]."""
    fields: list[tuple[str, str]] = []
    interests: list[tuple[str, str]] = []
    known: set[str] = set()
    if schema is not None:
        for f in schema.fields:
            detail = f.type + (": " + ", ".join(f.choices) if f.type == "select" and f.choices else "")
            detail += f", up to {f.length}" if f.length and f.type in ("text", "email") else ""
            fields.append((f"{FIELD}:{f.name}", f"{f.name} ({detail})"))
            known.add(f"{FIELD}:{f.name}".casefold())
        for i in schema.interests:
            interests.append((f"{INTEREST}:{i.name}", f"{i.name} (interest{', ' + i.group if i.group else ''})"))
            known.add(f"{INTEREST}:{i.name}".casefold())
    for target in sorted(table.used_targets()):
        if target.casefold() not in known:   # an opened mapping naming what the database lacks
            kind, name = target.split(":", 1)
            (fields if kind == FIELD else interests).append((target, Msg.NOT_IN_DATABASE.format(name=name)))
    return [("Fields", fields), ("Interests", interests)]
