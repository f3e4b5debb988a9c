"""Home Assistant's MQTT discovery: the topics, and the config payload of every entity of this device.

Followed, and cited where each rule comes from (Home Assistant's repository, home-assistant/core):

- the discovery topic `<prefix>/<component>/[<node_id>/]<object_id>/config`, node and object ids
  of `[a-zA-Z0-9_-]` only (home-assistant.io, source/_integrations/mqtt.markdown, "Discovery
  topic"); the node id is this device's id, so several devices on one broker never share a topic;
- full key names, no abbreviations (components/mqtt/abbreviations.py lists the short forms; HA
  takes both, and the full ones are what its documentation and a person reading the broker know);
- a sensor: `state_topic`, `unique_id`, `device_class`, `unit_of_measurement`, `state_class`,
  `suggested_display_precision` (components/mqtt/sensor.py, _PLATFORM_SCHEMA_BASE), with each
  device class's units and state classes as components/sensor/const.py's DEVICE_CLASS_UNITS and
  DEVICE_CLASS_STATE_CLASSES allow them (KINDS below); a state "None" sets it unknown (sensor.py,
  PAYLOAD_NONE);
- a binary sensor: `payload_on` "ON", `payload_off` "OFF" (components/mqtt/binary_sensor.py's
  defaults, written out), device class `problem`, or `cold` for frost;
- the device: `identifiers`, `name`, `manufacturer`, `model`, `hw_version`, `sw_version`,
  `configuration_url`, `suggested_area` (components/mqtt/schemas.py,
  MQTT_ENTITY_DEVICE_INFO_SCHEMA: at least one identifier; a configuration URL http(s)://), and
  `origin` with its required `name` (MQTT_ORIGIN_INFO_SCHEMA);
- availability: one `availability_topic` with `payload_available` "online" and
  `payload_not_available` "offline" (schemas.py, MQTT_AVAILABILITY_SINGLE_SCHEMA's defaults,
  written out), retained, and the client's last will says "offline";
- an empty retained config removes an entity ("a configuration update with an empty payload will
  cause a previously discovered device to be deleted", mqtt.markdown).

Units are FrostServer's own (SI; model.UNITS), except temperatures, which are in the device's
display units ([device] units, set in the browser or the file): °F states with a "°F" config when it
says "fahrenheit", converted by units.py, the one place that converts. HA would convert by itself,
but the issue asks for the sensor's display unit, and a config unit that matches its states is what
HA's schema expects. Two unit strings differ from FrostServer's because HA's device classes accept
only theirs: humidity is "%" (HA's PERCENTAGE, not "%RH") and fans are "rpm" (homeassistant/const.py,
REVOLUTIONS_PER_MINUTE; no device class measures rotation). A derived absolute humidity (g/m³) is
HA's `absolute_humidity` class (components/sensor/const.py: CONCENTRATION_GRAMS_PER_CUBIC_METER).

What a person set (issue 22: the browser or the file's [customize]) is what HA shows: an entity's
name is the sensor's label; a hidden sensor has no entity; the device's name is [device] name. A
place is an area, and HA takes `suggested_area` only on a device (MQTT_ENTITY_DEVICE_INFO_SCHEMA;
an entity has no such key): the sensors of a place are one HA device per place, linked to the
FrostServer device by `via_device`, with the place as its suggested area; a sensor in no place is on
the FrostServer device itself, which suggests none. HA applies a suggested area only when it first
makes a device (home-assistant/core#162557 and the threads it cites), so a renamed place is a new
device with its suggestion, and an area the user picked in HA stays theirs. The unique id never
carries the place: a move is the same entity with a new `device` (not checked against a running HA
here: its image needs a Python Debian does not have, MACHINE-FACTS.md).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from .. import units as display
from ..config.alert_rules import FROST, FROST_EXPECTED, FROST_THRESHOLD, AlertRule
from ..config.device import CELSIUS
from ..model import Sensor

AVAILABLE, NOT_AVAILABLE = "online", "offline"
ON, OFF = "ON", "OFF"
UNKNOWN = "None"  # HA's PAYLOAD_NONE: the sensor's state becomes unknown
MANUFACTURER = "FrostServer"
COLD_RULES = (FROST, FROST_EXPECTED)  # binary sensors of device class "cold": frost now, frost on its way


@dataclass(frozen=True)
class KindClass:
    """How Home Assistant sees one kind of FrostServer sensor."""

    device_class: str | None  # None: a generic sensor (HA has no class for it)
    unit: str | None  # as HA's device class accepts it; None: no unit
    state_class: str  # "measurement", or "total_increasing" for a counter that only grows
    precision: int  # suggested_display_precision: decimals HA shows


# Each kind of model.UNITS as HA's sensor component accepts it (components/sensor/const.py):
# DEVICE_CLASS_UNITS lists °C for temperature, V for voltage, A for current, W for power, J for
# energy (UnitOfEnergy.JOULE: HA converts to kWh for display and the energy dashboard), % for
# humidity, Hz for frequency; DEVICE_CLASS_STATE_CLASSES allows only total or total_increasing for
# energy (hwmon's energyN_input counts up from boot) and measurement for the others.
KINDS: Mapping[str, KindClass] = {
    "temperature": KindClass("temperature", "°C", "measurement", 1),
    "voltage": KindClass("voltage", "V", "measurement", 2),
    "current": KindClass("current", "A", "measurement", 2),
    "power": KindClass("power", "W", "measurement", 1),
    "energy": KindClass("energy", "J", "total_increasing", 0),
    "humidity": KindClass("humidity", "%", "measurement", 1),
    "fan": KindClass(None, "rpm", "measurement", 0),
    "pwm": KindClass(None, "%", "measurement", 0),
    "frequency": KindClass("frequency", "Hz", "measurement", 0),
    "intrusion": KindClass(None, None, "measurement", 0),
}
OTHER = KindClass(None, None, "measurement", 2)  # "other", and a config sensor's own unit
# A unit that is not its kind's model.UNITS one, by (kind, unit): the derived absolute humidity (kind
# humidity, g/m³: derived/sensors.py), HA's absolute_humidity class.
BY_UNIT: Mapping[tuple[str, str], KindClass] = {
    ("humidity", "g/m³"): KindClass("absolute_humidity", "g/m³", "measurement", 1),
}


def kind_class(sensor: Sensor, units: str = CELSIUS) -> KindClass:
    """Return how HA sees a sensor, in the display units: its kind's class, or a generic one with its own unit."""
    by_unit = BY_UNIT.get((sensor.kind, sensor.unit))
    if by_unit is not None:
        return by_unit
    known = KINDS.get(sensor.kind)
    if known is None:
        return KindClass(None, sensor.unit or None, OTHER.state_class, OTHER.precision)
    if known.unit is not None and display.converts(known.unit, units):
        return KindClass(known.device_class, display.shown_unit(known.unit, units), known.state_class, known.precision)
    return known


