"""Helpers for the page's tests: a browser-less visitor that speaks plain HTTP to a real server.

``Visitor`` logs in with the one-time link, keeps the session cookie, sends
forms with their CSRF token (and the Origin a browser sends), and reads the
mapping form's fields the way a browser would submit them.
"""
from __future__ import annotations

import csv
import io
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import requests

from importer.results import unneutralise

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CSV = REPO / "sample_data" / "contacts.csv"
SAMPLE_XLSX = REPO / "sample_data" / "contacts.xlsx"
SAMPLE_SCHEMA = REPO / "sample_data" / "schema.yaml"

# The mapping problem a marketer fixes on the page. `init` already turns the sample's 'Holland' into NL, so
# the page's tests upload a copy in which that cell (row 121; line 122 of the file) has a typo no draft can
# know: the check names "'Hollnd' is not a choice" until the marketer adds {replace: {Hollnd: NL}}.
TYPO_ROW = 121
TYPO_EMAIL = "celine.vanderberg117@example.net"
TYPO_FIX = "{replace: {Hollnd: NL}}"


def sample_with_a_typo(folder: Path) -> Path:
    """contacts.csv as the sample, but row 121's country is 'Hollnd' (written into ``folder``)."""
    data = SAMPLE_CSV.read_bytes()
    cell = f"{TYPO_EMAIL},Céline,van der Berg,0610014849,18-08-1965,Rotterdam,Holland,".encode()
    assert data.count(cell) == 1 and data.count(b",Holland,") == 1, "the sample changed: update the typo"
    path = folder / "contacts.csv"
    path.write_bytes(data.replace(cell, cell.replace(b",Holland,", b",Hollnd,")))
    return path


class FormFields(HTMLParser):
    """The name/value pairs a browser would submit for the form with ``form_id``."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.fields: list[list[str]] = []
        self._inside = False
        self._select: list | None = None
        self._textarea: list | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self._inside = True
        if not self._inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("file", "submit", "button"):
                return
            self.fields.append([a["name"], a.get("value", "")])
        elif tag == "select" and a.get("name"):
            self._select = [a["name"], None]
            self.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            if "selected" in a or self._select[1] is None:
                self._select[1] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "select":
            self._select = None


def form_fields(html: str, form_id: str) -> list[list[str]]:
    parser = FormFields(form_id)
    parser.feed(html)
    return parser.fields


def text_of(html: str) -> str:
    """The page's text, roughly as a person reads it."""
    import html as html_module
    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html))).strip()


class Visitor:
    """A person at the page, without a browser: plain HTTP with the session cookie."""

    def __init__(self, server) -> None:
        self.server = server
        self.base = server.base_url
        self.http = requests.Session()
        self.pages: list[requests.Response] = []   # every answer, for the leak checks
        self.token = ""

    def login(self) -> requests.Response:
        return self.get(self.server.login_url)

    def get(self, path: str, **kwargs) -> requests.Response:
        response = self.http.get(path if path.startswith("http") else self.base + path, **kwargs)
        self.pages.append(response)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data=None, *, files=None, origin: str | None = "same", csrf: bool = True,
             **kwargs) -> requests.Response:
        if not self.token and csrf:
            self.get("/connect")
        headers = dict(kwargs.pop("headers", {}))
        if origin == "same":
            headers["Origin"] = self.base
        elif origin is not None:
            headers["Origin"] = origin
        if isinstance(data, dict):
            data = list(data.items())
        data = list(data or [])
        if csrf and not any(k == "csrf_token" for k, _ in data):
            data.append(("csrf_token", self.token))
        response = self.http.post(self.base + path, data=data, files=files, headers=headers, **kwargs)
        self.pages.append(response)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        if found:
            self.token = found.group(1)
        return response

    # -- the steps -------------------------------------------------------------------------
    def connect_sandbox(self, database: int = 1, token: str = "", api_url: str | None = None) -> requests.Response:
        data = {"where": "sandbox", "token": token}
        if api_url:
            data["api_url"] = api_url
        self.post("/connect", data)
        return self.post("/connect/database", {"database": str(database)})

    def connect_copernica(self, api_url: str, token: str, database: int = 1) -> requests.Response:
        self.post("/connect", {"where": "copernica", "api_url": api_url, "token": token, "api_version": "3"})
        return self.post("/connect/database", {"database": str(database)})

    def upload(self, path: Path, name: str | None = None) -> requests.Response:
        with open(path, "rb") as f:
            return self.post("/file", files={"file": (name or path.name, f)})

    def mapping_fields(self) -> list[list[str]]:
        return form_fields(self.get("/mapping").text, "mapping-form")

    @staticmethod
    def line_of(fields: list[list[str]], column: str, target_kind: str = "") -> str:
        """The form prefix ('l8-') of the line of ``column`` (optionally: whose target is of that kind)."""
        values = dict((k, v) for k, v in fields)
        for name, value in fields:
            if name.endswith("-column") and value == column:
                prefix = name[: -len("column")]
                if not target_kind or values.get(prefix + "target", "").startswith(target_kind):
                    return prefix
        raise AssertionError(f"no line for column {column!r}")

    @staticmethod
    def changed(fields: list[list[str]], name: str, value: str) -> list[list[str]]:
        out = [[k, v] for k, v in fields if k != name]
        if value is not None:
            out.append([name, value])
        return out

    def live(self, fields: list[list[str]]) -> dict:
        response = self.post("/mapping/live", fields, headers={"X-Requested-With": "fetch"})
        assert response.status_code == 200, response.text
        return response.json()

    def import_now(self, mode: str = "create", timeout: float = 60) -> dict:
        review = self.post("/import", {"mode": mode})
        database = re.search(r'name="database" value="(\d+)"', review.text).group(1)
        host = re.search(r'name="host" value="([^"]+)"', review.text).group(1)
        self.post("/import/start", {"mode": mode, "database": database, "host": host})
        return self.wait_for_import(timeout)

    def wait_for_import(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = self.get("/import/status").json()
            if status["state"] != "running" or time.monotonic() > deadline:
                return status
            time.sleep(0.1)


def numbers(html: str, prefix: str) -> dict[str, int]:
    """{'created': 190, ...} from elements with id="PREFIX-created">190<."""
    return {k: int(v.replace(",", "")) for k, v in re.findall(rf'id="{prefix}-(\w+)">([\d,]+)<', html)}


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_rows(content: bytes) -> list[dict[str, str]]:
    """The lines of a downloaded results CSV, its cells as the source had them (a formula guard undone)."""
    return [{k: unneutralise(v) for k, v in line.items()}
            for line in csv.DictReader(io.StringIO(content.decode("utf-8-sig")))]


def workbook_rows(content: bytes) -> list[dict[str, str]]:
    """The lines of a downloaded results workbook, as text ('' for an empty cell), opened by openpyxl."""
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
