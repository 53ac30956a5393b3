"""copernica-import: spreadsheets into Copernica, one profile per row.

The library under the CLI::

    from importer import CopernicaClient, ImportOptions, run_import
    with CopernicaClient("https://api.copernica.com/v3", token) as client:
        summary = run_import(ImportOptions(file=Path("contacts.csv"), mapping=Path("contacts.yaml")), client)

Names are imported on first use, so ``import importer`` stays cheap for the
sandbox and the CLI's fast paths.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "ImportOptions": "importer.runner",
    "run_import": "importer.runner",
    "check_file": "importer.runner",
    "RunSummary": "importer.summary",
    "CopernicaClient": "importer.client",
    "RetryPolicy": "importer.client",
    "Pacer": "importer.pacing",
    "load_mapping": "importer.mapping",
    "compile_mapping": "importer.mapping",
    "open_sheet": "importer.reader",
    "read_rows": "importer.reader",
    "load_schema_file": "importer.schema",
    "Row": "importer.models",
    "Profile": "importer.models",
    "RowError": "importer.models",
    "Outcome": "importer.models",
    "Status": "importer.models",
    "ImporterError": "importer.errors",
}
__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
