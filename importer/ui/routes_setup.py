"""The page's first two steps: where profiles go (Copernica or the sandbox, then the database), and the file.

Each handler is thin: the step itself is a ``Workspace`` method
(``importer.ui.destination``, ``importer.ui.upload``).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request

from importer.errors import UsageError
from importer.ui.pages import chosen_file, page, setting, step, ws

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "iso-8859-1", "iso-8859-15", "cp1250", "iso-8859-2",
             "cp1251", "cp1253", "cp1254", "cp1257", "shift_jis", "gb18030", "big5", "euc-kr")
DELIMITERS = ((",", "comma ,"), (";", "semicolon ;"), ("tab", "tab"), ("|", "pipe |"))

bp = Blueprint("setup", __name__)


class Msg:
    """What the first steps' handlers say."""
    CHOOSE_DATABASE = "Choose a database from the list."


@bp.get("/")
def home() -> Any:
    if ws.current_job is not None:
        return redirect("/results" if ws.current_job.state != "running" else "/import")
    if ws.table is not None:
        return redirect("/mapping")
    if ws.destination is not None and ws.destination.schema is not None:
        return redirect("/file")
    return redirect("/connect")


@bp.get("/connect")
def connect() -> Any:
    return page("connect.html", default_api_url=setting("default_api_url") or "https://api.copernica.com/v3")


@bp.post("/connect")
@step("/connect")
def connect_post() -> Any:
    form = request.form
    sandbox = form.get("where") == "sandbox"
    token = (form.get("token") or "").strip()
    version = 4 if form.get("api_version") == "4" else 3
    ws.connect(api_url=(form.get("api_url") or "").strip() or None, token=token, api_version=version,
               sandbox=sandbox)
    return redirect("/connect/database")


@bp.get("/connect/database")
def connect_database() -> Any:
    if ws.destination is None:
        return redirect("/connect")
    return page("database.html")


@bp.post("/connect/database")
@step("/connect/database")
def connect_database_post() -> Any:
    try:
        database = int(request.form.get("database", ""))
    except ValueError:
        raise UsageError(Msg.CHOOSE_DATABASE) from None
    ws.choose_database(database)
    return redirect("/file")


@bp.post("/disconnect")
@step("/connect")
def disconnect() -> Any:
    ws.require_idle()
    ws.disconnect()
    return redirect("/connect")


@bp.get("/file")
def file() -> Any:
    return page("file.html", encodings=ENCODINGS, delimiters=DELIMITERS)


@bp.post("/file")
@step("/file")
def file_post() -> Any:
    upload = chosen_file("file")
    ws.receive_file(upload.filename, upload.save)
    return redirect("/file")


@bp.post("/file/reading")
@step("/file")
def file_reading() -> Any:
    form = request.form
    ws.set_reading(form.get("encoding", "").strip(), form.get("delimiter", "").strip(),
                   form.get("sheet", "").strip(), form.get("header_row", ""))
    return redirect("/file")
