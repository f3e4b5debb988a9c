"""A worker's cache of folded points, a block at a time, keyed by the very rows they were folded from.

A block is BLOCK_POINTS points of one step, aligned to multiples of BLOCK_POINTS * step (so that
the dashboard's range, moving on every request, finds the same blocks again). An entry holds
each sensor's (min, max, sum, count) at those points and a digest of the rows it was folded from
(their starts and BLOBs). A block is served again only when the rows read now have that digest:
a minute written late (a clock set back merges into a minute already written, or fills a gap),
an hour rolled up again, a row pruned, any change at all gives another digest, and the block is
folded again. Nothing has to tell the cache that the database changed, and it never serves a
point the database no longer holds.

The newest block (its minutes still being written) changes digest every minute and is folded on
every request; so are the blocks a range only partly covers, at either end, and a block whose
rows' BLOBs are more than reader.BLOCK_BYTES (2 MiB: the reader would have to hold them all to
take their digest; a week at the default step of several hundred sensors, or the one point of a
step of months), which is folded as its rows stream past. A cold cache (a
worker just started) folds everything: `make bench` reports that first answer and a warm one.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable

BLOCK_POINTS = 32
# Per worker (one cache per HistoryReader): 24 h of 64 sensors at the default step is about
# 2 MiB of blocks (measured with tracemalloc); least recently used blocks go first.
CACHE_BYTES = 4 * 2**20

# One sensor's points folded from buckets: lowest min, highest max, sum of values, values counted
# (NaN, NaN, 0, 0 where no bucket had a value). What a fold answers (reader.py, answer.py's Tiers)
# and what a block keeps of its points.
Folded = tuple["array[float]", "array[float]", "array[float]", "array[float]"]
# tier, step, block number, and the (key, id) pairs of the sensors asked: what the points are of.
BlockKey = tuple[str, float, int, tuple[tuple[int, str], ...]]


def digest(rows: Iterable[tuple[int, bytes]]) -> int:
    """Return a digest of rows (start, BLOB): the same for the same rows, byte for byte.

    Python's hash of the rows, SipHash of each BLOB (keyed anew in every process): two different
    sets of rows share a digest with a chance of one in 2**64, and it reads the 6 MB of a day of
    256 sensors' rows several times faster than hashlib's digests.
    """
    return hash(tuple(rows))


class FoldedBlocks:
    """Blocks of folded points, at most `limit` bytes of them; safe across a worker's threads."""

    def __init__(self, limit: int = CACHE_BYTES):
        self.limit = limit
        self.size = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[BlockKey, tuple[int, dict[str, Folded], int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: BlockKey, rows_digest: int) -> dict[str, Folded] | None:
        """Return a block's points when it was folded from rows of this digest, else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != rows_digest:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: BlockKey, rows_digest: int, points: dict[str, Folded]) -> None:
        """Keep a block's points (never changed afterwards), dropping the least recently used past the limit."""
        # Per sensor: four arrays (64 bytes each and 8 a point), their tuple and its place in the dict.
        size = 256 + sum(4 * (64 + 8 * len(column)) + 200 for column, *_ in points.values())
        if size > self.limit:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= old[2]
            self._entries[key] = (rows_digest, points, size)
            self.size += size
            while self.size > self.limit:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self.size -= dropped

    def clear(self) -> None:
        """Forget every block."""
        with self._lock:
            self._entries.clear()
            self.size = 0
