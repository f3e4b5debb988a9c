"""notifier.json: what the notifier process tells the workers (for /metrics and /api/v1/alerts).

The notifier is its one writer (encode); the workers decode the same NotifierStatus (decode). It
lives in the run directory and lasts as long as the container.

    {"version": 1, "targets": 2, "unusable": 0, "results": {"sent": 5, "failed": 1, "dropped": 0}}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..codec import Damaged, decode_document, encode_document
from ..store.files import FileIdentity

NOTIFIER_FILE = "notifier.json"
VERSION = 1
WHAT = "the notifier's counters"
# Outcomes of one attempt to send one message to one target: sent; failed (it will be tried
# again); dropped (given up after the last retry).
RESULTS = ("sent", "failed", "dropped")


@dataclass
class NotifierStatus:
    """The notifier's counters: the notifier counts into one, readers get one decoded (zeros before any)."""

    targets: int = 0
    unusable: int = 0  # targets Apprise cannot use (an unknown service, a malformed URL)
    results: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESULTS, 0))


def encode(status: NotifierStatus) -> bytes:
    """Return notifier.json's bytes."""
    return encode_document(VERSION, status)


def decode(data: bytes) -> NotifierStatus:
    """Return the NotifierStatus a notifier.json holds; raise codec.Refused for another version or a damaged file."""
    status: NotifierStatus = decode_document(NotifierStatus, data, VERSION, WHAT)
    if set(status.results) != set(RESULTS):
        raise Damaged(WHAT, f"its results are {sorted(status.results)}, not {list(RESULTS)}")
    return status


def decode_status(_identity: FileIdentity | None, data: bytes) -> NotifierStatus:
    """Decode notifier.json for its readers (store.files.DecodedFile)."""
    return decode(data)
