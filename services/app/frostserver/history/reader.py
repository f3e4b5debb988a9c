"""Read the history's tiers from the Gunicorn workers' threads, never failing the caller."""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .blocks import BLOCK_POINTS, Folded, FoldedBlocks, digest
from .buckets import TIER_SECONDS, WORST_CODE, Bucket, status_name
from .database import APPLICATION_ID, HISTORY_FILE, SCHEMA_VERSION
from .packed import HEADER, RECORD, Packed, PackedError, decode, inflate, key_bytes, selector

log = logging.getLogger("frostserver.history")

# Each stored status code's name (an unknown code reads as the worst).
STATUS_NAMES = tuple(status_name(code) for code in range(WORST_CODE + 1))

# The oldest and newest bucket start of a tier: two subqueries, each one step down an end of the
# table's B-tree. `SELECT min(start), max(start)` in one scans the whole table (SQLite's min/max
# optimisation takes a query with one of them only): 20 ms a tier at full retention, every answer.
SPAN_QUERY = "SELECT (SELECT min(start) FROM {tier}), (SELECT max(start) FROM {tier})"

# The rows of a tier that start in [start, end), oldest first (buckets() and fold() both read them).
ROWS_QUERY = "SELECT start, buckets FROM {tier} WHERE start >= ? AND start < ? ORDER BY start"

# Idle read-only connections a reader keeps (each with a page cache of up to 512 KiB): at least as
# many as the answers a worker makes at once (http/history_gate.py), so that they are reused, and
# few, so that a worker's hundreds of threads never hold a connection each.
IDLE_CONNECTIONS = 4

# fold() reads and unpacks rows a chunk at a time: about this many bytes of BLOBs and of unpacked
# values held at once, whatever the range holds (a step of months puts every row of two years in
# one point). A chunk is never less than one row.
CHUNK_BYTES = 2**20
# What a row costs in a chunk: its BLOB (at most this much per sensor it holds, uncompressed: a
# key and a record) and, once unpacked, four Python numbers and their places per sensor asked.
ROW_BYTES_PER_SENSOR = 4 + RECORD.size
# And what holding a row costs besides its BLOB: its tuple, its start and point, the bytes object.
ROW_OVERHEAD = 160
UNPACKED_BYTES_PER_SENSOR = 4 * (24 + 8)
# A block is kept in the cache (blocks.py) only when its rows' BLOBs fit in this: it must hold
# them all to take their digest. The dashboard's ranges do (a day of 256 sensors at the default
# step: 64 rows of about 6 KiB; a week: 480); a larger block is folded as its rows stream past.
BLOCK_BYTES = 2 * 2**20
# Sets of sensor keys whose unpacking is kept while folding (a set per hardware change in range).
SELECTORS_KEPT = 64


