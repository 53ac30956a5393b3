"""The client reads proxy settings from the environment once per session
(not on every request), and still honours them."""
from __future__ import annotations

import socket

import pytest

from importer.client import CopernicaClient
from importer.errors import RequestFailed
from importer.retry import RetryPolicy


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_proxy_from_the_environment_is_used(sandbox, token, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("no_proxy", raising=False)
    with CopernicaClient(sandbox.api_url, token, retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(RequestFailed):   # the (dead) proxy was tried, not the sandbox
            client.database(1)


def test_no_proxy_excludes_the_api_address(sandbox, token, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with CopernicaClient(sandbox.api_url, token, retry=RetryPolicy(attempts=1)) as client:
        assert client.database(1)["name"] == "Contacts"
