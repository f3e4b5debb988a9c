"""Share samples between Gunicorn workers: a ring buffer in a memory-mapped file on tmpfs.

One process (the sampler's leader, see sampler.py) writes; every worker reads. The file holds
a header, then per-sample timestamps, then one column of values and one of status codes per
sensor (column-major, so a sensor's history is one contiguous slice and a sparse file costs
memory only for the columns in use). Which sensor owns which column, and its metadata, lives
in catalog.json beside it, rewritten only when a sensor or its metadata changes.

Consistency is a seqlock: the writer bumps `busy` to odd, writes, bumps it to even; a reader
retries when `busy` was odd or changed while it copied.
"""
from __future__ import annotations

import json
import math
import mmap
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from .model import ALARM, DISABLED, ERROR, FAULT, OK

MAGIC = b"FROSTv1\0"
# magic, capacity, columns, busy, seq (samples written), catalog generation, last timestamp, interval
_HEADER = struct.Struct("<8sIIQQQdd")
_HEADER_SIZE = 64
_BUSY_OFFSET = 16
STATUS_CODES = {OK: 0, ALARM: 1, DISABLED: 2, FAULT: 3, ERROR: 4}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}
_NO_STATUS = 255  # the sensor did not exist at that sample
SAMPLES_FILE = "samples.bin"
CATALOG_FILE = "catalog.json"
LATEST_FILE = "sensors.json"
# Per sensor, what /metrics needs beyond the public document: node_exporter's labels and the raw
# attribute values (kept out of /api/v1/sensors so the API stays lean).
EXPORTER_FILE = "exporter.json"
STATS_FILE = "stats.json"  # the sampler's counters, rewritten after every sample (for /metrics)
WORKERS_DIR = "workers"  # <pid>.json per Gunicorn worker: its own counters (open streams)


@dataclass(frozen=True)
class Header:
    capacity: int
    columns: int
    busy: int
    seq: int
    generation: int
    last_timestamp: float
    interval: float


@dataclass(frozen=True)
class Series:
    """A window of history: timestamps, and per sensor id the values and statuses at them."""

    timestamps: list[float]
    values: dict[str, list[float | None]]
    statuses: dict[str, list[str | None]]
    first_seq: int


def layout(capacity: int, columns: int) -> tuple[int, int, int, int]:
    """Return (timestamps offset, values offset, status offset, file size) for a ring."""
    ts_offset = _HEADER_SIZE
    values_offset = ts_offset + 8 * capacity
    status_offset = values_offset + 8 * capacity * columns
    size = status_offset + capacity * columns
    return ts_offset, values_offset, status_offset, size


