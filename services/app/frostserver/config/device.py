"""[device]: what the device is called and which temperature units people see.

    [device]
    name = "Greenhouse Pi"   # 1-64 characters; default "FrostServer"
    units = "celsius"        # or "fahrenheit": the dashboard, the CSV on request, notification texts

The API and /metrics stay in SI units (°C) whatever `units` says: they are for programs. The older
[alerts] device_name stays accepted; [device] name wins over it when both are set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import validate
from .errors import KeyPath

DEVICE_KEYS = ("name", "units")
UNITS = ("celsius", "fahrenheit")
CELSIUS, FAHRENHEIT = UNITS
DEFAULT_NAME = "FrostServer"
MAX_NAME = 64


@dataclass(frozen=True)
class DeviceConfig:
    """The [device] table, validated: the device's name and its display units."""

    name: str = DEFAULT_NAME
    units: str = CELSIUS


def parse_device(value: Any, fallback_name: str = DEFAULT_NAME) -> DeviceConfig:
    """Parse the [device] table (absent: the defaults); fallback_name: [alerts] device_name, if set."""
    key: KeyPath = ("device",)
    body = validate.table(value, key)
    validate.reject_unknown(body, DEVICE_KEYS, key)
    name = validate.name_text(body.get("name", fallback_name), (*key, "name"), MAX_NAME)
    units = validate.one_of(body.get("units", CELSIUS), (*key, "units"), UNITS)
    return DeviceConfig(name, units)
