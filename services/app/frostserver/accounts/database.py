"""The accounts' SQLite file: its schema, its version, and opening it safely from several processes.

One file, `accounts.db`, beside the history (FROST_HISTORY_DIR, the volume in Compose) but apart
from it: a damaged history never loses the accounts, and the other way round. Both Gunicorn
workers and the CLI (`python -m frostserver.accounts`) open it; WAL lets them read while one writes,
busy_timeout makes a writer wait for another instead of failing, and every change is one
transaction (store.py).

A file is FrostServer's accounts database when its PRAGMA application_id is APPLICATION_ID and
its user_version SCHEMA_VERSION. What open_database() does with the file it finds, as the history
does (history/database.py), under an exclusive lock on `accounts.db.lock` so that two processes
never judge (or move) one file at once:
- none, or an empty file (no tables, no other application's id): made ours;
- ours, this schema: opened;
- ours, a newer schema: refused and never written to (run the newer version);
- anything else (another application's id, an unknown version, tables without our id): another
  program's database, moved aside as `accounts.db.foreign-<UTC time>` and never altered;
- not a database, or malformed: moved aside as `accounts.db.corrupt-<UTC time>`, with one log line.
A fresh one is started in place of what was moved aside: the device is then unclaimed again, and
its owner claims it with the new setup code (README, "Accounts").
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from .. import sqlite_file
from ..sqlite_file import exclusive, is_corrupt, rename_aside

log = logging.getLogger("frostserver.accounts")

ACCOUNTS_FILE = "accounts.db"
SCHEMA_VERSION = 1
# PRAGMA application_id of FrostServer's accounts files ("FRSA"; the history's is "FRST"): what
# tells them from any other SQLite file. Never change it.
APPLICATION_ID = 0x46525341
BUSY_TIMEOUT_MS = 5000  # a writer waits this long for another (a worker, the CLI) before failing

# The connection's settings, for every process that opens the file:
# - WAL: readers never wait for the writer; synchronous=NORMAL is durable enough for accounts (a
#   power cut can roll back the last commits, never corrupt the file) and spares the flash an
#   fsync per sign-in.
# - foreign_keys: a user's sessions go with the user (ON DELETE CASCADE).
# - temp_store=MEMORY: the root filesystem is read-only.
PRAGMAS = (
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-512",  # KiB: the accounts are small
)

SCHEMA = (
    # name_key: the name casefolded, what names are unique by.
    "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, name_key TEXT NOT NULL UNIQUE, "
    "role TEXT NOT NULL, password_hash TEXT NOT NULL, created REAL NOT NULL, last_login REAL)",
    # Only the SHA-256 of a session's cookie is kept: a copy of this file signs nobody in.
    "CREATE TABLE sessions (id_hash BLOB PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) "
    "ON DELETE CASCADE, csrf_token TEXT NOT NULL, created REAL NOT NULL, last_seen REAL NOT NULL)",
    "CREATE INDEX sessions_by_user ON sessions(user_id)",
    # Only the SHA-256 of a token.
    "CREATE TABLE tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, scope TEXT NOT NULL, "
    "token_hash BLOB NOT NULL UNIQUE, created REAL NOT NULL, created_by TEXT NOT NULL, last_used REAL)",
    "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL, "
    "action TEXT NOT NULL, target TEXT NOT NULL, client TEXT NOT NULL, outcome TEXT NOT NULL)",
    # Failed sign-ins per account or client address (limits.py), shared by every process.
    "CREATE TABLE failures (key TEXT PRIMARY KEY, failures INTEGER NOT NULL, lockouts INTEGER NOT NULL, "
    "last_failure REAL NOT NULL, locked_until REAL NOT NULL)",
)


class NewerSchema(Exception):
    """The accounts database was written by a newer FrostServer: this one must not touch it."""


def connect(path: Path) -> sqlite3.Connection:
    """Open a connection to the accounts file (judged by open_database first), with the shared settings."""
    return sqlite_file.connect(path, PRAGMAS, BUSY_TIMEOUT_MS)


def open_database(path: Path) -> None:
    """Make sure `path` is this schema's accounts database, moving anything else aside (see the docstring).

    Raises NewerSchema, or OSError/sqlite3.Error when the directory cannot hold it (missing,
    read-only, full).
    """
    with exclusive(path):
        for _ in range(3):  # a file moved aside is judged again as the fresh one it leaves
            if _judge(path):
                return
        raise sqlite3.DatabaseError(f"{path}: could not be made an accounts database")


def _judge(path: Path) -> bool:
    """Open the file read-only first; make it ours, or move it aside. Tell whether it is ready."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        application = connection.execute("PRAGMA application_id").fetchone()[0]
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite%'")]
        if application == APPLICATION_ID and version == SCHEMA_VERSION:
            connection.execute("PRAGMA journal_mode=WAL")
            return True
        if application == APPLICATION_ID and version > SCHEMA_VERSION:
            raise NewerSchema(
                f"{path} has accounts schema version {version}, newer than this FrostServer's ({SCHEMA_VERSION}): "
                "it is left untouched and nobody can sign in; run the newer version, or move the file away"
            )
        if application == 0 and version == 0 and not tables:
            # Empty: ours now, in one transaction (a file is either empty or whole).
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
            connection.execute("COMMIT")
            return True
        connection.close()
        move_aside(
            path,
            f"another program's: application_id {application}, user_version {version}, "
            f"tables {', '.join(tables) or 'none'}; nothing in it changed",
            kind="foreign",
        )
        return False
    except sqlite3.Error as error:
        connection.close()
        if not is_corrupt(error):
            raise
        move_aside(path, str(error))
        return False
    finally:
        connection.close()


def move_aside(path: Path, reason: str, kind: str = "corrupt") -> Path:
    """Rename the file (and its WAL) to <name>.<kind>-<UTC time>; drop its shared memory; say so once."""
    target = rename_aside(path, kind)
    log.error(
        "accounts: %s is not a usable accounts database (%s); moved it aside to %s and started a fresh one: "
        "the device is unclaimed until an admin is made again (the setup code below, or `make user`)",
        path,
        reason,
        target,
    )
    return target
