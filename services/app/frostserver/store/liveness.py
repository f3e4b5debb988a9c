"""Whether the sampler process is alive: it holds an exclusive lock on sampler.lock while it runs.

The kernel drops the lock the moment the process exits, however it exits (even SIGKILL), so a
worker's /readyz judges the sampler by its liveness, not by the age of the newest sample. The lock
also keeps a second sampler from writing the same store.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


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
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        """Give the lock up (exiting does it too)."""
        os.close(self._fd)


def sampler_pid(run_dir: Path, name: str = "sampler.lock") -> int | None:
    """Return the pid of the live sampler, or None when no process holds its lock."""
    try:
        fd = os.open(Path(run_dir) / name, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held exclusively: the sampler is alive
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
