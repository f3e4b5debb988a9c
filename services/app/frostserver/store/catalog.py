"""The catalog: every sensor's metadata and its column in the ring of recent samples, in catalog.json.

The sampler rewrites it (CatalogWriter) only when a sensor appears or its metadata changes, which
is rare; workers decode it once per version (CatalogReader). Columns are never reused while the
ring lives: a sensor that vanished keeps its column, so its ring columns stay readable.

    {"version": 1, "sensors": [{<encode_sensor's keys>, "column": 3 | null}, ...]}

What a person said about a sensor ([customize], from the config file or the browser) is metadata
here like the rest, for every reader: `label`, and when set, `place`, `order`, `hidden`,
`calibration` ({"gain", "offset"}), `uncustomized` (the label and limits before [customize]: what a
reset gives) and `revision` (the settings store's, of its last change). Absent keys are the
defaults, so a catalog of an older sampler (on the same tmpfs) still reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..codec import Damaged, Refused, parse_document
from ..model import Calibration, Sensor, SysfsChannel, Uncustomized
from .files import DecodedFile, FileIdentity, Refusals, read_bytes, write_atomically

VERSION = 1
WHAT = "the sensor catalog"


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
        **({"place": sensor.place} if sensor.place is not None else {}),
        **({"order": sensor.order} if sensor.order else {}),
        **({"hidden": True} if sensor.hidden else {}),
        **({"calibration": {"gain": cal.gain, "offset": cal.offset}} if (cal := sensor.calibration) else {}),
        **(
            {"uncustomized": {"label": base.label, "thresholds": dict(base.thresholds)}}
            if (base := sensor.uncustomized)
            else {}
        ),
        **({"revision": sensor.revision} if sensor.revision else {}),
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
        place=entry.get("place"),
        order=entry.get("order", 0),
        hidden=entry.get("hidden", False),
        calibration=None if (cal := entry.get("calibration")) is None else Calibration(cal["gain"], cal["offset"]),
        uncustomized=None
        if (base := entry.get("uncustomized")) is None
        else Uncustomized(base["label"], dict(base["thresholds"])),
        revision=entry.get("revision", 0),
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
        data = read_bytes(self.path) if keep else None  # the ring was continued: so are its columns
        if data is not None:
            try:
                for sensor, column in decode(data):
                    self._entries[sensor.id] = encode_entry(sensor, column)
                    if column is not None:
                        self.columns[sensor.id] = column
            except Refused as error:  # its columns are unknown: they are given anew
                Refusals().say(self.path, error)
                self._entries.clear()
                self.columns.clear()
        if not self._entries:
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
            entry = encode_entry(sensor, column)
            if self._entries.get(sensor.id) != entry:
                self._entries[sensor.id] = entry
                changed = True
        if changed:
            write_atomically(self.path, encode(self._entries.values()))


class CatalogReader(DecodedFile[Catalog]):
    """Read the current catalog from any thread, decoding each version once."""

    def __init__(self, path: Path):
        super().__init__(path, _decode_catalog, EMPTY)


def encode_entry(sensor: Sensor, column: int | None) -> str:
    """Return one sensor's entry in catalog.json, encoded (the writer keeps them, to compare and join)."""
    return json.dumps({**encode_sensor(sensor), "column": column}, ensure_ascii=False)


def encode(entries: Iterable[str]) -> bytes:
    """Return catalog.json's bytes from the sensors' entries (encode_entry), in column order."""
    return (f'{{"version":{VERSION},"sensors":[' + ",".join(entries) + "]}").encode()


def decode(data: bytes) -> list[tuple[Sensor, int | None]]:
    """Return every sensor a catalog.json holds with its column; raise codec.Refused for another version or damage."""
    document = parse_document(data, VERSION, WHAT)
    try:
        found = []
        for entry in document["sensors"]:
            column = entry["column"]
            if column is not None and (not isinstance(column, int) or isinstance(column, bool) or column < 0):
                raise ValueError(f"sensor {entry['id']!r}: column {column!r} is no column")
            found.append((decode_sensor(entry), column))
        return found
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # a field missing or of another type
        raise Damaged(WHAT, f"{type(error).__name__}: {error}") from None


def _decode_catalog(identity: FileIdentity | None, data: bytes) -> Catalog:
    found = decode(data)
    sensors = {sensor.id: sensor for sensor, _ in found}
    columns = {sensor.id: column for sensor, column in found if column is not None}
    return Catalog(identity, sensors, columns)
