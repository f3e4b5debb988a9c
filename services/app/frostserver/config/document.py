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
from .customize import Customization
from .derived import QUANTITIES, DerivedPair, parse_derived
from .device import DEFAULT_NAME, DeviceConfig, parse_device
from .forecast import ForecastConfig, parse_forecast
from .mqtt import MqttConfig, parse_mqtt
from .sampling import parse_numbers
from .sensor_overrides import (
    SensorOverrides,
    check_declared_sensors_kept,
    check_derived_sensors_kept,
    parse_sensor_overrides,
)
from .sensors import SensorSpec, parse_sensors
from .validate import NumberSpec

TOP_LEVEL_KEYS = (
    "frost_threshold",
    "sampling",
    "history",
    "sensors",
    "derived",
    "filter",
    "relabel",
    "thresholds",
    "alerts",
    "access",
    "mqtt",
    "forecast",
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
    mqtt: MqttConfig | None = None  # [mqtt]; None: no broker, nothing published
    derived: tuple[DerivedPair, ...] = ()
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
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
    mqtt = parse_mqtt(document["mqtt"]) if "mqtt" in document else None
    derived = parse_derived(document.get("derived", {}))
    check_derived_sensors_kept([pair.sensor_id(quantity) for pair in derived for quantity, *_ in QUANTITIES], overrides)
    overrides = place_derived(overrides, derived)
    forecast = parse_forecast(document.get("forecast", {}), values["sampling.interval"])
    device = parse_device(document.get("device", {}), alerts.device_name if alerts is not None else DEFAULT_NAME)
    if alerts is not None and alerts.device_name != device.name:
        alerts = replace(alerts, device_name=device.name)  # one name, wherever it was said
    return ConfigDocument(MappingProxyType(values), sensors, overrides, alerts, access, mqtt, derived, forecast, device)


def place_derived(overrides: SensorOverrides, pairs: tuple[DerivedPair, ...]) -> SensorOverrides:
    """Give a pair's place to the sensors it gives, as their [customize] place where they have none of their own."""
    customize = dict(overrides.customize)
    for pair in pairs:
        if pair.place is None:
            continue
        for quantity, *_ in QUANTITIES:
            sensor_id = pair.sensor_id(quantity)
            own = customize.get(sensor_id, Customization())
            if own.place is None:
                customize[sensor_id] = replace(own, place=pair.place)
    if customize == dict(overrides.customize):
        return overrides
    return replace(overrides, customize=MappingProxyType(customize))
