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

What the values propose, per field: the ``date_format`` list that covers a
date column (``importer.dates.propose_date_formats``; cells that no format
reads are listed), a ``timezone`` for timestamps with a zone, a ``phone``
rule with the region most numbers are valid in (``importer.phones``),
``{zfill: N}`` for codes that lost their leading zeros in a spreadsheet,
``{replace: {Netherlands: NL}}`` for country names in a select of country
codes, ``fix_case`` and ``decimal_comma``. A constant is only suggested for a
field it suits.

Without a schema every column becomes a field named in snake_case, yes/no
columns become interests, and ";"-separated lists become one interest per item.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

from importer import phones
from importer.dates import (
    DEFAULT_TIMEZONE,
    ValueProblem,
    date_format_candidates,
    human_date_format,
    propose_date_formats,
)
from importer.mapping.names import SYNONYMS, best_match, concept, same_item, snake_case
from importer.models import Row
from importer.schema import DatabaseSchema, FieldDef, InterestDef

TRUTHY = ("yes", "y", "ja", "j", "x", "1", "true", "oui", "si", "waar", "wahr", "vrai")
FALSY = ("no", "n", "nee", "0", "false", "non", "nein", "onwaar", "faux")
LIST_SEPARATORS = (";", "|", ",")
LIST_SHARE = 0.8             # share of a column's items that must be interest names
DATE_SHARE = 0.9             # share of a column's values that must be dates (no schema)
YES_NO_SHARE = 0.9           # share of a column's values that must be yes/no words
YES_NO_ODD_VALUES = 3        # distinct other values a yes/no column may have
EXAMPLES = 3                 # values a comment quotes
ZERO_SHARE = 0.5             # share of digit-only values starting with 0 before shorter ones are suspect
ISO_COUNTRY_NAMES = {        # country names in EN/NL/DE/FR -> ISO code, for selects of country codes
    "NL": ("netherlands", "the netherlands", "nederland", "holland", "niederlande", "pays-bas", "pays bas"),
    "BE": ("belgium", "belgie", "belgië", "belgien", "belgique"),
    "DE": ("germany", "duitsland", "deutschland", "allemagne"),
    "FR": ("france", "frankrijk", "frankreich"),
    "GB": ("united kingdom", "uk", "great britain", "england", "verenigd koninkrijk", "grossbritannien",
           "großbritannien", "royaume-uni", "royaume uni"),
    "LU": ("luxembourg", "luxemburg"),
    "AT": ("austria", "oostenrijk", "österreich", "oesterreich", "autriche"),
    "CH": ("switzerland", "zwitserland", "schweiz", "suisse"),
    "ES": ("spain", "spanje", "spanien", "espagne", "españa"),
    "IT": ("italy", "italie", "italië", "italien"),
    "US": ("united states", "usa", "verenigde staten", "vereinigte staaten", "etats-unis", "états-unis"),
}
# a constant a comment may suggest, by field type (never for an email field)
CONSTANT_EXAMPLES = {"text": "spring-fair-2026", "big": "spring-fair-2026", "integer": "1", "float": "1.5",
                     "date": "2026-03-21", "empty_date": "2026-03-21", "datetime": "2026-03-21 09:00:00",
                     "empty_datetime": "2026-03-21 09:00:00"}


