"""The plan of a history answer: which source answers which stretch of the range, at which step.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from .buckets import TIER_SECONDS

RING = "ring"
# Each tier's bucket width, finest first; read-only, as every module-level constant.
TIER_WIDTHS: Mapping[str, float] = MappingProxyType({name: float(seconds) for name, seconds in TIER_SECONDS.items()})


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


def bucket_range(part: Part, times: Sequence[float]) -> tuple[float, float]:
    """Return the [start, end) of the bucket starts to read for the points at `times` of a part."""
    first, last = part.bounds()
    if not times:
        return first, first
    return max(first, times[0]), min(last, times[-1] + part.step)
