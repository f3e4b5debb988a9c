"""Browser sessions: the cookie's value, the hash kept of it, its CSRF token, and when it ends.

A session id is 32 random bytes (base64url, 43 characters), made anew at every sign-in (no
session fixation) and sent only as the cookie `frost_session` (HttpOnly, SameSite=Strict, Path=/,
Secure over TLS: http/signin.py sets it). The database keeps its SHA-256: the file alone signs
nobody in. A session ends when unused for `idle` seconds, `lifetime` seconds after sign-in, or when
its row is deleted (sign-out, sign-out everywhere, a password change, the user removed), which
takes effect at the next request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

COOKIE = "frost_session"
ID_BYTES = 32
ID_TEXT = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes, base64url without padding
CSRF_BYTES = 32
# The last use is written at most this often per session (seconds): the idle expiry is that much
# coarser, and a dashboard polling every second costs one write a minute, not one a request.
TOUCH_EVERY = 60.0


def new_session_id() -> tuple[str, bytes]:
    """Return a new session's cookie value and the hash the database keeps."""
    value = secrets.token_urlsafe(ID_BYTES)
    return value, hash_id(value)


def hash_id(value: str) -> bytes:
    """Return the SHA-256 of a cookie value (what the database keeps and looks up)."""
    return hashlib.sha256(value.encode("ascii")).digest()


def parse_cookie(value: str | None) -> bytes | None:
    """Return the hash of a well-formed cookie value, or None (absent, or not one of ours)."""
    if value is None or not ID_TEXT.fullmatch(value):
        return None
    return hash_id(value)


def new_csrf_token() -> str:
    """Return a new session's CSRF token (sent back in X-CSRF-Token by every write)."""
    return secrets.token_urlsafe(CSRF_BYTES)


@dataclass(frozen=True)
class SessionLifetimes:
    """When a session ends: `idle` seconds after its last use, `lifetime` seconds after sign-in."""

    idle: float
    lifetime: float

    def alive(self, created: float, last_seen: float, now: float) -> bool:
        """Tell whether a session made at `created` and last used at `last_seen` is still alive at `now`."""
        return now - last_seen < self.idle and now - created < self.lifetime

    def needs_touch(self, last_seen: float, now: float) -> bool:
        """Tell whether the session's last use should be written again."""
        return now - last_seen >= TOUCH_EVERY
