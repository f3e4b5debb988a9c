"""AccountStore: the one module that speaks SQL to accounts.db (users, sessions, tokens, audit, failures).

Every change is one transaction (BEGIN IMMEDIATE: a writer waits for another, up to busy_timeout),
so two workers and the CLI can change the accounts at once: a rule that spans rows (the last admin
stays; only one first admin) is checked inside the transaction that changes them. Timestamps come
from the caller (the Accounts' clock), never from here.

Connections are opened on first use, kept idle (a few) for the next request, and never carried
across a fork: the Gunicorn master looks at the accounts before it forks its workers, and a
connection a child inherits is dropped, never used (SQLite forbids using one in two processes).
A file found corrupt while in use is judged again (database.py moves it aside) at the next
connection; the request that found it gets Unavailable.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..sqlite_file import ConnectionPool
from . import database
from .model import Conflict, NotFound, Role, Scope, Token, Unavailable, User, name_key

log = logging.getLogger("frostserver.accounts")

IDLE_CONNECTIONS = 4  # kept open between requests, per process
AUDIT_KEPT = 1000  # the newest audit events kept
FAILURES_KEPT = 10000  # rows of failed sign-ins kept at most (names tried that exist nowhere included)
MAX_ROWID = 2**63 - 1  # SQLite's largest integer: an id past it (from a URL) is no row's


@dataclass(frozen=True)
class Credentials:
    """A user as the store keeps it: with the password's hash (for passwords.py only, never shown)."""

    id: int
    name: str
    role: Role
    password_hash: str


@dataclass(frozen=True)
class SessionRecord:
    """A live session's row, joined with its user."""

    user: str
    role: Role
    csrf_token: str
    created: float
    last_seen: float


@dataclass(frozen=True)
class TokenRecord:
    """A token's row: what the token may do."""

    id: int
    name: str
    scope: Scope
    last_used: float | None


@dataclass(frozen=True)
class FailureRecord:
    """Failed sign-ins for one key (an account or a client address): see limits.py."""

    failures: int
    lockouts: int
    last_failure: float
    locked_until: float


@dataclass(frozen=True)
class AuditEvent:
    """One line of the audit log."""

    at: float
    actor: str
    action: str
    target: str
    client: str
    outcome: str

    def document(self) -> dict[str, object]:
        """Return the API's shape of the event."""
        return {
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "client": self.client,
            "outcome": self.outcome,
        }


