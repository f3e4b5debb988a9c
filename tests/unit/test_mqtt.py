"""The MQTT publisher: [mqtt] and FROST_MQTT_URL, Home Assistant's discovery payloads against its schema,
the rate of states on a fake clock, bounded memory with the broker away, one log line per outage, and what
/metrics and /readyz say. No broker here: tests/integration/test_mqtt.py has the real Mosquitto.
"""
from __future__ import annotations

import json
import logging
import os
import re
import socket

import pytest

import ha_schema
from frostserver.config import ConfigError, load_settings, resolve
from frostserver.config.alert_rules import BUILTIN_RULES
from frostserver.config.alerts import AlertsConfig
from frostserver.config.mqtt import MqttConfig, parse_mqtt
from frostserver.config.errors import Invalid
from frostserver.http import create_app
from frostserver.model import UNITS, Reading, Sensor
from frostserver.mqtt import discovery, status as mqtt_status
from frostserver.mqtt.connection import BrokerConnection, refusal
from frostserver.mqtt.device import DEVICE_ID_FILE, board_model, device_id
from frostserver.mqtt.discovery import Device, Topics, object_id, sensor_entity
from frostserver.mqtt.outbox import Message, Outbox
from frostserver.mqtt.publisher import REMOVE_AFTER, Publisher
from frostserver.mqtt.schedule import StateSchedule
from frostserver.store import LOCK_FILE
from frostserver.store.liveness import SamplerLock
from frostserver.store.writer import StoreWriter

from clocks import WallClock

SECRET = "pa55-w0rd-9913"


def sensor(sensor_id: str, kind: str, label: str, unit: str | None = None) -> Sensor:
    chip, channel = sensor_id.split("/")
    return Sensor(sensor_id, chip, chip.split("-")[0], channel, kind, label, UNITS[kind] if unit is None else unit)


# --- [mqtt] and FROST_MQTT_URL ------------------------------------------------------------------------


def test_a_url_gives_host_port_tls_user_and_password():
    config = parse_mqtt({"url": f"mqtts://frost:{SECRET.replace('-', '%2D')}@broker.example"})
    assert (config.host, config.port, config.tls, config.username, config.password) == (
        "broker.example", 8883, True, "frost", SECRET)
    plain = parse_mqtt({"url": "mqtt://10.0.0.7:1884", "protocol": "5", "min_interval": "2s", "max_interval": "1m"})
    assert (plain.port, plain.tls, plain.username, plain.protocol, plain.min_interval, plain.max_interval) == (
        1884, False, None, "5", 2.0, 60.0)
    assert parse_mqtt({"host": "broker.local", "tls": True, "username": "u", "password": "p"}).port == 8883


@pytest.mark.parametrize("table, key, says", [
    ({}, "mqtt", "needs a broker"),
    ({"url": f"http://frost:{SECRET}@h"}, "mqtt.url", "mqtt:// or mqtts://"),
    ({"url": f"mqtt://frost:{SECRET}@h:99999"}, "mqtt.url", "port cannot be read"),
    ({"url": f"mqtt://frost:{SECRET}@h/topic"}, "mqtt.url", "only scheme://"),
    ({"url": "mqtt://h", "host": "h"}, "mqtt.url", "not both"),
    ({"url": f"mqtt://frost:{SECRET}@h", "password": SECRET}, "mqtt.password", "in one place"),
    ({"host": "h", "password": SECRET}, "mqtt.password", "needs a user name"),
    ({"host": "h", "ca_file": "/ca.pem"}, "mqtt.ca_file", "is for TLS"),
    ({"host": "h", "protocol": "3"}, "mqtt.protocol", "3.1.1, 5"),
    ({"host": "h", "min_interval": "0.5s"}, "mqtt.min_interval", "at least 1 s"),
    ({"host": "h", "min_interval": "1m", "max_interval": "30s"}, "mqtt.max_interval", "at least min_interval"),
    ({"host": "h", "discovery_prefix": "home/#"}, "mqtt.discovery_prefix", "topic levels"),
    ({"host": "h", "device_id": "a b"}, "mqtt.device_id", "1 to 32 letters"),
    ({"host": "h", "passwrd": SECRET}, "mqtt.passwrd", "did you mean 'password'"),
])
def test_a_mistake_names_its_key_and_never_the_password(tmp_path, table, key, says):
    path = tmp_path / "frostserver.toml"
    path.write_text("[mqtt]\n" + "".join(f"{name} = {json.dumps(value)}\n" for name, value in table.items()))
    with pytest.raises(ConfigError) as raised:
        load_settings({"FROST_CONFIG": str(path)})
    message = str(raised.value)
    assert message.startswith(f"{path}: {key}: ") and says in message, message
    assert SECRET not in message


