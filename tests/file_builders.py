"""Builders for every kind of input file the tests make, in one place.

Each builder writes one file into a folder and returns its path. The tests of
the reader use them, and ``tests/test_file_tracebacks.py`` builds every one
(``BUILDERS``) and feeds it to ``init``, ``check`` and ``run --dry-run`` as real
subprocesses: no file may produce a traceback.
"""
from __future__ import annotations

import gzip
import re
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl

from importer.readers import limits

# -- names in other languages, and the legacy encodings their files come in ----------

LANGUAGES: dict[str, tuple[list[str], list[str], list[str]]] = {
    # language: (first names, last names, legacy encodings)
    "German": (["Jürgen", "Käthe", "Björn", "Uwe", "Grete"], ["Müller", "Weiß", "Schäfer", "Köhler", "Krüger"],
               ["cp1252", "iso8859-1", "iso8859-15"]),
    "French": (["François", "Hélène", "Chloé", "Anaïs", "Noël"], ["Lefèvre", "Dubois", "Mercier", "Gaëlle", "Cœur"],
               ["cp1252", "iso8859-15"]),
    "Spanish": (["José", "Begoña", "Íñigo", "Ángela", "Raúl"], ["Muñoz", "Ibáñez", "Peña", "Martín", "Suárez"],
                ["cp1252", "iso8859-1"]),
    "Polish": (["Łukasz", "Żaneta", "Józef", "Małgorzata", "Grzegorz"],
               ["Wiśniewski", "Kołodziej", "Wójcik", "Dąbrowska", "Łęcki"], ["cp1250", "iso8859-2"]),
    "Czech": (["Zdeněk", "Jiří", "Kateřina", "Tomáš", "Lucie"], ["Dvořák", "Novotný", "Svobodová", "Černý",
                                                                 "Růžičková"], ["cp1250", "iso8859-2"]),
    "Hungarian": (["Gergő", "Zoltán", "Erzsébet", "Ildikó", "Bálint"], ["Szűcs", "Kovács", "Tóth", "Balogh", "Győri"],
                  ["cp1250", "iso8859-2"]),
    "Russian": (["Дмитрий", "Светлана", "Алексей", "Ольга", "Сергей"], ["Иванов", "Смирнова", "Кузнецов", "Попова",
                                                                       "Волков"], ["cp1251", "koi8-r", "iso8859-5"]),
    "Ukrainian": (["Олена", "Андрій", "Юлія", "Ігор", "Наталія"], ["Ковальчук", "Шевченко", "Бондаренко", "Ткаченко",
                                                                  "Кравець"], ["cp1251", "koi8-u"]),
    "Greek": (["Γιώργος", "Ελένη", "Δημήτρης", "Μαρία", "Κώστας"], ["Παπαδόπουλος", "Νικολάου", "Γεωργίου",
                                                                  "Οικονόμου", "Αθανασίου"], ["cp1253", "iso8859-7"]),
    "Turkish": (["Ayşe", "Mehmet", "Çağla", "Gülşen", "İbrahim"], ["Yılmaz", "Öztürk", "Şahin", "Doğan", "Kılıç"],
                ["cp1254", "iso8859-9"]),
    "Lithuanian": (["Rūta", "Jonas", "Šarūnas", "Aušra", "Vytautas"], ["Žukauskienė", "Kazlauskas", "Jankauskas",
                                                                      "Petrauskaitė", "Stankevičius"],
                   ["cp1257", "iso8859-13"]),
    "Latvian": (["Jānis", "Līga", "Andris", "Ieva", "Kārlis"], ["Bērziņš", "Kalniņa", "Ozoliņš", "Liepiņa", "Krūmiņš"],
                ["cp1257", "iso8859-13"]),
    "Hebrew": (["דוד", "שרה", "יוסף", "רחל", "משה"], ["כהן", "לוי", "מזרחי", "פרץ", "ביטון"], ["cp1255", "iso8859-8"]),
    "Arabic": (["محمد", "فاطمة", "علي", "نور", "يوسف"], ["أحمد", "الزهراء", "حسن", "الهدى", "خليل"],
               ["cp1256", "iso8859-6"]),
    "Japanese": (["花子 ハナコ", "一郎 イチロウ", "さくら サクラ", "健太 ケンタ", "美咲 ミサキ"],
                 ["佐藤 サトウ", "鈴木 スズキ", "高橋 タカハシ", "田中 タナカ", "渡辺 ワタナベ"],
                 ["shift_jis", "cp932", "euc_jp"]),
    "Chinese": (["伟", "娜", "敏", "洋", "静"], ["王", "李", "张", "刘", "陈"], ["gb18030", "gbk", "gb2312"]),
    "Taiwanese": (["大文", "美玲", "志明", "淑芬", "建宏"], ["陳", "林", "黃", "張", "李"], ["big5", "cp950"]),
    "Korean": (["민준", "서연", "지훈", "수빈", "예은"], ["김", "이", "박", "최", "정"], ["euc_kr", "cp949"]),
}
LONG_ROWS = 300
SURNAME_FIRST = {"Chinese", "Taiwanese", "Korean"}     # written 王伟, 김민준: surname first, no space


