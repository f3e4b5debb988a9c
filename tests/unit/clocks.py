"""A wall clock for the app's tests: create_app(clock=...) takes it, the test sets the time."""
from __future__ import annotations

import time


class WallClock:
    """The real time until the test sets `now` (then `now`, until it is moved or set back to None)."""

    def __init__(self, now: float | None = None):
        self.now = now

    def __call__(self) -> float:
        return time.time() if self.now is None else self.now
