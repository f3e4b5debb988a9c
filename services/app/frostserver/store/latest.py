"""The newest sample's readings in full (value, status, error, alarms, raw numbers), in latest.json.

The history ring keeps only values and statuses; this is everything else a reading has, for the
newest sample only. The sampler replaces the file at every sample (LatestWriter); workers decode
it when they render a new sample (LatestReader), and keep what they rendered, not the readings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model import Reading, Sensor
from .files import FileIdentity, identity_of, read_json, write_atomically


@dataclass(frozen=True)
class LatestReadings:
    """The newest sample as the sampler published it: readings by sensor id, in id order."""

    seq: int
    sampled_at: float
    readings: list[tuple[str, Reading]]


def _encode(sensor_id: str, reading: Reading) -> str:
    value = reading.value
    return json.dumps(
        [
            sensor_id,
            None if value is None or not math.isfinite(value) else value,
            reading.status,
            reading.error,
            list(reading.alarms),
            [list(pair) for pair in reading.raw],
            None if reading.uncomputed is None or not math.isfinite(reading.uncomputed) else reading.uncomputed,
        ],
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
    )


def _decode(row: list[Any]) -> tuple[str, Reading]:
    sensor_id, value, status, error, alarms, raw, uncomputed = row
    numbers = tuple((prop, number) for prop, number in raw)
    return sensor_id, Reading(value, status, error, tuple(alarms), numbers, uncomputed)


class LatestWriter:
    """Publish each sample's readings; the sampler's alone."""

    def __init__(self, path: Path):
        self.path = Path(path)
        # Most readings repeat from one sample to the next (the hwmon reader hands back the same
        # Reading object when nothing changed): encode each one once.
        self._encoded: dict[str, tuple[Reading, str]] = {}

    def write(self, seq: int, sampled_at: float, pairs: Iterable[tuple[Sensor, Reading]]) -> None:
        """Replace latest.json with this sample's readings."""
        rows, encoded = [], {}
        for sensor, reading in pairs:
            cached = self._encoded.get(sensor.id)
            if cached is None or cached[0] is not reading:
                cached = (reading, _encode(sensor.id, reading))
            encoded[sensor.id] = cached
            rows.append(cached[1])
        self._encoded = encoded  # forgets sensors that vanished
        head = json.dumps({"seq": seq, "sampled_at": sampled_at}, separators=(",", ":"))
        write_atomically(self.path, f'{head[:-1]},"readings":[{",".join(rows)}]}}'.encode())


class LatestReader:
    """Read the newest sample's readings from any thread."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def identity(self) -> FileIdentity | None:
        """Return what tells this sample's file from the next one's (None before the first)."""
        return identity_of(self.path)

    def read(self) -> LatestReadings | None:
        """Decode the newest sample's readings (None before the first)."""
        document = read_json(self.path)
        if document is None:
            return None
        return LatestReadings(document["seq"], document["sampled_at"], [_decode(row) for row in document["readings"]])
