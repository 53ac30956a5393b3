"""One file up to its first send: the options, the mapping, the database's structure, the rows classified.

``check_file`` is all of it and no sending: every row read, mapped and
checked (against the database's structure when there is one), each with what
a run would do with it (``valid`` for a row that would be sent); ``--report``
writes that as a results file. ``importer.runner`` starts from the same
steps: ``load_run_mapping``, ``resolve_schema``, ``build_index`` (the first
pass that ``duplicates: last``, ``newest`` and ``oldest`` need), ``prepare``
(the file opened, the mapping fitted to it) and ``classify`` (each row as a
``Profile`` to send or an ``Outcome`` decided here: invalid, a duplicate, or
done by the run whose results file is imported again).
"""
from __future__ import annotations

import dataclasses
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.connection import DEFAULT_WORKERS, Connection
from importer.dedupe import DuplicateIndex
from importer.errors import UsageError
from importer.mapping import Mapping, RowConverter, compile_mapping, load_mapping
from importer.mapping.spec import mapping_from_dict
from importer.models import Outcome, Profile, Reason, Row, RowError, Status
from importer.reader import Sheet, open_sheet
from importer.results import (
    guarded,
    is_results_header,
    open_results_writer,
    sent_cells,
    sent_labels,
    source_columns,
    source_values,
    with_extra_cells,
)
from importer.schema import DatabaseSchema, load_schema_file
from importer.summary import RunSummary

if TYPE_CHECKING:
    from importer.client import CopernicaClient

# a results file imported again: only its invalid and failed rows are sent
DONE_BEFORE = ("created", "updated", "skipped", "unknown")


class Msg:
    """What preparing and checking a file says."""
    DUPLICATE = "duplicate of row {row}"
    DUPLICATE_LAST = "duplicate of row {row} (the later row is imported)"
    DONE_BEFORE = "already {status} in the run this results file came from{profile}; not sent again"
    DONE_BEFORE_PROFILE = " (profile {pid})"
    NO_DATABASE = "the mapping names no database: add `database: ID` to it or use --database"
    DUPLICATE_RANKED = "duplicate of row {row}, whose {column!r} is {which} ({value})"
    DUPLICATE_UNRANKED = ("duplicate of row {row}: this row's {column!r} ({value}) is not one of the {reading} the "
                          "column holds, so the row whose {column!r} is {which} ({winner}) was imported")
    DUPLICATE_NEITHER = ("duplicate of row {row}: neither this row's {column!r} ({value}) nor that row's ({winner}) "
                         "is one of the {reading} the column holds, so the later row was imported")
    EMPTY = "empty"
    RANK_WORDS = {"newest": "newer", "oldest": "older"}
    NO_MAPPING = "ImportOptions needs a mapping: a mapping file's path, or its settings as a dict"
    RANK_COLUMN_MISSING = ("{source}: duplicates.by: the file has no column {column!r}{hint} (its columns: {columns})")


@dataclass
class ImportOptions:
    """What to import and how; where to send it is a ``Connection``.

    ``file`` or ``rows``: a file, or rows from memory (a pandas DataFrame or an
    iterable of dicts, see ``importer.frames``). ``mapping``: a mapping file's
    path, its settings as a dict, or a ``Mapping``."""
    file: Path | None = None
    mapping: "Path | dict | Mapping | None" = None
    database: int | None = None        # overrides the mapping's
    results: Path | None = None        # default: <input name>.results.csv in the current folder
    schema: Path | None = None         # check against this structure file instead of asking the API
    dry_run: bool = False
    resume: bool = False
    overwrite: bool = False
    workers: int = DEFAULT_WORKERS     # requests in flight at most
    on_existing: str | None = None     # overrides the mapping's
    max_errors: int | None = None      # stop (resumably) after this many rows failed at the API
    retry_failed: bool = True          # on resume, send rows that failed again
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    wait_for_lock: float = 0.0         # seconds to wait while another run sends to the same database
    discard_earlier: bool = False      # --overwrite deletes (instead of setting aside) the earlier run's files
    header_row: int | None = None      # overrides the mapping's header_row
    results_delimiter: str | None = None  # the results CSV's delimiter (default: the mapping's, else ",")
    rows: Any = None                   # rows from memory instead of a file (a DataFrame, an iterable of dicts)
    keep_outcomes: bool = False        # summary.outcomes: every row's outcome, in row order
    sandbox: bool = False              # sent into a built-in sandbox that ends with the run (nothing to roll back)

    def results_path(self) -> Path:
        if self.results is not None:
            return Path(self.results)
        from importer.frames import SPOOL_NAME
        return Path.cwd() / results_name(Path(self.file) if self.file is not None else Path(SPOOL_NAME))


