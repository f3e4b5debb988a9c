"""The ring of recent samples: their values and statuses, in a memory-mapped file on tmpfs.

([sampling] history sets what it spans, Settings.ring_seconds; "the history" is the one on disk,
history/, which outlives the container.)

The sampler appends (RingWriter); every Gunicorn worker reads (RingReader). The file holds a
header (RingHeader), then per-sample timestamps, then one column of values and one of status
codes per sensor: column-major, so a sensor's history is one contiguous slice, and a sparse file
costs memory only for the columns in use. Which sensor owns which column is the catalog's
(catalog.py).

Consistency is a seqlock: the writer makes `busy` odd, writes, makes it even again; a reader
retries when `busy` was odd or changed while it copied.

Memory ordering (reviewed for arm64 and armv7, issue 13). Writer and readers are different
processes, so the GIL orders nothing between them; what the seqlock needs is that the writer's
stores reach other cores in program order (odd `busy`, the row, `seq`, even `busy`) and that a
reader's loads do too. x86 guarantees both; ARM (v7 and v8 alike) does not, and Python has no
fence to ask for it. What holds it on ARM is distance: between any two of these steps CPython
runs thousands of instructions, with hundreds of stores and loads of its own, far more than a
core's store buffer holds or its reorder window spans (the Pi Zero 2 W's and Pi 3's Cortex-A53
is in-order; the Pi 4's A72 and Pi 5's A76 look ahead about 128 instructions). The file is the
same on every architecture: little-endian, every 8-byte field and column 8-byte aligned, so a
64-bit value is never split across words by its position; a copy that splits it anyway (armv7's
memcpy, 4 bytes at a time) is what the seqlock is there for. If the ordering ever failed, the
cost is one history point or event with a mixed row, never a broken file: the writer alone writes,
and nothing read is trusted for a size or an offset. A formal fix needs real fences (a small C
extension with atomic_thread_fence, or a per-row sequence number behind a release store): not
worth its weight for that. The header alone (`header()`: the stream, the API, /readyz) is read
without the seqlock: `seq` stays below 2**32 for 136 years at a sample a second, so a 4-byte
split cannot show in it; `last_timestamp` could, on armv7, now and then come out mixed from two
consecutive samples, which only /readyz's informative `age` shows.
"""

from __future__ import annotations

import ctypes
import math
import mmap
import os
import threading
import time
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..model import ALARM, DISABLED, ERROR, FAULT, OK

MAGIC = b"FROSTv2"
STATUS_CODES = {OK: 0, ALARM: 1, DISABLED: 2, FAULT: 3, ERROR: 4}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}
ABSENT = 255  # the status code of a sensor that did not exist at that sample
_DATA_OFFSET = 64  # the header, padded
_SEQLOCK_RETRIES = 100


class RingHeader(ctypes.LittleEndianStructure):
    """The ring file's first bytes; the writer maps it over the file and sets fields in place."""

    _fields_ = [
        ("magic", ctypes.c_char * 8),
        ("capacity", ctypes.c_uint32),  # samples the ring holds
        ("columns", ctypes.c_uint32),  # sensors it has room for
        ("busy", ctypes.c_uint32),  # the seqlock: odd while a sample is being written
        ("reserved", ctypes.c_uint32),
        ("seq", ctypes.c_uint64),  # samples written so far: the newest sample's number
        ("last_timestamp", ctypes.c_double),  # when the newest sample was taken, Unix time
        ("interval", ctypes.c_double),  # the sampling interval, s
    ]


assert ctypes.sizeof(RingHeader) <= _DATA_OFFSET


@dataclass(frozen=True)
class Header:
    """A consistent copy of the ring's header."""

    capacity: int
    columns: int
    busy: int
    seq: int
    last_timestamp: float
    interval: float


