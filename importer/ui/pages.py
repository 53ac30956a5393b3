"""What every step's handlers share: the workspace, a page with its step bar, form handlers that say an
error on the page, chosen files, downloads.

The app (``importer.ui.app``) keeps the ``Workspace`` in its extensions;
``ws`` is that workspace inside a request.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from flask import Response, current_app, redirect, render_template, request, send_file
from werkzeug.datastructures import FileStorage
from werkzeug.local import LocalProxy

from importer import __version__
from importer.errors import CopernicaImportError, UsageError
from importer.ui.checking import report_rows

if TYPE_CHECKING:
    from importer.ui.workspace import Workspace

EXTENSION = "copernica_import"      # app.extensions[EXTENSION]: the workspace and the page's settings
STEPS = (("connect", "Connect"), ("file", "File"), ("mapping", "Mapping"), ("check", "Check"),
         ("import", "Import"), ("results", "Results"))


class Msg:
    """What any step's form may say."""
    NO_FILE_CHOSEN = "Choose a file first."


def setting(name: str) -> Any:
    """One of the page's settings (``workspace``, ``default_api_url``)."""
    return current_app.extensions[EXTENSION][name]


ws = cast("Workspace", LocalProxy(lambda: setting("workspace")))


def page(template: str, status: int = 200, **context: Any) -> Response:
    """A page of the app, with the step bar and the messages to show once."""
    workspace = setting("workspace")
    body = render_template(template, ws=workspace, steps=steps(), version=__version__,
                           messages=workspace.take_messages() if template != "error.html" else [], **context)
    return Response(body, status=status, mimetype="text/html")


def steps() -> list[dict]:
    """The step bar: which steps are open, which one is this page's."""
    open_ = {
        "connect": True,
        "file": ws.destination is not None and ws.destination.schema is not None,
        "mapping": ws.upload is not None and ws.table is not None,
        "check": ws.table is not None,
        "import": ws.table is not None and ws.destination is not None and ws.destination.schema is not None,
        "results": ws.current_job is not None,
    }
    current = (request.endpoint or "").rsplit(".", 1)[-1]   # the handler's name, without its blueprint's
    return [{"id": sid, "label": label, "open": open_[sid], "current": current.startswith(sid)}
            for sid, label in STEPS]


def step(back: str) -> Callable:
    """A form handler: a CopernicaImportError is said on the page of step ``back``."""
    def wrap(handler: Callable) -> Callable:
        @wraps(handler)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            except CopernicaImportError as exc:
                ws.say(str(exc))
                return redirect(back)
        return run
    return wrap


def chosen_file(field: str) -> FileStorage:
    """The file the form sent as ``field``; choosing none is said on the page."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise UsageError(Msg.NO_FILE_CHOSEN)
    return upload


def reason_groups(collector, report: Path) -> list[dict]:
    """The reasons of a check or an import, each with the source cells of its example rows."""
    found = collector.sorted_groups()
    wanted = {row for g in found for row, _, _ in g.rows}
    columns, cells = report_rows(report, wanted) if wanted else ([], {})
    return [{"group": g, "columns": columns, "cells": cells} for g in found]


def attachment(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "") or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def download(path: Path, name: str, mimetype: str | None = None) -> Response:
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response