def test_frost_mqtt_url_is_the_brokers_url_blamed_on_the_variable_and_masked(tmp_path):
    path = tmp_path / "frostserver.toml"
    path.write_text('[mqtt]\nmin_interval = "5s"\n')
    resolved = resolve({"FROST_CONFIG": str(path), "FROST_MQTT_URL": f"mqtt://frost:{SECRET}@mosquitto:1883"})
    config = resolved.settings.mqtt
    assert (config.host, config.username, config.password, config.min_interval) == ("mosquitto", "frost", SECRET, 5.0)
    assert resolved["mqtt.url"].source == "environment" and resolved["mqtt.min_interval"].source == "file"
    assert resolved["mqtt.url"].shown == "mqtt://mosquitto:1883" == resolved["FROST_MQTT_URL"].shown
    for text in (repr(resolved.entries), repr(resolved.settings), repr(config), config.shown):
        assert SECRET not in text
    with pytest.raises(ConfigError) as raised:
        resolve({"FROST_MQTT_URL": f"mqtt://frost:{SECRET}@"})
    assert str(raised.value).startswith("FROST_MQTT_URL: mqtt.url: has no host") and SECRET not in str(raised.value)


def test_without_a_broker_mqtt_is_off():
    assert load_settings({}, read_file=False).mqtt is None
    assert resolve({}).settings.mqtt is None


# --- discovery payloads against Home Assistant's schema ----------------------------------------------

TOPICS = Topics("homeassistant", "frostserver", "a1b2c3d4e5f6")
DEVICE = Device("a1b2c3d4e5f6", "Greenhouse", "0.2.0", "Raspberry Pi 4 Model B", "http://greenhouse.local:8080/")
EVERY_KIND = [
    sensor("coretemp-isa-0000/temp1", "temperature", "Package id 0"),
    sensor("ina219-i2c-1-40/in1", "voltage", "Bus"),
    sensor("ina219-i2c-1-40/curr1", "current", "Shunt"),
    sensor("ina219-i2c-1-40/power1", "power", "Load"),
    sensor("rapl-virtual-0/energy1", "energy", "Package energy"),
    sensor("sht3x-i2c-1-44/humidity1", "humidity", "Air"),
    sensor("nct6779-isa-0a20/fan2", "fan", "CPU fan"),
    sensor("nct6779-isa-0a20/pwm2", "pwm", "CPU fan duty"),
    sensor("amdgpu-pci-0300/freq1", "frequency", "sclk"),
    sensor("nct6779-isa-0a20/intrusion0", "intrusion", "Case"),
    sensor("config/load", "other", "Load average", unit="load"),
]


def check_against_schema(entity) -> dict:
    """Assert what HA's discovery schema asks of a config; return the config."""
    config = entity.config
    assert set(config) <= set(ha_schema.KEYS), set(config) - set(ha_schema.KEYS)
    assert ha_schema.REQUIRED <= set(config)
    assert set(config["device"]) <= ha_schema.DEVICE_KEYS and config["device"]["identifiers"]
    assert set(config["origin"]) <= ha_schema.ORIGIN_KEYS and config["origin"]["name"]
    assert config["payload_available"] == "online" and config["payload_not_available"] == "offline"
    assert config["availability_topic"] == "frostserver/a1b2c3d4e5f6/status"
    assert re.fullmatch(ha_schema.TOPIC_ID, entity.object_id)
    assert json.loads(entity.payload) == config
    return config


