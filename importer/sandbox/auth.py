"""Access tokens (v1-v3) and the v4 bearer JWT.

The JWT is a real HS256-signed token (header.payload.signature, base64url)
with ``iat`` and ``exp``, signed with a key that lives only as long as the
sandbox, so a JWT from an earlier sandbox run is rejected like a forged one.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def same_token(given: str | None, expected: str) -> bool:
    """Compare in constant time, so the sandbox teaches no timing shortcuts."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class JwtIssuer:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        # JWTs of an earlier generation are revoked (expire_all)
        self._generation = 0

    def issue(self, lifetime_seconds: float) -> str:
        now = time.time()
        with self._lock:
            generation = self._generation
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps({"iss": "copernica-sandbox", "iat": now,
                                      "exp": now + lifetime_seconds, "gen": generation}).encode())
        return f"{header}.{payload}.{self._sign(header, payload)}"

    def is_valid(self, token: str) -> bool:
        parts = token.split(".")
        if len(parts) != 3 or not hmac.compare_digest(parts[2], self._sign(parts[0], parts[1])):
            return False
        try:
            claims = json.loads(_b64url_decode(parts[1]))
        except ValueError:
            return False
        with self._lock:
            generation = self._generation
        return claims.get("gen") == generation and time.time() < claims.get("exp", 0)

    def expire_all(self) -> None:
        """Revoke every JWT issued so far (tests of renewal, without waiting)."""
        with self._lock:
            self._generation += 1

    def _sign(self, header: str, payload: str) -> str:
        return _b64url(hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
