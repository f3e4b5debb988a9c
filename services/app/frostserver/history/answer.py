"""A history answer before it is rendered: its plan (plan.py), its point times, and its values on demand.

Values are made a batch of sensors (JSON) or a stretch of points (CSV) at a time, so an answer
of thousands of sensors never sits whole in a worker's memory. The ring is copied once, up front
(its size is bounded by the configuration, as before the history on disk), so that a writer
lapping this reader is a 503 before the first byte, not a broken answer.

A tier's points are folded by the history reader (Tiers.fold: HistoryReader.fold, reader.py),
a ring part's here (aggregate_ring); both give each point's min, max and count-weighted mean.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import truediv
from typing import Protocol

from ..store.reader import StoreReader
from ..store.ring import Series
from .blocks import Folded
from .plan import RING, TIER_WIDTHS, Part, bucket_range, plan
from .query import HistoryQuery


class Tiers(Protocol):
    """What an answer reads of the history on disk: HistoryReader (reader.py) is the one implementation."""

    def fold(
        self, tier: str, sensor_ids: Sequence[str], start: float, end: float, origin: float, step: float, count: int
    ) -> dict[str, Folded]:
        """Fold the buckets of a tier that start in [start, end) into `count` points `step` wide from `origin`."""
        ...

    def span(self, tier: str) -> tuple[float, float] | None:
        """Return the oldest and the newest bucket start a tier holds, None when it holds none."""
        ...

    def sensor_ids(self) -> list[str]:
        """Return the ids of every sensor the tiers hold (vanished ones included)."""
        ...


@dataclass
class Columns:
    """Per sensor: min, max and mean at each point of one stretch (NaN: no value)."""

    low: dict[str, array[float]]
    high: dict[str, array[float]]
    mean: dict[str, array[float]]


class RingRewritten(Exception):
    """The sampler kept lapping this reader: answer a 503 that says to retry."""


@dataclass
class HistoryAnswer:
    """What a history request answers, the values made on demand."""

    query: HistoryQuery
    interval: float
    parts: list[Part]
    part_times: list[list[float]]
    sensor_ids: list[str]
    ring: Series | None
    tiers: Tiers | None
    timestamps: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.timestamps = [t for times in self.part_times for t in times]

    @property
    def raw(self) -> bool:
        """Tell whether every point is a sample as it was taken (today's shape of the answer)."""
        return all(part.raw for part in self.parts)

    def columns(self, ids: Sequence[str]) -> Columns:
        """Return every point of some sensors, all parts joined."""
        joined = Columns({}, {}, {})
        raw = self.raw
        for sid in ids:
            if raw:  # a sample's min, max and mean are its value: one column, not three copies
                joined.low[sid] = joined.high[sid] = joined.mean[sid] = array("d")
            else:
                joined.low[sid], joined.high[sid], joined.mean[sid] = array("d"), array("d"), array("d")
        for part, times in zip(self.parts, self.part_times, strict=True):
            piece = self.part_columns(part, times, ids)
            for sid in ids:
                joined.mean[sid].extend(piece.mean[sid])
                if not raw:
                    joined.low[sid].extend(piece.low[sid])
                    joined.high[sid].extend(piece.high[sid])
        return joined

    def part_columns(self, part: Part, times: Sequence[float], ids: Sequence[str]) -> Columns:
        """Return the points at `times` (of `part`) of some sensors."""
        if part.source == RING:
            if self.ring is None:
                return _nulls(len(times), ids)
            return aggregate_ring(part, times, self.ring, ids)
        if self.tiers is None or not times:
            return _nulls(len(times), ids)
        start, end = bucket_range(part, times)
        folded = self.tiers.fold(part.source, list(ids), start, end, times[0], part.step, len(times))
        out = Columns({}, {}, {})
        for sid in ids:
            low, high, total, weight = folded[sid]
            out.low[sid], out.high[sid], out.mean[sid] = low, high, means(total, weight)
        return out


def _nulls(count: int, ids: Sequence[str]) -> Columns:
    nans = array("d", [math.nan]) * count
    return Columns(dict.fromkeys(ids, nans), dict.fromkeys(ids, nans), dict.fromkeys(ids, nans))


def build_answer(query: HistoryQuery, interval: float, store: StoreReader, tiers: Tiers | None) -> HistoryAnswer:
    """Plan a history answer and copy what it needs of the ring; raise RingRewritten when lapped."""
    header = store.header()
    stamps = None
    if header is not None and header.seq > 0:
        stamps = store.window([], header.seq - header.capacity + 1, header.seq)
        if stamps is None:
            raise RingRewritten()
    ring_oldest = stamps.timestamps[0] if stamps is not None and stamps.timestamps else None
    tier_oldest: dict[str, float | None] = {}
    if tiers is not None and query.step is not None:
        for tier in TIER_WIDTHS:
            span = tiers.span(tier)
            tier_oldest[tier] = None if span is None else span[0]
    parts = plan(query.start, query.end, query.step, interval, ring_oldest, tier_oldest)
    ids = list(query.sensors) if query.sensors is not None else default_sensor_ids(store, tiers, parts)
    ring = None
    ring_parts = [part for part in parts if part.source == RING]
    if header is not None and stamps is not None and ring_parts:  # stamps: the ring holds samples
        # Copy only the samples the ring parts need (a minute of a 15-minute ring, say): every
        # sample at or after the first one in their bounds, whatever the clock did in between.
        begin = min(part.bounds()[0] for part in ring_parts)
        index = next((i for i, t in enumerate(stamps.timestamps) if t >= begin), len(stamps.timestamps))
        ring = store.window(ids, stamps.first_seq + index, header.seq)
        if ring is None:
            raise RingRewritten()
    ring_timestamps = ring.timestamps if ring is not None else array("d")
    part_times = [part.times(ring_timestamps) for part in parts]
    return HistoryAnswer(query, interval, parts, part_times, ids, ring, tiers)


def default_sensor_ids(store: StoreReader, tiers: Tiers | None, parts: Sequence[Part]) -> list[str]:
    """Return every sensor with a history: those the ring has a column for, then vanished ones the tiers hold."""
    catalog = store.catalog.current()
    ids = list(catalog.columns)
    if tiers is not None and any(part.source != RING for part in parts):
        known = set(ids)
        ignored = {sid for sid, sensor in catalog.sensors.items() if sensor.ignored}
        ids += [sid for sid in tiers.sensor_ids() if sid not in known and sid not in ignored]
    return ids


def known_sensor_ids(store: StoreReader, tiers: Tiers | None) -> set[str]:
    """Return the ids a request may name: this device's sensors, and vanished ones the tiers still hold."""
    sensors = store.catalog.current().sensors
    known = {sid for sid, sensor in sensors.items() if not sensor.ignored}
    if tiers is not None:
        known.update(sid for sid in tiers.sensor_ids() if sid not in sensors or not sensors[sid].ignored)
    return known


def aggregate_ring(part: Part, times: Sequence[float], window: Series, ids: Iterable[str]) -> Columns:
    """Return a ring part's points for `ids` from a copy of the ring (ids it lacks: all NaN)."""
    count = len(times)
    out = Columns({}, {}, {})
    stamps = window.timestamps
    if part.raw:
        index = {t: row for row, t in enumerate(stamps)}
        rows = [index[t] for t in times]
        # Consecutive samples (the usual case) are one slice of each column: no Python float per value.
        span = slice(rows[0], rows[-1] + 1) if rows and rows == list(range(rows[0], rows[-1] + 1)) else None
        for sid in ids:
            values = window.values.get(sid)
            if values is None:
                column = array("d", [math.nan]) * count
            elif span is not None:
                column = values[span]
            else:
                column = array("d", (values[r] for r in rows))
            out.low[sid] = out.high[sid] = out.mean[sid] = column
        return out
    first, last = part.bounds()
    slots = [(row, int((t - part.start) // part.step)) for row, t in enumerate(stamps) if first <= t < last]
    slots = [(row, slot) for row, slot in slots if 0 <= slot < count]
    for sid in ids:
        values = window.values.get(sid)
        low, high, total, weight = _empty(count)
        if values is not None:
            for row, slot in slots:
                value = values[row]
                if value != value:  # NaN: no value at that sample
                    continue
                if not value >= low[slot]:
                    low[slot] = value
                if not value <= high[slot]:
                    high[slot] = value
                total[slot] += value
                weight[slot] += 1
        out.low[sid], out.high[sid], out.mean[sid] = low, high, means(total, weight)
    return out


def _empty(count: int) -> tuple[array[float], array[float], array[float], array[float]]:
    nans = array("d", [math.nan]) * count
    return nans, array("d", nans), array("d", [0.0]) * count, array("d", [0.0]) * count


def means(total: array[float], weight: array[float]) -> array[float]:
    """Return each point's mean: its sum over its count (NaN where it counted nothing)."""
    if len(total) != len(weight):
        raise ValueError(f"{len(total)} sums for {len(weight)} counts")
    # One C loop over the points (no Python per point): the points that counted nothing, usually
    # few, are found with array.index, divided by 1 and made NaN afterwards.
    empty = _zeros(weight)
    if empty:
        weight = array("d", weight)
        for point in empty:
            weight[point] = 1.0
    out = array("d", map(truediv, total, weight))
    for point in empty:
        out[point] = math.nan
    return out


def _zeros(values: array[float]) -> list[int]:
    """Return the indices of the zeros in values."""
    found: list[int] = []
    try:
        while True:
            found.append(values.index(0.0, found[-1] + 1 if found else 0))
    except ValueError:
        return found
