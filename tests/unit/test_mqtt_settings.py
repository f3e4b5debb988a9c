"""The MQTT publisher follows what is set in the browser (issue 22): names, places, hidden sensors, the
device's name and display units, the frost threshold, the broker itself; and the derived sensors and the
frost forecast as Home Assistant sees them. A fake broker connection (test_mqtt.py's); settings.db real.
"""
from __future__ import annotations

import dataclasses
import json
import logging

import pytest

import ha_schema
from frostserver.config import load_settings
from frostserver.config.alert_rules import BUILTIN_RULES
from frostserver.config.alerts import AlertsConfig
from frostserver.config.device import DeviceConfig
from frostserver.config.mqtt import MqttConfig
from frostserver.derived.sensors import sensors_of
from frostserver.config.derived import DerivedPair
from frostserver.model import FrostForecast
from frostserver.mqtt import discovery, status as mqtt_status
from frostserver.mqtt.discovery import object_id, sensor_entity
from frostserver.mqtt.publisher import Publisher
from frostserver.settings.live import LiveSettings
from frostserver.settings.store import Edit, SettingsStore, Touch
from frostserver.store.forecasts import ForecastsWriter
from test_mqtt import DEVICE, SECRET, TOPICS, Device_, FakeConnection, check_against_schema, sensor

OTHER_SECRET = "n3w-br0ker-pa55"


class Settings_:
    """The settings in force, as a test changes them (what LiveSettings hands the publisher)."""

    def __init__(self, settings):
        self.value = settings

    def __call__(self):
        return self.value

    def change(self, **fields) -> None:
        self.value = dataclasses.replace(self.value, **fields)


@pytest.fixture
def rig(tmp_path):
    garden = sensor("w1_slave_temp-virtual-0/temp1", "temperature", "Garden")
    fan = sensor("nct6779-isa-0a20/fan2", "fan", "CPU fan")
    device = Device_(tmp_path, [garden, fan])
    settings = load_settings({}, {
        "run_dir": device.run_dir, "history_dir": tmp_path / "history", "sysfs_root": tmp_path / "sys",
        "device": DeviceConfig("Greenhouse Pi"),
        "alerts": AlertsConfig(dashboard_url="http://greenhouse.local:8080/"),
        "mqtt": MqttConfig("broker.local", 1883, username="frost", password=SECRET, device_id="dev1"),
    }, read_file=False)
    (tmp_path / "history").mkdir()
    in_force = Settings_(settings)
    clock = [0.0]
    publisher = Publisher(settings, clock=lambda: clock[0], wall=lambda: 1700000000.0 + clock[0],
                          connect=FakeConnection, in_force=in_force)
    device.sample({garden.id: 4.5, fan.id: 1200.0})
    publisher.connection.up()
    step(publisher, clock)
    publisher.connection.ack_all()
    return publisher, device, clock, garden, fan, in_force


def step(publisher: Publisher, clock: list[float], seconds: float = 1.0) -> None:
    clock[0] += seconds
    publisher.look(clock[0])
    publisher.drain()
    publisher.write_status()
    if publisher.connection is not None:
        publisher.connection.ack_all()


def config_of(publisher: Publisher, sensor_id: str) -> dict | None:
    payload = publisher.connection.latest(publisher.topics.config("sensor", object_id(sensor_id)))
    return None if payload is None else (json.loads(payload) if payload else {})


# --- names, places, hidden -------------------------------------------------------------------------------


