"""Steps 3 and 4 of the page: the mapping as a table, re-checked at every change, and the full check.

The table starts as ``init``'s draft for the file and the chosen database
(or an opened mapping file); the live re-check reads the first
``LIVE_ROWS`` rows, the Check step every row, both with ``check_file`` (the
CLI's ``check``). ``OutcomeCollector`` gathers what the page shows of the
outcomes: counts, reasons by code with their rows, problems by column.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from importer.errors import CopernicaImportError, InputFileError, MappingError, UsageError
from importer.models import Outcome, Status
from importer.summary import RunSummary
from importer.ui.state import Msg as StateMsg
from importer.ui.state import State
from importer.ui.table import Line, MappingTable

LIVE_ROWS = 5000        # rows the mapping page re-checks at every change (the Check step reads them all)
KEEP_ROWS = 200         # rows kept per reason for the page (the reports hold them all)


class Msg:
    """What the mapping and check steps say."""
    NOT_A_MAPPING_FILE = "{name} is not a mapping file (.yaml or .yml)"
    COLUMN_EXAMPLE = "row {row}: {message}"


class Enough(Exception):
    """Raised by a collector that has seen its rows (the live re-check reads only the first ones)."""


@dataclass
class ReasonRows:
    """The rows of one status that share a reason code."""
    status: str
    code: str
    title: str
    count: int = 0
    rows: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)  # (row, sentence, columns)


class OutcomeCollector:
    """An ``on_outcome`` callback: counts, reasons by code with their rows, problems by column."""

    def __init__(self, limit: int | None = None, keep: int = KEEP_ROWS) -> None:
        self.limit = limit
        self.keep = keep
        self.counts: Counter = Counter()
        self.groups: dict[tuple[str, str], ReasonRows] = {}
        self.column_problems: Counter = Counter()
        self.column_examples: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, outcome: Outcome) -> None:
        with self._lock:
            self.counts[outcome.status.value] += 1
            seen: set[str] = set()
            for reason in outcome.reasons:
                column = reason.params.get("column")
                if column is not None and outcome.status is Status.INVALID:
                    self.column_problems[column] += 1
                    self.column_examples.setdefault(column, Msg.COLUMN_EXAMPLE.format(row=outcome.row,
                                                                                     message=reason.message))
                if reason.code in seen:
                    continue
                seen.add(reason.code)
                group = self.groups.get((outcome.status.value, reason.code))
                if group is None:
                    group = self.groups[outcome.status.value, reason.code] = ReasonRows(
                        outcome.status.value, reason.code, reason.title)
                group.count += 1
                if len(group.rows) < self.keep:
                    columns = tuple(r.params["column"] for r in outcome.reasons
                                    if r.code == reason.code and "column" in r.params)
                    group.rows.append((outcome.row, outcome.error, columns))
            if self.limit is not None and self.total >= self.limit:
                raise Enough

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def sorted_groups(self) -> list[ReasonRows]:
        return sorted(self.groups.values(), key=lambda g: (-g.count, g.status, g.code))


@dataclass
class LiveCheck:
    """The mapping page's re-check: the first LIVE_ROWS rows."""
    error: str | None = None
    collector: OutcomeCollector | None = None
    rows: int = 0
    complete: bool = True               # every row of the file was checked

    @property
    def valid(self) -> int:
        return self.collector.counts[Status.VALID.value] if self.collector else 0


@dataclass
class CheckResult:
    summary: RunSummary
    collector: OutcomeCollector
    report: Path
    mapping_text: str


