"""Small files replaced whole: written atomically by their one owner, read by anyone at any time."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FileIdentity = tuple[int, int, int]  # inode, modification time (ns), size


def write_atomically(path: Path, data: bytes) -> None:
    """Replace the file at path with data: a reader sees the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


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
