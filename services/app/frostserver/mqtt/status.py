"""mqtt.json: what the publisher tells the workers (for /metrics and /readyz).

The publisher is its one writer (encode); the workers decode the same MqttStatus (decode). It
lives in the run directory and lasts as long as the container. It names the broker only as
config.mqtt.display_broker shows it: never a user or a password.

    {"version": 2, "broker": "mqtt://mosquitto:1883", "connected": true, "published": 1234,
     "since": 1764763200.0, "enabled": true}

`enabled` is whether the settings in force name a broker: they can change while the app runs (the
browser's settings), so the workers take it from here rather than from the settings they started
with (version 2; the file lives in the run directory, written and read by one image).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..codec import decode_document, encode_document
from ..store.files import FileIdentity

MQTT_FILE = "mqtt.json"
VERSION = 2
WHAT = "the MQTT publisher's status"


@dataclass(frozen=True)
class MqttStatus:
    """The publisher's connection and counter, as of its last write."""

    broker: str  # scheme://host:port, no secret
    connected: bool = False
    published: int = 0  # messages the broker acknowledged since the publisher started
    since: float | None = None  # Unix time the connection was made, or lost
    enabled: bool = True  # the settings in force name a broker (False: the publisher idles; broker is "")


def encode(status: MqttStatus) -> bytes:
    """Return mqtt.json's bytes."""
    return encode_document(VERSION, status)


def decode(data: bytes) -> MqttStatus:
    """Return the MqttStatus an mqtt.json holds; raise codec.Refused for another version or a damaged file."""
    status: MqttStatus = decode_document(MqttStatus, data, VERSION, WHAT)
    return status


def decode_status(_identity: FileIdentity | None, data: bytes) -> MqttStatus | None:
    """Decode mqtt.json for its readers (store.files.DecodedFile)."""
    return decode(data)
