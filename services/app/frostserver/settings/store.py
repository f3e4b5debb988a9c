"""SettingsStore: the one module that speaks SQL to settings.db (the browser's layer, targets, revisions, changes).

Every change is one transaction (BEGIN IMMEDIATE: a writer waits for another, up to busy_timeout),
planned inside it from what the file holds then: write() reads a Snapshot, hands it to the
caller's plan (which validates the new values, and checks an If-Match revision, against that very
snapshot) and applies the Edit the plan returns, so two admins' changes never interleave and a
stale one is seen as stale. Each change that changes something grows the revision by one, stamps
it on everything it touched (revisions) and logs each field (changes).

Connections are opened on first use, kept idle (a few) for the next request, and never carried
across a fork (as the accounts' store does). A file found corrupt while in use is judged again
(database.py moves it aside) at the next connection; the request that found it gets Unavailable.

Readers that follow the settings (the sampler at every sample, the notifier, each worker) ask a
Watch whether anything changed: PRAGMA data_version on a connection of their own (it changes when
another connection commits) and the file's inode (a file moved aside and started afresh), a few
microseconds, never a query of the tables.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..sqlite_file import ConnectionPool
from . import database

log = logging.getLogger("frostserver.settings")

IDLE_CONNECTIONS = 4  # kept open between requests, per process
CHANGES_KEPT = 10000  # rows of the change log kept; calibrations are kept whatever their age (the plots mark them)
KEPT_FIELDS = ("offset", "calibration")
MAX_ROWID = 2**63 - 1
RETRY_UNAVAILABLE = 30.0  # s: a Watch whose file cannot be read asks again this often, not at every sample

KeyPath = tuple[str, ...]


class Unavailable(Exception):
    """The settings file cannot be read or written now (its message is fit to show: no secret in it)."""


@dataclass(frozen=True)
class Target:
    """A notification target added in the browser. The URL is a secret: never in a repr, a log or an answer."""

    id: int
    url: str = field(repr=False)
    added: float = 0.0
    added_by: str = ""


@dataclass(frozen=True)
class Snapshot:
    """What settings.db holds at one revision."""

    revision: int = 0
    entries: Mapping[KeyPath, Any] = field(default_factory=lambda: MappingProxyType({}))  # the browser's layer
    targets: tuple[Target, ...] = ()
    revisions: Mapping[tuple[str, str], int] = field(default_factory=lambda: MappingProxyType({}))
    notice: str | None = None  # a file moved aside, until the next change

    def revision_of(self, scope: str, item: str = "") -> int:
        """Return the revision of a thing's last change (0: never changed)."""
        return self.revisions.get((scope, item), 0)

    def of_scope(self, scope: str) -> dict[str, int]:
        """Return the revision of every item of a scope that ever changed."""
        return {item: revision for (kind, item), revision in self.revisions.items() if kind == scope}


@dataclass(frozen=True)
class Touch:
    """A field a change touched: which scope (device, sensor, rule, targets), which item, which field."""

    scope: str
    item: str
    field: str


@dataclass
class Edit:
    """What a change does to the file: entries to set (None: delete), targets, and what it touched."""

    set: dict[KeyPath, Any] = field(default_factory=dict)
    touched: list[Touch] = field(default_factory=list)
    replace_entries: bool = False  # an import: every entry goes first
    add_targets: list[str] = field(default_factory=list)
    remove_targets: list[int] = field(default_factory=list)
    replace_targets: list[str] | None = None  # an import that lists targets

    @property
    def empty(self) -> bool:
        return not self.touched


@dataclass(frozen=True)
class Change:
    """One field's change, as GET /api/v1/settings/changes shows it."""

    revision: int
    at: float
    by: str
    scope: str
    item: str
    field: str


def encode_key(key: KeyPath) -> str:
    return json.dumps(list(key), ensure_ascii=False)


def decode_key(text: str) -> KeyPath:
    return tuple(json.loads(text))


