"""The settings' SQLite file: its schema, its version, and opening it safely from several processes.

One file, `settings.db`, in the accounts' directory (Settings.accounts_home: the volume in
Compose) but apart from accounts.db and history.db: a damaged one loses only the settings set in
the browser, and the config file's values apply meanwhile. Both Gunicorn workers write it; the
sampler and the notifier read it. WAL lets them read while one writes, busy_timeout makes a writer
wait for another, and every change is one transaction (store.py).

A file is FrostServer's settings database when its PRAGMA application_id is APPLICATION_ID and its
user_version SCHEMA_VERSION. What open_database() does with the file it finds, as the accounts do
(accounts/database.py), under an exclusive lock on `settings.db.lock`:
- none, or an empty file: made ours;
- ours, this schema: opened;
- ours, a newer schema: refused and never written to (the file's values apply; run the newer version);
- anything else (another application's id, an unknown version, tables without our id): moved
  aside as `settings.db.foreign-<UTC time>`, never altered;
- not a database, or malformed: moved aside as `settings.db.corrupt-<UTC time>`.
Either move is one log line, and the fresh file that replaces it keeps a notice saying so
(`state.notice`), which GET /api/v1/settings and /readyz show until an admin next changes a setting.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from .. import sqlite_file
from ..sqlite_file import exclusive, is_corrupt, rename_aside

log = logging.getLogger("frostserver.settings")

SETTINGS_FILE = "settings.db"
SCHEMA_VERSION = 1
# PRAGMA application_id of FrostServer's settings files ("FRSS"; the history's is "FRST", the
# accounts' "FRSA"): what tells them from any other SQLite file. Never change it.
APPLICATION_ID = 0x46525353
BUSY_TIMEOUT_MS = 5000  # a writer waits this long for another before failing

# The connection's settings, for every process that opens the file: WAL (readers never wait for
# the writer; synchronous=NORMAL: a power cut may roll back the last change, never corrupt the
# file), temp_store=MEMORY (the root filesystem is read-only), a small cache (the file is small).
PRAGMAS = (
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-256",  # KiB
)

SCHEMA = (
    # The browser's layer: one row per key of the config file's shape that the browser sets. The
    # key is its path as a JSON array (["customize", "w1-0-28-000005e2fdc3/temp1", "label"]), the
    # value its JSON: a partial document, which resolve.py merges above the file's.
    "CREATE TABLE entries (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Notification targets added in the browser: [alerts] notify, beside the file's. Secrets.
    "CREATE TABLE targets (id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL UNIQUE, "
    "added REAL NOT NULL, added_by TEXT NOT NULL)",
    # The revision of each thing's last change (scope: device, sensor, rule, targets; item: its
    # id or name, '' for the device and the targets), for If-Match.
    "CREATE TABLE revisions (scope TEXT NOT NULL, item TEXT NOT NULL, revision INTEGER NOT NULL, "
    "PRIMARY KEY (scope, item))",
    # What changed when, by whom: one row per field changed (GET /api/v1/settings/changes; the
    # plots mark calibrations).
    "CREATE TABLE changes (id INTEGER PRIMARY KEY AUTOINCREMENT, revision INTEGER NOT NULL, at REAL NOT NULL, "
    "by TEXT NOT NULL, scope TEXT NOT NULL, item TEXT NOT NULL, field TEXT NOT NULL)",
    "CREATE INDEX changes_by_item ON changes(item, at)",
    # One row: the overall revision, and the notice of a file moved aside (NULL: none).
    "CREATE TABLE state (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL, notice TEXT)",
)


class NewerSchema(Exception):
    """The settings database was written by a newer FrostServer: this one must not touch it."""


def connect(path: Path) -> sqlite3.Connection:
    """Open a connection to the settings file (judged by open_database first), with the shared settings."""
    return sqlite_file.connect(path, PRAGMAS, BUSY_TIMEOUT_MS)


def open_database(path: Path) -> None:
    """Make sure `path` is this schema's settings database, moving anything else aside (see the docstring).

    Raises NewerSchema, or OSError/sqlite3.Error when the directory cannot hold it (missing,
    read-only, full).
    """
    with exclusive(path):
        notice: str | None = None
        for _ in range(3):  # a file moved aside is judged again as the fresh one it leaves
            judged = _judge(path, notice)
            if judged is None:
                return
            notice = judged
        raise sqlite3.DatabaseError(f"{path}: could not be made a settings database")


def _judge(path: Path, notice: str | None) -> str | None:
    """Make the file ours (None), or move it aside and return the notice the fresh one will keep."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        application = connection.execute("PRAGMA application_id").fetchone()[0]
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite%'")]
        if application == APPLICATION_ID and version == SCHEMA_VERSION:
            connection.execute("PRAGMA journal_mode=WAL")
            return None
        if application == APPLICATION_ID and version > SCHEMA_VERSION:
            raise NewerSchema(
                f"{path} has settings schema version {version}, newer than this FrostServer's ({SCHEMA_VERSION}): "
                "it is left untouched and the config file's values apply; run the newer version, or move the file away"
            )
        if application == 0 and version == 0 and not tables:
            # Empty: ours now, in one transaction (a file is either empty or whole).
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA:
                connection.execute(statement)
            connection.execute("INSERT INTO state (id, revision, notice) VALUES (1, 0, ?)", (notice,))
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
            connection.execute("COMMIT")
            return None
        connection.close()
        return move_aside(
            path,
            f"another program's: application_id {application}, user_version {version}, "
            f"tables {', '.join(tables) or 'none'}; nothing in it changed",
            kind="foreign",
        )
    except sqlite3.Error as error:
        connection.close()
        if not is_corrupt(error):
            raise
        return move_aside(path, str(error))
    finally:
        connection.close()


def move_aside(path: Path, reason: str, kind: str = "corrupt") -> str:
    """Rename the file (and its WAL) to <name>.<kind>-<UTC time>; drop its shared memory; say so once.

    Returns the notice the fresh file keeps for the settings page's banner.
    """
    target = rename_aside(path, kind)
    log.error(
        "settings: %s is not a usable settings database (%s); moved it aside to %s and started a fresh one: "
        "the config file's values apply until settings are set again in the browser",
        path,
        reason,
        target,
    )
    what = "damaged" if kind == "corrupt" else "another program's file"
    return (
        f"The settings file was {what} and was moved aside as {target.name}; "
        "the config file's values apply until settings are set again here."
    )
