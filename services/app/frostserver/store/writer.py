"""The sampler's side of the store: a writer for each file of the run directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import APPLIED_FILE, CATALOG_FILE, CHIPS_FILE, COUNTERS_FILE, LATEST_FILE, RING_FILE
from .applied import AppliedWriter
from .catalog import CatalogWriter
from .chips import ChipsWriter
from .counters import CountersWriter
from .latest import LatestWriter
from .ring import RingWriter


@dataclass
class StoreWriter:
    """The sampler's side of the store: a writer for each file."""

    ring: RingWriter
    catalog: CatalogWriter
    latest: LatestWriter
    counters: CountersWriter
    chips: ChipsWriter
    applied: AppliedWriter

    @classmethod
    def open(cls, run_dir: Path, capacity: int, columns: int, interval: float) -> StoreWriter:
        """Continue the store in run_dir if it has this shape, else start it afresh."""
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        ring = RingWriter(run_dir / RING_FILE, capacity, columns, interval)
        catalog = CatalogWriter(run_dir / CATALOG_FILE, columns, keep=not ring.recreated)
        return cls(
            ring,
            catalog,
            LatestWriter(run_dir / LATEST_FILE),
            CountersWriter(run_dir / COUNTERS_FILE),
            ChipsWriter(run_dir / CHIPS_FILE),
            AppliedWriter(run_dir / APPLIED_FILE),
        )

    def close(self) -> None:
        self.ring.close()