class SettingsStore:
    """The settings database of one directory, shared by every process that opens it."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / database.SETTINGS_FILE
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

    def judge(self) -> None:
        """Judge the file once per process (database.open_database: ours, or moved aside); Unavailable if not."""
        self._pool.judge()

    def _unavailable(self, error: BaseException) -> Unavailable:
        if isinstance(error, database.NewerSchema):
            return Unavailable(str(error))
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return Unavailable(f"the settings file {self.path} cannot be used: {reason}")

    def close(self) -> None:
        """Close the idle connections (before a fork, at the end)."""
        self._pool.close()

    # --- reading -------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Return what the file holds now, read in one transaction."""
        with self._connection() as connection:
            connection.execute("BEGIN")
            snapshot = self._read(connection)
            connection.execute("COMMIT")
        return snapshot

    @staticmethod
    def _read(connection: sqlite3.Connection) -> Snapshot:
        revision, notice = connection.execute("SELECT revision, notice FROM state WHERE id = 1").fetchone()
        entries = {
            decode_key(key): json.loads(value) for key, value in connection.execute("SELECT key, value FROM entries")
        }
        targets = tuple(
            Target(*row) for row in connection.execute("SELECT id, url, added, added_by FROM targets ORDER BY id")
        )
        revisions = {
            (scope, item): rev for scope, item, rev in connection.execute("SELECT scope, item, revision FROM revisions")
        }
        return Snapshot(revision, MappingProxyType(entries), targets, MappingProxyType(revisions), notice)

    def changes(self, item: str | None, start: float, end: float, limit: int) -> list[Change]:
        """Return the changes between start and end (of one item, or all), oldest first, at most limit."""
        where = "at >= ? AND at <= ?"
        arguments: list[float | str] = [start, end]
        if item is not None:
            where += " AND item = ?"
            arguments.append(item)
        with self._connection() as connection:
            rows = connection.execute(
                f"SELECT revision, at, by, scope, item, field FROM changes WHERE {where} ORDER BY at, id LIMIT ?",
                (*arguments, limit),
            ).fetchall()
        return [Change(*row) for row in rows]

    # --- writing -------------------------------------------------------------------------------

    def write(self, plan: Callable[[Snapshot], Edit], by: str, now: float) -> Snapshot:
        """Plan a change from the file as it is, apply it in the same transaction; return the file after it.

        Whatever the plan raises (a bad value, a stale revision) aborts the change and propagates.
        """
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            before = self._read(connection)
            edit = plan(before)
            if edit.empty:
                connection.execute("COMMIT")
                return before
            revision = before.revision + 1
            self._apply(connection, edit, revision, by, now)
            after = self._read(connection)
            connection.execute("COMMIT")
        return after

    @staticmethod
    def _apply(connection: sqlite3.Connection, edit: Edit, revision: int, by: str, now: float) -> None:
        if edit.replace_entries:
            connection.execute("DELETE FROM entries")
        for key, value in edit.set.items():
            if value is None:
                connection.execute("DELETE FROM entries WHERE key = ?", (encode_key(key),))
            else:
                connection.execute(
                    "INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)",
                    (encode_key(key), json.dumps(value, ensure_ascii=False, allow_nan=False)),
                )
        if edit.replace_targets is not None:
            connection.execute("DELETE FROM targets")
        for target_id in edit.remove_targets:
            connection.execute("DELETE FROM targets WHERE id = ?", (target_id,))
        for url in [*edit.add_targets, *(edit.replace_targets or ())]:
            connection.execute("INSERT OR IGNORE INTO targets (url, added, added_by) VALUES (?, ?, ?)", (url, now, by))
        cursor = None
        for touch in dict.fromkeys(edit.touched):
            connection.execute(
                "INSERT OR REPLACE INTO revisions (scope, item, revision) VALUES (?, ?, ?)",
                (touch.scope, touch.item, revision),
            )
            cursor = connection.execute(
                "INSERT INTO changes (revision, at, by, scope, item, field) VALUES (?, ?, ?, ?, ?, ?)",
                (revision, now, by, touch.scope, touch.item, touch.field),
            )
        connection.execute("UPDATE state SET revision = ?, notice = NULL WHERE id = 1", (revision,))
        last = None if cursor is None else cursor.lastrowid
        if last is not None and last % 64 == 0:  # now and then, not at every change
            connection.execute(
                f"DELETE FROM changes WHERE id <= ? AND field NOT IN ({', '.join('?' * len(KEPT_FIELDS))})",
                (last - CHANGES_KEPT, *KEPT_FIELDS),
            )

    # --- following changes ---------------------------------------------------------------------

    def watch(self, clock: Callable[[], float] = time.monotonic) -> Watch:
        """Return a Watch over this file, for one process (thread-safe)."""
        return Watch(self, clock)


class Watch:
    """Tell cheaply whether settings.db changed since it last asked (see the module's docstring)."""

    def __init__(self, store: SettingsStore, clock: Callable[[], float]):
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._seen: tuple[int, int] | None = None  # (inode, data_version) last seen
        self._retry_at = 0.0  # while unavailable: when to ask again

    def changed(self) -> bool:
        """Tell whether the file changed since the last call (True the first time, and when it cannot be read)."""
        with self._lock:
            if self._pid != os.getpid():
                self._connection, self._pid, self._seen = None, os.getpid(), None
            try:
                now_seen = self._look()
            except (Unavailable, OSError, sqlite3.Error):
                self._drop()
                if self._seen is not None or self.clock() >= self._retry_at:
                    self._seen = None
                    self._retry_at = self.clock() + RETRY_UNAVAILABLE
                    return True
                return False
            if now_seen == self._seen:
                return False
            self._seen = now_seen
            return True

    def _look(self) -> tuple[int, int]:
        if self._seen is None and self.clock() < self._retry_at:
            raise Unavailable("waiting before asking again")
        inode = os.stat(self.store.path).st_ino if self._connection is not None else None
        if self._connection is None or (self._seen is not None and inode != self._seen[0]):
            self._drop()  # the file was moved aside and started afresh: follow the new one
            self.store.judge()
            self._connection = database.connect(self.store.path)
            inode = os.stat(self.store.path).st_ino
        version = self._connection.execute("PRAGMA data_version").fetchone()[0]
        assert inode is not None
        return inode, version

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None

    def close(self) -> None:
        with self._lock:
            self._drop()
