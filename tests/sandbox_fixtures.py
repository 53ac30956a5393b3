"""Helpers for the sandbox's own tests: a thin HTTP client over requests."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from importer.sandbox import Sandbox

REPO = Path(__file__).resolve().parent.parent
SAMPLE_SCHEMA = REPO / "sample_data" / "schema.yaml"
SANDBOX_TOKEN = "sandbox-test-token-93ab"


class ApiClient:
    """Calls the sandbox's v3 API like a plain Copernica client would."""

    def __init__(self, sandbox: Sandbox, token: str = SANDBOX_TOKEN, version: str = "v3") -> None:
        self.base = f"{sandbox.base_url}/{version}"
        self.token = token
        self.session = requests.Session()

    def call(self, method: str, path: str, params: Any = None, **kwargs: Any) -> requests.Response:
        query = list(params.items()) if isinstance(params, dict) else list(params or [])
        query.append(("access_token", self.token))
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("allow_redirects", False)
        return self.session.request(method, f"{self.base}/{path}", params=query, **kwargs)

    def create(self, database: int = 1, fields: dict | None = None, interests: Any = None) -> int:
        body: dict[str, Any] = {"fields": fields or {}}
        if interests is not None:
            body["interests"] = interests
        response = self.call("POST", f"database/{database}/profiles", json=body)
        assert response.status_code == 201, response.text
        return int(response.headers["X-Created"])

    def profile(self, profile_id: int) -> dict[str, Any]:
        response = self.call("GET", f"profile/{profile_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def stored_fields(self, database: int, fields: dict[str, Any]) -> dict[str, str]:
        """Create a profile with ``fields`` and return what the sandbox stored."""
        return self.profile(self.create(database, fields))["fields"]
