"""The page's app: the locks on the door, the error pages, and the steps' routes.

The door: requests must name this server's own address as their Host (no
DNS rebinding), carry the session cookie that the one-time secret of the
start-up link set, and, for anything that changes something, come from this
page (an Origin or Referer of this server when the browser sends one, and
always the form's CSRF token, checked by Flask-WTF). Uploads are limited in
size and spooled into the workspace's private folder.

The steps' handlers are thin, over a ``Workspace``, one blueprint per part
of the page: ``routes_setup`` (connect, file), ``routes_mapping`` (mapping,
check), ``routes_import`` (import, results, rollback); ``pages`` has what
they share.
"""
from __future__ import annotations

import logging
import secrets
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, redirect, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from importer.models import REASON_TITLES
from importer.ui import routes_import, routes_mapping, routes_setup
from importer.ui.pages import EXTENSION, page
from importer.ui.workspace import Workspace

log = logging.getLogger("importer.ui")


class Msg:
    """What the door and the error pages say."""
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
        WTF_CSRF_CHECK_DEFAULT=False,                  # checked by the door, after its own checks
        WTF_CSRF_TIME_LIMIT=None,
        ALLOWED_HOSTS=[],                              # set by the server once its port is known
        TEMPLATES_AUTO_RELOAD=False,
    )
    PrivateRequest.upload_folder = workspace.folder / "uploads"
    app.request_class = PrivateRequest
    app.extensions[EXTENSION] = {"workspace": workspace, "default_api_url": default_api_url}
    _door(app, CSRFProtect(app), secret)
    _error_pages(app)
    for part in (routes_setup, routes_mapping, routes_import):
        app.register_blueprint(part.bp)
    app.jinja_env.globals.update(reason_title=lambda code: REASON_TITLES.get(code, code), mb=_mb)
    app.jinja_env.filters["number"] = lambda n: f"{n:,}"
    app.jinja_env.filters["duration"] = _duration
    return app


def _door(app: Flask, csrf: CSRFProtect, secret: str) -> None:
    """This server's own Host, the session the one-time link opened, and for a change the page's own form."""
    door = {"secret": secret}

    @app.before_request
    def guard() -> Any:
        if request.host not in app.config["ALLOWED_HOSTS"]:
            return page("error.html", 400, message=Msg.BAD_HOST)
        if request.endpoint in ("login", "static"):
            return None
        if not session.get("in"):
            return page("error.html", 403, message=Msg.NOT_LOGGED_IN)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("Origin") or _origin_of(request.headers.get("Referer"))
            if origin is not None and origin not in {f"http://{host}" for host in app.config["ALLOWED_HOSTS"]}:
                return page("error.html", 403, message=Msg.CROSS_SITE)
            csrf.protect()
        return None

    app.after_request(_headers)

    @app.get("/login")
    def login() -> Any:
        given = request.args.get("secret", "")
        if not door["secret"] or not secrets.compare_digest(given.encode(), door["secret"].encode()):
            return page("error.html", 403, message=Msg.LOGIN_USED)
        door["secret"] = ""            # one time only
        session.clear()
        session["in"] = True
        return redirect("/")


def _headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"   # "no-referrer" would make the Origin of a form "null"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return page("error.html", 400, message=Msg.CSRF)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> Any:
        return page("error.html", 413, message=Msg.TOO_LARGE.format(mb=_mb(app.config["MAX_CONTENT_LENGTH"])))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return page("error.html", exc.code or 500, message=exc.description or Msg.NOT_FOUND)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.error("unexpected error on %s %s: %s", request.method, request.path, type(exc).__name__)
        log.debug("details", exc_info=exc)
        return page("error.html", 500, message=Msg.UNEXPECTED.format(error=type(exc).__name__))


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme else "null"


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
