"""One HTTP attempt's failure, classified by "could it have been processed?",
and the one retry policy built on that question.

- ``NotProcessed``: the server certainly did not take the request (429, 503,
  connection refused, connect timeout): safe to send again, even a POST.
- ``MaybeProcessed``: it may have been taken (read timeout, connection
  dropped after sending, 5xx from behind the load balancer): only idempotent
  calls (GET, PUT, DELETE) are sent again; a POST becomes ``AnswerLost`` and
  the sender decides (look the key up).
- ``FinalAnswer``: an answer that retrying cannot change (a refusal, the
  token, TLS); it carries the public error.

These attempt errors never leave the HTTP layer (``client``, ``bearer``):
``public_error`` turns the last one into an error of ``importer.errors``.
Their texts are built from scratch, free of secrets: the exceptions of
``requests`` (whose text holds the URL with its query string) are never
chained or shown.
"""
from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import urllib3.exceptions
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from importer.errors import AnswerLost, ApiUnavailable, CopernicaImportError, RequestFailed, TemporaryFailure
from importer.redaction import redact


class Msg:
    """What a failed attempt is called in the messages users read."""
    TEMPORARY = "Copernica could not be reached after {attempts} attempt(s): {reason}"
    AMBIGUOUS = ("the request was sent but its answer was lost ({reason}); "
                 "the profile may or may not have been created")
    AMBIGUOUS_IDEMPOTENT = "Copernica did not answer properly after {attempts} attempt(s): {reason}"
    TLS = ("the secure connection to {host} could not be verified ({reason}); "
           "nothing was sent. Check the API address and the system's certificates.")
    R_REFUSED = "connection refused"
    R_CONNECT_TIMEOUT = "connecting timed out"
    R_NO_HOST = "the host name could not be found"
    R_READ_TIMEOUT = "no answer within {seconds:g} seconds"
    R_DROPPED = "the connection was closed before the answer arrived"
    R_BROKEN_ANSWER = "the answer was cut off"
    R_STATUS = "HTTP {status} {detail}"
    R_TLS_VERIFY = "certificate verify failed"
    R_TLS_HANDSHAKE = "TLS handshake failed"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a request is tried."""
    attempts: int = 6          # total tries, the first included
    backoff: float = 0.5       # exponential backoff multiplier, seconds
    max_wait: float = 60.0     # longest wait between tries (a longer Retry-After is cut to this)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def retrying(self, *, idempotent: bool, sleep: Callable[[float], None] = time.sleep) -> Retrying:
        """The tenacity policy for one kind of call; build it once and reuse it
        (its per-call state is thread-local)."""
        backoff = wait_random_exponential(multiplier=self.backoff, max=self.max_wait)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            after = getattr(error, "retry_after", None)
            return min(after, self.max_wait) if after is not None else backoff(state)

        return Retrying(stop=stop_after_attempt(self.attempts), wait=wait, sleep=sleep, reraise=True,
                        retry=retry_if_exception(lambda e: retryable(e, idempotent)))


# -- attempt outcomes (never leave the HTTP layer) --------------------------------
class AttemptFailed(Exception):
    """One attempt failed; ``reason`` is already free of secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotProcessed(AttemptFailed):
    """The server certainly did not process the request: safe to retry."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class MaybeProcessed(AttemptFailed):
    """The request may have been processed: retry only if idempotent."""


class FinalAnswer(Exception):
    """Wraps an error that must not be retried (refusals, token, TLS)."""

    def __init__(self, error: CopernicaImportError) -> None:
        super().__init__("final")
        self.error = error


def retryable(error: BaseException, idempotent: bool) -> bool:
    if isinstance(error, NotProcessed):
        return True
    return idempotent and isinstance(error, MaybeProcessed)


def public_error(failure: BaseException, *, idempotent: bool, attempts: int) -> CopernicaImportError:
    """The error a caller sees after the last attempt."""
    if isinstance(failure, FinalAnswer):
        failure = failure.error
    if isinstance(failure, RequestFailed):
        failure.attempts = attempts
        return failure
    if isinstance(failure, NotProcessed):
        error = TemporaryFailure(Msg.TEMPORARY.format(attempts=attempts, reason=failure.reason), attempts)
        error.no_connection = failure.reason in (Msg.R_REFUSED, Msg.R_NO_HOST, Msg.R_CONNECT_TIMEOUT)
        return error
    if isinstance(failure, MaybeProcessed):
        if idempotent:
            return AnswerLost(Msg.AMBIGUOUS_IDEMPOTENT.format(attempts=attempts, reason=failure.reason), attempts)
        return AnswerLost(Msg.AMBIGUOUS.format(reason=failure.reason), attempts)
    if isinstance(failure, CopernicaImportError):
        return failure  # an ApiError (token, TLS): stops the run
    raise TypeError(f"not an attempt outcome: {type(failure).__name__}")


# -- classification -----------------------------------------------------------------
def transport_failure(exc: requests.RequestException, host: str, read_timeout: float) -> Exception:
    """What a transport error of ``requests`` says about the request."""
    if isinstance(exc, requests.exceptions.SSLError):
        return FinalAnswer(ApiUnavailable(Msg.TLS.format(host=host, reason=_tls_reason(exc))))
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return NotProcessed(Msg.R_CONNECT_TIMEOUT)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return MaybeProcessed(Msg.R_READ_TIMEOUT.format(seconds=read_timeout))
    if isinstance(exc, requests.exceptions.ConnectionError):
        cause = _root_cause(exc)
        if isinstance(cause, urllib3.exceptions.NameResolutionError):
            return NotProcessed(Msg.R_NO_HOST)
        if isinstance(cause, urllib3.exceptions.NewConnectionError):
            return NotProcessed(Msg.R_REFUSED)
        if isinstance(cause, urllib3.exceptions.ConnectTimeoutError):
            return NotProcessed(Msg.R_CONNECT_TIMEOUT)
        return MaybeProcessed(Msg.R_DROPPED)
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return MaybeProcessed(Msg.R_BROKEN_ANSWER)
    return MaybeProcessed(type(exc).__name__)


def status_failure(status: int, detail: str, retry_after_s: float | None) -> AttemptFailed | None:
    """429/503 were certainly not processed; other 5xx may have been; None otherwise."""
    text = Msg.R_STATUS.format(status=status, detail=detail).strip()
    if status in (429, 503):
        return NotProcessed(text, retry_after=retry_after_s)
    if status >= 500:
        return MaybeProcessed(text)
    return None


def _root_cause(exc: BaseException) -> BaseException | None:
    """The urllib3 error inside a requests ConnectionError."""
    reason: Any = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return reason if isinstance(reason, BaseException) else None


def _tls_reason(exc: BaseException) -> str:
    text = redact(str(_root_cause(exc) or exc))
    return Msg.R_TLS_VERIFY if "CERTIFICATE_VERIFY_FAILED" in text else Msg.R_TLS_HANDSHAKE


def retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds (it may be a number or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_detail(response: requests.Response) -> str:
    """Copernica's error message, or a short hint from an HTML page."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return redact(str(error["message"]))
        if isinstance(error, str):
            return redact(error)
    title = re.search(r"<title>(.*?)</title>", response.text or "", re.I | re.S)
    if title:
        return redact(title.group(1).strip())[:200]
    return redact(response.reason or "")[:200]
