"""The settings of collection imports and of ranked duplicates, and what is said when they are wrong.

A mapping with ``collection`` makes each row a subprofile under the profile
that ``profile_key`` finds (``missing_profile``, ``existing_profile``,
``profile_fields``, ``profile_interests``); ``duplicates: {keep: newest, by:
COLUMN}`` imports, of several rows with one key, the one whose column holds
the latest date or highest number. ``importer.mapping.spec`` checks a whole
``Mapping`` with them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, model_validator

from importer import transforms
from importer.mapping.fields import DateFormat, FieldSpec, Settings, Text, as_list, mapping_error
from importer.mapping.names import closest

if TYPE_CHECKING:
    from importer.mapping.spec import Mapping

COLLECTION_SETTINGS = ("collection", "missing_profile", "existing_profile", "profile_fields", "profile_interests",
                       "profile_key")


class Msg:
    """What the collection settings and ranked duplicates can say."""
    RANK_NEEDS_BY = ("keep: {keep} needs the column to compare: add 'by: COLUMN', for example "
                     "{{keep: {keep}, by: created_at}}")
    BY_WITHOUT_RANK = "'by' and 'date_format' only apply to keep: newest or oldest, not to keep: {keep}"
    NEEDS_PROFILE_KEY = ("collection: {collection}: each row belongs to a profile; say how to find it with "
                         "profile_key, for example 'profile_key: {{email: {{column: E-mail}}}}'")
    ONLY_WITH_COLLECTION = ("{names}: only apply when the rows go into a collection; add 'collection: NAME' "
                            "(or remove them)")
    NO_INTERESTS = ("interests: a collection has no interests; the interests of each row's profile go under "
                    "profile_interests")
    NO_FIELDS = "collection: {collection}: map at least one field of the collection under fields"
    PROFILE_KEY_NOT_MAPPED = ("{name!r} is not one of the profile fields{hint}; map it here ({name}: {{column: ...}}) "
                              "or under profile_fields (mapped: {mapped})")
    PROFILE_KEY_TWICE = "{name!r} is mapped here and under profile_fields; map it in one place"
    PROFILE_KEY_CONSTANT = "{name!r} is a constant, so every row would belong to the same profile"
    PROFILE_KEY_ON_INVALID = ("{name!r}: a key field must be valid, so on_invalid cannot be '{mode}'; "
                              "remove on_invalid from it")
    SAME_NAME_TWICE = "{section}: {a!r} and {b!r} are the same field (names are case-insensitive)"
    PROFILE_FIELDS_UNUSED = ("{names} would never be sent: with missing_profile: fail and existing_profile: keep "
                             "a row's profile is only looked up. Add missing_profile: create (to create the "
                             "profiles that are not there) or existing_profile: update, or remove them")
    NONE = "none"


class DuplicatesRule(Settings):
    """Which of several rows with one key is imported: ``first``, ``last``, or by a column's value
    (``newest``/``oldest``: the row whose ``by`` column holds the latest/earliest date or the
    highest/lowest number)."""
    keep: Literal["first", "last", "newest", "oldest"] = "first"
    by: Text | None = None
    date_format: Annotated[list[DateFormat], BeforeValidator(as_list)] = []

    @model_validator(mode="after")
    def _by_when_ranked(self) -> "DuplicatesRule":
        if self.keep in ("newest", "oldest"):
            if self.by is None or not self.by.strip():
                raise mapping_error(Msg.RANK_NEEDS_BY.format(keep=self.keep))
        elif self.by is not None or self.date_format:
            raise mapping_error(Msg.BY_WITHOUT_RANK.format(keep=self.keep))
        return self

    @property
    def ranked(self) -> bool:
        return self.keep in ("newest", "oldest")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):  # `mapping.duplicates == "last"`, as when it was a word
            return self.by is None and self.keep == other
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash((self.keep, self.by, tuple(self.date_format)))


def duplicates_shorthand(value: Any) -> Any:
    """``duplicates: last`` means ``duplicates: {keep: last}``."""
    if value is None:
        return {}
    if isinstance(value, (str, int, float, bool)):
        return {"keep": transforms.scalar_text(value)}
    return value


def profile_key_shorthand(value: Any) -> Any:
    """``profile_key: email`` (a field of ``profile_fields``) means ``{email: }``; a list names several."""
    if value is None:
        return {}
    if isinstance(value, (str, int, float, bool)):
        return {transforms.scalar_text(value): None}
    if isinstance(value, list):
        return {(transforms.scalar_text(v) if isinstance(v, (str, int, float, bool)) else v): None for v in value}
    return value


def checked_profile_key(key: dict[str, FieldSpec | None], profile_fields: dict[str, FieldSpec]) -> dict:
    mapped = {n.casefold(): n for n in profile_fields}
    for name, spec in key.items():
        if spec is None:
            if name.casefold() not in mapped:
                raise mapping_error(Msg.PROFILE_KEY_NOT_MAPPED.format(
                    name=name, hint=closest(name, list(profile_fields)), mapped=", ".join(profile_fields) or Msg.NONE))
            spec = profile_fields[mapped[name.casefold()]]
        elif name.casefold() in mapped:
            raise mapping_error(Msg.PROFILE_KEY_TWICE.format(name=name))
        if spec.value is not None:
            raise mapping_error(Msg.PROFILE_KEY_CONSTANT.format(name=name))
        if spec.on_invalid != "reject":
            raise mapping_error(Msg.PROFILE_KEY_ON_INVALID.format(name=name, mode=spec.on_invalid))
    return key


def check_collection_settings(mapping: Mapping) -> None:
    """The settings of a collection import fit together (or are absent without a collection)."""
    if mapping.collection is None:
        given = [n for n in COLLECTION_SETTINGS if n in mapping.model_fields_set and n != "collection"]
        if given:
            raise mapping_error(Msg.ONLY_WITH_COLLECTION.format(names=", ".join(given)))
        return
    if not mapping.profile_key:
        raise mapping_error(Msg.NEEDS_PROFILE_KEY.format(collection=mapping.collection))
    if mapping.interests:
        raise mapping_error(Msg.NO_INTERESTS)
    if not mapping.fields:
        raise mapping_error(Msg.NO_FIELDS.format(collection=mapping.collection))
    unused = [name for name in ("profile_fields", "profile_interests") if getattr(mapping, name)]
    if unused and mapping.missing_profile == "fail" and mapping.existing_profile == "keep":
        raise mapping_error(Msg.PROFILE_FIELDS_UNUSED.format(names=" and ".join(unused)))
    for section, names in (("profile_fields", list(mapping.profile_field_specs())),
                           ("profile_interests", list(mapping.profile_interests))):
        seen: dict[str, str] = {}
        for name in names:
            if name.casefold() in seen:
                raise mapping_error(Msg.SAME_NAME_TWICE.format(section=section, a=seen[name.casefold()],
                                                                         b=name))
            seen[name.casefold()] = name
