"""What every SQLite file the device keeps (history.db, accounts.db, settings.db) does the same way.

Each database module (history/database.py, accounts/database.py, settings/database.py) owns its
schema and decides whether a file is its own; this module holds the mechanics they share: which
errors mean "this is no database", one process at a time judging a file, a connection with the
file's pragmas, and renaming a file that is not ours out of the way with its WAL, so it can be
looked at later. Each caller logs the move in its own words (what the user loses, what applies).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

# SQLite result codes that mean the file is no (longer a) database.
CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def is_corrupt(error: BaseException) -> bool:
    """Tell whether an sqlite3 error says the file is not a database or is malformed."""
    return isinstance(error, sqlite3.DatabaseError) and getattr(error, "sqlite_errorcode", None) in CORRUPT_CODES


def connect(path: Path, pragmas: Iterable[str], busy_timeout_ms: int) -> sqlite3.Connection:
    """Open a connection (autocommit, any thread) with the file's pragmas; closed again if one fails."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000)
    try:
        for pragma in pragmas:
            connection.execute(pragma)
    except BaseException:
        connection.close()
        raise
    return connection


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on <path>.lock: one process at a time judges the file."""
    lock = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
    finally:
        os.close(lock)  # releases the lock


def rename_aside(path: Path, kind: str) -> Path:
    """Rename a database (and its WAL) to <name>.<kind>-<UTC time>; drop its shared memory; return the new path.

    The WAL stays that file's WAL, for a post-mortem; the shared memory is only an index of it.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.{kind}-{stamp}")
    os.replace(path, target)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        os.replace(wal, target.with_name(target.name + "-wal"))
    path.with_name(path.name + "-shm").unlink(missing_ok=True)
    return target


class ConnectionPool:
    """Connections to one SQLite file, shared by the threads of a process (accounts.db, settings.db).

    The file is judged once per process (`judge`: the database module's open_database, which makes
    it ours or moves it aside), and again after an error says it is corrupt. A forked child starts
    with none of its parent's connections (not ours to use, nor to close). Every error from the
    file reaches the caller as `unavailable(error)`, the store's own exception with a message fit
    to show; a transaction left open by an error is rolled back before the connection goes back.
    """

    def __init__(
        self,
        path: Path,
        judge: Callable[[Path], None],
        connect: Callable[[Path], sqlite3.Connection],
        unavailable: Callable[[BaseException], Exception],
        judge_errors: tuple[type[BaseException], ...] = (),
        idle: int = 4,
    ):
        self.path = path
        self._judge = judge
        self._connect = connect
        self._unavailable = unavailable
        self._judge_errors: tuple[type[BaseException], ...] = (OSError, sqlite3.Error, *judge_errors)
        self._keep = idle  # connections kept open between requests
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._judged = False  # judge() has passed in this process

    def judge(self) -> None:
        """Judge the file once per process; raise unavailable(error) when it cannot be used."""
        with self._lock:
            if self._pid != os.getpid():
                self._idle, self._pid, self._judged = [], os.getpid(), False
            if self._judged:
                return
        try:
            self._judge(self.path)
        except self._judge_errors as error:
            raise self._failed(error) from error
        with self._lock:
            self._judged = True

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Lend a connection; errors from the file become unavailable(error) (a corrupt file is judged again)."""
        connection = self._take()
        healthy = True
        try:
            yield connection
        except sqlite3.Error as error:
            healthy = False
            _roll_back(connection)
            raise self._failed(error) from error
        except BaseException:
            _roll_back(connection)
            raise
        finally:
            self._give_back(connection, healthy)

    def close(self) -> None:
        """Close the idle connections (before a fork, at the end of a command)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _take(self) -> sqlite3.Connection:
        self.judge()
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return self._connect(self.path)
        except (OSError, sqlite3.Error) as error:
            raise self._failed(error) from error

    def _give_back(self, connection: sqlite3.Connection, healthy: bool) -> None:
        with self._lock:
            if healthy and self._pid == os.getpid() and len(self._idle) < self._keep:
                self._idle.append(connection)
                return
        connection.close()

    def _failed(self, error: BaseException) -> Exception:
        if is_corrupt(error):
            with self._lock:
                self._judged = False  # the next connection moves the file aside and starts afresh
        return self._unavailable(error)


def _roll_back(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            connection.execute("ROLLBACK")
