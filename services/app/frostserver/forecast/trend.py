"""A robust straight-line trend: the Theil-Sen estimator over (time, value) points.

The slope is the median of the slopes between every pair of points, so a gust, a spike or a
sensor's odd reading moves it little (it tolerates up to 29 % of the points being wild); the level
is the median of where each point says the line is at a given time. At 30 points that is 435
slopes: well under a millisecond.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def theil_sen(points: Sequence[tuple[float, float]], at: float) -> tuple[float, float] | None:
    """Return (slope per second, the line's value at `at`), or None with fewer than two distinct times."""
    slopes = [
        (v2 - v1) / (t2 - t1) for index, (t1, v1) in enumerate(points) for t2, v2 in points[index + 1 :] if t2 != t1
    ]
    if not slopes:
        return None
    slope = statistics.median(slopes)
    level = statistics.median(value + slope * (at - time) for time, value in points)
    return slope, level