class _Ring:
    """The mapped file and typed views over it."""

    def __init__(self, path: Path, mode: str):
        self.path = path
        fd = os.open(path, os.O_RDWR if mode == "w" else os.O_RDONLY)
        try:
            status = os.fstat(fd)  # of the file we map, even if the path is swapped meanwhile
            size, self.inode = status.st_size, status.st_ino
            access = mmap.ACCESS_WRITE if mode == "w" else mmap.ACCESS_READ
            self.map = mmap.mmap(fd, size, access=access)
        finally:
            os.close(fd)
        magic, self.capacity, self.columns = struct.unpack_from("<8sII", self.map, 0)
        if magic != MAGIC or layout(self.capacity, self.columns)[3] != size:
            self.map.close()
            raise ValueError(f"{path}: not a FrostServer sample store")
        ts_offset, values_offset, status_offset, _ = layout(self.capacity, self.columns)
        view = self._view = memoryview(self.map)
        self.timestamps = view[ts_offset:values_offset].cast("d")
        self.values = view[values_offset:status_offset].cast("d")
        self.statuses = view[status_offset:]

    def header(self) -> Header:
        _, capacity, columns, busy, seq, generation, last, interval = _HEADER.unpack_from(self.map, 0)
        return Header(capacity, columns, busy, seq, generation, last, interval)

    def close(self) -> None:
        for view in (self.timestamps, self.values, self.statuses, self._view):
            view.release()
        self.map.close()


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class StoreWriter:
    """Append samples to the shared ring; used only by the sampler's leader."""

    def __init__(self, run_dir: Path, capacity: int, columns: int, interval: float):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / SAMPLES_FILE
        self.ring = self._open_or_create(path, capacity, columns)
        struct.pack_into("<d", self.ring.map, 48, interval)
        catalog = _read_json(self.run_dir / CATALOG_FILE) or {}
        self.columns: dict[str, int] = {s["id"]: s["column"] for s in catalog.get("sensors", [])}
        self.metadata: dict[str, dict] = {s["id"]: s for s in catalog.get("sensors", [])}
        self.generation = self.ring.header().generation

    @staticmethod
    def _open_or_create(path: Path, capacity: int, columns: int) -> _Ring:
        # A worker that takes over from a dead leader keeps the history it wrote.
        try:
            ring = _Ring(path, "w")
            if (ring.capacity, ring.columns) == (capacity, columns):
                return ring
            ring.close()
        except (OSError, ValueError):
            pass
        size = layout(capacity, columns)[3]
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            handle.truncate(size)  # sparse: columns cost memory only once written
            handle.write(_HEADER.pack(MAGIC, capacity, columns, 0, 0, 0, 0.0, 0.0))
        os.replace(tmp, path)
        (path.parent / CATALOG_FILE).unlink(missing_ok=True)
        return _Ring(path, "w")

    def update_catalog(self, sensors: list[dict]) -> list[str]:
        """Give every sensor a column and publish metadata changes; return ids that found no column."""
        changed, dropped = False, []
        for sensor in sensors:
            sid = sensor["id"]
            if sid not in self.columns:
                if len(self.columns) >= self.ring.columns:
                    dropped.append(sid)
                    continue
                self.columns[sid] = len(self.columns)
            entry = dict(sensor, column=self.columns[sid])
            if self.metadata.get(sid) != entry:
                self.metadata[sid] = entry
                changed = True
        if changed:
            self.generation += 1
            body = {"generation": self.generation, "sensors": list(self.metadata.values())}
            _write_atomically(self.run_dir / CATALOG_FILE, json.dumps(body).encode())
            struct.pack_into("<Q", self.ring.map, 32, self.generation)
        return dropped

    def append(self, timestamp: float, readings: dict[str, tuple[float | None, str]], latest_body: bytes,
               exporter_body: bytes = b"{}") -> int:
        """Write one sample (values by sensor id) and the rendered latest documents; return its seq."""
        ring = self.ring
        header = ring.header()
        seq = header.seq + 1
        row = (seq - 1) % ring.capacity
        capacity = ring.capacity
        _write_atomically(self.run_dir / LATEST_FILE, latest_body)
        _write_atomically(self.run_dir / EXPORTER_FILE, exporter_body)
        struct.pack_into("<Q", ring.map, _BUSY_OFFSET, header.busy + 1)
        ring.timestamps[row] = timestamp
        values, statuses = ring.values, ring.statuses
        nan = math.nan
        present = set()
        for sid, (value, status) in readings.items():
            column = self.columns.get(sid)
            if column is None:
                continue
            present.add(column)
            index = column * capacity + row
            values[index] = nan if value is None else value
            statuses[index] = STATUS_CODES.get(status, STATUS_CODES[ERROR])
        for column in range(len(self.columns)):
            if column not in present:
                values[column * capacity + row] = nan
                statuses[column * capacity + row] = _NO_STATUS
        struct.pack_into("<QQ", ring.map, 24, seq, self.generation)
        struct.pack_into("<d", ring.map, 40, timestamp)
        struct.pack_into("<Q", ring.map, _BUSY_OFFSET, header.busy + 2)
        return seq

    def write_stats(self, stats: dict) -> None:
        """Publish the sampler's counters (a small JSON document with the seq they are current at)."""
        _write_atomically(self.run_dir / STATS_FILE, json.dumps(stats, allow_nan=False).encode())

    def close(self) -> None:
        self.ring.close()


def publish_worker_stats(run_dir: Path, pid: int, stats: dict) -> None:
    """Publish one worker's own counters, so that whichever worker renders /metrics shows them all."""
    directory = Path(run_dir) / WORKERS_DIR
    directory.mkdir(exist_ok=True)
    _write_atomically(directory / f"{pid}.json", json.dumps(dict(stats, pid=pid)).encode())


def read_worker_stats(run_dir: Path) -> dict[int, dict]:
    """Return every live worker's published counters by pid, removing those of dead workers."""
    directory = Path(run_dir) / WORKERS_DIR
    workers = {}
    try:
        names = os.listdir(directory)
    except OSError:
        return workers
    for name in names:
        pid_text, _, extension = name.partition(".")
        if extension != "json" or not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if not _alive(pid):
            (directory / name).unlink(missing_ok=True)
            continue
        document = _read_json(directory / name)
        if isinstance(document, dict):
            workers[pid] = document
    return workers


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's (never the case in the app's container)
        return True
    return True


