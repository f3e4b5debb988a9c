"""A worker's side of the store: every reader, safe to share among its threads."""

from __future__ import annotations

from pathlib import Path

from ..model import Sample
from . import APPLIED_FILE, CATALOG_FILE, CHIPS_FILE, COUNTERS_FILE, LATEST_FILE, LOCK_FILE, RING_FILE
from .applied import AppliedReader
from .catalog import CatalogReader
from .chips import ChipsReader
from .counters import CountersReader
from .files import Refusals
from .latest import LatestReader
from .liveness import Liveness, sampler_liveness
from .ring import Header, RingReader, Series


class StoreReader:
    """A worker's side of the store: every reader, safe to share among its threads."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.ring = RingReader(self.run_dir / RING_FILE)
        self.catalog = CatalogReader(self.run_dir / CATALOG_FILE)
        self.latest = LatestReader(self.run_dir / LATEST_FILE)
        self.counters = CountersReader(self.run_dir / COUNTERS_FILE)
        self.chips = ChipsReader(self.run_dir / CHIPS_FILE)
        self.applied = AppliedReader(self.run_dir / APPLIED_FILE)
        self._liveness_refusals = Refusals()  # the lock's record is read at every /readyz

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
        liveness = self.sampler_liveness()
        return None if liveness is None else liveness.pid

    def sampler_liveness(self) -> Liveness | None:
        """Return the live sampler's pid and when it published its newest sample; None when none is alive."""
        return sampler_liveness(self.run_dir, LOCK_FILE, self._liveness_refusals)
