"""The sampler's counters (samples, their durations, read errors, ...), in counters.json.

Workers render /metrics and /readyz, but these counters live in the sampler process: it replaces
the file after every sample (CountersWriter); workers decode it once per version (CountersReader)
into the same Counters it wrote.

    {"version": 1, "pid": 42, "seq": 1234, "samples": 1234, ..., "hwmon": {...} | null,
     "history": {...} | null, "alert_journal": "ok"}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..codec import decode_document, encode_document
from .files import DecodedFile, FileIdentity, write_atomically

VERSION = 1


@dataclass(frozen=True)
class HwmonCounters:
    """The hwmon reader's own counters (hwmon/reader.py, ReaderStats)."""

    attribute_reads: int = 0  # sysfs reads issued
    slow_reads: int = 0  # reads slower than 50 ms
    timeouts: int = 0  # reads abandoned at the read deadline
    stuck_reads: int = 0  # abandoned reads still blocked in the kernel


@dataclass(frozen=True)
class HistoryCounters:
    """The history on disk as its writer tells it (history/writer.py)."""

    status: str  # "ok", or "degraded" while writing fails
    write_errors: int = 0
    pending_minutes: int = 0  # held in memory, not yet on disk
    dropped_minutes: int = 0  # given up while writing failed


@dataclass(frozen=True)
class Counters:
    """What the sampler counts about its work, as of one sample."""

    pid: int  # the sampler process that wrote them (/readyz: has this sampler sampled yet?)
    seq: int  # the sample they are as of
    samples: int  # taken by this sampler process
    durations_sum: float  # s
    duration_bounds: tuple[float, ...]  # the histogram's upper bounds, s
    duration_buckets: tuple[int, ...]  # samples per bound, not cumulative
    dropped_sensors: int = 0  # sensors the ring has no column for (FROST_MAX_SENSORS)
    source_failures: dict[str, int] = field(default_factory=dict)  # by source: samples in which it failed whole
    read_errors_by_chip: dict[str, int] = field(default_factory=dict)  # readings with status "error"
    hwmon: HwmonCounters | None = None  # None: no hwmon source
    history: HistoryCounters | None = None  # None: no history on disk
    alert_journal: str = "off"  # "ok", "degraded" while it cannot be written, "off" without alert rules


def encode(counters: Counters) -> bytes:
    """Return counters.json's bytes."""
    return encode_document(VERSION, counters)


def decode(data: bytes) -> Counters:
    """Return the Counters a counters.json holds; raise codec.Refused for another version or a damaged file."""
    return decode_document(Counters, data, VERSION, "the sampler's counters")


class CountersWriter:
    """Publish the sampler's counters; the sampler's alone."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def write(self, counters: Counters) -> None:
        """Replace counters.json."""
        write_atomically(self.path, encode(counters))


class CountersReader(DecodedFile[Counters | None]):
    """Read the sampler's newest counters from any thread, decoding each version once (None before any)."""

    def __init__(self, path: Path):
        super().__init__(path, _decode_version, None)


def _decode_version(_identity: FileIdentity | None, data: bytes) -> Counters | None:
    return decode(data)