@dataclass(frozen=True)
class Series:
    """A window of history: timestamps, and per sensor id the values and statuses at them.

    Kept as compact as the ring holds them (8 bytes a value, 1 a status), not as Python objects:
    an answer for 1024 sensors over a minute is 62,000 values.
    """

    timestamps: array[float]
    values: dict[str, array[float]]  # NaN: no value
    statuses: dict[str, bytes]  # codes of STATUS_CODES; ABSENT: the sensor did not exist then
    first_seq: int

    def value(self, sensor_id: str, index: int) -> float | None:
        """Return a sensor's value at one sample, None where it had none."""
        value = self.values[sensor_id][index]
        return None if value != value else value  # NaN

    def status(self, sensor_id: str, index: int) -> str | None:
        """Return a sensor's status at one sample, None where it did not exist."""
        return STATUS_NAMES.get(self.statuses[sensor_id][index])


def layout(capacity: int, columns: int) -> tuple[int, int, int, int]:
    """Return (timestamps offset, values offset, statuses offset, file size) of a ring."""
    timestamps = _DATA_OFFSET
    values = timestamps + 8 * capacity
    statuses = values + 8 * capacity * columns
    return timestamps, values, statuses, statuses + capacity * columns


class _MappedRing:
    """One mapping of a ring file, with typed views over its parts.

    Never closed explicitly: a reader that replaces it drops its reference, and the mapping goes
    away when the last thread still copying out of it lets go (a close() under that thread would
    turn its copy into "mmap closed or invalid").
    """

    def __init__(self, path: Path, writable: bool):
        fd = os.open(path, os.O_RDWR if writable else os.O_RDONLY)
        try:
            status = os.fstat(fd)  # of the file we map, even if the path is replaced meanwhile
            self.inode = status.st_ino
            self.map = mmap.mmap(fd, status.st_size, access=mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ)
        finally:
            os.close(fd)
        header = RingHeader.from_buffer_copy(self.map) if status.st_size >= _DATA_OFFSET else None
        if header is None or header.magic != MAGIC or layout(header.capacity, header.columns)[3] != status.st_size:
            self.map.close()
            raise ValueError(f"{path}: not a FrostServer ring of recent samples")
        self.capacity, self.columns = header.capacity, header.columns
        timestamps, values, statuses, _ = layout(self.capacity, self.columns)
        view = memoryview(self.map)
        self.timestamps = view[timestamps:values].cast("d")
        self.values = view[values:statuses].cast("d")
        self.statuses = view[statuses:]

    def header(self) -> Header:
        copy = RingHeader.from_buffer_copy(self.map)
        return Header(copy.capacity, copy.columns, copy.busy, copy.seq, copy.last_timestamp, copy.interval)


class RingWriter:
    """Append samples to the ring; the sampler's alone."""

    def __init__(self, path: Path, capacity: int, columns: int, interval: float):
        self.recreated = False  # True when no ring of this shape was there to continue
        self._ring = self._open_or_create(Path(path), capacity, columns)
        self._header = RingHeader.from_buffer(self._ring.map)
        self._header.interval = interval
        # Columns in use at the first sample were written before (or their rows do not exist yet);
        # a column taken later (a sensor that appears: a derived pair set in the browser, a chip
        # plugged in) holds the sparse file's zeros in its older rows: cleared to "absent" first.
        self._used: int | None = None

    def _open_or_create(self, path: Path, capacity: int, columns: int) -> _MappedRing:
        # A restarted sampler continues the ring it wrote (same shape): no history lost, and the
        # sample numbers (the event stream's ids) go on.
        try:
            ring = _MappedRing(path, writable=True)
            if (ring.capacity, ring.columns) == (capacity, columns):
                return ring
        except (OSError, ValueError):
            pass
        size = layout(capacity, columns)[3]
        header = RingHeader(magic=MAGIC, capacity=capacity, columns=columns)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            handle.truncate(size)  # sparse: columns cost memory only once written
            handle.write(bytes(header))
        os.replace(tmp, path)
        self.recreated = True
        return _MappedRing(path, writable=True)

    @property
    def capacity(self) -> int:
        return int(self._ring.capacity)

    @property
    def columns(self) -> int:
        return int(self._ring.columns)

    @property
    def next_seq(self) -> int:
        """Return the number the next appended sample gets."""
        return int(self._header.seq) + 1

    def append(self, timestamp: float, cells: Iterable[tuple[int, float | None, str]], used_columns: int) -> int:
        """Write one sample: (column, value, status) per sensor; columns below `used_columns` not given are absent."""
        ring, header = self._ring, self._header
        seq = header.seq + 1
        capacity = ring.capacity
        row = (seq - 1) % capacity
        values, statuses = ring.values, ring.statuses
        header.busy += 1
        self._clear_new_columns(used_columns)
        ring.timestamps[row] = timestamp
        present = set()
        error_code = STATUS_CODES[ERROR]
        for column, value, status in cells:
            present.add(column)
            index = column * capacity + row
            values[index] = math.nan if value is None else value
            statuses[index] = STATUS_CODES.get(status, error_code)
        for column in range(used_columns):
            if column not in present:
                values[column * capacity + row] = math.nan
                statuses[column * capacity + row] = ABSENT
        header.seq = seq
        header.last_timestamp = timestamp
        header.busy += 1
        return int(seq)

    def _clear_new_columns(self, used_columns: int) -> None:
        """Mark every row of a column taken since the last sample absent (NaN), not the file's zeros."""
        if self._used is None or used_columns <= self._used:
            self._used = used_columns if self._used is None else max(self._used, used_columns)
            return
        capacity = self._ring.capacity
        for column in range(self._used, used_columns):
            start = column * capacity
            self._ring.values[start : start + capacity] = array("d", [math.nan]) * capacity
            self._ring.statuses[start : start + capacity] = bytes([ABSENT]) * capacity
        self._used = used_columns

    def close(self) -> None:
        """Unmap the ring (a second call does nothing)."""
        if self._ring.map.closed:
            return
        del self._header  # the struct over the map must go before the map can close
        for view in (self._ring.timestamps, self._ring.values, self._ring.statuses):
            view.release()
        self._ring.map.close()


