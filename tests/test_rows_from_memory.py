"""The Python entry point for migration scripts (issue 16, points 5 and 6): rows
from memory (a DataFrame, any iterable of dicts), a mapping given as a dict,
outcomes returned to the caller; pandas only as an optional extra."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from importer import Connection, ImportOptions, check_file, run_import
from importer.errors import MappingError, UsageError
from tests.helpers import REPO, SAMPLE_SCHEMA, TOKEN

# database 2 of the sample schema
MAPPING = {
    "database": 2, "key": "email",
    "fields": {"email": {"column": "email", "transform": ["trim", "lower"], "validate": "email"},
               "firstname": "name", "age": "age", "weight": "weight", "birthdate": "born",
               "lastvisit": "seen", "zipcode": "address.zip"},
    "interests": {"newsletter": "newsletter", "football": {"column": "sports", "contains": "football"}},
}


def frame(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "email": [f"P{i}@example.com " for i in range(n)],
        "name": [f"Name {i}" if i != 2 else None for i in range(n)],
        "age": [30 + i if i != 3 else None for i in range(n)],      # an integer column with a gap: floats
        "weight": [70.25 + i for i in range(n)],
        "born": pd.to_datetime([f"1980-01-{i + 1:02d}" for i in range(n)]),
        "seen": pd.to_datetime([f"2025-03-0{1 + i % 9} 10:{i:02d}" for i in range(n)]),
        "newsletter": [i % 2 == 0 for i in range(n)],
        "sports": [["football"] if i % 2 else [] for i in range(n)],
        "address": [{"zip": f"{1000 + i}AB"} for i in range(n)],
    })


def connection(sandbox) -> Connection:
    return Connection(token=TOKEN, api_url=sandbox.api_url)


def test_a_dataframe_is_imported_with_the_same_checks_and_its_outcomes_come_back(tmp_path, sandbox):
    rows = frame()
    rows.loc[5, "email"] = "not an address"
    summary = run_import(ImportOptions(rows=rows, mapping=MAPPING, schema=SAMPLE_SCHEMA, keep_outcomes=True,
                                       results=tmp_path / "out.csv"), connection(sandbox))
    assert summary.counts["created"] == 5 and summary.counts["invalid"] == 1
    assert [o.row for o in summary.outcomes] == [1, 2, 3, 4, 5, 6]
    assert summary.outcomes[5].code == "invalid_email"
    stored = {p["fields"]["email"]: p for p in sandbox.profiles(2)}
    expected = {"age": "30", "weight": "70.25", "birthdate": "1980-01-01", "lastvisit": "2025-03-01 10:00:00",
                "zipcode": "1000AB"}
    assert {k: stored["p0@example.com"]["fields"][k] for k in expected} == expected
    assert stored["p3@example.com"]["fields"]["age"] == "0"        # NaN: an empty cell, not sent
    assert stored["p2@example.com"]["fields"]["firstname"] == ""
    assert stored["p0@example.com"]["interests"] == ["newsletter"]
    assert stored["p1@example.com"]["interests"] == ["football"]
    outcomes = summary.outcomes_frame()
    assert list(outcomes.columns)[:4] == ["row", "status", "profile_id", "subprofile_id"]
    assert str(outcomes["profile_id"].dtype) == "Int64"
    joined = rows.reset_index(drop=True).join(outcomes)
    assert joined.loc[0, "profile_id"] == stored["p0@example.com"]["ID"]
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig").count("\n") == 7


def test_any_iterable_of_dicts_is_read_once_and_a_check_sends_nothing(tmp_path, sandbox):
    def generate():
        for i in range(4):
            yield {"email": f"g{i}@example.com", "name": f"G {i}", "age": i, "seen": dt.datetime(2025, 1, 2, 3, 4),
                   "born": dt.date(1990, 1, 1 + i), "newsletter": "yes", "address": {"zip": None},
                   "weight": 60.5, "sports": ("football", "tennis")}
    checked = check_file(ImportOptions(rows=generate(), mapping=MAPPING, schema=SAMPLE_SCHEMA, keep_outcomes=True))
    assert [o.status.value for o in checked.outcomes] == ["valid"] * 4 and sandbox.stats()["posts"] == 0
    summary = run_import(ImportOptions(rows=generate(), mapping=MAPPING, schema=SAMPLE_SCHEMA,
                                       results=tmp_path / "g.csv"), connection(sandbox))
    assert summary.counts["created"] == 4
    assert sandbox.profiles(2)[3]["fields"]["lastvisit"] == "2025-01-02 03:04:00"


def test_rows_from_memory_resume_exactly_once_after_a_stop(tmp_path, sandbox):
    rows = [{"email": f"r{i}@example.com", "name": f"R {i}"} for i in range(60)]
    mapping = {"database": 2, "key": "email", "fields": {"email": "email", "firstname": "name"}}
    stop = threading.Event()
    seen = []

    def after_ten(outcome):
        seen.append(outcome)
        if len(seen) == 10:
            stop.set()
    sandbox.set_faults(latency_ms=5)
    first = run_import(ImportOptions(rows=rows, mapping=mapping, schema=SAMPLE_SCHEMA, workers=2,
                                     results=tmp_path / "r.csv"), connection(sandbox), stop=stop, on_outcome=after_ten)
    assert first.stopped is not None and first.exit_code == 3
    assert 10 <= len(sandbox.profiles(2)) < 60
    again = run_import(ImportOptions(rows=iter(rows), mapping=mapping, schema=SAMPLE_SCHEMA, resume=True,
                                     results=tmp_path / "r.csv"), connection(sandbox))
    assert again.exit_code == 0
    emails = sorted(p["fields"]["email"] for p in sandbox.profiles(2))
    assert emails == sorted(r["email"] for r in rows)
    other = [*rows[:59], {"email": "r59@example.com", "name": "changed"}]
    changed = run_import(ImportOptions(rows=other, mapping=mapping, schema=SAMPLE_SCHEMA, resume=True,
                                       results=tmp_path / "r.csv", keep_outcomes=True), connection(sandbox))
    assert changed.file_changed and changed.changed_rows == 1
    assert changed.outcomes[59].code == "changed_since_created" and len(sandbox.profiles(2)) == 60


def test_what_cannot_be_rows_is_refused_with_a_sentence():
    for rows, text in [([{"a": 1}, "b"], "row 2 of the rows given is str, not a dict"),
                       ({"a": 1}, "rows must be a pandas DataFrame or an iterable of dicts"),
                       ([], "the rows given are empty"),
                       (pd.DataFrame([[1, 2]], columns=["a", "a"]), "the DataFrame has columns with the same name: 'a'")]:
        with pytest.raises(UsageError, match=text):
            check_file(ImportOptions(rows=rows, mapping=MAPPING))
    with pytest.raises(UsageError, match="give either file or rows"):
        check_file(ImportOptions(file=Path("x.csv"), rows=[{"a": 1}], mapping=MAPPING))


def test_a_mapping_given_as_a_dict_gets_the_same_messages():
    bad = {"key": "email", "fields": {"email": {"colum": "email"}}, "duplicates": "newst"}
    with pytest.raises(MappingError) as caught:
        check_file(ImportOptions(rows=[{"email": "a@b.nl"}], mapping=bad))
    text = str(caught.value)
    assert text.startswith("the mapping given from Python: 2 problems")
    assert "fields.email: unknown setting 'colum'; did you mean 'column'?" in text
    assert "duplicates.keep: 'newst' is not allowed here; did you mean 'newest'?" in text


def test_nothing_imports_pandas_unless_a_dataframe_is_used(tmp_path):
    code = ("import sys; import importer.cli, importer.runner, importer.batch, importer.frames, importer.subprofiles, "
            "importer.reader, importer.sandbox.server; from importer import run_import, check_file, ImportOptions; "
            "check_file(ImportOptions(rows=[{'email': 'a@b.nl'}], mapping={'fields': {'email': 'email'}}));"
            "print('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "False", done.stderr
    text = (REPO / "pyproject.toml").read_text()
    dependencies = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "pandas" not in dependencies and 'pandas = ["pandas' in text