def test_a_rename_and_a_place_republish_the_config_under_the_same_unique_id(rig):
    publisher, device, clock, garden, fan, _ = rig
    before = config_of(publisher, garden.id)
    assert before["name"] == "Garden" and "suggested_area" not in before["device"]
    assert before["device"]["identifiers"] == ["frostserver_dev1"]
    device.sensors[garden.id] = dataclasses.replace(garden, label="Vegetable patch", place="Greenhouse")
    device.sample({garden.id: 4.5, fan.id: 1200.0})
    step(publisher, clock)
    after = config_of(publisher, garden.id)
    assert after["name"] == "Vegetable patch" and after["unique_id"] == before["unique_id"]
    # HA takes a suggested area only on a device: the place's, reached through the FrostServer device.
    assert after["device"]["suggested_area"] == "Greenhouse"
    assert after["device"]["via_device"] == "frostserver_dev1"
    assert after["device"]["identifiers"] != before["device"]["identifiers"]
    assert after["device"]["name"] == "Greenhouse Pi: Greenhouse"
    assert set(after["device"]) <= ha_schema.DEVICE_KEYS
    assert "suggested_area" not in config_of(publisher, fan.id)["device"]  # no place: none suggested


def test_a_place_is_text_and_two_places_are_two_devices():
    shed = sensor("config/a", "temperature", "A")
    hostile = dataclasses.replace(shed, place='"},"identifiers":["x"],"a":{"')
    other = dataclasses.replace(shed, place="Shed")
    one = sensor_entity(hostile, TOPICS, DEVICE).payload
    assert json.loads(one)["device"]["suggested_area"] == hostile.place
    assert (json.loads(one)["device"]["identifiers"]
            != json.loads(sensor_entity(other, TOPICS, DEVICE).payload)["device"]["identifiers"])


def test_a_hidden_sensor_is_removed_at_once_and_comes_back_when_shown(rig):
    publisher, device, clock, garden, fan, _ = rig
    topic = publisher.topics.config("sensor", object_id(fan.id))
    before = json.loads(publisher.connection.latest(topic))
    device.sensors[fan.id] = dataclasses.replace(fan, hidden=True)
    device.sample({garden.id: 4.5, fan.id: 1200.0})
    step(publisher, clock)  # one look: no REMOVE_AFTER wait, the sensor is there, hidden
    assert publisher.connection.latest(topic) == b""
    assert publisher.connection.latest(before["state_topic"]) == b""  # no retained state left behind
    device.sensors[fan.id] = fan
    device.sample({garden.id: 4.5, fan.id: 1201.0})
    step(publisher, clock)
    assert json.loads(publisher.connection.latest(topic))["unique_id"] == before["unique_id"]
    assert publisher.connection.latest(before["state_topic"]) == b"1201.0"


# --- the device's name, display units and frost threshold ----------------------------------------------


def test_the_device_name_and_fahrenheit_follow_the_settings_in_configs_and_states(rig):
    publisher, device, clock, garden, fan, in_force = rig
    threshold = json.loads(publisher.connection.latest(publisher.topics.config("sensor", "frost_threshold")))
    assert threshold["unit_of_measurement"] == "°C" and config_of(publisher, garden.id)["device"]["name"] == (
        "Greenhouse Pi")
    in_force.change(device=DeviceConfig("Shed Pi", "fahrenheit"), frost_threshold=0.5)
    device.sample({garden.id: 4.1, fan.id: 1200.0})
    step(publisher, clock, 11)  # past min_interval: the new values are due
    config = config_of(publisher, garden.id)
    assert (config["device"]["name"], config["unit_of_measurement"], config["device_class"]) == (
        "Shed Pi", "°F", "temperature")
    assert "°F" in ha_schema.SENSOR_DEVICE_CLASS_UNITS["temperature"]
    assert publisher.connection.latest(config["state_topic"]) == b"39.38"  # 4.1 °C; no float noise
    assert config_of(publisher, fan.id)["unit_of_measurement"] == "rpm"  # only temperatures convert
    assert publisher.connection.latest(config_of(publisher, fan.id)["state_topic"]) == b"1200.0"
    threshold = json.loads(publisher.connection.latest(publisher.topics.config("sensor", "frost_threshold")))
    assert threshold["unit_of_measurement"] == "°F" and threshold["device"]["name"] == "Shed Pi"
    assert publisher.connection.latest(publisher.topics.threshold_state) == b"32.9"
    alert = json.loads(publisher.connection.latest(publisher.topics.config("binary_sensor", "alert_frost")))
    assert alert["device"]["name"] == "Shed Pi"
    in_force.change(device=DeviceConfig("Shed Pi", "celsius"))
    step(publisher, clock, 11)
    assert config_of(publisher, garden.id)["unit_of_measurement"] == "°C"
    assert publisher.connection.latest(config_of(publisher, garden.id)["state_topic"]) == b"4.1"


