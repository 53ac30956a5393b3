"""``copernica-import init``: draft a mapping from a file's headers and first rows.

The draft is a starting point a person reads and adjusts, so it says in
comments why it chose what it chose and what it left out. It must load
without edits and, against the database it was drafted for, pass ``check``
without mapping errors: it only names fields and interests that exist (when a
schema is given) and columns that the file has.

How a column is matched, in order:

1. to a field, by a forgiving comparison of names: case, accents, spaces and
   punctuation do not count, "no"/"nr" mean "number", and common synonyms in
   English, Dutch, German and French are one concept (``SYNONYMS``); failing
   that, a close spelling (``importer.mapping.names.best_match``);
2. a column whose values are (nearly) all yes/no words (yes, no, x, 1, 0, ja,
   nee, oui, non, true, false; empty cells switch nothing) becomes an interest
   when an interest has its name, or the same name in another language
   (Newsletter = nieuwsbrief), even if a field does too; a few odd values
   ("misschien") do not stop it, they are listed in a comment; a yes/no
   column that matches a select field (Opt-in -> optin with choices yes/no)
   stays that field;
3. a column of ";" or ","-separated items that are interest names, in any of
   the four languages (Sports: "Voetbal;Tennis") becomes one ``contains:``
   interest per item seen;
4. anything else is listed in a comment and not imported.

What the values propose, per field (a date format, a phone rule, zfill, ...),
is chosen in ``importer.proposals``. A constant is only suggested for a
field it suits.

Without a schema every column becomes a field named in snake_case, yes/no
columns become interests, and ";"-separated lists become one interest per item.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from importer.mapping.names import SYNONYMS, best_match, concept, same_item, snake_case
from importer.models import Row
from importer.proposals import (
    NAMED_YES_NO_SHARE,
    YES_NO_SHARE,
    Entry,
    field_entry,
    is_email,
    looks_yes_no,
    region_hint,
    yaml_scalar,
    yes_no_interest,
)
from importer.schema import DatabaseSchema, FieldDef, InterestDef

LIST_SEPARATORS = (";", "|", ",")
LIST_SHARE = 0.8             # share of a column's items that must be interest names
# a constant a comment may suggest, by field type (never for an email field)
CONSTANT_EXAMPLES = {"text": "spring-fair-2026", "big": "spring-fair-2026", "integer": "1", "float": "1.5",
                     "date": "2026-03-21", "empty_date": "2026-03-21", "datetime": "2026-03-21 09:00:00",
                     "empty_datetime": "2026-03-21 09:00:00"}


class Msg:
    """The comments the draft writes, in one place (those about one field's settings: ``importer.proposals``)."""
    HEADER = ("# Mapping drafted by `copernica-import init` from {columns} columns and the first {rows} rows.\n"
              "# Read it through before the first real import: every choice below is a guess from\n"
              "# names and sample values. Check it with: copernica-import check FILE --mapping THIS_FILE")
    NO_DATABASE = "# database: 1234   # the database ID; or pass --database ID"
    KEY = "# the field that identifies a person: duplicates in the file are skipped by it"
    NO_KEY = ("# key: email   # no email column was found; choose the field that identifies a person\n"
              "#               (duplicates in the file are skipped by it)")
    MATCHED_FUZZY = "close spelling of the field name; check it is the right field"
    MATCHED_BY_VALUES = "chosen by its values (e-mail addresses), not by its name; check it is the right field"
    INTEREST_LIST = "one interest per item of the {sep!r}-separated column {column!r}"
    OTHER_ITEMS = "# {column}: items that are no interest of the database: {items}"
    UNUSED_COLUMN = "# {column}: no matching field"
    UNUSED_COLUMN_EMPTY = "# {column}: empty in the sample, no matching field"
    UNUSED_YES_NO = "# {column}: yes/no values, but no interest or field of that name"
    UNFILLED_FIELDS = "# Fields of the database that no column fills: {names}"
    CONSTANT_HINT = "# (a constant is possible, e.g.  {example}: {{value: {value}}})"
    UNFILLED_INTERESTS = "# Interests of the database that no column fills: {names}"
    NO_INTERESTS = "# no column looks like an interest (yes/no values or a list of interest names)"
    NO_HEADER = ("# The file has no header row (its first row is a person), so its columns are named\n"
                 "# A, B, C, ... as in a spreadsheet:\nheader: none")
    HEADER_ROW = ("# The column names are on row {row} (the rows above them are a title or notes); each run\n"
                  "# finds them again. To fix the row instead:  header_row: {row}")


# ------------------------------------------------------------- values

def sample_values(header: str, rows: list[Row]) -> list[str]:
    """The column's non-empty cells in the sample, trimmed."""
    return [v.strip() for r in rows if (v := r.values.get(header, "")).strip()]


def list_separator(values: list[str]) -> str | None:
    """The separator of a list column ("Football;Tennis"), or None when no value has one."""
    for sep in LIST_SEPARATORS:
        if any(sep in v for v in values):
            return sep
    return None


def list_items(values: list[str], separator: str) -> Counter[str]:
    """How often each item occurs, items keeping the spelling seen first ('football' = 'Football')."""
    spelling: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for value in values:
        for item in (i.strip() for i in value.split(separator)):
            if item:
                counts[spelling.setdefault(item.casefold(), item)] += 1
    return counts


# ------------------------------------------------------------- the draft

@dataclass
class Draft:
    database_id: int | None
    no_header: bool = False
    header_row: int | None = None
    fields: list[Entry] = field(default_factory=list)
    interests: list[Entry] = field(default_factory=list)
    key: str | None = None
    field_notes: list[str] = field(default_factory=list)
    interest_notes: list[str] = field(default_factory=list)


def draft_mapping(headers: list[str], sample_rows: list[Row], schema: DatabaseSchema | None, *,
                  database_id: int | None, no_header: bool = False, header_row: int | None = None) -> str:
    """The YAML text (with comments) of a mapping for a file with ``headers``.

    ``sample_rows`` (the file's first rows, a few hundred is plenty) decide
    yes/no columns, list columns, date formats, fix_case and decimal_comma.
    ``schema`` is the target database's structure; without it every column is
    mapped to a field named after it. ``database_id`` is written when known
    (else the schema's ID). ``no_header`` (the file's first row is data:
    ``headers`` are A, B, C...) writes ``header: none``; a ``header_row``
    other than 1 is written as ``header_row``, as the reader found it.
    """
    if database_id is None and schema is not None:
        database_id = schema.id
    draft = Draft(database_id, no_header=no_header, header_row=header_row if header_row and header_row > 1 else None)
    columns = {h: sample_values(h, sample_rows) for h in headers}
    if schema is None:
        _draft_without_schema(draft, columns)
    else:
        _draft_with_schema(draft, columns, schema)
    return render(draft, len(headers), len(sample_rows))


def _draft_with_schema(draft: Draft, columns: dict[str, list[str]], schema: DatabaseSchema) -> None:
    taken_fields: set[str] = set()
    taken_interests: set[str] = set()
    field_names = [f.name for f in schema.fields]
    interest_names = [i.name for i in schema.interests]
    # Best-scoring pairs first, so that 'Email' takes the field email before 'E-mail 2' comes close.
    ranked: list[tuple[float, str, str]] = []
    for header, values in columns.items():
        hit = best_match(header, interest_names, set(), by_word=True)
        # named like an interest, half yes/no words are enough: the odd ones are listed in the draft
        if hit and looks_yes_no(values, NAMED_YES_NO_SHARE if hit[1] >= 0.95 else YES_NO_SHARE):
            ranked.append((hit[1] + 1, header, "interest:" + hit[0]))   # interests win for yes/no columns
        if hit := best_match(header, field_names, set()):
            ranked.append((hit[1], header, "field:" + hit[0]))
    ranked += _email_columns_by_values(columns, schema)
    decided: dict[str, tuple[str, str, float]] = {}
    for score, header, target in sorted(ranked, key=lambda r: -r[0]):
        kind, name = target.split(":", 1)
        taken = taken_fields if kind == "field" else taken_interests
        if header in decided or name.casefold() in taken:
            continue
        taken.add(name.casefold())
        decided[header] = (kind, name, score)

    hint = region_hint(columns)
    for header, values in columns.items():
        if header in decided:
            kind, name, score = decided[header]
            if kind == "field":
                field_def = schema.field(name)
                assert field_def is not None
                entry = field_entry(field_def.name, header, values, field_def, hint)
                if score < 0.95:
                    said = Msg.MATCHED_BY_VALUES if score == BY_VALUES_SCORE else Msg.MATCHED_FUZZY
                    entry.comment = "\n".join(c for c in (said, entry.comment) if c)
                draft.fields.append(entry)
            else:
                draft.interests.append(yes_no_interest(name, header, values))
            continue
        if not looks_yes_no(values) and _add_list_interests(draft, header, values, schema.interests,
                                                            taken_interests):
            continue
        note = Msg.UNUSED_YES_NO if looks_yes_no(values) else (
            Msg.UNUSED_COLUMN if values else Msg.UNUSED_COLUMN_EMPTY)
        draft.field_notes.append(note.format(column=header))

    draft.key = next((e.name for e in draft.fields if is_email(e.name, schema.field(e.name))), None)
    unfilled = [f for f in schema.fields if f.name.casefold() not in taken_fields]
    if unfilled:
        draft.field_notes.append(Msg.UNFILLED_FIELDS.format(names=", ".join(f.name for f in unfilled)))
        if example := constant_example(unfilled):
            draft.field_notes.append(Msg.CONSTANT_HINT.format(example=example[0], value=yaml_scalar(example[1])))
    unfilled_interests = [i.name for i in schema.interests if i.name.casefold() not in taken_interests]
    if unfilled_interests:
        draft.interest_notes.append(Msg.UNFILLED_INTERESTS.format(names=", ".join(unfilled_interests)))


def constant_example(fields: list[FieldDef]) -> tuple[str, str] | None:
    """(field, value) for a constant that suits the field: a text field first, never a person's own data."""
    def value(f: FieldDef) -> str | None:
        if f.type == "select":
            return next((c for c in f.choices if c.strip()), None)
        example = CONSTANT_EXAMPLES.get(f.type)
        if example is not None and f.length is not None and len(example) > f.length:
            return None
        return example
    # a person's own data (name, email, birthday, ...) is never the same for every row
    suitable = [(f.name, v) for f in fields if concept(f.name) not in SYNONYMS and (v := value(f)) is not None]
    suitable.sort(key=lambda pair: 0 if (schema_type(fields, pair[0]) in ("text", "big")) else 1)
    return suitable[0] if suitable else None


def schema_type(fields: list[FieldDef], name: str) -> str:
    return next(f.type for f in fields if f.name == name)


def _add_list_interests(draft: Draft, header: str, values: list[str], interests: list[InterestDef],
                        taken: set[str]) -> bool:
    """Map a list column ("Football;Tennis") to one ``contains`` interest per item; False when it is none."""
    separator = list_separator(values) or ";"
    items = list_items(values, separator)
    matched = {item: name for item in items
               if (name := next((i.name for i in interests if same_item(item, i.name)), None)) is not None}
    if not matched or sum(items[i] for i in matched) < LIST_SHARE * sum(items.values()):
        return False
    comment = Msg.INTEREST_LIST.format(sep=separator, column=header)
    order = {i.name: n for n, i in enumerate(interests)}    # the database's order reads best
    for item, name in sorted(matched.items(), key=lambda m: order[m[1]]):
        if name.casefold() in taken:
            continue
        taken.add(name.casefold())
        draft.interests.append(Entry(name, {"column": header, "contains": item, "separator": separator}, comment))
        comment = ""
    others = [i for i in items if i not in matched]
    if others:
        draft.interest_notes.append(Msg.OTHER_ITEMS.format(column=header, items=", ".join(others)))
    return True


BY_VALUES_SCORE = 0.5     # below every name match: a column named 'Email' wins over one that holds addresses
EMAIL_SHARE = 0.9         # of a column's sample values, the share that must be e-mail addresses


def _email_columns_by_values(columns: dict[str, list[str]], schema: DatabaseSchema) -> list[tuple[float, str, str]]:
    """The database's e-mail field for a column whose sample values are e-mail addresses,
    whatever its name (a file without a header row names its columns A, B, C)."""
    email_field = next((f.name for f in schema.fields if is_email(f.name, f)), None)
    if email_field is None:
        return []
    return [(BY_VALUES_SCORE, header, "field:" + email_field) for header, values in columns.items()
            if _holds_emails(values)]


def _holds_emails(values: list[str]) -> bool:
    """``values``: a column's sample cells as ``sample_values`` gives them (trimmed, none empty)."""
    shaped = sum(_EMAIL_SHAPE.fullmatch(v) is not None for v in values)
    return shaped >= 2 and shaped >= EMAIL_SHARE * len(values)


_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _draft_without_schema(draft: Draft, columns: dict[str, list[str]]) -> None:
    used: set[str] = set()
    for header, values in columns.items():
        separator = list_separator(values)
        if looks_yes_no(values):
            name = _unique(snake_case(header), used)
            draft.interests.append(yes_no_interest(name, header, values))
        elif separator in (";", "|") and len(list_items(values, separator)) <= 30:
            for item in list_items(values, separator):
                name = _unique(snake_case(item), used)
                draft.interests.append(Entry(name, {"column": header, "contains": item, "separator": separator},
                                             Msg.INTEREST_LIST.format(sep=separator, column=header)))
        else:
            by_values = "email" not in used and concept(header) not in SYNONYMS and _holds_emails(values)
            name = _unique("email" if by_values else _concept_name(header), used)
            draft.fields.append(field_entry(name, header, values, None, region_hint(columns)))
            if by_values:
                entry = draft.fields[-1]
                entry.comment = "\n".join(c for c in (Msg.MATCHED_BY_VALUES, entry.comment) if c)
    draft.key = next((e.name for e in draft.fields if concept(e.name) == "email"), None)


def _concept_name(header: str) -> str:
    """A known concept's usual field name ('E-mail address' -> 'email'), else snake_case."""
    known = concept(header)
    return known if known in SYNONYMS else snake_case(header)


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 2
    while candidate.casefold() in used:
        candidate, n = f"{name}_{n}", n + 1
    used.add(candidate.casefold())
    return candidate


# ------------------------------------------------------------- YAML text

def _setting(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_setting(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_scalar(k)}: {_setting(v)}" for k, v in value.items()) + "}"
    return yaml_scalar(value)


def _entry_lines(entry: Entry) -> list[str]:
    # comments go above the entry, one line each, so that long ones stay readable
    lines = [f"  # {line}" for line in entry.comment.splitlines()]
    lines.append(f"  {yaml_scalar(entry.name)}:")
    lines += [f"    {key}: {_setting(value)}" for key, value in entry.settings.items()]
    return lines


def render(draft: Draft, column_count: int, row_count: int) -> str:
    out = [Msg.HEADER.format(columns=column_count, rows=row_count), ""]
    out.append(f"database: {draft.database_id}" if draft.database_id is not None else Msg.NO_DATABASE)
    if draft.no_header:
        out.append(Msg.NO_HEADER)
    elif draft.header_row:
        out.append(Msg.HEADER_ROW.format(row=draft.header_row))
    if draft.key:
        out += [Msg.KEY, f"key: {yaml_scalar(draft.key)}"]
    else:
        out.append(Msg.NO_KEY)
    out += ["", "fields:"]
    for entry in draft.fields:
        out += _entry_lines(entry)
    out += draft.field_notes
    if draft.interests or draft.interest_notes:
        out += ["", "interests:" if draft.interests else "# interests:"]
        for entry in draft.interests:
            out += _entry_lines(entry)
        out += draft.interest_notes
    else:
        out += ["", Msg.NO_INTERESTS]
    return "\n".join(out) + "\n"
