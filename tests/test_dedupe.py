"""The key and duplicates within a file: first or last row wins, keys compared
ignoring case and Unicode form, composite keys that cannot collide."""
from __future__ import annotations

from importer.client import CopernicaClient
from importer.dedupe import DuplicateIndex
from importer.pacing import Pacer
from importer.runner import ImportOptions, run_import
from importer.sandbox import Faults, Sandbox
from tests.helpers import ONE_TRY, SAMPLE_SCHEMA, TOKEN, read_results, write_csv, write_mapping


def test_duplicate_index_first_and_last():
    first = DuplicateIndex("first")
    assert [first.winner(r, k) for r, k in [(2, "a"), (3, "b"), (4, "a"), (5, ""), (6, "")]] == [None, None, 2, None, None]
    last = DuplicateIndex("last")
    last.learn([(2, "a"), (3, "b"), (4, "a")])
    assert [last.winner(r, k) for r, k in [(2, "a"), (3, "b"), (4, "a")]] == [4, None, None]


def test_duplicate_keys_are_compared_ignoring_case_and_unicode_form():
    index = DuplicateIndex("first")
    assert index.winner(2, "jos\u00e9@x.nl") is None          # é as one character
    assert index.winner(3, "JOSE\u0301@X.NL") == 2            # E + combining accent, upper case
    assert index.winner(4, "jose@x.nl") is None               # no accent: someone else


def test_keys_differing_only_in_case_are_one_person(tmp_path):
    """Copernica's look-up ignores case; two such rows upserted at once made two profiles."""
    src = write_csv(tmp_path / "in.csv", header=["Email", "Name"], rows=[["A@example.com", "Ann"], ["a@example.com", "Ann"]])
    m = write_mapping(tmp_path / "m.yaml", "database: 2\nkey: email\non_existing: upsert\nfields:\n  email: Email\n"
                                          "  firstname: Name\n")
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=50)) as sb, \
            CopernicaClient(sb.api_url, TOKEN, retry=ONE_TRY, pacer=Pacer(2)) as client:
        run_import(ImportOptions(file=src, mapping=m, results=tmp_path / "r.csv", workers=2,
                                 schema=SAMPLE_SCHEMA), client)
        assert len(sb.profiles(2)) == 1
    statuses = {line["row"]: (line["status"], line["error"]) for line in read_results(tmp_path / "r.csv")}
    assert statuses["3"] == ("skipped", "duplicate of row 2")


def test_composite_keys_cannot_collide_on_the_separator(tmp_path):
    src = write_csv(tmp_path / "in.csv", header=["First", "Last"], rows=[["a | b", "c"], ["a", "b | c"]])
    m = write_mapping(tmp_path / "m.yaml", "database: 2\nkey: [firstname, lastname]\nfields:\n  firstname: First\n"
                                          "  lastname: Last\n")
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb, \
            CopernicaClient(sb.api_url, TOKEN, retry=ONE_TRY, pacer=Pacer(2)) as client:
        run_import(ImportOptions(file=src, mapping=m, results=tmp_path / "r.csv", workers=2,
                                 schema=SAMPLE_SCHEMA), client)
        assert len(sb.profiles(2)) == 2
    keys = sorted(line["key"] for line in read_results(tmp_path / "r.csv"))
    assert keys == ['"a | b" | c', 'a | "b | c"']
