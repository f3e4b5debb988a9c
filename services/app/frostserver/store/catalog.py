"""The catalog: every sensor's metadata and its column in the history ring, in catalog.json.

The sampler rewrites it (CatalogWriter) only when a sensor appears or its metadata changes, which
is rare; workers decode it once per version (CatalogReader). Columns are never reused while the
ring lives: a sensor that vanished keeps its column, so its history stays readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model import Sensor, SysfsChannel
from .files import DecodedFile, FileIdentity, read_json, write_atomically


def encode_sensor(sensor: Sensor) -> dict[str, Any]:
    """Return a sensor's metadata as plain data."""
    sysfs = sensor.sysfs
    return {
        "id": sensor.id,
        "chip": sensor.chip,
        "chip_name": sensor.chip_name,
        "channel": sensor.channel,
        "kind": sensor.kind,
        "label": sensor.label,
        "unit": sensor.unit,
        "thresholds": dict(sensor.thresholds),
        "source": sensor.source,
        "sensor_type": sensor.sensor_type,
        **({"ignored": True} if sensor.ignored else {}),
        "sysfs": None
        if sysfs is None
        else {
            "chip": sysfs.chip,
            "chip_name": sysfs.chip_name,
            "channel": sysfs.channel,
            "label": sysfs.label,
            "attributes": dict(sysfs.attributes),
        },
    }


def decode_sensor(entry: Mapping[str, Any]) -> Sensor:
    """Rebuild a Sensor from what encode_sensor returned."""
    sysfs = entry.get("sysfs")
    return Sensor(
        id=entry["id"],
        chip=entry["chip"],
        chip_name=entry["chip_name"],
        channel=entry["channel"],
        kind=entry["kind"],
        label=entry["label"],
        unit=entry["unit"],
        thresholds=dict(entry["thresholds"]),
        source=entry["source"],
        sensor_type=entry["sensor_type"],
        ignored=entry.get("ignored", False),
        sysfs=None
        if sysfs is None
        else SysfsChannel(
            sysfs["chip"], sysfs["chip_name"], sysfs["channel"], sysfs["label"], dict(sysfs["attributes"])
        ),
    )


@dataclass(frozen=True)
class Catalog:
    """One version of the catalog, decoded: shared, never changed, by every thread of a worker."""

    identity: FileIdentity | None
    sensors: Mapping[str, Sensor]  # by id, every sensor the ring has a column for or ever had
    columns: Mapping[str, int]  # by id; sensors the ring had no room for have none


EMPTY = Catalog(None, {}, {})


class CatalogWriter:
    """Give every sensor a column and publish metadata changes; the sampler's alone."""

    def __init__(self, path: Path, columns: int, *, keep: bool):
        self.path = Path(path)
        self.capacity = columns
        self.columns: dict[str, int] = {}
        self._entries: dict[str, str] = {}  # id -> its encoded metadata, in column order
        self._known: dict[str, Sensor] = {}  # id -> the Sensor object last published
        self.dropped: set[str] = set()  # ids the ring has no column for
        if keep:  # the ring was continued: so are its columns
            document = read_json(self.path) or {}
            for entry in document.get("sensors", []):
                self._entries[entry["id"]] = json.dumps(entry, ensure_ascii=False)
                if entry.get("column") is not None:
                    self.columns[entry["id"]] = entry["column"]
        else:
            self.path.unlink(missing_ok=True)

    def update(self, sensors: Iterable[Sensor]) -> None:
        """Publish new or changed sensors, giving each a column while the ring has room."""
        changed = False
        for sensor in sensors:
            if self._known.get(sensor.id) is sensor:
                continue  # the readers hand back the same object until its metadata changes
            self._known[sensor.id] = sensor
            column = self.columns.get(sensor.id)
            # An ignored sensor (sensors.conf) has no history: nothing shows it.
            if column is None and not sensor.ignored and len(self.columns) < self.capacity:
                column = self.columns[sensor.id] = len(self.columns)
            if column is None and not sensor.ignored:
                self.dropped.add(sensor.id)
            entry = json.dumps({**encode_sensor(sensor), "column": column}, ensure_ascii=False)
            if self._entries.get(sensor.id) != entry:
                self._entries[sensor.id] = entry
                changed = True
        if changed:
            write_atomically(self.path, ('{"sensors":[' + ",".join(self._entries.values()) + "]}").encode())


class CatalogReader(DecodedFile[Catalog]):
    """Read the current catalog from any thread, decoding each version once."""

    def __init__(self, path: Path):
        super().__init__(path, _decode_catalog, EMPTY)


def _decode_catalog(identity: FileIdentity | None, document: Mapping[str, Any]) -> Catalog:
    sensors = {entry["id"]: decode_sensor(entry) for entry in document["sensors"]}
    columns = {entry["id"]: entry["column"] for entry in document["sensors"] if entry["column"] is not None}
    return Catalog(identity, sensors, columns)
