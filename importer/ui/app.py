"""The page's routes: thin handlers over a ``Workspace``, and the locks on the door.

The door: requests must name this server's own address as their Host (no
DNS rebinding), carry the session cookie that the one-time secret of the
start-up link set, and, for anything that changes something, come from this
page (an Origin or Referer of this server when the browser sends one, and
always the form's CSRF token, checked by Flask-WTF). Uploads are limited in
size and spooled into the workspace's private folder.
"""
from __future__ import annotations

import json
import logging
import secrets
import tempfile
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, abort, jsonify, redirect, render_template, request, send_file, session
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from importer import __version__
from importer.errors import CopernicaImportError, UsageError
from importer.models import REASON_TITLES, Status
from importer.ui.table import MODES, ON_INVALID, Constant, target_options
from importer.ui.workspace import LIVE_ROWS, Workspace, report_rows

log = logging.getLogger("importer.ui")

STEPS = (("connect", "Connect"), ("file", "File"), ("mapping", "Mapping"), ("check", "Check"),
         ("import", "Import"), ("results", "Results"))
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "iso-8859-1", "iso-8859-15", "cp1250", "iso-8859-2",
             "cp1251", "cp1253", "cp1254", "cp1257", "shift_jis", "gb18030", "big5", "euc-kr")
DELIMITERS = ((",", "comma ,"), (";", "semicolon ;"), ("tab", "tab"), ("|", "pipe |"))
STATUS_ORDER = [s.value for s in Status]


class Msg:
    """What the door and the routes say."""
    LOGIN_USED = ("This link has been used already, or it is not the one the program printed. "
                  "Stop the program (Ctrl-C in its window) and start it again for a new link.")
    NOT_LOGGED_IN = ("Open the page with the link the program printed when it started "
                     "(copernica-import ui); it works once, in one browser.")
    BAD_HOST = "This page only answers at its own address on this computer."
    CROSS_SITE = "Refused: this form was sent from another site."
    CSRF = "This form has expired or did not come from this page. Go back, reload the page and try again."
    TOO_LARGE = "The file is larger than this page accepts ({mb} MB). Start the page with --max-upload-mb to allow more."
    NOT_FOUND = "There is nothing at this address."
    UNEXPECTED = "Something unexpected went wrong ({error}). Nothing more was sent. The program's log has the details."
    NO_FILE_CHOSEN = "Choose a file first."
    CHOOSE_DATABASE = "Choose a database from the list."
    CONFIRM_MISMATCH = "Type the number of rows to confirm the import."
    ROLLED_BACK = "Deleted {deleted:,} profiles, {failed:,} failed."


class PrivateRequest(Request):
    """Uploads are spooled into the workspace's private folder, never the shared /tmp."""
    upload_folder: Path | None = None

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return tempfile.TemporaryFile(dir=self.upload_folder)


