"""A history answer before it is rendered: its parts, its point times, and its values on demand.

Values are made a batch of sensors (JSON) or a stretch of points (CSV) at a time, so an answer
of thousands of sensors never sits whole in a worker's memory. The ring is copied once, up front
(its size is bounded by the configuration, as before the history on disk), so that a writer
lapping this reader is a 503 before the first byte, not a broken answer.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..store.reader import StoreReader
from ..store.ring import Series
from .history_points import (
    RING,
    TIER_WIDTHS,
    Columns,
    Part,
    Tiers,
    aggregate_buckets,
    aggregate_ring,
    bucket_range,
    means,
    plan,
)
from .history_query import HistoryQuery


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
        fold = getattr(self.tiers, "fold", None)
        if fold is None:  # a reader without the fast path (a test's fake): from its buckets
            return aggregate_buckets(part, times, self.tiers.buckets(part.source, list(ids), start, end), ids)
        folded = fold(part.source, list(ids), start, end, times[0], part.step, len(times))
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
