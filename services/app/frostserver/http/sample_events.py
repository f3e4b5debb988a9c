"""This worker's samples as Server-Sent Events: encoded once, cached, and a watcher that wakes the streams.

(The alerts' notifier, alerts/notifier.py, is another thing: a process that sends notifications.)

The stream (stream.py) waits on it and sends what it encodes; /metrics counts its open streams.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..model import OK
from ..store.reader import StoreReader
from ..store.ring import Header, Series
from .json_text import dumps

CACHED_EVENTS = 64  # recent events kept encoded per worker: live streams lag a sample or two at most


class SampleWatcher:
    """Wake this worker's streams when the shared store has a new sample.

    One thread per worker watches the store header (a memory read) and wakes every waiting
    stream, so N streams cost one watcher rather than N. Samples come on a fixed grid, so it
    sleeps until the next one is due and only then looks often: a few wake-ups per sample
    instead of a steady poll, and the event leaves within milliseconds of the sample.
    """

    LOOK_OFTEN = 0.005  # while a due sample is being taken
    LOOK_NOW_AND_THEN = 0.25  # before the first sample, or when the sampler is late or gone

    def __init__(self, store: StoreReader, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock
        self.condition = threading.Condition()
        self.seq = 0
        # The settings revision the sampler applies (store/applied.py), read once per sample for
        # every stream of this worker: a new one is a `settings` event on each.
        self.revision = 0
        self.streams = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._events: dict[int, bytes] = {}  # seq -> encoded event, the last CACHED_EVENTS
        self._cache_lock = threading.Lock()

    def _ensure_running(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="frost-sample-watcher", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            header = self.store.header()
            seq = header.seq if header else 0
            if seq != self.seq:
                applied = self.store.applied.current()
                with self.condition:
                    self.seq = seq
                    self.revision = 0 if applied is None else applied.revision
                    self.condition.notify_all()
            time.sleep(self.delay(header))

    def delay(self, header: Header | None) -> float:
        """Return how long to sleep before looking at the header again."""
        if header is None or header.seq == 0:
            return self.LOOK_NOW_AND_THEN
        # last_timestamp is when the newest sample started; the next starts one interval later.
        overdue = self.clock() - (header.last_timestamp + header.interval)
        if overdue < 0:
            # Never more than an interval: a wall clock set back (by NTP, by hand) after the newest
            # sample would otherwise put the streams to sleep for as long as it went back.
            return min(-overdue, header.interval)
        return self.LOOK_OFTEN if overdue < header.interval else self.LOOK_NOW_AND_THEN

    def open_stream(self, limit: int) -> bool:
        """Count one more open stream on this worker, unless `limit` are open already."""
        with self._lock:
            if self.streams >= limit:
                return False
            self.streams += 1
            return True

    def close_stream(self) -> None:
        with self._lock:
            self.streams -= 1

    def wait_for(self, after: int, timeout: float) -> int:
        """Block until a sample newer than `after` exists, or timeout; return the newest seq."""
        self._ensure_running()
        with self.condition:
            self.condition.wait_for(lambda: self.seq > after, timeout)
            return self.seq

    def newest(self) -> int:
        header = self.store.header()
        return header.seq if header else 0

    def events(self, first: int, last: int) -> list[bytes]:
        """Return the encoded events for samples first..last that the history still holds.

        Recent events are encoded once and cached for every stream of this worker; an older
        replay (a client resuming from far back) is read for that stream alone, outside the lock.
        """
        wanted = range(first, last + 1)
        with self._cache_lock:
            found = {seq: self._events[seq] for seq in wanted if seq in self._events}
            missing = [seq for seq in wanted if seq not in found]
            if missing and missing[0] >= last - CACHED_EVENTS:
                # The live case: the first stream to wake encodes the new sample, the rest reuse it.
                self._encode(found, missing[0], last)
                for seq, event in found.items():
                    self._events.setdefault(seq, event)
                for seq in [s for s in self._events if s < last - CACHED_EVENTS]:
                    del self._events[seq]
                missing = []
        if missing:
            self._encode(found, missing[0], last)
        # Built from this call's own results: another stream pruning the cache can't drop any.
        return [found[seq] for seq in wanted if seq in found]

    def _encode(self, found: dict[int, bytes], first: int, last: int) -> None:
        window = self.store.window(None, first, last)
        if window is None:
            return
        for offset, timestamp in enumerate(window.timestamps):
            seq = window.first_seq + offset
            if seq not in found:
                found[seq] = encode_event(seq, timestamp, window, offset)


def encode_event(seq: int, timestamp: float, window: Series, offset: int) -> bytes:
    """Encode one sample as an SSE `sample` event."""
    values, status = {}, {}
    for sid in window.values:
        code = window.status(sid, offset)
        if code is None:  # the sensor did not exist at that sample
            continue
        values[sid] = window.value(sid, offset)
        if code != OK:
            status[sid] = code
    data = dumps({"t": timestamp, "values": values, "status": status}, "the event stream")
    return f"id: {seq}\nevent: sample\ndata: {data}\n\n".encode()
