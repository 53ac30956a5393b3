"""What a column's sample values propose for the field or interest ``init`` maps it to.

``field_entry`` chooses a field's settings by its type and the values: the
``date_format`` list that covers a date column
(``importer.date_proposals.propose_date_formats``; cells that no format reads are
listed), a ``timezone`` for timestamps with a zone, a ``phone`` rule with the
region most numbers are valid in (``importer.phones``), ``{zfill: N}`` for
codes that lost their leading zeros in a spreadsheet, ``{replace:
{Netherlands: NL}}`` for country names in a select of country codes,
``fix_case`` and ``decimal_comma``; ``yes_no_interest`` an interest read from
yes/no words. Each choice is explained in the entry's comment
(``importer.draft`` writes them above it).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

from importer import phones
from importer.date_proposals import propose_date_formats
from importer.dates import DEFAULT_TIMEZONE, ValueProblem, date_format_candidates, human_date_format
from importer.mapping.names import concept
from importer.schema import FieldDef

TRUTHY = ("yes", "y", "ja", "j", "x", "1", "true", "oui", "si", "waar", "wahr", "vrai")
FALSY = ("no", "n", "nee", "0", "false", "non", "nein", "onwaar", "faux")
DATE_SHARE = 0.9             # share of a column's values that must be dates (no schema)
YES_NO_SHARE = 0.9           # share of a column's values that must be yes/no words
YES_NO_ODD_VALUES = 3        # distinct other values a yes/no column may have
NAMED_YES_NO_SHARE = 0.5     # the same for a column named like an interest ('Nieuwsbrief' for nieuwsbrief)
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


class Msg:
    """The comments a proposal writes above its entry."""
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
    VALUE_LOOKS = "value looks"
    VALUES_LOOK = "values look"


@dataclass
class Entry:
    """One field or interest of the draft: its settings in order, and an optional comment."""
    name: str
    settings: dict[str, object]
    comment: str = ""


# ------------------------------------------------------------- values

_YES_NO_WORDS = frozenset(TRUTHY) | frozenset(FALSY)


def odd_yes_no_values(values: list[str], share: float = YES_NO_SHARE) -> Counter[str] | None:
    """None when the values are no yes/no column; else the values that are neither yes nor no (usually none).

    Nearly all values must be yes/no words (``YES_NO_SHARE``), with at most a few
    other distinct values ("misschien") and at least one word that is not a
    digit (a column of 0s and 1s alone is a number as often as a yes/no)."""
    if not values:
        return None
    odd = Counter(v for v in values if v.casefold() not in _YES_NO_WORDS)
    if sum(odd.values()) > (1 - share) * len(values) or len(odd) > YES_NO_ODD_VALUES:
        return None
    if odd and all(v in ("0", "1") for v in values if v not in odd):
        return None
    return odd


def looks_yes_no(values: list[str], share: float = YES_NO_SHARE) -> bool:
    """(Nearly) all values are yes/no-like words (empty cells do not count; at least one value)."""
    return odd_yes_no_values(values, share) is not None


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


# ------------------------------------------------------------- a field's settings

def is_email(name: str, field_def: FieldDef | None) -> bool:
    return (field_def is not None and field_def.type == "email") or concept(name) == "email"


def field_entry(name: str, header: str, values: list[str], field_def: FieldDef | None,
                region_hint: str | None = None) -> Entry:
    """The settings for a field read from ``header``, chosen by its type and the sample values."""
    settings: dict[str, object] = {"column": header}
    comments: list[str] = []
    kind = field_def.type if field_def is not None else None
    if is_email(name, field_def):
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
            comments.append(Msg.NOT_CHOICES.format(examples=", ".join(others[:3]), first=yaml_scalar(others[0])))
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
    if odd := odd_yes_no_values(values, NAMED_YES_NO_SHARE):
        comments.append(Msg.YES_NO_ODD.format(values=", ".join(
            Msg.ODD_VALUE.format(value=v, count=n, rows="row" if n == 1 else "rows") for v, n in odd.most_common())))
    return Entry(name, {"column": header, "truthy": list(TRUTHY), "falsy": list(FALSY)}, "\n".join(comments))


# ------------------------------------------------------------- YAML scalars

_PLAIN = re.compile(r"[^\W\d_][\w .()/'-]*", re.UNICODE)
_YAML_WORDS = {"true", "false", "yes", "no", "y", "n", "on", "off", "null", "none", "~"}


def yaml_scalar(value: object) -> str:
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
