"""The history's one writer, in the sampler process: a row a minute, hourly roll-ups, pruning.

The sampler hands every sample to HistoryWriter.observe after publishing it to the store. The
open minute is aggregated in memory; once a sample lands in another minute, the closed minute is
written in one transaction, at most one a minute (MIN_WRITE_GAP), as one row holding every
sensor's bucket (packed.py; a minute written again, after a clock set back, is merged into its
row), with the roll-up of every hour that has ended and a bounded step of pruning. Nothing blocks
sampling for long, and a failing disk never stops it: the unwritten minutes wait in memory (at
most MAX_PENDING_MINUTES) and the next minute retries; they are also saved in the run directory
(pending.py), so that a restarted sampler takes them back.

Test hook: FROST_TEST_KILL_IN_HISTORY_WRITE=1 makes the writer SIGKILL its own process after the
INSERTs of a write transaction and before its COMMIT (tests of what a crash leaves behind).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ..codec import Refused
from ..model import Reading, Sensor
from ..sqlite_file import is_corrupt
from ..store.counters import HistoryCounters
from ..store.files import write_atomically
from . import pending
from .aggregate import MinuteAggregator, MinuteRows
from .buckets import Tier, default_tiers
from .database import HISTORY_FILE, NewerSchema, move_aside, open_for_writing
from .packed import PackedError, Row, decode, encode, merge_into

log = logging.getLogger("frostserver.history")

KILL_HOOK = "FROST_TEST_KILL_IN_HISTORY_WRITE"
# Seconds (monotonic) between two write transactions: a clock that jumps to and fro between two
# minutes closes a minute at every sample, and must not cost a transaction each. Below the 60 s of
# a minute, so that with samples up to 10 s apart each minute is written as the next one opens.
MIN_WRITE_GAP = 50.0
# Closed minutes kept in memory while writing fails (a full or read-only disk): an hour's worth;
# older ones are dropped, and the recovery's log line says how many.
MAX_PENDING_MINUTES = 60
# Pruning: at most this many rows (bucket starts) leave a tier per transaction, so no DELETE runs
# long and a shortened retention is caught up with over a few hours; and a tier is pruned only once
# a batch of this many seconds is due (15 minute rows, a day of hour rows), not a row each minute.
PRUNE_ROWS = 32
PRUNE_BATCH_SECONDS = {"minute": 900, "hour": 86400}
# Hours rolled up per transaction: one normally; more after a restart or a clock jump.
ROLLUPS_PER_WRITE = 4
# Write transactions between two checkpoints (copying the WAL into the database file, then fsync):
# with synchronous=NORMAL, what a power cut can roll back at most. Each checkpoint copies the pages
# every commit rewrites once more, and the WAL restarting resets the whole -shm (32 KiB): 30 wrote
# a tenth less than 15 a day (scripts/bench_history.py), 60 only a little less than 30.
CHECKPOINT_EVERY = 30


class HistoryWriter:
    """Aggregate samples into the minute tier, roll minutes up into hours, prune both."""

    def __init__(
        self,
        directory: Path,
        tiers: tuple[Tier, ...] | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] = os.environ,
        pending_dir: Path | None = None,
    ):
        """`pending_dir`: where unwritten minutes are saved across a restart (the run directory; None: not saved)."""
        self.directory = Path(directory)
        self.path = self.directory / HISTORY_FILE
        tiers = default_tiers() if tiers is None else tiers
        self.minute, self.hour = tiers
        self.tiers = tiers
        self.monotonic = monotonic
        self.aggregator = MinuteAggregator()
        self.write_errors = 0  # write transactions (or openings) that failed
        self.dropped_minutes = 0  # closed minutes given up while writing failed
        self.failing: str | None = None  # why writing fails, while it does
        self.refused: str | None = None  # why this database is never written (a newer schema)
        self._db: sqlite3.Connection | None = None
        self._keys: dict[str, int] = {}  # sensor id -> its key in the sensors table
        self._dirty_hours: set[int] = set()  # hours whose minutes changed since they were rolled up
        self._last_attempt: float | None = None
        self._commits = 0
        self._now = 0.0  # the newest sample's time: retention counts back from it
        self._dropped_when_failing = 0
        self._kill_in_write = environ.get(KILL_HOOK) == "1"
        self.pending_path = None if pending_dir is None else Path(pending_dir) / pending.PENDING_FILE
        self._pending_saved = False  # the pending file holds minutes not written yet
        self._take_back_pending()
        try:
            self._open()
        except NewerSchema as error:
            self._refuse(error)
        except (sqlite3.Error, OSError) as error:
            self._fail(error)

    # -- what the sampler calls --------------------------------------------------------------------

    def observe(self, sampled_at: float, pairs: Iterable[tuple[Sensor, Reading]]) -> None:
        """Count one sample; write the minutes it closed when a write is due."""
        self._now = sampled_at
        self.aggregator.add(sampled_at, pairs)
        if self.aggregator.closed and (
            self._last_attempt is None or self.monotonic() - self._last_attempt >= MIN_WRITE_GAP
        ):
            self.write()

    @property
    def status(self) -> str:
        """Return "ok", or "degraded" while writing fails or the database is refused."""
        return "degraded" if self.failing is not None or self.refused is not None else "ok"

    def state(self) -> HistoryCounters:
        """Return the writer's status and counters, for the sampler's counters (store/counters.py)."""
        return HistoryCounters(self.status, self.write_errors, len(self.aggregator.closed), self.dropped_minutes)

    def close(self) -> None:
        """Write every minute held, the open one included (a restart merges into it), and close."""
        self.aggregator.close_open()
        if self.aggregator.closed:
            self.write()
        self._close_db()

    # -- writing -----------------------------------------------------------------------------------

    def write(self) -> bool:
        """Write the closed minutes, roll up ended hours and prune, in one transaction."""
        self._last_attempt = self.monotonic()
        if self.refused is not None:
            self.aggregator.closed.clear()
            return False
        try:
            db = self._db if self._db is not None else self._open()
            self._write(db)
        except NewerSchema as error:
            self._refuse(error)
            return False
        except (sqlite3.Error, OSError) as error:
            self._fail(error)
            return False
        self._succeed()
        return True

    def _write(self, db: sqlite3.Connection) -> None:
        closed = self.aggregator.closed
        hours = {start // 3600 * 3600 for start, _ in closed}
        db.execute("BEGIN IMMEDIATE")
        try:
            new_keys = self._add_sensors(db, closed)
            keys = {**self._keys, **new_keys}
            for start, minute_rows in closed:
                self._put(
                    db, self.minute.name, start, {keys[sid]: aggregate.row() for sid, aggregate in minute_rows.items()}
                )
            rolled = self._roll_up(db, self._dirty_hours | hours)
            sensors_pruned = self._prune(db)
            # Before COMMIT: a saved minute must never be written twice (a restart between COMMIT and
            # this would merge it into its row again). If COMMIT fails, _fail saves them again.
            self._forget_pending()
            if self._kill_in_write:  # the test hook (module docstring)
                os.kill(os.getpid(), signal.SIGKILL)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                # SQLite may have rolled back already (a full disk can do that); the connection is closed next.
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise
        self._keys.update(new_keys)
        if sensors_pruned:
            self._keys = self._read_keys(db)
        self._dirty_hours = (self._dirty_hours | hours) - rolled
        closed.clear()

    @staticmethod
    def _put(db: sqlite3.Connection, table: str, start: int, rows: dict[int, Row], replace: bool = False) -> None:
        """Write a bucket start's row; a minute already there (a clock set back) merges with it."""
        if not replace:
            found = db.execute(f"SELECT buckets FROM {table} WHERE start = ?", (start,)).fetchone()
            if found is not None:
                try:
                    held = decode(found[0]).rows()
                except PackedError:
                    held = {}  # unreadable: the new samples replace it
                merge_into(held, rows)
                rows = held
        db.execute(f"INSERT OR REPLACE INTO {table} (start, buckets) VALUES (?, ?)", (start, encode(rows)))

    def _add_sensors(self, db: sqlite3.Connection, closed: list[tuple[int, MinuteRows]]) -> dict[str, int]:
        """Give every sensor id new to the database its key (visible to self only after COMMIT)."""
        new: dict[str, int] = {}
        for start, rows in closed:
            for sensor_id in rows:
                if sensor_id in self._keys or sensor_id in new:
                    continue
                db.execute(
                    "INSERT INTO sensors (id, last_seen) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", (sensor_id, start)
                )
                new[sensor_id] = db.execute("SELECT key FROM sensors WHERE id = ?", (sensor_id,)).fetchone()[0]
        return new

    def _roll_up(self, db: sqlite3.Connection, dirty: set[int]) -> set[int]:
        """Recompute the hour rows of ended hours whose minutes changed; return the hours done."""
        open_start = self.aggregator.open_start
        open_hour = None if open_start is None else open_start // 3600 * 3600
        minute_cutoff = self._now - self.minute.retention_seconds
        done: set[int] = set()
        rolled = 0
        for hour in sorted(dirty):
            if hour < minute_cutoff:
                # Its minutes are being pruned: recomputing it would lose what they no longer hold.
                done.add(hour)
                continue
            if hour == open_hour or rolled == ROLLUPS_PER_WRITE:
                continue
            # An hour's row is recomputed whole from its minutes (never merged): rolling an hour up
            # twice, after a restart or when a clock set back adds to it, gives the same row.
            total: dict[int, Row] = {}
            query = f"SELECT buckets FROM {self.minute.name} WHERE start >= ? AND start < ?"
            for (blob,) in db.execute(query, (hour, hour + 3600)):
                try:
                    rows = decode(blob).rows()
                except PackedError:
                    continue
                merge_into(total, rows)
            if total:
                self._put(db, self.hour.name, hour, total, replace=True)
                # A statement per key, not one IN (...) list: FROST_MAX_SENSORS (up to 65536) allows
                # more keys than SQLite's default limit of parameters per statement (32766; Debian
                # builds with 250000), and a failing roll-up would fail every write after it.
                db.executemany(
                    "UPDATE sensors SET last_seen = ? WHERE last_seen < ? AND key = ?",
                    [(hour, hour, key) for key in sorted(total)],
                )
            done.add(hour)
            rolled += 1
        return done

    def _prune(self, db: sqlite3.Connection) -> bool:
        """Delete a bounded step of rows older than each tier's retention; tell whether sensors went."""
        sensors_pruned = False
        for tier in self.tiers:
            cutoff = int(self._now - tier.retention_seconds)
            oldest = db.execute(f"SELECT min(start) FROM {tier.name}").fetchone()[0]
            if oldest is None or oldest >= cutoff - PRUNE_BATCH_SECONDS.get(tier.name, 0):
                continue
            # The start of the row PRUNE_ROWS rows in: everything before it is at most that many rows.
            step = db.execute(
                f"SELECT start FROM {tier.name} WHERE start < ? ORDER BY start LIMIT 1 OFFSET ?", (cutoff, PRUNE_ROWS)
            ).fetchone()
            bound = cutoff if step is None else step[0]
            db.execute(f"DELETE FROM {tier.name} WHERE start < ?", (bound,))
            if tier is self.tiers[-1]:
                # A sensor whose newest hour has aged out: its id goes too.
                sensors_pruned = db.execute("DELETE FROM sensors WHERE last_seen < ?", (cutoff,)).rowcount > 0
        return sensors_pruned

    # -- opening, failing, recovering ----------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        self.directory.mkdir(parents=True, exist_ok=True)
        db = open_for_writing(self.path, self.tiers)
        try:
            self._keys = self._read_keys(db)
            self._dirty_hours |= self._unrolled_hours(db)
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    @staticmethod
    def _read_keys(db: sqlite3.Connection) -> dict[str, int]:
        return {sensor_id: key for key, sensor_id in db.execute("SELECT key, id FROM sensors")}

    def _unrolled_hours(self, db: sqlite3.Connection) -> set[int]:
        """Return the hours of minute rows from the newest hour row on (a crash may have left them)."""
        newest = db.execute(f"SELECT max(start) FROM {self.hour.name}").fetchone()[0]
        at = newest if newest is not None else -(2**62)
        hours: set[int] = set()
        # One index seek per hour: at most the minute tier's retention in hours.
        while len(hours) <= self.minute.retention_seconds // 3600:
            start = db.execute(f"SELECT min(start) FROM {self.minute.name} WHERE start >= ?", (at,)).fetchone()[0]
            if start is None:
                break
            hour = start // 3600 * 3600
            hours.add(hour)
            at = hour + 3600
        return hours

    def _close_db(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):  # closing after a failure; the next write opens it again
                self._db.close()
            self._db = None

    def _refuse(self, error: NewerSchema) -> None:
        self.refused = str(error)
        self.write_errors += 1
        self.aggregator.closed.clear()
        log.error("history: %s", error)

    def _fail(self, error: BaseException) -> None:
        self.write_errors += 1
        self._close_db()  # the next attempt opens it again: a replaced or remounted file is found anew
        if is_corrupt(error) and self.path.exists():
            try:
                move_aside(self.path, str(error))
            except OSError as move_error:
                log.debug("history: cannot move %s aside: %s", self.path, move_error)
        closed = self.aggregator.closed
        if len(closed) > MAX_PENDING_MINUTES:
            self.dropped_minutes += len(closed) - MAX_PENDING_MINUTES
            del closed[: len(closed) - MAX_PENDING_MINUTES]
        self._save_pending()
        if self.failing is None:
            self.failing = str(error) or type(error).__name__
            self._dropped_when_failing = self.dropped_minutes
            log.error(
                "history: writing %s fails (%s); sampling goes on, the newest %d minutes wait in memory "
                "and every minute retries",
                self.path,
                self.failing,
                MAX_PENDING_MINUTES,
            )

    # -- the minutes waiting, across a restart (pending.py) ------------------------------------------------

    def _take_back_pending(self) -> None:
        """Put the minutes a previous writer saved before this one's (they are older), at most MAX_PENDING_MINUTES."""
        if self.pending_path is None:
            return
        try:
            data = self.pending_path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as error:
            log.warning("history: cannot read the minutes saved in %s (%s); they are lost", self.pending_path, error)
            return
        try:
            minutes = pending.decode(data)
        except Refused as error:
            log.warning("history: %s: %s; removing it", self.pending_path, error)
            self.pending_path.unlink(missing_ok=True)
            return
        closed = self.aggregator.closed
        closed[:0] = minutes
        if len(closed) > MAX_PENDING_MINUTES:
            self.dropped_minutes += len(closed) - MAX_PENDING_MINUTES
            del closed[: len(closed) - MAX_PENDING_MINUTES]
        self._pending_saved = True
        log.warning(
            "history: took back %d minute(s) a previous sampler could not write (%s); writing them first",
            len(minutes),
            self.pending_path,
        )

    def _save_pending(self) -> None:
        """Save the minutes waiting in memory, for the next writer should this one be restarted."""
        if self.pending_path is None:
            return
        if not self.aggregator.closed:
            self._forget_pending()
            return
        try:
            write_atomically(self.pending_path, pending.encode(self.aggregator.closed))
        except OSError as error:  # the run directory is a tmpfs; full, they stay in memory only
            log.debug("history: cannot save the minutes waiting to %s: %s", self.pending_path, error)
            return
        self._pending_saved = True

    def _forget_pending(self) -> None:
        if self._pending_saved and self.pending_path is not None:
            try:
                self.pending_path.unlink(missing_ok=True)
            except OSError as error:  # never a reason to stop writing the history
                log.debug("history: cannot remove %s: %s", self.pending_path, error)
            self._pending_saved = False

    def _succeed(self) -> None:
        if self.failing is not None:
            lost = self.dropped_minutes - self._dropped_when_failing
            log.warning("history: writing %s works again (%d minute(s) lost meanwhile)", self.path, lost)
            self.failing = None
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 and self._db is not None:
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as error:  # a full disk: the next write says so
                log.debug("history: checkpoint failed: %s", error)