def results_name(file: Path) -> str:
    """orders.csv.gz -> orders.results.csv; a results file imported again gets
    a numbered name instead of a stacked one (x.results.csv -> x.results-2.csv)."""
    stem = Path(Path(file).name.removesuffix(".gz")).stem
    again = _RESULTS_STEM.fullmatch(stem)
    if again is None:
        return stem + ".results.csv"
    return f"{again['base']}.results-{int(again['n'] or 1) + 1}.csv"


_RESULTS_STEM = re.compile(r"(?P<base>.+?)\.results(?:-(?P<n>[0-9]+))?")


@dataclass
class Prepared:
    """A file and mapping that passed every check that needs no sending."""
    sheet: Sheet
    mapping: Mapping
    converter: RowConverter
    schema: DatabaseSchema | None
    database_id: int | None
    columns: list[str]  # the input's own columns (a results file's without ours)


# -- preparation (everything before a single row is sent) ----------------------
def load_run_mapping(options: ImportOptions) -> Mapping:
    given = options.mapping
    if given is None:
        raise UsageError(Msg.NO_MAPPING)
    if isinstance(given, Mapping):
        mapping = given
    elif isinstance(given, dict):
        mapping = mapping_from_dict(given)
    else:
        mapping = load_mapping(given)
    return mapping.with_overrides(database=options.database, on_existing=options.on_existing)


def database_id(mapping: Mapping) -> int:
    """The database a run sends to: the mapping's, or --database."""
    if mapping.database is None:
        raise UsageError(Msg.NO_DATABASE)
    return mapping.database


def rows_as_file(options: ImportOptions, stack: ExitStack) -> ImportOptions:
    """Rows from memory are written once to a temporary NDJSON file and read from there like any file
    (``importer.frames``): the same checks, journal, results and resume."""
    from importer.frames import SPOOL_NAME, spool
    from importer.frames import Msg as FramesMsg
    if options.rows is None:
        if options.file is None:
            raise UsageError(FramesMsg.NEITHER)
        return options
    if options.file is not None:
        raise UsageError(FramesMsg.BOTH)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="copernica-rows-")))
    spool(options.rows, folder / SPOOL_NAME)
    return dataclasses.replace(options, file=folder / SPOOL_NAME, rows=None,
                               results=options.results_path())


def resolve_schema(options: ImportOptions, mapping: Mapping, client: "CopernicaClient | None") -> DatabaseSchema | None:
    """The database structure from --schema, else from the API, else None."""
    if options.schema is not None:
        schema_file = load_schema_file(options.schema)
        if mapping.database is None:
            if len(schema_file.databases) != 1:
                raise UsageError(Msg.NO_DATABASE)
            return schema_file.databases[0]
        return schema_file.database(mapping.database)
    if client is None:
        return None
    return client.fetch_schema(database_id(mapping), collections=mapping.is_collection)


def open_input(options: ImportOptions, mapping: Mapping) -> Sheet:
    """The input file, read with the mapping's header settings (--header-row wins)."""
    return open_sheet(options.file, encoding=options.encoding, delimiter=options.delimiter, sheet=options.sheet,
                      header_row=options.header_row or mapping.header_row, no_header=mapping.header == "none",
                      expected_columns=mapping.source_columns())


def prepare(options: ImportOptions, mapping: Mapping, schema: DatabaseSchema | None, stack: ExitStack,
            announce: bool = True) -> Prepared:
    sheet = stack.enter_context(open_input(options, mapping))
    if announce:
        sheet.announce()  # how the file was read (encoding, header row, ...): one line each on stderr
    columns = source_columns(sheet.headers)
    if mapping.is_collection:
        from importer.subprofiles import compile_collection
        converter: RowConverter = compile_collection(mapping, columns, schema)  # type: ignore[assignment]
    else:
        converter = compile_mapping(mapping, columns, schema)
    database_id = schema.id if schema is not None else mapping.database
    return Prepared(sheet, mapping, converter, schema, database_id, columns)


