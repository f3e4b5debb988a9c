"""GET /api/v1/settings rendered: each setting's value in force, where it comes from, and what a reset gives.

    {"revision": 7, "status": {"state": "ok", "message": null},
     "device": {"name": {"value": "Greenhouse Pi", "source": "browser", "file_value": "FrostServer"}, ...},
     "frost_threshold": {"value": 0.5, "source": "file", "file_value": 0.5},
     "sensors": {"<id>": {"label": {...}, "place": ..., "order", "hidden", "calibration", "low", "high"}},
     "rules": {"frost": {"enabled": {...}, "above", "below", "for", "hysteresis", "severity", "sensors", "places"}},
     "targets": [{"id": "f1", "shown": "ntfy://…", "source": "file"}, {"id": "b3", ..., "source": "browser"}],
     "mqtt": {"broker": {"value": "mqtts://broker.local:8883", ...}, "host", "port", "tls", "username",
              "password": {"value": "…", ...}, "discovery_prefix", "min_interval", ...},
     "forecast": {"enabled", "sensors", "places", "window", "min_data", "lead_time"},
     "derived": {"garden": {"temperature", "humidity", "label", "place"}}}

`source` is default, file or browser (config/resolve.py); `file_value` is the value without the
browser's (the file's, or the sensor's own from lm-sensors and the chip: what a reset gives).
Sensors are listed when anything is said about them ([customize] in the file or the browser, or
[relabel]). Notification targets are never shown whole: `shown` is display_target()'s mask.

[mqtt] (issue 23): the broker's password is never shown, only whether one is set ("…", else null),
and a url is shown as scheme://host:port (it may hold the password); the broker's fields say the
source of the url when a url gives them, "environment" when FROST_MQTT_URL does. Durations are in
seconds, as a rule's `for`. With no broker anywhere, every [mqtt] value is null.
"""

from __future__ import annotations

from typing import Any

from ..config import Source
from ..config.alert_rules import AlertRule
from ..config.alerts import display_target
from ..config.customize import Customization
from ..config.errors import dotted
from ..config.forecast import FORECAST_KEYS, ForecastConfig
from ..config.mqtt import BROKER_KEYS, MQTT_KEYS, MqttConfig, display_url
from ..config.resolve import Resolved
from ..model import Sensor
from ..settings.live import Current

SENSOR_FIELDS = ("label", "place", "order", "hidden", "calibration", "low", "high")
RULE_FIELDS = ("enabled", "above", "below", "for", "hysteresis", "severity", "sensors", "places")
FILE_TARGET, BROWSER_TARGET = "f", "b"  # a target's id: f<position in the file>, b<row in settings.db>


def entry(value: Any, source: Source, file_value: Any) -> dict[str, Any]:
    return {"value": value, "source": source.value, "file_value": file_value}


def settings_document(current: Current, catalog: dict[str, Sensor]) -> dict[str, Any]:
    """Return the GET /api/v1/settings document (see the module's docstring)."""
    return {
        "revision": current.revision,
        "status": current.status.document(),
        "device": device_fields(current),
        "frost_threshold": entry(
            current.settings.frost_threshold,
            current.resolved["frost_threshold"].source,
            current.file.settings.frost_threshold,
        ),
        "sensors": {
            sensor_id: sensor_fields(current, sensor_id, catalog.get(sensor_id)) for sensor_id in described(current)
        },
        "rules": {rule.name: rule_fields(current, rule.name) for rule in current.settings.alerts.rules},
        "targets": targets(current),
        "mqtt": mqtt_fields(current),
        "forecast": forecast_fields(current),
        "derived": {name: pair_fields(current, name) for name in pair_names(current)},
    }


def device_fields(current: Current) -> dict[str, Any]:
    """Return the device's name and units with their sources ([device], else [alerts] device_name)."""
    resolved, device, file_device = current.resolved, current.settings.device, current.file.settings.device
    name_source = resolved.source_of("device.name")
    if name_source is Source.DEFAULT:
        name_source = resolved.source_of("alerts.device_name")
    return {
        "name": entry(device.name, name_source, file_device.name),
        "units": entry(device.units, resolved.source_of("device.units"), file_device.units),
    }


