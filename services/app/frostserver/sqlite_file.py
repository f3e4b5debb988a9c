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
import time
from collections.abc import Iterable, Iterator
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
