"""What a change from the API does to the browser's layer, checked before it is written.

A change is a set of keys of the config file's shape and their new values (None: remove the
browser's value, so the file's applies again). plan() turns it into the store's Edit inside the
store's transaction (store.py write): it checks the If-Match revision against the file as it is
then, puts the new values in a copy of the layer, resolves the whole document with it (the file's
layer under it, config/resolve.py) and refuses the change if any value it sets would be dropped
there: the same validators as the config file's, so a mistake reads the same wherever it is made,
and the message names the API's field. Nothing is written for a change that changes nothing.

Keys of one group replace each other within the browser's layer too: setting `offset` removes the
browser's two-point `calibration`, setting a rule's `above` removes its `below` and `status`, and
setting the broker's `url` removes the browser's host, port, tls, username and password (and setting
any of those its url).

[mqtt], [forecast] and [derived.<name>] are changed the same way (issues 23 and 24): their keys are
the config file's, so a 400 names the key as the file would ("mqtt.port", "forecast.window"); a
pair's fields are named as its PUT body has them ("temperature").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from ..config import SettingsError
from ..config.derived import PAIR_KEYS
from ..config.errors import dotted
from ..config.forecast import FORECAST_KEYS
from ..config.mqtt import BROKER_KEYS, MQTT_KEYS
from ..model import Sensor
from .live import Current, LiveSettings
from .store import Edit, KeyPath, Snapshot, Touch

SENSOR_FIELDS = ("label", "place", "order", "hidden", "offset", "calibration", "limits")
LIMIT_SIDES = ("low", "high")
RULE_FIELDS = ("enabled", "above", "below", "for", "hysteresis", "severity", "sensors", "places")
DEVICE_FIELDS = ("name", "units")
MQTT_FIELDS = MQTT_KEYS
FORECAST_FIELDS = FORECAST_KEYS
PAIR_FIELDS = PAIR_KEYS
# Keys that replace each other in one layer (config/resolve.py EXCLUSIVE says so across layers).
SENSOR_GROUP = ("offset", "calibration")
RULE_GROUP = ("above", "below", "status")


class BadField(Exception):
    """A value the API cannot take: a 400 naming the field (the message never repeats a secret)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class StaleRevision(Exception):
    """The thing changed after the revision the client saw (If-Match): a 409 with what it is now."""

    def __init__(self, revision: int):
        super().__init__(f"changed since revision {revision}")
        self.revision = revision


Change = dict[KeyPath, Any]


def sensor_change(sensor_id: str, body: Mapping[str, Any]) -> Change:
    """Return the keys a PATCH /api/v1/sensors/<id> body sets (BadField for a field the API does not know)."""
    change: Change = {}
    for name, value in body.items():
        if name == "revision":
            continue
        if name not in SENSOR_FIELDS:
            raise BadField(name, f"{name}: unknown field; a sensor has {', '.join(SENSOR_FIELDS)}")
        if name == "limits":
            change.update(limits_change(sensor_id, value))
            continue
        change[("customize", sensor_id, name)] = value
        if name in SENSOR_GROUP and value is not None:
            for other in SENSOR_GROUP:
                if other != name:
                    change[("customize", sensor_id, other)] = None
    return change


def limits_change(sensor_id: str, value: Any) -> Change:
    """Return the keys of `limits`: {"low": x | null, "high": y | null}; null alone resets both."""
    if value is None:
        return {("customize", sensor_id, side): None for side in LIMIT_SIDES}
    if not isinstance(value, dict) or not value or set(value) - set(LIMIT_SIDES):
        raise BadField("limits", 'limits: must be an object like {"low": 1.0, "high": 35.0} (either may be null)')
    return {("customize", sensor_id, side): value[side] for side in LIMIT_SIDES if side in value}


def rule_change(name: str, body: Mapping[str, Any]) -> Change:
    """Return the keys a PATCH /api/v1/settings/rules/<name> body sets."""
    change: Change = {}
    for field, value in body.items():
        if field == "revision":
            continue
        if field not in RULE_FIELDS:
            raise BadField(field, f"{field}: unknown field; a rule has {', '.join(RULE_FIELDS)}")
        change[("alerts", "rules", name, field)] = value
        if field in RULE_GROUP and value is not None:
            for other in RULE_GROUP:
                if other != field:
                    change[("alerts", "rules", name, other)] = None
    return change


def device_change(body: Mapping[str, Any]) -> Change:
    """Return the keys a PATCH /api/v1/settings body sets: {"device": {"name"?, "units"?}, "frost_threshold"?}."""
    change: Change = {}
    for name, value in body.items():
        if name == "revision":
            continue
        if name == "frost_threshold":
            change[("frost_threshold",)] = value
        elif name == "device":
            if value is None:
                change.update({("device", field): None for field in DEVICE_FIELDS})
                continue
            if not isinstance(value, dict) or set(value) - set(DEVICE_FIELDS):
                raise BadField("device", 'device: must be an object like {"name": "Greenhouse Pi", "units": "celsius"}')
            change.update({("device", field): value[field] for field in DEVICE_FIELDS if field in value})
        else:
            raise BadField(name, f"{name}: unknown field; the device's settings are device and frost_threshold")
    return change


