"""API tokens: `frost_` and 32 random bytes (base64url), sent as `Authorization: Bearer frost_...`.

The token is shown once, when it is made (the API's answer, or the CLI's line); the database
keeps its SHA-256 only. A high-entropy random token needs no slow hash: nobody guesses 256 bits,
and a fast one keeps every scripted request cheap.
"""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "frost_"
TOKEN_BYTES = 32
TOKEN_TEXT = re.compile(r"frost_[A-Za-z0-9_-]{43}")


def new_token() -> tuple[str, bytes]:
    """Return a new token and the hash the database keeps."""
    text = PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    return text, hash_token(text)


def hash_token(text: str) -> bytes:
    """Return the SHA-256 of a token."""
    return hashlib.sha256(text.encode("ascii")).digest()


def bearer(authorization: str | None) -> str | None:
    """Return the credentials of an `Authorization: Bearer ...` header (any text), or None when there is none."""
    if authorization is None:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip()


def parse_token(text: str) -> bytes | None:
    """Return the hash of a well-formed token, or None (it cannot be one of ours)."""
    return hash_token(text) if TOKEN_TEXT.fullmatch(text) else None
