"""What Home Assistant's MQTT discovery accepts, transcribed from its repository (home-assistant/core), for
the payload tests. Written out by hand, not derived from FrostServer's code, so the tests can disagree
with it. Each table names the file it comes from.
"""
from __future__ import annotations

# homeassistant/components/sensor/const.py, DEVICE_CLASS_UNITS (the device classes FrostServer uses):
# UnitOfTemperature, UnitOfElectricPotential, UnitOfElectricCurrent, UnitOfPower, UnitOfEnergy,
# PERCENTAGE, UnitOfFrequency (homeassistant/const.py).
SENSOR_DEVICE_CLASS_UNITS = {
    "temperature": {"°C", "°F", "K"},
    "voltage": {"V", "mV", "µV", "kV", "MV"},
    "current": {"A", "mA"},
    "power": {"mW", "W", "kW", "MW", "GW", "TW", "BTU/h"},
    "energy": {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"},
    "humidity": {"%"},
    "frequency": {"Hz", "kHz", "MHz", "GHz"},
    "absolute_humidity": {"g/m³", "mg/m³"},  # CONCENTRATION_GRAMS_PER_CUBIC_METER, ..._MILLIGRAMS_...
}
# The same file, DEVICE_CLASS_STATE_CLASSES.
SENSOR_DEVICE_CLASS_STATE_CLASSES = {
    "temperature": {"measurement"},
    "voltage": {"measurement"},
    "current": {"measurement"},
    "power": {"measurement"},
    "energy": {"total", "total_increasing"},
    "humidity": {"measurement"},
    "frequency": {"measurement"},
    "absolute_humidity": {"measurement"},
}
STATE_CLASSES = {"measurement", "measurement_angle", "total", "total_increasing"}  # SensorStateClass
# homeassistant/components/binary_sensor/__init__.py, BinarySensorDeviceClass (the ones used here).
BINARY_SENSOR_DEVICE_CLASSES = {"cold", "problem", "heat", "safety", "connectivity"}
# homeassistant/const.py: EntityCategory; a sensor's may only be diagnostic (mqtt/entity.py).
ENTITY_CATEGORIES = {"diagnostic"}

# homeassistant/components/mqtt/abbreviations.py: the full names of the keys FrostServer sends,
# each with the abbreviation HA also takes. A key not here would be one HA's schema removes
# (DISCOVERY_SCHEMA's extra=vol.REMOVE_EXTRA): a typo that does nothing.
KEYS = {
    "availability_topic": "avty_t",
    "device": "dev",
    "device_class": "dev_cla",
    "entity_category": "ent_cat",
    "json_attributes_topic": "json_attr_t",
    "name": "name",
    "origin": "o",
    "payload_available": "pl_avail",
    "payload_not_available": "pl_not_avail",
    "payload_off": "pl_off",
    "payload_on": "pl_on",
    "state_class": "stat_cla",
    "state_topic": "stat_t",
    "suggested_display_precision": "sug_dsp_prc",
    "unique_id": "uniq_id",
    "unit_of_measurement": "unit_of_meas",
}
# The same file, DEVICE_ABBREVIATIONS, and mqtt/schemas.py's MQTT_ENTITY_DEVICE_INFO_SCHEMA.
DEVICE_KEYS = {"identifiers", "connections", "manufacturer", "model", "name", "hw_version", "serial_number",
               "sw_version", "via_device", "suggested_area", "configuration_url"}
# mqtt/schemas.py, MQTT_ORIGIN_INFO_SCHEMA: name required.
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
# mqtt/sensor.py and binary_sensor.py (MQTT_RO_SCHEMA): state_topic is required.
REQUIRED = {"state_topic"}
# home-assistant.io, source/_integrations/mqtt.markdown, "Discovery topic": node and object ids.
TOPIC_ID = r"[a-zA-Z0-9_-]+"