def described(current: Current) -> list[str]:
    """Return the ids of the sensors anything is said about, sorted."""
    ids = set(current.settings.sensor_overrides.customize) | set(current.settings.sensor_overrides.relabel)
    if current.snapshot is not None:
        ids.update(key[1] for key in current.snapshot.entries if key[0] == "customize" and len(key) > 2)
    return sorted(ids)


def customized_value(custom: Customization | None, field: str) -> Any:
    """Return what [customize] says of a field (None: nothing), in the API's shape."""
    if custom is None:
        return None
    if field == "calibration":
        return None if custom.calibration is None else custom.calibration.document()
    return getattr(custom, field)


def own_value(current: Current, sensor_id: str, sensor: Sensor | None, field: str) -> Any:
    """Return a field's value without [customize]: the sensor's own (lm-sensors', the chip's, [relabel]'s)."""
    if field == "label":
        if sensor is not None:
            return sensor.label if sensor.uncustomized is None else sensor.uncustomized.label
        return current.file.settings.sensor_overrides.relabel.get(sensor_id)
    if field in ("low", "high"):
        if sensor is None:
            return None
        limits = sensor.thresholds if sensor.uncustomized is None else sensor.uncustomized.thresholds
        return limits.get("min" if field == "low" else "max")
    return {"order": 0, "hidden": False}.get(field)  # place, calibration: none


def sensor_fields(current: Current, sensor_id: str, sensor: Sensor | None) -> dict[str, Any]:
    """Return each customizable field of one sensor with its source and its value without the browser's."""
    custom = current.settings.sensor_overrides.customize.get(sensor_id)
    file_custom = current.file.settings.sensor_overrides.customize.get(sensor_id)
    relabelled = sensor_id in current.file.settings.sensor_overrides.relabel
    fields = {}
    for field in SENSOR_FIELDS:
        own = own_value(current, sensor_id, sensor, field)
        value, file_value = customized_value(custom, field), customized_value(file_custom, field)
        keys = ("offset", "calibration") if field == "calibration" else (field,)
        sources = [current.resolved.source_of(dotted(("customize", sensor_id, key))) for key in keys]
        source = Source.BROWSER if Source.BROWSER in sources else Source.FILE if Source.FILE in sources else None
        if source is None:
            source = Source.FILE if field == "label" and relabelled else Source.DEFAULT
        if field == "place" and source is Source.DEFAULT:
            # A derived sensor's place may be its pair's ([derived.<name>] place): said where the pair is.
            pair = pair_of(current, sensor_id)
            if pair is not None and value is not None:
                source = current.resolved.source_of(f"derived.{pair}.place")
                file_value = next((p.place for p in current.file.settings.derived if p.name == pair), None)
        fields[field] = entry(own if value is None else value, source, own if file_value is None else file_value)
    return fields


def pair_of(current: Current, sensor_id: str) -> str | None:
    """Return the name of the pair in force a derived sensor comes from (derived/<name>/...), else None."""
    return next(
        (pair.name for pair in current.settings.derived if sensor_id.startswith(pair.sensor_id(""))),
        None,
    )


def rule_values(rule: AlertRule | None) -> dict[str, Any]:
    """Return a rule's fields as the API shows them (`for` in seconds)."""
    if rule is None:
        return dict.fromkeys(RULE_FIELDS)
    return {
        "enabled": rule.enabled,
        "above": rule.above,
        "below": rule.below,
        "for": rule.hold,
        "hysteresis": rule.hysteresis,
        "severity": rule.severity,
        "sensors": [pattern.glob for pattern in rule.sensors],
        "places": list(rule.places),
    }


