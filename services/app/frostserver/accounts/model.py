"""The accounts' domain: users, roles, token scopes, who is asking, and the rules for names and passwords.

Nothing here touches a file, a clock or HTTP: the store (store.py) keeps these, the HTTP side and
the CLI show them, and both raise and catch the errors below (the HTTP side maps each to a status).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
MIN_PASSWORD, MAX_PASSWORD = 8, 1024


class Role(StrEnum):
    """What a user may do: read, or also change the device and manage accounts and tokens."""

    VIEWER = "viewer"
    ADMIN = "admin"


class Scope(StrEnum):
    """What a bearer token may do: read (GET, HEAD), or also change the device (never manage accounts)."""

    READ = "read"
    WRITE = "write"


class Via(StrEnum):
    """How a request proved who sent it."""

    SESSION = "session"
    TOKEN = "token"


@dataclass(frozen=True)
class User:
    """An account as it may be shown: no password hash."""

    name: str
    role: Role
    created: float
    last_login: float | None
    sessions: int = 0  # sessions alive now

    def document(self) -> dict[str, object]:
        """Return the API's shape of the user."""
        return {
            "name": self.name,
            "role": self.role.value,
            "created": self.created,
            "last_login": self.last_login,
            "sessions": self.sessions,
        }


@dataclass(frozen=True)
class Token:
    """A bearer token as it may be shown: never the token itself (only its hash is kept)."""

    id: int
    name: str
    scope: Scope
    created: float
    created_by: str
    last_used: float | None

    def document(self) -> dict[str, object]:
        """Return the API's shape of the token."""
        return {
            "id": self.id,
            "name": self.name,
            "scope": self.scope.value,
            "created": self.created,
            "created_by": self.created_by,
            "last_used": self.last_used,
        }


@dataclass(frozen=True)
class Principal:
    """Who sent a request: a user through a session, or a token."""

    name: str  # the user's name, or the token's
    via: Via
    role: Role  # a token acts as a viewer (read) or an admin that never manages accounts (write)
    scope: Scope | None = None  # tokens only
    session_hash: bytes | None = field(default=None, repr=False)  # sessions only: the SHA-256 of the cookie
    csrf_token: str | None = field(default=None, repr=False)  # sessions only
    token_id: int | None = None  # tokens only

    @property
    def is_admin_session(self) -> bool:
        """Tell whether an admin signed in in a browser: the only one who manages accounts and tokens."""
        return self.via is Via.SESSION and self.role is Role.ADMIN

    @property
    def may_change(self) -> bool:
        """Tell whether it may change the device: an admin's session or a write token."""
        return self.is_admin_session or (self.via is Via.TOKEN and self.scope is Scope.WRITE)


@dataclass(frozen=True)
class SignedIn:
    """A new session: the user, the cookie's value (shown once, to the browser) and its CSRF token."""

    user: User
    cookie: str = field(default="", repr=False)  # never in a repr: it is the session
    csrf_token: str = field(default="", repr=False)


class AccountsError(Exception):
    """A request about accounts that cannot be done; its message is fit to show (never a secret)."""


class BadInput(AccountsError):
    """A field is missing or invalid (the message names it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class NotFound(AccountsError):
    """No such user or token."""


class Conflict(AccountsError):
    """The change would break a rule: a name taken, the last admin, a device already claimed."""


class Refused(AccountsError):
    """Wrong credentials where the asker is known (a wrong current password, a wrong setup code)."""


class WrongCredentials(AccountsError):
    """A sign-in that failed: the same answer for an unknown user and a wrong password."""

    def __init__(self) -> None:
        super().__init__("Wrong user name or password")


class Limited(AccountsError):
    """Too many failures lately: try again after retry_after seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed attempts; try again in {retry_after} s")
        self.retry_after = retry_after


class Busy(AccountsError):
    """This worker is hashing as many passwords as it may at once: try again after retry_after seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"Busy checking other passwords; try again in {retry_after} s")
        self.retry_after = retry_after


class Unavailable(AccountsError):
    """The accounts database cannot be read or written (the message says why, and the fix)."""


def check_name(value: object, field: str = "name") -> str:
    """Return a valid user or token name: 1 to 64 letters, digits, '.', '_' or '-'."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise BadInput(field, f"{field}: must be 1 to 64 letters, digits, '.', '_' or '-'")
    return value


def check_password(value: object, field: str = "password") -> str:
    """Return a valid password: 8 to 1024 characters (any, spaces and other scripts included)."""
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise BadInput(field, f"{field}: must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return value


def check_role(value: object, field: str = "role") -> Role:
    """Return a role: viewer or admin."""
    try:
        return Role(str(value)) if isinstance(value, str) else Role("")
    except ValueError:
        raise BadInput(field, f"{field}: must be one of {', '.join(Role)}") from None


def check_scope(value: object, field: str = "scope") -> Scope:
    """Return a token scope: read or write."""
    try:
        return Scope(str(value)) if isinstance(value, str) else Scope("")
    except ValueError:
        raise BadInput(field, f"{field}: must be one of {', '.join(Scope)}") from None


def name_key(name: str) -> str:
    """Return the key names are unique by: case-insensitive ("Ada" and "ada" are one user)."""
    return name.casefold()