def contacts_text(language: str, size: str) -> str:
    """A contact list: 'short' (5 rows), 'long' (LONG_ROWS rows, names combined)
    or 'one' (LONG_ROWS rows, only one of them with a name in the language)."""
    firsts, lasts, _ = LANGUAGES[language]
    lines = ["email;name;city"]
    count = 5 if size == "short" else LONG_ROWS
    for i in range(count):
        if size == "one" and i != count // 2:
            name = "Plain Name"
        elif language in SURNAME_FIRST:
            name = f"{lasts[(i * 3 + i // 5) % 5]}{firsts[i % 5]}"
        else:
            name = f"{firsts[i % 5]} {lasts[(i * 3 + i // 5) % 5]}"
        lines.append(f"person{i}@example.com;{name};City {i}")
    return "\n".join(lines) + "\n"


def write(folder: Path, name: str, content: bytes | str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


# -- text files ---------------------------------------------------------------------

def legacy_contacts(folder: Path, language: str = "Polish", encoding: str = "cp1250", size: str = "long") -> Path:
    return write(folder, f"{language.lower()}-{encoding}-{size}.csv", contacts_text(language, size), encoding)


def mostly_utf8(folder: Path) -> Path:
    """20,000 good UTF-8 rows with accents, then one row holding a cp1252 byte."""
    good = "".join(f"p{i}@example.com;Zoë Müller {i};Zürich\n" for i in range(20_000)).encode()
    return write(folder, "mostly-utf8.csv", b"email;name;city\n" + good + "bad@example.com;Ren\xe9;Gen\xe8ve\n".encode("latin-1"))


def title_above_header(folder: Path) -> Path:
    text = ("Export – Relations – generated 01-12-2025 08:00\n"
            "Generated by CRM, all relations\n\n"
            "Email;Name;Age;Newsletter\n"
            + "".join(f"p{i}@example.com;Name {i};{20 + i};yes\n" for i in range(6)))
    return write(folder, "title.csv", text)


def title_with_commas(folder: Path) -> Path:
    """A title with commas above ;-separated data: the title must not choose the delimiter."""
    text = ("Relations, all of them, exported by Jan, 01-12-2025\n"
            "Email;Name;Age;Newsletter\n"
            + "".join(f"p{i}@example.com;Name {i};{20 + i};no\n" for i in range(6)))
    return write(folder, "title-commas.csv", text)


def no_header(folder: Path) -> Path:
    text = "".join(f"p{i}@example.com,Name {i},{20 + i},yes\n" for i in range(5))
    return write(folder, "no-header.csv", text)


def cut_off(folder: Path) -> Path:
    """An upload that stalled in the middle of a row."""
    text = "Email;Name;Age;Newsletter\np1@example.com;Ann;31;yes\np2@example.com;Bob;32;no\np3@example.com;Las"
    return write(folder, "cut-off.csv", text)


def cut_off_short_row(folder: Path) -> Path:
    """Ends with a line break, but the last row has fewer cells than every row before it."""
    text = "Email;Name;Age;Newsletter\np1@example.com;Ann;31;yes\np2@example.com;Bob\n"
    return write(folder, "cut-off-short.csv", text)


def control_characters_in_header(folder: Path) -> Path:
    return write(folder, "vt.csv", '"Email\x0b";"Name\x0c";Age\r\na@example.com;Ann;31\r\n')


def excel_errors_in_csv(folder: Path) -> Path:
    return write(folder, "errors-text.csv", "Email,Name,Age\na@example.com,Ann,#DIV/0!\nb@example.com,#REF!,32\n"
                                        "c@example.com,Cas,33\n")


def gzip_bomb(folder: Path) -> Path:
    """A small .csv.gz whose one line unpacks past the limits."""
    size = limits.RATIO_FLOOR_BYTES + 8 * 1024 ** 2
    compressor = gzip.compress(b"Email,Name\n" + b"a" * size, compresslevel=9)
    return write(folder, "bomb.csv.gz", compressor)


def long_line(folder: Path) -> Path:
    """A plain file with a line longer than the limit."""
    return write(folder, "long-line.csv", b"Email,Name\n" + b"x" * (limits.MAX_LINE_BYTES + 10) + b"\n")


def yaml_alias_bomb(folder: Path) -> Path:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        previous, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return write(folder, "bomb.yaml", "\n".join(lines) + "\nfields:\n  email: Email\n")


def excel_lock_file(folder: Path) -> Path:
    return write(folder, "~$contacts.xlsx", b"\x0cJan Jansen" + b"\x00" * 150)


def libreoffice_lock_file(folder: Path) -> Path:
    return write(folder, ".~lock.contacts.xlsx#", "Jan Jansen,host,user,01.12.2025 08:00,file:///home/jan/.config;")


# -- workbooks --------------------------------------------------------------------

def make_xlsx(path: Path, sheets: dict[str, list[list]], hidden: tuple[str, ...] = (), start: str = "A1") -> Path:
    """A workbook with one sheet per entry, rows written from cell ``start``."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    first_column = openpyxl.utils.cell.column_index_from_string(re.sub(r"\d", "", start))
    first_row = int(re.sub(r"\D", "", start))
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.cell(row=first_row + r, column=first_column + c, value=value)
        if name in hidden:
            sheet.sheet_state = "hidden"
    book.save(path)
    return path


def rewrite_part(path: Path, part: str, change: Callable[[str], str]) -> Path:
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts[part] = change(parts[part].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def xlsx_with_error_cells(folder: Path) -> Path:
    """Formulas whose cached results are Excel errors, and one formula without a result."""
    path = make_xlsx(folder / "errors-book.xlsx", {"Contacts": [
        ["Email", "Name", "Score"], ["a@example.com", "Ann", "=1/0"], ["b@example.com", "=FOO()", 7],
        ["c@example.com", "Cas", "=A1*2"], ["d@example.com", "Dirk", 9]]})

    def errors(xml: str) -> str:
        xml = re.sub(r'(<c r="C2")([^>]*)>(<f>[^<]*</f>)(<v\s*/>|<v></v>)?', r'\1 t="e">\3<v>#DIV/0!</v>', xml)
        xml = re.sub(r'(<c r="B3")([^>]*)>(<f>[^<]*</f>)(<v\s*/>|<v></v>)?', r'\1 t="e">\3<v>#NAME?</v>', xml)
        return xml
    return rewrite_part(path, "xl/worksheets/sheet1.xml", errors)


def xlsx_with_empty_style(folder: Path) -> Path:
    """A cell with an empty style attribute (s=""), which openpyxl cannot look up."""
    path = make_xlsx(folder / "empty-style.xlsx", {"Contacts": [
        ["Email", "Name", "Customer no"], ["a@example.com", "Ann", 123], ["b@example.com", "Bob", 456]]})
    return rewrite_part(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace('<c r="C2" ', '<c r="C2" s="" '))


def xlsx_with_broken_styles(folder: Path) -> Path:
    """A workbook whose styles part openpyxl cannot parse at all."""
    path = make_xlsx(folder / "broken-styles.xlsx", {"Contacts": [
        ["Email", "Name"], ["a@example.com", "Ann"], ["b@example.com", "Bob"]]})
    return rewrite_part(path, "xl/styles.xml", lambda xml: xml.replace("<numFmts", "<numFmts count='x'", 1)
                        .replace("<cellXfs", "<cellXfs><xf numFmtId='abc'/></cellXfs><cellXfs", 1))


def xlsx_title_rows(folder: Path) -> Path:
    return make_xlsx(folder / "title-book.xlsx", {"Export": [
        ["Relations export – 01-12-2025"], [None], ["Email", "Name", "Age", "Newsletter"],
        ["a@example.com", "Ann", 31, "yes"], ["b@example.com", "Bob", 32, "no"]]})


def with_shared_strings(path: Path, entries: bytes) -> Path:
    """The workbook with a shared strings part holding ``entries`` (<si> elements)."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/sharedStrings.xml"] = (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
                                     b'spreadsheetml/2006/main">' + entries + b"</sst>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def xlsx_shared_string_bomb(folder: Path) -> Path:
    """A small .xlsx whose shared strings unpack to millions of entries."""
    path = make_xlsx(folder / "strings-bomb.xlsx", {"S": [["Email"], ["a@example.com"]]})
    entries = limits.RATIO_FLOOR_BYTES // len("<si><t>x</t></si>") + 1000
    return with_shared_strings(path, b"<si><t>x</t></si>" * entries)


def xlsx_long_shared_string(folder: Path) -> Path:
    """One shared string longer than Excel allows in a cell (not packed tightly enough for the ratio limit)."""
    path = make_xlsx(folder / "long-string.xlsx", {"S": [["Email"], ["a@example.com"]]})
    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(200_000)).encode()
    return with_shared_strings(path, b"<si><t>" + text + b"</t></si>")


