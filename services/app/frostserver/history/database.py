"""The history's SQLite file: its schema, its version, and opening it for the one writer.

One file, `history.db`, in the history directory (FROST_HISTORY_DIR, a volume in Compose), in WAL
mode so that the workers read while the sampler writes. A file is FrostServer's when its
PRAGMA application_id is APPLICATION_ID (set by every FrostServer that creates one, and on every
file of this schema it opens), or when it has no application id, PRAGMA user_version 2 and
exactly this schema's tables and columns (files created before the id was set). PRAGMA
user_version is the schema's version.

What the writer does with the file it finds, before changing anything in it:
- an empty file (no tables, no other application's id) or none at all: made ours;
- ours, this schema: opened;
- ours, a newer schema: refused and never written to (run the newer version);
- schema 1 (a row per sensor and bucket, never released): moved aside as
  `history.db.schema-<n>-<UTC time>`;
- anything else (another application's id, an unknown version, tables or columns that are not
  ours, user_version 0 with tables): another program's database, moved aside as
  `history.db.foreign-<UTC time>` and never altered (never stamped, never switched to WAL);
- not a database, or malformed: moved aside as `history.db.corrupt-<UTC time>`.
A fresh one is started in place of what was moved aside.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from ..sqlite_file import is_corrupt, rename_aside
from .buckets import Tier

log = logging.getLogger("frostserver.history")

HISTORY_FILE = "history.db"
SCHEMA_VERSION = 2
# PRAGMA application_id of FrostServer's history files ("FRST"): what tells them from any other
# SQLite file (sqlite.org/fileformat.html, offset 68). Never change it.
APPLICATION_ID = 0x46525354

# The pages and the journal, chosen for flash (scripts/bench_history.py measures the bytes written):
# - WAL: a commit appends the pages it changed; a checkpoint copies them to the database file.
# - synchronous=NORMAL: in WAL mode, fsync only at checkpoints, never per commit. A power cut
#   cannot corrupt the database; it can roll back the commits the kernel had not yet written
#   back (about the last 30 s), at most those since the last checkpoint (the writer checkpoints
#   every CHECKPOINT_EVERY minutes), plus the open minute held in memory.
# - The -shm file (the WAL index, shared with the readers) is written back like any file: about
#   16 KiB a commit, a third of the bytes a day; only a commit a minute keeps it that low.
# - temp_store=MEMORY: nothing ever goes to a temp file (the root filesystem is read-only; temp
#   files would also wear the flash for nothing).
WRITER_PRAGMAS = (
    # 1 KiB pages (set when the file is created): a minute's row fills overflow pages nearly
    # whole, and the few pages a commit also changes (its leaf, page 1, the freelist trunk) cost
    # 1 KiB each (scripts/bench_history.py: 4 KiB pages wrote a fifth more per day).
    "PRAGMA page_size=1024",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA journal_size_limit=4194304",  # truncate a WAL that grew past 4 MiB after a checkpoint
    "PRAGMA cache_size=-4096",  # KiB: the newest rows of both tiers (a roll-up reads an hour of minutes)
)


class NewerSchema(Exception):
    """The database was written by a newer FrostServer: this one must not touch it."""


def schema(tiers: tuple[Tier, ...]) -> list[str]:
    """Return the statements that create the tables (one per tier, plus the sensors)."""
    # A sensor's id is stored once; rows carry its integer key (AUTOINCREMENT: a key is never
    # given twice, so a row naming a sensor since pruned never names another). last_seen (updated
    # once an hour) lets a vanished sensor's key go when its last hour ages out.
    statements = [
        "CREATE TABLE IF NOT EXISTS sensors (key INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, "
        "last_seen INTEGER NOT NULL)"
    ]
    # One row per bucket start holding every sensor's aggregate (packed.py): each minute appends one
    # row at the end of the table (its BLOB in overflow pages) and pruning removes rows from its start.
    for tier in tiers:
        statements.append(f"CREATE TABLE IF NOT EXISTS {tier.name} (start INTEGER PRIMARY KEY, buckets BLOB NOT NULL)")
    return statements


def open_for_writing(path: Path, tiers: tuple[Tier, ...]) -> sqlite3.Connection:
    """Open (or create) the database file for the writer, moving a corrupt, older or foreign file aside.

    Raises NewerSchema for a database of a newer schema, sqlite3.Error or OSError when its
    directory cannot hold it (read-only, full).
    """
    path = Path(path)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        # Read only, until the file is known to be ours: nothing below changes another's file.
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        application = connection.execute("PRAGMA application_id").fetchone()[0]
        found = _objects(connection)
        whose = _whose(version, application, found, _expected(connection, tiers, found))
        if whose == "newer":
            raise NewerSchema(
                f"{path} has schema version {version}, newer than this FrostServer's ({SCHEMA_VERSION}): "
                "it is left untouched and no history is written; run the newer version, or move the file away"
            )
        if whose in ("older", "foreign"):
            connection.close()
            if whose == "older":
                move_aside(path, f"schema version {version}, older than {SCHEMA_VERSION}", kind=f"schema-{version}")
            else:
                move_aside(path, _foreign_reason(version, application, found), kind="foreign")
            return open_for_writing(path, tiers)
        for pragma in WRITER_PRAGMAS:
            connection.execute(pragma)
        if whose == "empty":
            # One transaction: a file is either without tables or at SCHEMA_VERSION.
            connection.execute("BEGIN IMMEDIATE")
            for statement in schema(tiers):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
            connection.execute("COMMIT")
        elif application != APPLICATION_ID:
            connection.execute(f"PRAGMA application_id={APPLICATION_ID}")  # ours, from before the id
    except sqlite3.Error as error:
        connection.close()
        if not is_corrupt(error):
            raise
        move_aside(path, str(error))
        return open_for_writing(path, tiers)
    except BaseException:
        connection.close()
        raise
    return connection


# What the schema's tables are made of: a table and its column names, in order.
Objects = dict[str, tuple[str, ...]]


def _objects(connection: sqlite3.Connection) -> Objects:
    """Return the file's tables, views and triggers with their columns (SQLite's own tables left out)."""
    found: Objects = {}
    for kind, name in connection.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite^_%' "
        "ESCAPE '^' ORDER BY name"
    ):
        columns = (
            ()
            if kind == "trigger"
            else tuple(row[1] for row in connection.execute("SELECT * FROM pragma_table_info(?)", (name,)))
        )
        found[f"{kind} {name}"] = columns
    return found


def _expected(connection: sqlite3.Connection, tiers: tuple[Tier, ...], found: Objects) -> Objects:
    """Return the tables and columns of this schema, as _objects() reads them (made in memory, never in the file)."""
    if not found:
        return {}  # nothing to compare with
    model = sqlite3.connect(":memory:")
    try:
        for statement in schema(tiers):
            model.execute(statement)
        return _objects(model)
    finally:
        model.close()


def _whose(version: int, application: int, found: Objects, expected: Objects) -> str:
    """Tell what a file is: "empty", "ours", "newer", "older" or "foreign" (see the module's docstring)."""
    if application not in (0, APPLICATION_ID):
        return "foreign"
    if version == 0:
        return "empty" if not found else "foreign"
    if version == SCHEMA_VERSION:
        return "ours" if found == expected else "foreign"
    if version > SCHEMA_VERSION and application == APPLICATION_ID:
        return "newer"
    if 0 < version < SCHEMA_VERSION:
        return "older"
    return "foreign"  # an unknown version without FrostServer's id


def _foreign_reason(version: int, application: int, found: Objects) -> str:
    names = ", ".join(name.split(" ", 1)[1] for name in found) or "none"
    return (
        f"another program's: application_id {application}, user_version {version}, tables {names}; "
        "nothing in it changed"
    )


def move_aside(path: Path, reason: str, kind: str = "corrupt") -> Path:
    """Rename a database (and its WAL) to <name>.<kind>-<UTC time>; drop its shared memory."""
    target = rename_aside(path, kind)  # its WAL stays with it, for a post-mortem
    log.error(
        "history: %s is not a usable database (%s); moved it aside to %s, starting a fresh one", path, reason, target
    )
    return target
