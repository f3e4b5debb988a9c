"""How many history answers a worker makes at once: a few, each bounded in memory; others wait a little, then a 503.

Each answer holds at most a bounded amount of memory while it is made and sent (history_render.py,
history/reader.py), and the gate bounds how many are made at once in a worker, so that a worker's
memory has a ceiling whatever the requests ask: README.md ("Memory per answer") adds it up against
the app container's limit. A request that finds every turn taken waits up to `wait` seconds for
one (an ordinary answer takes a fraction of a second), then is refused with a JSON 503 and
Retry-After, never queued without end (each waiting request holds one of the worker's threads).

One gate per app (create_app puts it in the app's context, context.py), not per module:
two apps in one process (the tests make many) each have their own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

ANSWERS_AT_ONCE = 2  # per worker: a worker has one core's worth of GIL, two keep it busy while one sends
WAIT_SECONDS = 2.0  # for a turn, before the 503
RETRY_AFTER_SECONDS = 2  # what the 503 tells the client to wait


class HistoryGate:
    """At most `at_once` history answers being made at once; safe across a worker's threads."""

    def __init__(self, at_once: int = ANSWERS_AT_ONCE, wait: float = WAIT_SECONDS):
        if at_once < 1:
            raise ValueError(f"a history gate needs at least one turn, got {at_once}")
        self.at_once = at_once
        self.wait = wait
        self.taken = 0  # turns held now
        self.refused = 0  # requests refused since the app started
        self._free = threading.Semaphore(at_once)
        self._lock = threading.Lock()

    def enter(self) -> Turn | None:
        """Return a turn (give it back with its close()), or None when none came free within `wait` seconds."""
        if not self._free.acquire(timeout=self.wait):
            with self._lock:
                self.refused += 1
            return None
        with self._lock:
            self.taken += 1
        return Turn(self)

    def _give_back(self) -> None:
        with self._lock:
            self.taken -= 1
        self._free.release()


class Turn:
    """One answer's turn, given back exactly once: when its answer ends, or when the client leaves."""

    def __init__(self, gate: HistoryGate):
        self._gate: HistoryGate | None = gate
        self._lock = threading.Lock()

    def stream(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        """Yield the answer's pieces, giving the turn back when they end."""
        try:
            yield from pieces
        finally:
            self.close()

    def close(self) -> None:
        """Give the turn back if it is still held."""
        with self._lock:
            gate, self._gate = self._gate, None
        if gate is not None:
            gate._give_back()
