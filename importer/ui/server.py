"""Starting and stopping the page: 127.0.0.1 only, a free port, a one-time link.

``serve()`` is what ``copernica-import ui`` runs: it prints the address with
a one-time secret, opens the browser, and serves until Ctrl-C (or SIGTERM).
Stopping stops a running import the way Ctrl-C stops ``run`` (resumably),
closes the rehearsal sandbox and deletes the private folder, except the
results and journals of real imports, whose folder it names.
"""
from __future__ import annotations

import secrets
import signal
import socket
import sys
import tempfile
import threading
import webbrowser
from pathlib import Path
from typing import TextIO

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from importer.errors import UsageError
from importer.redaction import install_log_redaction
from importer.ui.app import create_app
from importer.ui.workspace import Workspace

HOST = "127.0.0.1"      # loopback only: the page is for the person at this computer
DEFAULT_MAX_UPLOAD_MB = 100


class Msg:
    """What ``copernica-import ui`` prints."""
    LISTENING = ("The import page is ready. Open this address in your browser (it works once, in one browser):\n"
                 "  {url}\n"
                 "Press Ctrl-C here to stop the page.")
    BROWSER = "Opening your browser..."
    STOPPING = "Stopping the page..."
    KEPT = ("The results and journals of this session's imports are kept in {path} "
            "(roll back or continue from there with copernica-import rollback / run --resume).")
    STOPPED = "Stopped."
    NO_PORT = "the page cannot listen on port {port} of 127.0.0.1 ({why}); leave --port out to take a free one"


class _QuietHandler(WSGIRequestHandler):
    """No request lines in the log: the start-up link carries the one-time secret."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class PageServer:
    """The page on 127.0.0.1 with its workspace; ``start()`` serves in a thread, ``serve_forever()`` here."""

    def __init__(self, *, port: int = 0, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
                 api_url: str | None = None) -> None:
        install_log_redaction()
        self.folder = Path(tempfile.mkdtemp(prefix="copernica-import-ui-"))   # mode 0700
        self.workspace = Workspace(self.folder)
        self.secret = secrets.token_urlsafe(24)
        self.app = create_app(self.workspace, secret=self.secret, max_upload_mb=max_upload_mb,
                              default_api_url=api_url)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:   # bound here: werkzeug would print its own message and exit on a port in use
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((HOST, port))
            listener.listen(64)
        except OSError as exc:
            listener.close()
            self.workspace.close()
            raise UsageError(Msg.NO_PORT.format(port=port, why=exc.strerror or exc)) from None
        with listener:   # werkzeug serves a duplicate of it
            self._server: BaseWSGIServer = make_server(HOST, port, self.app, threaded=True,
                                                       request_handler=_QuietHandler, fd=listener.fileno())
        self.port = int(self._server.server_address[1])
        self.app.config["ALLOWED_HOSTS"] = [f"{HOST}:{self.port}", f"localhost:{self.port}"]
        self.app.config["SESSION_COOKIE_NAME"] = f"copernica_import_{self.port}"
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def login_url(self) -> str:
        return f"{self.base_url}/login?secret={self.secret}"

    def start(self) -> "PageServer":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="copernica-import-ui", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def close(self) -> Path | None:
        """Stops serving and cleans up; returns the folder kept for real imports, if any."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()
        return self.workspace.close()

    def __enter__(self) -> "PageServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(*, port: int = 0, open_browser: bool = True, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
          api_url: str | None = None, out: TextIO | None = None) -> int:
    """Runs the page until Ctrl-C or SIGTERM; returns the exit code (0)."""
    out = out or sys.stdout
    server = PageServer(port=port, max_upload_mb=max_upload_mb, api_url=api_url)
    print(Msg.LISTENING.format(url=server.login_url), file=out, flush=True)
    if open_browser:
        print(Msg.BROWSER, file=out, flush=True)
        threading.Thread(target=webbrowser.open, args=(server.login_url,), daemon=True).start()

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        print(Msg.STOPPING, file=out, flush=True)
        kept = server.close()
        if kept is not None:
            print(Msg.KEPT.format(path=kept), file=out, flush=True)
        print(Msg.STOPPED, file=out, flush=True)
    return 0
