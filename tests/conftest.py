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


@pytest.fixture
def page():
    """The marketers' page (``copernica-import ui``) on a free port, closed afterwards."""
    from importer.ui import PageServer  # Flask loads only for the tests of the page

    server = PageServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def visitor(page):
    """A browser-like client of the page, logged in with the one-time secret."""
    from tests.ui_support import Visitor

    v = Visitor(page)
    assert v.login().status_code == 200
    return v
