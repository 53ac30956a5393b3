"""The YAML column mapping: load and validate it, then turn rows into profiles.

Its parts, each with one job:

- ``load``: reading the file (YAML where only true/false are booleans, a key
  given twice refused, the line of every place for error messages);
  ``load_mapping(path)`` reads and validates.
- ``spec``: the validated settings (``Mapping``) and the sentences that say
  what is wrong with them, with their line in the file; ``fields``: the
  settings of one field or interest (``FieldSpec``, ``InterestSpec``);
  ``collection``: those of collection imports and ranked duplicates.
- ``convert``: ``compile_mapping(mapping, headers, schema)`` fits a mapping to
  one file and one database and returns a ``RowConverter``, which turns each
  ``Row`` into a ``Profile`` or a ``RowError``; ``fit``: what is checked
  once against the file and the database; ``notes``: what only the whole
  file shows (empty yes/no cells, lost leading zeros).
- ``names``: which column, field or interest a name most likely means (the
  "did you mean" of the messages, and the forgiving match ``init`` uses).

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
"""
from importer.mapping.convert import KEY_SEPARATOR, RowConverter, compile_mapping
from importer.mapping.fields import DEFAULT_FALSY, DEFAULT_TRUTHY, FieldSpec, InterestSpec
from importer.mapping.load import load_mapping
from importer.mapping.spec import Mapping

__all__ = [
    "DEFAULT_FALSY", "DEFAULT_TRUTHY", "KEY_SEPARATOR", "FieldSpec", "InterestSpec", "Mapping", "RowConverter",
    "compile_mapping", "load_mapping",
]
