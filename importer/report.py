"""The HTML report: one self-contained page a marketer can open or mail on.

No JavaScript, no external style sheet, font or CDN: inline CSS bars for the
statuses and an inline SVG line for the throughput, so the file shows the
same offline, in a mail client, or years later.

Each file's section opens with its audit trail (the database's ID and name,
the API host, the mapping file and its sha256, the tool's version, the user
and the machine, start and end), links the results file (relative to the
report, so the two can be moved or mailed together), and shows per reason an
example value: the cell the first row's reason is about.
"""
from __future__ import annotations

import os
from datetime import datetime
from html import escape
from pathlib import Path
from urllib.parse import quote

from importer.models import Status
from importer.summary import RunSummary

# one colour per status, readable for the common colour-blindnesses
STATUS_COLOURS = {
    Status.CREATED: "#1b7f3b", Status.UPDATED: "#2f6db5", Status.SKIPPED: "#8a8a8a",
    Status.INVALID: "#c77c02", Status.FAILED: "#b3261e", Status.UNKNOWN: "#6b3fa0", Status.VALID: "#1b7f3b",
}
STATUS_MEANINGS = {
    Status.CREATED: "a new profile was made",
    Status.UPDATED: "an existing profile was changed",
    Status.SKIPPED: "left out on purpose (a duplicate in the file, or the person exists already)",
    Status.INVALID: "not sent: a value in the row is wrong; fix the row and import it again",
    Status.FAILED: "sent, but Copernica refused it or could not be reached",
    Status.UNKNOWN: "sent, but whether it arrived cannot be known; check in Copernica",
    Status.VALID: "would be sent",
}
CHART_WIDTH, CHART_HEIGHT, MARGIN = 640, 220, 48


class Msg:
    """The report's own words (the page's fixed headings are in the HTML below)."""
    AUDIT = {"database": "Database", "api_host": "API host", "mapping": "Mapping file", "tool_version": "Tool",
             "user": "User", "machine": "Machine", "started": "Started", "finished": "Finished"}
    DATABASE = "{id} ({name})"
    DATABASE_NO_NAME = "{id}"
    NOT_KNOWN = "not known"
    NO_API = "none (checked against a structure file, nothing sent)"
    MAPPING = "{path} (sha256 {digest})"
    TOOL = "copernica-import {version}"
    EXAMPLE = "e.g. row {row}: {example}"
    EXAMPLE_VALUE = "value: {value}"
    EXAMPLE_VALUE_IN = "value in column {column}: {value}"
    EMPTY_VALUE = "(empty)"
    RESULTS = "Every row with its status: {link} (open it in Excel and filter on the <i>status</i> column)."
    NOTES = "Notes"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:60em;color:#222;
padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.3em .8em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{height:1.1em;min-width:1px;display:inline-block;vertical-align:middle}
.barcell{width:22em}.muted{color:#666}.stopped{background:#fdecea;padding:.6em;border-left:4px solid #b3261e}
"""


def write_html_report(path: Path, summaries: list[RunSummary], *, exit_code: int,
                      error: str | None = None, notes: list[str] | None = None) -> Path:
    path = Path(path)
    path.write_text(render_html(summaries, exit_code=exit_code, error=error, notes=notes, base=path.parent),
                    encoding="utf-8")
    return path


def render_html(summaries: list[RunSummary], *, exit_code: int, error: str | None = None,
                notes: list[str] | None = None, base: Path | None = None) -> str:
    """The page; ``base`` is the report's folder (links to results files are relative to it)."""
    created = datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>Copernica import report</title>", f"<style>{_CSS}</style></head><body>",
        "<h1>Copernica import report</h1>",
        f'<p class="muted">Made {escape(created)}. Exit code <span id="exit-code">{exit_code}</span>: '
        f"{escape(_exit_meaning(exit_code))}</p>",
    ]
    if error:
        parts.append(f'<p class="stopped" id="error">{escape(error)}</p>')
    for note in notes or []:
        parts.append(f'<p class="muted note">{escape(note)}</p>')
    for index, summary in enumerate(summaries, start=1):
        parts.append(_file_section(summary, index, base or Path.cwd()))
    parts.append("</body></html>")
    return "\n".join(parts)


