"""The access token (and a v4 JWT) never appears in output, logs or exceptions.

Every secret the client is given is registered here; ``redact`` replaces it
(and its URL-encoded forms) in any text. Log lines of the HTTP libraries,
which write full URLs with the query string, are scrubbed once
``install_log_redaction()`` has been called: the CLI calls it at start-up; a
library caller who turns on DEBUG logging for urllib3 should call it too.
Nothing is installed behind the caller's back.
"""
from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, quote_plus

REDACTED = "***"
# loggers of the HTTP libraries that may write a URL (query string included)
LIBRARY_LOGGERS = ("urllib3", "urllib3.connectionpool", "urllib3.connection",
                   "urllib3.util.retry", "urllib3.poolmanager", "requests")


class SecretRegistry:
    """The secrets to scrub from every text this process writes about HTTP."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if not secret:
            return
        forms = {secret, quote_plus(secret), quote(secret, safe="")}
        with self._lock:
            self._secrets |= {f for f in forms if len(f) >= 4}

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        # belt and braces: whatever follows access_token= is never shown
        return re.sub(r"(access_token=)[^&\s'\"]+", r"\1" + REDACTED, text)


SECRETS = SecretRegistry()
add_secret = SECRETS.add
redact = SECRETS.redact


class RedactingFilter(logging.Filter):
    """Scrubs secrets from the records of one logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output (tracebacks included) is scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_installed = False
_install_lock = threading.Lock()


def install_log_redaction() -> None:
    """Put a scrubbing filter on each HTTP library logger (once per process).

    A filter on a logger only sees records made by that very logger, so it
    goes on each library logger that may write a URL.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).addFilter(RedactingFilter())
        _installed = True