def rule_fields(current: Current, name: str) -> dict[str, Any]:
    """Return one rule's fields with their sources and their values without the browser's."""
    rule = next((rule for rule in current.settings.alerts.rules if rule.name == name), None)
    file_rule = next((rule for rule in current.file.settings.alerts.rules if rule.name == name), None)
    values, file_values = rule_values(rule), rule_values(file_rule)
    return {
        field: entry(values[field], current.resolved.source_of(f"alerts.rules.{name}.{field}"), file_values[field])
        for field in RULE_FIELDS
    }


def targets(current: Current) -> list[dict[str, Any]]:
    """Return the notification targets, masked: the file's, then the browser's."""
    in_file = current.file.settings.alerts.targets
    shown = [
        {"id": f"{FILE_TARGET}{number}", "shown": display_target(url), "source": Source.FILE.value}
        for number, url in enumerate(in_file, start=1)
    ]
    if current.snapshot is not None:
        shown += [
            {"id": f"{BROWSER_TARGET}{target.id}", "shown": display_target(target.url), "source": Source.BROWSER.value}
            for target in current.snapshot.targets
            if target.url not in in_file
        ]
    return shown


SECRET_SHOWN = "…"  # a password is set: the value itself is never shown


def mqtt_value(config: MqttConfig | None, resolved: Resolved, name: str) -> Any:
    """Return one [mqtt] value as the API shows it: the password as "…", a url without its user and password."""
    if config is None:
        return None
    if name == "broker":
        return config.shown
    if name == "password":
        return None if config.password is None else SECRET_SHOWN
    if name == "url":
        url = resolved.merged.get("mqtt", {}).get("url")
        return None if url is None else display_url(url)
    return getattr(config, name)


def mqtt_source(resolved: Resolved, name: str) -> Source:
    """Return where an [mqtt] value comes from: the url's source for the broker's parts a url gives."""
    has_url = "url" in resolved.merged.get("mqtt", {})
    if name == "broker" or (name in BROKER_KEYS and has_url and resolved.source_of(f"mqtt.{name}") is Source.DEFAULT):
        return resolved.source_of("mqtt.url") if has_url else resolved.source_of("mqtt.host")
    return resolved.source_of(f"mqtt.{name}")


def mqtt_fields(current: Current) -> dict[str, Any]:
    """Return the broker ("broker": how it is shown) and each [mqtt] key with its source; secrets masked."""
    config, file_config = current.settings.mqtt, current.file.settings.mqtt
    return {
        name: entry(
            mqtt_value(config, current.resolved, name),
            mqtt_source(current.resolved, name),
            mqtt_value(file_config, current.file, name),
        )
        for name in ("broker", *MQTT_KEYS)
    }


def forecast_value(config: ForecastConfig, name: str) -> Any:
    """Return one [forecast] value as the API shows it (durations in seconds, sensors as their globs)."""
    if name == "sensors":
        return [pattern.glob for pattern in config.sensors]
    if name == "places":
        return list(config.places)
    return getattr(config, name)


def forecast_fields(current: Current) -> dict[str, Any]:
    """Return each [forecast] key with its source and its value without the browser's."""
    config, file_config = current.settings.forecast, current.file.settings.forecast
    return {
        name: entry(
            forecast_value(config, name),
            current.resolved.source_of(f"forecast.{name}"),
            forecast_value(file_config, name),
        )
        for name in FORECAST_KEYS
    }


PAIR_FIELDS = ("temperature", "humidity", "label", "place")


def pair_names(current: Current) -> list[str]:
    """Return the names of the derived pairs in force and in the file, in the document's order."""
    names = [pair.name for pair in current.settings.derived]
    return names + [pair.name for pair in current.file.settings.derived if pair.name not in names]


def pair_fields(current: Current, name: str) -> dict[str, Any]:
    """Return one pair's fields with their sources and the file's values (all null: not in the file)."""
    pair = next((pair for pair in current.settings.derived if pair.name == name), None)
    file_pair = next((pair for pair in current.file.settings.derived if pair.name == name), None)
    return {
        field: entry(
            None if pair is None else getattr(pair, field),
            current.resolved.source_of(f"derived.{name}.{field}"),
            None if file_pair is None else getattr(file_pair, field),
        )
        for field in PAIR_FIELDS
    }
