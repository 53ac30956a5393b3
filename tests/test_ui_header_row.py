"""The file step's header row over plain HTTP: chosen on the page for an export with a title above its column
names, it changes the preview and the columns, goes into the saved mapping as ``header_row`` (so the CLI
reads the file the same way) and into the import; a value that is no row of the file is said on the page."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ui_support import REPO, SAMPLE_SCHEMA, Visitor, csv_rows, text_of

TITLE = "Export – Relations – generated 01-12-2025 08:00"
PEOPLE = [(f"Person {i}", city, segment) for i, (city, segment) in
          enumerate([("Utrecht", "Gold"), ("Gent", "Silver"), ("Lille", "Gold"), ("Köln", "Bronze")] * 3)]


def export_with_a_title(folder: Path) -> Path:
    """A CRM export: a title row as wide as the data, a blank row, then the column names on row 3. The
    columns hold only text, so nothing tells the reader that row 1 is not the header: it takes row 1."""
    path = folder / "relations.csv"
    path.write_text(f"{TITLE},Sales team,Confidential\n\nName,City,Segment\n"
                    + "".join(",".join(person) + "\n" for person in PEOPLE), encoding="utf-8")
    return path


def columns(html: str) -> list[str]:
    """The preview's column names."""
    return re.findall(r'<th scope="col">([^<]*)</th>', html.split('id="preview"')[1].split("</thead>")[0])[1:]


def preview_rows(html: str) -> list[str]:
    """The preview's row numbers."""
    return re.findall(r'<tr><th scope="row">(\d+)</th>', html)


def found_row(html: str) -> str:
    return re.search(r'id="found-header-row">([^<]*)<', html).group(1)


def choose(visitor: Visitor, header_row: str):
    return visitor.post("/file/reading", {"encoding": "", "delimiter": "", "header_row": header_row})


def test_a_header_row_chosen_on_the_page_is_read_saved_and_imported(visitor, page, tmp_path):
    export = export_with_a_title(tmp_path)
    visitor.connect_sandbox()
    found = visitor.upload(export)
    assert found_row(found.text) == "row 1" and columns(found.text) == [TITLE, "Sales team", "Confidential"]
    assert preview_rows(found.text)[0] == "3"                 # the column names, read as a person
    assert [line.column for line in page.workspace.table.lines] == [TITLE, "Sales team", "Confidential"]

    chosen = choose(visitor, "3")
    assert 'class="message error"' not in chosen.text
    assert found_row(chosen.text) == "row 3" and "Chosen:" in text_of(chosen.text)
    assert re.search(r'id="header-row" name="header_row"[^>]*value="3"', chosen.text)
    assert columns(chosen.text) == ["Name", "City", "Segment"]
    assert preview_rows(chosen.text) == [str(n) for n in range(4, 14)] and "Person 0" in chosen.text
    fields = visitor.mapping_fields()                            # a new draft for the new columns
    assert [v for k, v in fields if k.endswith("-column")] == ["Name", "City", "Segment"]
    assert dict(fields)[visitor.line_of(fields, "City") + "target"] == "field:city"
    assert 'id="valid-count">12<' in visitor.live(fields)["status"]

    # the saved mapping holds the row, and the CLI reads the file with it as the page did
    saved = visitor.get("/mapping.yaml")
    assert yaml.safe_load(saved.text)["header_row"] == 3
    mapping = tmp_path / "relations.yaml"
    mapping.write_bytes(saved.content)
    cli = subprocess.run([sys.executable, "-m", "importer", "check", str(export), "--mapping", str(mapping),
                          "--schema", str(SAMPLE_SCHEMA)], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert re.search(r"would send\s+12\b", cli.stdout), cli.stdout + cli.stderr

    # the import reads it so too: row numbers as the file has them, the cells under their names
    assert visitor.import_now()["counts"] == {"created": 12}
    lines = csv_rows(visitor.get("/download/results.csv").content)
    assert [line["row"] for line in lines] == [str(n) for n in range(4, 16)]
    assert [(line["Name"], line["City"], line["Segment"]) for line in lines] == PEOPLE
    assert sorted(p["fields"]["city"] for p in page.workspace.destination.sandbox.profiles(1)) == \
        sorted(city for _, city, _ in PEOPLE)


def test_emptying_the_header_row_lets_the_reader_find_it_again(visitor, page, tmp_path):
    visitor.connect_sandbox()
    visitor.upload(export_with_a_title(tmp_path))
    choose(visitor, "3")
    found = choose(visitor, "")
    assert found_row(found.text) == "row 1" and "Detected: row 1" in text_of(found.text)
    assert columns(found.text)[0] == TITLE
    assert page.workspace.table.header_row is None and page.workspace.table.lines[0].column == TITLE


@pytest.mark.parametrize("value, said", [
    ("abc", "The header row is the number of a row (1, 2, 3, ...); 'abc' is not one."),
    ("2.5", "The header row is the number of a row (1, 2, 3, ...); '2.5' is not one."),
    ("0", "The header row is the number of a row, counted from 1; 0 is not one."),
    ("-2", "The header row is the number of a row, counted from 1; -2 is not one."),
    ("99", "Row 99 cannot be the header row: the file has no row 99. The header row stays row 3, as before."),
    ("2", "Row 2 cannot be the header row: that row is empty. The header row stays row 3, as before."),
])
def test_a_header_row_that_is_no_row_of_the_file_is_said_on_the_page(visitor, page, tmp_path, value, said):
    visitor.connect_sandbox()
    visitor.upload(export_with_a_title(tmp_path))
    choose(visitor, "3")
    answer = choose(visitor, value)
    assert answer.status_code == 200 and answer.url.endswith("/file")
    message = re.search(r'<div class="message error" role="alert">([^<]*)<', answer.text)
    assert message and text_of(message.group(1)).startswith(said)
    assert "Traceback" not in answer.text and str(page.folder) not in answer.text
    # nothing changed: the file is read as before, the mapping keeps its row
    assert found_row(answer.text) == "row 3" and columns(answer.text) == ["Name", "City", "Segment"]
    assert yaml.safe_load(visitor.get("/mapping.yaml").text)["header_row"] == 3


def test_an_opened_mapping_with_a_header_row_reads_the_file_so(visitor, page, tmp_path):
    visitor.connect_sandbox()
    visitor.upload(export_with_a_title(tmp_path))
    mapping = tmp_path / "relations.yaml"
    mapping.write_text("database: 1\nheader_row: 3\nfields:\n  city: City\n  firstname: Name\n", encoding="utf-8")
    with open(mapping, "rb") as f:
        opened = visitor.post("/mapping/open", files={"mapping": ("relations.yaml", f)})
    assert 'id="valid-count">12<' in opened.text
    assert page.workspace.upload.header_row == 3 and found_row(visitor.get("/file").text) == "row 3"
    fields = visitor.mapping_fields()
    assert dict(fields)[visitor.line_of(fields, "Name") + "target"] == "field:firstname"
    assert yaml.safe_load(visitor.get("/mapping.yaml").text)["header_row"] == 3