# --- what a person set: names, places, what is shown -------------------------------------------------


def entity_name(sensor: Sensor) -> str:
    """Return the name HA shows for a sensor: its label as the catalog has it (the browser's, [customize]'s, ...)."""
    return sensor.label or sensor.id


def suggested_area(sensor: Sensor) -> str | None:
    """Return the area HA suggests for a sensor: its place (None: in no place)."""
    return sensor.place or None


def shown(sensor: Sensor) -> bool:
    """Tell whether a sensor gets an entity: neither ignored (lm-sensors) nor hidden (the browser)."""
    return not sensor.ignored and not sensor.hidden


# --- topics -------------------------------------------------------------------------------------------


_NOT_ID = re.compile(r"[^A-Za-z0-9-]+")


def object_id(sensor_id: str) -> str:
    """Return a sensor's id as a discovery object id: readable, of HA's characters, one per id.

    "coretemp-isa-0000/temp1" -> "coretemp-isa-0000_temp1_5d0e7bd1a2": the readable part may be the
    same for two ids ("a/b_c", "a_b/c"), the digest of the whole id tells them apart.
    """
    readable = _NOT_ID.sub("_", sensor_id).strip("_")[:64] or "sensor"
    return f"{readable}_{hashlib.sha256(sensor_id.encode()).hexdigest()[:10]}"


