"""Wait for something to become true: the one polling helper of the unit and integration tests.

A test on a shared 2-core machine may run several times slower than on a quiet one, so no test
judges how soon a thing happens (speed is measured by `make bench`): it waits for it, up to
PATIENCE, and fails saying what it waited for and the last error it saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

# s: the longest any test waits for a thing that does happen. Sized for the slowest wait among the
# tests (a fresh stack's Prometheus scraping and evaluating its rules, a sample of a hostile
# sensors.d under emulation: a minute or more on a busy machine), with room to spare. A passing
# test never waits this long, so a generous value costs nothing; only a broken one pays it.
# Playwright takes milliseconds: PATIENCE * 1000.
PATIENCE = 120.0

# What a predicate may raise while the thing is not there yet: a connection refused or reset
# (requests' errors are OSErrors), an answer that is not JSON yet, a key or an item not listed yet.
NOT_YET = (OSError, ValueError, LookupError)


def eventually(
    predicate: Callable[[], T],
    what: str,
    patience: float = PATIENCE,
    interval: float = 0.2,
    not_yet: tuple[type[BaseException], ...] = NOT_YET,
) -> T:
    """Call predicate until it returns a truthy value and return that value; fail after patience seconds.

    The pause between two calls starts at 10 ms and doubles up to `interval`, so that what is
    quick is seen at once and what is slow is not polled hard. An exception of `not_yet` counts
    as "not yet"; any other is raised at once. The failure names `what`, the last value and the
    last error.
    """
    deadline = time.monotonic() + patience
    pause = 0.01
    value: T | None = None
    error: BaseException | None = None
    while True:
        try:
            value = predicate()
        except not_yet as raised:
            error = raised
        else:
            if value:
                return value
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(pause, interval, left))
        pause *= 2
    shown = repr(value)
    if len(shown) > 500:
        shown = shown[:500] + "..."
    pytest.fail(f"waited {patience:g} s for {what}; last value {shown}, last error {error!r}")