def _exit_meaning(code: int) -> str:
    from importer.summary import EXIT_CODES

    return EXIT_CODES.get(code, ("", "unexpected"))[1]


def _file_section(summary: RunSummary, index: int, base: Path) -> str:
    name = Path(summary.file).name if summary.file else f"file {index}"
    out = [f'<section class="file" id="file-{index}">', f"<h2>{escape(name)}</h2>", _audit_table(summary)]
    if summary.stopped:
        out.append(f'<p class="stopped">The run stopped early ({escape(summary.stopped.value)}).</p>')
    out.append(_counts_table(summary))
    out.append(f'<p>{summary.rows:,} rows in {summary.elapsed:.1f} s '
               f'(<span class="rate">{summary.rows_per_second:,.0f}</span> rows per second); '
               f"{summary.empty_rows:,} empty rows skipped.</p>")
    if summary.results_path:
        out.append(f"<p>{Msg.RESULTS.format(link=_results_link(summary.results_path, base))}</p>")
    if summary.notes:
        out.append(f"<h3>{Msg.NOTES}</h3>")
        out += [f'<p class="note" data-code="{escape(n.code)}">{escape(n.message)}</p>' for n in summary.notes]
    out.append(_reasons_table(summary))
    out.append(_throughput_chart(summary.throughput))
    out.append("</section>")
    return "\n".join(out)


def _results_link(results: Path, base: Path) -> str:
    """A link to the results file, relative to the report's folder (absolute when on another drive)."""
    try:
        target = os.path.relpath(Path(results).resolve(), Path(base).resolve())
    except ValueError:
        target = Path(results).resolve().as_uri()
    href = target if "://" in target else quote(target.replace(os.sep, "/"))
    return f'<a class="results" href="{escape(href)}"><code>{escape(str(results))}</code></a>'


def _audit_table(summary: RunSummary) -> str:
    """Who ran what, where, against which database, when."""
    audit = summary.audit()
    if audit["database_id"] is None:
        database = Msg.NOT_KNOWN
    elif audit["database_name"]:
        database = Msg.DATABASE.format(id=audit["database_id"], name=audit["database_name"])
    else:
        database = Msg.DATABASE_NO_NAME.format(id=audit["database_id"])
    values = {
        "database": database,
        "api_host": audit["api_host"] or Msg.NO_API,
        "mapping": Msg.MAPPING.format(path=audit["mapping"], digest=audit["mapping_sha256"] or Msg.NOT_KNOWN)
        if audit["mapping"] else Msg.NOT_KNOWN,
        "tool_version": Msg.TOOL.format(version=audit["tool_version"]),
        "user": audit["user"], "machine": audit["machine"],
        "started": audit["started"], "finished": audit["finished"],
    }
    rows = "".join(f'<tr data-audit="{key}"><th>{escape(Msg.AUDIT[key])}</th><td>{escape(str(value))}</td></tr>'
                   for key, value in values.items())
    return f'<table class="audit">{rows}</table>'


def _counts_table(summary: RunSummary) -> str:
    statuses = [s for s in Status if summary.counts[s]]
    biggest = max((summary.counts[s] for s in statuses), default=0)
    rows = []
    for s in statuses:
        count = summary.counts[s]
        share = 100.0 * count / summary.rows if summary.rows else 0.0
        width = 100.0 * count / biggest if biggest else 0.0
        rows.append(
            f'<tr class="status" data-status="{s.value}"><th>{s.value}</th>'
            f'<td class="n count">{count:,}</td><td class="n">{share:.1f}%</td>'
            f'<td class="barcell"><span class="bar" style="width:{width:.1f}%;background:{STATUS_COLOURS[s]}" '
            f'title="{s.value}: {count:,}"></span></td><td class="muted">{escape(STATUS_MEANINGS[s])}</td></tr>')
    if not rows:
        rows.append('<tr><td colspan="5">No rows.</td></tr>')
    return ('<table class="counts"><tr><th>status</th><th>rows</th><th>share</th><th></th><th>meaning</th></tr>'
            + "".join(rows) + "</table>")


