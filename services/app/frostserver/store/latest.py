"""The newest sample's readings in full (value, status, error, alarms, raw numbers), in latest.json.

The ring of recent samples keeps only values and statuses; this is everything else a reading has, for the
newest sample only. The sampler replaces the file at every sample (LatestWriter); workers decode
it when they render a new sample (LatestReader), and keep what they rendered, not the readings.

    {"version": 1, "seq": 1234, "sampled_at": 1700000000.0,
     "readings": [[id, value, status, error, alarms, raw, uncomputed], ...]}
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..codec import Damaged, Refused, parse_document
from ..model import Reading, Sensor
from .files import FileIdentity, Refusals, identity_of, read_bytes, write_atomically

VERSION = 1
WHAT = "the newest readings"


@dataclass(frozen=True)
class LatestReadings:
    """The newest sample as the sampler published it: readings by sensor id, in id order."""

    seq: int
    sampled_at: float
    readings: list[tuple[str, Reading]]


def encode_row(sensor_id: str, reading: Reading) -> str:
    """Return one reading's row in latest.json, encoded (the writer keeps it while the reading is the same)."""
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


def decode_row(row: list[Any]) -> tuple[str, Reading]:
    """Return the sensor id and Reading of one row (encode_row's)."""
    sensor_id, value, status, error, alarms, raw, uncomputed = row
    numbers = tuple((prop, number) for prop, number in raw)
    return sensor_id, Reading(value, status, error, tuple(alarms), numbers, uncomputed)


def encode(seq: int, sampled_at: float, rows: Iterable[str]) -> bytes:
    """Return latest.json's bytes from its readings' rows (each encoded once, by encode_row)."""
    head = json.dumps({"version": VERSION, "seq": seq, "sampled_at": sampled_at}, separators=(",", ":"))
    return f'{head[:-1]},"readings":[{",".join(rows)}]}}'.encode()


def decode(data: bytes) -> LatestReadings:
    """Return the readings a latest.json holds; raise codec.Refused for another version or a damaged file."""
    document = parse_document(data, VERSION, WHAT)
    try:
        return LatestReadings(
            int(document["seq"]), float(document["sampled_at"]), [decode_row(row) for row in document["readings"]]
        )
    except (KeyError, TypeError, ValueError) as error:  # a field missing or of another type
        raise Damaged(WHAT, f"{type(error).__name__}: {error}") from None


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
                cached = (reading, encode_row(sensor.id, reading))
            encoded[sensor.id] = cached
            rows.append(cached[1])
        self._encoded = encoded  # forgets sensors that vanished
        write_atomically(self.path, encode(seq, sampled_at, rows))


class LatestReader:
    """Read the newest sample's readings from any thread."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.refusals = Refusals()

    def identity(self) -> FileIdentity | None:
        """Return what tells this sample's file from the next one's (None before the first)."""
        return identity_of(self.path)

    def read(self) -> LatestReadings | None:
        """Decode the newest sample's readings (None before the first, or while the file is refused)."""
        data = read_bytes(self.path)
        if data is None:
            return None
        try:
            return decode(data)
        except Refused as error:
            self.refusals.say(self.path, error)
            return None