# --- derived sensors and the frost forecast --------------------------------------------------------------


def test_derived_sensors_are_entities_of_their_right_class():
    pair = DerivedPair("greenhouse", "sht3x-i2c-1-44/temp1", "sht3x-i2c-1-44/humidity1", "Greenhouse air")
    found = {}
    for derived in sensors_of(pair):
        config = check_against_schema(sensor_entity(derived, TOPICS, DEVICE))
        device_class, unit = config["device_class"], config["unit_of_measurement"]
        assert unit in ha_schema.SENSOR_DEVICE_CLASS_UNITS[device_class]
        assert config["state_class"] in ha_schema.SENSOR_DEVICE_CLASS_STATE_CLASSES[device_class]
        found[derived.id] = (device_class, unit, config["name"])
    assert found == {
        "derived/greenhouse/dew_point": ("temperature", "°C", "Greenhouse air dew point"),
        "derived/greenhouse/frost_point": ("temperature", "°C", "Greenhouse air frost point"),
        "derived/greenhouse/absolute_humidity": ("absolute_humidity", "g/m³", "Greenhouse air absolute humidity"),
    }
    dew = sensors_of(pair)[0]
    assert check_against_schema(sensor_entity(dew, TOPICS, DEVICE, "fahrenheit"))["unit_of_measurement"] == "°F"


def test_both_frost_rules_are_cold_binary_sensors():
    names = {rule.name for rule in BUILTIN_RULES}
    assert {"frost", "frost_expected"} <= names
    for rule in BUILTIN_RULES:
        config = discovery.alert_entity(rule, TOPICS, DEVICE).config
        assert config["device_class"] == ("cold" if rule.name in ("frost", "frost_expected") else "problem")


def test_a_forecast_sensors_frost_eta_is_a_timestamp_sensor(rig):
    publisher, device, clock, garden, fan, _ = rig
    writer = ForecastsWriter(device.run_dir / "forecasts.json")
    writer.write([FrostForecast(garden.id, 1000.0, 1765163400.0, None)], 10800.0, 0.5)
    step(publisher, clock)
    topic = publisher.topics.config("sensor", f"{object_id(garden.id)}_frost_eta")
    config = json.loads(publisher.connection.latest(topic))
    check_against_schema(discovery.frost_eta_entity(garden, TOPICS, DEVICE))
    assert config["device_class"] == "timestamp" and "unit_of_measurement" not in config
    assert "state_class" not in config and config["name"] == "Garden frost expected"
    assert config["unique_id"] == f"dev1_{object_id(garden.id)}_frost_eta"
    assert publisher.connection.latest(config["state_topic"]) == b"2025-12-08T03:10:00+00:00"
    writer.write([FrostForecast(garden.id, 1100.0, None, "warming")], 10800.0, 0.5)
    step(publisher, clock, 11)
    assert publisher.connection.latest(config["state_topic"]) == b"None"  # unknown: no frost on its way
    assert publisher.connection.latest(publisher.topics.config("sensor", object_id(fan.id))) != b""


# --- the broker in force ---------------------------------------------------------------------------------


