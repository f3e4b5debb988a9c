"""Helpers for the history's unit tests: sensors, samples, a fake monotonic clock, a writer, the reference fold."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path

from frostserver.history import Bucket
from frostserver.history.buckets import TIER_SECONDS
from frostserver.history.writer import HistoryWriter
from frostserver.model import Reading, Sensor

DAY = 86400
T0 = 1_700_000_000 // 3600 * 3600  # a whole hour, 2023-11-14


def sensor(sensor_id: str, ignored: bool = False) -> Sensor:
    chip, channel = sensor_id.split("/")
    return Sensor(sensor_id, chip, chip.split("-")[0], channel, "temperature", channel, "°C", ignored=ignored)


def sample(**values: float | None | tuple[float | None, str]) -> list[tuple[Sensor, Reading]]:
    """sample(temp1=45.0, temp2=(None, "error")): readings of chip-isa-0000/<name>."""
    pairs = []
    for name, value in values.items():
        number, status = value if isinstance(value, tuple) else (value, "ok")
        pairs.append((sensor(f"chip-isa-0000/{name}"), Reading(number, status)))
    return pairs


class FakeMonotonic:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Feeder:
    """Drive a HistoryWriter with samples on a simulated clock, one sample every `step` seconds."""

    def __init__(self, directory: Path, tiers=None, **kwargs) -> None:
        self.monotonic = FakeMonotonic()
        self.writer = HistoryWriter(directory, tiers, monotonic=self.monotonic, **kwargs)

    def feed(self, at: float, pairs) -> None:
        self.writer.observe(at, pairs)

    def run(self, start: float, seconds: float, step: float = 10.0, values=None) -> float:
        """Sample temp1 (and temp2) every `step` s for `seconds` from `start`; return the end time."""
        at = start
        while at < start + seconds:
            self.feed(at, values(at) if values else sample(temp1=20.0 + (at % 60) / 10, temp2=30.0))
            self.monotonic.now += step
            at += step
        return at


def fold_buckets(buckets: Mapping[str, Iterable[Bucket]], sensor_ids, start, end, origin, step, count):
    """Fold Buckets into `count` points `step` wide from `origin`, as HistoryReader.fold must: the reference.

    The slow, plain way (a Python object per bucket), kept here only: the tests check the reader's
    fold against it (test_history_fold.py), and fakes of the history's Tiers answer with it
    (test_history_api.py). Buckets that start in [start, end) count; each point holds (lowest min,
    highest max, sum of values, values counted), NaN, NaN, 0, 0 where no bucket had a value.
    """
    out = {}
    for sid in sensor_ids:
        low, high = array("d", [math.nan]) * count, array("d", [math.nan]) * count
        total, weight = array("d", [0.0]) * count, array("d", [0.0]) * count
        for bucket in buckets.get(sid, ()):
            if not start <= bucket.start < end:
                continue
            slot = int((bucket.start - origin) // step)
            if not 0 <= slot < count or bucket.count <= 0 or bucket.mean is None:
                continue
            if bucket.min is not None and not bucket.min >= low[slot]:
                low[slot] = bucket.min
            if bucket.max is not None and not bucket.max <= high[slot]:
                high[slot] = bucket.max
            total[slot] += bucket.mean * bucket.count
            weight[slot] += bucket.count
        out[sid] = (low, high, total, weight)
    return out
