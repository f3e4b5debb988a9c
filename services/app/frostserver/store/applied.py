"""settings.json: the device-wide settings the sampler applies, as of the settings store's revision it applied.

The sampler writes it when it has applied a new revision (settings/live.py) and published the
first sample under it, so a reader that sees revision n here finds the catalog already saying what
revision n says of the sensors. Workers render from it what is the device's rather than a sensor's
(the sensors document's `device` and `frost_threshold`, /metrics' frost_threshold_celsius, /readyz's
`settings`), and the event stream tells open dashboards of a new revision (a `settings` event).
No secret is here: notification targets stay in settings.db, which only the notifier reads for them.

    {"version": 1, "revision": 7, "device_name": "Greenhouse Pi", "units": "celsius",
     "frost_threshold": 0.5, "state": "ok", "message": null}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..codec import decode_document, encode_document
from .files import DecodedFile, FileIdentity, write_atomically

VERSION = 1


@dataclass(frozen=True)
class AppliedSettings:
    """What settings.json holds (the defaults: before the sampler wrote it)."""

    revision: int = 0
    device_name: str = "FrostServer"
    units: str = "celsius"
    frost_threshold: float = 0.0
    state: str = "ok"  # the settings store's (settings/live.py Status): ok, moved_aside, dropped, unavailable
    message: str | None = None


def encode(applied: AppliedSettings) -> bytes:
    """Return settings.json's bytes."""
    return encode_document(VERSION, applied)


def decode(data: bytes) -> AppliedSettings:
    """Return what a settings.json holds; raise codec.Refused for another version or a damaged file."""
    return decode_document(AppliedSettings, data, VERSION, "the applied settings")


class AppliedWriter:
    """Publish the settings the sampler applies; the sampler's alone."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.written: AppliedSettings | None = None

    def write(self, applied: AppliedSettings) -> None:
        """Replace settings.json, unless it already says this."""
        if applied != self.written:
            write_atomically(self.path, encode(applied))
            self.written = applied


class AppliedReader(DecodedFile[AppliedSettings | None]):
    """Read what the sampler applies from any thread, decoding each version once (None before the first)."""

    def __init__(self, path: Path):
        super().__init__(path, _decode_version, None)


def _decode_version(_identity: FileIdentity | None, data: bytes) -> AppliedSettings | None:
    return decode(data)
