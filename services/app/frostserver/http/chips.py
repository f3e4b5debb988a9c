"""The API's chips document: every hwmon chip's names and the settings of its channels without a reading.

`GET /api/v1/chips` answers it. A channel that holds settings but no reading (asus-nb-wmi's lone
pwm1_enable, a Super I/O's fan curve without pwm1) is no sensor: it would have no value to show.
The document changes only when the sampler rewrites chips.json (store/chips.py), so each worker
renders it once per version and shares the bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from ..model import Chip
from ..store.chips import ChipsReader
from ..store.files import FileIdentity
from .json_text import dumps


def chips_document(chips: Iterable[Chip]) -> dict[str, Any]:
    """Return the chips as the API shows them: by chip id, settings as raw sysfs numbers."""
    return {
        "chips": {
            chip.id: {
                "name": chip.name,
                "adapter": chip.adapter,
                "settings": {s.channel: dict(s.attributes) for s in chip.settings if s.attributes},
            }
            for chip in chips
        }
    }


class ChipDocuments:
    """Render the chips document at most once per version of chips.json."""

    def __init__(self, chips: ChipsReader):
        self.chips = chips
        self._rendered: tuple[FileIdentity | None, bytes] | None = None
        self._lock = threading.Lock()  # gthread: one render per version even when requests overlap

    def current(self) -> bytes:
        """Return the newest chips document (no chips before the sampler wrote them)."""
        with self._lock:
            current = self.chips.current()
            if self._rendered is None or self._rendered[0] != current.identity:
                body = dumps(chips_document(current.chips), "the chips document")
                self._rendered = (current.identity, body.encode())
            return self._rendered[1]
