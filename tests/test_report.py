"""The HTML report (--report-html), read back with html.parser the way a
browser would see it, beside the JSON summary of the same run."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from importer.models import Outcome, Reason, Status
from importer.report import render_html, write_html_report
from importer.summary import RunSummary
from tests.helpers import SAMPLE_CSV, SAMPLE_MAPPING, cli


class ReportParser(HTMLParser):
    """Collects what a reader of the report sees: status rows, reasons, chart."""

    def __init__(self) -> None:
        super().__init__()
        self.status_counts: dict[str, int] = {}
        self.reasons: list[list[str]] = []
        self.scripts = 0
        self.external_refs: list[str] = []
        self.has_chart = False
        self.exit_code = ""
        self.text: list[str] = []
        self._status: str | None = None
        self._in_count = False
        self._reason: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_exit = False

    @classmethod
    def of(cls, page: str) -> "ReportParser":
        parser = cls()
        parser.feed(page)
        parser.close()
        return parser

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            if a.get(name):
                self.external_refs.append(a[name])
        if tag == "link":
            self.external_refs.append(a.get("href", "link"))
        if tag == "polyline" and len((a.get("points") or "").split()) >= 2:
            self.has_chart = True
        if tag == "tr" and "status" in classes:
            self._status = a["data-status"]
        if tag == "td" and "count" in classes and self._status:
            self._in_count = True
        if tag == "tr" and "reason" in classes:
            self._reason = []
        if tag == "td" and self._reason is not None:
            self._cell = []
        if a.get("id") == "exit-code":
            self._in_exit = True

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._reason is not None:
            self._reason.append("".join(self._cell))
            self._cell = None
        if tag == "tr":
            if self._reason is not None:
                self.reasons.append(self._reason)
            self._reason, self._status = None, None
        if tag == "td":
            self._in_count = False
        if tag == "span":
            self._in_exit = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_count and self._status:
            self.status_counts[self._status] = int(data.replace(",", ""))
        if self._cell is not None:
            self._cell.append(data)
        if self._in_exit:
            self.exit_code += data


def summary_with(outcomes: list[Outcome], throughput=None) -> RunSummary:
    s = RunSummary(results_path=Path("out.results.csv"), file=Path("drops/orders.csv"))
    for o in outcomes:
        s.add(o)
    s.elapsed = 2.0
    s.throughput = throughput if throughput is not None else [(0.0, 0), (1.0, 2), (2.0, len(outcomes))]
    return s


def bad_email(value: str) -> Reason:
    return Reason("invalid_email", "column {column!r}: {value!r} is not a valid email address",
                  {"column": "Email", "value": value})


def test_counts_reasons_grouped_by_code_and_chart_are_in_the_page():
    outcomes = [Outcome(n, Status.CREATED, profile_id=n) for n in range(2, 12)]
    outcomes += [Outcome(12, Status.INVALID, reasons=(bad_email("x"),)),
                 Outcome(13, Status.INVALID, reasons=(bad_email("y"),)),
                 Outcome(14, Status.FAILED, reasons=(Reason("refused", "Copernica refused the profile: {detail}",
                                                            {"detail": "bad"}),))]
    page = ReportParser.of(render_html([summary_with(outcomes)], exit_code=1))
    assert page.status_counts == {"created": 10, "invalid": 2, "failed": 1}
    assert page.exit_code == "1"
    invalid = [r for r in page.reasons if r[0] == "invalid"]
    # one line per code with its total; the first row's whole sentence, values and all
    # (and the cell it is about: an example value per reason, issue 14)
    assert invalid == [["invalid", "2", "invalid_email not a valid email address"
                        "e.g. row 12: column 'Email': 'x' is not a valid email address"
                        "value in column Email: 'x'", "12, 13"]]
    assert ["failed", "1", "refused Copernica refused it"
            "e.g. row 14: Copernica refused the profile: bad", "14"] in page.reasons
    # self-contained: no script or style from elsewhere; the one link is to the results file beside it
    assert page.has_chart and page.scripts == 0 and page.external_refs == ["out.results.csv"]
    assert "orders.csv" in "".join(page.text) and "out.results.csv" in "".join(page.text)


def test_values_from_the_file_are_escaped_not_run():
    evil = Reason("too_long", "column {column!r}: {value!r} is too long", {"column": "Name",
                                                                          "value": "<script>alert(1)</script>"})
    page_text = render_html([summary_with([Outcome(2, Status.INVALID, reasons=(evil,))])], exit_code=1)
    page = ReportParser.of(page_text)
    assert page.scripts == 0 and "<script>" not in page_text
    assert "<script>alert(1)</script>" in "".join(page.text)  # shown as text


def test_a_short_run_has_no_chart_and_an_error_is_shown(tmp_path):
    path = write_html_report(tmp_path / "r.html", [summary_with([], throughput=[(0.0, 0)])], exit_code=2,
                             error="the mapping names no database")
    page = ReportParser.of(path.read_text(encoding="utf-8"))
    assert not page.has_chart and page.exit_code == "2"
    assert "the mapping names no database" in "".join(page.text)
    assert "too short for a throughput chart" in "".join(page.text)


# -- summary JSON and HTML report -------------------------------------------------------------

def test_summary_json_and_html_report_describe_the_sample_import(sandbox, tmp_path):
    done = cli("run", str(SAMPLE_CSV), "--mapping", str(SAMPLE_MAPPING), "--api-url", sandbox.api_url,
               "--summary-json", "s.json", "--report-html", "r.html", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # six rows are invalid
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["exit_code"] == 1 and data["error"] is None and data["rows"] == 200
    assert data["counts"] == {"created": 189, "skipped": 5, "invalid": 6, "failed": 0}
    (one,) = data["files"]
    assert one["file"] == str(SAMPLE_CSV) and one["counts"] == data["counts"]
    assert Path(one["results"]) == tmp_path / "contacts.results.csv"
    assert Path(one["journal"]).exists()
    invalid_rows = sorted(row for r in one["reasons"] if r["status"] == "invalid" for row in r["rows"])
    assert invalid_rows == [12, 37, 58, 83, 121, 160]
    assert sum(r["count"] for r in one["reasons"] if r["status"] == "skipped") == 5
    assert one["throughput"][0] == [0.0, 0] and one["throughput"][-1][1] == 200

    page = ReportParser.of((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert page.status_counts == {"created": 189, "skipped": 5, "invalid": 6}
    assert page.exit_code == "1"
    assert sorted(int(n) for r in page.reasons if r[0] == "invalid" for n in re.findall(r"\d+", r[3])) == \
        invalid_rows
    # self-contained: no script, style or font from elsewhere; the one link is to the results file beside it
    assert page.has_chart and not page.scripts and page.external_refs == ["contacts.results.csv"]