class AccountStore:
    """The accounts database of one directory, shared by every process that opens it."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / database.ACCOUNTS_FILE
        self._pool = ConnectionPool(
            self.path,
            database.open_database,
            database.connect,
            self._unavailable,
            (database.NewerSchema,),
            IDLE_CONNECTIONS,
        )

    # --- connections ---------------------------------------------------------------------------

    def _connection(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """Lend a connection; errors from the file become Unavailable (a corrupt file is judged again)."""
        return self._pool.connection()

    def _unavailable(self, error: BaseException) -> Unavailable:
        if isinstance(error, database.NewerSchema):
            return Unavailable(str(error))
        return Unavailable(f"the accounts database {self.path} cannot be used: {error}")

    def close(self) -> None:
        """Close the idle connections (before a fork, and at the end of the CLI)."""
        self._pool.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            yield connection
            connection.execute("COMMIT")

    # --- users ---------------------------------------------------------------------------------

    def admin_exists(self) -> bool:
        """Tell whether any admin exists (none: the device can be claimed)."""
        with self._connection() as connection:
            row = connection.execute("SELECT 1 FROM users WHERE role = ? LIMIT 1", (Role.ADMIN.value,)).fetchone()
        return row is not None

    def add_user(
        self, name: str, role: Role, password_hash: str, now: float, *, only_first_admin: bool = False
    ) -> User:
        """Add a user; Conflict if the name is taken (case-insensitive), or an admin exists with only_first_admin."""
        with self._transaction() as connection:
            if (
                only_first_admin
                and connection.execute("SELECT 1 FROM users WHERE role = ? LIMIT 1", (Role.ADMIN.value,)).fetchone()
            ):
                raise Conflict("This device has an admin already: sign in instead")
            if connection.execute("SELECT 1 FROM users WHERE name_key = ?", (name_key(name),)).fetchone():
                raise Conflict(f"A user named {name!r} exists already (names are case-insensitive)")
            connection.execute(
                "INSERT INTO users (name, name_key, role, password_hash, created) VALUES (?, ?, ?, ?, ?)",
                (name, name_key(name), role.value, password_hash, now),
            )
        return User(name, role, now, None)

    def credentials(self, name: str) -> Credentials | None:
        """Return a user's credentials by name (case-insensitive), or None."""
        with self._connection() as connection:
            row = connection.execute(
                "SELECT id, name, role, password_hash FROM users WHERE name_key = ?", (name_key(name),)
            ).fetchone()
        return None if row is None else Credentials(row[0], row[1], Role(row[2]), row[3])

    def user(self, name: str, now: float, idle_since: float, created_since: float) -> User:
        """Return one user with its live sessions counted; NotFound if there is none."""
        found = [user for user in self.users(now, idle_since, created_since) if name_key(user.name) == name_key(name)]
        if not found:
            raise NotFound(f"No user named {name!r}")
        return found[0]

    def users(self, now: float, idle_since: float, created_since: float) -> list[User]:
        """Return every user by name, with their live sessions (used since idle_since, made since created_since)."""
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT u.name, u.role, u.created, u.last_login, "
                "(SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.last_seen >= ? AND s.created >= ?) "
                "FROM users u ORDER BY u.name_key",
                (idle_since, created_since),
            ).fetchall()
        return [User(name, Role(role), created, last_login, count) for name, role, created, last_login, count in rows]

    def set_password(self, name: str, password_hash: str) -> None:
        """Replace a user's password hash; NotFound if there is no such user."""
        with self._transaction() as connection:
            changed = connection.execute(
                "UPDATE users SET password_hash = ? WHERE name_key = ?", (password_hash, name_key(name))
            ).rowcount
            if not changed:
                raise NotFound(f"No user named {name!r}")

    def set_role(self, name: str, role: Role) -> None:
        """Change a user's role; NotFound, or Conflict when it would leave no admin."""
        with self._transaction() as connection:
            row = connection.execute("SELECT role FROM users WHERE name_key = ?", (name_key(name),)).fetchone()
            if row is None:
                raise NotFound(f"No user named {name!r}")
            if row[0] == Role.ADMIN.value and role is not Role.ADMIN and self._admins(connection) == 1:
                raise Conflict(f"{name!r} is the last admin: make another admin first")
            connection.execute("UPDATE users SET role = ? WHERE name_key = ?", (role.value, name_key(name)))

    def remove_user(self, name: str) -> None:
        """Remove a user and its sessions; NotFound, or Conflict for the last admin."""
        with self._transaction() as connection:
            row = connection.execute("SELECT role FROM users WHERE name_key = ?", (name_key(name),)).fetchone()
            if row is None:
                raise NotFound(f"No user named {name!r}")
            if row[0] == Role.ADMIN.value and self._admins(connection) == 1:
                raise Conflict(f"{name!r} is the last admin: make another admin first")
            connection.execute("DELETE FROM users WHERE name_key = ?", (name_key(name),))

    @staticmethod
    def _admins(connection: sqlite3.Connection) -> int:
        count: int = connection.execute("SELECT COUNT(*) FROM users WHERE role = ?", (Role.ADMIN.value,)).fetchone()[0]
        return count

    def note_login(self, name: str, now: float) -> None:
        """Remember when a user last signed in."""
        with self._transaction() as connection:
            connection.execute("UPDATE users SET last_login = ? WHERE name_key = ?", (now, name_key(name)))

    # --- sessions ------------------------------------------------------------------------------

    def add_session(self, user: str, id_hash: bytes, csrf_token: str, now: float, created_before: float) -> None:
        """Add a session for a user (the cookie's hash), dropping every session that ended before."""
        with self._transaction() as connection:
            row = connection.execute("SELECT id FROM users WHERE name_key = ?", (name_key(user),)).fetchone()
            if row is None:
                raise NotFound(f"No user named {user!r}")
            connection.execute(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created, last_seen) VALUES (?, ?, ?, ?, ?)",
                (id_hash, row[0], csrf_token, now, now),
            )
            # Housekeeping at each sign-in: sessions that can no longer be used go.
            connection.execute("DELETE FROM sessions WHERE created < ?", (created_before,))

    def session(self, id_hash: bytes) -> SessionRecord | None:
        """Return the session with this cookie hash, with its user, or None."""
        with self._connection() as connection:
            row = connection.execute(
                "SELECT u.name, u.role, s.csrf_token, s.created, s.last_seen FROM sessions s "
                "JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?",
                (id_hash,),
            ).fetchone()
        return None if row is None else SessionRecord(row[0], Role(row[1]), row[2], row[3], row[4])

    def touch_session(self, id_hash: bytes, now: float) -> None:
        """Note that a session was used now (its idle expiry starts over)."""
        with self._transaction() as connection:
            connection.execute("UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now, id_hash))

    def end_session(self, id_hash: bytes) -> bool:
        """End one session; tell whether it existed."""
        with self._transaction() as connection:
            return connection.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,)).rowcount > 0

    def end_sessions(self, user: str, keep: bytes | None = None) -> int:
        """End every session of a user (but `keep`, the one asking); return how many ended. NotFound if no user."""
        with self._transaction() as connection:
            row = connection.execute("SELECT id FROM users WHERE name_key = ?", (name_key(user),)).fetchone()
            if row is None:
                raise NotFound(f"No user named {user!r}")
            ended: int = connection.execute(
                "DELETE FROM sessions WHERE user_id = ? AND id_hash IS NOT ?", (row[0], keep)
            ).rowcount
        return ended

    # --- tokens --------------------------------------------------------------------------------

    def add_token(self, name: str, scope: Scope, token_hash: bytes, created_by: str, now: float) -> Token:
        """Add a token (only its hash) and return it as it may be shown."""
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO tokens (name, scope, token_hash, created, created_by) VALUES (?, ?, ?, ?, ?)",
                (name, scope.value, token_hash, now, created_by),
            )
            token_id = cursor.lastrowid
        assert token_id is not None  # an INSERT into a rowid table has one
        return Token(token_id, name, scope, now, created_by, None)

    def token(self, token_hash: bytes) -> TokenRecord | None:
        """Return the token with this hash, or None (revoked, or never made)."""
        with self._connection() as connection:
            row = connection.execute(
                "SELECT id, name, scope, last_used FROM tokens WHERE token_hash = ?", (token_hash,)
            ).fetchone()
        return None if row is None else TokenRecord(row[0], row[1], Scope(row[2]), row[3])

    def token_alive(self, token_id: int) -> bool:
        """Tell whether a token still exists (an open event stream asks)."""
        with self._connection() as connection:
            return connection.execute("SELECT 1 FROM tokens WHERE id = ?", (token_id,)).fetchone() is not None

    def touch_token(self, token_id: int, now: float) -> None:
        """Note that a token was used now."""
        with self._transaction() as connection:
            connection.execute("UPDATE tokens SET last_used = ? WHERE id = ?", (now, token_id))

    def tokens(self) -> list[Token]:
        """Return every token, oldest first."""
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT id, name, scope, created, created_by, last_used FROM tokens ORDER BY id"
            ).fetchall()
        return [Token(row[0], row[1], Scope(row[2]), row[3], row[4], row[5]) for row in rows]

    def revoke_token(self, token_id: int) -> Token:
        """Delete a token and return what it was; NotFound if there is none."""
        if not 0 <= token_id <= MAX_ROWID:
            raise NotFound(f"No token with id {token_id}")  # no row has it, and SQLite could not even look
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT id, name, scope, created, created_by, last_used FROM tokens WHERE id = ?", (token_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"No token with id {token_id}")
            connection.execute("DELETE FROM tokens WHERE id = ?", (token_id,))
        return Token(row[0], row[1], Scope(row[2]), row[3], row[4], row[5])

    # --- audit ---------------------------------------------------------------------------------

    def add_event(self, event: AuditEvent) -> None:
        """Append an audit event, keeping the newest AUDIT_KEPT."""
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO audit (at, actor, action, target, client, outcome) VALUES (?, ?, ?, ?, ?, ?)",
                (event.at, event.actor, event.action, event.target, event.client, event.outcome),
            )
            if cursor.lastrowid is not None and cursor.lastrowid % 64 == 0:  # now and then, not at every event
                connection.execute("DELETE FROM audit WHERE id <= ?", (cursor.lastrowid - AUDIT_KEPT,))

    def events(self, limit: int) -> list[AuditEvent]:
        """Return the newest audit events, newest first."""
        with self._connection() as connection:
            rows = connection.execute(
                # By time: two workers stamp their events before one waits for the other's insert.
                "SELECT at, actor, action, target, client, outcome FROM audit ORDER BY at DESC, id DESC LIMIT ?",
                (min(limit, AUDIT_KEPT),),
            ).fetchall()
        return [AuditEvent(*row) for row in rows]

    # --- failed sign-ins (limits.py decides; this keeps them) ------------------------------------

    def failures(self, keys: tuple[str, ...]) -> dict[str, FailureRecord]:
        """Return the failure records of these keys (absent: none)."""
        with self._connection() as connection:
            rows = connection.execute(
                f"SELECT key, failures, lockouts, last_failure, locked_until FROM failures "
                f"WHERE key IN ({', '.join('?' * len(keys))})",
                keys,
            ).fetchall()
        return {row[0]: FailureRecord(*row[1:]) for row in rows}

    def update_failures(
        self, keys: tuple[str, ...], change: Callable[[str, FailureRecord | None], FailureRecord]
    ) -> dict[str, FailureRecord]:
        """Replace each key's record by change(key, old) in one transaction; return the new records."""
        new: dict[str, FailureRecord] = {}
        with self._transaction() as connection:
            for key in keys:
                row = connection.execute(
                    "SELECT failures, lockouts, last_failure, locked_until FROM failures WHERE key = ?", (key,)
                ).fetchone()
                record = change(key, None if row is None else FailureRecord(*row))
                connection.execute(
                    "INSERT OR REPLACE INTO failures (key, failures, lockouts, last_failure, locked_until) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (key, record.failures, record.lockouts, record.last_failure, record.locked_until),
                )
                new[key] = record
            # Bounded: names tried that exist nowhere make rows too. The oldest failures go first.
            connection.execute(
                "DELETE FROM failures WHERE key IN (SELECT key FROM failures ORDER BY last_failure DESC LIMIT -1 "
                "OFFSET ?)",
                (FAILURES_KEPT,),
            )
        return new

    def clear_failures(self, keys: tuple[str, ...]) -> None:
        """Forget the failures of these keys (after a successful sign-in)."""
        with self._transaction() as connection:
            connection.execute(f"DELETE FROM failures WHERE key IN ({', '.join('?' * len(keys))})", keys)

    def forget_failures_before(self, before: float) -> None:
        """Forget failure records whose last failure is older than `before` and that lock nothing now."""
        with self._transaction() as connection:
            connection.execute("DELETE FROM failures WHERE last_failure < ? AND locked_until < ?", (before, before))