@pytest.mark.parametrize("item", EVERY_KIND, ids=lambda s: s.kind)
def test_every_kind_is_a_sensor_home_assistant_accepts(item):
    config = check_against_schema(sensor_entity(item, TOPICS, DEVICE))
    device_class, unit, state_class = (config.get(k) for k in ("device_class", "unit_of_measurement", "state_class"))
    assert state_class in ha_schema.STATE_CLASSES
    if device_class is not None:
        assert unit in ha_schema.SENSOR_DEVICE_CLASS_UNITS[device_class]
        assert state_class in ha_schema.SENSOR_DEVICE_CLASS_STATE_CLASSES[device_class]
    assert isinstance(config["suggested_display_precision"], int) and config["suggested_display_precision"] >= 0
    assert config["name"] == item.label
    expected = {"temperature": ("temperature", "°C"), "voltage": ("voltage", "V"), "current": ("current", "A"),
                "power": ("power", "W"), "energy": ("energy", "J"), "humidity": ("humidity", "%"),
                "fan": (None, "rpm"), "pwm": (None, "%"), "frequency": ("frequency", "Hz"), "intrusion": (None, None),
                "other": (None, "load")}[item.kind]
    assert (device_class, unit) == expected
    assert state_class == ("total_increasing" if item.kind == "energy" else "measurement")


def test_the_unique_id_is_the_devices_and_the_sensors_id_and_a_rename_keeps_it():
    probe = sensor("w1_slave_temp-virtual-0/temp1", "temperature", "Garden")
    renamed = sensor("w1_slave_temp-virtual-0/temp1", "temperature", "Vegetable patch")
    before, after = sensor_entity(probe, TOPICS, DEVICE), sensor_entity(renamed, TOPICS, DEVICE)
    assert before.config["unique_id"] == after.config["unique_id"] == f"a1b2c3d4e5f6_{object_id(probe.id)}"
    assert (before.config["name"], after.config["name"]) == ("Garden", "Vegetable patch")
    other_device = Topics("homeassistant", "frostserver", "ffffffffffff")
    elsewhere = sensor_entity(probe, other_device, Device("ffffffffffff", "Shed", "0.2.0"))
    assert elsewhere.config["unique_id"] != before.config["unique_id"]  # two devices on one broker
    assert TOPICS.config("sensor", before.object_id) != other_device.config("sensor", before.object_id)


def test_object_ids_are_of_has_characters_and_tell_ids_apart():
    ids = ["coretemp-isa-0000/temp1", "a/b_c", "a_b/c", "nct6779-isa-0a20~2/in0", "config/x.y", "config/x_y", "ünï/çødé"]
    objects = [object_id(i) for i in ids]
    assert all(re.fullmatch(ha_schema.TOPIC_ID, o) for o in objects)
    assert len(set(objects)) == len(ids)
    assert objects[0].startswith("coretemp-isa-0000_temp1_") and object_id(ids[0]) == objects[0]  # stable


def test_alerts_are_binary_sensors_cold_for_frost_and_problem_otherwise():
    for rule in BUILTIN_RULES:
        entity = discovery.alert_entity(rule, TOPICS, DEVICE)
        config = check_against_schema(entity)
        assert entity.component == "binary_sensor" and config["device_class"] in ha_schema.BINARY_SENSOR_DEVICE_CLASSES
        assert config["device_class"] == ("cold" if rule.name in ("frost", "frost_expected") else "problem")
        assert (config["payload_on"], config["payload_off"]) == ("ON", "OFF")
    threshold = check_against_schema(discovery.threshold_entity(TOPICS, DEVICE))
    assert threshold["entity_category"] in ha_schema.ENTITY_CATEGORIES and "state_class" not in threshold


def test_the_device_says_what_it_is_and_links_the_dashboard():
    device = sensor_entity(EVERY_KIND[0], TOPICS, DEVICE).config["device"]
    assert device == {"identifiers": ["frostserver_a1b2c3d4e5f6"], "name": "Greenhouse", "manufacturer": "FrostServer",
                      "model": "FrostServer", "sw_version": "0.2.0", "hw_version": "Raspberry Pi 4 Model B",
                      "configuration_url": "http://greenhouse.local:8080/"}
    assert discovery.suggested_area(EVERY_KIND[0]) is None  # in no place: the FrostServer device, no area


