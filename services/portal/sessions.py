"""Sessions, login rate limits and the security headers of the artists' portal.

A session is a cookie the portal signs with HMAC-SHA256 under a key drawn at start-up
(32 random bytes, in memory only: a restart logs everyone out, and nothing secret is
configured or stored). It names the artist, the hash of the login token it came from and
its expiry (the token's, at most `SESSION_HOURS`). Every request re-reads the token: a
revoked or expired token ends its sessions at once. The cookie is HttpOnly,
SameSite=Strict, Path=/, and Secure when the portal is reached over https.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ledger.crypto import canonical_text

COOKIE = "fairsplit_session"
SESSION_HOURS = 12
#: No script but our own files, no inline script or style, no framing, no plug-ins, no
#: form posting elsewhere; fetch/XHR only to the portal itself.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cache-control": "no-store",
}


@dataclass(frozen=True)
class Session:
    artist_id: str
    token_hash: str
    expires: datetime

    @property
    def account(self) -> str:
        return f"artist:{self.artist_id}"


class SessionSigner:
    """Signs and opens session cookies with a key that lives only in this process."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, payload, hashlib.sha256).digest()).decode().rstrip("=")

    def seal(self, session: Session) -> str:
        body = canonical_text([session.artist_id, session.token_hash, int(session.expires.timestamp())]).encode()
        payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
        return f"{payload}.{self._mac(payload.encode())}"

    def open(self, cookie: str | None, now: datetime) -> Session | None:
        """The session in `cookie` if its MAC verifies and it has not expired; None otherwise."""
        if not cookie or len(cookie) > 512 or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        if not hmac.compare_digest(mac.encode(), self._mac(payload.encode()).encode()):
            return None
        try:
            artist_id, hashed, expires = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            moment = datetime.fromtimestamp(expires, UTC)
        except (ValueError, TypeError, OverflowError):
            return None
        if not isinstance(artist_id, str) or not isinstance(hashed, str) or moment <= now:
            return None
        return Session(artist_id, hashed, moment)


def session_expiry(token_expires: datetime, now: datetime) -> datetime:
    return min(token_expires, now + timedelta(hours=SESSION_HOURS))


class LoginLimiter:
    """Failed logins, counted per client address and in total over a sliding window.

    `allowed(client)` is False while the client has `per_client` failures within `window`
    seconds, or everyone together `overall` (a spread-out guess is limited too). A
    success does not reset the count: guessing stays slow.
    """

    def __init__(self, per_client: int = 5, overall: int = 100, window: float = 60.0, clock=time.monotonic) -> None:
        self.per_client, self.overall, self.window, self.clock = per_client, overall, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def allowed(self, client: str) -> bool:
        with self._lock:
            now = self.clock()
            mine = self._failures.get(client, deque())
            self._trim(mine, now)
            self._trim(self._all, now)
            return len(mine) < self.per_client and len(self._all) < self.overall

    def failed(self, client: str) -> None:
        with self._lock:
            now = self.clock()
            if len(self._failures) > 10_000:  # bounded memory: forget the quiet clients
                for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window]:
                    del self._failures[key]
            self._failures.setdefault(client, deque()).append(now)
            self._all.append(now)
