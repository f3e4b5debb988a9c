"""Read the history's tiers from the Gunicorn workers' threads, never failing the caller."""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .blocks import BLOCK_POINTS, FoldedBlocks, digest
from .buckets import TIERS, WORST_CODE, Bucket, status_name
from .database import HISTORY_FILE, SCHEMA_VERSION
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

# One sensor's points folded from buckets: lowest min, highest max, sum of values, values counted
# (NaN, NaN, 0, 0 where no bucket had a value).
Folded = tuple["array[float]", "array[float]", "array[float]", "array[float]"]


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
        self._blocks = FoldedBlocks()

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
        width = float(seconds)
        try:
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
        except sqlite3.Error as error:
            self._broken(error)
            return {}
        return {sid: buckets for sid, buckets in out.items() if buckets}

    def fold(
        self, tier: str, sensor_ids: Sequence[str], start: float, end: float, origin: float, step: float, count: int
    ) -> dict[str, Folded]:
        """Fold the buckets of a tier that start in [start, end) into `count` points `step` wide from `origin`.

        What the API does with `buckets()` (http/history_points.py, aggregate_buckets), without a
        Bucket object per sensor and bucket: a day of 64 sensors is 92,160 of them, most of the
        time of a long-range answer. Blocks of points folded before from the very same rows are
        taken from this worker's cache (blocks.py). Sensors without buckets there get all-NaN points.
        """
        if tier not in self.tier_seconds:
            raise ValueError(f"unknown tier {tier!r}; tiers: {', '.join(self.tier_seconds)}")
        nans = array("d", [math.nan]) * count
        zeros = array("d", [0.0]) * count
        out: dict[str, Folded] = {
            sid: (array("d", nans), array("d", nans), array("d", zeros), array("d", zeros)) for sid in sensor_ids
        }
        db = self._connection()
        if db is None or not out or count <= 0:
            return out
        try:
            wanted = {key: sid for key, sid in db.execute("SELECT key, id FROM sensors") if sid in out}
            rows = db.execute(ROWS_QUERY.format(tier=tier), (_integer(start), _integer(end))).fetchall()
        except sqlite3.Error as error:
            self._broken(error)
            return out
        # Blocks are numbered from time 0, so that a range that moves finds the same blocks; a
        # grid that is not aligned to its step (no answer plans one) is folded without the cache.
        first = math.floor(origin / step) if math.isfinite(origin / step) else 0
        aligned = first * step == origin
        blocks: dict[int, list[tuple[int, int, bytes]]] = {}
        for at, blob in rows:
            slot = int((at - origin) // step)
            if 0 <= slot < count:
                blocks.setdefault((first + slot) // BLOCK_POINTS, []).append((slot, at, blob))
        sensors = tuple(sorted(wanted.items()))
        selectors: Selectors = {}
        for number, members in blocks.items():
            low, high = number * BLOCK_POINTS - first, (number + 1) * BLOCK_POINTS - first
            # Only a block the range holds whole is the same block in another answer.
            inside = start <= origin + low * step and origin + high * step <= end
            whole = aligned and low >= 0 and high <= count and inside
            if whole:
                key, rows_digest = (tier, step, number, sensors), digest((at, blob) for _, at, blob in members)
                points = self._blocks.get(key, rows_digest)
                if points is not None:
                    for sid, block in points.items():
                        for column, part in zip(out[sid], block, strict=True):
                            column[low:high] = part
                    continue
            _fold_rows(members, wanted, out, selectors)
            if whole:
                self._blocks.put(key, rows_digest, {sid: _block(out[sid], low, high) for sid in wanted.values()})
        return out

    def span(self, tier: str) -> tuple[float, float] | None:
        """Return the oldest and the newest bucket start a tier holds, None when it holds none."""
        if tier not in self.tier_seconds:
            raise ValueError(f"unknown tier {tier!r}; tiers: {', '.join(self.tier_seconds)}")
        db = self._connection()
        if db is None:
            return None
        try:
            oldest, newest = db.execute(SPAN_QUERY.format(tier=tier)).fetchone()
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


Selectors = dict[bytes, tuple[Callable[[bytes], tuple[Any, ...]], list[tuple[int, Folded]]]]


def _fold_rows(
    rows: list[tuple[int, int, bytes]], wanted: dict[int, str], out: dict[str, Folded], selectors: Selectors
) -> None:
    """Fold rows (point, start, BLOB), in order of point, into the wanted sensors' points of out; skip damaged rows.

    Every row of a point is in `rows` (a block holds whole points), and out's points start empty.
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
    previous, row, rows_held = -1, 0, len(unpacked)
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