def mqtt_change(value: Any) -> Change:
    """Return the keys "mqtt" of a PATCH /api/v1/settings body sets; null removes every [mqtt] key set here."""
    if value is None:
        return {("mqtt", name): None for name in MQTT_FIELDS}
    if not isinstance(value, dict) or set(value) - set(MQTT_FIELDS):
        unknown = sorted(set(value) - set(MQTT_FIELDS)) if isinstance(value, dict) else []
        field = f"mqtt.{unknown[0]}" if unknown else "mqtt"
        raise BadField(field, f"{field}: unknown or not an object; [mqtt] has {', '.join(MQTT_FIELDS)}")
    change: Change = {("mqtt", name): item for name, item in value.items()}
    # One broker in the layer: a url replaces host, port, tls and the user; any of those replaces a url.
    if value.get("url") is not None:
        change.update({("mqtt", name): None for name in BROKER_KEYS if name != "url" and name not in value})
    elif any(value.get(name) is not None for name in BROKER_KEYS):
        change.setdefault(("mqtt", "url"), None)
    return change


def forecast_change(value: Any) -> Change:
    """Return the keys "forecast" of a PATCH /api/v1/settings body sets; null resets them all to the file's."""
    if value is None:
        return {("forecast", name): None for name in FORECAST_FIELDS}
    if not isinstance(value, dict) or set(value) - set(FORECAST_FIELDS):
        unknown = sorted(set(value) - set(FORECAST_FIELDS)) if isinstance(value, dict) else []
        field = f"forecast.{unknown[0]}" if unknown else "forecast"
        raise BadField(field, f"{field}: unknown or not an object; [forecast] has {', '.join(FORECAST_FIELDS)}")
    return {("forecast", name): item for name, item in value.items()}


def pair_change(name: str, body: Mapping[str, Any]) -> Change:
    """Return the keys a PUT /api/v1/settings/derived/<name> body sets: the whole pair (fields left out: none here)."""
    change: Change = {}
    for field, value in body.items():
        if field == "revision":
            continue
        if field not in PAIR_FIELDS:
            raise BadField(field, f"{field}: unknown field; a pair has {', '.join(PAIR_FIELDS)}")
        change[("derived", name, field)] = value
    for needed in ("temperature", "humidity"):
        if change.get(("derived", name, needed)) is None:
            raise BadField(needed, f"{needed}: a pair needs a {needed} sensor's id")
    for field in PAIR_FIELDS:
        change.setdefault(("derived", name, field), None)
    return change


def pair_removal(name: str) -> Change:
    """Return the keys that remove a pair set here (the file's, if it has one, applies again)."""
    return {("derived", name, field): None for field in PAIR_FIELDS}


def field_of(key: KeyPath) -> str:
    """Return the API's name of a key: "label", "limits", "device.name", "frost_threshold", a rule's field.

    [mqtt] and [forecast] keys are named as in the file ("mqtt.port"); a pair's as in its body ("temperature").
    """
    if key[0] == "customize" and len(key) > 2:
        return "limits" if key[2] in LIMIT_SIDES else key[2]
    if key[0] == "alerts" and len(key) > 3:
        return key[3]
    if key[0] == "derived" and len(key) > 2:
        return key[2]
    return ".".join(key)


def check_revision(snapshot: Snapshot, scope: str, item: str, seen: int | None) -> None:
    """Refuse a change to a thing that changed after the revision the client saw (None: no If-Match)."""
    if seen is not None and snapshot.revision_of(scope, item) > seen:
        raise StaleRevision(snapshot.revision_of(scope, item))


def plan(
    live: LiveSettings,
    change: Change,
    scope: str,
    item: str,
    seen: int | None,
    check: Callable[[Current], None] | None = None,
) -> Callable[[Snapshot], Edit]:
    """Return the store's plan for a change to one thing (scope, item), checked as the module says.

    check: one more look at the settings the change would make (a sensor's limits against its own).
    """

    def make(snapshot: Snapshot) -> Edit:
        check_revision(snapshot, scope, item, seen)
        entries = dict(snapshot.entries)
        effective = {key: value for key, value in change.items() if entries.get(key) != value}
        for key, value in effective.items():
            if value is None:
                entries.pop(key, None)
            else:
                entries[key] = value
        current = refuse_dropped(live, replace(snapshot, entries=MappingProxyType(entries)), effective)
        if check is not None and effective:
            check(current)
        touched = [Touch(scope, item, field_of(key)) for key in effective]
        return Edit(set=effective, touched=touched)

    return make


def limits_in_order(sensor: Sensor) -> Callable[[Current], None]:
    """Return a check that a sensor's low stays below its high, its own (the chip's) counted where not set."""

    def check(current: Current) -> None:
        custom = current.settings.sensor_overrides.customize.get(sensor.id)
        if custom is None or (custom.low is None and custom.high is None):
            return
        own = sensor.thresholds if sensor.uncustomized is None else sensor.uncustomized.thresholds
        low = own.get("min") if custom.low is None else custom.low
        high = own.get("max") if custom.high is None else custom.high
        if low is not None and high is not None and low >= high:
            whose = ", the sensor's own max" if custom.high is None else ""
            whose = ", the sensor's own min" if custom.low is None else whose
            raise BadField("limits", f"limits: low ({low:g}) must be below high ({high:g}){whose}")

    return check


def refuse_dropped(live: LiveSettings, candidate: Snapshot, change: Change) -> Current:
    """Resolve with the candidate layer; raise BadField for a value this change sets that would be dropped."""
    try:
        current = live.candidate(candidate)
    except SettingsError as error:  # a mistake the file is blamed for: the change made it, all the same
        raise BadField("body", str(error)) from None
    for dropped in current.resolved.dropped:
        for key, value in change.items():
            if value is not None and (dropped.key[: len(key)] == key or key[: len(dropped.key)] == dropped.key):
                field = field_of(key)
                where = "" if dropped.key == key else f" ({dotted(dropped.key)})"
                raise BadField(field, f"{field}: {dropped.problem}{where}")
    return current
