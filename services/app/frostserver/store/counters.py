"""The sampler's counters (samples, their durations, read errors, ...), in counters.json.

Workers render /metrics, but these counters live in the sampler process: it replaces the file
after every sample (CountersWriter); workers read it when it changed (CountersReader).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .files import FileIdentity, identity_of, read_json, write_atomically


class CountersWriter:
    """Publish the sampler's counters; the sampler's alone."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def write(self, counters: dict[str, Any]) -> None:
        """Replace counters.json."""
        write_atomically(self.path, json.dumps(counters, allow_nan=False, separators=(",", ":")).encode())


class CountersReader:
    """Read the sampler's newest counters from any thread, decoding each version once."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._cached: tuple[FileIdentity | None, dict[str, Any]] = (None, {})

    def identity(self) -> FileIdentity | None:
        """Return what tells one version of the counters from the next."""
        return identity_of(self.path)

    def read(self) -> dict[str, Any]:
        """Return the newest counters ({} before the sampler's first sample)."""
        identity = identity_of(self.path)
        cached = self._cached
        if identity is None:
            return {}
        if identity != cached[0]:
            document = read_json(self.path)
            if not isinstance(document, dict):
                return cached[1]  # being replaced: the last ones
            self._cached = cached = (identity, document)
        return cached[1]