class RingReader:
    """Read the ring from any number of threads; a ring replaced meanwhile is never closed under them."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._ring: _MappedRing | None = None
        self._lock = threading.Lock()  # only one thread maps a replaced file

    def _current(self) -> _MappedRing | None:
        try:
            inode = os.stat(self.path).st_ino
        except OSError:
            return None
        ring = self._ring
        if ring is not None and ring.inode == inode:
            return ring
        with self._lock:
            if self._ring is None or self._ring.inode != inode:
                try:
                    self._ring = _MappedRing(self.path, writable=False)
                except (OSError, ValueError):
                    return None  # being created; the next call finds it
            return self._ring

    def header(self) -> Header | None:
        """Return the header, or None before a sampler has created the ring."""
        ring = self._current()
        return ring.header() if ring else None

    def window(self, columns: Mapping[str, int], first_seq: int, last_seq: int | None = None) -> Series | None:
        """Copy samples first_seq..last_seq (clipped to what the ring holds) of the sensors in `columns`.

        None when there is no ring, or the writer kept lapping this reader (retry later).
        """
        ring = self._current()  # held for the whole copy, even if the file is replaced meanwhile
        if ring is None:
            return None
        for _ in range(_SEQLOCK_RETRIES):
            before = ring.header()
            if before.busy % 2:
                time.sleep(0.0005)
                continue
            series = _copy(ring, before.seq, columns, first_seq, last_seq)
            if ring.header().busy == before.busy:
                return series
        return None


def _copy(ring: _MappedRing, seq: int, columns: Mapping[str, int], first_seq: int, last_seq: int | None) -> Series:
    capacity = ring.capacity
    last = seq if last_seq is None else min(seq, last_seq)
    first = max(first_seq, seq - capacity + 1, 1)
    if last < first:
        return Series(array("d"), {sid: array("d") for sid in columns}, dict.fromkeys(columns, b""), first)
    start, stop = (first - 1) % capacity, (last - 1) % capacity + 1
    spans = [(start, stop)] if start < stop else [(start, capacity), (0, stop)]

    def doubles(view: memoryview[float], offset: int) -> array[float]:
        out = array("d")
        for a, b in spans:
            out.frombytes(view[offset + a : offset + b].cast("B"))  # one copy, no Python float per value
        return out

    def codes(offset: int) -> bytes:
        return b"".join(ring.statuses[offset + a : offset + b] for a, b in spans)

    values, statuses = {}, {}
    for sid, column in columns.items():
        base = column * capacity
        values[sid] = doubles(ring.values, base)
        statuses[sid] = codes(base)
    return Series(doubles(ring.timestamps, 0), values, statuses, first)
