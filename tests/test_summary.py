"""The summary groups reasons by their code: one line per kind of reason with
its total, example rows and the first row's whole sentence; the same groups
in the JSON summary, and the code of every row in the results file.

Seen by a user before reasons had codes: nine lines of "1 invalid: ... is
ambiguous ..." instead of one line with 9, reasons cut in the middle ("(yes:
ja" where the text is "(yes: ja; no: nee)"), row numbers masked ("duplicate
of row …", "row …,002 opens a quote").
"""
from __future__ import annotations

import json

from importer.models import Outcome, Reason, Status, StopReason
from importer.summary import EXAMPLE_ROWS, SUMMARY_SCHEMA_VERSION, RunSummary
from tests.helpers import PEOPLE_MAPPING, SAMPLE_SCHEMA, cli, people, read_results, write_csv, write_mapping

# database 2 of the sample schema: birthdate is a date field, optin a select (yes, no)
MAPPING = """\
database: 2
key: email
fields:
  email: Email
  birthdate: Born
  optin: Optin
interests:
  newsletter: {column: Newsletter, truthy: [ja], falsy: [nee]}
"""
HEADER = ("Email", "Born", "Optin", "Newsletter")
# nine different dates that read as day-month and as month-day (no date_format in the mapping)
AMBIGUOUS = [f"{i + 1:02d}-{i + 2:02d}-{1980 + i}" for i in range(9)]


def ambiguous_rows() -> list[tuple[str, ...]]:
    good = [(f"p{i}@example.com", "1980-09-03", "yes", "ja") for i in range(3)]
    return good + [(f"a{i}@example.com", date, "yes", "nee") for i, date in enumerate(AMBIGUOUS)]