class Msg:
    """The comments the draft writes, in one place."""
    HEADER = ("# Mapping drafted by `copernica-import init` from {columns} columns and the first {rows} rows.\n"
              "# Read it through before the first real import: every choice below is a guess from\n"
              "# names and sample values. Check it with: copernica-import check FILE --mapping THIS_FILE")
    NO_DATABASE = "# database: 1234   # the database ID; or pass --database ID"
    KEY = "# the field that identifies a person: duplicates in the file are skipped by it"
    NO_KEY = ("# key: email   # no email column was found; choose the field that identifies a person\n"
              "#               (duplicates in the file are skipped by it)")
    MATCHED_FUZZY = "close spelling of the field name; check it is the right field"
    YES_NO_FIELD = "yes/no values, matched to a field by name"
    YES_NO_ODD = ("the sample also has {values}, neither yes nor no: such a row is invalid until the value is "
                  "added to truthy or falsy (or corrected in the file)")
    ODD_VALUE = "'{value}' ({count} {rows})"
    DATE_GUESSED = "the sample's dates are written {forms}; YYYY-MM-DD (spreadsheet date cells) is read too"
    DATE_FORM_COUNT = "{form} ({count})"
    DATE_SETTLED = "{order} first, as cells such as '{value}' show"
    DAY = "day"
    MONTH = "month"
    DATE_AMBIGUOUS = ("the sample's dates read both day-first and month-first, and no cell settles it: choose one, "
                      "e.g. date_format: [\"{fmt1}\", \"%Y-%m-%d\"] or [\"{fmt2}\", \"%Y-%m-%d\"]")
    DATE_UNCOVERED = "no format reads {count} of the sample's values, so their rows would be invalid: {examples}"
    DATE_UNREADABLE = "{count} sample values are not dates in one format; add date_format when needed"
    DATE_ZONED = ("the times carry a time zone; Copernica stores them without one, so they are converted to "
                  "timezone ({zone} here): set your Copernica account's zone, e.g. Europe/Amsterdam")
    DATE_TIMES_IN_DATE_FIELD = ("some sample values have a time of day, but field '{field}' holds dates only: "
                                "such rows are invalid; map the column to a datetime field instead")
    PHONE = ("phone numbers: checked, and sent as {example} (format: e164); numbers without a country code "
             "are read as {region} numbers")
    PHONE_INTERNATIONAL = "phone numbers with a country code: checked, and sent as {example} (format: e164)"
    PHONE_INVALID = "{count} of the sample's values are no valid phone number, so their rows would be invalid: {examples}"
    LOST_ZEROS = ("{count} sample {values} like numbers that lost their leading zeros in a spreadsheet "
                  "({examples} among values like '{like}'): zfill puts them back")
    COUNTRY_NAMES = "country names are replaced by the field's codes"
    FIX_CASE = "the sample has {examples}: fix_case sends the choice's exact spelling"
    NOT_CHOICES = ("the sample has values that are not choices ({examples}); add e.g. "
                   "transform: [trim, {{replace: {{{first}: ...}}}}] or fix the file")
    DECIMAL_COMMA = "the sample writes decimals with a comma"
    TOO_LONG = "some sample values are longer than the field's {length} characters"
    INTEREST_LIST = "one interest per item of the {sep!r}-separated column {column!r}"
    OTHER_ITEMS = "# {column}: items that are no interest of the database: {items}"
    UNUSED_COLUMN = "# {column}: no matching field"
    UNUSED_COLUMN_EMPTY = "# {column}: empty in the sample, no matching field"
    UNUSED_YES_NO = "# {column}: yes/no values, but no interest or field of that name"
    UNFILLED_FIELDS = "# Fields of the database that no column fills: {names}"
    CONSTANT_HINT = "# (a constant is possible, e.g.  {example}: {{value: {value}}})"
    VALUE_LOOKS = "value looks"
    VALUES_LOOK = "values look"
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


_YES_NO_WORDS = frozenset(TRUTHY) | frozenset(FALSY)


def odd_yes_no_values(values: list[str]) -> Counter[str] | None:
    """None when the values are no yes/no column; else the values that are neither yes nor no (usually none).

    Nearly all values must be yes/no words (``YES_NO_SHARE``), with at most a few
    other distinct values ("misschien") and at least one word that is not a
    digit (a column of 0s and 1s alone is a number as often as a yes/no)."""
    if not values:
        return None
    odd = Counter(v for v in values if v.casefold() not in _YES_NO_WORDS)
    if sum(odd.values()) > (1 - YES_NO_SHARE) * len(values) or len(odd) > YES_NO_ODD_VALUES:
        return None
    if odd and all(v in ("0", "1") for v in values if v not in odd):
        return None
    return odd


