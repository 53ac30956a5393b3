"""Generate sample_data/contacts.csv and sample_data/contacts.xlsx (deterministic).

    python sample_data/make_samples.py

The same 200 rows in both files, with the mess of a real contact list:
untrimmed mixed-case emails, a few invalid ones, people listed twice, dd-mm-yyyy
dates (real date cells in the XLSX), yes/no/x/Y/ja newsletter flags, a
";"-separated sports column, phone numbers with a leading 0 or +31, non-ASCII
names, a quoted comma and a line break inside a cell.

What an import of them with mappings/contacts.yaml should give (the tests and
the README rely on it): 189 created, 5 skipped as duplicates (rows listed in
DUPLICATE_OF below), 6 invalid (INVALID below). Three rows have the country
"nl" in lower case: valid only because the mapping sets fix_case on country.
Running this again produces byte-identical files.
"""
from __future__ import annotations

import csv
import io
import random
import re
import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
SEED = 20260501
PEOPLE = 189                      # distinct, valid people
HEADERS = ["Customer no", "E-mail address", "First name", "Last name", "Phone", "Date of birth",
           "City", "Country", "Newsletter", "Sports", "Opt-in", "Score", "Notes"]

FIRST_NAMES = ["Jan", "Piet", "Anna", "Sophie", "Lucas", "Emma", "Daan", "Julia", "Sem", "Lotte",
               "Thomas", "Eva", "Lars", "Ingrid", "Mehmet", "Ayşe", "François", "Chloé", "Jürgen",
               "Zoë", "Siobhan", "Liam", "Noor", "Björn", "Céline", "Hannah", "Pieter", "Fleur"]
LAST_NAMES = ["Jansen", "de Vries", "van der Berg", "Bakker", "Visser", "Smit", "Meijer", "Müller",
              "Jørgensen", "Ødegård", "Çelik", "O'Brien", "Dubois", "Schmidt", "Peeters", "Janssens",
              "Murphy", "Yılmaz", "van Dijk", "de Jong", "Lefèvre", "Nießen", "Smith", "El Amrani"]
CITIES = {"NL": ["Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Groningen", "Eindhoven"],
          "BE": ["Antwerpen", "Gent", "Brussel", "Leuven"],
          "DE": ["Berlin", "Köln", "München", "Düsseldorf"],
          "FR": ["Paris", "Lyon", "Lille"],
          "GB": ["London", "Manchester", "Bristol"]}
COUNTRY_WEIGHTS = {"NL": 10, "BE": 4, "DE": 3, "FR": 2, "GB": 2}
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "example.nl"]
NEWSLETTER = ["yes", "no", "x", "Y", "", "ja", "yes", "no", ""]
SPORTS = ["Football;Tennis", "cycling", "", "", "Running", "Tennis", "Football", "Cycling;Running",
          "football; tennis", "Tennis;Cycling;Football"]
NOTES = ["", "", "", "", "Met at the spring fair", "VIP", "Prefers phone contact", "Called back twice"]

# Row numbers are the spreadsheet's (header = row 1); person index i is on row i + 2
# unless an extra row was inserted before it. The extras are placed at fixed rows:
INVALID = {  # row -> (what is wrong, how the row is made)
    12: "email with two @",
    37: "email without @",
    58: "score 7,5 is not a whole number",
    83: "date of birth 30-02-1985 does not exist",
    121: "country Holland is not a choice",
    160: "email empty, but required",
}
DUPLICATE_OF = {45: 5, 77: 30, 99: 61, 150: 140, 188: 9}   # later row -> row it repeats
LOWERCASE_COUNTRY_ROWS = (20, 66, 130)
QUOTED_COMMA_CITY_ROW = 15
NOTE_WITH_LINE_BREAK_ROW = 25
NOTE_WITH_COMMA_ROW = 31
NOTE_WITH_QUOTES_ROW = 33
TOTAL_ROWS = PEOPLE + len(INVALID) + len(DUPLICATE_OF)


def ascii_name(text: str) -> str:
    """'Jørgensen' -> 'jorgensen', 'van der Berg' -> 'vanderberg' (for made-up email addresses)."""
    text = text.replace("ø", "o").replace("Ø", "O").replace("ß", "ss").replace("ı", "i")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def messy_email(rng: random.Random, first: str, last: str, number: int) -> str:
    local = f"{ascii_name(first)}.{ascii_name(last)}{number}"
    address = f"{local}@{rng.choice(DOMAINS)}"
    style = rng.random()
    if style < 0.25:
        address = address.title()          # Jan.Jansen12@Example.Com
    elif style < 0.35:
        address = address.upper()
    if rng.random() < 0.15:
        address = "  " + address
    if rng.random() < 0.15:
        address = address + " "
    return address


def phone(rng: random.Random, country: str) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(8))
    if country == "NL":
        return rng.choice([f"06{digits}", f"+31 6 {digits}", f"020-{digits[:7]}", f"+316{digits}"])
    codes = {"BE": "+32", "DE": "+49", "FR": "+33", "GB": "+44"}
    return rng.choice([f"{codes[country]} {digits}", f"0{digits}"])