def reason_lines(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    return lines[lines.index("Reasons:") + 1:lines.index("Reasons:") + 1 + 2 * 20]


def test_nine_different_ambiguous_dates_are_one_summary_line_with_9(tmp_path):
    assert len(set(AMBIGUOUS)) == 9
    src = write_csv(tmp_path / "in.csv", ambiguous_rows(), header=HEADER)
    m = write_mapping(tmp_path / "m.yaml", MAPPING)
    done = cli("check", str(src), "--mapping", str(m), "--schema", str(SAMPLE_SCHEMA),
               "--report", str(tmp_path / "report.csv"), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    grouped = [line for line in done.stdout.splitlines() if "ambiguous_date" in line]
    assert len(grouped) == 1, done.stdout
    assert grouped[0].split()[:3] == ["9", "invalid", "ambiguous_date:"]
    assert "a date that can be read in two ways" in grouped[0] and "(rows 5, 6, 7, 8, 9, ...)" in grouped[0]
    example = done.stdout.splitlines()[done.stdout.splitlines().index(grouped[0]) + 1]
    assert example.strip().startswith("e.g. row 5: column 'Born': ") and "01-02-1980" in example
    report = read_results(tmp_path / "report.csv")
    assert [line["code"] for line in report] == [""] * 3 + ["ambiguous_date"] * 9
    assert [date in line["error"] for date, line in zip(AMBIGUOUS, report[3:])] == [True] * 9  # its own value


def test_run_summary_json_groups_by_code_and_the_results_file_has_a_code_column(tmp_path, sandbox):
    src = write_csv(tmp_path / "in.csv", ambiguous_rows(), header=HEADER)
    m = write_mapping(tmp_path / "m.yaml", MAPPING)
    done = cli("run", str(src), "--mapping", str(m), "--api-url", sandbox.api_url, "--summary-json", "s.json",
               "--quiet", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    data = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert data["schema_version"] == SUMMARY_SCHEMA_VERSION
    (one,) = data["files"]
    (group,) = one["reasons"]
    assert group["status"] == "invalid" and group["code"] == "ambiguous_date" and group["count"] == 9
    assert group["title"] == "a date that can be read in two ways"
    assert group["rows"] == [5, 6, 7, 8, 9]
    assert group["example"].startswith("column 'Born': ") and "01-02-1980" in group["example"]
    lines = read_results(tmp_path / "in.results.csv")
    header = list(lines[0])
    assert header[header.index("error") + 1] == "code"
    assert [(line["status"], line["code"]) for line in lines] == \
        [("created", "")] * 3 + [("invalid", "ambiguous_date")] * 9
    assert len(sandbox.profiles(2)) == 3


def test_a_row_with_a_bad_date_and_a_bad_choice_has_both_codes(tmp_path):
    rows = [("a@example.com", "31-02-1980", "maybe", "ja"), ("b@example.com", "1980-02-30", "yes", "ja")]
    src = write_csv(tmp_path / "in.csv", rows, header=HEADER)
    m = write_mapping(tmp_path / "m.yaml", MAPPING)
    done = cli("check", str(src), "--mapping", str(m), "--schema", str(SAMPLE_SCHEMA),
               "--report", str(tmp_path / "report.csv"), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    first, second = read_results(tmp_path / "report.csv")
    assert first["code"] == "invalid_date;not_a_choice"
    assert "'Born'" in first["error"] and "'maybe'" in first["error"] and "; " in first["error"]
    assert second["code"] == "invalid_date"
    # the summary counts each code once per row: 2 rows with invalid_date, 1 with not_a_choice
    counts = {line.split()[2]: line.split()[0] for line in reason_lines(done.stdout) if line.split()[1] == "invalid"}
    assert counts == {"invalid_date:": "2", "not_a_choice:": "1"}


def test_reasons_are_never_cut_and_row_numbers_never_masked(tmp_path):
    """Problems only past row 1,000: a duplicate, a yes/no value that is neither,
    and a quote left open on the last line."""
    rows = [(f"p{i}@example.com", "1980-09-03", "yes", "ja") for i in range(1000)]
    rows += [("dup@example.com", "1980-09-03", "yes", "ja"), ("dup@example.com", "1980-09-03", "yes", "ja"),
             ("x@example.com", "1980-09-03", "yes", "misschien")]
    src = write_csv(tmp_path / "in.csv", rows, header=HEADER)
    with open(src, "a", encoding="utf-8") as f:
        f.write('q@example.com,1980-09-03,yes,"ja\n')
    m = write_mapping(tmp_path / "m.yaml", MAPPING)
    done = cli("check", str(src), "--mapping", str(m), "--schema", str(SAMPLE_SCHEMA), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "duplicate: the same key as another row of the file  (row 1003)" in out
    assert "e.g. row 1003: duplicate of row 1002" in out
    assert ("e.g. row 1004: column 'Newsletter': 'misschien' is not a yes/no value for interest 'newsletter' "
            "(yes: ja; no: nee)") in out
    assert "e.g. row 1005: row 1,005 opens a quote" in out
    assert "…" not in out


def test_the_json_summary_of_a_stopped_command_has_its_error(tmp_path, sandbox):
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING.replace("database: 2", "database: 99"))
    write_csv(tmp_path / "a.csv", people(3))
    done = cli("run", "a.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url,
               "--summary-json", "s.json", cwd=tmp_path)
    assert done.returncode == 2
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["exit_code"] == 2 and "99" in data["error"] and data["files"] == []
    assert data["schema_version"] == SUMMARY_SCHEMA_VERSION


# -- RunSummary itself ---------------------------------------------------------------------------
def too_long(value: str) -> Reason:
    return Reason("too_long", "column {column!r}: {value!r} is longer than {length} characters",
                  {"column": "Name", "value": value, "length": 5})


def test_groups_are_per_status_and_code_with_a_total_and_the_first_rows():
    summary = RunSummary()
    for row in range(2, 12):
        summary.add(Outcome(row, Status.INVALID, reasons=(too_long(f"name {row}"),)))
    summary.add(Outcome(12, Status.FAILED, reasons=(Reason("refused", "Copernica refused the profile: {d}",
                                                           {"d": "too long"}),)))
    summary.add(Outcome(13, Status.CREATED, 7))
    (invalid, failed) = summary.top_reasons()
    assert (invalid.status, invalid.code, invalid.count) == ("invalid", "too_long", 10)
    assert invalid.rows == list(range(2, 2 + EXAMPLE_ROWS)) and invalid.example_row == 2
    assert invalid.example == "column 'Name': 'name 2' is longer than 5 characters"
    assert (failed.status, failed.code, failed.count, failed.rows) == ("failed", "refused", 1, [12])
    text = summary.format_text()
    assert "       10 invalid  too_long: longer than the field holds  (rows 2, 3, 4, 5, 6, ...)" in text
    assert "e.g. row 2: column 'Name': 'name 2' is longer than 5 characters" in text
    assert "        1 failed   refused: Copernica refused it  (row 12)" in text


def test_a_row_with_two_reasons_of_one_code_counts_once():
    summary = RunSummary()
    summary.add(Outcome(2, Status.INVALID, reasons=(too_long("abcdefg"), too_long("hijklmn"))))
    (group,) = summary.top_reasons()
    assert group.count == 1 and group.rows == [2]


def test_the_exit_code_follows_the_stop_and_what_was_sent():
    summary = RunSummary()
    summary.add(Outcome(2, Status.CREATED, 1))
    assert summary.exit_code == 0
    summary.add(Outcome(3, Status.INVALID, reasons=(too_long("abcdefg"),)))
    assert summary.exit_code == 1
    summary.stopped = StopReason.INTERRUPTED
    assert summary.exit_code == 3
    data = summary.to_dict()
    assert data["stopped"] == "interrupted" and data["reasons"][0]["code"] == "too_long"