def create_app(workspace: Workspace, *, secret: str, max_upload_mb: float = 100,
               default_api_url: str | None = None) -> Flask:
    """The page over ``workspace``; ``secret`` opens it once (``/login?secret=...``)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),            # a new key per start: old cookies are void
        SESSION_COOKIE_NAME="copernica_import_ui",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=int(max_upload_mb * 1024 * 1024),
        WTF_CSRF_CHECK_DEFAULT=False,                  # checked below, after the door's own checks
        WTF_CSRF_TIME_LIMIT=None,
        ALLOWED_HOSTS=[],                              # set by the server once its port is known
        TEMPLATES_AUTO_RELOAD=False,
    )
    PrivateRequest.upload_folder = workspace.folder / "uploads"
    app.request_class = PrivateRequest
    csrf = CSRFProtect(app)
    door = {"secret": secret}
    ws = workspace

    # -- the door -------------------------------------------------------------------------
    @app.before_request
    def guard() -> Any:
        if request.host not in app.config["ALLOWED_HOSTS"]:
            return _page("error.html", 400, message=Msg.BAD_HOST)
        if request.endpoint in ("login", "static"):
            return None
        if not session.get("in"):
            return _page("error.html", 403, message=Msg.NOT_LOGGED_IN)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("Origin") or _origin_of(request.headers.get("Referer"))
            if origin is not None and origin not in _origins():
                return _page("error.html", 403, message=Msg.CROSS_SITE)
            csrf.protect()
        return None

    def _origins() -> set[str]:
        return {f"http://{host}" for host in app.config["ALLOWED_HOSTS"]}

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"   # "no-referrer" would make the Origin of a form "null"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/login")
    def login() -> Any:
        given = request.args.get("secret", "")
        if not door["secret"] or not secrets.compare_digest(given.encode(), door["secret"].encode()):
            return _page("error.html", 403, message=Msg.LOGIN_USED)
        door["secret"] = ""            # one time only
        session.clear()
        session["in"] = True
        return redirect("/")

    # -- errors -----------------------------------------------------------------------------
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return _page("error.html", 400, message=Msg.CSRF)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> Any:
        return _page("error.html", 413, message=Msg.TOO_LARGE.format(mb=_mb(app.config["MAX_CONTENT_LENGTH"])))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return _page("error.html", exc.code or 500, message=exc.description or Msg.NOT_FOUND)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.error("unexpected error on %s %s: %s", request.method, request.path, type(exc).__name__)
        log.debug("details", exc_info=exc)
        return _page("error.html", 500, message=Msg.UNEXPECTED.format(error=type(exc).__name__))

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

    # -- pages --------------------------------------------------------------------------------
    def _page(template: str, status: int = 200, **context: Any) -> Response:
        body = render_template(template, ws=ws, steps=_steps(), version=__version__,
                               messages=ws.take_messages() if template != "error.html" else [], **context)
        return Response(body, status=status, mimetype="text/html")

    def _steps() -> list[dict]:
        open_ = {
            "connect": True,
            "file": ws.destination is not None and ws.destination.schema is not None,
            "mapping": ws.upload is not None and ws.table is not None,
            "check": ws.table is not None,
            "import": ws.table is not None and ws.destination is not None and ws.destination.schema is not None,
            "results": ws.current_job is not None,
        }
        current = request.endpoint or ""
        return [{"id": sid, "label": label, "open": open_[sid], "current": current.startswith(sid)}
                for sid, label in STEPS]

    @app.get("/")
    def home() -> Any:
        if ws.current_job is not None:
            return redirect("/results" if ws.current_job.state != "running" else "/import")
        if ws.table is not None:
            return redirect("/mapping")
        if ws.destination is not None and ws.destination.schema is not None:
            return redirect("/file")
        return redirect("/connect")

    # 1. connect ---------------------------------------------------------------------------------
    @app.get("/connect")
    def connect() -> Any:
        return _page("connect.html", default_api_url=default_api_url or "https://api.copernica.com/v3")

    @app.post("/connect")
    @step("/connect")
    def connect_post() -> Any:
        form = request.form
        sandbox = form.get("where") == "sandbox"
        token = (form.get("token") or "").strip()
        version = 4 if form.get("api_version") == "4" else 3
        ws.connect(api_url=(form.get("api_url") or "").strip() or None, token=token, api_version=version,
                   sandbox=sandbox)
        return redirect("/connect/database")

    @app.get("/connect/database")
    def connect_database() -> Any:
        if ws.destination is None:
            return redirect("/connect")
        return _page("database.html")

    @app.post("/connect/database")
    @step("/connect/database")
    def connect_database_post() -> Any:
        try:
            database = int(request.form.get("database", ""))
        except ValueError:
            raise UsageError(Msg.CHOOSE_DATABASE) from None
        ws.choose_database(database)
        return redirect("/file")

    @app.post("/disconnect")
    @step("/connect")
    def disconnect() -> Any:
        ws.require_idle()
        ws.disconnect()
        return redirect("/connect")

    # 2. file --------------------------------------------------------------------------------------
    @app.get("/file")
    def file() -> Any:
        return _page("file.html", encodings=ENCODINGS, delimiters=DELIMITERS)

    @app.post("/file")
    @step("/file")
    def file_post() -> Any:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise UsageError(Msg.NO_FILE_CHOSEN)
        ws.receive_file(upload.filename, upload.save)
        return redirect("/file")

    @app.post("/file/reading")
    @step("/file")
    def file_reading() -> Any:
        form = request.form
        ws.set_reading(form.get("encoding", "").strip(), form.get("delimiter", "").strip(),
                       form.get("sheet", "").strip())
        return redirect("/file")

    # 3. mapping ------------------------------------------------------------------------------------
    @app.get("/mapping")
    def mapping() -> Any:
        if ws.table is None:
            return redirect("/file")
        live = ws.live or ws.live_check()
        return _page("mapping.html", live=live, options=_target_options(), modes=MODES, on_invalid=ON_INVALID,
                     live_rows=LIVE_ROWS, yaml_text=_yaml_or_none())

    def _target_options() -> list:
        schema = ws.destination.schema if ws.destination is not None else None
        return target_options(schema, ws.table)

    def _yaml_or_none() -> str | None:
        try:
            return ws.mapping_text()
        except CopernicaImportError:
            return None

    @app.post("/mapping")
    @step("/mapping")
    def mapping_post() -> Any:
        ws.require_idle()
        table = ws.require_table()
        table.update_from_form(request.form)
        action = request.form.get("action", "")
        if action.startswith("add:"):
            table.add_line(_index(action))
        elif action.startswith("remove:"):
            table.remove_line(_index(action))
        elif action == "add-constant":
            table.constants.append(Constant("", ""))
        elif action.startswith("remove-constant:"):
            index = _index(action)
            if 0 <= index < len(table.constants):
                del table.constants[index]
        ws.live_check()
        if action == "next" and ws.live is not None and ws.live.error is None:
            return redirect("/check")
        return redirect("/mapping")

    @app.post("/mapping/live")
    def mapping_live() -> Any:
        """Every change on the mapping page: the table updated and checked again."""
        if ws.busy or ws.table is None:
            return jsonify({"error": "busy"}), 409
        ws.table.update_from_form(request.form)
        live = ws.live_check()
        return jsonify({
            "status": render_template("_live.html", live=live, live_rows=LIVE_ROWS, ws=ws),
            "lines": {str(i): render_template("_line_status.html", line=line, live=live)
                      for i, line in enumerate(ws.table.lines)},
            "yaml": _yaml_or_none() or "",
        })

    @app.post("/mapping/open")
    @step("/mapping")
    def mapping_open() -> Any:
        upload = request.files.get("mapping")
        if upload is None or not upload.filename:
            raise UsageError(Msg.NO_FILE_CHOSEN)
        ws.open_mapping(upload.filename, upload.save)
        ws.live_check()
        return redirect("/mapping")

    @app.get("/mapping.yaml")
    @step("/mapping")
    def mapping_download() -> Any:
        text = ws.mapping_text()
        return Response(text, mimetype="application/x-yaml",
                        headers={"Content-Disposition": _attachment(ws.mapping_name)})

    # 4. check ---------------------------------------------------------------------------------------
    @app.get("/check")
    def check() -> Any:
        if ws.table is None:
            return redirect("/file")
        if ws.check is None:
            try:
                ws.run_check()
            except CopernicaImportError as exc:
                ws.say(str(exc))
                return redirect("/mapping")
        return _page("check.html", check=ws.check, groups=_groups(ws.check.collector, ws.check.report))

    @app.post("/check")
    @step("/mapping")
    def check_post() -> Any:
        ws.run_check()
        return redirect("/check")

    @app.get("/download/check.csv")
    def check_download() -> Any:
        if ws.check is None or not ws.check.report.exists():
            abort(404)
        return _download(ws.check.report, ws.check.report.name)

    def _groups(collector, report: Path) -> list[dict]:
        groups = collector.sorted_groups()
        wanted = {row for g in groups for row, _, _ in g.rows}
        columns, cells = report_rows(report, wanted) if wanted else ([], {})
        return [{"group": g, "columns": columns, "cells": cells} for g in groups]

    # 5. import --------------------------------------------------------------------------------------
    @app.get("/import")
    def import_page() -> Any:
        job = ws.current_job
        if job is not None and job.state == "running":
            return _page("progress.html", job=job)
        if ws.table is None:
            return redirect("/file")
        return _page("import.html", modes=MODES, mode=ws.table.on_existing, confirm=None)

    @app.post("/import")
    @step("/import")
    def import_review() -> Any:
        mode = request.form.get("mode", "create")
        if mode not in MODES:
            mode = "create"
        ws.require_idle()
        ws.check = None                # the confirmation counts the file as it is now
        ws.require_table().on_existing = mode
        confirm = ws.confirmation(mode)
        return _page("import.html", modes=MODES, mode=mode, confirm=confirm)

    @app.post("/import/start")
    @step("/import")
    def import_start() -> Any:
        form = request.form
        mode = form.get("mode", "create")
        try:
            database = int(form.get("database", ""))
        except ValueError:
            raise UsageError(Msg.CONFIRM_MISMATCH) from None
        ws.start_import(mode if mode in MODES else "create", database, form.get("host", ""))
        return redirect("/import")

    @app.post("/import/stop")
    def import_stop() -> Any:
        ws.stop_import()
        if request.headers.get("X-Requested-With") == "fetch":
            return jsonify({"stopping": True})
        return redirect("/import")

    @app.post("/import/resume")
    @step("/results")
    def import_resume() -> Any:
        ws.resume_import()
        return redirect("/import")

    @app.get("/import/status")
    def import_status() -> Any:
        job = ws.current_job
        if job is None:
            abort(404)
        return jsonify(job.snapshot())

    @app.get("/import/events")
    def import_events() -> Any:
        """Server-sent events: the running import's progress, twice a second, until it ends."""
        job = ws.current_job
        if job is None:
            abort(404)

        def stream():
            while True:
                snapshot = job.snapshot()
                yield f"event: progress\ndata: {json.dumps(snapshot)}\n\n"
                if snapshot["state"] != "running":
                    yield "event: end\ndata: {}\n\n"
                    return
                time.sleep(0.5)
        return Response(stream(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    # 6. results ---------------------------------------------------------------------------------------
    @app.get("/results")
    def results() -> Any:
        job = ws.current_job
        if job is None:
            return redirect("/import")
        if job.state == "running":
            return redirect("/import")
        groups = _groups(job.collector, job.results) if job.results.exists() else []
        stored = None
        if job.sandbox and ws.destination is not None and ws.destination.sandbox is not None:
            stored = len(ws.destination.sandbox.profiles(job.database_id))
        return _page("results.html", job=job, groups=groups, stored=stored, statuses=STATUS_ORDER)

    @app.get("/download/results.csv")
    def results_download() -> Any:
        job = ws.current_job
        if job is None or not job.results.exists():
            abort(404)
        return _download(job.results, job.results.name)

    @app.get("/report")
    def report_view() -> Any:
        job = ws.current_job
        if job is None or job.report is None or not job.report.exists():
            abort(404)
        response = send_file(job.report, mimetype="text/html")
        # the report is a self-contained page with inline styles and no scripts
        response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                       "img-src data:; frame-ancestors 'none'")
        return response

    @app.get("/download/report.html")
    def report_download() -> Any:
        job = ws.current_job
        if job is None or job.report is None or not job.report.exists():
            abort(404)
        return _download(job.report, Path(job.file_name).stem + ".report.html")

    @app.get("/download/mapping-used.yaml")
    def mapping_used() -> Any:
        job = ws.current_job
        if job is None:
            abort(404)
        return _download(job.mapping, job.mapping.name)

    @app.get("/rollback")
    def rollback_page() -> Any:
        try:
            plan = ws.rollback_plan()
        except CopernicaImportError as exc:
            ws.say(str(exc))
            return redirect("/results")
        return _page("rollback.html", plan=plan, job=ws.current_job)

    @app.post("/rollback")
    @step("/results")
    def rollback_post() -> Any:
        result = ws.roll_back()
        ws.say(Msg.ROLLED_BACK.format(deleted=result.deleted, failed=result.failed), "info")
        return redirect("/results")

    @app.get("/download/rollback.csv")
    def rollback_download() -> Any:
        job = ws.current_job
        if job is None or job.rollback is None or not job.rollback.record.exists():
            abort(404)
        return _download(job.rollback.record, job.rollback.record.name)

    @app.post("/start-over")
    @step("/mapping")
    def start_over() -> Any:
        ws.require_idle()
        ws.upload, ws.table, ws.live, ws.check = None, None, None, None
        return redirect("/file")

    app.jinja_env.globals.update(reason_title=lambda code: REASON_TITLES.get(code, code), mb=_mb)
    app.jinja_env.filters["number"] = lambda n: f"{n:,}"
    app.jinja_env.filters["duration"] = _duration
    return app


def _index(action: str) -> int:
    try:
        return int(action.rsplit(":", 1)[1])
    except ValueError:
        return -1


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme else "null"


def _attachment(name: str) -> str:
    from urllib.parse import quote
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "") or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _download(path: Path, name: str) -> Response:
    response = send_file(path, as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def _mb(size: int | float) -> str:
    return f"{size / (1024 * 1024):.3g}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"

