"""Errors that stop a command. Each carries a message meant for the user.

Row-level problems are not exceptions: they are ``RowError`` values.
"""
from __future__ import annotations


class ImporterError(Exception):
    """Base class: something the user must fix; nothing (more) is sent."""
    exit_code = 2


class FileError(ImporterError):
    """The input file cannot be read as a spreadsheet."""


class MappingError(ImporterError):
    """The mapping file is invalid or does not fit the input file."""


class SchemaError(ImporterError):
    """The mapping does not fit the database's structure."""


class ApiError(ImporterError):
    """The API answered something that stops the whole run."""


class InvalidTokenError(ApiError):
    """Copernica said 'Invalid access token' (HTTP 400)."""


class UsageError(ImporterError):
    """Bad command-line arguments or options."""
