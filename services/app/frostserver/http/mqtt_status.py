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
        self.configured = settings.mqtt is not None and settings.mqtt.enabled
        self.file: DecodedFile[MqttStatus | None] = DecodedFile(settings.run_dir / MQTT_FILE, decode_status, None)

    def current(self) -> MqttStatus | None:
        """Return the publisher's newest status (None: MQTT is off, or the publisher has written none yet)."""
        return self.file.current() if self.configured else None

    def state(self) -> str:
        """Return "connected", "disconnected" (also before the publisher's first word) or "off"."""
        if not self.configured:
            return OFF
        status = self.current()
        return CONNECTED if status is not None and status.connected else DISCONNECTED
