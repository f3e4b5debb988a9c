"""Aggregate samples into minute buckets in memory, as the sampler takes them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ..model import Reading, Sensor
from .buckets import STATUS_CODES, WORST_CODE

MINUTE = 60


@dataclass(slots=True)
class Aggregate:
    """One sensor's samples in one bucket so far: what a row of a tier holds."""

    low: float | None = None
    high: float | None = None
    total: float = 0.0
    count: int = 0  # samples with a value
    worst: int = 0  # index in model.STATUSES

    def add(self, value: float | None, status: int) -> None:
        """Count one sample."""
        if status > self.worst:
            self.worst = status
        if value is None or not math.isfinite(value):
            return
        if self.low is None or value < self.low:
            self.low = value
        if self.high is None or value > self.high:
            self.high = value
        self.total += value
        self.count += 1

    def row(self) -> tuple[float | None, float | None, float, int, int]:
        """Return (low, high, total, count, worst), a row's values."""
        return self.low, self.high, self.total, self.count, self.worst


MinuteRows = dict[str, Aggregate]  # by sensor id


class MinuteAggregator:
    """Keep the open minute's aggregates; hand over each minute once a sample lands in another.

    Minutes are keyed by the time the sampler's clock gave: a clock that jumps closes the open
    minute like any new minute does, and a minute seen again (a clock set back) is written again,
    the database merging both (see writer.py).
    """

    def __init__(self) -> None:
        self.open_start: int | None = None
        self.open: MinuteRows = {}
        self.closed: list[tuple[int, MinuteRows]] = []  # oldest first, not yet written

    def add(self, sampled_at: float, pairs: Iterable[tuple[Sensor, Reading]]) -> None:
        """Count one sample of every sensor (sensors lm-sensors ignores are left out)."""
        start = int(sampled_at // MINUTE) * MINUTE
        if start != self.open_start:
            self.close_open()
            self.open_start = start
        rows = self.open
        for sensor, reading in pairs:
            if sensor.ignored:
                continue
            aggregate = rows.get(sensor.id)
            if aggregate is None:
                aggregate = rows[sensor.id] = Aggregate()
            aggregate.add(reading.value, STATUS_CODES.get(reading.status, WORST_CODE))

    def close_open(self) -> None:
        """Hand the open minute over to `closed` (the writer takes it from there)."""
        if self.open_start is not None and self.open:
            self.closed.append((self.open_start, self.open))
        self.open_start, self.open = None, {}
