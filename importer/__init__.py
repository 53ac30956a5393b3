"""copernica-import: spreadsheets into Copernica, one profile per row.

The library under the CLI::

    from pathlib import Path
    from importer import Connection, ImportOptions, run_import

    summary = run_import(ImportOptions(file=Path("contacts.csv"), mapping=Path("contacts.yaml")),
                         Connection(token=token))
    print(summary.format_text())

``run_batch`` runs several files with the drop rules, the confirmation and the
archive of the ``run`` command; ``check_file`` checks without sending;
``rollback`` undoes a run. Names are imported on first use, so ``import
importer`` stays cheap for the sandbox and the CLI's fast paths.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_PUBLIC = {
    "ImportOptions": "importer.runner",
    "run_import": "importer.runner",
    "check_file": "importer.runner",
    "BatchOptions": "importer.batch",
    "BatchResult": "importer.batch",
    "BatchReporter": "importer.batch",
    "FileResult": "importer.batch",
    "Confirmation": "importer.batch",
    "run_batch": "importer.batch",
    "rollback": "importer.undo",
    "RunSummary": "importer.summary",
    "Connection": "importer.connection",
    "CopernicaClient": "importer.client",
    "RetryPolicy": "importer.retry",
    "Pacer": "importer.pacing",
    "install_log_redaction": "importer.redaction",
    "load_mapping": "importer.mapping",
    "compile_mapping": "importer.mapping",
    "open_sheet": "importer.reader",
    "read_rows": "importer.reader",
    "load_schema_file": "importer.schema",
    "Row": "importer.models",
    "Profile": "importer.models",
    "RowError": "importer.models",
    "Outcome": "importer.models",
    "Reason": "importer.models",
    "Status": "importer.models",
    "StopReason": "importer.models",
    "CopernicaImportError": "importer.errors",
    "UsageError": "importer.errors",
    "InputFileError": "importer.errors",
    "MappingError": "importer.errors",
    "SchemaError": "importer.errors",
    "JournalError": "importer.errors",
    "ApiError": "importer.errors",
    "InvalidTokenError": "importer.errors",
    "RunStopped": "importer.errors",
}
__all__ = [*_PUBLIC, "__version__"]

if TYPE_CHECKING:  # for type checkers and editors; at run time names load on first use
    from importer.batch import BatchOptions, BatchReporter, BatchResult, Confirmation, FileResult, run_batch
    from importer.client import CopernicaClient
    from importer.connection import Connection
    from importer.errors import (
        ApiError,
        CopernicaImportError,
        InputFileError,
        InvalidTokenError,
        JournalError,
        MappingError,
        RunStopped,
        SchemaError,
        UsageError,
    )
    from importer.mapping import compile_mapping, load_mapping
    from importer.models import Outcome, Profile, Reason, Row, RowError, Status, StopReason
    from importer.pacing import Pacer
    from importer.reader import open_sheet, read_rows
    from importer.redaction import install_log_redaction
    from importer.retry import RetryPolicy
    from importer.runner import ImportOptions, check_file, run_import
    from importer.schema import load_schema_file
    from importer.summary import RunSummary
    from importer.undo import rollback


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