def test_the_broker_set_in_settings_db_is_followed_switched_removed_and_added(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="frostserver")
    run = tmp_path / "run"
    garden = sensor("w1_slave_temp-virtual-0/temp1", "temperature", "Garden")
    device = Device_(tmp_path, [garden])
    device.sample({garden.id: 4.5})
    config = tmp_path / "frostserver.toml"
    config.write_text('[mqtt]\nurl = "mqtt://broker.local:1883"\ndevice_id = "dev1"\n')
    live = LiveSettings({"FROST_CONFIG": str(config), "FROST_RUN_DIR": str(run)})
    store = SettingsStore(live.current().settings.accounts_home)
    made: list[FakeConnection] = []

    def connect(*args, **kwargs):
        made.append(FakeConnection(*args, **kwargs))
        return made[-1]

    clock = [0.0]
    publisher = Publisher(live.current().settings, clock=lambda: clock[0], connect=connect,
                          in_force=lambda: live.current().settings)
    try:
        assert [c.config.host for c in made] == ["broker.local"]
        made[0].up()
        step(publisher, clock)

        def browser(values: dict) -> None:
            store.write(lambda before: Edit(set=values, touched=[Touch("device", "", "mqtt")]), "ada", 1.0)

        browser({("mqtt", "url"): f"mqtt://frost:{OTHER_SECRET}@other.local:1884"})
        step(publisher, clock)  # the next look (a second) sees it
        assert made[0].published[-1][1].topic == "frostserver/dev1/status"  # the old one said "offline"
        assert made[0].published[-1][1].payload == b"offline"
        assert [(c.config.host, c.config.port, c.config.password) for c in made[1:]] == [
            ("other.local", 1884, OTHER_SECRET)]
        made[1].up()
        step(publisher, clock)
        assert made[1].latest(publisher.topics.config("sensor", object_id(garden.id))) is not None
        assert made[1].latest("frostserver/dev1/status") == b"online"
        status = mqtt_status.decode((run / mqtt_status.MQTT_FILE).read_bytes())
        assert status.broker == "mqtt://other.local:1884" and status.connected and status.enabled

        browser({("mqtt", "enabled"): False})
        step(publisher, clock)
        assert publisher.connection is None and made[1].published[-1][1].payload == b"offline"
        status = mqtt_status.decode((run / mqtt_status.MQTT_FILE).read_bytes())
        assert not status.enabled and not status.connected and status.broker == ""
        step(publisher, clock)
        assert len(made) == 2  # idle: no connection attempted

        browser({("mqtt", "enabled"): None})
        step(publisher, clock)
        assert len(made) == 3 and made[2].config.host == "other.local"
    finally:
        live.close()
        store.close()
    text = caplog.text + (run / mqtt_status.MQTT_FILE).read_text()
    assert OTHER_SECRET not in text and SECRET not in text
    assert "publishing to mqtt://other.local:1884 as device dev1" in caplog.text


def test_readyz_follows_the_publishers_word_on_whether_a_broker_is_set(tmp_path):
    from frostserver.http.mqtt_status import MqttStatusReader

    settings = load_settings({}, {"run_dir": tmp_path}, read_file=False)
    reader = MqttStatusReader(settings)
    assert reader.state() == "off"  # nothing set at the start, nothing said yet
    (tmp_path / mqtt_status.MQTT_FILE).write_bytes(
        mqtt_status.encode(mqtt_status.MqttStatus("mqtt://h:1883", True, 3, 1.0, True)))
    assert reader.state() == "connected" and reader.configured  # a broker set in the browser since
    (tmp_path / "x").write_bytes(mqtt_status.encode(mqtt_status.MqttStatus("", False, 3, 2.0, False)))
    (tmp_path / "x").replace(tmp_path / mqtt_status.MQTT_FILE)
    assert reader.state() == "off" and reader.current() is None


def test_settings_that_cannot_be_followed_leave_those_in_force_and_publishing_goes_on(rig, caplog):
    publisher, device, clock, garden, fan, in_force = rig

    def broken():
        raise RuntimeError("a bug in following the settings")

    publisher.in_force = broken
    device.sample({garden.id: 5.5, fan.id: 1200.0})
    step(publisher, clock, 11)
    step(publisher, clock, 11)
    assert publisher.connection.latest(config_of(publisher, garden.id)["state_topic"]) == b"5.5"
    assert caplog.text.count("the settings could not be followed") == 1  # once, not at every look