def test_a_label_that_is_hostile_text_stays_text_in_the_json():
    hostile = sensor("config/x", "temperature", '"},{"unique_id":"x')
    encoded = sensor_entity(hostile, TOPICS, DEVICE).payload
    assert json.loads(encoded)["name"] == '"},{"unique_id":"x'
    assert json.loads(encoded)["unique_id"].startswith("a1b2c3d4e5f6_config_x_")


def test_a_state_is_the_apis_number_or_unknown():
    assert discovery.state_text(23.125) == "23.125" and discovery.state_text(45.0) == "45.0"
    assert discovery.state_text(None) == discovery.state_text(float("nan")) == "None"  # HA's PAYLOAD_NONE


# --- the device's id and board ------------------------------------------------------------------------


def test_the_device_id_is_made_once_kept_and_can_be_set(tmp_path):
    first = device_id(None, tmp_path)
    assert re.fullmatch(r"[0-9a-f]{12}", first) and device_id(None, tmp_path) == first
    assert (tmp_path / DEVICE_ID_FILE).read_text().strip() == first
    assert device_id("greenhouse-1", tmp_path) == "greenhouse-1"
    other = tmp_path / "other"
    other.mkdir()
    assert device_id(None, other) != first  # another device, another id


def test_the_board_comes_from_the_device_tree_or_dmi(tmp_path):
    assert board_model(tmp_path) is None
    dmi = tmp_path / "class" / "dmi" / "id"
    dmi.mkdir(parents=True)
    (dmi / "sys_vendor").write_text("LENOVO\n")
    (dmi / "product_name").write_text("To be filled by O.E.M.\n")
    assert board_model(tmp_path) == "LENOVO"
    tree = tmp_path / "firmware" / "devicetree" / "base"
    tree.mkdir(parents=True)
    (tree / "model").write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\0")
    assert board_model(tmp_path) == "Raspberry Pi 4 Model B Rev 1.4"


# --- the rate of states -------------------------------------------------------------------------------


def test_a_state_goes_out_on_a_change_at_most_every_min_interval_and_at_least_every_max_interval():
    schedule = StateSchedule(min_interval=10, max_interval=300)
    sent = [t for t, value in [(0, b"1"), (1, b"2"), (5, b"3"), (9.9, b"4"), (10, b"4"), (11, b"5"), (20, b"6")]
            if schedule.offer("t", value, t)]
    assert sent == [0, 10, 20]  # the change at 1 s waits for 10 s; the newest value (4) goes then
    assert not schedule.offer("t", b"6", 300) and schedule.offer("t", b"6", 320)  # unchanged: every 300 s
    assert schedule.offer("u", b"ON", 321) and schedule.offer("u", b"OFF", 322, urgent=True)  # alerts at once


def test_a_value_that_changes_at_every_sample_for_an_hour_goes_out_once_per_min_interval():
    schedule = StateSchedule(min_interval=10, max_interval=300)
    sent = sum(schedule.offer("t", str(second).encode(), second) for second in range(3600))
    assert sent == 360


# --- bounded memory: the outbox --------------------------------------------------------------------


def test_the_outbox_keeps_only_the_newest_message_per_topic_and_one_in_flight_per_topic():
    outbox = Outbox()
    for value in range(10000):
        outbox.put(Message(f"t{value % 10}", str(value).encode()))
    assert outbox.waiting == 10
    taken = list(outbox.take(100))
    assert [m.payload for m in taken] == [str(9990 + i).encode() for i in range(10)]
    for mid, message in enumerate(taken):
        outbox.sent(message.topic, mid)
    outbox.put(Message("t0", b"newer"))
    assert list(outbox.take(100)) == []  # t0 has a message in flight: the newer one waits
    assert outbox.acknowledged(0) and not outbox.acknowledged(12345)
    assert [m.payload for m in outbox.take(100)] == [b"newer"]
    assert outbox.acknowledged_total == 1


# --- the publisher over a fake broker connection ------------------------------------------------------