def frost_eta_object_id(sensor_id: str) -> str:
    """Return the object id of a sensor's frost ETA entity (frost_eta_entity's, and what hiding the sensor removes)."""
    return f"{object_id(sensor_id)}_frost_eta"


@dataclass(frozen=True)
class Topics:
    """Every topic of one device: HA's discovery topics under `prefix`, ours under `base/<device_id>`."""

    prefix: str  # HA's discovery prefix, "homeassistant"
    base: str  # ours, "frostserver"
    device_id: str

    @property
    def root(self) -> str:
        return f"{self.base}/{self.device_id}"

    @property
    def availability(self) -> str:
        return f"{self.root}/status"

    @property
    def birth(self) -> str:
        """Where HA says it (re)started: "online" there asks every device to publish its discovery again."""
        return f"{self.prefix}/status"

    def config(self, component: str, object_id: str) -> str:
        return f"{self.prefix}/{component}/{self.device_id}/{object_id}/config"

    def configs_of_device(self, component: str) -> str:
        """The subscription that finds this device's retained configs (to remove what is gone)."""
        return f"{self.prefix}/{component}/{self.device_id}/+/config"

    def sensor_state(self, object_id: str) -> str:
        return f"{self.root}/sensor/{object_id}/state"

    def alert_state(self, rule: str) -> str:
        return f"{self.root}/alert/{rule}/state"

    def alert_attributes(self, rule: str) -> str:
        return f"{self.root}/alert/{rule}/attributes"

    def frost_eta_state(self, object_id: str) -> str:
        return f"{self.root}/sensor/{object_id}/frost_eta"

    @property
    def threshold_state(self) -> str:
        return f"{self.root}/frost_threshold/state"


# --- payloads -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    """The one HA device a FrostServer device is."""

    id: str
    name: str  # [device] name (issue 22: the name set in the browser)
    sw_version: str
    hw_version: str | None = None  # the board, from sysfs (device.board_model)
    configuration_url: str | None = None  # the dashboard ([alerts] dashboard_url)
    place: str | None = None  # a place's device (of_place): its sensors' place, HA's suggested area

    @property
    def identifier(self) -> str:
        return f"frostserver_{self.id}"

    def of_place(self, place: str | None) -> Device:
        """Return the HA device of a place's sensors (this device itself for None: no place)."""
        if not place:
            return self
        return replace(self, place=place)

    def payload(self) -> dict[str, Any]:
        """Return the `device` object of a config."""
        device: dict[str, Any] = {
            "identifiers": [self.identifier],
            "name": self.name,
            "manufacturer": MANUFACTURER,
            "model": "FrostServer",
            "sw_version": self.sw_version,
        }
        if self.place:
            # One HA device per place: its own identifier (the place's digest: any text, one per
            # place), shown as "<device>: <place>" (two devices on one broker may both have a
            # "Greenhouse"), reached through the FrostServer device.
            digest = hashlib.sha256(self.place.encode()).hexdigest()[:10]
            device["identifiers"] = [f"{self.identifier}_place_{digest}"]
            device["name"] = f"{self.name}: {self.place}"
            device["via_device"] = self.identifier
            device["suggested_area"] = self.place
        if self.hw_version:
            device["hw_version"] = self.hw_version
        if self.configuration_url:
            device["configuration_url"] = self.configuration_url
        return device


@dataclass(frozen=True)
class Entity:
    """One HA entity of this device: where its config goes and what it says (or None: removed)."""

    component: str  # "sensor" or "binary_sensor"
    object_id: str
    config: dict[str, Any]
    state_topic: str

    @functools.cached_property
    def payload(self) -> bytes:
        """Return the config payload (JSON, keys in the order written), encoded once per entity.

        The publisher compares it with what the broker has at every look, for every sensor; a
        sensor's entity is made again only when its metadata changes.
        """
        return json.dumps(self.config, ensure_ascii=False, separators=(",", ":")).encode()


