"""The points of a history answer: the RAM ring and the tiers on disk, merged and re-aggregated.

An answer is made of parts, oldest first, each from the finest source that holds its time: the
hour tier before the minute tier's oldest bucket, the minute tier before the ring's oldest sample,
the ring for the rest. A tier takes part only where it holds something older than the finer
sources (_covering): on a young history (or one just moved aside and started again) the hour
tier's oldest bucket is the hour of the minute tier's oldest minute, rolled up from those very
minutes, and the minutes answer alone (with nulls before their oldest), at their finer resolution.

A part's points are `step` wide (the asked step, rounded up to a multiple of its tier's bucket
width) and aligned to multiples of it; each boundary between two parts is a point boundary of
the coarser one, so no time is counted twice. A point holds the min, max and
count-weighted mean of the samples (or buckets) that start in it; none: null. A ring part whose
step is the sampling interval keeps the samples as they are (raw).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import truediv
from typing import Protocol

from ..history import Bucket
from ..store.ring import Series

RING = "ring"
TIER_WIDTHS = {"minute": 60.0, "hour": 3600.0}  # the history package's tiers, finest first


class Tiers(Protocol):
    """What the API reads of the history on disk (frostserver.history.HistoryReader)."""

    def buckets(
        self, tier: str, sensor_ids: Sequence[str] | None, start: float, end: float
    ) -> dict[str, list[Bucket]]: ...

    def span(self, tier: str) -> tuple[float, float] | None: ...

    def sensor_ids(self) -> list[str]: ...


@dataclass(frozen=True)
class Part:
    """A stretch of an answer from one source: points from `start` (aligned) until `end`."""

    source: str  # "ring", "minute" or "hour"
    start: float
    end: float  # exclusive, except for the newest part, which holds the sample taken at `end`
    step: float
    raw: bool  # ring samples as they are, at their own times
    newest: bool = True

    def grid(self) -> list[float]:
        """Return the start times of the part's points (of an aggregated part)."""
        if self.newest:
            count = math.floor((self.end - self.start) / self.step) + 1
        else:
            count = max(0, math.ceil((self.end - self.start) / self.step))
        return [self.start + i * self.step for i in range(count)]

    def bounds(self) -> tuple[float, float]:
        """Return [first, last) of the times whose samples or buckets belong to this part."""
        if not self.newest:
            return self.start, self.end
        return self.start, (math.nextafter(self.end, math.inf) if self.raw else self.grid()[-1] + self.step)

    def times(self, ring_timestamps: Sequence[float]) -> list[float]:
        """Return the times of the part's points: its samples' when raw, else its grid."""
        if not self.raw:
            return self.grid()
        first, last = self.bounds()
        return [t for t in ring_timestamps if first <= t < last]


@dataclass
class Columns:
    """Per sensor: min, max and mean at each point of one stretch (NaN: no value)."""

    low: dict[str, array[float]]
    high: dict[str, array[float]]
    mean: dict[str, array[float]]


def _floor(value: float, step: float) -> float:
    return math.floor(value / step) * step


def _ceil(value: float, step: float) -> float:
    return math.ceil(value / step) * step


def plan(
    start: float,
    end: float,
    step: float | None,
    interval: float,
    ring_oldest: float | None,
    tier_oldest: Mapping[str, float | None],
) -> list[Part]:
    """Split [start, end] into parts from the finest source holding each stretch, oldest first.

    `step` None: the ring only, raw. `ring_oldest`: the ring's oldest sample time (None: empty);
    `tier_oldest`: each tier's oldest bucket start (None: empty or no history on disk).
    """
    if step is None:
        return [Part(RING, start, end, interval, raw=True)]
    sources: list[tuple[str, float, float]] = []  # (source, oldest time held, part step)
    if ring_oldest is not None:
        sources.append((RING, ring_oldest, step))
    for tier, width in TIER_WIDTHS.items():
        oldest = tier_oldest.get(tier)
        if oldest is not None:
            sources.append((tier, oldest, max(width, _ceil(step, width))))
    if not sources:
        return [Part(RING, _floor(start, step), end, step, raw=False)]  # nothing held: nulls
    sources = _covering(sources)
    parts: list[Part] = []
    until = end
    for number, (source, oldest, part_step) in enumerate(sources):
        aligned_start = _floor(start, part_step)
        if number + 1 < len(sources) and aligned_start < oldest:
            # The coarser source takes what this one does not hold, up to one of its own point
            # boundaries; a range this source holds whole needs no coarser part.
            coarser_step = sources[number + 1][2]
            begin = max(aligned_start, _ceil(oldest, coarser_step))
        else:
            begin = aligned_start  # the coarsest source: nulls before it held anything
        if begin > until or (begin == until and parts):
            continue  # this source holds nothing of the range (the newest part holds `end` itself)
        raw = source == RING and part_step <= interval
        parts.append(Part(source, begin, until, part_step, raw, newest=not parts))
        until = begin
        if begin <= start:
            break
    parts.reverse()
    return parts


def _covering(sources: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Keep, finest first, each source that holds something older than every finer one kept.

    A tier holds what it was made from: the minutes, the samples (the ring's, and those from
    before the ring started again with its container), so a minute that starts before the ring's
    oldest sample may hold samples the ring does not; the hours, the minutes, so the hour holding
    the oldest minute holds nothing older, unless minutes of it were pruned, and then older hours
    are there too (hours are kept longer). A young history, or one just moved aside: its first
    hour was rolled up from the very minutes still held, and takes no part.
    """
    kept = [sources[0]]
    for number in range(1, len(sources)):
        source, oldest, _ = sources[number]
        finer, finer_oldest, _ = sources[number - 1]  # what this one was made from
        made_from = finer_oldest if finer == RING else _floor(finer_oldest, TIER_WIDTHS[source])
        if oldest < made_from and oldest < min(held for _, held, _ in kept):
            kept.append(sources[number])
    return kept


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


def aggregate_buckets(
    part: Part, times: Sequence[float], buckets: Mapping[str, list[Bucket]], ids: Iterable[str]
) -> Columns:
    """Return a tier part's points for `ids` from its buckets (a sensor without any: all NaN)."""
    count = len(times)
    origin, step = (times[0] if times else part.start), part.step
    first, last = part.bounds()
    out = Columns({}, {}, {})
    for sid in ids:
        low, high, total, weight = _empty(count)
        for bucket in buckets.get(sid, ()):
            if not first <= bucket.start < last:
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


def bucket_range(part: Part, times: Sequence[float]) -> tuple[float, float]:
    """Return the [start, end) of the bucket starts to read for the points at `times` of a part."""
    first, last = part.bounds()
    if not times:
        return first, first
    return max(first, times[0]), min(last, times[-1] + part.step)