class FakeConnection:
    """A broker connection that is up or down as the test says, and records what it was handed."""

    def __init__(self, config, client_id, will_topic, *, on_connected, on_message, on_acknowledged, on_lost, clock):
        self.config, self.client_id, self.will_topic = config, client_id, will_topic
        self.on_connected, self.on_message, self.on_acknowledged, self.on_lost = (
            on_connected, on_message, on_acknowledged, on_lost)
        self.connected = False
        self.published: list[tuple[int, Message]] = []
        self.subscribed: list[str] = []
        self.next_mid = 1

    def up(self) -> None:
        self.connected = True
        self.on_connected()

    def down(self) -> None:
        self.connected = False
        self.on_lost()

    def publish(self, message: Message) -> int | None:
        if not self.connected:
            return None
        mid, self.next_mid = self.next_mid, self.next_mid + 1
        self.published.append((mid, message))
        return mid

    def ack_all(self) -> None:
        for mid, _ in self.published:
            self.on_acknowledged(mid)

    def subscribe(self, topic: str) -> None:
        self.subscribed.append(topic)

    def latest(self, topic: str) -> bytes | None:
        found = [m.payload for _, m in self.published if m.topic == topic]
        return found[-1] if found else None

    def service(self, timeout: float) -> None:
        pass

    def close(self, farewell) -> None:
        self.published.append((0, farewell))


class Device_:
    """A run directory the test writes samples to, as the sampler would."""

    def __init__(self, tmp_path, sensors: list[Sensor]):
        self.run_dir = tmp_path / "run"
        self.store = StoreWriter.open(self.run_dir, capacity=16, columns=64, interval=1.0)
        self.sensors = {s.id: s for s in sensors}
        self.seq = 0

    def sample(self, values: dict[str, float | None]) -> None:
        self.seq += 1
        pairs = [(self.sensors[sid], Reading(value)) for sid, value in sorted(values.items())]
        self.store.catalog.update([sensor for sensor, _ in pairs])
        self.store.latest.write(self.seq, 1000.0 + self.seq, pairs)


@pytest.fixture
def fake(tmp_path):
    garden = sensor("w1_slave_temp-virtual-0/temp1", "temperature", "Garden")
    fan = sensor("nct6779-isa-0a20/fan2", "fan", "CPU fan")
    device = Device_(tmp_path, [garden, fan])
    settings = load_settings({}, {
        "run_dir": device.run_dir, "history_dir": tmp_path / "history", "sysfs_root": tmp_path / "sys",
        "alerts": AlertsConfig(device_name="Greenhouse", dashboard_url="http://greenhouse.local:8080/"),
        "mqtt": MqttConfig("broker.local", 1883, username="frost", password=SECRET, device_id="dev1"),
    }, read_file=False)
    (tmp_path / "history").mkdir()
    clock = [0.0]
    publisher = Publisher(settings, clock=lambda: clock[0], wall=lambda: 1700000000.0 + clock[0],
                          connect=FakeConnection)
    return publisher, device, clock, garden, fan


def step(publisher: Publisher, clock: list[float], seconds: float = 1.0) -> None:
    clock[0] += seconds
    publisher.look(clock[0])
    publisher.drain()
    publisher.write_status()


def test_configs_then_online_then_states_and_each_ack_counted(fake):
    publisher, device, clock, garden, fan = fake
    connection: FakeConnection = publisher.connection
    device.sample({garden.id: 4.5, fan.id: 1200.0})
    connection.up()
    step(publisher, clock)
    topics = [m.topic for _, m in connection.published]
    online = topics.index("frostserver/dev1/status")
    assert all("/config" in t for t in topics[:online]) and all("/config" not in t for t in topics[online + 1:])
    assert len([t for t in topics if t.endswith("/config")]) == 2 + len(publisher.rules) + 1
    assert set(connection.subscribed) == {"homeassistant/sensor/dev1/+/config",
                                          "homeassistant/binary_sensor/dev1/+/config", "homeassistant/status"}
    state = publisher.topics.sensor_state(object_id(garden.id))
    assert connection.latest(state) == b"4.5"
    assert connection.latest(publisher.topics.alert_state("frost")) == b"OFF"
    assert connection.latest(publisher.topics.threshold_state) == b"0.0"
    connection.ack_all()
    step(publisher, clock)
    written = mqtt_status.decode((device.run_dir / mqtt_status.MQTT_FILE).read_bytes())
    assert written.connected and written.published == len(topics) and written.broker == "mqtt://broker.local:1883"
    assert SECRET not in (device.run_dir / mqtt_status.MQTT_FILE).read_text()


