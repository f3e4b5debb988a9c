"""The API's sensors document, rendered once per sample per worker and shared by every request.

`GET /api/v1/sensors` answers the rendered bytes; `GET /api/v1/sensors/<id>` answers the slice of
them that is that sensor's object. Nothing parsed is kept between samples, only these bytes.

Each sensor carries what a person said about it (`label`, `place`, `order`, `hidden`,
`calibration`, and the settings store's `revision` of its last change, for If-Match); the document
carries the device's `name` and display `units` and the `frost_threshold` the sampler applies
(store/applied.py), and the settings `revision` they are as of. Values stay in SI units: the
dashboard converts for display.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import Reading, Sample, Sensor
from ..store.applied import AppliedSettings
from ..store.files import FileIdentity
from ..store.reader import StoreReader
from .json_text import dumps, number

WHERE = "the sensors document"


def sensor_metadata(sensor: Sensor) -> dict[str, Any]:
    """Return a sensor's metadata as the API shows it."""
    return {
        "id": sensor.id,
        "chip": sensor.chip,
        "chip_name": sensor.chip_name,
        "channel": sensor.channel,
        "kind": sensor.kind,
        "unit": sensor.unit,
        "label": sensor.label,
        "source": sensor.source,
        "thresholds": dict(sensor.thresholds),
        "place": sensor.place,
        "order": sensor.order,
        "hidden": sensor.hidden,
        "calibration": None if sensor.calibration is None else sensor.calibration.document(),
        "revision": sensor.revision,
    }


def sensor_json(sensor: Sensor, reading: Reading) -> bytes:
    """Return one sensor's object as GET /api/v1/sensors/<id> answers it."""
    return (_json(sensor_metadata(sensor))[:-1] + _reading_json(reading)).encode()


def _json(value: object) -> str:
    return dumps(value, WHERE)


def _reading_json(reading: Reading) -> str:
    """Encode a reading's fields: the part of a sensor's object that changes at every sample."""
    error = "null" if reading.error is None else _json(reading.error)
    alarms = _json(list(reading.alarms)) if reading.alarms else "[]"
    value = number(reading.value, WHERE)
    # raw_value is a number when present (openapi.json): one that is not finite is left out.
    raw_value = "null" if reading.uncomputed is None else number(reading.uncomputed, WHERE)
    raw = "" if raw_value == "null" else f',"raw_value":{raw_value}'
    return f',"value":{value}{raw},"status":"{reading.status}","error":{error},"alarms":{alarms}}}'


@dataclass(frozen=True)
class RenderedSensors:
    """One sample's sensors document, and where each sensor's object lies in it."""

    key: tuple[FileIdentity | None, FileIdentity | None] | None
    body: bytes
    spans: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def sensor(self, sensor_id: str) -> bytes | None:
        """Return one sensor's object, or None if the sample has no such sensor."""
        span = self.spans.get(sensor_id)
        return None if span is None else self.body[span[0] : span[1]]


class SensorDocuments:
    """Render the sensors document of the newest sample, at most once per sample."""

    def __init__(self, store: StoreReader, interval: float, frost_threshold: float):
        self.store = store
        self.interval = interval
        self.frost_threshold = frost_threshold
        self._rendered = RenderedSensors(None, self._render_empty())
        self._lock = threading.Lock()  # gthread: one render per sample even when requests overlap
        # A sensor's metadata changes rarely, and the catalog hands back the same Sensor object
        # until it does: encode it once.
        self._metadata: dict[str, tuple[Sensor, str]] = {}

    def current(self) -> RenderedSensors:
        """Return the newest sample's document (the empty one before the first sample)."""
        # The settings the sampler applies are written after the sample that first used them: a
        # new version of either renders again.
        key = (self.store.latest.identity(), self.store.applied.identity())
        rendered = self._rendered
        if rendered.key == key:
            return rendered
        with self._lock:
            if self._rendered.key != key:
                sample = self.store.latest_sample()
                self._rendered = self._render(key, sample) if sample else RenderedSensors(key, self._render_empty())
            return self._rendered

    def head(self, sampled_at: float | None) -> dict[str, Any]:
        """Return the document's fields before its sensors."""
        applied = self.store.applied.current() or AppliedSettings(frost_threshold=self.frost_threshold)
        return {
            "sampled_at": sampled_at,
            "interval": self.interval,
            "frost_threshold": applied.frost_threshold,
            "device": {"name": applied.device_name, "units": applied.units},
            "revision": applied.revision,
        }

    def _render_empty(self) -> bytes:
        return _json({**self.head(None), "sensors": []}).encode()

    def _render(self, key: tuple[FileIdentity | None, FileIdentity | None], sample: Sample) -> RenderedSensors:
        head = _json(self.head(sample.sampled_at))
        parts = [f'{head[:-1]},"sensors":['.encode()]
        offset = len(parts[0])
        spans = {}
        metadata = {}
        number = 0
        for sensor, reading in sample.pairs:
            if sensor.ignored:
                continue  # sensors.conf's `ignore`: `sensors` leaves it out, so does the API
            cached = self._metadata.get(sensor.id)
            if cached is None or cached[0] is not sensor:
                cached = (sensor, _json(sensor_metadata(sensor))[:-1])  # without its closing brace
            metadata[sensor.id] = cached
            if number:
                parts.append(b",")
                offset += 1
            number += 1
            encoded = (cached[1] + _reading_json(reading)).encode()
            parts.append(encoded)
            spans[sensor.id] = (offset, offset + len(encoded))
            offset += len(encoded)
        parts.append(b"]}")
        self._metadata = metadata  # forgets sensors that vanished
        return RenderedSensors(key, b"".join(parts), spans)