class MappingSteps(State):
    """The draft, an opened mapping, the YAML of the table, the live re-check and the full check."""

    def draft(self) -> None:
        """The `init` draft for the file and the chosen database, as the table."""
        from importer.draft import draft_mapping
        from importer.mapping.load import parse_yaml
        from importer.mapping.spec import validated

        upload = self.require_upload()
        detection = upload.detection
        if detection is None or detection.error:
            return
        schema = self.destination.schema if self.destination is not None else None
        text = draft_mapping(detection.headers, self.sample_rows, schema,
                             database_id=schema.id if schema is not None else None)
        data, lines = parse_yaml(text, "the draft")
        try:
            self.table = MappingTable.from_mapping(validated(data, "the draft", lines), detection.headers)
        except MappingError:   # a draft that maps nothing: every column, not imported yet
            self.table = MappingTable([Line(column=h) for h in detection.headers],
                                      database=schema.id if schema is not None else None)
        self.table.header_row = upload.header_row
        self.mapping_name = Path(upload.name).stem + ".yaml"
        self.live = None
        self.check = None

    def open_mapping(self, name: str, save) -> None:
        """An existing mapping file, as the table (validated as the CLI validates it)."""
        from importer.mapping import load_mapping

        self.require_idle()
        upload = self.require_upload()
        if upload.detection is None or upload.detection.error:
            raise UsageError(StateMsg.NO_FILE)
        if not name.lower().endswith((".yaml", ".yml")):
            raise UsageError(Msg.NOT_A_MAPPING_FILE.format(name=name))
        path = self.folder / "uploads" / "opened.yaml"
        save(path)
        try:
            mapping = load_mapping(path)
        except MappingError as exc:
            raise MappingError(str(exc).replace(str(path), name)) from None
        if mapping.header_row is not None and mapping.header_row != upload.header_row:
            self.read_with_header_row(mapping.header_row)     # the file as the mapping reads it
            if upload.detection is None or upload.detection.error:
                raise InputFileError(upload.detection.error if upload.detection else StateMsg.NO_FILE)
        self.table = MappingTable.from_mapping(mapping, upload.detection.headers)
        self.table.header_row = upload.header_row
        if self.destination is not None and self.destination.schema is not None:
            self.table.database = self.destination.schema.id
        self.mapping_name = Path(name).name
        self.live = None
        self.check = None

    def mapping_text(self) -> str:
        """The YAML of the table (MappingError when the table is not a valid mapping)."""
        upload = self.require_upload()
        return self.require_table().yaml_text(upload.name, self.mapping_name)

    def write_mapping(self, path: Path) -> str:
        text = self.mapping_text()
        path.write_text(text, encoding="utf-8")
        return text

    def live_check(self) -> LiveCheck:
        """Checks the first LIVE_ROWS rows with the table as it is now."""
        from importer.runner import check_file

        path = self.folder / "uploads" / "mapping.yaml"
        self.check = None          # the mapping may have changed: the Check step reads the file again
        try:
            self.write_mapping(path)
        except MappingError as exc:
            self.live = LiveCheck(error=str(exc))
            return self.live
        collector = OutcomeCollector(limit=LIVE_ROWS)
        complete = True
        try:
            check_file(self._options(path, dry_run=True), on_outcome=collector)
        except Enough:
            complete = False
        except CopernicaImportError as exc:
            self.live = LiveCheck(error=str(exc).replace(str(path), "the mapping"))
            return self.live
        self.live = LiveCheck(collector=collector, rows=collector.total, complete=complete)
        return self.live

    def run_check(self) -> CheckResult:
        from importer.runner import check_file

        self.require_idle()
        path = self.folder / "uploads" / "mapping.yaml"
        text = self.write_mapping(path)
        report = self.folder / "uploads" / (Path(self.require_upload().name).stem + ".check.csv")
        collector = OutcomeCollector()
        try:
            summary = check_file(self._options(path, dry_run=True), report=report, on_outcome=collector)
        except MappingError as exc:
            raise MappingError(str(exc).replace(str(path), "the mapping")) from None
        self.check = CheckResult(summary, collector, report, text)
        return self.check

    def _options(self, mapping: Path, *, dry_run: bool):
        from importer.runner import ImportOptions

        upload = self.require_upload()
        schema = self.schema_path if self.destination is not None and self.destination.schema else None
        return ImportOptions(file=upload.path, mapping=mapping, schema=schema, dry_run=dry_run,
                             encoding=upload.encoding, delimiter=upload.delimiter, sheet=upload.sheet)


def report_rows(report: Path, wanted: set[int]) -> tuple[list[str], dict[int, dict[str, str]]]:
    """The source columns of a check report or results file, and the cells of the ``wanted`` rows."""
    from importer.results import is_workbook, read_results, source_values

    columns: list[str] = []
    cells: dict[int, dict[str, str]] = {}
    try:
        for line in read_results(report):
            values, ours = source_values(line, neutralised=not is_workbook(report))
            if not columns:
                columns = list(values)
            number = int(ours["row"])
            if number in wanted:
                cells[number] = values
    except (OSError, InputFileError):
        pass
    return columns, cells
