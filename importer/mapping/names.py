"""Names: which column, field or interest a name most likely means.

Two comparisons, for two jobs:

- ``nearest`` (and ``closest``, ``closest_in_list``): the "did you mean"
  of an error message, a close spelling ignoring case ('emial' -> 'email',
  'phone number' -> 'Phone');
- ``best_match``: the forgiving comparison ``copernica-import init`` uses to
  map a file's columns to a database's fields. Case, accents, spaces and
  punctuation do not count, "no"/"nr" mean "number", and common synonyms in
  English, Dutch, German and French are one concept (``SYNONYMS`` for
  fields, ``INTEREST_SYNONYMS`` for interests and list items: Newsletter =
  Nieuwsbrief = Infolettre, Voetbal = Fußball = football); failing that, a
  close spelling.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable


class Msg:
    """The hints a name gets in an error message."""
    DID_YOU_MEAN = "; did you mean {name!r}?"
    DID_YOU_MEAN_IN_LIST = " (did you mean {name!r}?)"


# Column-name concepts: the first spelling is the usual Copernica field name.
# Written normalised (see ``normalised_name``): lower case, no spaces or punctuation.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "mail", "mailaddress", "emailadres", "mailadres", "emailadresse",
              "courriel", "adressemail", "adresseemail", "correo"),
    "firstname": ("firstname", "givenname", "forename", "voornaam", "vorname", "prenom", "roepnaam"),
    "lastname": ("lastname", "surname", "familyname", "achternaam", "nachname", "familienname", "nom",
                 "nomdefamille"),
    "middlename": ("middlename", "tussenvoegsel", "infix", "prefix"),
    "phone": ("phone", "phonenumber", "telephone", "telephonenumber", "tel", "mobile", "mobilephone",
              "mobilenumber", "cell", "cellphone", "telefoon", "telefoonnummer", "mobiel", "mobielnummer",
              "gsm", "telefon", "telefonnummer", "handy"),
    "birthdate": ("birthdate", "dateofbirth", "birthday", "dob", "geboortedatum", "geburtsdatum",
                  "datedenaissance", "verjaardag"),
    "zipcode": ("zipcode", "zip", "postcode", "postalcode", "postleitzahl", "plz", "codepostal"),
    "city": ("city", "town", "plaats", "woonplaats", "stad", "ort", "stadt", "ville"),
    "country": ("country", "land", "pays", "countrycode"),
    "address": ("address", "street", "streetaddress", "adres", "straat", "adresse", "strasse"),
    "company": ("company", "companyname", "organisation", "organization", "bedrijf", "bedrijfsnaam",
                "firma", "societe"),
    "gender": ("gender", "sex", "geslacht", "geschlecht", "sexe"),
    "age": ("age", "leeftijd", "alter"),
    "optin": ("optin", "consent", "permission", "toestemming"),
    "customer_number": ("customernumber", "customerid", "clientnumber", "clientid", "klantnummer", "klantnumber",
                        "klantid", "relatienummer", "relatienumber", "kundennummer", "kundennumber", "kundenid",
                        "numeroclient", "numerodeclient", "idclient"),
}
# Interest concepts (yes/no columns, list items): the same forgiving comparison as for fields.
INTEREST_SYNONYMS: dict[str, tuple[str, ...]] = {
    "newsletter": ("newsletter", "newsletters", "nieuwsbrief", "nieuwsbrieven", "infolettre", "lettredinformation",
                   "lettredinfo", "lettredinformations", "emailnewsletter", "enewsletter"),
    "football": ("football", "soccer", "voetbal", "fussball", "fuball", "foot"),
    "tennis": ("tennis",),
    "cycling": ("cycling", "wielrennen", "fietsen", "radfahren", "radsport", "cyclisme", "velo"),
    "running": ("running", "hardlopen", "lopen", "laufen", "joggen", "jogging", "course", "courseapied"),
    "swimming": ("swimming", "zwemmen", "schwimmen", "natation"),
    "hockey": ("hockey", "fieldhockey", "veldhockey"),
    "golf": ("golf",),
    "offers": ("offers", "promotions", "deals", "aanbiedingen", "acties", "angebote", "offres", "promos"),
    "events": ("events", "evenementen", "veranstaltungen", "evenements", "agenda"),
    "music": ("music", "muziek", "musik", "musique"),
    "travel": ("travel", "reizen", "reisen", "voyages", "voyage"),
}
# words inside column names that mean the same thing ("Customer no" = "customer number")
WORD_SYNONYMS = {"no": "number", "nr": "number", "num": "number", "nbr": "number", "nummer": "number",
                 "e": "e", "id": "id"}
FUZZY_CUTOFF = 0.85


# ------------------------------------------------------------- did you mean

def nearest(name: str, candidates: list[str]) -> str | None:
    """The candidate ``name`` most likely means (case-insensitive), or None."""
    by_folded = {c.casefold(): c for c in candidates}
    folded = name.casefold().strip()
    close = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=0.6)
    if close:
        return by_folded[close[0]]
    # 'phone number' for 'Phone': one name inside the other is a likely match too
    inside = [c for f, c in by_folded.items() if len(f) >= 3 and len(folded) >= 3 and (f in folded or folded in f)]
    return inside[0] if len(inside) == 1 else None


def closest(name: str, candidates: list[str]) -> str:
    """'; did you mean 'x'?' for the nearest candidate, or ''."""
    meant = nearest(name, candidates)
    return Msg.DID_YOU_MEAN.format(name=meant) if meant is not None else ""


def closest_in_list(name: str, candidates: list[str]) -> str:
    """" (did you mean 'x'?)" for the nearest candidate, or '', for one item of a list."""
    meant = nearest(name, candidates)
    return Msg.DID_YOU_MEAN_IN_LIST.format(name=meant) if meant is not None else ""


# ------------------------------------------------------------- forgiving match

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def name_words(name: str) -> list[str]:
    """'E-mail address' -> ['e', 'mail', 'address']; 'firstName' -> ['first', 'name']; accents removed."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return [w for w in re.split(r"[^a-z0-9]+", _CAMEL.sub(" ", plain).casefold()) if w]