def test_ten_minutes_without_the_broker_hold_one_message_per_topic(fake):
    publisher, device, clock, garden, fan = fake
    connection: FakeConnection = publisher.connection
    device.sample({garden.id: 4.5, fan.id: 1200.0})
    connection.up()
    step(publisher, clock)
    connection.ack_all()
    connection.down()
    sizes = []
    for second in range(600):  # every value changes at every sample, for ten minutes
        device.sample({garden.id: 4.5 + second / 100, fan.id: 1200.0 + second})
        step(publisher, clock)
        sizes.append((publisher.outbox.waiting, publisher.outbox.in_flight, len(publisher.schedule)))
    topics = len(publisher.configs) + 2 + 2 * len(publisher.rules) + 1
    assert max(sizes[:300]) <= (topics, 0, topics)
    assert max(sizes[300:]) <= max(sizes[:300])  # flat: the second five minutes hold no more than the first
    assert all(in_flight == 0 for _, in_flight, _ in sizes)
    sent_before = len(connection.published)
    connection.up()  # back: the configs, "online", then each state once, the newest
    step(publisher, clock)
    resent = [m for _, m in connection.published[sent_before:]]
    state = publisher.topics.sensor_state(object_id(garden.id))
    assert [m.payload for m in resent if m.topic == state] == [b"10.49"]


def test_home_assistants_birth_brings_the_discovery_again_but_an_old_retained_one_does_not(fake):
    publisher, device, clock, garden, fan = fake
    connection: FakeConnection = publisher.connection
    device.sample({garden.id: 4.5, fan.id: 1200.0})
    connection.up()
    step(publisher, clock)
    connection.ack_all()
    before = len(connection.published)
    publisher.message("homeassistant/status", b"online", retained=True)
    step(publisher, clock)
    assert not [m for _, m in connection.published[before:] if m.topic.endswith("/config")]
    publisher.message("homeassistant/status", b"online", retained=False)
    step(publisher, clock)
    again = [m.topic for _, m in connection.published[before:] if m.topic.endswith("/config")]
    assert len(again) == len(publisher.configs)


def test_a_gone_sensor_and_a_stale_config_from_before_are_removed_and_a_rename_keeps_the_unique_id(fake):
    publisher, device, clock, garden, fan = fake
    connection: FakeConnection = publisher.connection
    device.sample({garden.id: 4.5, fan.id: 1200.0})
    connection.up()
    ghost = "homeassistant/sensor/dev1/ghost_0123456789/config"
    publisher.message(ghost, json.dumps({"state_topic": "frostserver/dev1/sensor/ghost/state"}).encode(), True)
    stranger = "homeassistant/binary_sensor/dev1/stranger_0123456789/config"  # another client's, since
    publisher.message(stranger, b'{"name": "x"}', False)
    step(publisher, clock)
    connection.ack_all()
    fan_config = publisher.topics.config("sensor", object_id(fan.id))
    device.sample({garden.id: 4.5})  # the fan's chip is gone
    step(publisher, clock, REMOVE_AFTER / 2)
    assert connection.latest(fan_config) != b""  # not yet: a short absence is no removal
    step(publisher, clock, REMOVE_AFTER)
    assert connection.latest(fan_config) == b"" and connection.latest(ghost) == b"" == connection.latest(stranger)
    assert connection.latest("frostserver/dev1/sensor/ghost/state") == b""  # no retained state left either
    garden_config = publisher.topics.config("sensor", object_id(garden.id))
    before = json.loads(connection.latest(garden_config))
    device.sensors[garden.id] = sensor(garden.id, "temperature", "Vegetable patch")
    device.sample({garden.id: 4.5})
    connection.ack_all()
    step(publisher, clock)
    after = json.loads(connection.latest(garden_config))
    assert (before["name"], after["name"]) == ("Garden", "Vegetable patch")
    assert before["unique_id"] == after["unique_id"]