def _common(topics: Topics, device: Device, name: str, unique_id: str, state_topic: str) -> dict[str, Any]:
    return {
        "name": name,
        "unique_id": unique_id,
        "state_topic": state_topic,
        "availability_topic": topics.availability,
        "payload_available": AVAILABLE,
        "payload_not_available": NOT_AVAILABLE,
        "device": device.payload(),
        "origin": {"name": MANUFACTURER, "sw_version": device.sw_version},
    }


def sensor_entity(sensor: Sensor, topics: Topics, device: Device, units: str = CELSIUS) -> Entity:
    """Return a sensor's entity: unique id from the device's id and the sensor's stable id, never its name."""
    oid = object_id(sensor.id)
    state_topic = topics.sensor_state(oid)
    config = _common(
        topics, device.of_place(suggested_area(sensor)), entity_name(sensor), f"{device.id}_{oid}", state_topic
    )
    cls = kind_class(sensor, units)
    if cls.device_class is not None:
        config["device_class"] = cls.device_class
    if cls.unit is not None:
        config["unit_of_measurement"] = cls.unit
    config["state_class"] = cls.state_class
    config["suggested_display_precision"] = cls.precision
    return Entity("sensor", oid, config, state_topic)


def alert_entity(rule: AlertRule, topics: Topics, device: Device) -> Entity:
    """Return a rule's binary sensor: ON while any alert of the rule fires (which ones: its attributes)."""
    oid = f"alert_{rule.name}"
    state_topic = topics.alert_state(rule.name)
    config = _common(topics, device, rule_name(rule.name), f"{device.id}_{oid}", state_topic)
    config["device_class"] = "cold" if rule.name in COLD_RULES else "problem"
    config["payload_on"], config["payload_off"] = ON, OFF
    config["json_attributes_topic"] = topics.alert_attributes(rule.name)
    return Entity("binary_sensor", oid, config, state_topic)


def frost_eta_entity(sensor: Sensor, topics: Topics, device: Device) -> Entity:
    """Return a forecast sensor's frost ETA: a timestamp sensor, unknown while no frost is on its way."""
    oid = frost_eta_object_id(sensor.id)
    state_topic = topics.frost_eta_state(object_id(sensor.id))
    config = _common(
        topics,
        device.of_place(suggested_area(sensor)),
        f"{entity_name(sensor)} frost expected",
        f"{device.id}_{oid}",
        state_topic,
    )
    config["device_class"] = "timestamp"  # no unit, no state class: HA's timestamp sensors take neither
    return Entity("sensor", oid, config, state_topic)


def threshold_entity(topics: Topics, device: Device, units: str = CELSIUS) -> Entity:
    """Return the frost threshold's sensor: a setting, shown among the device's diagnostics."""
    oid = FROST_THRESHOLD
    config = _common(topics, device, "Frost threshold", f"{device.id}_{oid}", topics.threshold_state)
    config["device_class"] = "temperature"
    config["unit_of_measurement"] = display.shown_unit(display.CELSIUS_UNIT, units)
    config["suggested_display_precision"] = KINDS["temperature"].precision
    config["entity_category"] = "diagnostic"  # a setting, not a measurement: no state_class, no statistics
    return Entity("sensor", oid, config, topics.threshold_state)


def rule_name(rule: str) -> str:
    """Name a rule's entity: "temperature_max" -> "Temperature max"."""
    words = rule.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else rule


def state_text(value: float | None, unit: str = "", units: str = CELSIUS) -> str:
    """Return a sensor's state in the display units: the number, shortest round trip, or "None" (unknown).

    A temperature in °F is rounded to 3 decimals (the API's °C are): 9/5 turns 4.5 into 40.1 but
    4.1 into 39.379999999999995, a float's noise, not a reading's.
    """
    if value is None or not math.isfinite(value):
        return UNKNOWN
    if display.converts(unit, units):
        return repr(round(display.shown(value, unit, units), 3))
    return repr(float(value))


def timestamp_text(when: float | None) -> str:
    """Return a timestamp sensor's state: ISO 8601 in UTC ("2026-12-08T03:10:00+00:00"), or "None" (unknown)."""
    if when is None or not math.isfinite(when):
        return UNKNOWN
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")
