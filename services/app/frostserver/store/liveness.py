"""Whether the sampler process is alive and sampling: it holds an exclusive lock on sampler.lock while
it runs, and writes there when it published its newest sample.

The kernel drops the lock the moment the process exits, however it exits (even SIGKILL), so a
worker's /readyz knows at once that no sampler runs. A sampler that lives but no longer samples
(stopped, deadlocked, stuck in a read) still holds the lock: the time of its newest sample, on the
monotonic clock every process of the machine shares, tells that (a wall clock set by NTP, or back
by hand, would make samples look old or new). The lock also keeps a second sampler from writing the
same store.

    b"1 <pid> <published>\\n"   version 1; published: CLOCK_MONOTONIC in ns, 20 digits (0: none yet)

The record keeps one length for the lock's life, rewritten in place with one pwrite per sample
(encode, decode: a Liveness). A record of another version, or damaged, is said once in a while
(workers poll it) and read as "alive, nothing known".
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..codec import Damaged, Refused, UnknownVersion
from .files import Refusals

VERSION = 1
WHAT = "the sampler's liveness record"


@dataclass(frozen=True)
class Liveness:
    """What sampler.lock says of the live sampler."""

    pid: int  # 0 if it has not written it yet
    published: float | None  # time.monotonic() when it published its newest sample; None: none yet

    def since_published(self, now: float) -> float | None:
        """Return the seconds since its newest sample at time.monotonic() `now`; None: none yet."""
        return None if self.published is None else max(0.0, now - self.published)


def encode(pid: int, published: float | None) -> bytes:
    """Return the lock file's record (fixed length for a given pid)."""
    return b"%d %d %020d\n" % (VERSION, pid, 0 if published is None else round(published * 1e9))


def decode(data: bytes) -> Liveness:
    """Return the record's Liveness; raise codec.Refused for a record of another version or damaged."""
    fields = data.split(b"\n", 1)[0].split(b" ")
    if not fields[0].isdigit():
        raise Damaged(WHAT, f"{data[:40]!r} is no record")
    if int(fields[0]) != VERSION:
        raise UnknownVersion(WHAT, int(fields[0]), VERSION)
    if len(fields) != 3 or not all(field.isdigit() for field in fields) or len(fields[2]) != 20:
        raise Damaged(WHAT, f"{data[:40]!r} is no record")
    published = int(fields[2])
    return Liveness(int(fields[1]), published / 1e9 if published else None)


class SamplerAlreadyRunning(Exception):
    """Another process holds the sampler's lock on this run directory."""


class SamplerLock:
    """Hold the sampler's lock for as long as this process samples; the sampler's alone."""

    def __init__(self, path: Path, wait: float = 2.0):
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # A worker's probe holds it shared for microseconds; another sampler holds it for good.
                if time.monotonic() > deadline:
                    holder = sampler_pid(self.path.parent, self.path.name)
                    os.close(self._fd)
                    raise SamplerAlreadyRunning(f"{self.path}: another sampler (pid {holder}) is running") from None
                time.sleep(0.01)
        self._pid = os.getpid()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, encode(self._pid, None), 0)

    def beat(self, now: float | None = None) -> None:
        """Record that a sample was published now (time.monotonic(), or `now` in tests)."""
        os.pwrite(self._fd, encode(self._pid, time.monotonic() if now is None else now), 0)

    def release(self) -> None:
        """Give the lock up (exiting does it too)."""
        os.close(self._fd)


def sampler_liveness(run_dir: Path, name: str = "sampler.lock", refusals: Refusals | None = None) -> Liveness | None:
    """Return what the live sampler's lock says, or None when no process holds it."""
    try:
        fd = os.open(Path(run_dir) / name, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held exclusively: the sampler is alive
            return _read(fd, Path(run_dir) / name, refusals or Refusals())
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read(fd: int, path: Path, refusals: Refusals) -> Liveness:
    # The sampler rewrites the record while we read it: two equal reads are not a torn one (a
    # rewrite comes once per sample; a read takes microseconds).
    previous = os.pread(fd, 64, 0)
    for _ in range(4):
        data = os.pread(fd, 64, 0)
        if data == previous:
            return _decode_or_nothing(data, path, refusals)
        previous = data
    # Rewritten at every read: the pid holds, the time is unsure.
    return Liveness(_decode_or_nothing(previous, path, refusals).pid, None)


def _decode_or_nothing(data: bytes, path: Path, refusals: Refusals) -> Liveness:
    if not data:  # locked, not written yet (the sampler truncates, then writes its first record)
        return Liveness(0, None)
    try:
        return decode(data)
    except Refused as error:
        refusals.say(path, error)
        return Liveness(0, None)


def sampler_pid(run_dir: Path, name: str = "sampler.lock") -> int | None:
    """Return the pid of the live sampler (0 if it has not written it yet), or None when none is alive."""
    liveness = sampler_liveness(run_dir, name)
    return None if liveness is None else liveness.pid
