"""The HTTP side: authentication, faults, inspection endpoints (``Sandbox``, in server.py, runs them).

Paths served:
- ``/v1/ /v2/ /v3/...?access_token=T``: the API (see api.py); a wrong or
  missing token is 400 ``{"error":{"message":"Invalid access token"}}``.
- ``/v4/...`` with ``Authorization: Bearer JWT``; the JWT comes from
  ``POST /authenticate`` (form body ``access_token=T``, answer: the JWT as
  text). A missing, forged, expired or revoked JWT is **401** with the same
  JSON body: the signal for a client to fetch a fresh JWT and retry.
- ``/_sandbox/...``: inspection and control, loopback clients only, no token:
  ``profiles?database=ID``, ``subprofiles?collection=ID&profile=ID`` (both
  optional), ``stats``, ``faults`` (GET, and POST a JSON object of changes),
  ``reset-stats``, ``expire-jwts``.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from importer.connection import is_loopback
from importer.sandbox.auth import same_token
from importer.sandbox.faults import AfterStore, EarlyAnswer
from importer.sandbox.messages import Msg
from importer.sandbox.shapes import ApiRequest, ApiResponse

if TYPE_CHECKING:
    from importer.sandbox.server import Sandbox

log = logging.getLogger("importer.sandbox.server")  # the name it always logged under

API_VERSIONS = ("v1", "v2", "v3", "v4")
INSPECTION_PREFIX = "/_sandbox/"
AUTH_PATH = "/authenticate"


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256   # 32+ clients connecting at once must not be refused
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: "Sandbox") -> None:
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        """End idle keep-alive connections so their threads finish."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive
    server_version = "CopernicaSandbox/1.0"
    server: HttpServer
    timeout = 120                   # an idle keep-alive connection is closed after this
    # headers and body go out in separate writes; without TCP_NODELAY the
    # client's delayed ACK adds 40 ms to every small answer
    disable_nagle_algorithm = True

    # Never log request lines: v1-v3 carry the access token in the query string.
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        sandbox = self.server.sandbox
        try:
            body = self._read_body()
        except ConnectionResetError:
            self.close_connection = True
            return
        url = urlsplit(self.path)
        try:
            if url.path.startswith(INSPECTION_PREFIX):
                self._inspection(method, url.path[len(INSPECTION_PREFIX):], url.query, body)
            elif url.path.rstrip("/") == AUTH_PATH:
                sandbox.stats_counter.add("requests")
                self._authenticate(method, url.query, body)
            else:
                sandbox.stats_counter.add("requests")
                self._api_call(method, url.path, url.query, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a bug or a sandbox shutting down: answer, never hang
            log.exception("sandbox request failed")
            self._send(ApiResponse.json({"error": {"message": "Internal sandbox error"}}, status=500))

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0  # a garbled length: treat as no body, the API then says what is missing
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:
            # the client went away mid-request (say, killed between headers and body):
            # a real server never hands a cut request to the API, so nothing is stored
            raise ConnectionResetError("request body cut short")
        return body

    # --- the API ---
    def _api_call(self, method: str, path: str, query: str, body: bytes) -> None:
        sandbox = self.server.sandbox
        injector = sandbox.injector
        in_flight = injector.enter()
        try:
            early = injector.early_answer(in_flight)
            if early is EarlyAnswer.OVER_CAPACITY:  # the load balancer answers at once
                sandbox.stats_counter.add("over_capacity")
                return self._send_loadbalancer_error(503, Msg.TOO_MANY_REQUESTS_REASON)
            sandbox.stop_event.wait(injector.delay_seconds())
            if early is not None:
                return self._early_fault(early)
            self._authorised_api_call(method, path, query, body)
        finally:
            injector.leave()

    def _early_fault(self, early: EarlyAnswer) -> None:
        counters = self.server.sandbox.stats_counter
        if early is EarlyAnswer.RATE_LIMITED:
            counters.add("rate_limited")
            self._send_loadbalancer_error(429, Msg.RATE_LIMITED_DETAIL)
        elif early is EarlyAnswer.UNAVAILABLE:
            counters.add("unavailable")
            self._send_loadbalancer_error(503, Msg.SERVICE_UNAVAILABLE_DETAIL)
        else:
            counters.add("dropped_before_store")
            self._drop()

    def _authorised_api_call(self, method: str, path: str, query: str, body: bytes) -> None:
        sandbox = self.server.sandbox
        parts = path.lstrip("/").split("/", 1)
        version, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        if version not in API_VERSIONS:
            return self._send(ApiResponse.error(Msg.INVALID_METHOD))
        query_pairs = parse_qsl(query, keep_blank_values=True)
        token_expired = sandbox.injector.token_expired()
        if version == "v4":
            if token_expired or not sandbox.jwts.is_valid(self._bearer()):
                sandbox.stats_counter.add("invalid_token")
                return self._send(ApiResponse.json({"error": {"message": Msg.INVALID_TOKEN}}, 401))
        else:
            given = next((v for k, v in query_pairs if k == "access_token"), None)
            if token_expired or not same_token(given, sandbox.token):
                sandbox.stats_counter.add("invalid_token")
                return self._send(ApiResponse.error(Msg.INVALID_TOKEN))
        request = ApiRequest(method, rest, [(k, v) for k, v in query_pairs if k != "access_token"],
                             body, self.headers.get("Content-Type", ""),
                             f"{sandbox.base_url}/{version}")
        if method == "POST":
            sandbox.stats_counter.add("posts")
        response = sandbox.api.handle(request)
        self._count_write(method, response)
        if response.created_ids:
            sandbox.injector.note_created(response.created_ids)
        if response.stored_profile:
            after = sandbox.injector.after_store()
            if after is AfterStore.DROP:
                sandbox.stats_counter.add("dropped_after_store")
                return self._drop()
            if after is AfterStore.SLOW:
                sandbox.stats_counter.add("slow")
                sandbox.stop_event.wait(sandbox.injector.faults.slow_seconds)
        self._send(response)

    def _count_write(self, method: str, response: ApiResponse) -> None:
        counters = self.server.sandbox.stats_counter
        counters.add("stored", len(response.created_ids))
        if response.status == 303:
            counters.add("updated")
        elif method == "DELETE" and response.status == 200:
            counters.add("deleted")

    def _bearer(self) -> str:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""

    # --- v4 authentication ---
    def _authenticate(self, method: str, query: str, body: bytes) -> None:
        sandbox = self.server.sandbox
        if method != "POST":
            return self._send(ApiResponse.error(Msg.INVALID_METHOD))
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        given = form.get("access_token") or dict(parse_qsl(query)).get("access_token")
        if sandbox.injector.token_already_expired() or not same_token(given, sandbox.token):
            sandbox.stats_counter.add("invalid_token")
            return self._send(ApiResponse.error(Msg.INVALID_TOKEN))
        sandbox.stats_counter.add("jwts_issued")
        jwt = sandbox.jwts.issue(sandbox.injector.faults.jwt_lifetime)
        self._send(ApiResponse(200, jwt.encode("ascii"), content_type="text/plain; charset=utf-8"))

    # --- inspection ---
    def _inspection(self, method: str, name: str, query: str, body: bytes) -> None:
        sandbox = self.server.sandbox
        if not is_loopback(self.client_address[0]):
            return self._send(ApiResponse.json({"error": {"message": Msg.INSPECTION_LOOPBACK_ONLY}}, 403),
                              count=False)
        params = dict(parse_qsl(query))
        route = (method, name.strip("/"))
        if route == ("GET", "profiles"):
            database = params.get("database")
            result: Any = sandbox.profiles(int(database) if database else None)
        elif route == ("GET", "subprofiles"):
            try:
                collection, profile = (int(params[n]) if params.get(n) else None for n in ("collection", "profile"))
            except ValueError:
                return self._send(ApiResponse.json({"error": {"message": Msg.INSPECTION_NOT_FOUND}}, 404),
                                  count=False)
            result = sandbox.subprofiles(collection, profile=profile)
        elif route == ("GET", "stats"):
            result = sandbox.stats()
        elif route == ("GET", "faults"):
            result = dataclasses.asdict(sandbox.faults)
        elif route == ("POST", "faults"):
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError
            except ValueError:
                return self._send(ApiResponse.error(Msg.INSPECTION_BAD_JSON), count=False)
            problem = sandbox.fault_change_problem(changes)
            if problem:
                return self._send(ApiResponse.error(problem), count=False)
            result = dataclasses.asdict(sandbox.set_faults(**changes))
        elif route == ("POST", "reset-stats"):
            sandbox.reset_stats()
            result = sandbox.stats()
        elif route == ("POST", "expire-jwts"):
            sandbox.expire_jwts()
            result = {"expired": True}
        else:
            return self._send(ApiResponse.json({"error": {"message": Msg.INSPECTION_NOT_FOUND}}, 404),
                              count=False)
        self._send(ApiResponse.json(result), count=False)

    # --- writing answers ---
    def _send_loadbalancer_error(self, status: int, detail: str) -> None:
        headers = {"X-Reason": detail}
        retry_after = self.server.sandbox.injector.faults.retry_after
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        html = Msg.LOADBALANCER_HTML.format(detail=detail).encode("utf-8")
        self._send(ApiResponse(status, html, headers, content_type="text/html; charset=utf-8"))

    def _send(self, response: ApiResponse, count: bool = True) -> None:
        if count:
            self.server.sandbox.stats_counter.answered(response.status)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection without a word: the client sees it aborted."""
        self.server.sandbox.stats_counter.add("dropped")
        self.close_connection = True
