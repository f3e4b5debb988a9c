"""The MQTT publisher as the workers see it, for /metrics (exposition.py) and /readyz (health.py).

The publisher (frostserver/mqtt/) writes mqtt.json (mqtt/status.py); this reads it once per
version. MQTT is a part that can degrade without stopping sampling: /readyz says how it is in its
body and stays 200 whatever the broker does.
"""

from __future__ import annotations

from ..config import Settings
from ..mqtt.status import MQTT_FILE, MqttStatus, decode_status
from ..store.files import DecodedFile

CONNECTED, DISCONNECTED, OFF = "connected", "disconnected", "off"


class MqttStatusReader:
    """A worker's view of the publisher: configured or not, connected or not, what it published."""

    def __init__(self, settings: Settings):
        # What the worker's settings said at its start: until the publisher's first word. The
        # broker can be set or removed in the browser while it runs; the publisher follows that
        # and says in mqtt.json whether it has one (`enabled`), which wins once written.
        self.configured_at_start = settings.mqtt is not None and settings.mqtt.enabled
        self.file: DecodedFile[MqttStatus | None] = DecodedFile(settings.run_dir / MQTT_FILE, decode_status, None)

    @property
    def configured(self) -> bool:
        return self._configured(self.file.current())

    def _configured(self, status: MqttStatus | None) -> bool:
        return self.configured_at_start if status is None else status.enabled

    def current(self) -> MqttStatus | None:
        """Return the publisher's newest status (None: MQTT is off, or the publisher has written none yet)."""
        status = self.file.current()
        return status if status is not None and status.enabled else None

    def state(self) -> str:
        """Return "connected", "disconnected" (also before the publisher's first word) or "off"."""
        status = self.file.current()  # once: each look at the file is a stat, and this is per request
        if not self._configured(status):
            return OFF
        return CONNECTED if status is not None and status.connected else DISCONNECTED
