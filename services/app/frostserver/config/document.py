"""The whole configuration document: its top-level keys, each table parsed by its schema module.

The document is what the config file says, merged with any other source of values (resolve.py);
this module never knows where a key came from, only whether it is valid (Invalid names the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from . import validate
from .access import AccessConfig, parse_access
from .alerts import AlertsConfig, parse_alerts
from .device import DEFAULT_NAME, DeviceConfig, parse_device
from .sampling import parse_numbers
from .sensor_overrides import SensorOverrides, check_declared_sensors_kept, parse_sensor_overrides
from .sensors import SensorSpec, parse_sensors
from .validate import NumberSpec

TOP_LEVEL_KEYS = (
    "frost_threshold",
    "sampling",
    "history",
    "sensors",
    "filter",
    "relabel",
    "thresholds",
    "alerts",
    "access",
    "device",
    "customize",
)


@dataclass(frozen=True)
class ConfigDocument:
    """Everything the configuration document says, validated."""

    numbers: Mapping[str, float]  # by dotted key, e.g. "sampling.interval"; every declared one
    sensors: tuple[SensorSpec, ...] = ()
    sensor_overrides: SensorOverrides = field(default_factory=SensorOverrides)
    alerts: AlertsConfig | None = None  # [alerts]; None: the document has none
    access: AccessConfig = field(default_factory=AccessConfig)  # [access]
    device: DeviceConfig = field(default_factory=DeviceConfig)  # [device], [alerts] device_name under it


def parse_document(document: dict[str, Any], numbers: Mapping[str, NumberSpec]) -> ConfigDocument:
    """Validate a parsed document, table by table, raising Invalid for the first mistake."""
    validate.reject_unknown(document, TOP_LEVEL_KEYS, ())
    values = parse_numbers(document, numbers)
    sensors = parse_sensors(document.get("sensors", {}), values["sampling.interval"])
    overrides = parse_sensor_overrides(document)
    check_declared_sensors_kept(sensors, overrides)
    alerts = parse_alerts(document["alerts"]) if "alerts" in document else None
    access = parse_access(document.get("access", {}))
    device = parse_device(document.get("device", {}), alerts.device_name if alerts is not None else DEFAULT_NAME)
    if alerts is not None and alerts.device_name != device.name:
        alerts = replace(alerts, device_name=device.name)  # one name, wherever it was said
    return ConfigDocument(MappingProxyType(values), sensors, overrides, alerts, access, device)
