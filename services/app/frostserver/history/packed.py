"""One bucket start of every sensor as one BLOB: what a row of a tier holds.

A row per bucket, not a row per sensor and bucket: a minute of 256 sensors is one B-tree insert
(its BLOB spills into overflow pages written once), where it was 256 (scripts/bench_history.py).
The BLOB is zlib-compressed; inside, little-endian:

    u8 format (1), u32 n, n x u32 sensor keys (ascending),
    n records of f64 low, f64 high, f64 total, u32 count, u8 worst   (low/high NaN: no value)

A reader decompresses a row and unpacks only the records of the sensors it was asked for.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass

FORMAT = 1
HEADER = struct.Struct("<BI")
RECORD = struct.Struct("<dddIB")
# zlib level 1: most of level 9's gain on these records for a fraction of its time.
LEVEL = 1

# (low, high, total, count, worst): one sensor's aggregate, as aggregate.Aggregate.row() gives it.
Row = tuple[float | None, float | None, float, int, int]


class PackedError(ValueError):
    """A row's BLOB is not in this format (written by another version, or damaged)."""


def encode(rows: Mapping[int, Row]) -> bytes:
    """Pack each sensor key's aggregate into one BLOB."""
    keys = sorted(rows)
    parts = [HEADER.pack(FORMAT, len(keys)), struct.pack(f"<{len(keys)}I", *keys)]
    nan = math.nan
    for key in keys:
        low, high, total, count, worst = rows[key]
        parts.append(RECORD.pack(nan if low is None else low, nan if high is None else high, total, count, worst))
    return zlib.compress(b"".join(parts), LEVEL)


@dataclass(frozen=True, slots=True)
class Packed:
    """A decompressed row: its sensor keys, and each key's record on demand."""

    keys: tuple[int, ...]
    data: bytes
    offset: int  # where the records start in data

    def record(self, index: int) -> Row:
        """Return the aggregate of the index-th key."""
        low, high, total, count, worst = RECORD.unpack_from(self.data, self.offset + index * RECORD.size)
        return (None if low != low else low, None if high != high else high, total, count, worst)

    def rows(self) -> dict[int, Row]:
        """Return every key's aggregate."""
        return {key: self.record(index) for index, key in enumerate(self.keys)}


def inflate(blob: bytes) -> tuple[bytes, int]:
    """Decompress a row's BLOB and check its size; return its data and its count of keys, or raise PackedError."""
    try:
        data = zlib.decompress(blob)
        version, count = HEADER.unpack_from(data)
    except (zlib.error, struct.error, TypeError) as error:
        raise PackedError(f"not a packed bucket row: {error}") from error
    if version != FORMAT or len(data) != HEADER.size + count * (4 + RECORD.size):
        raise PackedError(f"not a packed bucket row of format {FORMAT} (format {version}, {len(data)} bytes)")
    return data, count


def decode(blob: bytes) -> Packed:
    """Unpack a row's BLOB; raise PackedError when it is not one."""
    data, count = inflate(blob)
    return Packed(key_bytes(data, count), data, HEADER.size + 4 * count)


def key_bytes(data: bytes, count: int) -> tuple[int, ...]:
    """Return the sensor keys of an inflated row."""
    return struct.unpack_from(f"<{count}I", data, HEADER.size)


def selector(keys: Sequence[int], wanted: Container[int]) -> struct.Struct:
    """Return a Struct that unpacks (low, high, total, count) of each wanted key of a row of these keys, in key order.

    The other keys' records (and every worst status) are skipped as padding: never made into
    Python objects, a quarter of the work when 64 of 256 sensors are asked.
    """
    parts = ["<", f"{HEADER.size + 4 * len(keys)}x"]
    for key in keys:
        parts.append("dddIx" if key in wanted else f"{RECORD.size}x")
    return struct.Struct("".join(parts))


def merge(old: Row, new: Row) -> Row:
    """Return the aggregate of both rows' samples (a bucket written twice: a clock set back)."""
    low = old[0] if new[0] is None or (old[0] is not None and old[0] <= new[0]) else new[0]
    high = old[1] if new[1] is None or (old[1] is not None and old[1] >= new[1]) else new[1]
    return low, high, old[2] + new[2], old[3] + new[3], max(old[4], new[4])


def merge_into(held: dict[int, Row], rows: Mapping[int, Row]) -> None:
    """Merge each key's aggregate of rows into held's (a key held has none yet: taken as it is)."""
    for key, row in rows.items():
        held[key] = merge(held[key], row) if key in held else row
