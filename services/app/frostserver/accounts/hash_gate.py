"""How many passwords a worker hashes at once: one, by default; others wait a little, then Busy (a 503).

A password hash is memory-hard on purpose (passwords.py: 12 MiB and tens of milliseconds each), so
it is also a way to exhaust a small board: fifty sign-ins at once would want 600 MiB. The gate
bounds what a worker spends on hashing whatever arrives: a request that finds every turn taken
waits up to `wait` seconds (a hash takes a fraction of a second, so a handful of people signing in
at once never notice), then is refused with Busy and Retry-After, never queued without end (each
waiting request holds one of the worker's threads). The dashboard and the API never wait for it:
they hash nothing.

One gate per app (create_app puts it in the app's context), not per module. The CLI hashes one
password and needs none (NoGate).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from .model import Busy

HASHES_AT_ONCE = 1  # per worker: two workers then hold 2 x 12 MiB for hashing at most
WAIT_SECONDS = 2.0  # for a turn, before Busy
RETRY_AFTER_SECONDS = 1  # what Busy tells the client to wait


class HashGate:
    """At most `at_once` hashes at once; safe across a worker's threads."""

    def __init__(self, at_once: int = HASHES_AT_ONCE, wait: float = WAIT_SECONDS):
        if at_once < 1:
            raise ValueError(f"a hash gate needs at least one turn, got {at_once}")
        self.at_once = at_once
        self.wait = wait
        self.refused = 0  # requests refused since the app started
        self._free = threading.BoundedSemaphore(at_once)
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Hold a turn for the block; raise Busy when none came free within `wait` seconds."""
        if not self._free.acquire(timeout=self.wait):
            with self._lock:
                self.refused += 1
            raise Busy(RETRY_AFTER_SECONDS)
        try:
            yield
        finally:
            self._free.release()


class NoGate(HashGate):
    """No bound: for the CLI, which hashes one password and has no other work to protect."""

    def __init__(self) -> None:
        super().__init__(at_once=1, wait=0.0)

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Always a turn."""
        yield
