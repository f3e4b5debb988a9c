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

Units are FrostServer's own (SI, °C; model.UNITS), which Home Assistant converts for display as
its user likes (°F, mV, kWh, ...): no second place converts units. Two unit strings differ from
FrostServer's because HA's device classes accept only theirs: humidity is "%" (HA's PERCENTAGE,
not "%RH") and fans are "rpm" (homeassistant/const.py, REVOLUTIONS_PER_MINUTE; no device class
measures rotation).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config.alert_rules import FROST_THRESHOLD, AlertRule
from ..model import Sensor

AVAILABLE, NOT_AVAILABLE = "online", "offline"
ON, OFF = "ON", "OFF"
UNKNOWN = "None"  # HA's PAYLOAD_NONE: the sensor's state becomes unknown
MANUFACTURER = "FrostServer"
FROST_RULE = "frost"


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


def kind_class(sensor: Sensor) -> KindClass:
    """Return how HA sees a sensor: its kind's class, or a generic one with the sensor's own unit."""
    known = KINDS.get(sensor.kind)
    if known is not None:
        return known
    return KindClass(None, sensor.unit or None, OTHER.state_class, OTHER.precision)


# --- the seams issue 22 fills in: names, places, what is shown ----------------------------------------


def entity_name(sensor: Sensor) -> str:
    """Return the name HA shows for a sensor: its label (the catalog's: lm-sensors', [relabel]'s)."""
    return sensor.label or sensor.id


def suggested_area(_sensor: Sensor | None = None) -> str | None:
    """Return the area HA suggests for the device; None until places are set in the browser (issue 22)."""
    return None


def shown(sensor: Sensor) -> bool:
    """Tell whether a sensor gets an entity: every sensor the API shows (issue 22 adds hidden ones)."""
    return not sensor.ignored


# --- topics -------------------------------------------------------------------------------------------


_NOT_ID = re.compile(r"[^A-Za-z0-9-]+")


def object_id(sensor_id: str) -> str:
    """Return a sensor's id as a discovery object id: readable, of HA's characters, one per id.

    "coretemp-isa-0000/temp1" -> "coretemp-isa-0000_temp1_5d0e7bd1a2": the readable part may be the
    same for two ids ("a/b_c", "a_b/c"), the digest of the whole id tells them apart.
    """
    readable = _NOT_ID.sub("_", sensor_id).strip("_")[:64] or "sensor"
    return f"{readable}_{hashlib.sha256(sensor_id.encode()).hexdigest()[:10]}"


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

    @property
    def threshold_state(self) -> str:
        return f"{self.root}/frost_threshold/state"


# --- payloads -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    """The one HA device a FrostServer device is."""

    id: str
    name: str  # [alerts] device_name (issue 22: the name set in the browser)
    sw_version: str
    hw_version: str | None = None  # the board, from sysfs (device.board_model)
    configuration_url: str | None = None  # the dashboard ([alerts] dashboard_url)
    area: str | None = None  # suggested_area()

    def payload(self) -> dict[str, Any]:
        """Return the `device` object of every config."""
        device: dict[str, Any] = {
            "identifiers": [f"frostserver_{self.id}"],
            "name": self.name,
            "manufacturer": MANUFACTURER,
            "model": "FrostServer",
            "sw_version": self.sw_version,
        }
        if self.hw_version:
            device["hw_version"] = self.hw_version
        if self.configuration_url:
            device["configuration_url"] = self.configuration_url
        if self.area:
            device["suggested_area"] = self.area
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


def sensor_entity(sensor: Sensor, topics: Topics, device: Device) -> Entity:
    """Return a sensor's entity: unique id from the device's id and the sensor's stable id, never its name."""
    oid = object_id(sensor.id)
    state_topic = topics.sensor_state(oid)
    config = _common(topics, device, entity_name(sensor), f"{device.id}_{oid}", state_topic)
    cls = kind_class(sensor)
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
    config["device_class"] = "cold" if rule.name == FROST_RULE else "problem"
    config["payload_on"], config["payload_off"] = ON, OFF
    config["json_attributes_topic"] = topics.alert_attributes(rule.name)
    return Entity("binary_sensor", oid, config, state_topic)


def threshold_entity(topics: Topics, device: Device) -> Entity:
    """Return the frost threshold's sensor: a setting, shown among the device's diagnostics."""
    oid = FROST_THRESHOLD
    config = _common(topics, device, "Frost threshold", f"{device.id}_{oid}", topics.threshold_state)
    config["device_class"] = "temperature"
    config["unit_of_measurement"] = KINDS["temperature"].unit
    config["suggested_display_precision"] = KINDS["temperature"].precision
    config["entity_category"] = "diagnostic"  # a setting, not a measurement: no state_class, no statistics
    return Entity("sensor", oid, config, topics.threshold_state)


def rule_name(rule: str) -> str:
    """Name a rule's entity: "temperature_max" -> "Temperature max"."""
    words = rule.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else rule


def state_text(value: float | None) -> str:
    """Return a sensor's state: the number as the API writes it (shortest round trip), or "None" (unknown)."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return UNKNOWN
    return repr(float(value))
