"""A history query once its parameters are checked: a range, the width of its points, its sensors.

Without an asked step, a range the RAM ring spans is answered raw (every sample as it was taken)
and any other in about DEFAULT_POINTS points of a round step (answer_step). An answer has at most
MAX_POINTS points per sensor. Reading the query string (its text, its errors naming the parameter,
JSON or CSV) is the HTTP side's: http/history_params.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_POINTS = 10_000  # per sensor and answer: the stated cap (README, openapi.json)
DEFAULT_POINTS = 1000  # about this many points per sensor when no step is asked

# Default steps: round numbers of seconds, minutes, hours, then whole days.
NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


@dataclass(frozen=True)
class Limits:
    """What the device can answer: its sampling interval, the ring's span and the longest history."""

    interval: float  # s between samples
    ring_seconds: float  # what the RAM ring spans ([sampling] history)
    longest_seconds: float  # the longest `seconds` accepted: the ring's, or the history on disk's
    newest: float  # the newest sample's time (now, before the first sample): the default `to`


@dataclass(frozen=True)
class HistoryQuery:
    """A checked history query."""

    start: float
    end: float
    step: float | None  # None: raw samples (a range the ring spans, no step asked)
    sensors: tuple[str, ...] | None  # None: every sensor

    @property
    def seconds(self) -> float:
        """Return the range's length: to - from, to the millisecond (as both are)."""
        return round(self.end - self.start, 3)


def default_step(seconds: float) -> float:
    """Return the round step that gives about DEFAULT_POINTS points over `seconds`."""
    wanted = seconds / DEFAULT_POINTS
    for step in NICE_STEPS:
        if step >= wanted:
            return float(step)
    return math.ceil(wanted / 86400) * 86400.0


def answer_step(start: float, end: float, asked: float | None, limits: Limits) -> float | None:
    """Return the width of the answer's points: the step asked, else None (raw) or a default step."""
    # Raw only where the ring can hold the whole range; anything older or longer is aggregated.
    if asked is None and (end - start > limits.ring_seconds or start < limits.newest - limits.ring_seconds):
        return max(default_step(end - start), limits.interval)
    return asked


def point_count(start: float, end: float, step: float) -> int:
    """Return how many points of `step` seconds [start, end] has, both ends included."""
    return math.floor((end - start) / step) + 1
