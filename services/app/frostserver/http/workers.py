"""Each Gunicorn worker's own counters (its open event streams), for whichever worker renders /metrics.

Every worker owns one file, workers/<pid>.json in the run directory, and rewrites it when its
counters change (WorkerPublisher); /metrics reads them all (read_worker_counters), removing the
files of workers that have died.

    {"version": 1, "pid": 42, "streams": 3}
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..codec import Refused, decode_document, encode_document
from ..store.files import Refusals, read_bytes, write_atomically

WORKERS_DIR = "workers"
VERSION = 1


@dataclass(frozen=True)
class WorkerCounters:
    """One Gunicorn worker's own counters."""

    pid: int = 0  # the worker's (set by the publisher)
    streams: int = 0  # event streams open on it


def encode(counters: WorkerCounters) -> bytes:
    """Return a workers/<pid>.json's bytes."""
    return encode_document(VERSION, counters)


def decode(data: bytes) -> WorkerCounters:
    """Return the WorkerCounters a workers/<pid>.json holds; raise codec.Refused for another version or damage."""
    return decode_document(WorkerCounters, data, VERSION, "a worker's counters")


def read_worker_counters(run_dir: Path, refusals: Refusals | None = None) -> dict[int, WorkerCounters]:
    """Return every live worker's published counters by pid, removing those of dead workers."""
    directory = Path(run_dir) / WORKERS_DIR
    workers: dict[int, WorkerCounters] = {}
    try:
        names = os.listdir(directory)
    except OSError:
        return workers
    for name in names:
        pid_text, _, extension = name.partition(".")
        if extension != "json" or not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if not _alive(pid):
            (directory / name).unlink(missing_ok=True)
            continue
        data = read_bytes(directory / name)
        if data is None:
            continue  # gone meanwhile
        try:
            workers[pid] = decode(data)
        except Refused as error:
            (refusals or Refusals()).say(directory / name, error)
    return workers


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's (never the case in the app's container)
        return True
    return True


class WorkerPublisher:
    """Publish this worker's own counters to the run directory when they change."""

    def __init__(self, run_dir: Path, counters: Callable[[], WorkerCounters], every: float = 1.0):
        self.run_dir = Path(run_dir)
        self.counters = counters
        self.every = every
        self._pid: int | None = None
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        """Start the publishing thread once per process (a no-op on every later call)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self.publish()
            threading.Thread(target=self._run, name="frost-worker-counters", daemon=True).start()

    def publish(self) -> WorkerCounters:
        current = self.counters()
        directory = self.run_dir / WORKERS_DIR
        try:
            directory.mkdir(exist_ok=True)
            write_atomically(directory / f"{os.getpid()}.json", encode(replace(current, pid=os.getpid())))
        except OSError:
            pass  # the run directory is the sampler's to create; the next change retries
        return current

    def _run(self) -> None:
        published = self.counters()
        while True:
            time.sleep(self.every)
            if self.counters() != published:
                published = self.publish()