def _read_json(path: Path):
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


class StoreReader:
    """Read the shared samples from any worker; cheap to call on every request."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self._ring: _Ring | None = None
        self._catalog: dict | None = None
        self._catalog_generation = -1
        self._latest: tuple[int, bytes] = (-1, b"")
        self._stats: dict = {}
        self._exporter: tuple[int, dict] = (-1, {})

    def _open(self) -> _Ring | None:
        path = self.run_dir / SAMPLES_FILE
        try:
            inode = os.stat(path).st_ino
        except OSError:
            return None
        if self._ring is not None and self._ring.inode == inode:
            return self._ring
        if self._ring is not None:
            self._ring.close()
            self._ring = None
        try:
            self._ring = _Ring(path, "r")
        except (OSError, ValueError):
            return None
        return self._ring

    def header(self) -> Header | None:
        """Return the ring's header, or None before the first sampler has created it."""
        ring = self._open()
        return ring.header() if ring else None

    def catalog(self) -> dict:
        """Return {"generation": n, "sensors": [...]} with each sensor's metadata and column."""
        header = self.header()
        generation = header.generation if header else 0
        if self._catalog is None or generation != self._catalog_generation:
            self._catalog = _read_json(self.run_dir / CATALOG_FILE) or {"generation": 0, "sensors": []}
            self._catalog_generation = self._catalog.get("generation", 0)
        return self._catalog

    def latest_body(self) -> bytes | None:
        """Return the rendered /api/v1/sensors document of the newest sample."""
        header = self.header()
        if header is None or header.seq == 0:
            return None
        if self._latest[0] != header.seq:
            try:
                self._latest = (header.seq, (self.run_dir / LATEST_FILE).read_bytes())
            except OSError:
                return self._latest[1] or None
        return self._latest[1]

    def exporter(self) -> dict[str, dict]:
        """Return, by sensor id, the node_exporter labels and raw values of the newest sample."""
        header = self.header()
        seq = header.seq if header else 0
        if self._exporter[0] != seq:
            self._exporter = (seq, _read_json(self.run_dir / EXPORTER_FILE) or {})
        return self._exporter[1]

    def stats(self) -> dict:
        """Return the sampler's latest published counters ({} before the first sample)."""
        header = self.header()
        seq = header.seq if header else 0
        # Re-read until the document is the one of the newest sample: the sampler writes it
        # just after the sample itself.
        if self._stats.get("seq") != seq:
            self._stats = _read_json(self.run_dir / STATS_FILE) or self._stats
        return self._stats

    def window(self, sensor_ids: list[str] | None, first_seq: int, last_seq: int | None = None) -> Series | None:
        """Copy samples first_seq..last_seq (clipped to what the ring still holds) for some sensors."""
        ring = self._open()
        if ring is None:
            return None
        columns = {s["id"]: s["column"] for s in self.catalog()["sensors"]}
        wanted = list(columns) if sensor_ids is None else [s for s in sensor_ids if s in columns]
        for _ in range(100):
            before = ring.header()
            if before.busy % 2:
                time.sleep(0.0005)
                continue
            series = self._copy(ring, before.seq, wanted, columns, first_seq, last_seq)
            if ring.header().busy == before.busy:
                return series
        return None

    @staticmethod
    def _copy(ring: _Ring, seq: int, wanted, columns, first_seq: int, last_seq: int | None) -> Series:
        capacity = ring.capacity
        last = seq if last_seq is None else min(seq, last_seq)
        first = max(first_seq, seq - capacity + 1, 1)
        if last < first:
            return Series([], {sid: [] for sid in wanted}, {sid: [] for sid in wanted}, first)
        start, stop = (first - 1) % capacity, (last - 1) % capacity + 1
        spans = [(start, stop)] if start < stop else [(start, capacity), (0, stop)]

        def take(view, offset):
            out = []
            for a, b in spans:
                out.extend(view[offset + a:offset + b].tolist())
            return out

        timestamps = take(ring.timestamps, 0)
        values, statuses = {}, {}
        for sid in wanted:
            base = columns[sid] * capacity
            values[sid] = [None if v != v else v for v in take(ring.values, base)]
            statuses[sid] = [STATUS_NAMES.get(code) for code in take(ring.statuses, base)]
        return Series(timestamps, values, statuses, first)
