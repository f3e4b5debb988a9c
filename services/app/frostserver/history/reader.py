"""Read the history's tiers from the Gunicorn workers' threads, never failing the caller."""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from .buckets import TIERS, Bucket, status_name
from .database import HISTORY_FILE, SCHEMA_VERSION

log = logging.getLogger("frostserver.history")

# Parameters per IN (...) list: SQLite's default limit is 32766 (999 before 3.32).
MAX_IDS_PER_QUERY = 500


class HistoryReader:
    """Answer queries over the history database; any thread, one read-only connection each.

    A missing, unreadable, corrupt or newer-schema database gives empty answers, never an
    exception: the history is an extra, the API goes on without it. A database replaced since a
    thread opened it (moved aside, recreated) is opened again.
    """

    def __init__(self, path: Path):
        path = Path(path)
        self.path = path / HISTORY_FILE if path.is_dir() or not path.suffix else path
        self.tier_seconds = {tier.name: tier.seconds for tier in TIERS}
        self._local = threading.local()
        self._warned: set[str] = set()

    def buckets(self, tier: str, sensor_ids: Sequence[str] | None, start: float, end: float) -> dict[str, list[Bucket]]:
        """Return each sensor's buckets of a tier that start in [start, end), oldest first.

        sensor_ids None: every sensor with buckets there; unknown ids are left out of the answer.
        """
        seconds = self.tier_seconds.get(tier)
        if seconds is None:
            raise ValueError(f"unknown tier {tier!r}; tiers: {', '.join(self.tier_seconds)}")
        out: dict[str, list[Bucket]] = {}
        db = self._connection()
        if db is None or (sensor_ids is not None and not sensor_ids):
            return out
        query = (
            f"SELECT s.id, t.start, t.low, t.high, t.total, t.count, t.worst FROM {tier} AS t "
            "JOIN sensors AS s ON s.key = t.sensor WHERE t.start >= ? AND t.start < ?"
        )
        batches: list[list[str] | None] = [None]
        if sensor_ids is not None:
            unique = list(dict.fromkeys(sensor_ids))
            batches = [unique[i : i + MAX_IDS_PER_QUERY] for i in range(0, len(unique), MAX_IDS_PER_QUERY)]
        try:
            for batch in batches:
                sql = query
                parameters: list[int | str] = [_integer(start), _integer(end)]
                if batch is not None:
                    sql += f" AND s.id IN ({', '.join('?' * len(batch))})"
                    parameters.extend(batch)
                for sensor_id, at, low, high, total, count, worst in db.execute(sql + " ORDER BY t.start", parameters):
                    mean = total / count if count else None
                    bucket = Bucket(float(at), float(seconds), low, high, mean, count, status_name(worst))
                    out.setdefault(sensor_id, []).append(bucket)
        except sqlite3.Error as error:
            self._broken(error)
            return {}
        return out

    def span(self, tier: str) -> tuple[float, float] | None:
        """Return the oldest and the newest bucket start a tier holds, None when it holds none."""
        if tier not in self.tier_seconds:
            raise ValueError(f"unknown tier {tier!r}; tiers: {', '.join(self.tier_seconds)}")
        db = self._connection()
        if db is None:
            return None
        try:
            oldest, newest = db.execute(f"SELECT min(start), max(start) FROM {tier}").fetchone()
        except sqlite3.Error as error:
            self._broken(error)
            return None
        return None if oldest is None else (float(oldest), float(newest))

    def sensor_ids(self) -> list[str]:
        """Return the ids of every sensor the history holds buckets of (vanished ones included), sorted."""
        db = self._connection()
        if db is None:
            return []
        try:
            return [row[0] for row in db.execute("SELECT id FROM sensors ORDER BY id")]
        except sqlite3.Error as error:
            self._broken(error)
            return []

    # -- this thread's connection --------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection | None:
        """Return this thread's connection to the current file, opening it when needed."""
        try:
            status = os.stat(self.path)
        except OSError:
            self._drop()
            return None
        identity = (status.st_dev, status.st_ino)
        local = self._local
        if getattr(local, "identity", None) == identity and local.db is not None:
            return local.db  # type: ignore[no-any-return]  # threading.local is untyped
        self._drop()
        try:
            db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, check_same_thread=True)
        except sqlite3.Error as error:
            self._broken(error)
            return None
        try:
            db.execute("PRAGMA cache_size=-512")  # KiB; a worker has hundreds of threads
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as error:
            db.close()
            self._broken(error)
            return None
        if version != SCHEMA_VERSION:  # 0: being created; newer: not ours to read
            db.close()
            return None
        local.db, local.identity = db, identity
        return db

    def _drop(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
        self._local.db = self._local.identity = None

    def _broken(self, error: sqlite3.Error) -> None:
        """Forget this thread's connection and say once per kind of error that reads fail."""
        self._drop()
        message = str(error)
        if message not in self._warned:
            self._warned.add(message)
            log.warning("history: cannot read %s: %s; answering without the history", self.path, message)


def _integer(bound: float) -> int:
    """Return a bound in whole seconds (bucket starts are whole), rounded up so [start, end) stays."""
    if math.isnan(bound):
        raise ValueError("a time bound must be a number, not NaN")
    return math.ceil(min(max(bound, -(2.0**62)), 2.0**62))