def make_person(rng: random.Random, number: int) -> dict[str, object]:
    country = rng.choices(list(COUNTRY_WEIGHTS), weights=list(COUNTRY_WEIGHTS.values()))[0]
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    birth: date | None = date(rng.randint(1945, 2005), rng.randint(1, 12), rng.randint(1, 28))
    if rng.random() < 0.06:
        birth = None
    return {
        "Customer no": number,
        "E-mail address": messy_email(rng, first, last, number),
        "First name": first,
        "Last name": last,
        "Phone": phone(rng, country),
        "Date of birth": birth,
        "City": rng.choice(CITIES[country]),
        "Country": country,
        "Newsletter": rng.choice(NEWSLETTER),
        "Sports": rng.choice(SPORTS),
        "Opt-in": rng.choice(["yes", "no"]),
        "Score": rng.randint(0, 100),
        "Notes": rng.choice(NOTES),
    }


def break_row(person: dict[str, object], row: int) -> dict[str, object]:
    """The invalid variant of a person for one of the INVALID rows."""
    broken = dict(person)
    what = INVALID[row]
    if "two @" in what:
        broken["E-mail address"] = "jan@@example"
    elif "without @" in what:
        broken["E-mail address"] = "piet.example.com"
    elif "7,5" in what:
        broken["Score"] = 7.5
    elif "30-02-1985" in what:
        broken["Date of birth"] = "30-02-1985"       # text: no spreadsheet can hold this as a date
    elif "Holland" in what:
        broken["Country"] = "Holland"
    elif "email empty" in what:
        broken["E-mail address"] = ""
    return broken


def duplicate_of(original: dict[str, object], rng: random.Random) -> dict[str, object]:
    """The same person again: same address in another case/spacing, a newer phone number."""
    again = dict(original)
    address = str(original["E-mail address"]).strip()
    variants = [v for v in (address.upper(), " " + address.lower() + "  ", address.title(), address.lower() + " ")
                if v != original["E-mail address"]]
    again["E-mail address"] = rng.choice(variants)
    again["Phone"] = phone(rng, str(original["Country"]))
    again["Notes"] = "Signed up again at the counter"
    return again


def build_rows() -> list[dict[str, object]]:
    rng = random.Random(SEED)
    people = iter(make_person(rng, number) for number in range(1, PEOPLE + 1 + len(INVALID)))
    by_row: dict[int, dict[str, object]] = {}
    for row in range(2, TOTAL_ROWS + 2):
        if row in DUPLICATE_OF:
            by_row[row] = duplicate_of(by_row[DUPLICATE_OF[row]], rng)
        elif row in INVALID:
            by_row[row] = break_row(next(people), row)
        else:
            by_row[row] = next(people)
    for row in LOWERCASE_COUNTRY_ROWS:
        by_row[row]["Country"] = str(by_row[row]["Country"]).lower()
    by_row[QUOTED_COMMA_CITY_ROW].update({"City": "Amsterdam, Noord-Holland", "Country": "NL"})
    by_row[NOTE_WITH_LINE_BREAK_ROW]["Notes"] = "Moved in March.\nNew address follows"
    by_row[NOTE_WITH_COMMA_ROW]["Notes"] = "Prefers email, not phone"
    by_row[NOTE_WITH_QUOTES_ROW]["Notes"] = 'Said "call me after 5", twice'
    return [by_row[row] for row in range(2, TOTAL_ROWS + 2)]


def csv_cell(header: str, value: object) -> str:
    if value is None:
        return ""
    if header == "Customer no":
        return f"{value:06d}"                       # 000123: the zeros matter
    if header == "Date of birth" and isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    if header == "Score" and isinstance(value, float):
        return str(value).replace(".", ",")         # 7,5 as typed by a Dutch user
    return str(value)


def write_csv(rows: list[dict[str, object]], path: Path) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)                      # Excel's dialect: CRLF, quotes as needed
    writer.writerow(HEADERS)
    for person in rows:
        writer.writerow([csv_cell(h, person[h]) for h in HEADERS])
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def write_xlsx(rows: list[dict[str, object]], path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Contacts"
    sheet.append(HEADERS)
    for person in rows:
        sheet.append([person[h] if person[h] is not None else None for h in HEADERS])
        excel_row = sheet.max_row
        for column, header in enumerate(HEADERS, start=1):
            cell = sheet.cell(row=excel_row, column=column)
            if header == "Date of birth" and isinstance(cell.value, (date, datetime)):
                cell.number_format = "DD-MM-YYYY"
            elif header in ("Phone", "E-mail address") or isinstance(cell.value, str):
                cell.number_format = "@"          # text cells: +31 and leading zeros stay
    fixed = datetime(2026, 5, 1, 12, 0, 0)
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    workbook.properties.creator = "copernica-import sample_data/make_samples.py"
    raw = io.BytesIO()
    workbook.save(raw)
    path.write_bytes(_zip_with_fixed_times(raw.getvalue()))


def _zip_with_fixed_times(data: bytes) -> bytes:
    """openpyxl stamps every zip entry with the current time; fix them so reruns give the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=(2026, 5, 1, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":  # openpyxl writes "modified: now" on save
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-05-01T12:00:00Z", content)
            target.writestr(info, content)
    return out.getvalue()


def main() -> None:
    rows = build_rows()
    write_csv(rows, HERE / "contacts.csv")
    write_xlsx(rows, HERE / "contacts.xlsx")
    print(f"wrote {len(rows)} rows to {HERE / 'contacts.csv'} and {HERE / 'contacts.xlsx'}")


if __name__ == "__main__":
    main()