def normalised_name(name: str) -> str:
    """What is compared: 'E-mail address' -> 'emailaddress', 'Customer no.' -> 'customernumber'."""
    return "".join(WORD_SYNONYMS.get(w, w) for w in name_words(name))


def snake_case(name: str) -> str:
    """'Date of birth' -> 'date_of_birth'; a name made of no letters -> 'column'."""
    return "_".join(name_words(name)) or "column"


_CONCEPT_OF = {alias: concept for concepts in (INTEREST_SYNONYMS, SYNONYMS)
               for concept, aliases in concepts.items() for alias in aliases}


def concept(name: str) -> str:
    """The synonym group a name belongs to ('Voornaam' -> 'firstname'), else its normalised form."""
    normal = normalised_name(name)
    return _CONCEPT_OF.get(normal, normal)


def name_score(header: str, candidate: str) -> float:
    """1 for the same name, 0.95 for synonyms, difflib's ratio above the cutoff, else 0."""
    a, b = normalised_name(header), normalised_name(candidate)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if concept(header) == concept(candidate):
        return 0.95
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    return ratio if ratio >= FUZZY_CUTOFF else 0.0


def word_score(header: str, candidate: str) -> float:
    """0.9 when the candidate is one of the header's words ('Baseball fan' has 'baseball'), or means
    the same as one ('Nieuwsbrief ontvangen' has newsletter), else 0."""
    words = {WORD_SYNONYMS.get(w, w) for w in name_words(header)}
    if normalised_name(candidate) in words:
        return 0.9
    meant = concept(candidate)
    return 0.85 if meant in INTEREST_SYNONYMS and any(_CONCEPT_OF.get(w) == meant for w in words) else 0.0


def same_item(item: str, name: str) -> bool:
    """A list item and an interest name that mean the same ('Voetbal' and 'football'; case does not count)."""
    return item.strip().casefold() == name.strip().casefold() or (
        concept(item) in INTEREST_SYNONYMS and concept(item) == concept(name))


def best_match(header: str, names: Iterable[str], taken: set[str], *,
               by_word: bool = False) -> tuple[str, float] | None:
    """The candidate name that fits ``header`` best and is not taken yet.

    ``by_word`` also accepts a candidate that is one word of the header: right
    for yes/no columns and interests ('Wants newsletter'), too loose for fields.
    """
    def score(name: str) -> float:
        return max(name_score(header, name), word_score(header, name) if by_word else 0.0)
    scored = [(score(n), n) for n in names if n.casefold() not in taken]
    scored = [(s, n) for s, n in scored if s > 0]
    if not scored:
        return None
    score, name = max(scored, key=lambda sn: sn[0])
    return name, score
