"""[derived.<name>]: a temperature and a relative-humidity sensor paired, whose dew point, frost point
and absolute humidity become sensors of their own (derived/sensors.py computes them).

    [derived.garden]
    temperature = "sht3x-i2c-1-44/temp1"
    humidity = "sht3x-i2c-1-44/humidity1"
    label = "Garden"          # optional: "Garden dew point", ...; default: the name
    place = "Garden"          # optional: the place of the three sensors it gives (their own
                              # [customize."derived/garden/..."] place wins); absent: "Unsorted"

The pairs come from the config file or from the browser (the settings store's layer, resolve.py),
in this same shape: a pair set in the browser is [derived.<name>] in an export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import validate
from .errors import Invalid, KeyPath

PAIR_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # it becomes part of ids: derived/<name>/dew_point
PAIR_KEYS = ("temperature", "humidity", "label", "place")
MAX_PLACE = 64  # as [customize] place
DERIVED_PREFIX = "derived/"
# What a pair gives: (channel, kind, unit, label suffix), in the order the sensors are listed.
QUANTITIES = (
    ("dew_point", "temperature", "°C", "dew point"),
    ("frost_point", "temperature", "°C", "frost point"),
    ("absolute_humidity", "humidity", "g/m³", "absolute humidity"),
)


@dataclass(frozen=True)
class DerivedPair:
    """One [derived.<name>] table: which sensors to derive from, and what to call the results."""

    name: str
    temperature: str  # a sensor id (°C)
    humidity: str  # a sensor id (%RH)
    label: str
    place: str | None = None  # the place of the sensors it gives; None: their own (else "Unsorted")

    def sensor_id(self, quantity: str) -> str:
        """Return the id of one of the pair's sensors: derived/<name>/<quantity>."""
        return f"{DERIVED_PREFIX}{self.name}/{quantity}"


def parse_derived(value: Any) -> tuple[DerivedPair, ...]:
    """Parse every [derived.<name>] table, in document order."""
    body = validate.table(value, ("derived",))
    return tuple(parse_pair(name, pair) for name, pair in body.items())


def parse_pair(name: str, value: Any) -> DerivedPair:
    """Parse one [derived.<name>] table."""
    key: KeyPath = ("derived", name)
    if not PAIR_NAME.fullmatch(name):
        raise Invalid(key, "a pair's name is 1 to 64 letters, digits, '_' or '-' (it becomes derived/<name>/...)")
    body = validate.table(value, key)
    validate.reject_unknown(body, PAIR_KEYS, key)
    for needed in ("temperature", "humidity"):
        if needed not in body:
            raise Invalid(key, f"needs {needed} = '<sensor id>' (both temperature and humidity)")
    temperature = input_id(body["temperature"], (*key, "temperature"))
    humidity = input_id(body["humidity"], (*key, "humidity"))
    if temperature == humidity:
        raise Invalid((*key, "humidity"), f"is the same sensor as temperature ({temperature!r})")
    label = validate.text(body.get("label", name), (*key, "label"), 48)
    place = validate.name_text(body["place"], (*key, "place"), MAX_PLACE) if "place" in body else None
    return DerivedPair(name, temperature, humidity, label, place)


def input_id(value: Any, key: KeyPath) -> str:
    """Validate the id of an input sensor: a whole id, not a pattern, not another pair's result."""
    sensor_id = validate.text(value, key, 200)
    if set("*?[") & set(sensor_id) or "/" not in sensor_id:
        raise Invalid(key, f"must be a whole sensor id like 'sht3x-i2c-1-44/temp1', got {sensor_id!r}")
    if sensor_id.startswith(DERIVED_PREFIX):
        raise Invalid(key, f"must be a measured sensor, not a derived one ({sensor_id!r})")
    return sensor_id
