""".json and .ndjson/.jsonl inputs (issue 16, point 4): nested objects, arrays as
interest lists, a bad line as one invalid row, streamed without holding the file."""
from __future__ import annotations

import csv
import gzip
import json
import tracemalloc
from pathlib import Path

import pytest

from importer.errors import InputFileError
from importer.reader import open_sheet
from importer.readers import jsonlines
from tests.helpers import SAMPLE_SCHEMA, cli

# database 2 of the sample schema: email, firstname, age (integer), weight (float); interests
MAPPING = """\
database: 2
key: email
fields:
  email: {column: contact.email, transform: [trim, lower], validate: email}
  firstname: contact.name.first
  age: age
  weight: weight
interests:
  football: {column: sports, contains: football}
  tennis: {column: sports, contains: "tennis; indoor"}
  newsletter: {column: newsletter}
"""


def person(n: int, **changes) -> dict:
    data = {"contact": {"email": f"P{n}@Example.com ", "name": {"first": f"Name {n}"}}, "age": 30 + n,
            "weight": 70.50, "sports": ["football"] if n % 2 else ["tennis; indoor"], "newsletter": True}
    data.update(changes)
    return data


def read(path: Path) -> list:
    with open_sheet(path) as sheet:
        return [sheet.headers, list(sheet), sheet.empty_rows]