def test_alert_states_follow_the_journal_at_once(fake, tmp_path):
    from frostserver.alerts.alert import Alert, AlertEvent
    from frostserver.alerts.journal import AlertJournal

    publisher, device, clock, garden, fan = fake
    connection: FakeConnection = publisher.connection
    device.sample({garden.id: -2.0, fan.id: 1200.0})
    connection.up()
    step(publisher, clock)
    connection.ack_all()
    journal = AlertJournal.open(tmp_path / "history", durable=False)
    alert = Alert(f"frost/{garden.id}", "frost", garden.id, "Garden", "critical", "Garden at -2 °C", -2.0, 0.5, "°C", 1.0)
    journal.record(1, [AlertEvent("firing", alert)])
    step(publisher, clock, 0.5)  # well inside min_interval: an alert does not wait for it
    assert connection.latest(publisher.topics.alert_state("frost")) == b"ON"
    attributes = json.loads(connection.latest(publisher.topics.alert_attributes("frost")))
    assert attributes == {"firing": 1, "sensors": [garden.id], "summaries": ["Garden at -2 °C"]}


# --- the connection's log: one line per outage, one on recovery ---------------------------------------


class FakeClient:
    """paho's Client as BrokerConnection uses it, failing or answering as the test says."""

    def __init__(self):
        self.refuse_with: object | None = None  # a CONNACK reason, or None to accept
        self.unreachable = True
        self.sock = None
        self.connection: BrokerConnection | None = None

    def connect(self, host, port, keepalive, **_):
        if self.unreachable:
            raise ConnectionRefusedError(111, "Connection refused")
        self.sock = object()

    def socket(self):
        return self.sock

    def loop(self, timeout):
        if self.sock is not None and self.connection._connecting:
            self.connection._connect_answered(None, None, None, self.refuse_with or Reason("Success", False), None)
            if self.refuse_with is not None:
                self.sock = None
        return 0

    def drop_out_messages(self):
        return []

    def disconnect(self):
        self.sock = None


class Reason:
    def __init__(self, text: str, failure: bool):
        self.text, self.is_failure = text, failure

    def __str__(self):
        return self.text


def test_an_outage_is_one_line_and_the_recovery_another(caplog):
    clock = [0.0]
    client = FakeClient()
    connection = BrokerConnection(MqttConfig("broker.local", 1883, username="frost", password=SECRET), "c",
                                  "frostserver/x/status", on_connected=lambda: None, on_message=lambda *a: None,
                                  on_acknowledged=lambda mid: None, on_lost=lambda: None, clock=lambda: clock[0],
                                  client=client)
    client.connection = connection
    caplog.set_level(logging.DEBUG, logger="frostserver.mqtt")
    pauses = []
    for _ in range(8):
        connection.service(0)
        pauses.append(connection.next_attempt - clock[0])
        clock[0] = connection.next_attempt
    assert pauses == [1, 2, 4, 8, 16, 32, 60, 60]  # back-off, up to a minute
    client.unreachable = False
    connection.service(0)
    assert connection.connected
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert lines == [
        "cannot reach the broker mqtt://broker.local:1883: Connection refused; trying again with back-off (up to 60 s)",
        "connected to the broker mqtt://broker.local:1883 again, after 3 min without it (9 attempts)"]
    client.unreachable, client.sock = True, None
    connection._disconnected(None, None, None, "Unspecified error", None)  # the broker went away
    for _ in range(4):
        clock[0] = connection.next_attempt
        connection.service(0)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO][2:]
    assert lines == ["lost the broker mqtt://broker.local:1883: the connection was lost (Unspecified error); "
                     "reconnecting with back-off (up to 60 s)"]  # then refused TCP: the same outage, no new line
    assert not any(SECRET in r.getMessage() for r in caplog.records)


def test_a_wrong_password_is_one_clear_line_however_often_it_is_tried(caplog):
    clock = [0.0]
    client = FakeClient()
    client.unreachable = False
    client.refuse_with = Reason("Bad user name or password", True)
    connection = BrokerConnection(MqttConfig("broker.local", 1883, username="frost", password=SECRET), "c",
                                  "frostserver/x/status", on_connected=lambda: None, on_message=lambda *a: None,
                                  on_acknowledged=lambda mid: None, on_lost=lambda: None, clock=lambda: clock[0],
                                  client=client)
    client.connection = connection
    caplog.set_level(logging.INFO, logger="frostserver.mqtt")
    for _ in range(6):
        connection.service(0)
        clock[0] = connection.next_attempt
    assert not connection.connected
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == ("the broker mqtt://broker.local:1883 refused the connection: Bad user name or password: "
                    "check [mqtt] username and password (or the user:password of the url, FROST_MQTT_URL)")
    assert refusal(Reason("Server unavailable", True)) == "Server unavailable"


