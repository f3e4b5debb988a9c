"""notifier.json: what the notifier process tells the workers (for /metrics and /api/v1/alerts).

The notifier is its one writer; it lives in the run directory and lasts as long as the container.

    {"pid": 42, "targets": 2, "unusable": 0, "results": {"sent": 5, "failed": 1, "dropped": 0},
     "sampling_stopped": null | <when the notifier told that sampling stopped>}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

NOTIFIER_FILE = "notifier.json"
# Outcomes of one attempt to send one message to one target: sent; failed (it will be tried
# again); dropped (given up after the last retry).
RESULTS = ("sent", "failed", "dropped")


@dataclass
class NotifierStatus:
    """The notifier's counters: the notifier counts into one, readers get one decoded (zeros before any)."""

    targets: int = 0
    unusable: int = 0  # targets Apprise cannot use (an unknown service, a malformed URL)
    results: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESULTS, 0))

    def encode(self) -> bytes:
        """Return notifier.json's bytes."""
        return json.dumps({"targets": self.targets, "unusable": self.unusable, "results": self.results}).encode()


def decode_status(_identity: object, document: Any) -> NotifierStatus:
    """Turn notifier.json into a NotifierStatus (for store.files.DecodedFile)."""
    if not isinstance(document, dict):
        return NotifierStatus()
    results = document.get("results")
    if not isinstance(results, dict):
        results = {}
    return NotifierStatus(
        targets=int(document.get("targets", 0)),
        unusable=int(document.get("unusable", 0)),
        results={name: int(results.get(name, 0)) for name in RESULTS},
    )