class HistoryReader:
    """Answer queries over the history database; any thread, each query on a pooled read-only connection.

    A missing, unreadable, corrupt, foreign or newer-schema database gives empty answers, never
    an exception: the history is an extra, the API goes on without it. A database replaced since
    a connection was opened (moved aside, recreated) is opened again.
    """

    def __init__(self, path: Path):
        path = Path(path)
        self.path = path / HISTORY_FILE if path.is_dir() or not path.suffix else path
        self.tier_seconds = dict(TIER_SECONDS)
        self._idle: list[tuple[tuple[int, int], sqlite3.Connection]] = []  # (file identity, connection)
        self._lock = threading.Lock()
        self._warned: set[str] = set()
        self._blocks = FoldedBlocks()

    def buckets(self, tier: str, sensor_ids: Sequence[str] | None, start: float, end: float) -> dict[str, list[Bucket]]:
        """Return each sensor's buckets of a tier that start in [start, end), oldest first.

        sensor_ids None: every sensor with buckets there; unknown ids are left out of the answer.
        Every bucket is an object held until the caller drops them: for tests and tools, not for
        the API's long ranges (fold() is).
        """
        seconds = self.tier_seconds.get(tier)
        if seconds is None:
            raise ValueError(f"unknown tier {tier!r}; tiers: {', '.join(self.tier_seconds)}")
        out: dict[str, list[Bucket]] = {}
        if sensor_ids is not None and not sensor_ids:
            return out
        width = float(seconds)
        with self._reading() as db:
            if db is None:
                return out
            names = dict(db.execute("SELECT key, id FROM sensors").fetchall())
            if sensor_ids is not None:
                wanted = set(sensor_ids)
                names = {key: sid for key, sid in names.items() if sid in wanted}
            # Rows of one sensor set share their keys: the positions of the wanted keys are found once.
            keys: tuple[int, ...] | None = None
            positions: list[tuple[int, list[Bucket]]] = []
            # The innermost loop builds each Bucket straight into its __dict__ (a frozen dataclass's
            # __init__ is three times slower): a day of 64 sensors is 92,160 of them.
            new, setter, unpack, size, statuses = (
                object.__new__,
                object.__setattr__,
                RECORD.unpack_from,
                RECORD.size,
                STATUS_NAMES,
            )
            for at, row in _rows(db, tier, start, end):
                if row.keys != keys:  # rows of one sensor set share their keys: positions found once
                    keys = row.keys
                    positions = [
                        (row.offset + index * size, out.setdefault(names[key], []))
                        for index, key in enumerate(keys)
                        if key in names
                    ]
                start_at, data = float(at), row.data
                for offset, buckets in positions:
                    low, high, total, count, worst = unpack(data, offset)
                    bucket = new(Bucket)
                    setter(
                        bucket,
                        "__dict__",
                        {
                            "start": start_at,
                            "seconds": width,
                            "min": None if low != low else low,  # NaN: no sample had a value
                            "max": None if high != high else high,
                            "mean": total / count if count else None,
                            "count": count,
                            "worst_status": statuses[worst] if worst < len(statuses) else statuses[-1],
                        },
                    )
                    buckets.append(bucket)
            return {sid: buckets for sid, buckets in out.items() if buckets}
        return {}  # reading failed (_reading said so once)

    def fold(
        self, tier: str, sensor_ids: Sequence[str], start: float, end: float, origin: float, step: float, count: int
    ) -> dict[str, Folded]:
        """Fold the buckets of a tier that start in [start, end) into `count` points `step` wide from `origin`.

        The answer's fold of a tier's points (answer.py, Tiers): what folding `buckets()` gives
        (tests/unit/history_helpers.py, fold_buckets, the reference it is checked against), without a
        Bucket object per sensor and bucket: a day of 64 sensors is 92,160 of them, most of the
        time of a long-range answer. Rows stream from the database a chunk at a time (CHUNK_BYTES),
        so what a fold holds besides its points does not grow with the range. Blocks of points
        folded before from the very same rows are taken from this worker's cache (blocks.py).
        Sensors without buckets there get all-NaN points.
        """
        if tier not in self.tier_seconds:
            raise ValueError(f"unknown tier {tier!r}; tiers: {', '.join(self.tier_seconds)}")
        nans = array("d", [math.nan]) * count
        zeros = array("d", [0.0]) * count
        out: dict[str, Folded] = {
            sid: (array("d", nans), array("d", nans), array("d", zeros), array("d", zeros)) for sid in sensor_ids
        }
        if not out or count <= 0:
            return out
        with self._reading() as db:
            if db is None:
                return out
            stored = 0
            wanted: dict[int, str] = {}
            for key, sid in db.execute("SELECT key, id FROM sensors"):
                stored += 1
                if sid in out:
                    wanted[key] = sid
            folder = _Folder(out, wanted)
            # Blocks are numbered from time 0, so that a range that moves finds the same blocks; a
            # grid that is not aligned to its step (no answer plans one) is folded without the cache.
            first = math.floor(origin / step) if math.isfinite(origin / step) else 0
            aligned = first * step == origin

            def cacheable(number: int) -> bool:
                # Only a block the range holds whole is the same block in another answer.
                low, high = number * BLOCK_POINTS - first, (number + 1) * BLOCK_POINTS - first
                return (
                    aligned
                    and low >= 0
                    and high <= count
                    and start <= origin + low * step
                    and origin + high * step <= end
                )

            # Rows of one block: all of them while it may be cached (its digest needs every row),
            # else a chunk at a time.
            block: int | None = None
            members: list[tuple[int, int, bytes]] = []
            held = 0  # bytes of the members (their BLOBs and ROW_OVERHEAD each)
            keep = False  # the block is being gathered whole, for the cache
            fetch = max(1, CHUNK_BYTES // (ROW_OVERHEAD + ROW_BYTES_PER_SENSOR * max(1, stored)))
            cursor = db.execute(ROWS_QUERY.format(tier=tier), (_integer(start), _integer(end)))
            try:
                while rows := cursor.fetchmany(fetch):
                    for at, blob in rows:
                        slot = int((at - origin) // step)
                        if not 0 <= slot < count:
                            continue
                        number = (first + slot) // BLOCK_POINTS
                        if number != block:
                            if block is not None:
                                self._finish_block(folder, tier, step, block, first, members, keep)
                            block, members, held, keep = number, [], 0, cacheable(number)
                        members.append((slot, at, blob))
                        held += ROW_OVERHEAD + len(blob)
                        if keep and held > BLOCK_BYTES:
                            keep = False  # too large to keep: folded as it streams from here
                        if not keep and (held >= CHUNK_BYTES or len(members) >= folder.rows_per_chunk):
                            folder.fold(members)
                            members, held = [], 0
                if block is not None:
                    self._finish_block(folder, tier, step, block, first, members, keep)
            finally:
                cursor.close()
        return out

    def _finish_block(
        self,
        folder: _Folder,
        tier: str,
        step: float,
        number: int,
        first: int,
        members: list[tuple[int, int, bytes]],
        keep: bool,
    ) -> None:
        """Fold the rows of a block not folded yet: from the cache when it holds a block of these very rows."""
        if not keep:
            folder.fold(members)
            return
        low, high = number * BLOCK_POINTS - first, (number + 1) * BLOCK_POINTS - first
        key = (tier, step, number, folder.sensors)
        rows_digest = digest((at, blob) for _, at, blob in members)
        points = self._blocks.get(key, rows_digest)
        if points is not None:
            for sid, cached in points.items():
                for column, part in zip(folder.out[sid], cached, strict=True):
                    column[low:high] = part
            return
        folder.fold(members)
        self._blocks.put(key, rows_digest, {sid: _block(folder.out[sid], low, high) for sid in folder.wanted.values()})

    def span(self, tier: str) -> tuple[float, float] | None:
        """Return the oldest and the newest bucket start a tier holds, None when it holds none."""
        if tier not in self.tier_seconds:
            raise ValueError(f"unknown tier {tier!r}; tiers: {', '.join(self.tier_seconds)}")
        with self._reading() as db:
            if db is None:
                return None
            oldest, newest = db.execute(SPAN_QUERY.format(tier=tier)).fetchone()
            return None if oldest is None else (float(oldest), float(newest))
        return None  # reading failed

    def sensor_ids(self) -> list[str]:
        """Return the ids of every sensor the history holds buckets of (vanished ones included), sorted."""
        with self._reading() as db:
            if db is None:
                return []
            return [row[0] for row in db.execute("SELECT id FROM sensors ORDER BY id")]
        return []  # reading failed

    # -- connections ---------------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """Lend a connection to the current file (None: no usable database) for one query.

        An sqlite3.Error inside is not raised: the connection is closed, the error said once, and
        the caller goes on after its `with` block (where it returns its empty answer).
        """
        taken = self._take()
        if taken is None:
            yield None
            return
        identity, db = taken
        try:
            yield db
        except sqlite3.Error as error:
            db.close()
            self._broken(error)
            return
        except BaseException:
            db.close()
            raise
        with self._lock:
            if len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append((identity, db))
                return
        db.close()

    def _take(self) -> tuple[tuple[int, int], sqlite3.Connection] | None:
        """Return an idle connection to the current file, or a new one; None when there is no usable database."""
        try:
            status = os.stat(self.path)
        except OSError:
            self._close_idle()
            return None
        identity = (status.st_dev, status.st_ino)
        stale: list[sqlite3.Connection] = []
        found = None
        with self._lock:
            while self._idle:
                held, db = self._idle.pop()
                if held == identity:
                    found = (identity, db)
                    break
                stale.append(db)  # a file since replaced (moved aside, recreated)
        for db in stale:
            db.close()
        if found is not None:
            return found
        # Any thread may use it, one at a time (a connection is lent to one query at a time).
        try:
            db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as error:
            self._broken(error)
            return None
        try:
            db.execute("PRAGMA cache_size=-512")  # KiB
            version = db.execute("PRAGMA user_version").fetchone()[0]
            application = db.execute("PRAGMA application_id").fetchone()[0]
        except sqlite3.Error as error:
            db.close()
            self._broken(error)
            return None
        # 0: being created; newer: not ours to read; another application's id: not ours at all
        # (the writer moves it aside). 0 as the id: a schema-2 file from before ids were set.
        if version != SCHEMA_VERSION or application not in (0, APPLICATION_ID):
            db.close()
            return None
        return identity, db

    def close(self) -> None:
        """Close the idle connections (a later query opens one again)."""
        self._close_idle()

    def _close_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for _, db in idle:
            db.close()

    def _broken(self, error: sqlite3.Error) -> None:
        """Say once per kind of error that reads fail."""
        message = str(error)
        if message not in self._warned and len(self._warned) < 64:  # a few kinds, not one per row
            self._warned.add(message)
            log.warning("history: cannot read %s: %s; answering without the history", self.path, message)


Selectors = dict[bytes, tuple[Callable[[bytes], tuple[Any, ...]], list[tuple[int, Folded]]]]


class _Folder:
    """Fold rows into the wanted sensors' points of `out`, a chunk of rows at a time, in order of start."""

    def __init__(self, out: dict[str, Folded], wanted: dict[int, str]):
        self.out = out
        self.wanted = wanted  # key -> sensor id, of the sensors asked that the history holds
        self.sensors = tuple(sorted(wanted.items()))  # what a cached block's points are of
        self.selectors: Selectors = {}
        self.previous = -1  # the point of the last row folded: its next rows compare with it
        # Rows unpacked at once: their values are Python objects until folded.
        self.rows_per_chunk = max(1, CHUNK_BYTES // (UNPACKED_BYTES_PER_SENSOR * max(1, len(wanted))))

    def fold(self, rows: list[tuple[int, int, bytes]]) -> None:
        """Fold rows (point, start, BLOB) that follow the rows folded so far."""
        for first in range(0, len(rows), self.rows_per_chunk):
            if len(self.selectors) > SELECTORS_KEPT:
                self.selectors.clear()
            self.previous = _fold_rows(
                rows[first : first + self.rows_per_chunk], self.wanted, self.out, self.selectors, self.previous
            )


def _fold_rows(
    rows: list[tuple[int, int, bytes]],
    wanted: dict[int, str],
    out: dict[str, Folded],
    selectors: Selectors,
    previous: int = -1,
) -> int:
    """Fold rows (point, start, BLOB), in order of point, into the wanted sensors' points of out; skip damaged rows.

    `previous`: the point of the row folded last before these (its next rows compare with what it
    holds); every other point of `rows` starts empty in out. Return the point of the last row.
    """
    unpacked: list[tuple[int, tuple[Any, ...], list[tuple[int, Folded]]]] = []
    for slot, _, blob in rows:
        try:
            data, keys = inflate(blob)
        except PackedError:
            continue  # one damaged row spoils only its bucket
        # Rows of one sensor set share their keys: what to unpack, and where, is found once per set.
        signature = data[HEADER.size : HEADER.size + 4 * keys]
        found = selectors.get(signature)
        if found is None:
            held = [key for key in key_bytes(data, keys) if key in wanted]
            found = selectors[signature] = (
                selector(key_bytes(data, keys), wanted).unpack_from,
                [(4 * index, out[wanted[key]]) for index, key in enumerate(held)],
            )
        unpack, positions = found
        unpacked.append((slot, unpack(data), positions))
    row, rows_held = 0, len(unpacked)
    while row < rows_held:
        slot, values, positions = unpacked[row]
        row += 1
        if slot == previous:  # a later row of its point: compared with what the point holds
            for base, (low, high, total, weight) in positions:
                counted = values[base + 3]
                if counted <= 0:
                    continue
                value = values[base]
                if not value >= low[slot]:  # also when the point has none yet (NaN)
                    low[slot] = value
                value = values[base + 1]
                if not value <= high[slot]:
                    high[slot] = value
                total[slot] += values[base + 2]
                weight[slot] += counted
            continue
        previous = slot
        if (
            row < rows_held
            and unpacked[row][0] == slot
            and unpacked[row][2] is positions
            and (row + 1 == rows_held or unpacked[row + 1][0] != slot)
        ):
            # A point of exactly two rows (the default step of a day, two minutes): both at once,
            # each value of the point written once.
            second = unpacked[row][1]
            row += 1
            for base, (low, high, total, weight) in positions:
                counted, more = values[base + 3], second[base + 3]
                if counted > 0 and more > 0:
                    value, other = values[base], second[base]
                    low[slot] = other if not other >= value else value
                    value, other = values[base + 1], second[base + 1]
                    high[slot] = other if not other <= value else value
                    total[slot], weight[slot] = 0.0 + values[base + 2] + second[base + 2], counted + more
                elif counted > 0 or more > 0:
                    taken = values if counted > 0 else second
                    low[slot], high[slot] = taken[base], taken[base + 1]
                    total[slot], weight[slot] = 0.0 + taken[base + 2], taken[base + 3]
            continue
        # The point's first row: its values as they are, nothing to compare with.
        for base, (low, high, total, weight) in positions:
            counted = values[base + 3]
            if counted > 0:
                low[slot], high[slot] = values[base], values[base + 1]
                total[slot], weight[slot] = 0.0 + values[base + 2], counted  # 0.0 +: as += gives it
    return previous


def _block(points: Folded, low: int, high: int) -> Folded:
    """Return a copy of the points [low, high) of one sensor."""
    return points[0][low:high], points[1][low:high], points[2][low:high], points[3][low:high]


def _rows(db: sqlite3.Connection, tier: str, start: float, end: float) -> Iterator[tuple[int, Packed]]:
    """Yield the rows of a tier that start in [start, end), oldest first, decoded; skip damaged ones."""
    for at, blob in db.execute(ROWS_QUERY.format(tier=tier), (_integer(start), _integer(end))):
        try:
            yield at, decode(blob)
        except PackedError:
            continue  # one damaged row spoils only its bucket


def _integer(bound: float) -> int:
    """Return a bound in whole seconds (bucket starts are whole), rounded up so [start, end) stays."""
    if math.isnan(bound):
        raise ValueError("a time bound must be a number, not NaN")
    return math.ceil(min(max(bound, -(2.0**62)), 2.0**62))
