"""Fixtures only (shared helpers are in tests/helpers.py): a sandbox over
real HTTP on 127.0.0.1, and the token it accepts."""
from __future__ import annotations

import pytest

from tests.helpers import SAMPLE_SCHEMA, TOKEN


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
def sandbox():
    from importer.sandbox import Sandbox
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        yield sb