def test_the_real_client_takes_our_options_for_both_protocols_and_fails_cleanly_on_a_closed_port(caplog):
    with socket.socket() as probe:  # a port nothing listens on, on this machine
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for protocol in ("3.1.1", "5"):
        config = MqttConfig("127.0.0.1", port, username="frost", password=SECRET, protocol=protocol)
        connection = BrokerConnection(config, "frostserver-test", "frostserver/x/status", on_connected=lambda: None,
                                      on_message=lambda *a: None, on_acknowledged=lambda mid: None,
                                      on_lost=lambda: None)
        connection.service(0.01)
        assert not connection.connected and connection.attempts.failures == 1
    assert not any(SECRET in r.getMessage() for r in caplog.records)


# --- what the workers say: /metrics and /readyz ---------------------------------------------------------


def test_readyz_and_metrics_say_how_mqtt_is_and_readyz_stays_200(tmp_path):
    run_dir = tmp_path / "run"
    store = StoreWriter.open(run_dir, capacity=16, columns=8, interval=1.0)
    garden = sensor("w1_slave_temp-virtual-0/temp1", "temperature", "Garden")
    store.catalog.update([garden])
    store.latest.write(1, 1000.0, [(garden, Reading(4.0))])
    clock = WallClock(1000.5)
    off = create_app({"run_dir": run_dir, "sysfs_root": tmp_path / "sys"}, clock=clock)
    on = create_app({"run_dir": run_dir, "sysfs_root": tmp_path / "sys",
                     "mqtt": MqttConfig("mosquitto", 1883, username="frost", password=SECRET)}, clock=clock)
    from frostserver.sampler import Sampler
    from sources import ListSource
    source = ListSource()
    source.pairs = [(garden, Reading(4.0))]
    sampler = Sampler({"hwmon": source}, store, clock=lambda: 1000.0)
    lock = SamplerLock(run_dir / LOCK_FILE)
    try:
        sampler.sample_once()
        assert off.test_client().get("/readyz").get_json()["mqtt"] == "off"
        assert "frost_mqtt_connected" not in off.test_client().get("/metrics").text
        ready = on.test_client().get("/readyz")
        assert ready.status_code == 200 and ready.get_json()["mqtt"] == "disconnected"  # nothing written yet
        (run_dir / mqtt_status.MQTT_FILE).write_bytes(
            mqtt_status.encode(mqtt_status.MqttStatus("mqtt://mosquitto:1883", True, 42, 1.0)))
        ready = on.test_client().get("/readyz")
        assert ready.status_code == 200 and ready.get_json()["mqtt"] == "connected"
        metrics = on.test_client().get("/metrics").text
        assert "frost_mqtt_connected 1.0" in metrics and "frost_mqtt_published_total 42.0" in metrics
        os.replace(run_dir / mqtt_status.MQTT_FILE, run_dir / "x")
        (run_dir / mqtt_status.MQTT_FILE).write_bytes(
            mqtt_status.encode(mqtt_status.MqttStatus("mqtt://mosquitto:1883", False, 42, 2.0)))
        assert "frost_mqtt_connected 0.0" in on.test_client().get("/metrics").text
        for path in ("/readyz", "/metrics", "/api/v1/sensors"):
            assert SECRET not in on.test_client().get(path).text
    finally:
        lock.release()
        sampler.close()


def test_the_status_codec_refuses_another_version():
    from frostserver.codec import UnknownVersion

    encoded = mqtt_status.encode(mqtt_status.MqttStatus("mqtt://h:1883", True, 3, 1.0))
    assert mqtt_status.decode(encoded) == mqtt_status.MqttStatus("mqtt://h:1883", True, 3, 1.0)
    with pytest.raises(UnknownVersion):
        mqtt_status.decode(encoded.replace(b"\"version\":2", b"\"version\":3"))


def test_invalid_is_reported_with_the_key():
    with pytest.raises(Invalid) as raised:
        parse_mqtt({"host": "h", "port": 0})
    assert raised.value.key == ("mqtt", "port")
