"""Small files replaced whole: written atomically by their one owner, read by anyone at any time.

Each file has a typed codec beside its writer (codec.py says what they share); a reader that
polls a file reads it through DecodedFile, which decodes each version once and says once when it
refuses one (of another version, or damaged) rather than at every poll.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from ..codec import Refused
from ..logs import RepeatLimiter

log = logging.getLogger("frostserver.store")

FileIdentity = tuple[int, int, int]  # inode, modification time (ns), size


def write_atomically(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace the file at path with data: a reader sees the old file or the new one, never half.

    `durable`: also on disk before returning (fsync of the file, then of its directory), for a
    file on a volume that must survive a power cut; a tmpfs needs none.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        # A full disk (ENOSPC, often only at close) or a failed rename: no half-written temp file
        # is left to pile up beside the file, one per process that tried.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def identity_of(path: Path) -> FileIdentity | None:
    """Return what tells one version of a file from the next (every replacement is a new inode)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def read_bytes(path: Path) -> bytes | None:
    """Return a file's bytes, or None when it is missing or unreadable."""
    try:
        return path.read_bytes()
    except OSError:
        return None


class Refusals:
    """Say that a reader refused a file, once per file and kind of refusal every 5 minutes.

    Readers poll (a worker's /metrics, /readyz, the notifier every second): a refused file would
    otherwise fill the log with the same line.
    """

    def __init__(self, logger: logging.Logger = log):
        self._limiter = RepeatLimiter(logger)

    def say(self, path: Path, error: Refused) -> None:
        """Log why the file at `path` is refused (rate-limited)."""
        self._limiter.error("%s: %s; ignored until its writer replaces it", path, error, key=(str(path), type(error)))


Decoded = TypeVar("Decoded")


class DecodedFile(Generic[Decoded]):
    """A file its owner replaces whole, decoded once per version for every thread that reads it.

    A version the decoder refuses (codec.Refused) is said once and skipped: readers keep the last
    version they decoded (the empty one if none) until the owner replaces the file.
    """

    def __init__(self, path: Path, decode: Callable[[FileIdentity | None, bytes], Decoded], empty: Decoded):
        self.path = Path(path)
        self._decode = decode  # (the version's identity, its bytes) -> what readers get; raises Refused
        self._empty = empty  # what readers get before the first version
        self._current: tuple[FileIdentity | None, Decoded] = (None, empty)  # replaced whole: no lock
        self.refusals = Refusals()

    def identity(self) -> FileIdentity | None:
        """Return what tells this version of the file from the next (None: none yet)."""
        return identity_of(self.path)

    def current(self) -> Decoded:
        """Return the newest version, decoded (the empty one before the owner wrote any)."""
        identity = identity_of(self.path)
        known, decoded = self._current
        if identity == known:
            return decoded
        data = read_bytes(self.path)
        if data is None:
            return decoded if identity is not None else self._empty  # being replaced: keep the last one
        try:
            decoded = self._decode(identity, data)
        except Refused as error:
            self.refusals.say(self.path, error)
        # A refused version is remembered too: it is not read again until it is replaced.
        self._current = (identity, decoded)
        return decoded