def lines(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_an_ndjson_file_is_imported_with_nested_names_list_interests_and_a_bad_line_as_one_invalid_row(tmp_path, sandbox):
    src = tmp_path / "people.ndjson"
    text = [json.dumps(person(1)), json.dumps(person(2)), '{"contact": {"email": "x@y.nl"', "",
            json.dumps(person(3, age=None)), "[1, 2]", json.dumps(person(4))]
    src.write_text("\n".join(text) + "\n", encoding="utf-8")
    (tmp_path / "m.yaml").write_text(MAPPING)
    done = cli("run", str(src), "--mapping", "m.yaml", "--api-url", sandbox.api_url, "--schema", str(SAMPLE_SCHEMA),
               "--quiet", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    out = {int(r["row"]): r for r in lines(tmp_path / "people.results.csv")}
    assert sorted(out) == [1, 2, 3, 5, 6, 7]   # line 4 is blank: an empty row
    assert (out[3]["status"], out[3]["code"]) == ("invalid", "bad_json")
    assert out[3]["error"] == "line 3 is not valid JSON (Expecting ',' delimiter, at character 31)"
    assert (out[6]["status"], out[6]["error"]) == ("invalid", 'line 6 holds an array, not an object ({"name": value, ...})')
    assert [out[n]["status"] for n in (1, 2, 5, 7)] == ["created"] * 4
    stored = {p["fields"]["email"]: p for p in sandbox.profiles(2)}
    assert stored["p1@example.com"]["fields"]["firstname"] == "Name 1"
    assert stored["p1@example.com"]["fields"]["weight"] == "70.5"
    assert stored["p1@example.com"]["interests"] == ["newsletter", "football"]
    assert stored["p2@example.com"]["interests"] == ["newsletter", "tennis"]   # an item holding ';' stays whole
    assert stored["p3@example.com"]["fields"]["age"] == "0"   # null: an empty cell, nothing sent
    assert out[1]["sports"] == "football" and out[1]["contact.name.first"] == "Name 1"


def test_json_scalars_become_the_text_the_file_holds(tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_bytes(b'\xef\xbb\xbf{"n": 12.50, "big": 12345678901234567890, "e": 1e3, "t": true, "f": false, '
                    b'"z": null, "objects": [{"a": 1}], "empty": {}, "s": " kept "}\n')
    headers, rows, _ = read(src)
    assert headers == ["n", "big", "e", "t", "f", "z", "objects", "empty", "s"]
    assert rows[0].values == {"n": "12.50", "big": "12345678901234567890", "e": "1e3", "t": "true", "f": "false",
                              "z": "", "objects": '[{"a":1}]', "empty": "", "s": " kept "}


def test_a_json_array_or_an_object_holding_one_is_read_and_items_that_are_not_objects_are_invalid(tmp_path):
    plain = tmp_path / "a.json"
    plain.write_text(json.dumps([{"id": 1, "tags": ["a", "b"]}, "oops", {"id": 2, "late": "x"}]))
    headers, rows, _ = read(plain)
    assert headers == ["id", "tags", "late"]
    assert [(r.number, r.values["id"], r.problem and r.problem.code) for r in rows] == [
        (1, "1", None), (2, "", "bad_json"), (3, "2", None)]
    assert rows[0].values["tags"].items == ("a", "b")
    assert rows[1].problem.message == 'object 2 of the array is a text, not an object ({"name": value, ...})'
    wrapped = tmp_path / "b.json.gz"
    with gzip.open(wrapped, "wt", encoding="utf-8") as f:
        json.dump({"meta": {"tags": [1]}, "count": 1, "data": [{"id": 7}]}, f)
    assert read(wrapped)[1][0].values == {"id": "7"}


def test_a_broken_json_document_stops_before_anything_is_sent(tmp_path, sandbox):
    src = tmp_path / "cut.json"
    src.write_text('[{"contact": {"email": "a@b.nl"}}, {"contact": {"email": "c@d.nl"')
    (tmp_path / "m.yaml").write_text(MAPPING)
    done = cli("run", str(src), "--mapping", "m.yaml", "--api-url", sandbox.api_url, "--schema", str(SAMPLE_SCHEMA),
               cwd=tmp_path)
    assert done.returncode == 2
    assert "cut.json is not valid JSON after object 1 (it ends early)" in done.stderr
    assert "Traceback" not in done.stderr and sandbox.stats()["posts"] == 0
    with pytest.raises(InputFileError, match="holds no array of objects"):
        (tmp_path / "x.json").write_text('{"a": 1}')
        read(tmp_path / "x.json")


def test_a_line_too_long_or_not_utf8_is_one_invalid_row(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonlines, "MAX_LINE_BYTES", 64)
    src = tmp_path / "a.ndjson"
    src.write_bytes(b'{"id": 1}\n{"id": "' + b"x" * 200 + b'"}\n{"id": "\xe9"}\n{"id": 4}\n')
    _, rows, _ = read(src)
    assert [(r.number, r.values["id"], r.problem and r.problem.message) for r in rows] == [
        (1, "1", None), (2, "", "line 2 is longer than 0 MB"), (3, "", "line 3 is not UTF-8 text (byte 0xE9 at "
                                                                          "position 9)"), (4, "4", None)]


def test_options_that_do_not_apply_to_json_are_refused(tmp_path):
    src = tmp_path / "a.json"
    src.write_text('[{"a": 1}]')
    with pytest.raises(InputFileError, match="a JSON file and has no delimiter"):
        open_sheet(src, delimiter=";")
    with pytest.raises(InputFileError, match="has no sheets"):
        open_sheet(src, sheet="2")


def peak_reading(path: Path, objects: int, ndjson: bool) -> int:
    with open(path, "w", encoding="utf-8") as f:
        items = (json.dumps(person(n) | {"notes": "x" * 150}) for n in range(objects))
        f.write("\n".join(items) + "\n" if ndjson else "[" + ",\n".join(items) + "]")
    tracemalloc.start()
    try:
        with open_sheet(path) as sheet:
            assert sum(1 for _ in sheet) == objects
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("suffix", [".ndjson", ".json"])
def test_reading_four_times_the_objects_takes_no_more_memory(tmp_path, suffix):
    """What the reader allocates is the 1,000 objects it looks ahead for the
    columns, whatever the file's length (the RSS at 1,000,000 lines is in
    benchmarks/json_inputs.py)."""
    small = peak_reading(tmp_path / f"small{suffix}", 1_500, suffix == ".ndjson")
    large = peak_reading(tmp_path / f"large{suffix}", 6_000, suffix == ".ndjson")
    assert large < small * 1.2, (small, large)


NUMBERS = ["1e2", "1E-3", "-0", "0.10", "12345678901234567890", "1.0", "-0.0", "1E+2", "-12.5e-07", "0"]


@pytest.mark.parametrize("suffix", [".json", ".json.gz", ".ndjson"])
def test_numbers_keep_the_exact_text_of_the_file(tmp_path, suffix):
    items = [f'{{"id": {n}, "nested": {{"v": {text}}}, "list": [{text}, {text}]}}' for n, text in enumerate(NUMBERS)]
    body = ("\n".join(items) + "\n") if suffix == ".ndjson" else ("[\n" + ",\n".join(items) + "\n]\n")
    src = tmp_path / f"n{suffix}"
    src.write_bytes(gzip.compress(body.encode()) if suffix.endswith(".gz") else body.encode())
    _, rows, _ = read(src)
    assert [r.values["nested.v"] for r in rows] == NUMBERS
    assert [r.values["list"] for r in rows] == [f"{t};{t}" for t in NUMBERS]


def test_a_json_array_split_across_read_chunks_is_read_whole(tmp_path, monkeypatch):
    from importer.readers import jsondoc
    monkeypatch.setattr(jsondoc, "CHUNK", 7)      # every value straddles a chunk boundary
    src = tmp_path / "a.json"
    src.write_text('{"meta": {"n": [1, 2]}, "data": [{"id": 12345, "s": "a\\"b\\u00e9 c"}, 7, {"id": -0}],'
                   ' "after": true}')
    _, rows, _ = read(src)
    assert [(r.values["id"], r.problem and r.problem.code) for r in rows] == [
        ("12345", None), ("", "bad_json"), ("-0", None)]
    assert rows[0].values["s"] == 'a"bé c'


@pytest.mark.parametrize("text, why", [
    ('[{"a": 1}][{"a": 2}]', "more follows after the array"),
    ('[{"a": 1} {"a": 2}]', "expecting ',' or ']'"),
    ('{"data": [{"a": 1}], "x" 1}', "expecting ':'"),
])
def test_what_follows_the_objects_must_be_json_too(tmp_path, text, why):
    src = tmp_path / "a.json"
    src.write_text(text)
    with pytest.raises(InputFileError, match=f"is not valid JSON after object 1 \\({why}\\)"):
        read(src)


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_two_keys_that_make_one_column_make_their_row_invalid(tmp_path, suffix):
    objects = [{"id": 1, "a.b": "flat", "a": {"b": "nested"}}, {"id": 2, "a": {"b": "only"}}]
    src = tmp_path / f"a{suffix}"
    src.write_text("\n".join(json.dumps(o) for o in objects) if suffix == ".ndjson" else json.dumps(objects))
    headers, rows, _ = read(src)
    assert headers == ["id", "a.b"]
    assert (rows[0].problem.code, rows[0].problem.message) == (
        "json_key_clash", "row 1: two of its keys make the column 'a.b' (a key with a dot in its name and a nested "
                          "object, or a key written twice); column names must be unique")
    assert rows[1].problem is None and rows[1].values == {"id": "2", "a.b": "only"}


def test_keys_that_differ_only_in_case_are_refused_like_a_csv_header(tmp_path):
    src = tmp_path / "a.ndjson"
    src.write_text('{"email": "a@x.nl"}\n{"Email": "b@x.nl"}\n')
    (tmp_path / "m.yaml").write_text("database: 2\nkey: email\nfields:\n  email: email\n")
    done = cli("check", str(src), "--mapping", "m.yaml", "--offline", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert ("a.ndjson: the keys 'email' (row 1) and 'Email' (row 2) are the same column name; column names must "
            "be unique (upper/lower case does not count)") in done.stderr


def test_a_column_written_another_way_after_the_first_objects_makes_that_row_invalid(tmp_path, monkeypatch):
    from importer.readers import objects
    monkeypatch.setattr(objects, "LOOKAHEAD_ROWS", 2)
    src = tmp_path / "a.json"
    src.write_text(json.dumps([{"email": "a@x.nl"}, {"email": "b@x.nl"}, {"EMAIL": "c@x.nl"}, {"email": "d@x.nl"}]))
    headers, rows, _ = read(src)
    assert headers == ["email"]
    assert [r.problem and r.problem.code for r in rows] == [None, None, "json_key_clash", None]
    assert rows[2].problem.message == ("row 3: its key 'EMAIL' is the column 'email' written another way; column "
                                       "names must be unique (upper/lower case does not count), so the row is not "
                                       "read")