def looks_yes_no(values: list[str]) -> bool:
    """(Nearly) all values are yes/no-like words (empty cells do not count; at least one value)."""
    return odd_yes_no_values(values) is not None


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


def case_only_mismatches(field_def: FieldDef, values: list[str]) -> list[str]:
    """Sample values that are a choice but for the case ('nl' for 'NL')."""
    folded = {c.casefold() for c in field_def.choices}
    return sorted({v for v in values if v not in field_def.choices and v.casefold() in folded})


def not_choices(field_def: FieldDef, values: list[str]) -> list[str]:
    folded = {c.casefold() for c in field_def.choices}
    return sorted({v for v in values if v.casefold() not in folded})


_COMMA_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]{3})*,[0-9]+")


def writes_decimal_comma(values: list[str]) -> bool:
    return any(_COMMA_DECIMAL.fullmatch(v) for v in values) and not any(
        re.fullmatch(r"[+-]?[0-9]*\.[0-9]+", v) and not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{3})+", v)
        for v in values)


# ------------------------------------------------------------- the draft

@dataclass
class Entry:
    """One field or interest of the draft: its settings in order, and an optional comment."""
    name: str
    settings: dict[str, object]
    comment: str = ""


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
        if looks_yes_no(values) and (hit := best_match(header, interest_names, set(), by_word=True)):
            ranked.append((hit[1] + 1, header, "interest:" + hit[0]))   # interests win for yes/no columns
        if hit := best_match(header, field_names, set()):
            ranked.append((hit[1], header, "field:" + hit[0]))
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
                    entry.comment = "\n".join(c for c in (Msg.MATCHED_FUZZY, entry.comment) if c)
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

    draft.key = next((e.name for e in draft.fields if _is_email(e.name, schema.field(e.name))), None)
    unfilled = [f for f in schema.fields if f.name.casefold() not in taken_fields]
    if unfilled:
        draft.field_notes.append(Msg.UNFILLED_FIELDS.format(names=", ".join(f.name for f in unfilled)))
        if example := constant_example(unfilled):
            draft.field_notes.append(Msg.CONSTANT_HINT.format(example=example[0], value=_scalar(example[1])))
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
            name = _unique(_concept_name(header), used)
            draft.fields.append(field_entry(name, header, values, None, region_hint(columns)))
    draft.key = next((e.name for e in draft.fields if concept(e.name) == "email"), None)


def region_hint(columns: dict[str, list[str]]) -> str | None:
    """The most common country of a country column ('NL', or 'Netherlands' -> NL), for phone numbers."""
    for header, values in columns.items():
        if concept(header) != "country" or not values:
            continue
        counts: Counter[str] = Counter()
        for value in values:
            folded = value.casefold()
            code = next((c for c, names in ISO_COUNTRY_NAMES.items() if folded == c.casefold() or folded in names),
                        None)
            if code:
                counts[code] += 1
        if counts:
            return counts.most_common(1)[0][0]
    return None


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


def _is_email(name: str, field_def: FieldDef | None) -> bool:
    return (field_def is not None and field_def.type == "email") or concept(name) == "email"


