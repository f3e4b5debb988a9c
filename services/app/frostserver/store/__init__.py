"""The store: how the sampler process hands samples to the Gunicorn workers, through the run directory.

One owner per file: the sampler writes all of them, workers only read (each through a small reader
that is safe across threads).

    history.ring    ring.py      the newest samples' values and statuses (memory-mapped)
    catalog.json    catalog.py   every sensor's metadata and its column in the ring
    latest.json     latest.py    the newest sample's readings in full
    counters.json   counters.py  the sampler's counters, for /metrics
    sampler.lock    liveness.py  held by the live sampler

The run directory is a tmpfs in the container (FROST_RUN_DIR): nothing here outlives the container.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..model import Sample
from .catalog import Catalog, CatalogReader, CatalogWriter
from .counters import CountersReader, CountersWriter
from .latest import LatestReader, LatestWriter
from .liveness import SamplerAlreadyRunning, SamplerLock, sampler_pid
from .ring import Header, RingReader, RingWriter, Series

RING_FILE = "history.ring"
CATALOG_FILE = "catalog.json"
LATEST_FILE = "latest.json"
COUNTERS_FILE = "counters.json"
LOCK_FILE = "sampler.lock"

__all__ = [
    "CATALOG_FILE", "COUNTERS_FILE", "LATEST_FILE", "LOCK_FILE", "RING_FILE", "Catalog", "Header",
    "SamplerAlreadyRunning", "SamplerLock", "Series", "StoreReader", "StoreWriter", "sampler_pid",
]


@dataclass
class StoreWriter:
    """The sampler's side of the store: a writer for each file."""

    ring: RingWriter
    catalog: CatalogWriter
    latest: LatestWriter
    counters: CountersWriter

    @classmethod
    def open(cls, run_dir: Path, capacity: int, columns: int, interval: float) -> StoreWriter:
        """Continue the store in run_dir if it has this shape, else start it afresh."""
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        ring = RingWriter(run_dir / RING_FILE, capacity, columns, interval)
        catalog = CatalogWriter(run_dir / CATALOG_FILE, columns, keep=not ring.recreated)
        return cls(ring, catalog, LatestWriter(run_dir / LATEST_FILE), CountersWriter(run_dir / COUNTERS_FILE))

    def close(self) -> None:
        self.ring.close()


class StoreReader:
    """A worker's side of the store: every reader, safe to share among its threads."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.ring = RingReader(self.run_dir / RING_FILE)
        self.catalog = CatalogReader(self.run_dir / CATALOG_FILE)
        self.latest = LatestReader(self.run_dir / LATEST_FILE)
        self.counters = CountersReader(self.run_dir / COUNTERS_FILE)

    def header(self) -> Header | None:
        """Return the ring's header (None before the first sampler created it)."""
        return self.ring.header()

    def latest_sample(self) -> Sample | None:
        """Return the newest sample with every sensor's metadata (None before the first)."""
        latest = self.latest.read()
        if latest is None:
            return None
        sensors = self.catalog.current().sensors  # written before the readings that use it
        pairs = tuple((sensors[sid], reading) for sid, reading in latest.readings if sid in sensors)
        return Sample(latest.seq, latest.sampled_at, pairs)

    def window(self, sensor_ids: list[str] | None, first_seq: int, last_seq: int | None = None) -> Series | None:
        """Copy samples first_seq..last_seq of some sensors (all with a column when None)."""
        columns = self.catalog.current().columns
        if sensor_ids is not None:
            columns = {sid: columns[sid] for sid in sensor_ids if sid in columns}
        return self.ring.window(columns, first_seq, last_seq)

    def sampler_pid(self) -> int | None:
        """Return the live sampler's pid (0 if it has not written it yet), None when none is alive."""
        return sampler_pid(self.run_dir, LOCK_FILE)