def _reasons_table(summary: RunSummary) -> str:
    reasons = summary.top_reasons(50)
    if not reasons:
        return '<p class="no-reasons">No row was invalid, failed or skipped.</p>'
    rows = []
    for group in reasons:
        examples = ", ".join(str(n) for n in group.rows) + (", …" if group.count > len(group.rows) else "")
        value = ""
        if group.example_value is not None:
            shown = f"'{group.example_value}'" if group.example_value else Msg.EMPTY_VALUE
            template = Msg.EXAMPLE_VALUE_IN if group.example_column else Msg.EXAMPLE_VALUE
            value = (f'<br><span class="example-value">'
                     f'{escape(template.format(column=group.example_column, value=shown))}</span>')
        example = Msg.EXAMPLE.format(row=group.example_row, example=group.example)
        rows.append(f'<tr class="reason"><td>{escape(group.status)}</td><td class="n">{group.count:,}</td>'
                    f'<td><code class="code">{escape(group.code)}</code> {escape(group.title)}'
                    f'<br><span class="example">{escape(example)}</span>{value}</td>'
                    f'<td class="rows">{escape(examples)}</td></tr>')
    return ("<h3>Why rows were not imported</h3>"
            '<p class="muted">Row numbers are as your spreadsheet program shows them (the header is row 1). '
            'Filter the results file on its <code>code</code> column to see every row of one kind.</p>'
            '<table class="reasons"><tr><th>status</th><th>rows</th><th>reason</th><th>example rows</th></tr>'
            + "".join(rows) + "</table>")


def _throughput_chart(samples: list[tuple[float, int]]) -> str:
    """Rows done over time as an SVG line; its slope is the speed."""
    if len(samples) < 2 or samples[-1][0] <= 0:
        return '<p class="muted no-chart">The run was too short for a throughput chart.</p>'
    t_max = samples[-1][0]
    n_max = max(n for _, n in samples) or 1
    plot_w, plot_h = CHART_WIDTH - 2 * MARGIN, CHART_HEIGHT - 2 * MARGIN

    def xy(t: float, n: int) -> str:
        return f"{MARGIN + plot_w * t / t_max:.1f},{MARGIN + plot_h * (1 - n / n_max):.1f}"

    points = " ".join(xy(t, n) for t, n in samples)
    bottom, right = MARGIN + plot_h, MARGIN + plot_w
    return (
        "<h3>Throughput over time</h3>"
        f'<svg class="throughput" xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
        f'role="img" aria-label="rows done over time">'
        f'<line x1="{MARGIN}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>'
        f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{bottom}" stroke="#999"/>'
        f'<polyline fill="none" stroke="#2f6db5" stroke-width="2" points="{points}"/>'
        f'<text x="{MARGIN}" y="{bottom + 18}" font-size="12">0 s</text>'
        f'<text x="{right}" y="{bottom + 18}" font-size="12" text-anchor="end">{t_max:.1f} s</text>'
        f'<text x="{MARGIN - 6}" y="{MARGIN + 4}" font-size="12" text-anchor="end">{n_max:,}</text>'
        f'<text x="{MARGIN - 6}" y="{bottom}" font-size="12" text-anchor="end">0</text>'
        f'<text x="{CHART_WIDTH / 2}" y="{MARGIN - 16}" font-size="12" text-anchor="middle">rows done</text>'
        "</svg>")