def field_entry(name: str, header: str, values: list[str], field_def: FieldDef | None,
                region_hint: str | None = None) -> Entry:
    """The settings for a field read from ``header``, chosen by its type and the sample values."""
    settings: dict[str, object] = {"column": header}
    comments: list[str] = []
    kind = field_def.type if field_def is not None else None
    if _is_email(name, field_def):
        settings.update({"transform": ["trim", "lower"], "validate": "email", "required": True})
        return Entry(name, settings)
    settings["transform"] = ["trim"]
    is_date_type = kind in ("date", "empty_date", "datetime", "empty_datetime")
    if is_date_type or (kind is None and _mostly_dates(values)):
        _date_settings(settings, comments, values, field=name, datetime_field=kind in ("datetime", "empty_datetime"),
                       date_field=kind in ("date", "empty_date"))
    elif kind in (None, "text", "phone", "big") and (concept(name) == "phone" or concept(header) == "phone"
                                                      or kind == "phone"):
        if not _phone_settings(settings, comments, values, region_hint):
            _zero_settings(settings, comments, values)
    elif kind in (None, "text", "big"):
        _zero_settings(settings, comments, values)
    if field_def is not None and kind == "select":
        if replaced := _country_names(field_def, values):
            settings["transform"] = ["trim", {"replace": replaced}]
            comments.append(Msg.COUNTRY_NAMES)
            values = [replaced.get(v, v) for v in values]
        if case_only := case_only_mismatches(field_def, values):
            settings["fix_case"] = True
            comments.append(Msg.FIX_CASE.format(examples=", ".join(case_only[:3])))
        if others := not_choices(field_def, values):
            comments.append(Msg.NOT_CHOICES.format(examples=", ".join(others[:3]), first=_scalar(others[0])))
    if kind == "float" and writes_decimal_comma(values):
        settings["decimal_comma"] = True
        comments.append(Msg.DECIMAL_COMMA)
    if field_def is not None and field_def.length and any(len(v) > field_def.length for v in values):
        comments.append(Msg.TOO_LONG.format(length=field_def.length))
    if kind == "select" and field_def is not None and set(field_def.choices) <= {"yes", "no"} and looks_yes_no(values):
        comments.append(Msg.YES_NO_FIELD)
    return Entry(name, settings, "\n".join(comments))


def _mostly_dates(values: list[str]) -> bool:
    """Without a schema: a column is a date column when nearly all its values are dates (typos aside)."""
    readable = sum(1 for v in values if date_format_candidates(v))
    return bool(values) and readable >= DATE_SHARE * len(values)


def _examples(values: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in list(dict.fromkeys(values))[:EXAMPLES])