def source_rows(sheet: Sheet) -> Iterator[tuple[Row, dict[str, str] | None]]:
    """The sheet's rows, each with its earlier outcome when the file is one of
    our results files fed back in (the cells of a results CSV are then
    un-neutralised; a workbook's were never guarded and are kept as they are)."""
    if not is_results_header(sheet.headers):
        for row in sheet:
            if row.extra:
                row.values = with_extra_cells(row.values, row.extra)
            yield row, None
        return
    neutralised = guarded(sheet.format)
    for row in sheet:
        row.values, earlier = source_values(row.values, neutralised=neutralised)
        if row.extra:
            row.values = with_extra_cells(row.values, row.extra)
        yield row, earlier


def classify(prepared: Prepared, rows: Iterator[tuple[Row, dict[str, str] | None]],
             index: DuplicateIndex) -> Iterator[tuple[Row, Profile | Outcome]]:
    """Each row with what to do: a Profile to send, or an Outcome already
    decided locally (invalid, skipped as a duplicate, or done in an earlier run)."""
    convert = prepared.converter
    duplicate = Msg.DUPLICATE_LAST if index.keep == "last" else Msg.DUPLICATE
    ranked = getattr(index, "ranked_by", None)
    for row, earlier in rows:
        verdict = convert(row)
        if earlier is not None and earlier["status"] in DONE_BEFORE:
            if isinstance(verdict, Profile):
                index.winner(row.number, verdict.key)  # the person exists: later rows are duplicates
            pid = earlier["profile_id"]
            reason = Reason("done_before", Msg.DONE_BEFORE, {
                "status": earlier["status"], "profile": Msg.DONE_BEFORE_PROFILE.format(pid=pid) if pid else ""})
            yield row, Outcome(row.number, Status.SKIPPED, int(pid) if pid.isdigit() else None, (reason,),
                               key=earlier["key"])
            continue
        if isinstance(verdict, RowError):
            yield row, Outcome(row.number, Status.INVALID, reasons=verdict.reasons, key=verdict.key)
            continue
        winner = index.winner(row.number, verdict.key)
        if winner is not None and ranked is not None:
            reason = _ranked_duplicate(index, row, winner, verdict.key)
            yield row, Outcome(row.number, Status.SKIPPED, reasons=(reason,), key=verdict.key)
            continue
        if winner is not None:
            reason = Reason("duplicate", duplicate, {"row": winner})
            yield row, Outcome(row.number, Status.SKIPPED, reasons=(reason,), key=verdict.key)
            continue
        yield row, verdict


def _ranked_duplicate(index, row: Row, winner: int, key: str) -> Reason:
    """Why a row lost to another with its key under ``duplicates: {keep: newest|oldest, by: COLUMN}``."""
    column, keep = index.ranked_by, index.keep
    which = Msg.RANK_WORDS[keep]
    mine, theirs = row.values.get(column, ""), index.winning_value(key)
    if index.rank_of(mine) is not None:
        return Reason("duplicate", Msg.DUPLICATE_RANKED, {"row": winner, "column": column, "which": which,
                                                           "value": theirs})
    said = {"row": winner, "column": column, "which": which, "reading": index.reading.described,
            "value": repr(mine) if mine.strip() else Msg.EMPTY, "winner": theirs if theirs.strip() else Msg.EMPTY}
    if index.rank_of(theirs) is None:
        said["winner"] = repr(theirs) if theirs.strip() else Msg.EMPTY
        return Reason("duplicate", Msg.DUPLICATE_NEITHER, said)
    return Reason("duplicate", Msg.DUPLICATE_UNRANKED, said)


def build_index(options: ImportOptions, mapping: Mapping, schema: DatabaseSchema | None) -> DuplicateIndex:
    """``duplicates: last`` (and ``newest``/``oldest``) need a first pass to know each key's winning row."""
    rule = mapping.duplicates
    if rule.ranked:
        return _ranked_index(options, mapping, schema)
    index = DuplicateIndex(rule.keep)
    if rule.keep == "last" and mapping.key_fields:
        with ExitStack() as stack:
            prepared = prepare(options, mapping, schema, stack, announce=False)
            # the key of every row; whole rows are checked only for a key's later rows
            convert = prepared.converter
            index.learn_later(((row.number, key, row) for row, _ in source_rows(prepared.sheet)
                               if (key := convert.key_only(row)) is not None),
                              lambda row: convert.valid_key(row) is not None)
    return index


