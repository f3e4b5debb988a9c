"""Small files replaced whole: written atomically by their one owner, read by anyone at any time."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

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


def read_json(path: Path) -> Any:
    """Return a file's JSON document, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


Decoded = TypeVar("Decoded")


class DecodedFile(Generic[Decoded]):
    """A JSON file its owner replaces whole, decoded once per version for every thread that reads it."""

    def __init__(self, path: Path, decode: Callable[[FileIdentity | None, Any], Decoded], empty: Decoded):
        self.path = Path(path)
        self._decode = decode  # (the version's identity, its document) -> what readers get
        self._empty = empty  # what readers get before the first version
        self._current: tuple[FileIdentity | None, Decoded] = (None, empty)  # replaced whole: no lock

    def identity(self) -> FileIdentity | None:
        """Return what tells this version of the file from the next (None: none yet)."""
        return identity_of(self.path)

    def current(self) -> Decoded:
        """Return the newest version, decoded (the empty one before the owner wrote any)."""
        identity = identity_of(self.path)
        known, decoded = self._current
        if identity == known:
            return decoded
        document = read_json(self.path)
        if document is None:
            return decoded if identity is not None else self._empty  # being replaced: keep the last one
        decoded = self._decode(identity, document)
        self._current = (identity, decoded)
        return decoded