def _date_settings(settings: dict[str, object], comments: list[str], values: list[str], *, field: str,
                   datetime_field: bool, date_field: bool) -> None:
    """date_format (and timezone) for a date column: the formats that cover the sample, and what they leave out."""
    proposal = propose_date_formats(values)
    iso = "%Y-%m-%d %H:%M:%S" if datetime_field else "%Y-%m-%d"
    needed = [f for f in proposal.formats if f not in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")]
    if needed:
        settings["date_format"] = [*needed, iso]
        forms = ", ".join(Msg.DATE_FORM_COUNT.format(form=human_date_format(f), count=proposal.counts[f])
                          for f in needed)
        comment = Msg.DATE_GUESSED.format(forms=forms)
        if proposal.order is not None:
            order = Msg.DAY if proposal.order == "day" else Msg.MONTH
            comment += "; " + Msg.DATE_SETTLED.format(order=order, value=proposal.settled_by)
        comments.append(comment)
        if proposal.zoned and not date_field:
            settings["timezone"] = DEFAULT_TIMEZONE
            comments.append(Msg.DATE_ZONED.format(zone=DEFAULT_TIMEZONE))
    if proposal.undecided:
        comments.append(Msg.DATE_AMBIGUOUS.format(fmt1=proposal.undecided[0], fmt2=proposal.undecided[-1]))
    if proposal.uncovered and (needed or proposal.formats or proposal.undecided):
        comments.append(Msg.DATE_UNCOVERED.format(count=len(proposal.uncovered), examples=_examples(proposal.uncovered)))
    elif proposal.uncovered and len(proposal.uncovered) == len(values):
        comments.append(Msg.DATE_UNREADABLE.format(count=len(values)))
    if date_field and any(_has_time_of_day(v) for v in values):
        comments.append(Msg.DATE_TIMES_IN_DATE_FIELD.format(field=field))


_TIME_OF_DAY = re.compile(r"[T ]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")


def _has_time_of_day(value: str) -> bool:
    found = _TIME_OF_DAY.search(value)
    return bool(found) and any(int(part or 0) for part in found.groups())


def _phone_settings(settings: dict[str, object], comments: list[str], values: list[str],
                    region_hint: str | None) -> bool:
    """A phone rule for a column of phone numbers (most of them valid); False when the values are none."""
    if not values:
        return False
    region, valid = phones.propose_region(values, region_hint)
    if valid < phones.PHONE_SHARE * len(values):
        return False
    settings.pop("transform", None)
    check = phones.PhoneCheck(region)
    example, invalid = "", []
    for value in values:
        try:
            sent = check(value)
        except ValueProblem:
            invalid.append(value)
            continue
        example = example or sent
    settings["phone"] = {"region": region, "format": "e164"} if region else {"format": "e164"}
    comments.append(Msg.PHONE.format(example=example, region=region) if region
                    else Msg.PHONE_INTERNATIONAL.format(example=example))
    if invalid:
        comments.append(Msg.PHONE_INVALID.format(count=len(invalid), examples=_examples(invalid)))
    return True


def _zero_settings(settings: dict[str, object], comments: list[str], values: list[str]) -> None:
    """{zfill: N} for a column of codes (mostly N digits with a leading 0) some of which lost their zeros."""
    digits = [v for v in values if v.isdigit() and v.isascii()]
    with_zero = Counter(len(v) for v in digits if v.startswith("0"))
    if not with_zero:
        return
    width, usual = with_zero.most_common(1)[0]
    lost = [v for v in digits if not v.startswith("0") and width - 3 <= len(v) < width]
    if not lost or usual < ZERO_SHARE * len(digits) or len(digits) < 0.9 * len(values):
        return
    settings["transform"] = ["trim", {"zfill": width}]
    like = next(v for v in digits if v.startswith("0") and len(v) == width)
    comments.append(Msg.LOST_ZEROS.format(count=len(lost), values=Msg.VALUE_LOOKS if len(lost) == 1
                                          else Msg.VALUES_LOOK, examples=_examples(lost), like=like))


def _country_names(field_def: FieldDef, values: list[str]) -> dict[str, str]:
    """{'Netherlands': 'NL', ...} for the sample's country names whose code is a choice of the select."""
    choices = set(field_def.choices)
    replaced: dict[str, str] = {}
    for value in dict.fromkeys(values):
        if value in choices:
            continue
        for code, names in ISO_COUNTRY_NAMES.items():
            if code in choices and value.casefold() in names:
                replaced[value] = code
    return replaced


def yes_no_interest(name: str, header: str, values: list[str]) -> Entry:
    """An interest switched on by the yes-like words and off by the no-like ones (case does not matter);
    an empty cell switches nothing, and odd values are listed in a comment."""
    comments = []
    if odd := odd_yes_no_values(values):
        comments.append(Msg.YES_NO_ODD.format(values=", ".join(
            Msg.ODD_VALUE.format(value=v, count=n, rows="row" if n == 1 else "rows") for v, n in odd.most_common())))
    return Entry(name, {"column": header, "truthy": list(TRUTHY), "falsy": list(FALSY)}, "\n".join(comments))


# ------------------------------------------------------------- YAML text

_PLAIN = re.compile(r"[^\W\d_][\w .()/'-]*", re.UNICODE)
_YAML_WORDS = {"true", "false", "yes", "no", "y", "n", "on", "off", "null", "none", "~"}


def _scalar(value: object) -> str:
    """A YAML scalar that reads back as exactly this text (or boolean)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text == text.strip() and text.casefold() not in _YAML_WORDS \
            and ": " not in text and " #" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)   # a JSON string is a YAML double-quoted scalar


def _setting(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_setting(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_setting(v)}" for k, v in value.items()) + "}"
    return _scalar(value)


def _entry_lines(entry: Entry) -> list[str]:
    # comments go above the entry, one line each, so that long ones stay readable
    lines = [f"  # {line}" for line in entry.comment.splitlines()]
    lines.append(f"  {_scalar(entry.name)}:")
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
        out += [Msg.KEY, f"key: {_scalar(draft.key)}"]
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