def make_ods(path: Path, sheet_name: str, rows_xml: list[str]) -> Path:
    """A minimal OpenDocument spreadsheet: mimetype, manifest, content."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{sheet_name}">'
        + "".join(rows_xml) + "</table:table></office:spreadsheet></office:body></office:document-content>")
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return path


# -- .xls (BIFF8) and older, built record by record -----------------------------------

def _biff_record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _biff_bof(substream: int) -> bytes:
    return _biff_record(0x0809, struct.pack("<HHHHII", 0x0600, substream, 0x0DBB, 0x07CC, 0, 0x06))


def _biff_short_string(text: str) -> bytes:
    return struct.pack("<BB", len(text), 1) + text.encode("utf-16-le")


DATE_XF = 16        # the first cell format after Excel's 16 style formats; number format 14 = date
PADDED_XF = 17      # number format 164 = "000000"
ERROR_CODES = {"#DIV/0!": 0x07, "#N/A": 0x2A, "#REF!": 0x17}


def _biff_cell(row: int, col: int, value) -> bytes:
    if isinstance(value, bool):
        return _biff_record(0x0205, struct.pack("<HHHBB", row, col, 0, int(value), 0))
    if isinstance(value, tuple) and value[0] == "date":           # ("date", Excel serial day number)
        return _biff_record(0x0203, struct.pack("<HHHd", row, col, DATE_XF, value[1]))
    if isinstance(value, tuple) and value[0] == "padded":         # ("padded", number shown as 000123)
        return _biff_record(0x0203, struct.pack("<HHHd", row, col, PADDED_XF, float(value[1])))
    if isinstance(value, tuple) and value[0] == "error":          # ("error", "#DIV/0!")
        return _biff_record(0x0205, struct.pack("<HHHBB", row, col, 0, ERROR_CODES[value[1]], 1))
    if isinstance(value, (int, float)):
        return _biff_record(0x0203, struct.pack("<HHHd", row, col, 0, float(value)))
    return _biff_record(0x0204, struct.pack("<HHHHB", row, col, 0, len(value), 1) + value.encode("utf-16-le"))


def xls_workbook_stream(sheets: list[tuple[str, bool, dict]]) -> bytes:
    """A BIFF8 'Workbook' stream (Excel 97-2003): sheets as (name, hidden, {(row, col): value})."""
    font = _biff_record(0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0)
                        + _biff_short_string("Arial"))
    padded = _biff_record(0x041E, struct.pack("<H", 164) + struct.pack("<HB", 6, 1) + "000000".encode("utf-16-le"))

    def xf(number_format: int) -> bytes:
        return _biff_record(0x00E0, struct.pack("<HHH", 0, number_format, 0x0001) + b"\x20\x00" + b"\x00" * 12)
    head = (_biff_bof(0x0005) + _biff_record(0x0042, struct.pack("<H", 1200))
            + _biff_record(0x0022, struct.pack("<H", 0)) + font * 5 + padded + xf(0) * 16 + xf(14) + xf(164))
    bodies = []
    for _, _, cells in sheets:
        last_row = max(r for r, _ in cells) + 1
        last_col = max(c for _, c in cells) + 1
        body = _biff_bof(0x0010) + _biff_record(0x0200, struct.pack("<IIHHH", 0, last_row, 0, last_col, 0))
        body += b"".join(_biff_cell(r, c, v) for (r, c), v in sorted(cells.items()))
        bodies.append(body + _biff_record(0x000A))
    offset = len(head) + sum(4 + 8 + 2 * len(name) for name, _, _ in sheets) + 4
    listing = b""
    for (name, hidden, _), body in zip(sheets, bodies):
        listing += _biff_record(0x0085, struct.pack("<IBB", offset, int(hidden), 0) + _biff_short_string(name))
        offset += len(body)
    return head + listing + _biff_record(0x000A) + b"".join(bodies)


def compound_file(stream: bytes, stream_name: str) -> bytes:
    """A minimal OLE2 compound file (version 3, 512-byte sectors) holding one stream."""
    end_of_chain, free, fat_sector, no_entry = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    stream = stream.ljust(4096, b"\x00")
    sectors = -(-len(stream) // 512)
    fat = [fat_sector, end_of_chain] + list(range(3, 2 + sectors)) + [end_of_chain]
    fat += [free] * (128 - len(fat))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
              + struct.pack("<9I", 0, 1, 1, 0, 4096, end_of_chain, 0, end_of_chain, 0)
              + struct.pack("<I", 0) + struct.pack("<I", free) * 108)

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = (name.encode("utf-16-le") + b"\x00\x00") if name else b""
        return (raw.ljust(64, b"\x00") + struct.pack("<HBB", len(raw), kind, 1)
                + struct.pack("<III", no_entry, no_entry, child) + b"\x00" * 36
                + struct.pack("<III", start, size, 0))

    directory = (entry("Root Entry", 5, 1, end_of_chain, 0) + entry(stream_name, 2, no_entry, 2, len(stream))
                 + entry("", 0, no_entry, 0, 0) * 2)
    return header + struct.pack("<128I", *fat) + directory + stream.ljust(sectors * 512, b"\x00")


def xls_contacts(folder: Path) -> Path:
    """An .xls with a zero-padded customer number, a date and an error cell."""
    stream = xls_workbook_stream([("Contacts", False, {
        (0, 0): "Email", (0, 1): "Customer no", (0, 2): "Born", (0, 3): "Score",
        (1, 0): "a@example.com", (1, 1): ("padded", 123), (1, 2): ("date", 32875.0), (1, 3): 7,
        (2, 0): "b@example.com", (2, 1): ("padded", 45), (2, 2): ("date", 32876.0), (2, 3): ("error", "#DIV/0!"),
    })])
    return write(folder, "contacts.xls", compound_file(stream, "Workbook"))


def xls_biff5(folder: Path) -> Path:
    """An Excel 5.0/95 workbook: a compound file whose stream is 'Book'."""
    return write(folder, "old95.xls", compound_file(b"\x09\x08\x08\x00\x00\x05\x05\x00" + b"\x00" * 100, "Book"))


def xls_biff4(folder: Path) -> Path:
    """An Excel 4.0 worksheet: BIFF records without a compound-file wrapper."""
    return write(folder, "old4.xls", b"\x09\x04\x06\x00\x00\x00\x10\x00\x00\x00" + b"\x00" * 100)


# -- the shapes of the reader's own tests (tests/test_reader.py) ------------------------------

def reader_test_files(folder: Path) -> list[Path]:
    """One file of each kind the reader tests build: encodings, delimiters, quotes,
    bad files, workbooks."""
    made = [
        write(folder, "bom.csv", b"\xef\xbb\xbfemail,name\na@x.nl,Zo\xc3\xab\n"),
        write(folder, "utf16.csv", b"\xff\xfe" + "email;name\r\na@x.nl;Zoë Ünal\r\n".encode("utf-16-le")),
        write(folder, "cp1252.csv", "naam;plaats;bedrag\nRené;Düsseldorf;€ 5\nJosé;Zürich;€ 7\n", "cp1252"),
        write(folder, "quotes.csv", 'email,note,city\r\na@x.nl,"She said ""hi""",Delft\r\n'
                                    'b@x.nl,"line one\r\nline two",Gouda\r\n'),
        write(folder, "unclosed.csv", 'email,name\na@x.nl,Ann\nb@x.nl,"Bob\nc@x.nl,Cas\n'),
        write(folder, "sep.csv", "sep=;\r\nname,x;city\r\nAnn,y;Ede\r\n"),
        write(folder, "extra.csv", "a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,5,6\n"),
        write(folder, "duplicates.csv", "Email,name,email,name,x\n1,2,3,4,5\n"),
        write(folder, "unnamed.csv", "email,,name\na@x.nl,oops,Ann\n"),
        write(folder, "header-only.csv", "email,name\n\n,\n"),
        write(folder, "blank.csv", "\n \n,,\n"),
        write(folder, "empty.csv", b""),
        write(folder, "tabs.txt", "email\tname, full\na@x.nl\tDoe, J\n"),
        write(folder, "truncated.csv.gz", gzip.compress(("a,b\n" + "1,2\n" * 50_000).encode())[:3000]),
        write(folder, "not-gzip.csv.gz", "a,b\n1,2\n"),
        write(folder, "junk.csv", bytes((i * 7919 + 13) % 256 for i in range(5000))),
        write(folder, "csv-named.xlsx", "email,name\na@x.nl,Ann\n"),
        write(folder, "export.xls", "<html><table><tr><td>a</td></tr></table></html>"),
        write(folder, "secret.xlsx", compound_file(b"\x00" * 5000, "EncryptedPackage")),
        write(folder, "reader.pdf", "a,b\n1,2\n"),
    ]
    good = make_xlsx(folder / "good.xlsx", {"Contacts": [["email", "name", "born"], ["a@x.nl", "Ann", 1.5]],
                                            "Lookup": [["code"], ["X"]]}, hidden=("Lookup",))
    made += [good, write(folder, "half.xlsx", good.read_bytes()[:len(good.read_bytes()) // 2]),
             write(folder, "book.csv", good.read_bytes()), write(folder, "xlsx-named.ods", good.read_bytes())]
    with zipfile.ZipFile(folder / "notabook.xlsx", "w") as archive:
        archive.writestr("hello.txt", "hi")
    made.append(folder / "notabook.xlsx")
    made.append(write(folder, "hidden.xls", compound_file(xls_workbook_stream([
        ("Lookup", True, {(0, 0): "code", (1, 0): "X"}),
        ("Contacts", False, {(0, 0): "email", (0, 1): "phone", (0, 2): "born", (0, 3): "vip", (1, 0): "a@x.nl",
                             (1, 1): 31612345678, (1, 2): ("date", 32875.0), (1, 3): True, (3, 1): 1.5})]),
        "Workbook")))
    made.append(make_ods(folder / "reader.ods", "Contacts", [
        '<table:table-row><table:table-cell office:value-type="string"><text:p>email</text:p></table:table-cell>'
        '<table:table-cell office:value-type="float" office:value="5"><text:p>5</text:p></table:table-cell>'
        '</table:table-row>',
        '<table:table-row><table:table-cell office:value-type="string"><text:p>a@x.nl</text:p></table:table-cell>'
        '</table:table-row>']))
    return made


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "mostly_utf8": mostly_utf8, "title_above_header": title_above_header, "title_with_commas": title_with_commas,
    "no_header": no_header, "cut_off": cut_off, "cut_off_short_row": cut_off_short_row,
    "control_characters_in_header": control_characters_in_header, "excel_errors_in_csv": excel_errors_in_csv,
    "gzip_bomb": gzip_bomb, "long_line": long_line, "excel_lock_file": excel_lock_file,
    "libreoffice_lock_file": libreoffice_lock_file, "xlsx_with_error_cells": xlsx_with_error_cells,
    "xlsx_with_empty_style": xlsx_with_empty_style, "xlsx_with_broken_styles": xlsx_with_broken_styles,
    "xlsx_title_rows": xlsx_title_rows, "xlsx_shared_string_bomb": xlsx_shared_string_bomb,
    "xlsx_long_shared_string": xlsx_long_shared_string, "xls_contacts": xls_contacts, "xls_biff5": xls_biff5,
    "xls_biff4": xls_biff4,
}
# one file per legacy family here; the whole corpus (every language, encoding
# and size) is built by corpus_files
for _language, _encoding, _size in (("Polish", "cp1250", "one"), ("Russian", "koi8-r", "short"),
                                    ("Greek", "cp1253", "one"), ("Japanese", "shift_jis", "short"),
                                    ("Hebrew", "cp1255", "one"), ("Chinese", "gb18030", "long")):
    BUILDERS[f"{_language}-{_encoding}-{_size}"] = (
        lambda folder, language=_language, encoding=_encoding, size=_size: legacy_contacts(folder, language, encoding,
                                                                                          size))


def corpus_files(folder: Path) -> list[Path]:
    """The whole encoding corpus: every language in every legacy encoding, short, long and with one name."""
    return [legacy_contacts(folder, language, encoding, size) for language, (_, _, encodings) in LANGUAGES.items()
            for encoding in encodings for size in ("short", "long", "one")]
