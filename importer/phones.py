"""Phone numbers: read, check and write them in one form, with Google's ``phonenumbers``.

A mapping asks for it per field::

    phone: {column: Phone, phone: {region: NL, format: e164}}

``region`` is the country of numbers written without a country code
("06 12345678" in NL); ``format`` is how the number is sent: ``e164``
(+31612345678, the default), ``international`` (+31 6 12345678) or
``national`` (06 12345678). A cell that is not a valid number of that
region (or of the country its +code names) raises ``ValueProblem`` with the
code ``invalid_phone`` and a sentence saying why ("it is too short").

``propose_region`` is what ``copernica-import init`` uses to choose the
region for a column: the one in which most of the sample's numbers are valid.
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, ValidationResult

from importer.dates import ValueProblem, value_problem

FORMATS = {"e164": PhoneNumberFormat.E164, "international": PhoneNumberFormat.INTERNATIONAL,
           "national": PhoneNumberFormat.NATIONAL}
DEFAULT_FORMAT = "e164"
# the regions init tries for numbers written without a country code, most likely first
LIKELY_REGIONS = ("NL", "BE", "DE", "FR", "GB", "AT", "CH", "LU", "ES", "IT", "DK", "SE", "NO", "PL", "US")
PHONE_SHARE = 0.8            # share of a column's sample that must be valid numbers for init to propose the rule


class Msg:
    """What a phone check says ('{value}' is the cell as ``dates.shown`` writes it)."""
    INVALID = "'{value}' is not a valid phone number{where}: {why}"
    IN_REGION = " (numbers without a country code are read as {region})"
    NO_REGION = " (the mapping names no region, so a number needs its country code, such as +31)"
    # why (from phonenumbers' verdict)
    NOT_A_NUMBER = "it is not a phone number"
    NO_COUNTRY_CODE = "it has no country code (+31, +49, ...)"
    UNKNOWN_COUNTRY_CODE = "its country code is unknown"
    TOO_SHORT = "it is too short"
    TOO_LONG = "it is too long"
    WRONG_LENGTH = "it has the wrong number of digits for {country}"
    NO_SUCH_RANGE = "no such number exists in {country} (the digits are not in use there)"
    # a mapping's phone rule
    UNKNOWN_REGION = "unknown region {region!r}: use a two-letter country code such as NL, BE, DE, FR or GB{hint}"


def known_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


class PhoneCheck:
    """Reads a cell as a phone number and writes it in ``fmt``; ``ValueProblem`` when it is none."""

    __slots__ = ("region", "fmt", "_where")

    def __init__(self, region: str | None, fmt: str = DEFAULT_FORMAT) -> None:
        self.region = region.upper() if region else None
        self.fmt = FORMATS[fmt]
        self._where = Msg.IN_REGION.format(region=self.region) if self.region else Msg.NO_REGION

    def __call__(self, value: str) -> str:
        text = value.strip()
        try:
            number = phonenumbers.parse(text, self.region)
        except NumberParseException as exc:
            raise self._problem(value, _parse_failure(exc, text)) from None
        if not phonenumbers.is_valid_number(number):
            raise self._problem(value, _invalid_why(number))
        return phonenumbers.format_number(number, self.fmt)

    def _problem(self, value: str, why: str) -> ValueProblem:
        return value_problem("invalid_phone", Msg.INVALID, value, where=self._where, why=why)


def _parse_failure(exc: NumberParseException, text: str) -> str:
    kind = exc.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        return Msg.UNKNOWN_COUNTRY_CODE if text.startswith("+") else Msg.NO_COUNTRY_CODE
    if kind in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
        return Msg.TOO_SHORT
    if kind == NumberParseException.TOO_LONG:
        return Msg.TOO_LONG
    return Msg.NOT_A_NUMBER


def _invalid_why(number: phonenumbers.PhoneNumber) -> str:
    country = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code)
    # the lengths of ordinary numbers (not of short codes or pagers) say best what is wrong
    verdict = phonenumbers.is_possible_number_for_type_with_reason(number, PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if verdict == ValidationResult.INVALID_COUNTRY_CODE or country == "ZZ":
        return Msg.UNKNOWN_COUNTRY_CODE
    if verdict in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return Msg.TOO_SHORT
    if verdict == ValidationResult.TOO_LONG:
        return Msg.TOO_LONG
    if verdict == ValidationResult.INVALID_LENGTH:
        return Msg.WRONG_LENGTH.format(country=country)
    return Msg.NO_SUCH_RANGE.format(country=country)


@lru_cache(maxsize=4096)
def _valid_in(value: str, region: str | None) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, region))
    except NumberParseException:
        return False


def _has_country_code(value: str) -> bool:
    return value.strip().startswith("+")


def propose_region(values: list[str], hint: str | None = None) -> tuple[str | None, int]:
    """(the region to read ``values`` written without a country code in, how many values are valid then).

    Numbers with a country code count whatever the region. The regions tried,
    considered: ``hint`` (the most common country of the file, when it has a
    country column) or else ``LIKELY_REGIONS``, and the countries of the
    numbers that have a code. The hint wins when ``PHONE_SHARE`` of the other
    numbers are valid there; otherwise the region in which most are valid,
    the first of equals (with a hint, ``LIKELY_REGIONS`` are not tried: a
    permissive numbering plan must not win over the file's own country by a
    few random hits).
    (None, n) when every number has a country code.
    """
    if not values:
        return None, 0
    with_code = [v.strip() for v in values if _has_country_code(v)]
    international = sum(1 for v in with_code if _valid_in(v, None))
    national = [v.strip() for v in values if not _has_country_code(v)]
    if not national:
        return None, international
    coded = Counter(phonenumbers.region_code_for_number(phonenumbers.parse(v, None))
                    for v in with_code if _valid_in(v, None))
    # with the file's own country known, only it (and the countries of its +numbers) may read the others:
    # 06-numbers that are no Dutch number must not become German ones
    hinted = [hint.upper()] if hint and known_region(hint) else []
    tried = hinted + ([] if hinted else list(LIKELY_REGIONS)) + [r for r, _ in coded.most_common()]
    regions = list(dict.fromkeys(tried))
    scores = {region: sum(_valid_in(v, region) for v in national) for region in regions}
    if hinted and scores[hinted[0]] >= PHONE_SHARE * len(national):
        return hinted[0], international + scores[hinted[0]]
    best = max(regions, key=lambda r: scores[r])     # max keeps the first of equals
    return (best if scores[best] else None), international + scores[best]