def _ranked_index(options: ImportOptions, mapping: Mapping, schema: DatabaseSchema | None):
    """The first pass of ``keep: newest|oldest``: how the ``by`` column is read (decided from all its
    values, said on stderr when the values settled a day/month order), then each key's winner."""
    from importer.dedupe import RankedDuplicateIndex
    from importer.ranking import AmbiguousColumn
    from importer.reader import notes_log
    rule = mapping.duplicates
    index = RankedDuplicateIndex(rule.keep, rule.by or "", list(rule.date_format))
    column = index.ranked_by
    if index.reading.needs_survey:
        with ExitStack() as stack:
            prepared = _ranked_prepare(options, mapping, schema, stack, column)
            values = (row.values.get(column, "") for row, _ in source_rows(prepared.sheet))
            try:
                index.reading.survey(values, column=column, keep=rule.keep)
            except AmbiguousColumn as exc:
                raise UsageError(f"{mapping.source}: {exc}") from None
        if index.reading.note:
            notes_log.info(index.reading.note)
    with ExitStack() as stack:
        prepared = _ranked_prepare(options, mapping, schema, stack, column)
        convert = prepared.converter
        for row, _ in source_rows(prepared.sheet):
            verdict = convert(row)
            if isinstance(verdict, Profile) and verdict.key:
                index.learn(row.number, verdict.key, row.values.get(column, ""))
    return index


def _ranked_prepare(options: ImportOptions, mapping: Mapping, schema: DatabaseSchema | None, stack: ExitStack,
                    column: str) -> Prepared:
    """The file prepared for a first pass (how it was read is said by the import's own pass), with the
    ``by`` column in it."""
    prepared = prepare(options, mapping, schema, stack, announce=False)
    if column not in prepared.columns:
        from importer.mapping.names import closest
        raise UsageError(Msg.RANK_COLUMN_MISSING.format(source=mapping.source, column=column,
                                                        hint=closest(column, prepared.columns),
                                                        columns=", ".join(prepared.columns)))
    return prepared


def client_for(api: "Connection | CopernicaClient | None", options: ImportOptions,
                stack: ExitStack) -> "CopernicaClient | None":
    """The caller's client, or one made (and closed at the end) from a Connection."""
    if isinstance(api, Connection):
        return stack.enter_context(api.open_client(options.workers))
    return api


# -- check: everything but sending ---------------------------------------------
def check_file(options: ImportOptions, api: "Connection | CopernicaClient | None" = None, *,
               report: Path | None = None, on_outcome: Callable[[Outcome], None] | None = None) -> RunSummary:
    """Reads, maps and checks every row against the database; sends nothing.

    Rows that would be sent are reported with status ``valid``. ``api`` is
    only asked for the database's structure (None: ``options.schema``, or no
    type checks at all).
    """
    started = time.monotonic()
    with ExitStack() as stack:
        from_memory = options.rows is not None
        options = rows_as_file(options, stack)
        client = client_for(api, options, stack)
        mapping = load_run_mapping(options)
        schema = resolve_schema(options, mapping, client)
        index = build_index(options, mapping, schema)
        summary = RunSummary(dry_run=True, schema_checked=schema is not None, file=Path(options.file))
        summary.note_run(mapping=options.mapping, database_id=schema.id if schema else mapping.database,
                         database_name=schema.name if schema else None, api_url=client.api_url if client else None)
        prepared = prepare(options, mapping, schema, stack)
        # the report shows, beside the source cells, the value each mapped field would get
        fields, interests = prepared.converter.field_names, prepared.converter.interest_names
        writer = stack.enter_context(open_results_writer(
            report, prepared.columns, delimiter=options.results_delimiter or mapping.results_delimiter,
            original_rows=is_results_header(prepared.sheet.headers),
            sent=sent_labels(fields, interests), collection=mapping.is_collection)) if report else None
        summary.results_path = report
        for row, verdict in classify(prepared, source_rows(prepared.sheet), index):
            outcome = verdict if isinstance(verdict, Outcome) else Outcome(
                row.number, Status.VALID, reasons=tuple(verdict.warnings), key=verdict.key)
            summary.add(outcome)
            if writer:
                sent = sent_cells(fields, interests, verdict.fields, {  # an empty yes/no cell switches nothing
                    k: v for k, v in verdict.interests.items() if k not in verdict.empty_interests}) \
                    if isinstance(verdict, Profile) else None
                writer.write(outcome, row.values, sent)
            if options.keep_outcomes:
                summary.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
        summary.empty_rows = prepared.sheet.empty_rows
        summary.notes = prepared.converter.notes()
        if from_memory:
            summary.file = None   # the temporary file the rows were read from is gone
    summary.elapsed = time.monotonic() - started
    return summary
